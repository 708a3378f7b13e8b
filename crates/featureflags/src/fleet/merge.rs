//! Per-process aggregates summed into one. Sums of users, conversions and per-user
//! totals add up only when each user was counted by one process; a user counted by two
//! would be two users with split totals, which no arithmetic on the sums can undo. So the
//! merge refuses inputs that show overlap:
//!
//! - the same instance twice (the same counts added twice), or an input with no instance;
//! - declared partitions (`user_partition`) that are not a partition: some inputs declare
//!   one and some do not, the counts differ, or an index repeats;
//! - a user in two inputs' hash samples ([`UserSample`](super::UserSample)): certain
//!   overlap. Small overlaps can slip past a sample (one user in a thousand is seen about
//!   as often as the sample holds a thousand users); the event reader handles overlap
//!   exactly, and its user count against the merge's is the check (docs/fleet.md).

use std::collections::BTreeMap;

use crate::experiments::ExactSum;

use super::{Aggregates, UserSample};

/// Why inputs cannot be merged.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MergeError {
    /// Nothing to merge.
    #[error("no aggregates to merge")]
    Empty,
    /// Inputs of different experiments, or of different definitions of one.
    #[error("input {index} ({instance}): {what} differs from the first input's; merge aggregates of one experiment under one config")]
    Mismatch {
        /// 0-based input.
        index: usize,
        /// Its instance.
        instance: String,
        /// What differs.
        what: &'static str,
    },
    /// An input names no instance, so a repeat could not be seen.
    #[error("input {0} has no instance_id: set the engine option instance_id on every process so that inputs can be told apart")]
    NoInstance(usize),
    /// The same instance twice.
    #[error("instance \"{0}\" appears twice: its counts would be added twice")]
    SameInstance(String),
    /// Declared partitions that do not partition the users.
    #[error("user partitions do not partition the users: {0}")]
    NotPartitioned(String),
    /// Users seen by more than one input.
    #[error(
        "inputs overlap: {shared} sampled user(s) were counted by more than one instance ({instances}); per-process \
         sums would count them twice. Route each user to one process, or analyse the events of all processes \
         together (the event reader counts each user once)"
    )]
    Overlap {
        /// Sampled hashes in more than one input.
        shared: usize,
        /// The instances involved.
        instances: String,
    },
}

/// Sums `inputs` into one [`Aggregates`] (no `instance_id`, `instances` listing the
/// inputs'), or refuses them when they overlap (module docs).
pub fn merge(inputs: &[Aggregates]) -> Result<Aggregates, MergeError> {
    let first = inputs.first().ok_or(MergeError::Empty)?;
    let mut seen: BTreeMap<&str, usize> = BTreeMap::new();
    for (i, input) in inputs.iter().enumerate() {
        let instance = input.instance_id.as_deref().ok_or(MergeError::NoInstance(i))?;
        if seen.insert(instance, i).is_some() {
            return Err(MergeError::SameInstance(instance.to_owned()));
        }
        let mismatch = |what| MergeError::Mismatch { index: i, instance: instance.to_owned(), what };
        if input.experiment != first.experiment {
            return Err(mismatch("the experiment"));
        }
        if input.spec != first.spec {
            return Err(mismatch("the experiment's definition (variants, weights, metrics or test settings)"));
        }
    }
    check_partitions(inputs)?;
    check_samples(inputs)?;

    let mut out = Aggregates::empty(first.spec.clone());
    let metrics = first.spec.metrics.len();
    let mut sums = vec![(ExactSum::default(), ExactSum::default()); first.spec.variants.len() * metrics];
    for input in inputs {
        for (v, (name, counts)) in out.variants.iter_mut().enumerate() {
            let Some(theirs) = input.variants.get(name) else { continue };
            counts.users += theirs.users;
            for (m, (metric, c)) in counts.metrics.iter_mut().enumerate() {
                let Some(t) = theirs.metrics.get(metric) else { continue };
                c.conversions += t.conversions;
                c.events += t.events;
                sums[v * metrics + m].0.add(t.sum);
                sums[v * metrics + m].1.add(t.sum_squares);
            }
        }
        out.instances.extend(input.instance_id.iter().cloned());
        out.from_ms = min_some(out.from_ms, input.from_ms, i64::min);
        out.to_ms = min_some(out.to_ms, input.to_ms, i64::max);
    }
    for (v, counts) in out.variants.values_mut().enumerate() {
        for (m, c) in counts.metrics.values_mut().enumerate() {
            c.sum = sums[v * metrics + m].0.value();
            c.sum_squares = sums[v * metrics + m].1.value();
        }
    }
    out.instances.sort();
    out.user_sample = UserSample::of(inputs.iter().flat_map(|i| i.user_sample.hashes().iter().copied()));
    Ok(out)
}

fn min_some(a: Option<i64>, b: Option<i64>, pick: fn(i64, i64) -> i64) -> Option<i64> {
    match (a, b) {
        (Some(a), Some(b)) => Some(pick(a, b)),
        (a, b) => a.or(b),
    }
}

fn check_partitions(inputs: &[Aggregates]) -> Result<(), MergeError> {
    let declared: Vec<_> = inputs.iter().filter_map(|i| i.user_partition).collect();
    if declared.is_empty() {
        return Ok(());
    }
    let name = |i: &Aggregates| i.instance_id.clone().unwrap_or_default();
    if declared.len() != inputs.len() {
        let missing: Vec<String> = inputs.iter().filter(|i| i.user_partition.is_none()).map(name).collect();
        return Err(MergeError::NotPartitioned(format!(
            "{} declare(s) no user_partition while others do",
            missing.join(", ")
        )));
    }
    let count = declared[0].count;
    if let Some(other) = declared.iter().find(|p| p.count != count) {
        return Err(MergeError::NotPartitioned(format!("partition counts {count} and {} differ", other.count)));
    }
    let mut owners: BTreeMap<u32, String> = BTreeMap::new();
    for input in inputs {
        let p = input.user_partition.expect("all declared");
        if let Some(before) = owners.insert(p.index, name(input)) {
            return Err(MergeError::NotPartitioned(format!(
                "partition {}/{count} is declared by both {before} and {}",
                p.index,
                name(input)
            )));
        }
    }
    Ok(())
}

fn check_samples(inputs: &[Aggregates]) -> Result<(), MergeError> {
    let mut owner: std::collections::HashMap<u64, usize> = std::collections::HashMap::new();
    let mut shared = 0;
    let mut involved = std::collections::BTreeSet::new();
    for (i, input) in inputs.iter().enumerate() {
        for &h in input.user_sample.hashes() {
            if let Some(&j) = owner.get(&h) {
                shared += 1;
                involved.insert(inputs[j].instance_id.clone().unwrap_or_default());
                involved.insert(input.instance_id.clone().unwrap_or_default());
            } else {
                owner.insert(h, i);
            }
        }
    }
    if shared > 0 {
        let instances = involved.into_iter().collect::<Vec<_>>().join(", ");
        return Err(MergeError::Overlap { shared, instances });
    }
    Ok(())
}
