//! Instants for `before`/`after` clauses and schedules: an RFC 3339 string or unix
//! seconds, held as unix nanoseconds so both forms compare exactly.

use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

/// Unix nanoseconds of an RFC 3339 timestamp, or `None`.
pub fn parse_rfc3339(text: &str) -> Option<i128> {
    OffsetDateTime::parse(text, &Rfc3339).ok().map(|t| t.unix_timestamp_nanos())
}

/// Unix nanoseconds of a unix-seconds number, or `None` when it is not finite or out of range.
pub fn from_unix_seconds(seconds: f64) -> Option<i128> {
    let nanos = (seconds * 1e9).round();
    (nanos.is_finite() && nanos.abs() < 1e30).then_some(nanos as i128)
}

/// Unix milliseconds of an RFC 3339 timestamp, or `None`.
pub fn rfc3339_to_millis(text: &str) -> Option<i64> {
    parse_rfc3339(text).map(|n| n.div_euclid(1_000_000) as i64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_forms_agree() {
        assert_eq!(parse_rfc3339("1970-01-01T00:00:01Z"), Some(1_000_000_000));
        assert_eq!(parse_rfc3339("2026-12-01T01:00:00+01:00"), from_unix_seconds(1_796_083_200.0));
        assert_eq!(parse_rfc3339("2026-12-01"), None);
        assert_eq!(rfc3339_to_millis("2026-12-01T00:00:00.5Z"), Some(1_796_083_200_500));
    }
}
