//! Statistics for A/B tests: pure functions over per-variant aggregates.
//!
//! This module implements the analysis described in docs/design.md §5 (`ff_analyze_json`):
//! per-variant summaries (rate or mean, standard deviation, 95% and 99% confidence
//! intervals), comparisons of every non-control variant with the control (absolute and
//! relative uplift with confidence intervals, two-sided p-value, Holm adjustment,
//! significance, Bayesian chance to beat control and expected loss, observed power),
//! a sample-ratio-mismatch check, the required sample size for a minimum detectable
//! effect, optional always-valid sequential inference, and a decision string.
//!
//! Everything is a pure function of an [`AnalysisInput`]; nothing here does I/O, keeps
//! state, panics on bad numbers, or emits `NaN`: quantities that are undefined for the
//! data at hand (a rate with zero users, a variance with one user, ...) are `None` and
//! serialize as JSON `null`.
//!
//! Formulas, references, the output schema and simulation results are documented in
//! `docs/stats.md`. In short:
//!
//! * conversion: Wilson score intervals; two-proportion z-test with pooled standard
//!   error; unpooled (Wald) interval for the difference; delta-method interval for the
//!   relative uplift; exact Beta–Beta chance to beat and expected loss (normalised
//!   beta-binomial partial sums walked from the mode; no large log-gamma differences),
//!   and a skewness-corrected normal approximation for arms too large to sum;
//! * revenue/count: Student-t interval of each mean; Welch t-test with
//!   Welch–Satterthwaite degrees of freedom; normal approximation for the chance to
//!   beat and the expected loss;
//! * sample ratio mismatch: Pearson chi-square against the configured weights,
//!   flagged at p < 0.001;
//! * Holm step-down adjustment when there is more than one comparison;
//! * ratio metrics by the delta method and CUPED regression adjustment (as gbstats);
//! * per-metric direction, guardrails and Benjamini–Hochberg across an experiment's metrics;
//! * sequential: the asymptotic confidence sequence of Waudby-Smith et al. (2023)
//!   (the normal-mixture boundary used by GrowthBook and Eppo) and its always-valid
//!   p-value.
//!
//! The files, one concept each:
//!
//! * `input`: the input types and the parsing and validation of the JSON input;
//! * `aggregate`: one variant's aggregates, their parsing and consistency checks;
//! * `report`: the output types ([`Analysis`] and its parts), which serialize as the report;
//! * `distributions`: the normal and Student-t functions everything else uses;
//! * `frequentist`: Wilson and t intervals, the Holm adjustment, the SRM chi-square test;
//! * `bayes`: chance to beat and expected loss;
//! * `sequential`: the always-valid confidence sequence and p-value;
//! * `planning`: sample size, power, MDE, test duration and lifetime value;
//! * `moments`: a second per-user quantity (a ratio's denominator, CUPED's covariate): the
//!   delta-method ratio arm and the regression adjustment;
//! * `allocation`: allocation periods and the SRM test over them;
//! * `comparison`: one variant against the control, assembled from the above;
//! * `experiment`: several metrics together: Benjamini–Hochberg q-values, guardrails, the
//!   experiment's decision, and the multi-metric `ff_analyze_json` input;
//! * this file: [`analyze`], which summarises each variant, runs the comparisons, adjusts
//!   their p-values, checks the sample ratio and decides.
//!
//! Tests of one file's internals sit in that file; tests of the whole analysis in `tests`;
//! long simulations quoted in docs/stats.md, ignored by default, in `simulations`.

mod aggregate;
mod allocation;
mod bayes;
mod comparison;
mod distributions;
mod experiment;
mod frequentist;
mod input;
mod moments;
mod planning;
mod report;
mod sequential;
#[cfg(test)]
mod simulations;
#[cfg(test)]
mod tests;

pub use aggregate::VariantAggregate;
pub use allocation::{Allocation, PeriodSrm, Stratified};
pub use bayes::{beta_chance_to_beat, beta_expected_loss, prob_beta_greater, MAX_EXACT_TERMS};
pub use experiment::{
    analyze_document, analyze_experiment, parse_experiment, ExperimentAnalysis, FdrFamily, MetricInput, MetricRole,
    Report,
};
pub use frequentist::{benjamini_hochberg, chi_square_srm, holm, wilson_interval, SRM_THRESHOLD};
pub use input::{AnalysisInput, MetricKind, DEFAULT_ALPHA, DEFAULT_POWER};
pub use moments::Moments;
pub use planning::{lifetime_value, minimum_detectable_effect, power, sample_size, test_duration_days};
pub use report::{Analysis, Comparison, Cuped, Interval, SequentialResult, VariantResult};
pub use sequential::{sequential_halfwidth, sequential_p_value, sequential_rho, DEFAULT_SEQUENTIAL_TUNING};

use comparison::compare;
use distributions::finite;
use frequentist::t_mean_interval;
use planning::required_sample;

