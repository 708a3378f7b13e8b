// Runs the shared test vectors (tests/vectors/, see its README) through the C++ wrapper.
// Every case runs and is asserted; missing or empty files fail.
#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "featureflags/featureflags.hpp"
#include "json.hpp"

namespace ff = featureflags;

namespace {

const std::string kVectors = FEATUREFLAGS_VECTORS_DIR;

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot read " + path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

testjson::Value load(const std::string& name) {
  auto v = testjson::parse(read_file(kVectors + "/" + name));
  if (v.kind != testjson::Value::Array && v.kind != testjson::Value::Object) throw std::runtime_error(name + ": not JSON");
  return v;
}

ff::Context make_context(const testjson::Value& spec, const std::string& name) {
  ff::Context ctx(spec["user_id"].s);
  for (const auto& [attr, v] : spec["attributes"].members) {
    switch (v.kind) {
      case testjson::Value::String: ctx.set(attr, std::string_view(v.s)); break;
      case testjson::Value::Number: ctx.set(attr, v.n); break;
      case testjson::Value::Bool: ctx.set(attr, v.b); break;
      default: ADD_FAILURE() << name << ": attribute " << attr << " has an unsupported type";
    }
  }
  return ctx;
}

TEST(Vectors, EveryFlagCase) {
  auto spec = load("flags.json");
  ASSERT_EQ(spec["config"].kind, testjson::Value::String);
  ASSERT_FALSE(spec["scenarios"].items.empty());
  const std::string config_path = kVectors + "/" + spec["config"].s;  // relative to flags.json
  std::size_t expected = 0, count = 0;
  for (const auto& scenario : spec["scenarios"].items) expected += scenario["cases"].items.size();
  ASSERT_GT(expected, 0u);

  for (const auto& scenario : spec["scenarios"].items) {
    // A fresh engine per scenario: overrides never carry over.
    auto engine = ff::Engine::create();
    engine.load_file(config_path);
    ASSERT_EQ(scenario["time_ms"].kind, testjson::Value::Number) << scenario["name"].s;
    engine.set_time(static_cast<std::int64_t>(std::stoll(scenario["time_ms"].s)));
    for (const auto& [flag, variant] : scenario["overrides"].members) engine.set_override(flag, variant.s);
    for (const auto& c : scenario["cases"].items) {
      const std::string name = scenario["name"].s + " / " + c["name"].s;
      const std::string& flag = c["flag"].s;
      const auto& want = c["expect"];
      auto ctx = make_context(c["context"], name);

      auto ev = engine.evaluate(flag, ctx);
      if (want["variant"].is_null()) {
        EXPECT_FALSE(ev.has_variant) << name;
        EXPECT_EQ(ev.variant, "") << name;
      } else {
        EXPECT_TRUE(ev.has_variant) << name;
        EXPECT_EQ(ev.variant, want["variant"].s) << name;
      }
      EXPECT_EQ(ff::to_string(ev.reason), want["reason"].s) << name;
      if (want["rule_index"].is_null()) {
        EXPECT_FALSE(ev.rule_index.has_value()) << name;
      } else {
        ASSERT_TRUE(ev.rule_index.has_value()) << name;
        EXPECT_EQ(*ev.rule_index, static_cast<std::uint32_t>(want["rule_index"].n)) << name;
      }
      EXPECT_EQ(ev.rule_id, want["rule_id"].is_null() ? "" : want["rule_id"].s) << name;
      // variant() agrees with evaluate().
      EXPECT_EQ(engine.variant(flag, ctx), ev.variant) << name;
      EXPECT_EQ(engine.variant(flag, ctx, "<none>"), ev.has_variant ? ev.variant : "<none>") << name;

      std::string value = engine.value_json(flag, ctx);
      auto got = value.empty() ? testjson::Value() : testjson::parse(value);
      EXPECT_TRUE(testjson::equal(got, want["value"])) << name << ": got " << value << ", want " << testjson::dump(want["value"]);

      ASSERT_EQ(want["enabled"].kind, testjson::Value::Bool) << name;
      EXPECT_EQ(engine.is_enabled(flag, ctx, false), want["enabled"].b) << name;
      ++count;
    }
  }
  EXPECT_EQ(count, expected);
  std::printf("%zu flag cases in %zu scenarios\n", count, spec["scenarios"].items.size());
}

TEST(Vectors, Bucketing) {
  auto cases = load("bucketing.json");
  ASSERT_FALSE(cases.items.empty());
  std::size_t count = 0;
  for (const auto& c : cases.items) {
    ASSERT_EQ(c["bucket"].kind, testjson::Value::Number);
    EXPECT_EQ(ff::bucket(c["salt"].s, c["key"].s), static_cast<std::uint32_t>(c["bucket"].n))
        << "salt " << c["salt"].s << ", key " << c["key"].s;
    ++count;
  }
  std::printf("%zu bucketing cases\n", count);
}

// The problems of an invalid-config message, one "<path>: <message>" per line after
// the first ("invalid config (N problems):").
std::vector<std::string> problems(const std::string& message) {
  std::vector<std::string> out;
  std::istringstream lines(message);
  std::string line;
  while (std::getline(lines, line)) {
    auto start = line.find_first_not_of(' ');
    if (start != std::string::npos) out.push_back(line.substr(start));
  }
  return out;
}

TEST(Vectors, InvalidConfigsChangeNothing) {
  auto cases = load("invalid.json");
  ASSERT_FALSE(cases.items.empty());
  auto engine = ff::Engine::create();
  engine.load_json(R"({"schema_version": 1, "revision": "keep", "flags": {"keep": {"type": "boolean"}}})");
  ff::Context ctx("u");
  std::size_t count = 0;
  for (const auto& c : cases.items) {
    const std::string& name = c["name"].s;
    ASSERT_FALSE(c["paths"].items.empty()) << name;
    try {
      engine.load_json(testjson::dump(c["config"]));
      ADD_FAILURE() << name << ": accepted";
    } catch (const ff::Error& e) {
      EXPECT_EQ(e.status(), ff::Status::InvalidConfig) << name << ": " << e.what();
      auto reported = problems(e.what());
      for (const auto& p : c["paths"].items) {
        bool found = false;
        for (const auto& r : reported) found = found || r.compare(0, p.s.size(), p.s) == 0;
        EXPECT_TRUE(found) << name << ": no problem starts with " << p.s << " in\n" << e.what();
      }
    }
    EXPECT_TRUE(engine.is_enabled("keep", ctx, false)) << name << ": the previous config keeps serving";
    EXPECT_EQ(engine.revision(), "keep") << name;
    ++count;
  }
  std::printf("%zu invalid configs\n", count);
}

}  // namespace
