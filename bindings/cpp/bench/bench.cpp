// A std::chrono benchmark of the wrapper against the raw C calls: warm-up, then the
// median of 15 repetitions of N calls each. Usage: featureflags_bench [iterations]
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <string>
#include <thread>
#include <vector>

#include "featureflags/featureflags.hpp"

namespace ff = featureflags;

template <typename T>
inline void keep(T const& value) {
  asm volatile("" : : "r,m"(value) : "memory");
}

const char* kConfig = R"({"schema_version": 1,
 "flags": {
  "on": {"type": "boolean"},
  "geo": {"type": "boolean", "default": "off",
          "rules": [{"when": {"attr": "country", "op": "in", "value": ["US", "CA", "GB"]}, "serve": "on"}]},
  "half": {"type": "percentage", "percentage": 50},
  "layout": {"type": "multivariate", "variants": {"classic": 1, "pro": 2}, "default": "classic"}},
 "experiments": {"btn": {"status": "running", "variants": {"control": 50, "blue": 50},
                 "metrics": {"spend": "revenue"}}}})";

double ns_per_op(long iterations, const std::function<void(long)>& body) {
  body(iterations / 10);  // warm-up
  std::vector<double> samples;
  for (int r = 0; r < 15; ++r) {
    auto start = std::chrono::steady_clock::now();
    body(iterations);
    auto stop = std::chrono::steady_clock::now();
    samples.push_back(std::chrono::duration<double, std::nano>(stop - start).count() / static_cast<double>(iterations));
  }
  std::nth_element(samples.begin(), samples.begin() + 7, samples.end());
  return samples[7];
}

int main(int argc, char** argv) {
  long n = argc > 1 ? std::atol(argv[1]) : 2'000'000;
  auto e = ff::Engine::create();
  e.load_json(kConfig);
  ff::Context ctx("user-1234567");
  ctx.set("country", "US");
  (void)e.assign("btn", ctx);

  std::printf("%-52s %10s\n", "benchmark (median of 15)", "ns/op");
  for (const char* flag : {"on", "geo", "half"}) {
    std::string key(flag);
    double wrapped = ns_per_op(n, [&](long k) {
      for (long i = 0; i < k; ++i) keep(e.is_enabled(key, ctx, false));
    });
    double raw = ns_per_op(n, [&](long k) {
      for (long i = 0; i < k; ++i) keep(ff_is_enabled(e.raw(), key.data(), key.size(), ctx.raw(), false));
    });
    std::printf("is_enabled(%-5s) wrapper %38.2f\nis_enabled(%-5s) raw C   %38.2f   (wrapper - raw: %+.2f ns)\n", flag, wrapped, flag, raw, wrapped - raw);
  }
  std::printf("%-52s %10.2f\n", "variant(layout)", ns_per_op(n, [&](long k) {
                for (long i = 0; i < k; ++i) keep(e.variant("layout", ctx));
              }));
  std::printf("%-52s %10.2f\n", "context reset + 3 setters + is_enabled(geo)", ns_per_op(n / 4, [&](long k) {
                for (long i = 0; i < k; ++i) {
                  ctx.reset("user-1234567");
                  ctx.set("country", "US").set("tier", "vip").set("volume", 2e6);
                  keep(e.is_enabled("geo", ctx, false));
                }
              }));
  std::printf("%-52s %10.2f\n", "assign (already exposed)", ns_per_op(n, [&](long k) {
                for (long i = 0; i < k; ++i) keep(e.assign("btn", ctx));
              }));
  std::printf("%-52s %10.2f\n", "track", ns_per_op(n / 4, [&](long k) {
                for (long i = 0; i < k; ++i) e.track("user-1234567", "spend", 12.5);
              }));
  double two = ns_per_op(n, [&](long k) {
    auto work = [&](const char* user) {
      ff::Context c(user);
      c.set("country", "US");
      for (long i = 0; i < k; ++i) keep(e.is_enabled("geo", c, false));
    };
    std::thread a(work, "a"), b(work, "b");
    a.join();
    b.join();
  });
  std::printf("%-52s %10.2f   (per call per thread; wall time / calls of one thread)\n", "is_enabled(geo), two threads", two);
  return 0;
}