/// Per-arm sufficient statistics on the per-user scale. (Defined here, at the root, because
/// the intervals, the comparison, the Bayesian approximation and the planning all read it.)
#[derive(Clone, Copy)]
struct Arm {
    n: f64,
    mean: Option<f64>,
    /// Per-user variance (p(1−p) for conversion, sample variance for revenue/count).
    var: Option<f64>,
}

fn arm_of(metric: MetricKind, v: &VariantAggregate) -> Arm {
    let n = v.users as f64;
    if v.users == 0 {
        return Arm { n, mean: None, var: None };
    }
    match (metric, &v.denominator) {
        (MetricKind::Conversion, _) => {
            let p = v.conversions as f64 / n;
            Arm { n, mean: Some(p), var: Some(p * (1.0 - p)) }
        }
        (MetricKind::Ratio, Some(d)) => moments::ratio_arm(v.users, v.sum, v.sum_squares, d),
        _ => {
            let mean = v.sum / n;
            let var = if v.users >= 2 {
                // Centered form, clamped at 0 against rounding.
                Some(((v.sum_squares - v.sum * mean) / (n - 1.0)).max(0.0))
            } else {
                None
            };
            Arm { n, mean: Some(mean), var }
        }
    }
}

/// Runs the full analysis. Never panics; invalid input yields an [`Analysis`] whose
/// `errors` lists the problems and whose decision is `continue`.
pub fn analyze(input: &AnalysisInput) -> Analysis {
    let mut out = Analysis {
        metric: input.metric,
        higher_is_better: input.higher_is_better,
        control: input.control.clone(),
        alpha: input.alpha,
        power: input.power,
        mde: input.mde,
        sequential: input.sequential,
        correction: "none",
        variants: Vec::new(),
        srm: false,
        srm_chi_square: None,
        srm_df: input.variants.len().saturating_sub(1) as u64,
        srm_p_value: None,
        srm_periods: Vec::new(),
        required_sample_size_per_variant: None,
        required_sample_reached: false,
        decision: "continue".to_string(),
        errors: Vec::new(),
        notes: Vec::new(),
    };
    if let Err(e) = input.validate() {
        out.errors = e;
        return out;
    }
    let metric = input.metric;
    let alpha = input.alpha;
    let ci_idx = input.variants.iter().position(|v| v.name == input.control).unwrap_or(0);
    let ctrl = &input.variants[ci_idx];
    let c = arm_of(metric, ctrl);

    // Required sample size per variant (planning; uses the control as baseline).
    let required = required_sample(input, &c);
    match required {
        Some(r) => out.required_sample_size_per_variant = Some(r.ceil() as u64),
        None if input.mde.is_some() => {
            out.notes.push("required_sample_size_per_variant: undefined for this control baseline and mde".to_string())
        }
        None => {}
    }
    out.required_sample_reached =
        out.required_sample_size_per_variant.is_some_and(|r| input.variants.iter().all(|v| v.users >= r));
    // N*: the input's; else, with an MDE, the planned total of a comparison (both arms at
    // the required sample), where the boundary is tightest when the plan says to stop;
    // else the fixed default. The planned total rests on the control's observed baseline,
    // so it moves a little between looks; docs/stats.md has the simulations showing the
    // false-positive rate stays below alpha.
    let (tuning_n, tuning_source) = match (input.sequential_tuning, out.required_sample_size_per_variant) {
        (Some(n), _) => (n, "input"),
        (None, Some(r)) if r > 0 => (2.0 * r as f64, "planned"),
        _ => (DEFAULT_SEQUENTIAL_TUNING, "default"),
    };
    let rho = sequential_rho(alpha, tuning_n);
    if input.variants.len() == 1 {
        out.notes
            .push(format!("variants: only the control '{}' is present; no comparisons are computed", input.control));
    }

    // Per-variant summaries and comparisons.
    for (i, v) in input.variants.iter().enumerate() {
        let a = arm_of(metric, v);
        let (ci95, ci99) = match metric {
            MetricKind::Conversion => {
                (wilson_interval(v.conversions, v.users, 0.95), wilson_interval(v.conversions, v.users, 0.99))
            }
            _ => (t_mean_interval(&a, 0.95), t_mean_interval(&a, 0.99)),
        };
        if v.users == 0 {
            out.notes.push(format!("variants.{}: no users; rate, sd and intervals are null", v.name));
        } else if metric != MetricKind::Conversion && v.users < 2 {
            out.notes.push(format!("variants.{}: fewer than 2 users; sd and intervals are null", v.name));
        }
        let stratify = input.allocations.iter().all(|p| p.variants.is_some()) && !input.allocations.is_empty();
        let vs_control = if i == ci_idx {
            None
        } else {
            let mut cmp = compare(input, ctrl, v, &c, &a, (rho, tuning_n, tuning_source));
            if stratify {
                cmp.stratified = Some(allocation::stratified(metric, &input.allocations, ci_idx, i, alpha));
            }
            Some(cmp)
        };
        out.variants.push(VariantResult {
            name: v.name.clone(),
            is_control: i == ci_idx,
            weight: v.weight,
            users: v.users,
            conversions: (metric == MetricKind::Conversion).then_some(v.conversions),
            sum: (metric != MetricKind::Conversion).then_some(v.sum),
            rate: if metric == MetricKind::Conversion { a.mean } else { None },
            mean: if metric == MetricKind::Conversion { None } else { a.mean },
            sd: a.var.and_then(|x| finite(x.sqrt())),
            ci95,
            ci99,
            vs_control,
        });
    }

    // Holm adjustment over the comparisons that have a p-value.
    let m = out.variants.iter().filter(|r| r.vs_control.is_some()).count();
    if m > 1 {
        out.correction = "holm";
    }
    // With per-period sums, the stratified p-value is the one tested (the pooled one is
    // biased when the metric drifts between periods of different weights).
    adjust(&mut out.variants, tested_p_value, |cmp, p| cmp.p_adjusted = Some(p));
    if input.sequential {
        adjust(
            &mut out.variants,
            |cmp| cmp.sequential.as_ref().and_then(|s| s.p_value),
            |cmp, p| {
                if let Some(s) = cmp.sequential.as_mut() {
                    s.p_adjusted = Some(p);
                }
            },
        );
    }
    for r in out.variants.iter_mut() {
        if let Some(cmp) = r.vs_control.as_mut() {
            let p = if input.sequential { cmp.sequential.as_ref().and_then(|s| s.p_adjusted) } else { cmp.p_adjusted };
            cmp.significant = p.is_some_and(|p| p < alpha);
        }
    }

    // Sample ratio mismatch.
    let users: Vec<u64> = input.variants.iter().map(|v| v.users).collect();
    let weights: Vec<f64> = input.variants.iter().map(|v| v.weight).collect();
    let srm = if input.allocations.is_empty() {
        chi_square_srm(&users, &weights)
    } else {
        allocation::srm_over_periods(&input.allocations).map(|(total, periods)| {
            out.srm_periods = periods;
            total
        })
    };
    if let Some((stat, df, p)) = srm {
        out.srm_chi_square = finite(stat);
        out.srm_df = df;
        out.srm_p_value = finite(p);
        out.srm = p < SRM_THRESHOLD;
    }

    out.decision = decide(&out);
    out
}

