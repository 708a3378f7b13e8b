package featureflags

import (
	"encoding/json"
	"errors"
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
	raw, err := e.ExperimentTimeSeries("btn")
	if err != nil {
		t.Fatal(err)
	}
	var series struct {
		Intervals []struct {
			Variants map[string]struct{ Exposures uint64 } `json:"variants"`
		} `json:"intervals"`
	}
	if err := json.Unmarshal(raw, &series); err != nil || len(series.Intervals) != 1 {
		t.Fatalf("%s %v", raw, err)
	}
	exposures := uint64(0)
	for _, v := range series.Intervals[0].Variants {
		exposures += v.Exposures
	}
	if exposures != 4 {
		t.Fatalf("%d exposures in %s", exposures, raw)
	}
	raw, err = e.FunnelReport("buy-then-pay")
	if err != nil {
		t.Fatal(err)
	}
	var funnel struct {
		Overall []struct{ Users uint64 } `json:"overall"`
	}
	if err := json.Unmarshal(raw, &funnel); err != nil || len(funnel.Overall) != 2 || funnel.Overall[1].Users != 4 {
		t.Fatalf("%s %v", raw, err)
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
