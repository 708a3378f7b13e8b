//! NDJSON event files to an experiment's [`Aggregates`], by the in-process tracker's rules:
//!
//! - a user's **first exposure** (earliest `time_ms`, across every file and instance)
//!   decides their variant; later exposures (other processes enrolling the same user)
//!   change nothing;
//! - a `track` event is attributed when it comes **after** that exposure: on the same
//!   instance by `seq`, across instances by `time_ms` (a tie counts as after); events
//!   before it are not attributed, as the engine would not have attributed them;
//! - a conversion counts once per user; revenue and counts sum per user, and the
//!   per-variant sums are of those totals and their squares.
//!
//! Two passes over the files (exposures first, then tracks), so memory grows with the
//! users, not the events, and files may come in any order. Lines are parsed only when
//! their type is the one a pass wants: the engine writes `{"type":"…"` first, so the
//! other pass skips them without a parser.

use std::borrow::Cow;
use std::path::{Path, PathBuf};
use std::time::Instant;

use rustc_hash::FxHashMap;
use serde::Deserialize;

use crate::events::SCHEMA_VERSION;
use crate::experiments::ExactSum;
use crate::stats::MetricKind;

use super::{Aggregates, ExperimentSpec, UserSample};

/// Why the events could not be read; nothing is returned.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    /// A file could not be opened or read.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The error.
        source: std::io::Error,
    },
    /// A line is not an event this reader understands.
    #[error("{path}:{line}: {message}")]
    Line {
        /// The file.
        path: PathBuf,
        /// 1-based line number.
        line: u64,
        /// What is wrong.
        message: String,
    },
    /// A pattern matched no file.
    #[error("{0}: no such file (or no file matches the pattern)")]
    NoFiles(String),
}

/// What a read went through, and how fast.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct ReadStats {
    /// Files read.
    pub files: usize,
    /// Bytes read (each file once).
    pub bytes: u64,
    /// Event lines (each counted once).
    pub events: u64,
    /// Exposures of the experiment (duplicates across processes included).
    pub exposures: u64,
    /// `track` events of the experiment's metrics.
    pub tracks: u64,
    /// Of them, attributed to an exposure.
    pub attributed: u64,
    /// Users exposed.
    pub users: u64,
    /// Wall time of the read, both passes.
    pub seconds: f64,
}

use serde::Serialize;

impl ReadStats {
    /// Event lines per second.
    pub fn events_per_second(&self) -> f64 {
        self.events as f64 / self.seconds.max(1e-9)
    }
}

/// The fields of an event line the reader uses; the rest are skipped.
#[derive(Deserialize, Default)]
struct Line<'a> {
    #[serde(rename = "type", borrow)]
    kind: Cow<'a, str>,
    seq: Option<u64>,
    time_ms: Option<i64>,
    schema: Option<u64>,
    #[serde(borrow)]
    instance_id: Option<Cow<'a, str>>,
    #[serde(borrow)]
    experiment: Option<Cow<'a, str>>,
    #[serde(borrow)]
    user_id: Option<Cow<'a, str>>,
    #[serde(borrow)]
    variant: Option<Cow<'a, str>>,
    #[serde(borrow)]
    metric: Option<Cow<'a, str>>,
    value: Option<f64>,
}

/// Where an event stands in its stream: instance (or file), sequence number, time.
#[derive(Debug, Clone, Copy)]
struct Position {
    stream: u32,
    seq: u64,
    time_ms: i64,
}

impl Position {
    /// Whether an event at `self` comes after one at `exposure` (ties across instances
    /// count as after: two clocks cannot order them better).
    fn after(&self, exposure: &Position) -> bool {
        if self.stream == exposure.stream {
            self.seq > exposure.seq
        } else {
            self.time_ms >= exposure.time_ms
        }
    }
}

struct User {
    exposure: Position,
    variant: u16,
}

/// Expands `patterns` (`*` and `?` in any path component; a literal path is taken as is)
/// and reads the files like [`read_events_from`]. Files matched by several patterns are
/// read once.
pub fn read_events(patterns: &[&str], spec: &ExperimentSpec) -> Result<(Aggregates, ReadStats), ReadError> {
    let mut paths = Vec::new();
    for p in patterns {
        let found = expand(p);
        if found.is_empty() {
            return Err(ReadError::NoFiles((*p).to_owned()));
        }
        for f in found {
            if !paths.contains(&f) {
                paths.push(f);
            }
        }
    }
    read_events_from(&paths, spec)
}

