//! Deterministic bucketing shared by every language binding (docs/design.md §4):
//! `bucket(salt, key) = u64_be(SHA-256(salt ‖ "." ‖ key)[0..8]) mod 100000`.

use sha2::{Digest, Sha256};

use crate::keyindex::{read_u32, read_u64};

/// Number of buckets; a percentage with three decimals maps onto them exactly.
pub const BUCKETS: u32 = 100_000;

/// The bucket of `key` under `salt`, in `0..BUCKETS`.
pub fn bucket(salt: &str, key: &str) -> u32 {
    Salt::new(salt).bucket(key)
}

/// SHA-256's initial state (FIPS 180-4 §5.3.3).
const SHA256_H0: [u32; 8] =
    [0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19];

/// A salt prepared for repeated bucketing. Most `salt ‖ "." ‖ key` inputs fit one
/// SHA-256 block (55 bytes or fewer): then the block is built in registers and
/// compressed once, skipping the streaming hasher's buffering and finalization. Longer
/// inputs go through the streaming hasher.
#[derive(Clone)]
pub struct Salt {
    /// `salt ‖ "."`, zero-padded, as the block's eight little-endian words (all zero
    /// when the prefix leaves no room for a key in one block, and then never read).
    words: [u64; 8],
    prefix_len: usize,
    /// The salt, for inputs longer than one block.
    salt: Box<str>,
}

impl Salt {
    /// Prepares `salt` for repeated bucketing.
    pub fn new(salt: &str) -> Self {
        let prefix_len = salt.len() + 1;
        let mut block = [0u8; 64];
        if prefix_len <= 55 {
            block[..salt.len()].copy_from_slice(salt.as_bytes());
            block[salt.len()] = b'.';
        }
        let words = std::array::from_fn(|i| read_u64(&block[8 * i..]));
        Salt { words, prefix_len, salt: salt.into() }
    }

    /// The bucket of `key` under this salt.
    #[inline]
    pub fn bucket(&self, key: &str) -> u32 {
        let len = self.prefix_len + key.len();
        let head = if len <= 55 {
            if let Some(head) = featureflags_sha_ni::one_block_head(|| self.message(key.as_bytes())) {
                return reduce(head);
            }
            one_block_head_with_sha2(&self.message(key.as_bytes()))
        } else {
            let mut hasher = Sha256::new();
            hasher.update(self.salt.as_bytes());
            hasher.update(b".");
            hasher.update(key.as_bytes());
            let digest = hasher.finalize();
            let mut head = [0u8; 8];
            head.copy_from_slice(&digest[..8]);
            u64::from_be_bytes(head)
        };
        reduce(head)
    }

    /// The one-block message of `key` (`prefix_len + key.len() ≤ 55`) as eight words.
    #[inline(always)]
    fn message(&self, key: &[u8]) -> [u64; 8] {
        // Salts and ids are usually short: their message fits four words, and the words
        // past it are the prefix's zeros.
        if self.prefix_len + key.len() < 32 {
            message_words::<4>(&self.words, self.prefix_len, key)
        } else {
            message_words::<7>(&self.words, self.prefix_len, key)
        }
    }
}

/// The digest's first eight bytes (big-endian) of a one-block message given as words,
/// compressed by `sha2`: the path of CPUs without the SHA extensions.
fn one_block_head_with_sha2(words: &[u64; 8]) -> u64 {
    // `sha2`'s software compression reads the block four bytes at a time: loads that
    // the eight-byte stores forward to.
    let mut block = sha2::digest::generic_array::GenericArray::default();
    for (bytes, word) in block.chunks_exact_mut(8).zip(words) {
        bytes.copy_from_slice(&word.to_le_bytes());
    }
    let mut state = SHA256_H0;
    sha2::compress256(&mut state, std::slice::from_ref(&block));
    (u64::from(state[0]) << 32) | u64::from(state[1])
}

/// A digest's first eight bytes (big-endian) as a bucket.
#[inline(always)]
fn reduce(head: u64) -> u32 {
    (head % u64::from(BUCKETS)) as u32
}

/// The one-block message `prefix ‖ key ‖ 0x80 ‖ 0… ‖ bit length` as eight little-endian
/// words, `prefix` (`p` bytes) given as words and `p + key.len() ≤ 55`. Every step
/// indexes with constants, so the words stay in registers: a block written byte by byte
/// makes the compression's 16-byte loads wait for the small stores to reach the cache
/// (a failed store-to-load forward), about 14 ns of a 45 ns hash.
#[inline(always)]
fn message_words<const W: usize>(prefix: &[u64; 8], p: usize, key: &[u8]) -> [u64; 8] {
    let n = key.len();
    // The key and its 0x80 marker as W words from the key's first byte.
    let mut k: [u64; W] = std::array::from_fn(|j| key_word(key, j));
    for (j, word) in k.iter_mut().enumerate() {
        *word |= if n / 8 == j { 0x80 << (8 * (n % 8)) } else { 0 };
    }
    // Moved up by p bytes: whole words (p / 8 as 4 + 2 + 1), then the bits left over.
    for step in [4, 2, 1] {
        if (p / 8) & step != 0 {
            for i in (0..W).rev() {
                k[i] = if i >= step { k[i - step] } else { 0 };
            }
        }
    }
    let bits = 8 * (p % 8) as u32;
    let mut words = *prefix;
    let mut carry = 0;
    for i in 0..W {
        words[i] |= k[i] << bits | carry;
        // Two shifts, so that no shift is by 64 when `bits` is 0.
        carry = (k[i] >> 1) >> (63 - bits);
    }
    words[7] = (((p + n) as u64) * 8).swap_bytes();
    words
}

