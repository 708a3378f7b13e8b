//! The flag-key index of a snapshot: an open-addressed table with a hash made for short
//! keys, each slot holding its key's first and last eight bytes and length, because
//! finding the flag is a large share of evaluating a simple one (a general hash map spent
//! ~4 of 10 ns there, half of it in a `memcmp` call, and comparing the flag record's own
//! key put two dependent loads on the path).

/// Marks an empty slot.
const EMPTY: u32 = u32::MAX;

/// The first eight bytes of `b`, little-endian.
#[inline(always)]
pub(crate) fn read_u64(b: &[u8]) -> u64 {
    let mut buf = [0u8; 8];
    buf.copy_from_slice(&b[..8]);
    u64::from_le_bytes(buf)
}

/// The first four bytes of `b`, little-endian, widened.
#[inline(always)]
pub(crate) fn read_u32(b: &[u8]) -> u64 {
    let mut buf = [0u8; 4];
    buf.copy_from_slice(&b[..4]);
    u64::from(u32::from_le_bytes(buf))
}

#[inline(always)]
fn mix(a: u64, b: u64) -> u64 {
    let product = u128::from(a ^ 0x243F_6A88_85A3_08D3).wrapping_mul(u128::from(b ^ 0x1319_8A2E_0370_7344));
    (product as u64) ^ ((product >> 64) as u64)
}

/// A key's two words: two (possibly overlapping) loads for up to 16 bytes, which with
/// the length are the key itself; longer keys fold 8-byte chunks into the first.
#[inline(always)]
fn key_words(b: &[u8]) -> (u64, u64) {
    let n = b.len();
    if n >= 8 {
        if n <= 16 {
            (read_u64(b), read_u64(&b[n - 8..]))
        } else {
            long_key_words(b)
        }
    } else if n >= 4 {
        (read_u32(b), read_u32(&b[n - 4..]))
    } else if n > 0 {
        ((u64::from(b[0]) << 16) | (u64::from(b[n / 2]) << 8) | u64::from(b[n - 1]), 0)
    } else {
        (0, 0)
    }
}

/// Out of line, so the lookup of a short key stays small enough to inline.
#[cold]
#[inline(never)]
fn long_key_words(b: &[u8]) -> (u64, u64) {
    let mut acc = 0u64;
    let mut chunks = b.chunks_exact(8);
    for chunk in &mut chunks {
        acc = mix(acc, read_u64(chunk));
    }
    (acc, read_u64(&b[b.len() - 8..]))
}

/// A fast hash of a key's words: one multiply.
#[inline(always)]
fn hash_words(x: u64, y: u64, n: usize) -> u64 {
    mix(x ^ (n as u64).rotate_left(32), y)
}

/// Byte equality without a call for keys of up to 16 bytes.
#[inline(always)]
pub(crate) fn same_bytes(a: &[u8], b: &[u8]) -> bool {
    let n = a.len();
    if n != b.len() {
        return false;
    }
    if (8..=16).contains(&n) {
        read_u64(a) == read_u64(b) && read_u64(&a[n - 8..]) == read_u64(&b[n - 8..])
    } else if (4..8).contains(&n) {
        read_u32(a) == read_u32(b) && read_u32(&a[n - 4..]) == read_u32(&b[n - 4..])
    } else if n < 4 {
        // Three probes cover every byte of 1 to 3 bytes.
        n == 0 || (a[0] == b[0] && a[n / 2] == b[n / 2] && a[n - 1] == b[n - 1])
    } else {
        a == b
    }
}

/// Longest string whose fingerprint (words and length) is the string itself.
pub(crate) const SHORT: usize = 16;

/// A string's two words and its length. Equal strings have equal fingerprints, and a
/// string of up to 16 bytes shares its fingerprint with no other, so names and values
/// compiled at load compare in registers, without following a pointer to their bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct Fingerprint {
    words: (u64, u64),
    len: u32,
}

impl Fingerprint {
    #[inline(always)]
    pub(crate) fn of(bytes: &[u8]) -> Self {
        // A string longer than u32::MAX bytes saturates; its bytes then decide.
        Fingerprint { words: key_words(bytes), len: u32::try_from(bytes.len()).unwrap_or(u32::MAX) }
    }

    /// Whether `a` (with this fingerprint) and `b` (with `b_print`) are the same bytes.
    #[inline(always)]
    pub(crate) fn same(self, a: &[u8], b_print: Fingerprint, b: &[u8]) -> bool {
        self == b_print && (self.is_whole() || a == b)
    }

    /// Whether the fingerprint is the string itself, so that equal fingerprints mean
    /// equal strings without comparing their bytes.
    #[inline(always)]
    pub(crate) fn is_whole(self) -> bool {
        self.len as usize <= SHORT
    }

