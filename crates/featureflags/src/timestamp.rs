//! Instants for `before`/`after` clauses and schedules: an RFC 3339 string or unix
//! seconds, held as unix nanoseconds so both forms compare exactly. And the wall clock
//! the engine runs on.

use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

/// The wall clock in unix milliseconds, at the kernel tick's resolution (1–10 ms, 4 ms
/// on most kernels): a coarse read costs ~3 ns where a precise one costs ~20, and the
/// engine reads the clock on every enrollment and for every scheduled flag.
#[cfg(target_os = "linux")]
pub fn wall_clock_ms() -> i64 {
    let t = rustix::time::clock_gettime(rustix::time::ClockId::RealtimeCoarse);
    t.tv_sec * 1000 + t.tv_nsec / 1_000_000
}

/// The wall clock in unix milliseconds.
#[cfg(not(target_os = "linux"))]
pub fn wall_clock_ms() -> i64 {
    use std::time::{SystemTime, UNIX_EPOCH};
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_millis() as i64)
}

/// Unix nanoseconds of an RFC 3339 timestamp, or `None`.
pub fn parse_rfc3339(text: &str) -> Option<i128> {
    OffsetDateTime::parse(text, &Rfc3339).ok().map(|t| t.unix_timestamp_nanos())
}

/// Unix nanoseconds of a unix-seconds number, or `None` when it is not finite or out of range.
pub fn from_unix_seconds(seconds: f64) -> Option<i128> {
    let nanos = (seconds * 1e9).round();
    (nanos.is_finite() && nanos.abs() < 1e30).then_some(nanos as i128)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_wall_clock_agrees_with_the_system_clock_to_a_tick() {
        use std::time::{SystemTime, UNIX_EPOCH};
        let precise = || SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_millis() as i64;
        let before = precise();
        let coarse = wall_clock_ms();
        let after = precise();
        assert!(coarse <= after && coarse >= before - 20, "{before} <= {coarse} <= {after}");
    }

    #[test]
    fn both_forms_agree() {
        assert_eq!(parse_rfc3339("1970-01-01T00:00:01Z"), Some(1_000_000_000));
        assert_eq!(parse_rfc3339("2026-12-01T01:00:00+01:00"), from_unix_seconds(1_796_083_200.0));
        assert_eq!(parse_rfc3339("2026-12-01"), None);
        assert_eq!(parse_rfc3339("2026-12-01T00:00:00.5Z"), Some(1_796_083_200_500_000_000));
    }
}
