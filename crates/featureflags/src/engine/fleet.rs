//! An engine's side of fleet analysis (docs/fleet.md): its experiments' definitions as
//! the event reader needs them, and its per-process aggregates for a merge.

use crate::experiments::{Experiment, MetricKind, VariantAggregate};
use crate::fleet::{user_hash, Aggregates, ExperimentSpec, MetricSpec, UserSample, VariantSpec};
use crate::stats::MetricRole;

use super::{Engine, ExperimentError};

impl Engine {
    /// What an analysis of experiment `key` needs from the current config, or `None`
    /// when there is no such experiment.
    pub fn experiment_spec(&self, key: &str) -> Option<ExperimentSpec> {
        let snapshot = self.snapshot.load_full();
        snapshot.experiment(key).map(spec_of)
    }

    /// Experiment `key`'s counts in this engine (schema in docs/fleet.md): per variant
    /// and metric the users, conversions, sum and sum of squares of per-user totals, with
    /// the instance id, the time range (first exposure of this engine to now), the
    /// declared user partition and a hash sample of the users, for [`crate::fleet::merge`].
    pub fn experiment_aggregates(&self, key: &str) -> Result<Aggregates, ExperimentError> {
        let snapshot = self.snapshot.load_full();
        let exp = snapshot.experiment(key).ok_or_else(|| ExperimentError::NotFound(key.to_owned()))?;
        let tallies = self.tracker.aggregate(exp.sym());
        let mut agg = Aggregates::empty(spec_of(exp));
        let empty = VariantAggregate::default();
        for (v, counts) in exp.variants.iter().zip(agg.variants.values_mut()) {
            let tally = tallies.get(&v.sym()).unwrap_or(&empty);
            counts.users = tally.users;
            for (m, c) in exp.metrics.iter().zip(counts.metrics.values_mut()) {
                let t = tally.metrics.get(&m.sym()).copied().unwrap_or_default();
                c.conversions = t.users_with_events;
                c.events = t.events;
                if m.kind != MetricKind::Conversion {
                    c.sum = t.sum.value();
                    c.sum_squares = t.sum_squares.value();
                }
            }
        }
        agg.instance_id = self.options.instance_id.clone();
        agg.instances = agg.instance_id.iter().cloned().collect();
        agg.user_partition = self.options.user_partition;
        agg.from_ms = self.events.first_exposure_ms();
        agg.to_ms = Some(self.now_ms());
        agg.user_sample = UserSample::of(self.tracker.exposed_user_hashes(exp.sym(), user_hash));
        Ok(agg)
    }
}

fn spec_of(exp: &Experiment) -> ExperimentSpec {
    ExperimentSpec {
        experiment: exp.key.to_string(),
        control: exp.variants[exp.control as usize].key.to_string(),
        variants: exp.variants.iter().map(|v| VariantSpec { name: v.key.to_string(), weight: v.weight }).collect(),
        metrics: exp
            .metrics
            .iter()
            .enumerate()
            .map(|(i, m)| MetricSpec {
                name: m.name.to_string(),
                kind: m.kind,
                higher_is_better: m.higher_is_better,
                role: if i == exp.primary_metric as usize {
                    MetricRole::Primary
                } else if m.guardrail {
                    MetricRole::Guardrail
                } else {
                    MetricRole::Secondary
                },
            })
            .collect(),
        alpha: exp.alpha,
        power: exp.power,
        mde: exp.mde,
        sequential: exp.sequential,
        sequential_tuning: exp.sequential_tuning,
    }
}
