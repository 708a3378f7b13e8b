package featureflags

import "encoding/json"

// The reports of docs/analytics.md. Pointer fields are nil where the document has null
// (a statistic with no data, a conversion whose denominator is 0).

// Segment is one value of a breakdown attribute: its users and each metric's analysis
// restricted to them.
type Segment struct {
	// Users is the number of exposed users in the segment.
	Users uint64 `json:"users"`
	// Metrics is the analysis of each metric, by name.
	Metrics map[string]Analysis `json:"metrics"`
}

// LifetimeValues is the projected lifetime value of an experiment's variants:
// LifetimeValue(mean revenue per user, RetentionRate, DiscountRate, Periods).
type LifetimeValues struct {
	// RetentionRate is the experiment's retention_rate.
	RetentionRate float64 `json:"retention_rate"`
	// DiscountRate is the experiment's discount_rate.
	DiscountRate float64 `json:"discount_rate"`
	// Periods is the horizon, nil for the infinite one.
	Periods *uint32 `json:"periods"`
	// PerMetric is the value per revenue metric, then per variant.
	PerMetric map[string]map[string]float64 `json:"per_metric"`
}

// TimeSeries is an experiment's time series (Engine.ExperimentTimeSeries).
type TimeSeries struct {
	// Experiment is the experiment's key.
	Experiment string `json:"experiment"`
	// Metric is the primary metric, which Cumulative and the rate anomalies are about.
	Metric string `json:"metric"`
	// IntervalMs is the length of an interval.
	IntervalMs int64 `json:"interval_ms"`
	// Intervals are the retained intervals that saw traffic, oldest first.
	Intervals []TimeSeriesInterval `json:"intervals"`
	// Anomalies are the last 100 anomalies detected.
	Anomalies []Anomaly `json:"anomalies"`
	// Raw is the whole document.
	Raw json.RawMessage `json:"-"`
}

// TimeSeriesInterval is one interval of a time series.
type TimeSeriesInterval struct {
	// StartMs is the interval's start, unix milliseconds.
	StartMs int64 `json:"start_ms"`
	// Variants are the interval's counters per variant.
	Variants map[string]IntervalCounts `json:"variants"`
	// Cumulative compares each variant with the control over the retained intervals up
	// to and including this one.
	Cumulative map[string]CumulativeResult `json:"cumulative"`
}

// IntervalCounts are one variant's counters in one interval.
type IntervalCounts struct {
	// Exposures is the number of users exposed in the interval.
	Exposures uint64 `json:"exposures"`
	// Events is the number of events per metric.
	Events map[string]uint64 `json:"events"`
	// FirstEvents is the number of users' first events per metric.
	FirstEvents map[string]uint64 `json:"first_events"`
	// Sums is the sum of the events' values per metric.
	Sums map[string]float64 `json:"sums"`
}

// CumulativeResult is a variant's primary-metric conversion up to an interval.
type CumulativeResult struct {
	// Users is the number of exposed users.
	Users uint64 `json:"users"`
	// Conversions is the number of users with a first event.
	Conversions uint64 `json:"conversions"`
	// Rate is Conversions / Users.
	Rate *float64 `json:"rate"`
	// RelativeUplift is the rate's relative change over the control's (nil for the
	// control).
	RelativeUplift *float64 `json:"relative_uplift"`
	// RelativeCI is RelativeUplift's confidence interval.
	RelativeCI *Interval `json:"relative_ci"`
	// PValue is the two-sided p-value of the difference with the control.
	PValue *float64 `json:"p_value"`
}

// Anomaly is an interval whose exposures or conversion rate left a variant's baseline
// (also delivered as an "anomaly" event).
type Anomaly struct {
	// IntervalStartMs is the anomalous interval's start, unix milliseconds.
	IntervalStartMs int64 `json:"interval_start_ms"`
	// Variant is the variant's key.
	Variant string `json:"variant"`
	// Series is "exposures" or "conversion_rate".
	Series string `json:"series"`
	// Value is the interval's value.
	Value float64 `json:"value"`
	// Baseline is the median of the previous intervals.
	Baseline float64 `json:"baseline"`
	// Threshold is the distance from Baseline beyond which a value is anomalous.
	Threshold float64 `json:"threshold"`
}

// FunnelReport is a funnel's report (Engine.FunnelReport).
type FunnelReport struct {
	// Funnel is the funnel's key.
	Funnel string `json:"funnel"`
	// Steps are the funnel's event names, in order.
	Steps []string `json:"steps"`
	// WindowMs is the time allowed from a user's first step.
	WindowMs int64 `json:"window_ms"`
	// Experiment is the linked experiment, nil when none.
	Experiment *string `json:"experiment"`
	// Overall is each step for all users.
	Overall []FunnelStep `json:"overall"`
	// Variants is each step per variant of the linked experiment (and "(not exposed)").
	Variants map[string]FunnelVariant `json:"variants"`
	// Raw is the whole document.
	Raw json.RawMessage `json:"-"`
}

// FunnelStep is one step of a funnel report.
type FunnelStep struct {
	// Step is the step's event name.
	Step string `json:"step"`
	// Users is the number of users who reached it.
	Users uint64 `json:"users"`
	// ConversionFromPrevious is Users over the previous step's.
	ConversionFromPrevious *float64 `json:"conversion_from_previous"`
	// ConversionFromStart is Users over the first step's.
	ConversionFromStart *float64 `json:"conversion_from_start"`
	// DropOff is the number of users of the previous step who did not reach this one.
	DropOff uint64 `json:"drop_off"`
	// MedianMsFromPrevious is the median time from the previous step (nil for the first
	// step or when no user reached it).
	MedianMsFromPrevious *float64 `json:"median_ms_from_previous"`
}

// FunnelVariant is a funnel report for one variant of the linked experiment.
type FunnelVariant struct {
	// Steps is each step for the variant's users.
	Steps []FunnelStep `json:"steps"`
	// FinalStepVsFirstVariant compares the share of entrants reaching the last step with
	// the first variant's (nil for the first variant and "(not exposed)").
	FinalStepVsFirstVariant *FunnelComparison `json:"final_step_vs_first_variant"`
}

// FunnelComparison is a two-proportion z-test at alpha 0.05 (docs/stats.md).
type FunnelComparison struct {
	// AbsoluteUplift is the difference of the shares.
	AbsoluteUplift *float64 `json:"absolute_uplift"`
	// PValue is the two-sided p-value.
	PValue *float64 `json:"p_value"`
	// Significant is PValue < 0.05.
	Significant bool `json:"significant"`
}
