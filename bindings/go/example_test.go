package featureflags_test

import (
	"errors"
	"fmt"
	"math"
	"time"

	featureflags "github.com/featureflags/featureflags/bindings/go"
)

const exampleConfig = `{"schema_version": 1,
 "flags": {"new-ui": {"type": "boolean", "default": "off",
   "rules": [{"id": "beta", "when": {"attr": "beta", "op": "equals", "value": true}, "serve": "on"}]}},
 "experiments": {"checkout": {"status": "running", "variants": {"control": 50, "blue": 50},
   "metrics": {"purchase": "conversion"}}},
 "rollouts": {"router": {"flag": "new-ui", "strategy": "canary", "start_at": 0, "stage_duration": "1h"}}}`

// newExampleEngine loads testdata/flags.json (flags new-matching-engine,
// order-book-view, fast-quotes, hft-trading, holiday-banner).
func newExampleEngine() *featureflags.Engine {
	engine, err := featureflags.New(featureflags.Options{})
	if err != nil {
		panic(err)
	}
	if err := engine.LoadFile("testdata/flags.json"); err != nil {
		panic(err)
	}
	return engine
}

func ExampleEngine_IsEnabled() {
	engine := newExampleEngine()
	defer engine.Close()
	ctx, _ := featureflags.NewContext("user-42")
	defer ctx.Close()
	ctx.SetString("country", "CA")
	fmt.Println(engine.IsEnabled("new-matching-engine", ctx, false))
	fmt.Println(engine.IsEnabled("no-such-flag", ctx, false)) // the caller's default
	// Output:
	// true
	// false
}

func ExampleEngine_IsEnabledMany() {
	engine := newExampleEngine()
	defer engine.Close()
	ctx, _ := featureflags.NewContext("user-42")
	defer ctx.Close()
	ctx.SetString("country", "CA")
	// Made once and shared; the answers slice is reused by one goroutine.
	page := featureflags.NewBatch("new-matching-engine", "no-such-flag", "no-such-flag")
	on := make([]bool, page.Len())
	engine.IsEnabledMany(page, ctx, []bool{false, false, true}, on)
	fmt.Println(on)
	// Output:
	// [true false true]
}

func ExampleEngine_Variant() {
	engine := newExampleEngine()
	defer engine.Close()
	ctx, _ := featureflags.NewContext("user-42")
	defer ctx.Close()
	ctx.SetString("tier", "gold") // segment vip
	fmt.Println(engine.Variant("order-book-view", ctx, "classic"))
	// Output: depth
}

func ExampleEngine_Evaluate() {
	engine := newExampleEngine()
	defer engine.Close()
	ctx, _ := featureflags.NewContext("user-42")
	defer ctx.Close()
	ctx.SetString("tier", "vip")
	d := engine.Evaluate("order-book-view", ctx)
	fmt.Println(d.Variant, string(d.Value), d.Reason, d.RuleIndex, d.RuleID)
	d = engine.Evaluate("no-such-flag", ctx)
	fmt.Println(d.HasVariant, d.Reason, d.RuleIndex)
	// Output:
	// depth {"levels":20} RULE_MATCH 0 vip-depth
	// false FLAG_NOT_FOUND -1
}

func ExampleEngine_SetOverride() {
	engine := newExampleEngine()
	defer engine.Close()
	ctx, _ := featureflags.NewContext("user-42")
	defer ctx.Close()
	engine.SetOverride("hft-trading", "off") // pull the kill switch
	fmt.Println(engine.IsEnabled("hft-trading", ctx, true), engine.Evaluate("hft-trading", ctx).Reason)
	engine.LoadFile("testdata/flags.json") // overrides survive reloads
	fmt.Println(engine.IsEnabled("hft-trading", ctx, true))
	engine.ClearOverride("hft-trading")
	fmt.Println(engine.IsEnabled("hft-trading", ctx, false))
	// Output:
	// false OVERRIDE
	// false
	// true
}

func ExampleEngine_LoadJSON() {
	engine := newExampleEngine()
	defer engine.Close()
	err := engine.LoadJSON([]byte(`{"schema_version": 1, "flags": {"x": {"type": "boolean", "default": "maybe"}}}`))
	var ffErr *featureflags.Error
	if errors.Is(err, featureflags.ErrInvalidConfig) && errors.As(err, &ffErr) {
		fmt.Println(ffErr.Status)
	}
	revision, _ := engine.Revision() // the previous config keeps serving
	fmt.Println(revision)
	// Output:
	// INVALID_CONFIG
	// 2026-11-24.1
}

