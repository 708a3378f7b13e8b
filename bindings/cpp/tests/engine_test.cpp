// Behaviour of the C++ wrapper: errors, ownership and moves, overrides across reloads,
// experiments, rollouts, events and the listener, and evaluation while another thread
// reloads.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <thread>
#include <type_traits>
#include <vector>

#include "featureflags/featureflags.hpp"

namespace ff = featureflags;

namespace {

static_assert(!std::is_copy_constructible_v<ff::Engine> && !std::is_copy_assignable_v<ff::Engine>);
static_assert(std::is_nothrow_move_constructible_v<ff::Engine> && std::is_nothrow_move_assignable_v<ff::Engine>);
static_assert(!std::is_copy_constructible_v<ff::Context> && !std::is_copy_assignable_v<ff::Context>);
static_assert(std::is_nothrow_move_constructible_v<ff::Context> && std::is_nothrow_move_assignable_v<ff::Context>);
static_assert(sizeof(ff::Context) == sizeof(void*), "a Context is one pointer");
static_assert(std::is_base_of_v<std::exception, ff::Error>);

std::string config(const char* layout_default, const char* revision) {
  return std::string(R"({"schema_version": 1, "revision": ")") + revision + R"(",
 "flags": {
  "on": {"type": "boolean"},
  "geo": {"type": "boolean", "default": "off",
          "rules": [{"id": "na", "when": {"attr": "country", "op": "in", "value": ["US", "CA", "GB"]}, "serve": "on"}]},
  "layout": {"type": "multivariate", "variants": {"classic": 1, "pro": {"levels": 20}}, "default": ")" +
         layout_default + R"("},
  "big": {"type": "boolean", "default": "off",
          "rules": [{"id": "whale", "when": {"attr": "volume", "op": "greater_or_equal", "value": 1000000}, "serve": "on"}]},
  "router": {"type": "boolean", "default": "off"},
  "fresh": {"type": "boolean", "schedule": {"enable_at": "2026-12-01T00:00:00Z"}}},
 "experiments": {"btn": {"status": "running", "variants": {"control": 50, "blue": 50},
                 "metrics": {"buy": "conversion"}}},
 "rollouts": {"router": {"flag": "router", "strategy": "linear", "start_at": 1795000000,
              "stage_duration": "30m", "auto_rollback": true, "require_health": false, "health": {"max_error_rate": 0.02, "min_samples": 10}}}})";
}

const std::string kConfig = config("classic", "r1");

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
  EXPECT_TRUE(ev.has_variant);
  EXPECT_EQ(ev.reason, ff::Reason::RuleMatch);
  EXPECT_EQ(ev.rule_index, 0u);
  EXPECT_EQ(ev.rule_id, "na");
  EXPECT_EQ(e.variant("layout", ctx), "classic");
  EXPECT_EQ(e.value_json("layout", ctx), "1");
  EXPECT_EQ(e.value_json("geo", ctx), "true");
  EXPECT_EQ(e.value_json("missing", ctx), "") << "nothing served";
  EXPECT_TRUE(e.is_enabled("layout", ctx, true)) << "multivariate: caller default";
  EXPECT_EQ(e.evaluate("layout", ctx).reason, ff::Reason::Default);
  EXPECT_EQ(e.variant("missing", ctx), "");
  EXPECT_EQ(e.variant("missing", ctx, "fallback"), "fallback");
  EXPECT_EQ(e.variant("layout", ctx, "fallback"), "classic");
  auto missing = e.evaluate("missing", ctx);
  EXPECT_EQ(missing.reason, ff::Reason::FlagNotFound);
  EXPECT_FALSE(missing.has_variant);
  EXPECT_FALSE(missing.rule_index.has_value());
  EXPECT_EQ(missing.rule_id, "");
  EXPECT_EQ(ff::to_string(ff::Reason::PrerequisiteFailed), "PREREQUISITE_FAILED");
  EXPECT_EQ(ff::to_string(ff::Status::InvalidConfig), "INVALID_CONFIG");
  EXPECT_EQ(ff::version(), FF_VERSION);
}

