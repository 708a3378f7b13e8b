// Behaviour of the C++ wrapper: errors, ownership and moves, experiments, rollouts,
// events and the listener, and evaluation while another thread reloads.
#include <gtest/gtest.h>

#include <atomic>
#include <cmath>
#include <string>
#include <thread>
#include <vector>

#include "featureflags/featureflags.hpp"

namespace ff = featureflags;

namespace {

const char* kConfig = R"({"schema_version": 1,
 "flags": {
  "on": {"type": "boolean"},
  "geo": {"type": "boolean", "default": "off",
          "rules": [{"id": "na", "when": {"attr": "country", "op": "in", "value": ["US", "CA", "GB"]}, "serve": "on"}]},
  "layout": {"type": "multivariate", "variants": {"classic": 1, "pro": {"levels": 20}}, "default": "classic"},
  "router": {"type": "boolean", "default": "off"}},
 "experiments": {"btn": {"status": "running", "variants": {"control": 50, "blue": 50},
                 "metrics": {"buy": "conversion"}}},
 "rollouts": {"router": {"flag": "router", "strategy": "linear", "start_at": 1795000000,
              "stage_duration": "30m", "auto_rollback": true, "health": {"max_error_rate": 0.02, "min_samples": 10}}}})";

ff::Engine engine() {
  auto e = ff::Engine::create();
  e.load_json(kConfig);
  return e;
}

TEST(Engine, EvaluatesWithDetail) {
  auto e = engine();
  ff::Context ctx("user-1");
  ctx.set("country", "CA").set("volume", 2.5e6).set("beta", true);
  EXPECT_TRUE(e.is_enabled("geo", ctx, false));
  auto ev = e.evaluate("geo", ctx);
  EXPECT_EQ(ev.variant, "on");
  EXPECT_EQ(ev.reason, ff::Reason::RuleMatch);
  EXPECT_EQ(ev.rule_index, 0u);
  EXPECT_EQ(ev.rule_id, "na");
  EXPECT_EQ(e.variant("layout", ctx), "classic");
  EXPECT_EQ(e.value_json("layout", ctx), "1");
  EXPECT_TRUE(e.is_enabled("layout", ctx, true)) << "multivariate: caller default";
  EXPECT_EQ(e.variant("missing", ctx, "fallback"), "fallback");
  EXPECT_EQ(e.evaluate("missing", ctx).reason, ff::Reason::FlagNotFound);
}

TEST(Engine, ErrorsCarryStatusAndMessage) {
  auto e = engine();
  try {
    e.load_json(R"({"schema_version": 1, "flags": {"x": {"type": "boolean", "rules": [{"when": {"attr": "a", "op": "equal", "value": 1}, "serve": "on"}]}}})");
    FAIL() << "accepted";
  } catch (const ff::Error& err) {
    EXPECT_EQ(err.status(), FF_STATUS_INVALID_CONFIG);
    EXPECT_NE(std::string(err.what()).find("flags.x.rules[0].when.op: unknown operator \"equal\""), std::string::npos);
  }
  ff::Context ctx("u");
  EXPECT_TRUE(e.is_enabled("on", ctx, false)) << "previous config still serves";
  EXPECT_THROW(ctx.set("n", std::nan("")), ff::Error);
  EXPECT_THROW(ctx.set("s", std::string_view("\xff\xfe", 2)), ff::Error);
  EXPECT_THROW(ff::Context(std::string_view("\xc3", 1)), ff::Error);
  EXPECT_THROW(e.load_file("/no/such/file.json"), ff::Error);
  EXPECT_THROW(e.set_override("nope", "on"), ff::Error);
  EXPECT_THROW(ff::Engine::create(R"({"bogus": 1})"), ff::Error);
}

TEST(Engine, MovesTransferOwnershipAndOverridesSurviveReloads) {
  auto a = engine();
  ff::Engine b = std::move(a);
  ff::Context ctx("u");
  ff::Context moved = std::move(ctx);
  auto interned = b.variant("layout", moved);
  b.set_override("on", "off");
  b.load_json(kConfig);
  EXPECT_FALSE(b.is_enabled("on", moved, true));
  EXPECT_EQ(b.evaluate("on", moved).reason, ff::Reason::Override);
  b.clear_override("on");
  EXPECT_TRUE(b.is_enabled("on", moved, false));
  b.load_json(R"({"schema_version": 1})");
  EXPECT_EQ(interned, "classic") << "interned strings outlive reloads";
}

TEST(Engine, ExperimentsRolloutsEventsAndListener) {
  auto e = engine();
  e.set_time(1795000000000 - 60000);
  for (int i = 0; i < 100; ++i) {
    ff::Context ctx("u" + std::to_string(i));
    auto v = e.assign("btn", ctx);
    ASSERT_TRUE(v.has_value());
    EXPECT_EQ(e.assign("btn", ctx), v);
    if (i % 4 == 0) e.track("u" + std::to_string(i), "buy", 1.0);
  }
  auto results = e.experiment_results_json("btn");
  EXPECT_NE(results.find("\"exposures\":100"), std::string::npos);
  EXPECT_THROW(e.track("u1", "buy", INFINITY), ff::Error);
  EXPECT_NE(ff::analyze_json(R"({"variants": {"a": {"users": 100, "conversions": 10}, "b": {"users": 100, "conversions": 20}}})").find("p_value"), std::string::npos);
  EXPECT_NEAR(ff::sample_size(0.1, 0.1, 0.05, 0.8), 14748.0, 2.0);

  EXPECT_EQ(e.rollout_status("router").state, FF_ROLLOUT_PENDING);
  e.set_time(1795000000000 + 31 * 60000);
  auto info = e.rollout_status("router");
  EXPECT_EQ(info.state, FF_ROLLOUT_RUNNING);
  EXPECT_EQ(info.percentage, 25.0);
  try {
    e.resume_rollout("router");
    FAIL();
  } catch (const ff::Error& err) {
    EXPECT_EQ(err.status(), FF_STATUS_INVALID_STATE);
  }
  e.report_health("router", 0.5, 10.0, 100);
  EXPECT_EQ(e.rollout_status("router").state, FF_ROLLOUT_ROLLED_BACK);
  EXPECT_NE(e.history_json("router").find("health_breach"), std::string::npos);
  auto events = e.drain_events();
  EXPECT_NE(events.find("\"type\":\"exposure\""), std::string::npos);
  EXPECT_EQ(e.drain_events(), "");

  std::vector<std::string> seen;
  e.set_listener([&seen](std::string_view json) { seen.emplace_back(json); });
  e.set_override("on", "off");
  e.set_listener(nullptr);
  e.clear_override("on");
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_NE(seen[0].find("override_set"), std::string::npos);
  EXPECT_NE(e.drain_events().find("override_cleared"), std::string::npos);
}

TEST(Threads, TwoEvaluateWhileAThirdReloads) {
  auto e = engine();
  std::atomic<bool> done{false};
  std::atomic<long> errors{0};
  auto reader = [&](const char* user) {
    ff::Context ctx(user);
    ctx.set("country", "US");
    while (!done.load(std::memory_order_relaxed)) {
      if (!e.is_enabled("geo", ctx, false) || e.variant("layout", ctx) != "classic") errors++;
    }
  };
  std::thread r1(reader, "reader-1"), r2(reader, "reader-2");
  std::thread writer([&] {
    for (int i = 0; i < 1000; ++i) e.load_json(kConfig);
    done = true;
  });
  writer.join();
  r1.join();
  r2.join();
  EXPECT_EQ(errors.load(), 0);
}

}  // namespace