/// Reads the events in `paths` (NDJSON, as `ff_events_drain` or a listener wrote them)
/// and returns the aggregates of `spec`'s experiment by the tracker's rules (module
/// docs), with what the read went through.
pub fn read_events_from(paths: &[PathBuf], spec: &ExperimentSpec) -> Result<(Aggregates, ReadStats), ReadError> {
    let started = Instant::now();
    let mut stats = ReadStats { files: paths.len(), ..ReadStats::default() };
    let mut streams: FxHashMap<String, u32> = FxHashMap::default();
    // Stream names by index: instance ids, or a file's path for lines without one.
    let mut names: Vec<String> = Vec::new();
    let mut last_stream = 0u32;
    let mut users: FxHashMap<Box<str>, u32> = FxHashMap::default();
    let mut records: Vec<User> = Vec::new();
    let variant_index = |name: &str| spec.variants.iter().position(|v| v.name == name).map(|i| i as u16);
    let (mut from_ms, mut to_ms) = (i64::MAX, i64::MIN);

    // Pass 1: first exposures.
    for (file, path) in paths.iter().enumerate() {
        let bytes = for_each_line(path, |line, _| {
            stats.events += 1;
            if !wanted(line, b"exposure") {
                return Ok(());
            }
            let ev = parse(line)?;
            if ev.kind != "exposure" || ev.experiment.as_deref() != Some(spec.experiment.as_str()) {
                return Ok(());
            }
            let user = ev.user_id.as_deref().ok_or("exposure without user_id")?;
            let variant = ev.variant.as_deref().ok_or("exposure without variant")?;
            let Some(variant) = variant_index(variant) else {
                return Err(format!("exposure to variant \"{variant}\", which the experiment does not have"));
            };
            let at = position(&ev, file, path, &mut streams, &mut names, &mut last_stream)?;
            stats.exposures += 1;
            from_ms = from_ms.min(at.time_ms);
            to_ms = to_ms.max(at.time_ms);
            match users.get(user) {
                Some(&i) => {
                    let r = &mut records[i as usize];
                    // Earliest first; a tie across instances goes to the smaller instance
                    // id, as the SQL in sql/ breaks it.
                    let key = |p: &Position| (p.time_ms, names[p.stream as usize].as_str(), p.seq);
                    if key(&at) < key(&r.exposure) {
                        *r = User { exposure: at, variant };
                    }
                }
                None => {
                    users.insert(user.into(), records.len() as u32);
                    records.push(User { exposure: at, variant });
                }
            }
            Ok(())
        })?;
        stats.bytes += bytes;
    }

    // Pass 2: tracked events after the exposure, summed per user.
    let n_metrics = spec.metrics.len();
    let mut totals: Vec<ExactSum> = vec![ExactSum::default(); records.len() * n_metrics];
    let mut has_event: Vec<bool> = vec![false; records.len() * n_metrics];
    let mut events: Vec<u64> = vec![0; spec.variants.len() * n_metrics];
    for (file, path) in paths.iter().enumerate() {
        for_each_line(path, |line, _| {
            if !wanted(line, b"track") {
                return Ok(());
            }
            let ev = parse(line)?;
            if ev.kind != "track" {
                return Ok(());
            }
            let metric = ev.metric.as_deref().ok_or("track without metric")?;
            let Some((m, kind)) = spec.metric_kind(metric) else { return Ok(()) };
            stats.tracks += 1;
            let user = ev.user_id.as_deref().ok_or("track without user_id")?;
            let value = ev.value.filter(|v| v.is_finite()).ok_or("track without a finite value")?;
            let Some(&u) = users.get(user) else { return Ok(()) };
            let at = position(&ev, file, path, &mut streams, &mut names, &mut last_stream)?;
            let record = &records[u as usize];
            if !at.after(&record.exposure) {
                return Ok(());
            }
            stats.attributed += 1;
            to_ms = to_ms.max(at.time_ms);
            let slot = u as usize * n_metrics + m;
            has_event[slot] = true;
            if kind != MetricKind::Conversion {
                totals[slot].add(value);
            }
            events[usize::from(record.variant) * n_metrics + m] += 1;
            Ok(())
        })?;
    }

    let mut agg = Aggregates::empty(spec.clone());
    let mut sums = vec![(ExactSum::default(), ExactSum::default(), 0u64); spec.variants.len() * n_metrics];
    let mut users_per_variant = vec![0u64; spec.variants.len()];
    for (u, record) in records.iter().enumerate() {
        let v = usize::from(record.variant);
        users_per_variant[v] += 1;
        for m in 0..n_metrics {
            let slot = u * n_metrics + m;
            if !has_event[slot] {
                continue;
            }
            let (sum, squares, conversions) = &mut sums[v * n_metrics + m];
            *conversions += 1;
            if spec.metrics[m].kind != MetricKind::Conversion {
                let total = totals[slot].value();
                sum.add(total);
                squares.add_product(total, total);
            }
        }
    }
    for (v, counts) in agg.variants.values_mut().enumerate() {
        counts.users = users_per_variant[v];
        for (m, c) in counts.metrics.values_mut().enumerate() {
            let (sum, squares, conversions) = sums[v * n_metrics + m];
            c.conversions = conversions;
            c.sum = sum.value();
            c.sum_squares = squares.value();
            c.events = events[v * n_metrics + m];
        }
    }
    agg.user_sample = UserSample::of(users.keys().map(|id| super::user_hash(id.as_bytes())));
    let mut instances: Vec<String> = names.into_iter().filter(|n| !n.starts_with('\0')).collect();
    instances.sort();
    agg.instances = instances;
    if from_ms <= to_ms {
        agg.from_ms = Some(from_ms);
        agg.to_ms = Some(to_ms);
    }
    stats.users = records.len() as u64;
    stats.seconds = started.elapsed().as_secs_f64();
    Ok((agg, stats))
}