TEST(Engine, TypedValuesBatchesAndAllFlags) {
  auto e = engine();
  ff::Context ctx("user-1");
  ctx.set("country", "CA");
  auto on = e.bool_value("geo", ctx, false);
  EXPECT_TRUE(on.value);
  EXPECT_EQ(on.reason, ff::Reason::RuleMatch);
  auto level = e.number_value("layout", ctx, 7.5);
  EXPECT_EQ(level.value, 1.0);
  EXPECT_EQ(level.reason, ff::Reason::Default);
  auto wrong = e.string_value("layout", ctx, "fallback");
  EXPECT_EQ(wrong.value, "fallback");
  EXPECT_EQ(wrong.reason, ff::Reason::TypeMismatch);
  EXPECT_EQ(e.bool_value("missing", ctx, true).reason, ff::Reason::FlagNotFound);
  EXPECT_TRUE(e.bool_value("missing", ctx, true).value);

  const std::string_view keys[] = {"on", "geo", "layout", "missing", "big"};
  constexpr std::size_t n = sizeof keys / sizeof keys[0];
  ff::Evaluation out[n];
  ff::StringId ids[n];
  ASSERT_TRUE(e.evaluate_many(keys, n, ctx, out));
  for (std::size_t i = 0; i < n; i++) {
    auto one = e.evaluate(keys[i], ctx);
    EXPECT_EQ(out[i].variant, one.variant) << keys[i];
    EXPECT_EQ(out[i].reason, one.reason) << keys[i];
    EXPECT_EQ(out[i].rule_index, one.rule_index) << keys[i];
    EXPECT_EQ(out[i].rule_id, one.rule_id) << keys[i];
  }
  ff::Evaluation again[n];
  ASSERT_TRUE(e.evaluate_many(keys, n, ctx, again, ids));
  for (std::size_t i = 0; i < n; i++) {
    EXPECT_EQ(again[i].variant, out[i].variant);
    if (out[i].has_variant) {
      EXPECT_EQ(e.string(ids[i]), out[i].variant);
    }
  }
  EXPECT_EQ(ids[3], FF_NO_STRING);
  EXPECT_FALSE(e.evaluate_many(nullptr, 1, ctx, out));
  EXPECT_FALSE(e.evaluate_many(keys, 1, ctx, nullptr));
  EXPECT_TRUE(e.evaluate_many(nullptr, 0, ctx, nullptr));
  auto all = e.all_flags_json(ctx);
  EXPECT_NE(all.find(R"("geo":true)"), std::string::npos) << all;
  EXPECT_NE(all.find(R"("$valid":true)"), std::string::npos) << all;
  ff::Error err;
  EXPECT_TRUE(e.all_flags_json(ctx, err).has_value());
}

TEST(Engine, SwitchBatchAnswersAsIsEnabled) {
  auto e = engine();
  // More keys than the wrapper's chunk of 32, so that the second chunk's defaults and
  // answers are offset correctly.
  const std::string_view base[] = {"on", "geo", "layout", "missing", "big", "router"};
  constexpr std::size_t n = 70;
  std::string_view keys[n];
  bool defaults[n], out[n];
  for (std::size_t i = 0; i < n; i++) {
    keys[i] = base[i % 6];
    defaults[i] = i % 3 == 1;
  }
  for (const char* country : {"CA", "FR"}) {
    for (const char* user : {"user-1", "user-2", "user-3", "user-4"}) {
      ff::Context ctx(user);
      ctx.set("country", country);
      for (std::size_t i = 0; i < n; i++) out[i] = !defaults[i];
      ASSERT_TRUE(e.is_enabled_many(keys, n, ctx, defaults, out));
      for (std::size_t i = 0; i < n; i++) {
        EXPECT_EQ(out[i], e.is_enabled(keys[i], ctx, defaults[i])) << keys[i] << " " << i;
      }
      ASSERT_TRUE(e.is_enabled_many(keys, n, ctx, nullptr, out));
      for (std::size_t i = 0; i < n; i++) EXPECT_EQ(out[i], e.is_enabled(keys[i], ctx, false)) << keys[i];
    }
  }
  ff::Context ctx("user-1");
  ctx.set("country", "CA");
  bool inout[] = {false, false, true, true};
  ASSERT_TRUE(e.is_enabled_many(keys, 4, ctx, inout, inout));  // defaults in, answers out
  EXPECT_TRUE(inout[0]);
  EXPECT_TRUE(inout[1]);
  EXPECT_TRUE(inout[2]);  // multivariate: the default
  EXPECT_TRUE(inout[3]);  // missing: the default
  EXPECT_FALSE(e.is_enabled_many(nullptr, 1, ctx, nullptr, out));
  EXPECT_FALSE(e.is_enabled_many(keys, 1, ctx, nullptr, nullptr));
  EXPECT_TRUE(e.is_enabled_many(nullptr, 0, ctx, nullptr, nullptr));
}