    /// The key index's hash of a key with this fingerprint (`len`: the key's length).
    #[inline(always)]
    fn hash(self, len: usize) -> u64 {
        hash_words(self.words.0, self.words.1, len)
    }
}

/// A key's fingerprint next to its index and tag: a key of up to 16 bytes is matched in
/// the slot, without following the flag record to its key's bytes, and the tag (the
/// owner's, see [`KeyIndex::new`]) comes from the same cache line.
#[derive(Debug, Clone, Copy)]
struct Slot {
    print: Fingerprint,
    index: u32,
    tag: u32,
}

/// Keys to indices, built once per snapshot.
#[derive(Debug, Default)]
pub struct KeyIndex {
    /// A power-of-two number of slots, at most half full.
    slots: Box<[Slot]>,
}

impl KeyIndex {
    /// Indexes `keys` by position, each with a tag that [`KeyIndex::lookup`] returns
    /// beside the index. Keys are unique (config validation guarantees it).
    pub fn new<'a>(keys: impl ExactSizeIterator<Item = (&'a [u8], u32)>) -> Self {
        let size = (keys.len() * 2).next_power_of_two().max(8);
        let empty = Slot { print: Fingerprint::default(), index: EMPTY, tag: 0 };
        let mut slots = vec![empty; size].into_boxed_slice();
        let mask = size - 1;
        for (i, (key, tag)) in keys.enumerate() {
            let print = Fingerprint::of(key);
            let mut at = print.hash(key.len()) as usize & mask;
            while slots[at].index != EMPTY {
                at = (at + 1) & mask;
            }
            slots[at] = Slot { print, index: i as u32, tag };
        }
        KeyIndex { slots }
    }

    /// The index of `key`; `key_of(i)` returns the key at index `i` for the comparison
    /// of keys longer than 16 bytes.
    #[inline(always)]
    pub fn get<'k>(&self, key: &[u8], key_of: impl Fn(u32) -> &'k [u8]) -> Option<u32> {
        self.lookup(key, key_of).map(|(index, _)| index)
    }

    /// [`KeyIndex::get`] with the key's tag.
    #[inline(always)]
    pub fn lookup<'k>(&self, key: &[u8], key_of: impl Fn(u32) -> &'k [u8]) -> Option<(u32, u32)> {
        if self.slots.is_empty() {
            return None;
        }
        let print = Fingerprint::of(key);
        let mask = self.slots.len() - 1;
        let mut at = print.hash(key.len()) as usize & mask;
        loop {
            let slot = &self.slots[at];
            if slot.index == EMPTY {
                return None;
            }
            if slot.print == print && (print.is_whole() || key_of(slot.index) == key) {
                return Some((slot.index, slot.tag));
            }
            at = (at + 1) & mask;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_every_key_and_nothing_else() {
        // Fewer under Miri, which interprets every probe; still every shape of key.
        let n = if cfg!(miri) { 300 } else { 2_000 };
        let keys: Vec<String> = (0..n)
            .map(|i| match i % 5 {
                0 => format!("{i}"),
                1 => format!("f{i}"),
                2 => format!("flag-{i}"),
                3 => format!("a-much-longer-flag-key-{i}-with-many-bytes"),
                _ => "x".repeat(i % 40) + &i.to_string(),
            })
            .collect();
        let index = KeyIndex::new(keys.iter().enumerate().map(|(i, k)| (k.as_bytes(), i as u32 * 7)));
        for (i, k) in keys.iter().enumerate() {
            assert_eq!(index.get(k.as_bytes(), |j| keys[j as usize].as_bytes()), Some(i as u32), "{k}");
            let i = i as u32;
            assert_eq!(index.lookup(k.as_bytes(), |j| keys[j as usize].as_bytes()), Some((i, i * 7)), "{k}");
        }
        for missing in ["", "f", "flag-", "flag-2001", "zzzzzzzzzzzzzzzzzzzzzzzz"] {
            assert_eq!(index.get(missing.as_bytes(), |j| keys[j as usize].as_bytes()), None, "{missing}");
        }
        assert_eq!(KeyIndex::default().get(b"x", |_| b""), None);
    }

    #[test]
    fn equality_on_every_length() {
        for n in 0..40 {
            let a: Vec<u8> = (0..n as u8).collect();
            let mut b = a.clone();
            assert!(same_bytes(&a, &b));
            if n > 0 {
                b[n / 2] ^= 1;
                assert!(!same_bytes(&a, &b));
                b[n / 2] ^= 1;
                b[n - 1] ^= 0x80;
                assert!(!same_bytes(&a, &b));
            }
        }
    }
}
