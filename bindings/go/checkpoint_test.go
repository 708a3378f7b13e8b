package featureflags

import (
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"reflect"
	"testing"
	"time"
)

func openDurable(t *testing.T, path string) *Engine {
	t.Helper()
	e, err := New(Options{StatePath: path})
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// observe is everything a host can read about the engine's state, as JSON values.
func observe(t *testing.T, e *Engine) map[string]any {
	t.Helper()
	results, err := e.ExperimentResults("btn")
	if err != nil {
		t.Fatal(err)
	}
	status, err := e.RolloutStatus("router")
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]any{"results": json.RawMessage(results.Raw), "rollout": status}
	for _, flag := range []string{"router", "geo", "layout"} {
		h, err := e.History(flag)
		if err != nil {
			t.Fatal(err)
		}
		out["history/"+flag] = h
	}
	for i := 0; i < 100; i++ {
		ctx := newContext(t, fmt.Sprintf("u%d", i), "country", []string{"US", "DE"}[i%2])
		for _, flag := range []string{"on", "geo", "half", "layout", "router"} {
			d := e.Evaluate(flag, ctx)
			out[fmt.Sprintf("%s/%d", flag, i)] = fmt.Sprintf("%s %v %s %s", d.Variant, d.Reason, d.RuleID, d.Value)
		}
	}
	// Through JSON, so pointers and raw documents compare by value.
	raw, err := json.Marshal(out)
	if err != nil {
		t.Fatal(err)
	}
	var value map[string]any
	if err := json.Unmarshal(raw, &value); err != nil {
		t.Fatal(err)
	}
	return value
}

func traffic(t *testing.T, e *Engine, first, n int) {
	for i := first; i < first+n; i++ {
		user := fmt.Sprintf("u%d", i)
		if _, ok := e.Assign("btn", newContext(t, user)); !ok {
			t.Fatal("not enrolled")
		}
		if i%4 == 0 {
			if err := e.Track(user, "spend", 0.5*float64(i)); err != nil {
				t.Fatal(err)
			}
			if err := e.Track(user, "buy", 1); err != nil {
				t.Fatal(err)
			}
		}
	}
}

func compareObserved(t *testing.T, before, after map[string]any) {
	t.Helper()
	for key, want := range before {
		if got := after[key]; !reflect.DeepEqual(got, want) {
			t.Errorf("%s differs after the restart:\n before %v\n after  %v", key, want, got)
		}
	}
}

func TestARestartedEngineServesAndReportsWhatWasCommitted(t *testing.T) {
	path := filepath.Join(t.TempDir(), "flags.db")
	e := openDurable(t, path)
	if err := e.LoadJSON([]byte(testConfig)); err != nil {
		t.Fatal(err)
	}
	e.SetTimeMillis(1795000000000 + 31*60000)
	traffic(t, e, 0, 1000)
	if err := e.SetOverride("geo", "on"); err != nil {
		t.Fatal(err)
	}
	if err := e.DeclareWinner("btn", "blue"); err != nil {
		t.Fatal(err)
	}
	if err := e.ReportHealth("router", 0.5, 10, 100); err != nil {
		t.Fatal(err)
	}
	if err := e.Checkpoint(); err != nil {
		t.Fatal(err)
	}
	before := observe(t, e)
	if s, _ := e.RolloutStatus("router"); s.State != RolloutRolledBack {
		t.Fatalf("the rollout was not rolled back: %+v", s)
	}
	e.Close()

	// No load: the stored config serves, with its overrides, winner and rollback.
	e = openDurable(t, path)
	defer e.Close()
	e.SetTimeMillis(1795000000000 + 31*60000)
	compareObserved(t, before, observe(t, e))
	if second, err := New(Options{StatePath: path}); err == nil || !errors.Is(err, ErrIO) {
		second.Close()
		t.Fatalf("a second engine on the same file: %v", err)
	}
}

func TestTheCheckpointerWritesOnCloseAndStopsOnce(t *testing.T) {
	path := filepath.Join(t.TempDir(), "flags.db")
	e := openDurable(t, path)
	if err := e.LoadJSON([]byte(testConfig)); err != nil {
		t.Fatal(err)
	}
	c := e.StartCheckpointing(5 * time.Millisecond)
	traffic(t, e, 0, 300)
	time.Sleep(30 * time.Millisecond)
	if err := c.Err(); err != nil {
		t.Fatal(err)
	}
	// Counted after the last tick: only the checkpoint on Close writes these.
	e.StartCheckpointing(time.Hour)
	traffic(t, e, 300, 200)
	before := observe(t, e)
	if err := e.Close(); err != nil {
		t.Fatal(err)
	}
	if err := c.Stop(); err != nil {
		t.Fatalf("a replaced checkpointer stopped cleanly: %v", err)
	}
	e = openDurable(t, path)
	defer e.Close()
	compareObserved(t, before, observe(t, e))
	results, _ := e.ExperimentResults("btn")
	if results.Exposures != 500 {
		t.Fatalf("%d exposures restored", results.Exposures)
	}
	if err := e.Checkpoint(); err != nil {
		t.Fatal(err)
	}
	memory, _ := New(Options{})
	defer memory.Close()
	if err := memory.Checkpoint(); err != nil {
		t.Fatalf("an engine without a state file checkpoints nothing, without error: %v", err)
	}
}
