// A C++ program built against an unpacked release tarball with find_package(featureflags)
// (scripts/test_dist.sh), with exceptions or with -fno-exceptions (then only the Error&
// overloads exist). Exit 0 when the flag serves what the config says, 3 when the library
// is refused (another ABI), 1 otherwise.
#include <featureflags/featureflags.hpp>

#include <cstdio>

namespace ff = featureflags;

static const char kConfig[] =
    R"({"schema_version": 1, "flags": {"beta": {"type": "boolean", "rules": [{"when": )"
    R"({"attr": "country", "op": "equals", "value": "GB"}, "serve": "on"}], "default": "off"}}})";

#if FEATUREFLAGS_EXCEPTIONS
#define MODE "exceptions"
#else
#define MODE "no exceptions"
#endif

int main() {
  ff::Error err;
  auto engine = ff::Engine::create({}, err);
  if (!engine) {
    std::fprintf(stderr, "refused: %s\n", err.what());
    return err.status() == ff::Status::InvalidState ? 3 : 1;
  }
  auto ctx = ff::Context::create("user-42", err);
  if (!ctx || !engine->load_json(kConfig, err) || !ctx->set("country", "GB", err)) {
    std::fprintf(stderr, "%s\n", err.what());
    return 1;
  }
  if (engine->load_json("{", err) || err.status() != ff::Status::InvalidConfig) return 1;
  const ff::Evaluation ev = engine->evaluate("beta", *ctx);
#if FEATUREFLAGS_EXCEPTIONS
  try {
    engine->load_json("{");
    return 1;
  } catch (const ff::Error& e) {
    if (e.status() != ff::Status::InvalidConfig) return 1;
  }
#endif
  std::printf("C++ (%s): featureflags %s: beta = %.*s (%s)\n", MODE, ff::version().data(),
              static_cast<int>(ev.variant.size()), ev.variant.data(), ff::to_string(ev.reason).data());
  return ev.variant == "on" && ev.reason == ff::Reason::RuleMatch ? 0 : 1;
}