/// Whether `line` may be an event of type `kind`: lines as the engine writes them start
/// with `{"type":"<kind>"`; any other layout is parsed to find out.
#[inline]
fn wanted(line: &[u8], kind: &[u8]) -> bool {
    const OPEN: &[u8] = b"{\"type\":\"";
    match line.strip_prefix(OPEN) {
        Some(rest) => rest.strip_prefix(kind).is_some_and(|r| r.first() == Some(&b'"')),
        None => true,
    }
}

fn parse(line: &[u8]) -> Result<Line<'_>, String> {
    let ev = match scan(line) {
        Some(ev) => ev,
        None => serde_json::from_slice(line).map_err(|e| format!("not an event: {e}"))?,
    };
    if let Some(schema) = ev.schema {
        if schema != u64::from(SCHEMA_VERSION) {
            return Err(format!("schema {schema} is not supported (this reader reads schema {SCHEMA_VERSION})"));
        }
    }
    Ok(ev)
}

/// Reads a flat event line without a JSON parser: top-level keys and values in any order,
/// strings without escapes borrowed, numbers read as Rust reads them, arrays and objects
/// skipped. `None` for anything else (escapes, a malformed line): the caller then parses
/// the line with serde_json, which reads every valid line and explains a broken one.
/// Roughly four times as fast as the parser on the engine's lines.
fn scan(bytes: &[u8]) -> Option<Line<'_>> {
    // Checked once: every piece cut at an ASCII delimiter below is then UTF-8 too.
    let text = std::str::from_utf8(bytes).ok()?;
    let line = text.as_bytes();
    let mut ev = Line::default();
    let mut kind = None;
    let mut at = 1;
    if line.first() != Some(&b'{') {
        return None;
    }
    loop {
        let key = string(text, &mut at)?;
        if line.get(at) != Some(&b':') {
            return None;
        }
        at += 1;
        let start = at;
        match *line.get(at)? {
            b'"' => {
                let value = Cow::Borrowed(string(text, &mut at)?);
                match key {
                    "type" => kind = Some(value),
                    "instance_id" => ev.instance_id = Some(value),
                    "experiment" => ev.experiment = Some(value),
                    "user_id" => ev.user_id = Some(value),
                    "variant" => ev.variant = Some(value),
                    "metric" => ev.metric = Some(value),
                    _ => {}
                }
            }
            b'[' | b'{' => skip_nested(line, &mut at)?,
            _ => {
                while at < line.len() && !matches!(line[at], b',' | b'}') {
                    at += 1;
                }
                let number = &text[start..at];
                match key {
                    "seq" => ev.seq = Some(number.parse().ok()?),
                    "time_ms" => ev.time_ms = Some(number.parse().ok()?),
                    "schema" => ev.schema = Some(number.parse().ok()?),
                    "value" => ev.value = Some(number.parse().ok()?),
                    // The same names as strings, or null, in other events: the parser decides.
                    "type" | "instance_id" | "experiment" | "user_id" | "variant" | "metric" if number != "null" => {
                        return None;
                    }
                    _ => {}
                }
            }
        }
        match line.get(at)? {
            b',' => at += 1,
            b'}' if at + 1 == line.len() => break,
            _ => return None,
        }
        if line.get(at) != Some(&b'"') {
            return None;
        }
    }
    ev.kind = kind?;
    Some(ev)
}

