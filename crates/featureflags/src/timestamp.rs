//! Instants for `before`/`after` clauses and schedules: an RFC 3339 string or unix
//! seconds, held as unix nanoseconds so both forms compare exactly. And the wall clock
//! the engine runs on.

use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

/// The earliest instant the engine represents: 0000-01-01T00:00:00Z, in unix ms.
pub const MIN_UNIX_MS: i64 = -62_167_219_200_000;
/// The latest instant the engine represents: 9999-12-31T23:59:59.999Z, in unix ms.
pub const MAX_UNIX_MS: i64 = 253_402_300_799_999;
/// The range in unix nanoseconds (the last nanosecond of 9999 included).
const MIN_UNIX_NANOS: i128 = MIN_UNIX_MS as i128 * 1_000_000;
const MAX_UNIX_NANOS: i128 = (MAX_UNIX_MS as i128 + 1) * 1_000_000 - 1;

/// Whether `unix_ms` lies in years 0000–9999.
pub fn in_range_ms(unix_ms: i64) -> bool {
    (MIN_UNIX_MS..=MAX_UNIX_MS).contains(&unix_ms)
}

fn in_range(nanos: i128) -> Option<i128> {
    (MIN_UNIX_NANOS..=MAX_UNIX_NANOS).contains(&nanos).then_some(nanos)
}

/// The wall clock in unix milliseconds, at the kernel tick's resolution (1–10 ms, 4 ms
/// on most kernels): a coarse read costs ~3 ns where a precise one costs ~20, and the
/// engine reads the clock on every enrollment and for every scheduled flag.
#[cfg(target_os = "linux")]
pub fn wall_clock_ms() -> i64 {
    let t = rustix::time::clock_gettime(rustix::time::ClockId::RealtimeCoarse);
    // A clock set past year 9999 (or before year 0) reads as the last (first) instant.
    t.tv_sec.clamp(MIN_UNIX_MS / 1000, MAX_UNIX_MS / 1000) * 1000 + t.tv_nsec.clamp(0, 999_999_999) / 1_000_000
}

/// The wall clock in unix milliseconds.
#[cfg(not(target_os = "linux"))]
pub fn wall_clock_ms() -> i64 {
    use std::time::{SystemTime, UNIX_EPOCH};
    let ms = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_millis());
    ms.min(MAX_UNIX_MS as u128) as i64
}

/// Unix nanoseconds of an RFC 3339 timestamp, or `None` (also for an instant outside
/// years 0000–9999 UTC, which an offset can make of a date inside them).
pub fn parse_rfc3339(text: &str) -> Option<i128> {
    OffsetDateTime::parse(text, &Rfc3339).ok().and_then(|t| in_range(t.unix_timestamp_nanos()))
}

/// Unix nanoseconds of a unix-seconds number, or `None` when it is not finite or outside
/// years 0000–9999 (unix seconds −62,167,219,200 to 253,402,300,799.999…).
pub fn from_unix_seconds(seconds: f64) -> Option<i128> {
    let nanos = (seconds * 1e9).round();
    if !(nanos.is_finite() && nanos.abs() < 1e30) {
        return None;
    }
    in_range(nanos as i128)
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
    fn instants_are_limited_to_years_0000_to_9999() {
        // Seconds become nanoseconds in f64, so the last second of 9999 is as close as
        // f64 gets to it (within 2^16 ns).
        assert!(from_unix_seconds(253_402_300_799.0).is_some());
        assert_eq!(from_unix_seconds(253_402_300_800.0), None);
        assert!(from_unix_seconds(-62_167_219_200.0).is_some());
        assert_eq!(from_unix_seconds(-62_167_219_200.001), None);
        assert_eq!(from_unix_seconds(9.3e15), None, "once wrapped to a time in the past");
        assert_eq!(parse_rfc3339("9999-12-31T23:59:59.999999999Z"), Some(253_402_300_799_999_999_999));
        assert_eq!(parse_rfc3339("9999-12-31T23:59:59-01:00"), None, "year 10000 in UTC");
        assert_eq!(parse_rfc3339("0000-01-01T00:00:00Z"), Some(-62_167_219_200_000_000_000));
        assert_eq!(parse_rfc3339("0000-01-01T00:00:00+01:00"), None, "year -1 in UTC");
        assert!(in_range_ms(MAX_UNIX_MS) && !in_range_ms(MAX_UNIX_MS + 1));
        assert!(in_range_ms(MIN_UNIX_MS) && !in_range_ms(MIN_UNIX_MS - 1));
    }

    #[test]
    fn both_forms_agree() {
        assert_eq!(parse_rfc3339("1970-01-01T00:00:01Z"), Some(1_000_000_000));
        assert_eq!(parse_rfc3339("2026-12-01T01:00:00+01:00"), from_unix_seconds(1_796_083_200.0));
        assert_eq!(parse_rfc3339("2026-12-01"), None);
        assert_eq!(parse_rfc3339("2026-12-01T00:00:00.5Z"), Some(1_796_083_200_500_000_000));
    }
}