TEST(Engine, FlagListAnswersAsIsEnabledThroughOverridesAndReloads) {
  auto e = engine();
  const std::string_view base[] = {"on", "geo", "layout", "missing", "big", "router"};
  constexpr std::size_t n = 70;
  std::string_view keys[n];
  bool defaults[n], out[n];
  for (std::size_t i = 0; i < n; i++) {
    keys[i] = base[i % 6];
    defaults[i] = i % 3 == 1;
  }
  const ff::FlagList list(keys, n);
  ASSERT_EQ(list.size(), n);
  ff::Context ctx("user-1");
  // One context throughout: what it remembers of the list must follow each change.
  auto check = [&](const char* when) {
    for (const char* country : {"CA", "FR"}) {
      ctx.set("country", country);
      for (std::size_t i = 0; i < n; i++) out[i] = !defaults[i];
      ASSERT_TRUE(e.is_enabled_list(list, ctx, defaults, out)) << when;
      for (std::size_t i = 0; i < n; i++) {
        EXPECT_EQ(out[i], e.is_enabled(keys[i], ctx, defaults[i])) << when << " " << keys[i] << " " << i;
      }
      ASSERT_TRUE(e.is_enabled_list(list, ctx, nullptr, out)) << when;
      for (std::size_t i = 0; i < n; i++) EXPECT_EQ(out[i], e.is_enabled(keys[i], ctx, false)) << when << " " << keys[i];
      // As bits, 64 keys at a time from anywhere in the list.
      for (std::size_t first : {0, 1, 6, 64, 70}) {
        for (std::uint64_t bit_defaults : {std::uint64_t{0}, ~std::uint64_t{0}, std::uint64_t{0x5555555555555555}}) {
          const std::uint64_t bits = e.is_enabled_bits(list, first, ctx, bit_defaults);
          const std::size_t count = n - first < 64 ? n - first : 64;
          for (std::size_t i = 0; i < count; i++) {
            EXPECT_EQ((bits >> i & 1) != 0, e.is_enabled(keys[first + i], ctx, (bit_defaults >> i & 1) != 0))
                << when << " " << keys[first + i] << " " << first << "+" << i;
          }
          if (count < 64) {
            EXPECT_EQ(bits >> count, 0u) << when << " bits past the list, from " << first;
          }
        }
      }
    }
  };
  check("first config");
  e.set_override("on", "off");
  check("override");
  EXPECT_FALSE(out[0]);
  e.clear_override("on");
  check("override cleared");
  e.load_json(R"({"schema_version": 1, "flags": {"aaa": {"type": "boolean"}, "geo": {"type": "boolean", "enabled": false},
      "on": {"type": "multivariate", "variants": {"x": 1, "y": 2}, "default": "x"}, "router": {"type": "boolean"}}})");
  check("second config");
  // Defaults in and answers out in one array; an empty list; no answers array.
  bool inout[n];
  for (std::size_t i = 0; i < n; i++) inout[i] = true;
  ASSERT_TRUE(e.is_enabled_list(list, ctx, inout, inout));
  EXPECT_FALSE(inout[1]);  // geo: disabled
  EXPECT_TRUE(inout[0]);   // on: multivariate now, so the default
  const ff::FlagList empty({});
  EXPECT_TRUE(e.is_enabled_list(empty, ctx, nullptr, nullptr));
  EXPECT_FALSE(e.is_enabled_list(list, ctx, nullptr, nullptr));
  EXPECT_EQ(e.is_enabled_bits(list, n + 1, ctx, ~std::uint64_t{0}), 0u);
  EXPECT_EQ(e.is_enabled_bits(empty, 0, ctx, ~std::uint64_t{0}), 0u);
  ff::Error err;
  EXPECT_FALSE(ff::FlagList::create(nullptr, 1, err).has_value());
  EXPECT_EQ(err.status(), ff::Status::InvalidArgument);
  EXPECT_NE(std::string(err.what()).find("keys"), std::string::npos) << err.what();
}

TEST(Engine, SettersTakeEveryArithmeticTypeAndStrings) {
  auto e = engine();
  ff::Context ctx("u");
  std::string country = "GB";
  ctx.set("country", country).set("volume", 1000000);  // int: a number, not a bool
  EXPECT_TRUE(e.is_enabled("geo", ctx, false));
  EXPECT_TRUE(e.is_enabled("big", ctx, false));
  ctx.set("volume", 999999.5f).set("country", "FR");
  EXPECT_FALSE(e.is_enabled("big", ctx, true));
  EXPECT_FALSE(e.is_enabled("geo", ctx, true));
  ctx.set("volume", std::uint64_t{5000000});
  EXPECT_TRUE(e.is_enabled("big", ctx, false));
  ctx.set("volume", true);  // a bool is not a number
  EXPECT_FALSE(e.is_enabled("big", ctx, true));
  ctx.reset("other").set("country", "US");
  EXPECT_TRUE(e.is_enabled("geo", ctx, false));
  ctx.reset("other");
  EXPECT_FALSE(e.is_enabled("geo", ctx, true)) << "reset removes attributes";
}

TEST(Engine, ClockRevisionAndSchedules) {
  auto e = ff::Engine::create();
  EXPECT_EQ(e.revision(), "") << "nothing loaded";
  e.load_json(kConfig);
  EXPECT_EQ(e.revision(), "r1");
  ff::Context ctx("u");
  using namespace std::chrono;
  e.set_time(system_clock::time_point(milliseconds(1795000000000)));  // 2026-11-18
  EXPECT_EQ(e.evaluate("fresh", ctx).reason, ff::Reason::ScheduledOff);
  e.set_time(std::int64_t{1796083200000});  // 2026-12-01T00:00:00Z: the window opens
  EXPECT_TRUE(e.is_enabled("fresh", ctx, false));
  e.set_time(system_clock::time_point(milliseconds(1796083199999)));
  EXPECT_FALSE(e.is_enabled("fresh", ctx, true));
  e.use_system_clock();
  e.load_json(R"({"schema_version": 1})");
  EXPECT_EQ(e.revision(), "") << "a config without revision";
}

