package featureflags

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"regexp"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
)

func TestOnEventDeliversInsteadOfQueueing(t *testing.T) {
	e := newEngine(t)
	e.DrainEvents(0)
	var mu sync.Mutex
	var got []Event
	if err := e.OnEvent(func(ev Event) {
		mu.Lock()
		got = append(got, ev)
		mu.Unlock()
	}); err != nil {
		t.Fatal(err)
	}
	e.SetTimeMillis(1795000000000)
	if err := e.LoadJSON([]byte(testConfig)); err != nil {
		t.Fatal(err)
	}
	if err := e.SetOverride("layout", "pro"); err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0].Type != "config_loaded" || got[1].Type != "override_set" ||
		got[1].Seq != got[0].Seq+1 || got[0].TimeMs != 1795000000000 {
		t.Fatalf("%+v", got)
	}
	var override struct{ Flag, Variant string }
	if err := json.Unmarshal(got[1].Raw, &override); err != nil || override.Flag != "layout" || override.Variant != "pro" {
		t.Fatalf("%s: %v", got[1].Raw, err)
	}
	if queued, _ := e.DrainEvents(0); len(queued) != 0 {
		t.Fatalf("queued while a listener is set: %+v", queued)
	}
	if err := e.OnEvent(nil); err != nil {
		t.Fatal(err)
	}
	e.ClearOverride("layout")
	if queued, _ := e.DrainEvents(0); len(queued) != 1 || queued[0].Type != "override_cleared" || len(got) != 2 {
		t.Fatalf("after OnEvent(nil): queued %+v, delivered %d", queued, len(got))
	}
	e.Close()
	if err := e.OnEvent(func(Event) {}); !errors.Is(err, ErrClosed) {
		t.Fatal(err)
	}
}

func TestTheListenerMayReadButNotChangeItsEngine(t *testing.T) {
	e := newEngine(t)
	ctx := newContext(t, "user-1", "country", "US")
	var overrideErr, onEventErr error
	var variant string
	var calls atomic.Int32
	e.OnEvent(func(ev Event) {
		if calls.Add(1) > 1 {
			return
		}
		overrideErr = e.SetOverride("on", "off")
		onEventErr = e.OnEvent(nil)
		variant = e.Variant("layout", ctx, "")
		e.Track("user-1", "buy", 1)
	})
	if err := e.LoadJSON([]byte(testConfig)); err != nil {
		t.Fatal(err)
	}
	if !errors.Is(overrideErr, ErrInvalidState) || !errors.Is(onEventErr, ErrInvalidState) || variant != "classic" {
		t.Fatalf("override %v, OnEvent %v, variant %q", overrideErr, onEventErr, variant)
	}
	// OnEvent(nil) was refused: the listener is still set.
	if e.SetOverride("on", "off") != nil || calls.Load() != 2 {
		t.Fatalf("%d calls", calls.Load())
	}
}

func TestEventsAreDeliveredOnEveryProducingGoroutine(t *testing.T) {
	e := newEngine(t)
	var exposures atomic.Int64
	e.OnEvent(func(ev Event) {
		if ev.Type == "exposure" {
			exposures.Add(1)
		}
	})
	var wg sync.WaitGroup
	for g := 0; g < 4; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			for i := 0; i < 250; i++ {
				ctx, _ := NewContext(fmt.Sprintf("user-%d-%d", g, i))
				e.Assign("btn", ctx)
				ctx.Close()
			}
		}(g)
	}
	wg.Wait()
	if exposures.Load() != 1000 {
		t.Fatalf("%d exposures", exposures.Load())
	}
}

func TestParseEventMatchesEncodingJSON(t *testing.T) {
	for _, line := range []string{
		`{"type":"config_loaded","seq":1,"time_ms":1795478460000,"revision":"2026-11-24.1","flags":9}`,
		`{"type":"rollout_transition","seq":3,"time_ms":1795485660000,"rollout":"r","flag":"r","cause":"health_breach","from":{"state":"running","stage":4,"percentage":16.0},"to":{"state":"rolled_back","stage":0,"percentage":0.0},"at_ms":1795485660000}`,
		`{"type":"evaluation","seq":18446744073709,"time_ms":-5}`,
		// Not the engine's layout: decoded by encoding/json.
		`{"seq":7,"type":"exposure","time_ms":2}`,
		`{"type":"some_new_type","seq":1,"time_ms":2}`,
		`{"type":"exposure","seq":12345678901234567890,"time_ms":2}`,
	} {
		var want Event
		json.Unmarshal([]byte(line), &want)
		got := parseEvent([]byte(line))
		if got.Type != want.Type || got.Seq != want.Seq || got.TimeMs != want.TimeMs || string(got.Raw) != line {
			t.Errorf("%s: got %+v, want %+v", line, got, want)
		}
	}
}