fn tested_p_value(cmp: &Comparison) -> Option<f64> {
    match &cmp.stratified {
        Some(s) => s.p_value,
        None => cmp.p_value,
    }
}

/// The uplift the decision weighs: the stratified one when there is one.
fn decided_uplift(cmp: &Comparison) -> Option<f64> {
    match &cmp.stratified {
        Some(s) => s.absolute_uplift,
        None => cmp.absolute_uplift,
    }
}

fn adjust(
    variants: &mut [VariantResult],
    get: impl Fn(&Comparison) -> Option<f64>,
    mut set: impl FnMut(&mut Comparison, f64),
) {
    let idx: Vec<usize> =
        variants.iter().enumerate().filter_map(|(i, r)| r.vs_control.as_ref().and_then(&get).map(|_| i)).collect();
    let ps: Vec<f64> = idx.iter().filter_map(|&i| variants[i].vs_control.as_ref().and_then(&get)).collect();
    let adj = holm(&ps);
    for (k, &i) in idx.iter().enumerate() {
        if let Some(cmp) = variants[i].vs_control.as_mut() {
            set(cmp, adj[k]);
        }
    }
}

fn decide(a: &Analysis) -> String {
    if a.srm {
        return "stop: sample ratio mismatch".to_string();
    }
    // Uplifts in the metric's direction: positive is an improvement.
    let sign = if a.higher_is_better { 1.0 } else { -1.0 };
    let cmps: Vec<(&str, &Comparison, f64)> = a
        .variants
        .iter()
        .filter_map(|r| r.vs_control.as_ref().map(|c| (r.name.as_str(), c, sign * decided_uplift(c).unwrap_or(0.0))))
        .collect();
    let winner = cmps.iter().filter(|(_, c, gain)| c.significant && *gain > 0.0).max_by(|x, y| x.2.total_cmp(&y.2));
    if let Some((name, _, _)) = winner {
        return format!("ship {name}");
    }
    if cmps.is_empty() {
        // Only the control: nothing to decide yet.
        return "continue".to_string();
    }
    if cmps.iter().all(|(_, c, gain)| c.significant && *gain < 0.0) {
        return format!("ship {}", a.control);
    }
    if a.required_sample_reached && cmps.iter().all(|(_, c, _)| !c.significant) {
        return "stop: no effect".to_string();
    }
    "continue".to_string()
}
