//! The queue's storage: queued events in order, and their text in fixed-size chunks.

use std::collections::VecDeque;

use crate::intern::Sym;

use super::text::{write_exposure, write_track};

/// Bytes per chunk of queued text. Below glibc's mmap threshold, so chunks come from
/// (and return to) the heap rather than fresh pages. Under Miri, which interprets every
/// byte, the same logic runs on 1 KiB chunks so the tests cross chunk boundaries in
/// seconds rather than hours.
pub(super) const CHUNK_BYTES: usize = if cfg!(miri) { 1024 } else { 64 * 1024 };
/// A formatted event starts a new chunk when the current one has less room than this,
/// so a chunk never reallocates for a typical event.
const CHUNK_SLACK: usize = CHUNK_BYTES / 32;
/// Empty chunks kept for reuse after a drain (1 MiB).
const SPARE_CHUNKS: usize = 16;

/// A queued event.
#[derive(Debug, Clone, Copy)]
pub(super) enum Entry {
    /// The next `len` bytes of text: one NDJSON line, '\n' included.
    Line { len: u32 },
    /// An exposure, written out when drained (it is the frequent event, on the
    /// enrollment path); the next `user_len` bytes of text are the user id.
    Exposure { seq: u64, time_ms: i64, experiment: Sym, variant: Sym, user_len: u32 },
    /// A `track` event, written out when drained (with events on, every `track` call
    /// makes one); the next `user_len + metric_len` bytes of text are the user id and the
    /// metric, and the next `attributed` pairs of the attribution queue its attributions.
    Track { seq: u64, time_ms: i64, value: f64, user_len: u16, metric_len: u16, attributed: u16 },
}

// The entry stays as small as the exposure's; queues hold up to tens of thousands.
const _: () = assert!(std::mem::size_of::<Entry>() == 32);

/// Text in a fixed-size chunk, consumed from `read` on.
struct Chunk {
    text: String,
    read: usize,
}

/// Queued events in order, and their text in fixed-size chunks. Appending copies an
/// event's bytes into the last chunk, so the queue never moves what it holds, and the
/// entries and chunks a drain empties are reused, so a queue drained regularly
/// allocates nothing. An entry's text never spans two chunks.
#[derive(Default)]
pub(super) struct Queue {
    pub(super) entries: VecDeque<Entry>,
    chunks: VecDeque<Chunk>,
    spare: Vec<String>,
    /// The `(experiment, variant)` attributions of queued `track` events, in order.
    pub(super) attributions: VecDeque<(Sym, Sym)>,
}

impl Queue {
    /// The chunk to append at least `need` bytes to.
    pub(super) fn tail(&mut self, need: usize) -> &mut String {
        let need = need.max(CHUNK_SLACK);
        if self.chunks.back().is_none_or(|c| c.text.capacity() - c.text.len() < need) {
            let text = match self.spare.pop() {
                Some(text) if need <= CHUNK_BYTES => text,
                _ => String::with_capacity(need.max(CHUNK_BYTES)),
            };
            self.chunks.push_back(Chunk { text, read: 0 });
        }
        &mut self.chunks.back_mut().expect("just ensured").text
    }

    /// Removes up to `max` events as NDJSON; `tail` is the stream's common fields, `name`
    /// resolves the symbols of exposures and attributions.
    pub(super) fn take<'a>(&mut self, max: usize, tail: &str, name: impl Fn(Sym) -> &'a str) -> String {
        let n = max.min(self.entries.len());
        let bytes: usize = self
            .entries
            .iter()
            .take(n)
            .map(|e| match *e {
                Entry::Line { len } => len as usize,
                Entry::Exposure { user_len, .. } => 128 + tail.len() + user_len as usize,
                Entry::Track { user_len, metric_len, attributed, .. } => {
                    160 + tail.len() + user_len as usize + metric_len as usize + 64 * attributed as usize
                }
            })
            .sum();
        let mut out = String::with_capacity(bytes);
        for _ in 0..n {
            let Queue { entries, chunks, spare, attributions, .. } = self;
            match entries.pop_front().expect("counted") {
                Entry::Line { len } => out.push_str(read(chunks, spare, len as usize)),
                Entry::Exposure { seq, time_ms, experiment, variant, user_len } => {
                    let user = read(chunks, spare, user_len as usize);
                    write_exposure(&mut out, (seq, time_ms, tail), name(experiment), user, name(variant));
                    out.push('\n');
                }
                Entry::Track { seq, time_ms, value, user_len, metric_len, attributed } => {
                    let text = read(chunks, spare, user_len as usize + metric_len as usize);
                    let (user, metric) = text.split_at(user_len as usize);
                    let pairs = attributions.drain(..attributed as usize).map(|(e, v)| (name(e), name(v)));
                    write_track(&mut out, (seq, time_ms, tail), user, metric, value, pairs);
                    out.push('\n');
                }
            }
        }
        if self.entries.is_empty() {
            while let Some(spent) = self.chunks.pop_front() {
                recycle(&mut self.spare, spent.text);
            }
        }
        out
    }
}

/// Keeps an emptied chunk for reuse, up to [`SPARE_CHUNKS`].
fn recycle(spare: &mut Vec<String>, mut text: String) {
    if spare.len() < SPARE_CHUNKS && text.capacity() == CHUNK_BYTES {
        text.clear();
        spare.push(text);
    }
}

/// Consumes the next `len` bytes of the chunks' text, recycling the chunks it leaves.
fn read<'c>(chunks: &'c mut VecDeque<Chunk>, spare: &mut Vec<String>, len: usize) -> &'c str {
    while chunks.front().is_some_and(|c| c.read + len > c.text.len()) {
        let spent = chunks.pop_front().expect("just seen");
        recycle(spare, spent.text);
    }
    let chunk = chunks.front_mut().expect("an entry's text is queued");
    let start = chunk.read;
    chunk.read += len;
    &chunk.text[start..start + len]
}