func TestCutIntReadsWhatStrconvReads(t *testing.T) {
	digits := "9081726354"
	// Every length up to 20 digits, signed and not, followed by each byte next to the
	// digits in ASCII ('/' and ':'), a delimiter, or nothing.
	for n := 0; n <= 20; n++ {
		for _, sign := range []string{"", "-"} {
			for _, next := range []string{"", ",", "}", "/", ":", "x"} {
				num := ""
				for i := 0; i < n; i++ {
					num += string(digits[(i*7+n)%len(digits)])
				}
				in := sign + num + next
				got, rest, ok := cutInt([]byte(in))
				want, err := strconv.ParseInt(sign+num, 10, 64)
				wantOK := err == nil && n >= 1 && n <= 18
				if ok != wantOK || (ok && (got != want || string(rest) != next)) {
					t.Errorf("cutInt(%q) = %d, %q, %v; want %d, %q, %v", in, got, rest, ok, want, next, wantOK)
				}
			}
		}
	}
	// A non-digit at each position of sixteen digits ends the number there.
	for at := 0; at < 16; at++ {
		for _, bad := range []byte{'/', ':', ' ', 0x80, 0xB9} {
			in := []byte("1234567890123456,")
			in[at] = bad
			got, rest, ok := cutInt(in)
			want, _ := strconv.ParseInt(string(in[:at]), 10, 64)
			if ok != (at > 0) || (ok && (got != want || len(rest) != len(in)-at)) {
				t.Errorf("cutInt(%q) = %d, %q, %v", in, got, rest, ok)
			}
		}
	}
}

func TestEveryDocumentedEventTypeIsReadWithoutTheDecoder(t *testing.T) {
	doc, err := os.ReadFile("../../docs/events.md")
	if err != nil {
		t.Fatal(err)
	}
	// The rows of the event table: | `type` | fields | when |
	rows := regexp.MustCompile("(?m)^\\| `([a-z_]+)` \\| [^|]*`[^|]*\\| [^|]+\\|$").FindAllSubmatch(doc, -1)
	if len(rows) < 10 {
		t.Fatalf("found %d event types in docs/events.md", len(rows))
	}
	for _, row := range rows {
		name := row[1]
		if typ, known := eventType(name); !known || typ != string(name) {
			t.Errorf("event type %q is not known to eventType", name)
		}
	}
}

func TestADeliveredEventCostsOneAllocation(t *testing.T) {
	e := newEngine(t)
	ctx := newContext(t, "user-1")
	var n int
	e.OnEvent(func(ev Event) { n++ })
	e.SetEvaluationEvents(true)
	allocs := testing.AllocsPerRun(200, func() { e.IsEnabled("on", ctx, false) })
	// purego's callbacks reach Go through reflection: one allocation more.
	if n < 200 || allocs != allowedAllocs(1, 2) {
		t.Fatalf("%d events, %v allocations per event", n, allocs)
	}
}

func TestEachEngineHasItsOwnListener(t *testing.T) {
	count := func(e *Engine, n *atomic.Int32) {
		if err := e.OnEvent(func(Event) { n.Add(1) }); err != nil {
			t.Fatal(err)
		}
	}
	var a, b, c atomic.Int32
	ea, eb := newEngine(t), newEngine(t)
	count(ea, &a)
	count(eb, &b)
	ea.SetOverride("on", "off")
	eb.SetOverride("on", "off")
	eb.ClearOverride("on")
	ea.Close() // its slot is free for the next engine
	ec := newEngine(t)
	count(ec, &c)
	for i := 0; i < 3; i++ {
		ec.SetOverride("on", "off")
	}
	if a.Load() != 1 || b.Load() != 2 || c.Load() != 3 {
		t.Fatalf("delivered %d, %d, %d; want 1, 2, 3", a.Load(), b.Load(), c.Load())
	}
}
