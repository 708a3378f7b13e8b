#include "featureflags/flagd.hpp"

#include <gtest/gtest.h>

namespace ff = featureflags;

namespace {
constexpr std::string_view kDoc = R"({
  "flags": {
    "color": {"state": "ENABLED", "variants": {"red": "red", "blue": "blue"}, "defaultVariant": "blue",
      "metadata": {"version": 2},
      "targeting": {"if": [{"==": [{"var": "user.tier"}, "gold"]}, "red", null]}},
    "broken": {"state": "ENABLED", "variants": {"a": 1}, "defaultVariant": "a", "targeting": {"nope": []}}
  }
})";
}

TEST(Flagd, LoadsEvaluatesAndReportsErrors) {
  auto engine = ff::Engine::create();
  ff::load_flagd_json(engine, kDoc);
  EXPECT_THROW(ff::load_flagd_json(engine, "{}"), ff::Error);
  ff::Error err;
  EXPECT_FALSE(ff::load_flagd_file(engine, "/nonexistent.json", err));
  EXPECT_EQ(err.status(), ff::Status::Io);
  ff::Context ctx("u1");
  ff::set_json(ctx, "user", R"({"tier": "gold"})");
  EXPECT_FALSE(ff::set_json(ctx, "bad", "{", err));

  auto r = ff::evaluate_flagd(engine, "color", ctx, ff::FlagdType::String);
  EXPECT_EQ(r.reason, ff::FlagdReason::TargetingMatch);
  EXPECT_EQ(r.variant, "red");
  EXPECT_EQ(r.value_json.value_or(""), "\"red\"");
  EXPECT_EQ(r.metadata_json, R"({"version":2})");

  EXPECT_EQ(ff::evaluate_flagd(engine, "color", ctx, ff::FlagdType::Integer).error_code, ff::FlagdErrorCode::TypeMismatch);
  auto broken = ff::evaluate_flagd(engine, "broken", ctx);
  EXPECT_EQ(broken.error_code, ff::FlagdErrorCode::ParseError);
  EXPECT_FALSE(broken.value_json.has_value());
  EXPECT_EQ(ff::evaluate_flagd(engine, "missing", ctx).error_code, ff::FlagdErrorCode::FlagNotFound);
}