/// Word `j` of `key` (bytes `8j..8j + 8`), zero past its end: whole words, the last
/// partial one as the key's final eight bytes shifted down, short keys as overlapping
/// halves, so that no byte is read outside the key and none is copied through memory.
#[inline(always)]
fn key_word(key: &[u8], j: usize) -> u64 {
    let n = key.len();
    let start = 8 * j;
    if start + 8 <= n {
        read_u64(&key[start..])
    } else if start >= n {
        0
    } else if n >= 8 {
        read_u64(&key[n - 8..]) >> (8 * (start + 8 - n))
    } else if n >= 4 {
        read_u32(key) | read_u32(&key[n - 4..]) << (8 * (n - 4))
    } else {
        u64::from(key[0]) | u64::from(key[n / 2]) << (8 * (n / 2)) | u64::from(key[n - 1]) << (8 * (n - 1))
    }
}

impl std::fmt::Debug for Salt {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Salt(..)")
    }
}

/// The exclusive bucket threshold of a percentage `p` in `[0, 100]`: a user is inside
/// iff `bucket < round(p × 1000)` (round half away from zero).
pub fn percentage_threshold(p: f64) -> u32 {
    (p * 1000.0).round().clamp(0.0, f64::from(BUCKETS)) as u32
}

/// Exclusive cumulative thresholds of a split with `weights` in document order:
/// variant `i` is picked by the first `i` with `bucket < round(100000 × (w1+…+wi) / W)`.
/// The caller guarantees a positive, finite total.
pub fn split_thresholds(weights: &[f64]) -> Vec<u32> {
    let total: f64 = weights.iter().sum();
    let mut cumulative = 0.0;
    weights
        .iter()
        .map(|w| {
            cumulative += w;
            (f64::from(BUCKETS) * cumulative / total).round().clamp(0.0, f64::from(BUCKETS)) as u32
        })
        .collect()
}

/// True when `x` has at most three decimals (percentages and weights, docs/design.md §4).
pub fn has_at_most_three_decimals(x: f64) -> bool {
    let scaled = x * 1000.0;
    (scaled - scaled.round()).abs() <= 1e-6 * scaled.abs().max(1.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thresholds_follow_document_order_and_round_half_away() {
        assert_eq!(split_thresholds(&[34.0, 33.0, 33.0]), vec![34_000, 67_000, 100_000]);
        assert_eq!(split_thresholds(&[1.0, 1.0, 1.0]), vec![33_333, 66_667, 100_000]);
        assert_eq!(split_thresholds(&[0.0, 5.0]), vec![0, 100_000]);
        assert_eq!(percentage_threshold(12.5), 12_500);
        assert_eq!(percentage_threshold(0.0005), 1);
        assert_eq!(percentage_threshold(100.0), 100_000);
    }

    #[test]
    fn decimals() {
        assert!(has_at_most_three_decimals(12.125));
        assert!(has_at_most_three_decimals(33.333));
        assert!(!has_at_most_three_decimals(33.3333));
        assert!(has_at_most_three_decimals(99.999));
    }

    #[test]
    fn one_block_path_matches_the_streaming_hasher() {
        let plain = |salt: &str, key: &str| {
            let d = Sha256::digest(format!("{salt}.{key}").as_bytes());
            (u64::from_be_bytes(d[..8].try_into().unwrap()) % 100_000) as u32
        };
        for salt_len in [0, 1, 20, 54, 55, 60, 70] {
            for key_len in [0, 1, 10, 33, 34, 54, 55, 56, 64, 100] {
                let salt = "s".repeat(salt_len);
                let key = "k€".repeat(key_len / 2);
                assert_eq!(Salt::new(&salt).bucket(&key), plain(&salt, &key), "{salt_len} {key_len}");
            }
        }
    }

    #[test]
    fn keys_of_every_length_that_fit_one_block_hash_as_the_streaming_hasher() {
        // Distinct bytes at each position, so a word of the salt or key put at the wrong
        // offset changes the hash; every prefix length, so every word and bit shift.
        let alphabet: String = ('a'..='z').chain('0'..='9').chain('A'..='Z').collect();
        // Under Miri (slow) a sample of the prefix lengths.
        for salt_len in (0..=54).step_by(if cfg!(miri) { 9 } else { 1 }) {
            let salt: String = alphabet.chars().rev().take(salt_len).collect();
            let prepared = Salt::new(&salt);
            for n in 0..=60 {
                let key = &alphabet[..n];
                let d = Sha256::digest(format!("{salt}.{key}").as_bytes());
                let expect = (u64::from_be_bytes(d[..8].try_into().unwrap()) % 100_000) as u32;
                assert_eq!(prepared.bucket(key), expect, "salt of {salt_len} bytes, key of {n}");
                // Natively `bucket` takes the SHA-NI path where the CPU has it; the path
                // of CPUs without it is checked here on every machine.
                if salt_len + 1 + n <= 55 {
                    let head = one_block_head_with_sha2(&prepared.message(key.as_bytes()));
                    assert_eq!(reduce(head), expect, "sha2 path: salt of {salt_len} bytes, key of {n}");
                }
            }
        }
    }

    #[test]
    fn salt_prefix_matches_plain_hash() {
        let mut h = Sha256::new();
        h.update(b"flag.user-1");
        let d = h.finalize();
        let expect = (u64::from_be_bytes(d[..8].try_into().unwrap()) % 100_000) as u32;
        assert_eq!(bucket("flag", "user-1"), expect);
    }
}