/// The string at byte `*at` of `text` (which must be `"`), without escapes; moves past it.
#[inline]
fn string<'a>(text: &'a str, at: &mut usize) -> Option<&'a str> {
    let line = text.as_bytes();
    if line.get(*at) != Some(&b'"') {
        return None;
    }
    let start = *at + 1;
    let len = quote_or_backslash(&line[start..])?;
    if line[start + len] != b'"' {
        return None;
    }
    *at = start + len + 1;
    text.get(start..start + len)
}

/// The index of the first `"` or `\\` in `bytes`. The strings of event lines are short
/// (keys, ids), where memchr's vector search costs more to set up than the bytes it skips
/// and a byte loop costs several instructions a byte: eight bytes at a time in a word,
/// where a byte equal to the pattern becomes zero, and the lowest zero byte is exact.
#[inline]
fn quote_or_backslash(bytes: &[u8]) -> Option<usize> {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    let zero_bytes = |x: u64| x.wrapping_sub(ONES) & !x & HIGH;
    let mut words = bytes.chunks_exact(8);
    for (i, word) in (&mut words).enumerate() {
        let w = u64::from_le_bytes(word.try_into().expect("8 bytes"));
        let found = zero_bytes(w ^ (ONES * u64::from(b'"'))) | zero_bytes(w ^ (ONES * u64::from(b'\\')));
        if found != 0 {
            return Some(i * 8 + found.trailing_zeros() as usize / 8);
        }
    }
    let done = bytes.len() - words.remainder().len();
    words.remainder().iter().position(|&b| b == b'"' || b == b'\\').map(|p| done + p)
}

/// Moves past the array or object at `line[*at]`, strings in it included.
fn skip_nested(line: &[u8], at: &mut usize) -> Option<()> {
    let mut depth = 0usize;
    while *at < line.len() {
        match line[*at] {
            b'[' | b'{' => depth += 1,
            b']' | b'}' => {
                depth -= 1;
                if depth == 0 {
                    *at += 1;
                    return Some(());
                }
            }
            b'"' => {
                // A string in a skipped value may hold escapes: step over them.
                *at += 1;
                while *at < line.len() && line[*at] != b'"' {
                    *at += if line[*at] == b'\\' { 2 } else { 1 };
                }
            }
            _ => {}
        }
        *at += 1;
    }
    None
}

/// The event's position; its stream is its `instance_id`, or without one its file.
fn position(
    ev: &Line,
    file: usize,
    path: &Path,
    streams: &mut FxHashMap<String, u32>,
    names: &mut Vec<String>,
    last: &mut u32,
) -> Result<Position, String> {
    let seq = ev.seq.ok_or("event without seq")?;
    let time_ms = ev.time_ms.ok_or("event without time_ms")?;
    let next = streams.len() as u32;
    let stream = match ev.instance_id.as_deref() {
        // Lines come in runs from one instance: the last stream first, without hashing.
        Some(id) if names.get(*last as usize).is_some_and(|name| name == id) => *last,
        Some(id) => match streams.get(id) {
            Some(&s) => s,
            None => {
                streams.insert(id.to_owned(), next);
                names.push(id.to_owned());
                next
            }
        },
        None => {
            let key = format!("\0file {file} {}", path.display());
            match streams.get(&key) {
                Some(&s) => s,
                None => {
                    streams.insert(key.clone(), next);
                    names.push(key);
                    next
                }
            }
        }
    };
    *last = stream;
    Ok(Position { stream, seq, time_ms })
}