TEST(Engine, ErrorsCarryStatusAndMessage) {
  auto e = engine();
  try {
    e.load_json(R"({"schema_version": 1, "flags": {"x": {"type": "boolean", "rules": [{"when": {"attr": "a", "op": "equal", "value": 1}, "serve": "on"}]}}})");
    FAIL() << "accepted";
  } catch (const ff::Error& err) {
    EXPECT_EQ(err.status(), ff::Status::InvalidConfig);
    EXPECT_NE(std::string(err.what()).find("flags.x.rules[0].when.op: unknown operator \"equal\""), std::string::npos);
  }
  ff::Context ctx("u");
  EXPECT_TRUE(e.is_enabled("on", ctx, false)) << "previous config still serves";
  EXPECT_EQ(e.revision(), "r1");

  auto status_of = [](auto&& fn) {
    try {
      fn();
    } catch (const ff::Error& err) {
      EXPECT_NE(std::string(err.what()), "");
      return err.status();
    }
    return ff::Status::Ok;
  };
  // Non-finite numbers.
  EXPECT_EQ(status_of([&] { ctx.set("n", std::nan("")); }), ff::Status::InvalidArgument);
  EXPECT_EQ(status_of([&] { ctx.set("n", std::numeric_limits<double>::infinity()); }), ff::Status::InvalidArgument);
  EXPECT_EQ(status_of([&] { e.track("u", "buy", std::nan("")); }), ff::Status::InvalidArgument);
  // Invalid UTF-8 everywhere a string goes in.
  const std::string_view bad("\xff\xfe", 2);
  EXPECT_EQ(status_of([&] { ctx.set("s", bad); }), ff::Status::InvalidArgument);
  EXPECT_EQ(status_of([&] { ctx.set(bad, "v"); }), ff::Status::InvalidArgument);
  EXPECT_EQ(status_of([&] { ctx.reset(bad); }), ff::Status::InvalidArgument);
  EXPECT_EQ(status_of([&] { ff::Context c(std::string_view("\xc3", 1)); }), ff::Status::InvalidArgument);
  EXPECT_EQ(status_of([&] { e.load_json(bad); }), ff::Status::InvalidConfig);
  EXPECT_EQ(status_of([&] { e.load_file(bad); }), ff::Status::InvalidArgument);
  EXPECT_EQ(status_of([&] { e.set_override("on", bad); }), ff::Status::InvalidArgument);
  EXPECT_EQ(status_of([&] { (void)ff::bucket(bad, "k"); }), ff::Status::InvalidArgument);
  EXPECT_EQ(e.evaluate(bad, ctx).reason, ff::Reason::Error) << "evaluation never fails";
  EXPECT_TRUE(e.is_enabled(bad, ctx, true));
  EXPECT_EQ(e.variant(bad, ctx, "d"), "d");
  // Other statuses.
  EXPECT_EQ(status_of([&] { e.load_file("/no/such/file.json"); }), ff::Status::Io);
  EXPECT_EQ(status_of([&] { e.set_override("nope", "on"); }), ff::Status::NotFound);
  EXPECT_EQ(status_of([&] { e.set_override("layout", "nope"); }), ff::Status::InvalidArgument);
  EXPECT_EQ(status_of([&] { (void)ff::Engine::create(R"({"bogus": 1})"); }), ff::Status::InvalidArgument);
  EXPECT_EQ(status_of([&] { (void)ff::Engine::create("{"); }), ff::Status::InvalidArgument);
  EXPECT_EQ(status_of([&] { (void)ff::Engine::create(R"({"max_config_bytes": 1048576})"); }), ff::Status::Ok);
  EXPECT_EQ(status_of([&] { (void)e.rollout_status("nope"); }), ff::Status::NotFound);
  EXPECT_TRUE(e.is_enabled("on", ctx, false)) << "the engine is still usable";
}

TEST(Abi, ALibraryOfAnotherAbiIsRefused) {
  EXPECT_EQ(ff::abi_version(), std::uint32_t{FF_ABI_VERSION});
  EXPECT_NO_THROW(ff::detail::check_abi(2, 2));
  try {
    ff::detail::check_abi(1, 2);
    FAIL() << "accepted";
  } catch (const ff::Error& err) {
    EXPECT_EQ(err.status(), ff::Status::InvalidState);
    EXPECT_STREQ(err.what(), "featureflags: libfeatureflags has ABI version 1, featureflags.hpp was compiled for ABI version 2");
  }
}

