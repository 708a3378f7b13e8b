package featureflags_test

import (
	"fmt"
	"math"

	featureflags "github.com/featureflags/featureflags/bindings/go"
)

const exampleConfig = `{"schema_version": 1,
 "flags": {"new-ui": {"type": "boolean", "default": "off",
   "rules": [{"id": "beta", "when": {"attr": "beta", "op": "equals", "value": true}, "serve": "on"}]}},
 "experiments": {"checkout": {"status": "running", "variants": {"control": 50, "blue": 50},
   "metrics": {"purchase": "conversion"}}},
 "rollouts": {"router": {"flag": "new-ui", "strategy": "canary", "start_at": 0, "stage_duration": "1h"}}}`

func ExampleEngine_IsEnabled() {
	engine, _ := featureflags.New(featureflags.Options{})
	defer engine.Close()
	if err := engine.LoadJSON([]byte(exampleConfig)); err != nil {
		panic(err)
	}
	ctx, _ := featureflags.NewContext("user-42")
	defer ctx.Close()
	ctx.SetBool("beta", true)
	fmt.Println(engine.IsEnabled("new-ui", ctx, false))
	d := engine.Evaluate("new-ui", ctx)
	fmt.Println(d.Variant, d.Reason, d.RuleID)
	// Output:
	// true
	// on RULE_MATCH beta
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
	fmt.Println(status.State == featureflags.RolloutRunning, status.Percentage)
	// Output: true 1
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
