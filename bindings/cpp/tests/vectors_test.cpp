// Runs the shared test vectors (tests/vectors/) through the C++ wrapper.
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>
#include <string>

#include "featureflags/featureflags.hpp"
#include "json.hpp"

namespace {

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot read " + path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

const std::string kVectors = FEATUREFLAGS_VECTORS_DIR;

featureflags::Context make_context(const testjson::Value& spec) {
  featureflags::Context ctx(spec["user_id"].s);
  for (const auto& [name, v] : spec["attributes"].members) {
    switch (v.kind) {
      case testjson::Value::String: ctx.set(name, std::string_view(v.s)); break;
      case testjson::Value::Number: ctx.set(name, v.n); break;
      case testjson::Value::Bool: ctx.set(name, v.b); break;
      default: ADD_FAILURE() << "attribute " << name;
    }
  }
  return ctx;
}

TEST(Vectors, EveryFlagCase) {
  auto spec = testjson::parse(read_file(kVectors + "/flags.json"));
  auto engine = featureflags::Engine::create();
  engine.load_json(read_file(kVectors + "/" + spec["config"].s));
  int count = 0;
  for (const auto& scenario : spec["scenarios"].items) {
    engine.set_time(static_cast<std::int64_t>(scenario["time_ms"].n));
    for (const auto& [flag, variant] : scenario["overrides"].members) engine.set_override(flag, variant.s);
    for (const auto& c : scenario["cases"].items) {
      ++count;
      const std::string name = scenario["name"].s + "/" + c["name"].s;
      const std::string& flag = c["flag"].s;
      auto ctx = make_context(c["context"]);
      const auto& want = c["expect"];
      auto ev = engine.evaluate(flag, ctx);
      if (want["variant"].is_null()) {
        EXPECT_FALSE(ev.has_variant) << name;
      } else {
        EXPECT_EQ(ev.variant, want["variant"].s) << name;
      }
      EXPECT_EQ(featureflags::to_string(ev.reason), want["reason"].s) << name;
      if (want["rule_index"].is_null()) {
        EXPECT_FALSE(ev.rule_index.has_value()) << name;
      } else {
        EXPECT_EQ(ev.rule_index.value_or(9999), static_cast<std::uint32_t>(want["rule_index"].n)) << name;
      }
      EXPECT_EQ(ev.rule_id, want["rule_id"].is_null() ? "" : want["rule_id"].s) << name;
      std::string value = engine.value_json(flag, ctx);
      auto got_value = value.empty() ? testjson::Value() : testjson::parse(value);
      EXPECT_TRUE(testjson::equal(got_value, want["value"])) << name << ": " << value;
      EXPECT_EQ(engine.is_enabled(flag, ctx, false), want["enabled"].b) << name;
    }
    for (const auto& [flag, variant] : scenario["overrides"].members) engine.clear_override(flag);
  }
  EXPECT_GE(count, 100);
  std::printf("%d flag vectors\n", count);
}

TEST(Vectors, Bucketing) {
  auto cases = testjson::parse(read_file(kVectors + "/bucketing.json"));
  ASSERT_GE(cases.items.size(), 20u);
  for (const auto& c : cases.items)
    EXPECT_EQ(featureflags::bucket(c["salt"].s, c["key"].s), static_cast<std::uint32_t>(c["bucket"].n)) << c["key"].s;
}

TEST(Vectors, InvalidConfigsChangeNothing) {
  auto cases = testjson::parse(read_file(kVectors + "/invalid.json"));
  ASSERT_GE(cases.items.size(), 20u);
  auto engine = featureflags::Engine::create();
  engine.load_json(R"({"schema_version": 1, "flags": {"keep": {"type": "boolean"}}})");
  featureflags::Context ctx("u");
  for (const auto& c : cases.items) {
    const std::string config = testjson::dump(c["config"]);
    try {
      engine.load_json(config);
      ADD_FAILURE() << c["name"].s << ": accepted";
    } catch (const featureflags::Error& e) {
      EXPECT_EQ(e.status(), FF_STATUS_INVALID_CONFIG) << c["name"].s;
      for (const auto& p : c["paths"].items)
        EXPECT_NE(std::string(e.what()).find(p.s), std::string::npos) << c["name"].s << " lacks " << p.s;
    }
    EXPECT_TRUE(engine.is_enabled("keep", ctx, false)) << c["name"].s;
  }
}

}  // namespace
