//! Per-user state split into shards by user id, each behind its own mutex, so two threads
//! working on different users rarely meet. The experiment tracker and the funnel tracker
//! keep their users and tallies this way; a result sums the shards.

use std::hash::BuildHasher;
use std::sync::{Mutex, MutexGuard};

use rustc_hash::FxBuildHasher;

use crate::sync::lock;

/// Shards per [`Sharded`].
const SHARDS: usize = 64;

/// [`SHARDS`] values of `T`, each behind a mutex; a key's hash chooses its shard.
#[derive(Debug)]
pub(crate) struct Sharded<T> {
    shards: Box<[Mutex<T>]>,
}

impl<T: Default> Default for Sharded<T> {
    fn default() -> Self {
        Sharded { shards: (0..SHARDS).map(|_| Mutex::default()).collect() }
    }
}

impl<T> Sharded<T> {
    /// Locks the shard of `key`. Also returns the low 32 bits of the key's hash: the top 32
    /// chose the shard, so these still spread the keys within it, for an index there.
    // `always`: with plain `#[inline]` the fat-LTO build kept it a call, 25 instructions
    // on every assign and track (scripts/icount.sh).
    #[inline(always)]
    pub(crate) fn lock(&self, key: &str) -> (MutexGuard<'_, T>, u32) {
        let hash = FxBuildHasher.hash_one(key);
        (lock(&self.shards[(hash >> 32) as usize % SHARDS]), hash as u32)
    }

    /// Every shard, each locked in turn while the caller holds it.
    pub(crate) fn iter(&self) -> impl Iterator<Item = MutexGuard<'_, T>> {
        self.shards.iter().map(lock)
    }
}
