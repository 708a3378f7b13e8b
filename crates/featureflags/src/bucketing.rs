//! Deterministic bucketing shared by every language binding (docs/design.md §4):
//! `bucket(salt, key) = u64_be(SHA-256(salt ‖ "." ‖ key)[0..8]) mod 100000`.

use sha2::{Digest, Sha256};

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
/// SHA-256 block (55 bytes or fewer): then the block is laid out by hand and compressed
/// once, skipping the streaming hasher's buffering and finalization. Longer inputs go
/// through a hasher with the prefix already absorbed.
#[derive(Clone)]
pub struct Salt {
    /// `salt ‖ "."`, zero-padded, when it leaves room for a key in one block.
    block: [u8; 64],
    prefix_len: usize,
    /// The salt when it is too long for `block`.
    long: Option<Box<str>>,
}

impl Salt {
    /// Prepares `salt` for repeated bucketing.
    pub fn new(salt: &str) -> Self {
        let prefix_len = salt.len() + 1;
        let mut block = [0u8; 64];
        let long = if prefix_len <= 55 {
            block[..salt.len()].copy_from_slice(salt.as_bytes());
            block[salt.len()] = b'.';
            None
        } else {
            Some(salt.into())
        };
        Salt { block, prefix_len, long }
    }

    /// The bucket of `key` under this salt.
    #[inline]
    pub fn bucket(&self, key: &str) -> u32 {
        let len = self.prefix_len + key.len();
        let head = if len <= 55 {
            // Assembled in the array the compression reads, so the block is copied once.
            let mut block = sha2::digest::generic_array::GenericArray::from(self.block);
            block[self.prefix_len..len].copy_from_slice(key.as_bytes());
            block[len] = 0x80;
            block[56..].copy_from_slice(&((len as u64) * 8).to_be_bytes());
            let mut state = SHA256_H0;
            sha2::compress256(&mut state, std::slice::from_ref(&block));
            (u64::from(state[0]) << 32) | u64::from(state[1])
        } else {
            let mut hasher = Sha256::new();
            match &self.long {
                Some(salt) => {
                    hasher.update(salt.as_bytes());
                    hasher.update(b".");
                }
                None => hasher.update(&self.block[..self.prefix_len]),
            }
            hasher.update(key.as_bytes());
            let digest = hasher.finalize();
            let mut head = [0u8; 8];
            head.copy_from_slice(&digest[..8]);
            u64::from_be_bytes(head)
        };
        (head % u64::from(BUCKETS)) as u32
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
    fn salt_prefix_matches_plain_hash() {
        let mut h = Sha256::new();
        h.update(b"flag.user-1");
        let d = h.finalize();
        let expect = (u64::from_be_bytes(d[..8].try_into().unwrap()) % 100_000) as u32;
        assert_eq!(bucket("flag", "user-1"), expect);
    }
}
