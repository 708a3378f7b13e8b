//! Users in the tracker: each user's record (id, and per experiment their exposure with
//! its per-metric totals and breakdown segments), and a shard's arena of records in
//! fixed blocks with its index.

use crate::intern::Sym;

use super::MAX_BREAKDOWNS;

/// Metrics kept inline per exposure; more spill to the heap.
const INLINE_METRICS: usize = 4;

/// A user's per-metric totals in one experiment, conversions storing 1.0 once
/// converted. The first few live inline, so an exposure and its tracking allocate
/// nothing beyond the user's record.
#[derive(Debug)]
pub(super) struct Totals {
    metrics: [Sym; INLINE_METRICS],
    values: [f64; INLINE_METRICS],
    len: u8,
    // Boxed: 8 bytes in every record rather than a Vec's 24, for the rare fifth metric.
    #[allow(clippy::box_collection)]
    spill: Option<Box<Vec<(Sym, f64)>>>,
}

impl Totals {
    pub(super) fn new() -> Self {
        Totals { metrics: [Sym::UNSET; INLINE_METRICS], values: [0.0; INLINE_METRICS], len: 0, spill: None }
    }

    /// Each metric with its total.
    pub(super) fn iter(&self) -> impl Iterator<Item = (Sym, f64)> + '_ {
        let inline = self.metrics[..usize::from(self.len)].iter().copied().zip(self.values.iter().copied());
        inline.chain(self.spill.iter().flat_map(|s| s.iter().copied()))
    }

    /// The total of `metric`, if it has one.
    pub(super) fn get(&self, metric: Sym) -> Option<f64> {
        self.iter().find(|(m, _)| *m == metric).map(|(_, v)| v)
    }

    /// The total of `metric`, and whether this is its first event.
    pub(super) fn slot(&mut self, metric: Sym) -> (&mut f64, bool) {
        let len = usize::from(self.len);
        if let Some(i) = self.metrics[..len].iter().position(|m| *m == metric) {
            return (&mut self.values[i], false);
        }
        if len < INLINE_METRICS {
            self.metrics[len] = metric;
            self.len += 1;
            return (&mut self.values[len], true);
        }
        let spill = self.spill.get_or_insert_with(Box::default);
        match spill.iter().position(|(m, _)| *m == metric) {
            Some(i) => (&mut spill[i].1, false),
            None => {
                spill.push((metric, 0.0));
                (&mut spill.last_mut().expect("just pushed").1, true)
            }
        }
    }
}

/// A user's exposure to one experiment, with its per-metric totals, the segment of each
/// breakdown attribute and the allocation period, all captured at exposure.
#[derive(Debug)]
pub(super) struct Exposure {
    pub(super) experiment: Sym,
    pub(super) variant: Sym,
    pub(super) totals: Totals,
    pub(super) segments: [u16; MAX_BREAKDOWNS],
    pub(super) breakdowns: u8,
    /// The allocation period the user was enrolled in (`engine/allocations.rs`); it sits
    /// in what was padding, so the record keeps its size.
    pub(super) period: u16,
}

/// A user id, inline when short (most are), so enrolling a user allocates nothing for
/// it. Only its bytes are ever compared.
#[derive(Debug)]
pub(super) enum UserId {
    Inline(u8, [u8; INLINE_ID]),
    Heap(Box<[u8]>),
}

/// Longest user id stored inline (the enum stays 24 bytes).
const INLINE_ID: usize = 22;

impl UserId {
    pub(super) fn new(id: &str) -> Self {
        let bytes = id.as_bytes();
        if bytes.len() <= INLINE_ID {
            let mut inline = [0; INLINE_ID];
            inline[..bytes.len()].copy_from_slice(bytes);
            UserId::Inline(bytes.len() as u8, inline)
        } else {
            UserId::Heap(bytes.into())
        }
    }

    pub(super) fn as_bytes(&self) -> &[u8] {
        match self {
            UserId::Inline(len, bytes) => &bytes[..usize::from(*len)],
            UserId::Heap(bytes) => bytes,
        }
    }
}

// docs/experiments.md quotes these sizes (64-bit targets).
#[cfg(target_pointer_width = "64")]
const _: () = {
    assert!(std::mem::size_of::<UserId>() == 24);
    assert!(std::mem::size_of::<Exposure>() == 96);
    assert!(std::mem::size_of::<UserRecord>() == 144);
};

/// A user's exposures: the first inline (most users are in one experiment), the rest
/// spilled.
#[derive(Debug)]
pub(super) struct UserRecord {
    pub(super) id: UserId,
    pub(super) first: Exposure,
    pub(super) more: Vec<Exposure>,
}

