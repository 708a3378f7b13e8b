package featureflags

import (
	"encoding/json"
	"runtime"
)

// Assign enrolls ctx's user in experiment key; enrolled is false when the experiment
// is not running, the user is not eligible or outside its traffic (serve your default).
func (e *Engine) Assign(key string, ctx *Context) (variant string, enrolled bool) {
	ptr := e.ptr()
	if ptr == nil {
		return "", false
	}
	id, enrolled := cAssign(ptr, cptr(ctx), key)
	runtime.KeepAlive(ctx)
	variant, _ = e.names.get(ptr, id)
	runtime.KeepAlive(e)
	return variant, enrolled
}

// Track records value of metric for userID, attributed to every experiment the user is
// exposed to that lists the metric.
func (e *Engine) Track(userID, metric string, value float64) error {
	ptr, err := e.handle()
	if err != nil {
		return err
	}
	err = check(cTrack(ptr, userID, metric, value))
	runtime.KeepAlive(e)
	return err
}

// Interval is a two-sided interval [Lower, Upper].
type Interval struct {
	// Lower is the lower bound.
	Lower float64 `json:"lower"`
	// Upper is the upper bound.
	Upper float64 `json:"upper"`
}

// Comparison compares a variant with the control for one metric (docs/stats.md).
// Pointer fields are nil when the statistic is undefined (JSON null).
type Comparison struct {
	// Test names the test used, e.g. "two_proportion_z" or "welch_t".
	Test string `json:"test"`
	// AbsoluteUplift is variant minus control.
	AbsoluteUplift *float64 `json:"absolute_uplift"`
	// AbsoluteCI is the confidence interval of AbsoluteUplift at 1 - alpha.
	AbsoluteCI *Interval `json:"absolute_ci"`
	// RelativeUplift is AbsoluteUplift over the control's value.
	RelativeUplift *float64 `json:"relative_uplift"`
	// RelativeCI is the confidence interval of RelativeUplift.
	RelativeCI *Interval `json:"relative_ci"`
	// PValue is the test's two-sided p-value.
	PValue *float64 `json:"p_value"`
	// PAdjusted is PValue after the Holm correction for multiple comparisons.
	PAdjusted *float64 `json:"p_adjusted"`
	// Significant is PAdjusted < alpha.
	Significant bool `json:"significant"`
	// ChanceToBeat is the Bayesian probability that the variant beats the control.
	ChanceToBeat *float64 `json:"chance_to_beat"`
	// ExpectedLoss is the Bayesian expected loss of choosing the variant.
	ExpectedLoss *float64 `json:"expected_loss"`
	// PowerReached is the power reached for the observed effect.
	PowerReached *float64 `json:"power_reached"`
}

// VariantResult summarises one variant for one metric. Pointer fields are nil when
// they do not apply to the metric's kind or are undefined.
type VariantResult struct {
	// Name is the variant's key.
	Name string `json:"name"`
	// IsControl is true for the control.
	IsControl bool `json:"is_control"`
	// Users is the number of exposed users.
	Users uint64 `json:"users"`
	// Conversions counts converted users (conversion metrics).
	Conversions *uint64 `json:"conversions"`
	// Sum is the metric's total (revenue and numeric metrics).
	Sum *float64 `json:"sum"`
	// Rate is Conversions / Users (conversion metrics).
	Rate *float64 `json:"rate"`
	// Mean is the mean per user.
	Mean *float64 `json:"mean"`
	// SD is the standard deviation per user.
	SD *float64 `json:"sd"`
	// CI95 is the 95% confidence interval of the rate or mean.
	CI95 *Interval `json:"ci95"`
	// CI99 is the 99% confidence interval of the rate or mean.
	CI99 *Interval `json:"ci99"`
	// VsControl compares the variant with the control (nil for the control).
	VsControl *Comparison `json:"vs_control"`
}

// Analysis is the analysis of one metric (the output of ff_analyze_json, and each
// metric of Results).
type Analysis struct {
	// Metric is the metric's name.
	Metric string `json:"metric"`
	// Control is the control variant's key.
	Control string `json:"control"`
	// Alpha is the significance level.
	Alpha float64 `json:"alpha"`
	// Variants lists every variant, control included.
	Variants []VariantResult `json:"variants"`
	// SRM is true on a sample ratio mismatch (the split is not what was configured).
	SRM bool `json:"srm"`
	// SRMPValue is the p-value of the sample ratio mismatch test.
	SRMPValue *float64 `json:"srm_p_value"`
	// RequiredSampleSizePerVariant is the users per variant needed for the configured
	// minimum detectable effect, when known.
	RequiredSampleSizePerVariant *uint64 `json:"required_sample_size_per_variant"`
	// Decision is "continue", "ship <variant>", "stop: no effect" or
	// "stop: sample ratio mismatch".
	Decision string `json:"decision"`
}