TEST(NoExceptions, ErrorOverloadsReturnStatusInstead) {
  ff::Error err;
  EXPECT_FALSE(ff::Engine::create("{", err).has_value());
  EXPECT_EQ(err.status(), ff::Status::InvalidArgument);
  auto e = ff::Engine::create({}, err);
  ASSERT_TRUE(e.has_value());
  auto ctx = ff::Context::create("u1", err);
  ASSERT_TRUE(ctx.has_value());
  EXPECT_TRUE(ctx->set("country", "GB", err) && ctx->set("volume", 2, err) && ctx->set("vip", true, err));
  EXPECT_FALSE(ctx->set("volume", std::nan(""), err));
  EXPECT_EQ(err.status(), ff::Status::InvalidArgument);
  EXPECT_FALSE(e->load_json("{", err));
  EXPECT_EQ(err.status(), ff::Status::InvalidConfig);
  ASSERT_TRUE(e->load_json(config("classic", "r1"), err)) << err.what();
  EXPECT_EQ(e->revision(err).value_or("?"), "r1");
  EXPECT_TRUE(e->is_enabled("geo", *ctx, false));
  EXPECT_FALSE(e->set_override("nope", "on", err));
  EXPECT_EQ(err.status(), ff::Status::NotFound);
  EXPECT_FALSE(e->rollout_status("nope", err).has_value());
  EXPECT_EQ(err.status(), ff::Status::NotFound);
  EXPECT_TRUE(e->drain_events(0, err).has_value());
  EXPECT_EQ(ff::bucket("salt", "key", err), std::optional<std::uint32_t>(ff::bucket("salt", "key")));
  EXPECT_FALSE(ff::sample_size(-1.0, 0.1, 0.05, 0.8, err).has_value());
  EXPECT_EQ(err.status(), ff::Status::InvalidArgument);
  ff::Error abi;
  EXPECT_FALSE(ff::detail::check_abi(1, 2, abi));
  EXPECT_EQ(abi.status(), ff::Status::InvalidState);
}

TEST(Names, ComeFromTheLibrary) {
  EXPECT_EQ(ff::to_string(ff::Reason::Split), "SPLIT");
  EXPECT_EQ(ff::to_string(static_cast<ff::Reason>(99)), "UNKNOWN");
  EXPECT_EQ(ff::to_string(ff::Status::Panic), "PANIC");
  EXPECT_EQ(ff::to_string(static_cast<ff::Status>(99)), "UNKNOWN");
  EXPECT_EQ(ff::to_string(FF_ROLLOUT_ROLLED_BACK), "rolled_back");
  EXPECT_EQ(ff::to_string(static_cast<ff_rollout_state>(99)), "unknown");
}

TEST(Engine, ConstructorsThrowTheLibrarysMessage) {
  try {
    ff::Context ctx(std::string_view("u\xff", 2));
    FAIL() << "accepted";
  } catch (const ff::Error& err) {
    EXPECT_EQ(err.status(), ff::Status::InvalidArgument);
    EXPECT_STREQ(err.what(), "user_id: invalid UTF-8 at byte 1");
  }
  try {
    (void)ff::Engine::create(R"({"bogus": 1})");
    FAIL() << "accepted";
  } catch (const ff::Error& err) {
    EXPECT_EQ(err.status(), ff::Status::InvalidArgument);
    EXPECT_NE(std::string(err.what()).find("options.bogus"), std::string::npos) << err.what();
  }
}

TEST(Engine, EvaluateValueGivesOneEvaluationWithStringIds) {
  auto e = engine();
  ff::Context ctx("user-1");
  ctx.set("country", "CA");
  auto valued = e.evaluate_value("geo", ctx);
  EXPECT_EQ(valued.detail.variant, "on");
  EXPECT_EQ(valued.detail.reason, ff::Reason::RuleMatch);
  EXPECT_EQ(valued.detail.rule_index, 0u);
  EXPECT_EQ(valued.detail.rule_id, "na");
  EXPECT_EQ(valued.value_json, "true");
  EXPECT_EQ(e.string(valued.variant_string_id), std::optional<std::string_view>("on"));
  EXPECT_EQ(e.string(valued.rule_id_string_id), std::optional<std::string_view>("na"));
  EXPECT_EQ(e.string(valued.variant_string_id)->data(), valued.detail.variant.data()) << "the same interned bytes";

  auto missing = e.evaluate_value("missing", ctx);
  EXPECT_EQ(missing.detail.reason, ff::Reason::FlagNotFound);
  EXPECT_FALSE(missing.detail.has_variant);
  EXPECT_EQ(missing.variant_string_id, FF_NO_STRING);
  EXPECT_EQ(missing.value_json, "");
  EXPECT_FALSE(e.string(FF_NO_STRING).has_value());
  EXPECT_FALSE(e.string(1000000).has_value());

  auto layout = e.variant_id("layout", ctx);
  EXPECT_EQ(layout.text, "classic");
  e.load_json(config("pro", "r2"));
  EXPECT_EQ(e.variant_id("layout", ctx).text, "pro");
  e.load_json(kConfig);
  EXPECT_EQ(e.variant_id("layout", ctx).id, layout.id) << "an id names one string for the engine's lifetime";
  EXPECT_EQ(e.variant_id("missing", ctx).id, FF_NO_STRING);

  auto assigned = e.assign_id("btn", ctx);
  ASSERT_TRUE(assigned.has_value());
  EXPECT_EQ(e.string(assigned->id), std::optional<std::string_view>(assigned->text));
  EXPECT_EQ(assigned->text, e.assign("btn", ctx).value_or(""));
  EXPECT_FALSE(e.assign_id("nope", ctx).has_value());

  // A key of more bytes than 16 bits count.
  const std::string huge(70000, 'k');
  e.load_json(R"({"schema_version": 1, "flags": {"big": {"type": "multivariate", "variants": {")" + huge +
              R"(": 1, "small": 2}, "default": ")" + huge + R"("}}})");
  auto big = e.variant_id("big", ctx);
  EXPECT_EQ(big.text, huge);
  EXPECT_EQ(e.string(big.id).value_or("").size(), huge.size());
}

