package featureflags

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"testing"
)

func TestPlanningCalculators(t *testing.T) {
	n, err := SampleSize(0.1, 0.1, 0.05, 0.8)
	if err != nil {
		t.Fatal(err)
	}
	if m, err := MDE(0.1, 0.05, 0.8, n); err != nil || math.Abs(m-0.1) > 0.01 {
		t.Fatalf("MDE at the sample size for 10%%: %v %v", m, err)
	}
	if d, err := TestDurationDays(1000, 2, 100, 1); err != nil || d != 20 {
		t.Fatalf("duration %v %v", d, err)
	}
	if v, err := LifetimeValue(10, 0.5, 0, 0); err != nil || math.Abs(v-20) > 1e-9 {
		t.Fatalf("lifetime value %v %v", v, err)
	}
	for name, call := range map[string]func() (float64, error){
		"MDE":              func() (float64, error) { return MDE(-1, 0.05, 0.8, 100) },
		"TestDurationDays": func() (float64, error) { return TestDurationDays(1000, 0, 100, 1) },
		"LifetimeValue":    func() (float64, error) { return LifetimeValue(10, 1.5, 0, 0) },
	} {
		if _, err := call(); !errors.Is(err, ErrInvalidArgument) {
			t.Errorf("%s with a bad argument: %v", name, err)
		}
	}
}