impl UserRecord {
    pub(super) fn iter(&self) -> impl Iterator<Item = &Exposure> {
        std::iter::once(&self.first).chain(&self.more)
    }

    pub(super) fn iter_mut(&mut self) -> impl Iterator<Item = &mut Exposure> {
        std::iter::once(&mut self.first).chain(&mut self.more)
    }
}

/// Records per block of a shard's user arena. Under Miri, which interprets every
/// instruction, the same logic runs on blocks of 16 so the tests cross blocks in seconds.
const BLOCK: usize = if cfg!(miri) { 16 } else { 256 };

/// A shard's users: records in fixed-size blocks, which never move once written (growth
/// adds a block rather than copying the arena), and an index of `(record, hash)` pairs
/// that rehashes from the stored hashes without touching the records.
#[derive(Debug, Default)]
pub(super) struct Users {
    index: hashbrown::HashTable<(u32, u32)>,
    blocks: Vec<Vec<UserRecord>>,
    pub(super) len: usize,
}

/// The 64-bit hash the index uses, rebuilt from the 32 bits it stores: the table takes
/// its slot from the low bits and its tag from the top 7.
#[inline]
fn spread(hash32: u32) -> u64 {
    u64::from(hash32) | (u64::from(hash32) << 32)
}

impl Users {
    pub(super) fn record(&self, i: u32) -> &UserRecord {
        &self.blocks[i as usize / BLOCK][i as usize % BLOCK]
    }

    pub(super) fn record_mut(&mut self, i: u32) -> &mut UserRecord {
        &mut self.blocks[i as usize / BLOCK][i as usize % BLOCK]
    }

    pub(super) fn find(&self, hash32: u32, id: &str) -> Option<u32> {
        self.index
            .find(spread(hash32), |&(i, h)| h == hash32 && self.record(i).id.as_bytes() == id.as_bytes())
            .map(|&(i, _)| i)
    }

    pub(super) fn get(&self, hash32: u32, id: &str) -> Option<&UserRecord> {
        self.find(hash32, id).map(|i| self.record(i))
    }

    /// Every record, in insertion order.
    pub(super) fn iter(&self) -> impl Iterator<Item = &UserRecord> {
        self.blocks.iter().flatten()
    }

    /// Adds `record` and returns its index.
    pub(super) fn insert(&mut self, hash32: u32, record: UserRecord) -> u32 {
        let i = self.len as u32;
        if self.len.is_multiple_of(BLOCK) {
            self.blocks.push(Vec::with_capacity(BLOCK));
            // The index grows with the arena, a block at a time: a small table doubling
            // on its own rehashes six times before its first 256 users, about 11 ns
            // per new user in engines of 10,000 (perf); a large one grows as before.
            self.index.reserve(BLOCK, |&(_, h)| spread(h));
        }
        self.blocks.last_mut().expect("just ensured").push(record);
        self.len += 1;
        self.index.insert_unique(spread(hash32), (i, hash32), |&(_, h)| spread(h));
        i
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(id: &str, variant: u32) -> UserRecord {
        let first = Exposure {
            experiment: Sym(0),
            variant: Sym(variant),
            totals: Totals::new(),
            segments: [0; MAX_BREAKDOWNS],
            breakdowns: 0,
            period: 0,
        };
        UserRecord { id: UserId::new(id), first, more: Vec::new() }
    }

    /// Short ids inline and long ones on the heap, across several blocks and index
    /// rehashes, with colliding stored hashes: every user is found by its bytes, and a
    /// record's address never changes as the arena grows. (Small enough for Miri.)
    #[test]
    fn records_stay_put_and_are_found_across_blocks() {
        let mut users = Users::default();
        let n = BLOCK * 2 + 7;
        let id = |i: usize| {
            if i.is_multiple_of(3) {
                format!("a-long-user-id-past-the-inline-limit-{i}")
            } else {
                format!("u{i}")
            }
        };
        let mut first_address = None;
        for i in 0..n {
            // Every 4 users share a hash: lookups compare the bytes.
            let at = users.insert((i / 4) as u32, record(&id(i), i as u32));
            assert_eq!(at as usize, i);
            let address = users.record(0) as *const UserRecord;
            assert_eq!(*first_address.get_or_insert(address), address, "records never move");
        }
        assert_eq!(users.len, n);
        for i in 0..n {
            let found = users.get((i / 4) as u32, &id(i)).expect("inserted");
            assert_eq!(found.first.variant, Sym(i as u32));
            assert_eq!(found.id.as_bytes(), id(i).as_bytes());
        }
        assert!(users.get(0, "nobody").is_none());
        users.record_mut(5).more.push(record("x", 99).first);
        assert_eq!(users.record(5).iter().count(), 2);
    }
}