TEST(Engine, StringViewsNeedNoTerminator) {
  auto e = engine();
  const std::string buffer = "geoXcountryYUSZ";
  std::string_view key(buffer.data(), 3), name(buffer.data() + 4, 7), value(buffer.data() + 12, 2);
  ff::Context ctx(std::string_view(buffer.data() + 4, 1));
  ctx.set(name, value);
  EXPECT_TRUE(e.is_enabled(key, ctx, false));
  ff::Context empty(std::string_view{});  // NULL data, 0 length: the empty string
  EXPECT_FALSE(e.is_enabled("geo", empty, true));
}

TEST(Engine, MovedFromObjectsAreEmptyAndSafe) {
  auto a = engine();
  ff::Engine b = std::move(a);
  EXPECT_FALSE(static_cast<bool>(a));  // NOLINT(bugprone-use-after-move): the point of the test
  EXPECT_TRUE(static_cast<bool>(b));
  EXPECT_EQ(a.raw(), nullptr);
  ff::Context ctx("u");
  ff::Context moved = std::move(ctx);
  EXPECT_FALSE(static_cast<bool>(ctx));
  EXPECT_EQ(ctx.raw(), nullptr);

  // Evaluating with a moved-from engine or context returns the caller's default.
  EXPECT_TRUE(a.is_enabled("on", moved, true));
  EXPECT_FALSE(a.is_enabled("on", moved, false));
  EXPECT_EQ(a.variant("layout", moved), "");
  EXPECT_EQ(a.variant("layout", moved, "d"), "d");
  EXPECT_EQ(a.evaluate("layout", moved).reason, ff::Reason::Error);
  EXPECT_EQ(a.value_json("layout", moved), "");
  EXPECT_FALSE(a.assign("btn", moved).has_value());
  EXPECT_FALSE(a.in_rollout("router", moved));
  EXPECT_EQ(a.events_dropped(), 0u);
  EXPECT_FALSE(b.is_enabled("on", ctx, false));
  EXPECT_EQ(b.evaluate("on", ctx).reason, ff::Reason::Error);
  // Their fallible calls throw InvalidArgument.
  EXPECT_THROW(a.load_json(kConfig), ff::Error);
  EXPECT_THROW(a.set_override("on", "off"), ff::Error);
  EXPECT_THROW(a.set_time(std::int64_t{1}), ff::Error);
  EXPECT_THROW((void)a.revision(), ff::Error);
  EXPECT_THROW(a.set_listener([](std::string_view) {}), ff::Error);
  EXPECT_THROW(a.set_listener(nullptr), ff::Error);
  try {
    ctx.set("country", "US");
    FAIL();
  } catch (const ff::Error& err) {
    EXPECT_EQ(err.status(), ff::Status::InvalidArgument);
  }
  // Assigning to a moved-from object revives it; the handle moves, not the data.
  a = std::move(b);
  ctx = ff::Context("v");
  ctx.set("country", "US");
  EXPECT_TRUE(a.is_enabled("geo", ctx, false));
  const ff_context* raw = ctx.raw();
  ff::Context third(std::move(ctx));
  EXPECT_EQ(third.raw(), raw);
  // Move-assigning over a live engine frees the old one (ASan/LSan would report a leak).
  auto c = engine();
  c = engine();
  EXPECT_TRUE(c.is_enabled("on", third, false));
  // The C free functions accept NULL (what a moved-from handle holds).
  ff_engine_free(nullptr);
  ff_context_free(nullptr);
  ff_error_free(nullptr);
  ff_bytes_free(nullptr);
  ff_bytes none{nullptr, 0};
  ff_bytes_free(&none);
}