func TestTimeSeriesFunnelAndEventControls(t *testing.T) {
	e, err := New(Options{EventCapacity: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	config := `{"schema_version": 1, "flags": {"on": {"type": "boolean"}},
	 "experiments": {"btn": {"status": "running", "variants": {"control": 50, "blue": 50},
	                 "metrics": {"buy": "conversion", "pay": "revenue"}}},
	 "funnels": {"buy-then-pay": {"steps": ["buy", "pay"], "experiment": "btn"}}}`
	if err := e.LoadJSON([]byte(config)); err != nil {
		t.Fatal(err)
	}
	e.SetTimeMillis(1795000000000)
	for _, user := range []string{"a", "b", "c", "d"} {
		e.Assign("btn", newContext(t, user))
		e.Track(user, "buy", 1)
		e.Track(user, "pay", 2.5)
	}
	series, err := e.ExperimentTimeSeries("btn")
	if err != nil {
		t.Fatal(err)
	}
	strict(t, series.Raw, &TimeSeries{})
	if len(series.Intervals) != 1 || series.Experiment != "btn" || series.Metric != "buy" || series.IntervalMs != 3600000 {
		t.Fatalf("%s", series.Raw)
	}
	exposures := uint64(0)
	for _, v := range series.Intervals[0].Variants {
		exposures += v.Exposures
		if v.Events["buy"] != v.Exposures || v.FirstEvents["pay"] != v.Exposures || v.Sums["pay"] != 2.5*float64(v.Exposures) {
			t.Fatalf("%+v in %s", v, series.Raw)
		}
	}
	if exposures != 4 || series.Intervals[0].Cumulative["control"].RelativeUplift != nil {
		t.Fatalf("%d exposures in %s", exposures, series.Raw)
	}
	funnel, err := e.FunnelReport("buy-then-pay")
	if err != nil {
		t.Fatal(err)
	}
	strict(t, funnel.Raw, &FunnelReport{})
	if len(funnel.Overall) != 2 || funnel.Overall[1].Users != 4 || *funnel.Overall[1].ConversionFromStart != 1 ||
		funnel.Overall[0].MedianMsFromPrevious != nil || *funnel.Experiment != "btn" || len(funnel.Variants) == 0 {
		t.Fatalf("%s", funnel.Raw)
	}
	if _, err := e.FunnelReport("nope"); !errors.Is(err, ErrNotFound) {
		t.Fatal(err)
	}
	if _, err := e.ExperimentTimeSeries("nope"); !errors.Is(err, ErrNotFound) {
		t.Fatal(err)
	}
	// A queue of one event: loading and four exposures dropped all but one.
	if n := e.DroppedEvents(); n == 0 {
		t.Fatalf("%d dropped", n)
	}
	e.DrainEvents(0)
	before := e.DroppedEvents()
	if err := e.SetEvaluationEvents(true); err != nil {
		t.Fatal(err)
	}
	ctx := newContext(t, "a")
	e.IsEnabled("on", ctx, false)
	events, _ := e.DrainEvents(0)
	if len(events) != 1 || events[0].Type != "evaluation" {
		t.Fatalf("%+v", events)
	}
	if err := e.SetEvaluationEvents(false); err != nil {
		t.Fatal(err)
	}
	e.IsEnabled("on", ctx, false)
	if events, _ := e.DrainEvents(0); len(events) != 0 || e.DroppedEvents() != before {
		t.Fatalf("%+v", events)
	}
	e.Close()
	if e.DroppedEvents() != 0 || !errors.Is(e.SetEvaluationEvents(true), ErrClosed) {
		t.Fatal("a closed engine")
	}
}

// strict decodes a report again refusing unknown fields: the typed structs have every
// field the engine writes.
func strict(t *testing.T, raw json.RawMessage, into any) {
	t.Helper()
	d := json.NewDecoder(bytes.NewReader(raw))
	d.DisallowUnknownFields()
	if err := d.Decode(into); err != nil {
		t.Fatalf("%v in %s", err, raw)
	}
}

func TestBreakdownsAndLifetimeValueAreTyped(t *testing.T) {
	e := newEngine(t)
	config := `{"schema_version": 1, "flags": {},
	 "experiments": {"btn": {"status": "running", "variants": {"control": 50, "blue": 50},
	                 "metrics": {"pay": "revenue"}, "breakdowns": ["country"], "retention_rate": 0.5}}}`
	if err := e.LoadJSON([]byte(config)); err != nil {
		t.Fatal(err)
	}
	for i, country := range []string{"US", "US", "CA", "GB"} {
		user := fmt.Sprint("u", i)
		e.Assign("btn", newContext(t, user, "country", country))
		e.Track(user, "pay", 10)
	}
	r, err := e.ExperimentResults("btn")
	if err != nil {
		t.Fatal(err)
	}
	us := r.Breakdowns["country"]["US"]
	if us.Users != 2 || len(us.Metrics["pay"].Variants) != 2 {
		t.Fatalf("%s", r.Raw)
	}
	lv := r.LifetimeValue
	if lv == nil || lv.RetentionRate != 0.5 || lv.Periods != nil || len(lv.PerMetric["pay"]) != 2 {
		t.Fatalf("%s", r.Raw)
	}
	for v, value := range lv.PerMetric["pay"] {
		if want, _ := LifetimeValue(10, 0.5, 0, 0); value != want {
			t.Errorf("%s: %v, want %v", v, value, want)
		}
	}
}

func TestExperimentAggregatesAndTrackEvents(t *testing.T) {
	e, err := New(Options{TrackEvents: true, InstanceID: "go-1"})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	config := `{"schema_version": 1, "experiments": {"btn": {"status": "running",
	 "variants": {"control": 1, "blue": 0}, "metrics": {"pay": "revenue"}}}}`
	if err := e.LoadJSON([]byte(config)); err != nil {
		t.Fatal(err)
	}
	e.Assign("btn", newContext(t, "a"))
	if err := e.Track("a", "pay", 2.5); err != nil {
		t.Fatal(err)
	}
	raw, err := e.ExperimentAggregates("btn")
	if err != nil {
		t.Fatal(err)
	}
	var agg struct {
		InstanceID string `json:"instance_id"`
		Variants   map[string]struct {
			Users   int `json:"users"`
			Metrics map[string]struct {
				Sum        float64 `json:"sum"`
				SumSquares float64 `json:"sum_squares"`
			} `json:"metrics"`
		} `json:"variants"`
	}
	if err := json.Unmarshal(raw, &agg); err != nil {
		t.Fatal(err)
	}
	pay := agg.Variants["control"].Metrics["pay"]
	if agg.InstanceID != "go-1" || agg.Variants["control"].Users != 1 || pay.Sum != 2.5 || pay.SumSquares != 6.25 {
		t.Fatalf("aggregates: %s", raw)
	}
	if _, err := e.ExperimentAggregates("nope"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("unknown experiment: %v", err)
	}
	events, err := e.DrainEvents(0)
	if err != nil {
		t.Fatal(err)
	}
	last := events[len(events)-1]
	if last.Type != "track" || !bytes.Contains(last.Raw, []byte(`"instance_id":"go-1"`)) {
		t.Fatalf("last event: %s", last.Raw)
	}
}