/// Calls `f` with each non-blank line of `path` (without its newline) and its 1-based
/// number; returns the bytes read. `f`'s error becomes a [`ReadError::Line`]. Lines are
/// found in blocks of 1 MiB read straight from the file (memchr's vector search) and
/// handed over where they lie; only a line cut by the block's end is moved.
fn for_each_line(path: &Path, mut f: impl FnMut(&[u8], u64) -> Result<(), String>) -> Result<u64, ReadError> {
    use std::io::Read;
    let io = |source| ReadError::Io { path: path.to_owned(), source };
    let mut file = std::fs::File::open(path).map_err(io)?;
    let mut buf = vec![0u8; 1 << 20];
    // `buf[start..end]`: read, not yet handed over (the start of a line).
    let (mut start, mut end) = (0usize, 0usize);
    let (mut bytes, mut number) = (0u64, 0u64);
    let mut line = |text: &[u8], number: u64| {
        let text = text.trim_ascii();
        if text.is_empty() {
            return Ok(());
        }
        f(text, number).map_err(|message| ReadError::Line { path: path.to_owned(), line: number, message })
    };
    loop {
        if start > 0 {
            buf.copy_within(start..end, 0);
            (start, end) = (0, end - start);
        }
        if end == buf.len() {
            // A line longer than the buffer.
            buf.resize(buf.len() * 2, 0);
        }
        let n = match file.read(&mut buf[end..]) {
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(io(e)),
        };
        let block_start = end;
        end += n;
        bytes += n as u64;
        for newline in memchr::memchr_iter(b'\n', &buf[block_start..end]) {
            let cut = block_start + newline;
            number += 1;
            line(&buf[start..cut], number)?;
            start = cut + 1;
        }
        if n == 0 {
            if start < end {
                number += 1;
                line(&buf[start..end], number)?;
            }
            return Ok(bytes);
        }
    }
}

/// The files `pattern` names: `*` (any run of characters but `/`) and `?` (one
/// character) may appear in any component; the matches of each are sorted. A pattern
/// without wildcards names itself, if it exists.
pub(super) fn expand(pattern: &str) -> Vec<PathBuf> {
    if !pattern.contains(['*', '?']) {
        let p = PathBuf::from(pattern);
        return if p.is_file() { vec![p] } else { Vec::new() };
    }
    let absolute = pattern.starts_with('/');
    let mut found = vec![if absolute { PathBuf::from("/") } else { PathBuf::new() }];
    let parts: Vec<&str> = pattern.split('/').filter(|c| !c.is_empty()).collect();
    for (i, part) in parts.iter().enumerate() {
        let last = i + 1 == parts.len();
        let mut next = Vec::new();
        for dir in &found {
            if !part.contains(['*', '?']) {
                next.push(dir.join(part));
                continue;
            }
            let listing = if dir.as_os_str().is_empty() { Path::new(".") } else { dir.as_path() };
            let Ok(entries) = std::fs::read_dir(listing) else { continue };
            let mut names: Vec<String> =
                entries.filter_map(|e| e.ok()).filter_map(|e| e.file_name().into_string().ok()).collect();
            names.sort();
            for name in names {
                if (!name.starts_with('.') || part.starts_with('.')) && matches(part.as_bytes(), name.as_bytes()) {
                    next.push(dir.join(name));
                }
            }
        }
        found = next.into_iter().filter(|p| if last { p.is_file() } else { p.is_dir() }).collect();
    }
    found
}

/// Glob match of one component: `*` any run, `?` any one byte.
fn matches(pattern: &[u8], name: &[u8]) -> bool {
    let (mut p, mut n) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while n < name.len() {
        if p < pattern.len() && (pattern[p] == b'?' || pattern[p] == name[n]) {
            p += 1;
            n += 1;
        } else if p < pattern.len() && pattern[p] == b'*' {
            star = Some((p, n));
            p += 1;
        } else if let Some((sp, sn)) = star {
            p = sp + 1;
            n = sn + 1;
            star = Some((sp, sn + 1));
        } else {
            return false;
        }
    }
    pattern[p..].iter().all(|&c| c == b'*')
}

#[cfg(test)]
mod scan_tests {
    use super::*;

    #[test]
    fn quotes_and_backslashes_are_found_like_a_byte_loop() {
        let mut seed = 0x9E37_79B9_7F4A_7C15u64;
        for _ in 0..20_000 {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            let len = (seed % 40) as usize;
            // Bytes near the patterns and high bytes, where a borrow could mislead.
            let alphabet = [b'a', b'"', b'\\', 0x21, 0x23, 0x5b, 0x5d, 0x80, 0xff, 0x00, 0x01];
            let bytes: Vec<u8> = (0..len).map(|i| alphabet[((seed >> (i % 60)) as usize + i * 7) % 11]).collect();
            let want = bytes.iter().position(|&b| b == b'"' || b == b'\\');
            assert_eq!(quote_or_backslash(&bytes), want, "{bytes:?}");
        }
    }