TEST(Engine, OverridesSurviveReloadsAndInternedStringsOutliveThem) {
  auto e = engine();
  ff::Context ctx("u");
  ctx.set("country", "US");
  auto interned = e.variant("layout", ctx);
  auto rule_id = e.evaluate("geo", ctx).rule_id;
  e.set_override("on", "off");
  e.set_override("layout", "pro");
  e.load_json(config("classic", "r2"));
  EXPECT_EQ(e.revision(), "r2");
  EXPECT_FALSE(e.is_enabled("on", ctx, true));
  auto ev = e.evaluate("on", ctx);
  EXPECT_EQ(ev.reason, ff::Reason::Override);
  EXPECT_EQ(ev.variant, "off");
  EXPECT_EQ(e.variant("layout", ctx), "pro");
  EXPECT_EQ(e.value_json("layout", ctx), R"({"levels":20})");
  e.clear_override("on");
  e.clear_override("on");  // clearing twice is fine
  EXPECT_TRUE(e.is_enabled("on", ctx, false));
  EXPECT_EQ(e.evaluate("on", ctx).reason, ff::Reason::Default);
  // Overrides outlive reloads until cleared: ignored while the flag is missing, applied
  // again when it comes back.
  e.load_json(R"({"schema_version": 1})");
  EXPECT_EQ(e.evaluate("layout", ctx).reason, ff::Reason::FlagNotFound);
  EXPECT_EQ(interned, "classic") << "interned strings outlive reloads";
  EXPECT_EQ(rule_id, "na");
  e.load_json(kConfig);
  EXPECT_EQ(e.evaluate("layout", ctx).reason, ff::Reason::Override);
  e.clear_override("layout");
  EXPECT_EQ(e.variant("layout", ctx), "classic");
}

TEST(Engine, ExperimentsRolloutsAndEvents) {
  auto e = engine();
  e.set_time(std::int64_t{1795000000000 - 60000});
  for (int i = 0; i < 100; ++i) {
    ff::Context ctx("u" + std::to_string(i));
    auto v = e.assign("btn", ctx);
    ASSERT_TRUE(v.has_value());
    EXPECT_TRUE(*v == "control" || *v == "blue") << *v;
    EXPECT_EQ(e.assign("btn", ctx), v);
    if (i % 4 == 0) e.track("u" + std::to_string(i), "buy", 1.0);
  }
  ff::Context nobody("nobody");
  EXPECT_FALSE(e.assign("no-such-experiment", nobody).has_value());
  auto results = e.experiment_results_json("btn");
  EXPECT_NE(results.find("\"exposures\":100"), std::string::npos);
  EXPECT_EQ(results.front(), '{');
  EXPECT_THROW((void)e.experiment_results_json("nope"), ff::Error);
  auto aggregates = e.experiment_aggregates_json("btn");
  EXPECT_NE(aggregates.find("\"user_sample\":["), std::string::npos) << aggregates;
  EXPECT_THROW((void)e.experiment_aggregates_json("nope"), ff::Error);
  EXPECT_NE(ff::analyze_json(R"({"variants": {"a": {"users": 100, "conversions": 10}, "b": {"users": 100, "conversions": 20}}})").find("p_value"), std::string::npos);
  EXPECT_THROW((void)ff::analyze_json("{"), ff::Error);
  EXPECT_NEAR(ff::sample_size(0.1, 0.1, 0.05, 0.8), 14748.0, 2.0);
  EXPECT_NEAR(ff::power(0.1, 0.1, 0.05, 14748.0), 0.8, 0.01);
  EXPECT_NEAR(ff::mde(0.1, 0.05, 0.8, 14748.0), 0.1, 0.01);
  EXPECT_EQ(ff::test_duration_days(1000.0, 2, 100.0, 1.0), 20.0);
  EXPECT_NEAR(ff::lifetime_value(10.0, 0.5, 0.0, 0), 20.0, 1e-9);
  EXPECT_THROW((void)ff::sample_size(-1.0, 0.1, 0.05, 0.8), ff::Error);

  EXPECT_EQ(e.rollout_status("router").state, FF_ROLLOUT_PENDING);
  e.set_time(std::int64_t{1795000000000 + 31 * 60000});
  auto info = e.rollout_status("router");
  EXPECT_EQ(info.state, FF_ROLLOUT_RUNNING);
  EXPECT_EQ(info.percentage, 25.0);
  try {
    e.resume_rollout("router");
    FAIL();
  } catch (const ff::Error& err) {
    EXPECT_EQ(err.status(), ff::Status::InvalidState);
  }
  e.pause_rollout("router");
  EXPECT_EQ(e.rollout_status("router").state, FF_ROLLOUT_PAUSED);
  e.resume_rollout("router");
  e.advance_rollout("router");
  EXPECT_EQ(e.rollout_status("router").percentage, 50.0);
  e.report_health("router", 0.5, 10.0, 100);
  EXPECT_EQ(e.rollout_status("router").state, FF_ROLLOUT_ROLLED_BACK);
  EXPECT_FALSE(e.in_rollout("router", nobody));
  EXPECT_THROW(e.rollback_rollout("router"), ff::Error);
  EXPECT_NE(e.history_json("router").find("health_breach"), std::string::npos);
  EXPECT_EQ(e.history_json("never-seen"), "[]");
  auto events = e.drain_events();
  EXPECT_NE(events.find("\"type\":\"exposure\""), std::string::npos);
  EXPECT_EQ(events.back(), '\n');
  EXPECT_EQ(e.drain_events(), "");
  EXPECT_EQ(e.events_dropped(), 0u);

  e.set_evaluation_events(true);
  (void)e.is_enabled("on", nobody, false);
  (void)e.variant("layout", nobody);
  e.set_evaluation_events(false);
  (void)e.is_enabled("on", nobody, false);
  auto two = e.drain_events(1);
  EXPECT_EQ(std::count(two.begin(), two.end(), '\n'), 1) << "max = 1";
  EXPECT_NE(e.drain_events(), "");
  EXPECT_EQ(e.drain_events(), "") << "no event with evaluation events off";
}

