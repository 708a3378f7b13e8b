// A durable engine through the C++ wrapper: what it was told and counted comes back after
// a restart, and the background checkpointer writes on its interval and when it stops.
#include <gtest/gtest.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <string>
#include <thread>

#include "featureflags/checkpointer.hpp"
#include "featureflags/featureflags.hpp"

namespace ff = featureflags;
namespace fs = std::filesystem;

namespace {

const char* kConfig = R"({"schema_version": 1, "revision": "durable",
 "flags": {
  "on": {"type": "boolean"},
  "geo": {"type": "boolean", "default": "off",
          "rules": [{"id": "na", "when": {"attr": "country", "op": "in", "value": ["US", "CA"]}, "serve": "on"}]},
  "layout": {"type": "multivariate", "variants": {"classic": 1, "pro": 2}, "default": "classic"},
  "router": {"type": "boolean", "default": "off"}},
 "experiments": {"btn": {"status": "running", "variants": {"control": 50, "blue": 50},
                 "metrics": {"buy": "conversion", "spend": "revenue"}}},
 "funnels": {"buy-then-spend": {"steps": ["buy", "spend"], "experiment": "btn"}},
 "rollouts": {"router": {"flag": "router", "strategy": "linear", "start_at": 1795000000,
              "stage_duration": "30m", "auto_rollback": true, "require_health": false,
              "health": {"max_error_rate": 0.02, "min_samples": 10}}}})";

constexpr std::int64_t kNow = 1795000000000 + 31 * 60000;

/// A fresh directory for one test's state file, removed afterwards.
struct StateDir {
  fs::path path;
  StateDir() {
    std::string tmpl = (fs::temp_directory_path() / "ff-durable-XXXXXX").string();
    path = mkdtemp(tmpl.data());
  }
  ~StateDir() { fs::remove_all(path); }
  [[nodiscard]] std::string options() const {
    return R"({"state_path": ")" + (path / "flags.db").string() + R"("})";
  }
};

void traffic(ff::Engine& e, int first, int n) {
  for (int i = first; i < first + n; ++i) {
    std::string user = "u" + std::to_string(i);
    ff::Context ctx(user);
    ASSERT_TRUE(e.assign("btn", ctx).has_value());
    if (i % 4 == 0) {
      e.track(user, "buy", 1.0);
      e.track(user, "spend", 0.25 * i);
    }
  }
}

/// Everything a host can read about the engine's state.
std::map<std::string, std::string> observe(const ff::Engine& e) {
  std::map<std::string, std::string> seen;
  seen["results"] = e.experiment_results_json("btn");
  seen["series"] = e.experiment_timeseries_json("btn");
  seen["funnel"] = e.funnel_report_json("buy-then-spend");
  seen["revision"] = e.revision();
  auto info = e.rollout_status("router");
  seen["rollout"] = std::to_string(info.state) + " " + std::to_string(info.stage_index) + " " +
                    std::to_string(info.percentage) + " " + std::to_string(info.stage_started_at_ms) + " " +
                    std::to_string(info.next_stage_at_ms) + " " + std::to_string(info.held) + " " +
                    std::to_string(info.has_health) + " " + std::to_string(info.last_error_rate) + " " +
                    std::to_string(info.last_samples) + " " + std::to_string(info.last_health_at_ms);
  for (const char* flag : {"router", "geo", "layout"}) seen[std::string("history/") + flag] = e.history_json(flag);
  for (int i = 0; i < 100; ++i) {
    ff::Context ctx("u" + std::to_string(i));
    ctx.set("country", i % 2 == 0 ? "US" : "DE");
    for (const char* flag : {"on", "geo", "layout", "router"}) {
      auto d = e.evaluate(flag, ctx);
      seen[std::string(flag) + "/" + std::to_string(i)] =
          std::string(d.variant) + " " + std::string(ff::to_string(d.reason)) + " " + std::string(d.rule_id);
    }
  }
  return seen;
}

TEST(Durability, ARestartedEngineServesAndReportsWhatWasCommitted) {
  StateDir dir;
  std::map<std::string, std::string> before;
  {
    auto e = ff::Engine::create(dir.options());
    e.load_json(kConfig);
    e.set_time(kNow);
    traffic(e, 0, 1000);
    e.set_override("geo", "on");
    e.declare_winner("btn", "blue");
    e.report_health("router", 0.5, 10.0, 100);
    ASSERT_EQ(e.rollout_status("router").state, FF_ROLLOUT_ROLLED_BACK);
    e.checkpoint();
    before = observe(e);
    EXPECT_NE(before["funnel"].find("\"users\":250"), std::string::npos) << before["funnel"];
  }
  // No load: the stored config serves, with its override, winner and rollback.
  auto e = ff::Engine::create(dir.options());
  e.set_time(kNow);
  auto after = observe(e);
  for (const auto& [key, value] : before) EXPECT_EQ(after[key], value) << key << " differs after the restart";
  try {
    (void)ff::Engine::create(dir.options());
    FAIL() << "a second engine on the same file";
  } catch (const ff::Error& err) {
    EXPECT_EQ(err.status(), ff::Status::Io);
    EXPECT_NE(std::string(err.what()).find("in use by pid"), std::string::npos) << err.what();
  }
}

TEST(Durability, TheCheckpointerWritesOnItsIntervalAndWhenItStops) {
  StateDir dir;
  std::map<std::string, std::string> before;
  {
    auto e = ff::Engine::create(dir.options());
    e.load_json(kConfig);
    e.set_time(kNow);
    {
      ff::Checkpointer ticking(e, std::chrono::milliseconds(5));
      traffic(e, 0, 300);
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
      EXPECT_EQ(ticking.last_result().status, ff::Status::Ok) << ticking.last_result().message;
    }
    // Restoring runs on the system clock, which would move a running rollout on.
    e.rollback_rollout("router");
    ff::Checkpointer hourly(e, std::chrono::hours(1));
    traffic(e, 300, 200);  // only the checkpoint on stop writes these
    before = observe(e);
    auto result = hourly.stop();
    EXPECT_EQ(result.status, ff::Status::Ok) << result.message;
    EXPECT_EQ(hourly.stop().status, ff::Status::Ok) << "stop is idempotent";
  }
  auto e = ff::Engine::create(dir.options());
  e.set_time(kNow);
  auto after = observe(e);
  for (const auto& [key, value] : before) EXPECT_EQ(after[key], value) << key << " differs after the restart";
  EXPECT_NE(after["results"].find("\"exposures\":500"), std::string::npos);
  auto memory = ff::Engine::create();
  ff::Checkpointer none(memory, std::chrono::milliseconds(1));
  EXPECT_EQ(none.stop().status, ff::Status::Ok) << "an engine without a state file checkpoints nothing";
}

}  // namespace