    #[test]
    fn lines_are_found_across_blocks_and_longer_than_a_block() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("lines.ndjson");
        // Lines of every length mod 97 cross the 1 MiB blocks at varied offsets; one line
        // of 3 MiB outgrows the buffer; blank lines, CRLF and a last line without a newline.
        let mut text = String::new();
        let mut expected = Vec::new();
        let mut number = 0u64;
        for i in 0..30_000usize {
            number += 1;
            let line = format!("{i}:{}", "x".repeat(i % 97));
            text.push_str(&line);
            text.push_str(if i % 5 == 0 { "\r\n" } else { "\n" });
            expected.push((line, number));
            if i == 10_000 {
                let long = "y".repeat(3 << 20);
                text.push_str(&long);
                text.push('\n');
                number += 1;
                expected.push((long, number));
                text.push_str("\n  \n");
                number += 2;
            }
        }
        text.push_str("last");
        expected.push(("last".to_owned(), number + 1));
        std::fs::write(&path, &text).unwrap();
        let mut seen = Vec::new();
        let bytes = for_each_line(&path, |line, n| {
            seen.push((String::from_utf8(line.to_vec()).unwrap(), n));
            Ok(())
        })
        .unwrap();
        assert_eq!(bytes, text.len() as u64);
        assert_eq!(seen.len(), expected.len());
        assert!(seen == expected, "lines differ");
        let err = for_each_line(&path, |_, n| if n == 20_000 { Err("stop".into()) } else { Ok(()) }).unwrap_err();
        assert!(matches!(err, ReadError::Line { line: 20_000, .. }), "{err}");
    }

    fn fields(ev: &Line) -> String {
        format!(
            "{} {:?} {:?} {:?} {:?} {:?} {:?} {:?} {:?} {:?}",
            ev.kind,
            ev.seq,
            ev.time_ms,
            ev.schema,
            ev.instance_id,
            ev.experiment,
            ev.user_id,
            ev.variant,
            ev.metric,
            ev.value.map(f64::to_bits)
        )
    }

    #[test]
    fn the_scanner_reads_what_the_parser_reads_or_leaves_it_to_the_parser() {
        let lines = [
            r#"{"type":"track","seq":3,"time_ms":-5,"schema":1,"instance_id":"p1","user_id":"u","metric":"spend","value":1e15,"attributed":[{"experiment":"e","variant":"v"},{"experiment":"]","variant":"}"}]}"#,
            r#"{"type":"exposure","seq":12345678901234,"time_ms":1795478460000,"schema":1,"experiment":"exp","user_id":"user-1","variant":"treatment"}"#,
            r#"{"type":"evaluation","seq":1,"time_ms":2,"schema":1,"flag":"f","user_id":"u","variant":null,"reason":"DEFAULT"}"#,
            r#"{"type":"rollout_transition","seq":3,"time_ms":1,"schema":1,"rollout":"r","from":{"state":"running","stage":4},"to":{"state":"x"},"at_ms":1}"#,
            r#"{"user_id":"u","type":"track","value":-0.1,"metric":"m","time_ms":1,"seq":1}"#,
            r#"{"type":"config_rejected","seq":1,"time_ms":1,"problems":[{"path":"a","message":"b \"quoted\""}]}"#,
        ];
        for line in lines {
            let scanned = scan(line.as_bytes()).unwrap_or_else(|| panic!("scans: {line}"));
            let parsed: Line = serde_json::from_str(line).unwrap();
            assert_eq!(fields(&scanned), fields(&parsed), "{line}");
        }
        // Escapes, odd layouts and broken lines go to the parser, which reads or refuses them.
        for line in [
            r#"{"type":"track","user_id":"a\"b","seq":1,"time_ms":1}"#,
            r#"{ "type":"track"}"#,
            r#"{"type":"track","seq":1,}"#,
            r#"{"type":"track","seq":x}"#,
            r#"{"type":"track","seq":1} trailing"#,
            r#"{"type":"track","seq":[1}"#,
            r#"{}"#,
            r#"[]"#,
        ] {
            assert!(scan(line.as_bytes()).is_none(), "{line}");
        }
        let escaped: Line = parse(br#"{"type":"track","user_id":"a\"b","seq":1,"time_ms":1}"#).unwrap();
        assert_eq!(escaped.user_id.as_deref(), Some("a\"b"));
    }
}
