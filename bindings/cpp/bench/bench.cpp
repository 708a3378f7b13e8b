// Benchmark of the C++ wrapper against the raw C calls (Google Benchmark is not packaged
// here, so a std::chrono harness): each pair is measured interleaved (wrapper, raw,
// wrapper, raw, ...) after a warm-up, the median of R repetitions of N calls is
// reported, results go through an optimization barrier, and allocations per call are
// counted by interposing malloc (tests/count_allocs.hpp).
//
// Usage: featureflags_bench [calls per repetition = 2000000] [repetitions = 15]
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string_view>
#include <thread>
#include <vector>

#include "count_allocs.hpp"
#include "featureflags/featureflags.hpp"

namespace ff = featureflags;

namespace {

/// Keeps `value` alive and opaque to the optimizer (benchmark::DoNotOptimize).
template <typename T>
inline void keep(T const& value) {
  asm volatile("" : : "r,m"(value) : "memory");
}

const char* kConfig = R"({"schema_version": 1,
 "flags": {
  "on": {"type": "boolean"},
  "geo": {"type": "boolean", "default": "off",
          "rules": [{"id": "na", "when": {"attr": "country", "op": "in", "value": ["US", "CA", "GB"]}, "serve": "on"}]},
  "half": {"type": "percentage", "percentage": 50},
  "layout": {"type": "multivariate", "variants": {"classic": 1, "pro": 2}, "default": "classic"}},
 "experiments": {"btn": {"status": "running", "variants": {"control": 50, "blue": 50},
                 "metrics": {"spend": "revenue"}}}})";

long g_calls = 2'000'000;
int g_reps = 15;

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.size() % 2 ? v[v.size() / 2] : (v[v.size() / 2 - 1] + v[v.size() / 2]) / 2;
}

/// ns per call of `body(k)` (which makes k calls), timed once.
template <typename Body>
double time_once(Body& body, long k) {
  auto start = std::chrono::steady_clock::now();
  body(k);
  auto stop = std::chrono::steady_clock::now();
  return std::chrono::duration<double, std::nano>(stop - start).count() / static_cast<double>(k);
}

/// Allocations per call of `body`.
template <typename Body>
double allocs_per_call(Body& body, long k) {
  std::uint64_t before = count_allocs::now();
  body(k);
  return static_cast<double>(count_allocs::now() - before) / static_cast<double>(k);
}

struct Figure {
  double ns;
  double allocs;
};

/// Median ns/op and allocs/op of each body, measured interleaved.
template <typename... Bodies>
std::vector<Figure> measure(long calls, Bodies&... bodies) {
  (bodies(calls / 10), ...);  // warm-up
  std::vector<std::vector<double>> samples(sizeof...(bodies));
  for (int r = 0; r < g_reps; ++r) {
    std::size_t i = 0;
    ((samples[i++].push_back(time_once(bodies, calls))), ...);
  }
  std::vector<Figure> out;
  std::size_t i = 0;
  ((out.push_back({median(samples[i++]), allocs_per_call(bodies, calls / 10)})), ...);
  return out;
}

void row(const char* name, Figure f, const char* note = "") {
  std::printf("%-46s %9.2f %10.3f   %s\n", name, f.ns, f.allocs, note);
}

void pair(const char* name, Figure wrapper, Figure raw) {
  char label[96];
  std::snprintf(label, sizeof label, "%s  wrapper", name);
  row(label, wrapper);
  char note[64];
  std::snprintf(note, sizeof note, "wrapper - raw: %+.2f ns", wrapper.ns - raw.ns);
  std::snprintf(label, sizeof label, "%s  raw C", name);
  row(label, raw, note);
}

/// Two threads, each making `k` calls of `call(ctx)` on its own context, started
/// together; ns per call per thread (wall time / k).
template <typename Call>
auto two_threads(Call call) {
  return [call](long k) {
    std::atomic<int> ready{0};
    auto work = [&](const char* user) {
      ff::Context c(user);
      c.set("country", "US");
      ready++;
      while (ready.load() < 2) {
      }
      for (long i = 0; i < k; ++i) call(c);
    };
    std::thread a(work, "user-a"), b(work, "user-b");
    a.join();
    b.join();
  };
}

}  // namespace