TEST(Engine, ListenerReceivesEventsAndMovesWithTheEngine) {
  auto e = engine();
  std::vector<std::string> seen;
  e.set_listener([&seen](std::string_view json) { seen.emplace_back(json); });
  e.set_override("on", "off");
  ff::Engine moved = std::move(e);
  moved.clear_override("on");
  ASSERT_EQ(seen.size(), 2u);
  EXPECT_NE(seen[0].find("override_set"), std::string::npos);
  EXPECT_NE(seen[1].find("override_cleared"), std::string::npos);
  std::vector<std::string> second;
  moved.set_listener([&second](std::string_view json) { second.emplace_back(json); });
  moved.set_override("on", "off");
  EXPECT_EQ(seen.size(), 2u) << "the replaced listener is no longer called";
  EXPECT_EQ(second.size(), 1u);
  moved.set_listener(nullptr);
  moved.clear_override("on");
  EXPECT_EQ(second.size(), 1u);
  EXPECT_NE(moved.drain_events().find("override_cleared"), std::string::npos) << "events queue again";
}

TEST(Threads, TwoEvaluateWhileAThirdReloads) {
  auto e = engine();
  const std::string configs[2] = {config("classic", "a"), config("pro", "b")};
  std::atomic<int> started{0};
  std::atomic<bool> done{false};
  std::atomic<long> errors{0}, progress{0}, during_reloads{0};
  auto reader = [&](const char* user) {
    ff::Context ctx(user);
    ctx.set("country", "US");
    started++;
    while (!done.load(std::memory_order_acquire)) {
      std::string_view layout = e.variant("layout", ctx);
      auto ev = e.evaluate("geo", ctx);
      if (!e.is_enabled("geo", ctx, false) || (layout != "classic" && layout != "pro") ||
          ev.reason != ff::Reason::RuleMatch || ev.rule_id != "na" || ev.rule_index != 0u)
        errors++;
      // One evaluation: the value is the served variant's, whichever config served it.
      auto valued = e.evaluate_value("layout", ctx);
      if ((valued.detail.variant == "classic") != (valued.value_json == "1") ||
          (valued.detail.variant == "pro") != (valued.value_json == R"({"levels":20})"))
        errors++;
      progress.fetch_add(1, std::memory_order_relaxed);
    }
  };
  std::thread r1(reader, "reader-1"), r2(reader, "reader-2");
  std::thread writer([&] {
    while (started.load() < 2) std::this_thread::yield();
    long before = progress.load();
    for (int i = 0; i < 1000; ++i) e.load_json(configs[i % 2]);
    during_reloads = progress.load() - before;
    done.store(true, std::memory_order_release);
  });
  writer.join();
  r1.join();
  r2.join();
  EXPECT_EQ(errors.load(), 0);
  EXPECT_GT(during_reloads.load(), 0) << "the readers ran while the writer reloaded";
  EXPECT_EQ(e.revision(), "b");
  std::printf("%ld evaluations (x3 calls) during 1000 reloads\n", during_reloads.load());
}

TEST(Threads, ListenersReplacedWhileOtherThreadsEmitEvents) {
  // The Engine frees a replaced listener as soon as set_listener returns, while other
  // threads keep emitting events: the C API must not call it after that (ASan would
  // report a use after free).
  auto e = engine();
  e.set_evaluation_events(true);
  std::atomic<bool> done{false};
  std::atomic<long> delivered{0};
  std::atomic<int> started{0};
  auto reader = [&](const char* user) {
    ff::Context ctx(user);
    started++;
    while (!done.load(std::memory_order_acquire)) (void)e.is_enabled("on", ctx, false);
  };
  std::thread r1(reader, "reader-1"), r2(reader, "reader-2");
  while (started.load() < 2) std::this_thread::yield();
  // At least 200 swaps, and until the listeners have run often enough (sanitizers slow
  // the readers down), within 10 s.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  for (int i = 0; i < 200 || (delivered.load() < 5000 && std::chrono::steady_clock::now() < deadline); ++i) {
    std::string tag(64, static_cast<char>('a' + i % 26));  // captured state that dies with the listener
    e.set_listener([tag, &delivered](std::string_view json) {
      // Still running (and reading its state) when the main thread replaces it.
      const auto until = std::chrono::steady_clock::now() + std::chrono::microseconds(20);
      while (std::chrono::steady_clock::now() < until) {
      }
      if (!json.empty() && tag.size() == 64 && tag[63] == tag[0]) delivered++;
    });
  }
  e.set_listener(nullptr);
  done.store(true, std::memory_order_release);
  r1.join();
  r2.join();
  EXPECT_GT(delivered.load(), 0);
  (void)e.drain_events();
}

}  // namespace