// Results are an experiment's results (ff_experiment_results_json; docs/experiments.md).
type Results struct {
	// Experiment is the experiment's key.
	Experiment string `json:"experiment"`
	// Status is "draft", "running", "paused" or "completed".
	Status string `json:"status"`
	// Winner is the declared winner, nil when none.
	Winner *string `json:"winner"`
	// Control is the control variant's key.
	Control string `json:"control"`
	// PrimaryMetric is the metric Decision is based on.
	PrimaryMetric string `json:"primary_metric"`
	// Exposures is the number of exposed users.
	Exposures uint64 `json:"exposures"`
	// SRM is true on a sample ratio mismatch.
	SRM bool `json:"srm"`
	// Decision is the primary metric's decision (see Analysis.Decision).
	Decision string `json:"decision"`
	// Metrics is the analysis of each metric, by name.
	Metrics map[string]Analysis `json:"metrics"`
	// Breakdowns is, for each breakdown attribute of the experiment, the analysis of
	// each of its segments by value (docs/analytics.md).
	Breakdowns map[string]map[string]Segment `json:"breakdowns"`
	// LifetimeValue is the projected lifetime value per revenue metric and variant,
	// nil unless the experiment has a retention_rate.
	LifetimeValue *LifetimeValues `json:"lifetime_value"`
	// Raw is the whole document.
	Raw json.RawMessage `json:"-"`
}

// ExperimentResults returns experiment key's results.
func (e *Engine) ExperimentResults(key string) (*Results, error) {
	raw, err := e.keyJSON(key, jsonResults)
	if err != nil {
		return nil, err
	}
	var r Results
	if err := json.Unmarshal(raw, &r); err != nil {
		return nil, err
	}
	r.Raw = raw
	return &r, nil
}

// DeclareWinner serves variant of experiment key to everyone from now on.
func (e *Engine) DeclareWinner(key, variant string) error {
	ptr, err := e.handle()
	if err != nil {
		return err
	}
	err = check(cDeclareWinner(ptr, key, variant))
	runtime.KeepAlive(e)
	return err
}

// Analyze runs the analysis on aggregates computed elsewhere (docs/design.md §5 input JSON).
func Analyze(input []byte) (*Analysis, error) {
	if err := loaded(); err != nil {
		return nil, err
	}
	status, out, cerr := cAnalyze(input)
	if err := check(status, cerr); err != nil {
		return nil, err
	}
	var a Analysis
	if err := json.Unmarshal(takeBytes(out), &a); err != nil {
		return nil, err
	}
	return &a, nil
}

// SampleSize is the users per variant needed to detect a relative change mde of a
// conversion rate baseline at alpha with the given power.
func SampleSize(baseline, mde, alpha, power float64) (float64, error) {
	if err := loaded(); err != nil {
		return 0, err
	}
	status, out, cerr := cPlan(planSampleSize, baseline, mde, alpha, power)
	return out, check(status, cerr)
}

// Power is the power reached with n users per variant.
func Power(baseline, mde, alpha, n float64) (float64, error) {
	if err := loaded(); err != nil {
		return 0, err
	}
	status, out, cerr := cPlan(planPower, baseline, mde, alpha, n)
	return out, check(status, cerr)
}

// MDE is the smallest relative change of a conversion rate baseline that a two-sided
// test at alpha detects with the given power when each variant has n users.
func MDE(baseline, alpha, power, n float64) (float64, error) {
	if err := loaded(); err != nil {
		return 0, err
	}
	status, out, cerr := cPlan(planMDE, baseline, alpha, power, n)
	return out, check(status, cerr)
}

// TestDurationDays is the days needed to enroll requiredPerVariant users in each of
// variants variants with dailyUsers eligible users a day, of whom trafficFraction (0–1]
// enter the experiment (rounded up).
func TestDurationDays(requiredPerVariant float64, variants uint32, dailyUsers, trafficFraction float64) (float64, error) {
	if err := loaded(); err != nil {
		return 0, err
	}
	status, out, cerr := cTestDurationDays(requiredPerVariant, variants, dailyUsers, trafficFraction)
	return out, check(status, cerr)
}

// LifetimeValue is a customer's lifetime value margin × Σ_{t<periods} rᵗ/(1+d)ᵗ with
// retention r per period and discount rate d; periods = 0 is the infinite horizon.
func LifetimeValue(margin, retention, discount float64, periods uint32) (float64, error) {
	if err := loaded(); err != nil {
		return 0, err
	}
	status, out, cerr := cLifetimeValue(margin, retention, discount, periods)
	return out, check(status, cerr)
}

// ExperimentTimeSeries returns experiment key's time series (docs/analytics.md): the
// retained intervals' counters per variant, cumulative results and anomalies.
func (e *Engine) ExperimentTimeSeries(key string) (*TimeSeries, error) {
	raw, err := e.keyJSON(key, jsonTimeSeries)
	if err != nil {
		return nil, err
	}
	ts := &TimeSeries{Raw: raw}
	return ts, json.Unmarshal(raw, ts)
}

// ExperimentAggregates returns experiment key's counts in this engine as JSON
// (docs/fleet.md): per variant and metric users, conversions, sum and sum of squares, with
// the engine's instance id, user partition, time range and a hash sample of its users —
// the per-process input of a fleet merge.
func (e *Engine) ExperimentAggregates(key string) (json.RawMessage, error) {
	return e.keyJSON(key, jsonAggregates)
}

// FunnelReport returns funnel key's report (docs/analytics.md): users per step, per
// variant of its linked experiment, with conversion and median step times.
func (e *Engine) FunnelReport(key string) (*FunnelReport, error) {
	raw, err := e.keyJSON(key, jsonFunnel)
	if err != nil {
		return nil, err
	}
	f := &FunnelReport{Raw: raw}
	return f, json.Unmarshal(raw, f)
}
