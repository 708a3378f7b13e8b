// The evaluation paths of the wrapper allocate nothing after warm-up: is_enabled,
// variant, variant_id, string, evaluate, assign and assign_id (already exposed) and
// rebuilding a context of the same shape.
#include <cstdio>
#include <string>

#include "count_allocs.hpp"
#include "featureflags/featureflags.hpp"

namespace ff = featureflags;

namespace {

const char* kConfig = R"({"schema_version": 1,
 "flags": {
  "on": {"type": "boolean"},
  "geo": {"type": "boolean", "default": "off",
          "rules": [{"id": "na", "when": {"attr": "country", "op": "in", "value": ["US", "CA", "GB"]}, "serve": "on"}]},
  "half": {"type": "percentage", "percentage": 50},
  "layout": {"type": "multivariate", "variants": {"classic": 1, "pro": 2}, "default": "classic"}},
 "experiments": {"btn": {"status": "running", "variants": {"control": 50, "blue": 50}, "metrics": {"buy": "conversion"}}}})";

int failures = 0;

template <typename Body>
void expect_no_allocation(const char* name, Body body) {
  for (int i = 0; i < 100; ++i) body();  // warm-up (context buffers, lazy statics)
  std::uint64_t before = count_allocs::now();
  for (int i = 0; i < 10000; ++i) body();
  std::uint64_t allocs = count_allocs::now() - before;
  std::printf("%-40s %llu allocations in 10000 calls\n", name, static_cast<unsigned long long>(allocs));
  if (allocs != 0) ++failures;
}

}  // namespace

int main() {
  auto e = ff::Engine::create();
  e.load_json(kConfig);
  ff::Context ctx("user-1234567");
  ctx.set("country", "US");
  bool sink = false;
  std::size_t len = 0;

  expect_no_allocation("is_enabled(on)", [&] { sink ^= e.is_enabled("on", ctx, false); });
  expect_no_allocation("is_enabled(geo)", [&] { sink ^= e.is_enabled("geo", ctx, false); });
  expect_no_allocation("is_enabled(half)", [&] { sink ^= e.is_enabled("half", ctx, false); });
  expect_no_allocation("variant(layout)", [&] { len += e.variant("layout", ctx).size(); });
  expect_no_allocation("variant(missing, default)", [&] { len += e.variant("missing", ctx, "x").size(); });
  expect_no_allocation("evaluate(geo)", [&] { len += e.evaluate("geo", ctx).rule_id.size(); });
  expect_no_allocation("variant_id(layout)", [&] { len += e.variant_id("layout", ctx).text.size(); });
  expect_no_allocation("string(id)", [&] { len += e.string(0).value_or("").size(); });
  (void)e.assign("btn", ctx);
  expect_no_allocation("assign(btn), already exposed", [&] { len += e.assign("btn", ctx).value_or("").size(); });
  expect_no_allocation("assign_id(btn), already exposed", [&] { len += e.assign_id("btn", ctx).has_value(); });
  expect_no_allocation("reset + 3 setters + is_enabled(geo)", [&] {
    ctx.reset("user-7654321");
    ctx.set("country", "US").set("tier", "vip").set("volume", 2e6);
    sink ^= e.is_enabled("geo", ctx, false);
  });

  // The counter sees allocations made inside the library (so the zeros above mean it).
  std::uint64_t before = count_allocs::now();
  std::string json = e.value_json("layout", ctx);
  if (count_allocs::now() == before || json != "1") {
    std::printf("FAIL: the allocation counter does not see value_json's allocation\n");
    ++failures;
  }
  std::printf("%s (%d failures; sink %d %zu)\n", failures == 0 ? "PASS" : "FAIL", failures, sink, len);
  return failures == 0 ? 0 : 1;
}
