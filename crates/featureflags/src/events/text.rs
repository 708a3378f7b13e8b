//! Event text written straight into the line, as `serde_json` would write it but without
//! building a `Value` or going through the formatter: every event's opening, the exposure
//! event, and the numbers and strings frequent events are made of.

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
pub(super) fn write_header(line: &mut String, kind: &str, seq: u64, time_ms: i64, tail: &str) {
    line.push_str("{\"type\":");
    push_json_string(line, kind);
    line.push_str(",\"seq\":");
    push_u64(line, seq);
    line.push_str(",\"time_ms\":");
    push_i64(line, time_ms);
    line.push_str(tail);
}

/// Appends `x` (finite) as a JSON number, as serde_json writes it: the shortest digits
/// that read back as `x` (`4.0`, `0.1`, `1e15`).
pub fn push_f64(out: &mut String, x: f64) {
    out.push_str(zmij::Buffer::new().format_finite(x));
}

/// Appends the decimal digits of `n` (what `write!` does, without the formatter).
pub fn push_u64(out: &mut String, mut n: u64) {
    let mut digits = [0u8; 20];
    let mut at = digits.len();
    loop {
        at -= 1;
        digits[at] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    out.push_str(std::str::from_utf8(&digits[at..]).expect("ASCII digits"));
}

/// Appends `n` in decimal.
pub fn push_i64(out: &mut String, n: i64) {
    if n < 0 {
        out.push('-');
    }
    push_u64(out, n.unsigned_abs());
}

/// Appends `text` as a JSON string literal.
pub fn push_json_string(out: &mut String, text: &str) {
    use std::fmt::Write;
    if !text.bytes().any(|b| b == b'"' || b == b'\\' || b < 0x20) {
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