func ExampleEngine_SetTime() {
	engine := newExampleEngine()
	defer engine.Close()
	ctx, _ := featureflags.NewContext("user-42")
	defer ctx.Close()
	for _, day := range []int{23, 24, 27} {
		engine.SetTime(time.Date(2026, 12, day, 12, 0, 0, 0, time.UTC))
		fmt.Println(day, engine.IsEnabled("holiday-banner", ctx, false))
	}
	engine.SetTime(time.Time{}) // back to the system clock
	// Output:
	// 23 false
	// 24 true
	// 27 false
}

func ExampleContext_Reset() {
	engine := newExampleEngine()
	defer engine.Close()
	ctx, _ := featureflags.NewContext("")
	defer ctx.Close()
	// One context per goroutine, rebuilt per request: no allocation after warm-up.
	for _, req := range []struct{ user, country string }{{"u1", "US"}, {"u2", "FR"}} {
		ctx.Reset(req.user)
		ctx.SetString("country", req.country)
		ctx.SetNumber("trading_volume", 2.5e6)
		ctx.SetBool("beta_tester", false)
		fmt.Println(req.user, engine.IsEnabled("new-matching-engine", ctx, false))
	}
	fmt.Println(errors.Is(ctx.SetNumber("x", math.NaN()), featureflags.ErrInvalidArgument))
	// Output:
	// u1 true
	// u2 false
	// true
}

func ExampleBucket() {
	// The bucket behind splits and percentages: fast-quotes (50%) is on for buckets
	// below 50000.
	b, _ := featureflags.Bucket("fast-quotes", "user-42")
	engine := newExampleEngine()
	defer engine.Close()
	ctx, _ := featureflags.NewContext("user-42")
	defer ctx.Close()
	fmt.Println(engine.IsEnabled("fast-quotes", ctx, false) == (b < 50000))
	// Output: true
}

func ExampleEngine_Assign() {
	engine, _ := featureflags.New(featureflags.Options{})
	defer engine.Close()
	engine.LoadJSON([]byte(exampleConfig))
	ctx, _ := featureflags.NewContext("user-42")
	defer ctx.Close()
	variant, enrolled := engine.Assign("checkout", ctx)
	engine.Track("user-42", "purchase", 1)
	results, _ := engine.ExperimentResults("checkout")
	fmt.Println(enrolled, variant != "", results.Exposures)
	// Output: true true 1
}

func ExampleEngine_RolloutStatus() {
	engine, _ := featureflags.New(featureflags.Options{})
	defer engine.Close()
	engine.LoadJSON([]byte(exampleConfig))
	engine.SetTimeMillis(30 * 60 * 1000)
	status, _ := engine.RolloutStatus("router")
	fmt.Println(status.State, status.Percentage)
	// Output: running 1
}

func ExampleSampleSize() {
	n, _ := featureflags.SampleSize(0.10, 0.10, 0.05, 0.8)
	fmt.Printf("%.0f users per variant\n", math.Ceil(n))
	// Output: 14749 users per variant
}

func ExampleEngine_DrainEvents() {
	engine, _ := featureflags.New(featureflags.Options{})
	defer engine.Close()
	engine.LoadJSON([]byte(exampleConfig))
	engine.SetOverride("new-ui", "off")
	events, _ := engine.DrainEvents(0)
	for _, ev := range events {
		fmt.Println(ev.Seq, ev.Type)
	}
	history, _ := engine.History("new-ui")
	fmt.Println(len(history), history[len(history)-1]["action"])
	// Output:
	// 1 config_loaded
	// 2 override_set
	// 2 override_set
}

func ExampleEngine_OnEvent() {
	engine, _ := featureflags.New(featureflags.Options{})
	defer engine.Close()
	// Called on the goroutine of the call that produced each event, in place of the queue.
	engine.OnEvent(func(ev featureflags.Event) {
		fmt.Println(ev.Seq, ev.Type)
	})
	engine.LoadJSON([]byte(exampleConfig))
	ctx, _ := featureflags.NewContext("user-42")
	defer ctx.Close()
	engine.Assign("checkout", ctx)
	// Output:
	// 1 config_loaded
	// 2 exposure
}

func ExampleEngine_IntValue() {
	engine, _ := featureflags.New(featureflags.Options{})
	defer engine.Close()
	engine.LoadJSON([]byte(`{"schema_version": 1, "flags": {
	  "order-limit": {"type": "multivariate", "variants": {"standard": 100, "pro": 5000}, "default": "standard"},
	  "theme": {"type": "multivariate", "variants": {"dark": "#000"}, "default": "dark"}}}`))
	ctx, _ := featureflags.NewContext("user-42")
	defer ctx.Close()
	limit, d := engine.IntValue("order-limit", ctx, 10)
	fmt.Println(limit, d.Variant, d.Reason)
	limit, d = engine.IntValue("theme", ctx, 10) // a string value: the default
	fmt.Println(limit, d.Variant, d.Reason)
	// Output:
	// 100 standard DEFAULT
	// 10 dark TYPE_MISMATCH
}
