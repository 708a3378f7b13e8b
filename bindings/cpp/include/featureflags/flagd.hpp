// flagd.hpp — flagd flag definitions (docs/flagd.md) for a featureflags::Engine: load a
// flagd document, give contexts structured values, evaluate with OpenFeature's reasons
// and error codes.
//
//   featureflags::load_flagd_file(engine, "flags.flagd.json");
//   ctx.set("plan", "gold");
//   featureflags::set_json(ctx, "user", R"({"name": "jack"})");
//   auto r = featureflags::evaluate_flagd(engine, "new-checkout", ctx, featureflags::FlagdType::Boolean);
//   bool on = r.value_json ? *r.value_json == "true" : false;
#ifndef FEATUREFLAGS_FLAGD_HPP
#define FEATUREFLAGS_FLAGD_HPP

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "featureflags/featureflags.hpp"

namespace featureflags {

/// Why a flagd evaluation returned what it did (ff_flagd_reason).
enum class FlagdReason : std::uint32_t { Static = 0, TargetingMatch = 1, Default = 2, Disabled = 3, Error = 4 };

/// What went wrong when the reason is Error (ff_flagd_error_code).
enum class FlagdErrorCode : std::uint32_t { None = 0, FlagNotFound = 1, ParseError = 2, TypeMismatch = 3, General = 4 };

/// The type a flag is asked for (ff_flagd_type); Any checks nothing.
enum class FlagdType : std::uint32_t { Any = 0, Boolean = 1, String = 2, Integer = 3, Float = 4, Object = 5 };

/// One flagd evaluation, copied out of the library.
struct FlagdResult {
  /// The resolved value as JSON; nullopt means use your default.
  std::optional<std::string> value_json;
  /// The resolved variant ("" with your default).
  std::string variant;
  FlagdReason reason = FlagdReason::Error;
  FlagdErrorCode error_code = FlagdErrorCode::None;
  /// The flag's metadata over the flag set's, as a JSON object.
  std::string metadata_json;
};

/// Evaluates flagd flag `key` for `ctx`, checking the value against `type`. Never throws.
[[nodiscard]] inline FlagdResult evaluate_flagd(const Engine& engine, std::string_view key, const Context& ctx,
                                                FlagdType type = FlagdType::Any) {
  ff_flagd_result out;
  ff_flagd_evaluate(engine.raw(), key.data(), key.size(), ctx.raw(), static_cast<std::uint32_t>(type), &out);
  detail::Bytes variant, value, metadata;
  variant.b = out.variant;
  value.b = out.value_json;
  metadata.b = out.metadata_json;
  FlagdResult r;
  r.reason = static_cast<FlagdReason>(out.reason);
  r.error_code = static_cast<FlagdErrorCode>(out.error_code);
  r.variant = variant.str();
  if (value.b.ptr != nullptr) r.value_json = value.str();
  r.metadata_json = metadata.str();
  return r;
}

#if FEATUREFLAGS_EXCEPTIONS
/// Loads a flagd document, replacing the flagd flags loaded before (native flags stay).
/// Throws Error(Status::InvalidConfig) for a document that is not one; a single invalid
/// flag only evaluates to FlagdErrorCode::ParseError.
inline void load_flagd_json(const Engine& engine, std::string_view json) {
  detail::call(ff_engine_load_flagd_json, engine.raw(), json.data(), json.size());
}
/// Reads and loads a flagd document (Status::Io when unreadable).
inline void load_flagd_file(const Engine& engine, std::string_view path) {
  detail::call(ff_engine_load_flagd_file, engine.raw(), path.data(), path.size());
}
/// Sets a structured attribute (an object, array or null as JSON) for flagd targeting's
/// dotted paths (`user.name`); a JSON scalar is stored like Context::set.
inline Context& set_json(Context& ctx, std::string_view name, std::string_view json) {
  detail::call(ff_context_set_json, ctx.raw(), name.data(), name.size(), json.data(), json.size());
  return ctx;
}
#endif

// The same without exceptions: false, with the reason in `err`, on failure.
inline bool load_flagd_json(const Engine& engine, std::string_view json, Error& err) {
  return detail::call_into(err, ff_engine_load_flagd_json, engine.raw(), json.data(), json.size());
}
inline bool load_flagd_file(const Engine& engine, std::string_view path, Error& err) {
  return detail::call_into(err, ff_engine_load_flagd_file, engine.raw(), path.data(), path.size());
}
inline bool set_json(Context& ctx, std::string_view name, std::string_view json, Error& err) {
  return detail::call_into(err, ff_context_set_json, ctx.raw(), name.data(), name.size(), json.data(), json.size());
}

}  // namespace featureflags

#endif  // FEATUREFLAGS_FLAGD_HPP