int main(int argc, char** argv) {
  if (argc > 1) g_calls = std::atol(argv[1]);
  if (argc > 2) g_reps = std::atoi(argv[2]);
  if (g_calls < 1000 || g_reps < 1) {
    std::fprintf(stderr, "usage: featureflags_bench [calls >= 1000] [repetitions >= 1]\n");
    return 2;
  }
  auto e = ff::Engine::create();
  e.load_json(kConfig);
  const ff_engine* raw_e = e.raw();
  ff::Context ctx("user-1234567");
  ctx.set("country", "US");
  (void)e.assign("btn", ctx);

  std::printf("featureflags %s, C++ wrapper vs raw C; median of %d x %ld calls, interleaved\n",
              ff::version().data(), g_reps, g_calls);
  std::printf("flags: on = on for everyone, geo = country in [US, CA, GB], half = 50%% split by user id\n\n");
  std::printf("%-46s %9s %10s\n", "benchmark", "ns/op", "allocs/op");

  for (std::string_view key : {std::string_view("on"), std::string_view("geo"), std::string_view("half")}) {
    auto wrapped = [&](long k) {
      for (long i = 0; i < k; ++i) keep(e.is_enabled(key, ctx, false));
    };
    auto raw = [&](long k) {
      for (long i = 0; i < k; ++i) keep(ff_is_enabled(raw_e, key.data(), key.size(), ctx.raw(), false));
    };
    auto f = measure(g_calls, wrapped, raw);
    char name[32];
    std::snprintf(name, sizeof name, "is_enabled(%.*s)", static_cast<int>(key.size()), key.data());
    pair(name, f[0], f[1]);
  }
  {
    std::string_view key = "layout";
    auto wrapped = [&](long k) {
      for (long i = 0; i < k; ++i) keep(e.variant(key, ctx));
    };
    auto raw = [&](long k) {
      for (long i = 0; i < k; ++i) {
        ff_str out;
        ff_variant(raw_e, key.data(), key.size(), ctx.raw(), &out);
        keep(out);
      }
    };
    auto f = measure(g_calls, wrapped, raw);
    pair("variant(layout)", f[0], f[1]);
  }
  {
    std::string_view key = "geo";
    auto wrapped = [&](long k) {
      for (long i = 0; i < k; ++i) keep(e.evaluate(key, ctx));
    };
    auto raw = [&](long k) {
      for (long i = 0; i < k; ++i) {
        ff_evaluation out;
        ff_evaluate(raw_e, key.data(), key.size(), ctx.raw(), &out);
        keep(out);
      }
    };
    auto f = measure(g_calls, wrapped, raw);
    pair("evaluate(geo)", f[0], f[1]);
  }
  {
    // A context rebuilt per request: reset + 3 setters + is_enabled(geo).
    auto wrapped = [&](long k) {
      for (long i = 0; i < k; ++i) {
        ctx.reset("user-1234567");
        ctx.set("country", "US").set("tier", "vip").set("volume", 2e6);
        keep(e.is_enabled("geo", ctx, false));
      }
    };
    ff_context* c = ff_context_new("user-1234567", 12);
    auto raw = [&](long k) {
      for (long i = 0; i < k; ++i) {
        ff_context_reset(c, "user-1234567", 12, nullptr);
        ff_context_set_string(c, "country", 7, "US", 2, nullptr);
        ff_context_set_string(c, "tier", 4, "vip", 3, nullptr);
        ff_context_set_number(c, "volume", 6, 2e6, nullptr);
        keep(ff_is_enabled(raw_e, "geo", 3, c, false));
      }
    };
    auto f = measure(g_calls / 4, wrapped, raw);
    pair("reset + 3 setters + is_enabled(geo)", f[0], f[1]);
    ff_context_free(c);
  }
  {
    auto assign = [&](long k) {
      for (long i = 0; i < k; ++i) keep(e.assign("btn", ctx));
    };
    auto track = [&](long k) {
      for (long i = 0; i < k; ++i) e.track("user-1234567", "spend", 12.5);
    };
    auto a = measure(g_calls, assign);
    row("assign(btn), already exposed  wrapper", a[0]);
    auto t = measure(g_calls / 4, track);
    row("track  wrapper", t[0]);
  }
  {
    auto wrapped = two_threads([&e](const ff::Context& c) { keep(e.is_enabled("geo", c, false)); });
    auto raw = two_threads([raw_e](const ff::Context& c) { keep(ff_is_enabled(raw_e, "geo", 3, c.raw(), false)); });
    auto f = measure(g_calls, wrapped, raw);
    std::printf("\ntwo threads (ns per call per thread = wall time / calls of one thread; allocs include the threads):\n");
    pair("is_enabled(geo) x2 threads", f[0], f[1]);
  }
  return 0;
}
