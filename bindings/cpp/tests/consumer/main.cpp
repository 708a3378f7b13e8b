// Loads a config (argv[1]) through the installed or added binding and evaluates a flag.
#include <featureflags/featureflags.hpp>

#include <cstdio>

int main(int argc, char** argv) {
  if (argc < 2) return 2;
  try {
    auto engine = featureflags::Engine::create();
    engine.load_file(argv[1]);
    featureflags::Context ctx("consumer");
    auto ev = engine.evaluate("no-such-flag", ctx);
    std::printf("featureflags %s, revision %s, %s\n", featureflags::version().data(), engine.revision().c_str(),
                featureflags::to_string(ev.reason).data());
    return ev.reason == featureflags::Reason::FlagNotFound && !engine.revision().empty() ? 0 : 1;
  } catch (const featureflags::Error& e) {
    std::fprintf(stderr, "%s\n", e.what());
    return 1;
  }
}
