//! A bottom-k sample of the users' hashes: the [`SAMPLE_SIZE`] smallest hashes of the ids
//! counted. Two sources whose samples share a hash counted that user twice (64-bit hashes
//! do not collide in practice); the smallest hashes of a union are the smallest of the
//! parts' samples, so merged samples stay exact samples of the union.

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Hashes kept per sample.
pub const SAMPLE_SIZE: usize = 1024;

/// A stable 64-bit hash of a user id (FNV-1a, then MurmurHash3's finalizer to spread
/// it), the same in every process and version: samples from different engines compare.
pub fn user_hash(id: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in id {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h ^= h >> 33;
    h = h.wrapping_mul(0xff51_afd7_ed55_8ccd);
    h ^= h >> 33;
    h = h.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
    h ^ (h >> 33)
}

/// The smallest hashes of the users counted, ascending, at most [`SAMPLE_SIZE`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UserSample {
    hashes: Vec<u64>,
}

impl UserSample {
    /// The sample of `hashes` (any order, no duplicates expected).
    pub fn of(hashes: impl IntoIterator<Item = u64>) -> Self {
        let mut sample = UserSample::default();
        sample.extend(hashes);
        sample
    }

    /// Adds hashes, keeping the smallest.
    pub fn extend(&mut self, hashes: impl IntoIterator<Item = u64>) {
        // Buffered up to twice the size, then sorted and cut: simpler than a heap, and as
        // fast once the cutoff turns most hashes away.
        // Settled, the sample is sorted and its largest kept hash bounds what can enter.
        let mut cutoff = self.threshold();
        for h in hashes {
            if h > cutoff {
                continue;
            }
            self.hashes.push(h);
            if self.hashes.len() >= 2 * SAMPLE_SIZE {
                self.settle();
                cutoff = self.threshold();
            }
        }
        self.settle();
    }

    fn settle(&mut self) {
        self.hashes.sort_unstable();
        self.hashes.dedup();
        self.hashes.truncate(SAMPLE_SIZE);
    }

    /// The hashes, ascending.
    pub fn hashes(&self) -> &[u64] {
        &self.hashes
    }

    /// The largest hash a full sample keeps (`u64::MAX` when the sample holds every user).
    pub fn threshold(&self) -> u64 {
        if self.hashes.len() < SAMPLE_SIZE {
            u64::MAX
        } else {
            *self.hashes.last().expect("full")
        }
    }
}

impl Serialize for UserSample {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let hex: Vec<String> = self.hashes.iter().map(|h| format!("{h:016x}")).collect();
        hex.serialize(s)
    }
}

impl<'de> Deserialize<'de> for UserSample {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let hex: Vec<String> = Vec::deserialize(d)?;
        let hashes = hex
            .iter()
            .map(|h| u64::from_str_radix(h, 16).map_err(|_| serde::de::Error::custom(format!("bad user hash {h:?}"))))
            .collect::<Result<Vec<u64>, _>>()?;
        Ok(UserSample::of(hashes))
    }
}
