//! Event text written straight into the line, as `serde_json` would write it but without
//! building a `Value` or going through the formatter: every event's opening, the exposure
//! event, and the numbers and strings frequent events are made of.

use crate::keyindex::{read_u32, read_u64};

/// Version of the event lines' schema, written as `"schema"` in every line. Bumped when a
/// field changes meaning or goes away; new fields and new event types do not bump it.
pub const SCHEMA_VERSION: u32 = 1;

/// Writes an `exposure` event; `tail` is the stream's common fields
/// ([`header_tail`]).
pub(super) fn write_exposure(
    line: &mut String,
    head: (u64, i64, &str),
    experiment: &str,
    user_id: &str,
    variant: &str,
) {
    let (seq, time_ms, tail) = head;
    write_header(line, "exposure", seq, time_ms, tail);
    line.push_str(",\"experiment\":");
    push_json_string(line, experiment);
    line.push_str(",\"user_id\":");
    push_json_string(line, user_id);
    line.push_str(",\"variant\":");
    push_json_string(line, variant);
    line.push('}');
}

/// The fields every line of one stream shares after `time_ms`: `,"schema":1` and, when
/// the engine has one, `,"instance_id":"…"`. Written once, copied into each line.
pub(super) fn header_tail(instance_id: Option<&str>) -> Box<str> {
    let mut tail = String::from(",\"schema\":");
    push_u64(&mut tail, u64::from(SCHEMA_VERSION));
    if let Some(id) = instance_id {
        tail.push_str(",\"instance_id\":");
        push_json_string(&mut tail, id);
    }
    tail.into_boxed_str()
}

/// Writes the opening of every event: `{"type":…,"seq":…,"time_ms":…,"schema":…`; the
/// first three stay first, in that order, so readers can take them without a parser.
/// `kind` is one of the library's own event names, which need no escaping.
pub(super) fn write_header(line: &mut String, kind: &str, seq: u64, time_ms: i64, tail: &str) {
    debug_assert!(!needs_escape(kind.as_bytes()), "event kinds are plain names");
    line.push_str("{\"type\":\"");
    line.push_str(kind);
    line.push_str("\",\"seq\":");
    push_u64(line, seq);
    line.push_str(",\"time_ms\":");
    push_i64(line, time_ms);
    line.push_str(tail);
}

/// Writes a `track` event: `value` of `metric` for `user_id`, attributed to the
/// `(experiment, variant)` pairs of `attributed` (none: unattributed).
pub(super) fn write_track<'a>(
    line: &mut String,
    head: (u64, i64, &str),
    user_id: &str,
    metric: &str,
    value: f64,
    attributed: impl IntoIterator<Item = (&'a str, &'a str)>,
) {
    let (seq, time_ms, tail) = head;
    write_header(line, "track", seq, time_ms, tail);
    line.push_str(",\"user_id\":");
    push_json_string(line, user_id);
    line.push_str(",\"metric\":");
    push_json_string(line, metric);
    line.push_str(",\"value\":");
    push_f64(line, value);
    line.push_str(",\"attributed\":[");
    for (i, (experiment, variant)) in attributed.into_iter().enumerate() {
        if i > 0 {
            line.push(',');
        }
        line.push_str("{\"experiment\":");
        push_json_string(line, experiment);
        line.push_str(",\"variant\":");
        push_json_string(line, variant);
        line.push('}');
    }
    line.push_str("]}");
}

/// Appends `x` (finite) as a JSON number, as serde_json writes it: the shortest digits
/// that read back as `x` (`4.0`, `0.1`, `1e15`).
pub fn push_f64(out: &mut String, x: f64) {
    out.push_str(zmij::Buffer::new().format_finite(x));
}

/// Appends the decimal digits of `n`.
pub fn push_u64(out: &mut String, n: u64) {
    out.push_str(itoa::Buffer::new().format(n));
}

/// Appends `n` in decimal.
pub fn push_i64(out: &mut String, n: i64) {
    out.push_str(itoa::Buffer::new().format(n));
}

/// Whether `bytes` hold a character JSON strings must escape: a control character, `"`
/// or `\`. Most strings in events are short names and ids: up to 16 bytes are checked as
/// two overlapping words, without a loop over the bytes. Longer ones go in blocks of 16
/// without an early exit, which the compiler turns into vector compares.
fn needs_escape(bytes: &[u8]) -> bool {
    let n = bytes.len();
    let word = |at: usize| read_u64(&bytes[at..]);
    let half = |at: usize| read_u32(&bytes[at..]);
    match n {
        0 => false,
        // The bytes, padded with `a`.
        1..=3 => {
            let short = u64::from(bytes[0]) | u64::from(bytes[n / 2]) << 8 | u64::from(bytes[n - 1]) << 16;
            escapes_in(short | 0x6161_6161_6100_0000)
        }
        4..=7 => escapes_in(half(0) | half(n - 4) << 32),
        8..=16 => escapes_in(word(0)) || escapes_in(word(n - 8)),
        _ => {
            let escaped = |b: u8| b < 0x20 || b == b'"' || b == b'\\';
            let mut blocks = bytes.chunks_exact(16);
            for block in &mut blocks {
                if block.iter().fold(false, |any, &b| any | escaped(b)) {
                    return true;
                }
            }
            // The last 16 bytes again, which cover the remainder.
            escapes_in(word(n - 16)) || escapes_in(word(n - 8))
        }
    }
}

/// Whether one of the eight bytes of `w` is below 0x20, `"` or `\`: each test is exact
/// for "any byte" (the borrow trick may misplace which byte, never whether one does).
fn escapes_in(w: u64) -> bool {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    let below = |v: u64, limit: u64| v.wrapping_sub(ONES * limit) & !v & HIGH != 0;
    below(w, 0x20) || below(w ^ (ONES * u64::from(b'"')), 1) || below(w ^ (ONES * u64::from(b'\\')), 1)
}

/// Appends `text` as a JSON string literal.
pub fn push_json_string(out: &mut String, text: &str) {
    use std::fmt::Write;
    if !needs_escape(text.as_bytes()) {
        // The common case: nothing to escape.
        out.reserve(text.len() + 2);
        out.push('"');
        out.push_str(text);
        out.push('"');
        return;
    }
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
}
