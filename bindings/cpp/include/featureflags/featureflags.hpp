// featureflags.hpp — header-only C++17 wrapper over the featureflags C API.
//
// Error style: fallible operations that are not on a hot path (creating an engine,
// loading configs, setting context attributes, overrides, experiment/rollout actions)
// throw featureflags::Error, carrying the ff_status and the engine's message.
// Evaluation never fails and never throws: is_enabled / variant / evaluate / assign are
// noexcept, allocate nothing in the wrapper and compile to the C call.
//
// Lifetimes: Engine and Context are move-only owners of their C handles. The
// std::string_view returned by variant(), assign() and Evaluation::variant / rule_id
// points into the engine's interned storage and stays valid until the Engine is
// destroyed (across reloads). An Engine may be used from many threads at once; a Context
// by one thread at a time.
#ifndef FEATUREFLAGS_HPP
#define FEATUREFLAGS_HPP

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>

#include "featureflags.h"

namespace featureflags {

/// Why an evaluation served what it served (ff_reason).
enum class Reason : std::uint32_t {
  Default = FF_REASON_DEFAULT,
  RuleMatch = FF_REASON_RULE_MATCH,
  Split = FF_REASON_SPLIT,
  Disabled = FF_REASON_DISABLED,
  ScheduledOff = FF_REASON_SCHEDULED_OFF,
  PrerequisiteFailed = FF_REASON_PREREQUISITE_FAILED,
  Override = FF_REASON_OVERRIDE,
  FlagNotFound = FF_REASON_FLAG_NOT_FOUND,
  TypeMismatch = FF_REASON_TYPE_MISMATCH,
  Error = FF_REASON_ERROR,
};

/// The reason's name as in the docs and test vectors ("RULE_MATCH", ...).
[[nodiscard]] inline std::string_view to_string(Reason r) noexcept {
  switch (r) {
    case Reason::Default: return "DEFAULT";
    case Reason::RuleMatch: return "RULE_MATCH";
    case Reason::Split: return "SPLIT";
    case Reason::Disabled: return "DISABLED";
    case Reason::ScheduledOff: return "SCHEDULED_OFF";
    case Reason::PrerequisiteFailed: return "PREREQUISITE_FAILED";
    case Reason::Override: return "OVERRIDE";
    case Reason::FlagNotFound: return "FLAG_NOT_FOUND";
    case Reason::TypeMismatch: return "TYPE_MISMATCH";
    case Reason::Error: return "ERROR";
  }
  return "UNKNOWN";
}

/// A failed call: the ff_status and the engine's message.
class Error : public std::runtime_error {
 public:
  Error(ff_status status, const std::string& message) : std::runtime_error(message), status_(status) {}
  [[nodiscard]] ff_status status() const noexcept { return status_; }

 private:
  ff_status status_;
};

namespace detail {

// `err` is taken by reference and read only here, after the call that fills it was
// evaluated (argument evaluation order is unspecified).
inline void check(ff_status status, ff_error*& err) {
  if (status == FF_STATUS_OK) return;
  std::string message = err != nullptr ? ff_error_message(err) : "featureflags: error";
  ff_error_free(err);
  throw Error(status, message);
}

[[nodiscard]] inline std::string_view view(ff_str s) noexcept {
  return s.ptr == nullptr ? std::string_view() : std::string_view(s.ptr, s.len);
}

/// Takes ownership of ff_bytes and returns them as a string.
[[nodiscard]] inline std::string take(ff_bytes& b) {
  std::string out = b.ptr == nullptr ? std::string() : std::string(reinterpret_cast<const char*>(b.ptr), b.len);
  ff_bytes_free(&b);
  return out;
}

inline void check(ff_status status) {
  ff_error* none = nullptr;
  check(status, none);
}

struct EngineDeleter {
  void operator()(ff_engine* e) const noexcept { ff_engine_free(e); }
};
struct ContextDeleter {
  void operator()(ff_context* c) const noexcept { ff_context_free(c); }
};

}  // namespace detail

/// The detailed result of Engine::evaluate.
struct Evaluation {
  /// The served variant (empty with has_variant false when nothing is served).
  std::string_view variant;
  bool has_variant = false;
  Reason reason = Reason::Error;
  /// The matched rule's index, if a rule matched.
  std::optional<std::uint32_t> rule_index;
  /// The matched rule's id (empty when none).
  std::string_view rule_id;
};

/// A user being evaluated. Move-only; one thread at a time; reuse it with reset().
class Context {
 public:
  explicit Context(std::string_view user_id = {})
      : ptr_(ff_context_new(user_id.data(), user_id.size())) {
    if (!ptr_) throw Error(FF_STATUS_INVALID_ARGUMENT, "user_id: invalid UTF-8");
  }

  /// Starts over for another user, keeping buffers (no allocation after warm-up).
  void reset(std::string_view user_id) {
    ff_error* err = nullptr;
    detail::check(ff_context_reset(ptr_.get(), user_id.data(), user_id.size(), &err), err);
  }
  /// Sets a string attribute ("user_id" replaces the id).
  Context& set(std::string_view name, std::string_view value) {
    ff_error* err = nullptr;
    detail::check(ff_context_set_string(ptr_.get(), name.data(), name.size(), value.data(), value.size(), &err), err);
    return *this;
  }
  /// Sets a string attribute from a C string.
  Context& set(std::string_view name, const char* value) { return set(name, std::string_view(value)); }
  /// Sets a number attribute; NaN and infinities throw Error(FF_STATUS_INVALID_ARGUMENT).
  Context& set(std::string_view name, double value) {
    ff_error* err = nullptr;
    detail::check(ff_context_set_number(ptr_.get(), name.data(), name.size(), value, &err), err);
    return *this;
  }
  /// Sets a boolean attribute.
  Context& set(std::string_view name, bool value) {
    ff_error* err = nullptr;
    detail::check(ff_context_set_bool(ptr_.get(), name.data(), name.size(), value, &err), err);
    return *this;
  }

  /// The C handle (owned by this object).
  [[nodiscard]] const ff_context* raw() const noexcept { return ptr_.get(); }

 private:
  std::unique_ptr<ff_context, detail::ContextDeleter> ptr_;
};

/// Where a rollout stands (ff_rollout_info).
using RolloutInfo = ff_rollout_info;

/// A feature-flag engine. Move-only; thread-safe.
class Engine {
 public:
  /// Creates an engine; `options_json` is empty for the defaults.
  [[nodiscard]] static Engine create(std::string_view options_json = {}) {
    ff_error* err = nullptr;
    ff_engine* e = ff_engine_new(options_json.data(), options_json.size(), &err);
    if (e == nullptr) detail::check(FF_STATUS_INVALID_ARGUMENT, err);
    return Engine(e);
  }

  Engine(Engine&&) noexcept = default;
  Engine& operator=(Engine&&) noexcept = default;
  Engine(const Engine&) = delete;
  Engine& operator=(const Engine&) = delete;
  ~Engine() { set_listener(nullptr); }

  /// Validates and installs a config; throws Error(FF_STATUS_INVALID_CONFIG) listing
  /// every problem, and the previous config keeps serving.
  void load_json(std::string_view json) {
    ff_error* err = nullptr;
    detail::check(ff_engine_load_json(ptr_.get(), json.data(), json.size(), &err), err);
  }
  /// Reads and installs a config file.
  void load_file(std::string_view path) {
    ff_error* err = nullptr;
    detail::check(ff_engine_load_file(ptr_.get(), path.data(), path.size(), &err), err);
  }
  /// Fixes the engine clock at unix milliseconds (0: system clock).
  void set_time(std::int64_t unix_ms) { detail::check(ff_engine_set_time(ptr_.get(), unix_ms)); }

  /// True when a boolean-like flag serves "on"; `def` otherwise.
  [[nodiscard]] inline bool is_enabled(std::string_view key, const Context& ctx, bool def) const noexcept {
    return ff_is_enabled(ptr_.get(), key.data(), key.size(), ctx.raw(), def);
  }
  /// The served variant (interned: valid until the engine is destroyed), or empty.
  [[nodiscard]] inline std::string_view variant(std::string_view key, const Context& ctx) const noexcept {
    ff_str out;
    ff_variant(ptr_.get(), key.data(), key.size(), ctx.raw(), &out);
    return detail::view(out);
  }
  /// The served variant, or `def` when nothing is served.
  [[nodiscard]] inline std::string_view variant(std::string_view key, const Context& ctx, std::string_view def) const noexcept {
    ff_str out;
    ff_variant(ptr_.get(), key.data(), key.size(), ctx.raw(), &out);
    return out.ptr == nullptr ? def : detail::view(out);
  }
  /// Detailed evaluation.
  [[nodiscard]] Evaluation evaluate(std::string_view key, const Context& ctx) const noexcept {
    ff_evaluation out;
    ff_evaluate(ptr_.get(), key.data(), key.size(), ctx.raw(), &out);
    Evaluation ev;
    ev.variant = detail::view(out.variant);
    ev.has_variant = out.variant.ptr != nullptr;
    ev.reason = static_cast<Reason>(out.reason);
    if (out.rule_index != UINT32_MAX) ev.rule_index = out.rule_index;
    ev.rule_id = detail::view(out.rule_id);
    return ev;
  }
  /// The served variant's JSON value ("" when nothing is served).
  [[nodiscard]] std::string value_json(std::string_view key, const Context& ctx) const {
    ff_bytes out{nullptr, 0};
    ff_flag_value_json(ptr_.get(), key.data(), key.size(), ctx.raw(), &out);
    return detail::take(out);
  }
  /// Forces a flag's variant until cleared, across reloads.
  void set_override(std::string_view key, std::string_view variant) {
    ff_error* err = nullptr;
    detail::check(ff_flag_set_override(ptr_.get(), key.data(), key.size(), variant.data(), variant.size(), &err), err);
  }
  /// Removes a flag's override.
  void clear_override(std::string_view key) {
    ff_error* err = nullptr;
    detail::check(ff_flag_clear_override(ptr_.get(), key.data(), key.size(), &err), err);
  }

  /// Enrolls ctx in an experiment: the variant, or nullopt when not enrolled.
  [[nodiscard]] std::optional<std::string_view> assign(std::string_view key, const Context& ctx) const noexcept {
    ff_str out;
    if (!ff_experiment_assign(ptr_.get(), key.data(), key.size(), ctx.raw(), &out)) return std::nullopt;
    return detail::view(out);
  }
  /// Records a metric value for a user.
  void track(std::string_view user_id, std::string_view metric, double value) {
    ff_error* err = nullptr;
    detail::check(ff_track(ptr_.get(), user_id.data(), user_id.size(), metric.data(), metric.size(), value, &err), err);
  }
  /// The experiment's results as JSON (docs/experiments.md).
  [[nodiscard]] std::string experiment_results_json(std::string_view key) const {
    ff_bytes out{nullptr, 0};
    ff_error* err = nullptr;
    detail::check(ff_experiment_results_json(ptr_.get(), key.data(), key.size(), &out, &err), err);
    return detail::take(out);
  }
  /// Declares an experiment's winner.
  void declare_winner(std::string_view key, std::string_view variant) {
    ff_error* err = nullptr;
    detail::check(ff_declare_winner(ptr_.get(), key.data(), key.size(), variant.data(), variant.size(), &err), err);
  }

  /// A rollout's status.
  [[nodiscard]] RolloutInfo rollout_status(std::string_view key) const {
    RolloutInfo info{};
    ff_error* err = nullptr;
    detail::check(ff_rollout_status(ptr_.get(), key.data(), key.size(), &info, &err), err);
    return info;
  }
  /// Reports a rollout's health.
  void report_health(std::string_view key, double error_rate, double p99_latency_ms, std::uint64_t samples) {
    ff_error* err = nullptr;
    detail::check(ff_rollout_report_health(ptr_.get(), key.data(), key.size(), error_rate, p99_latency_ms, samples, &err), err);
  }
  void advance_rollout(std::string_view key) { action(ff_rollout_advance, key); }
  void pause_rollout(std::string_view key) { action(ff_rollout_pause, key); }
  void resume_rollout(std::string_view key) { action(ff_rollout_resume, key); }
  void rollback_rollout(std::string_view key) { action(ff_rollout_rollback, key); }
  /// Whether ctx is inside a rollout's current percentage.
  [[nodiscard]] bool in_rollout(std::string_view key, const Context& ctx) const noexcept {
    return ff_in_rollout(ptr_.get(), key.data(), key.size(), ctx.raw());
  }

  /// Removes up to `max` queued events (0: all) as NDJSON.
  [[nodiscard]] std::string drain_events(std::size_t max = 0) {
    ff_bytes out{nullptr, 0};
    detail::check(ff_events_drain(ptr_.get(), max, &out));
    return detail::take(out);
  }
  /// A flag's audit trail as a JSON array.
  [[nodiscard]] std::string history_json(std::string_view key) const {
    ff_bytes out{nullptr, 0};
    ff_error* err = nullptr;
    detail::check(ff_flag_history_json(ptr_.get(), key.data(), key.size(), &out, &err), err);
    return detail::take(out);
  }

  /// Delivers every event synchronously to `listener(json)` instead of the queue (an
  /// empty function removes it). It runs on the thread that caused the event, possibly
  /// several at once, and must not call the engine's mutating functions
  /// (docs/events.md). The engine keeps the function alive while registered.
  void set_listener(std::function<void(std::string_view)> listener) {
    if (!ptr_) return;
    if (!listener) {
      ff_engine_set_listener(ptr_.get(), nullptr, nullptr);
      listener_.reset();
      return;
    }
    auto owned = std::make_unique<std::function<void(std::string_view)>>(std::move(listener));
    detail::check(ff_engine_set_listener(ptr_.get(), &Engine::trampoline, owned.get()));
    listener_ = std::move(owned);
  }

  /// The C handle (owned by this object).
  [[nodiscard]] const ff_engine* raw() const noexcept { return ptr_.get(); }

 private:
  explicit Engine(ff_engine* e) : ptr_(e) {}

  void action(ff_status (*fn)(const ff_engine*, const char*, size_t, ff_error**), std::string_view key) {
    ff_error* err = nullptr;
    detail::check(fn(ptr_.get(), key.data(), key.size(), &err), err);
  }

  static void trampoline(void* user_data, const char* json, size_t len) {
    (*static_cast<std::function<void(std::string_view)>*>(user_data))(std::string_view(json, len));
  }

  std::unique_ptr<ff_engine, detail::EngineDeleter> ptr_;
  std::unique_ptr<std::function<void(std::string_view)>> listener_;
};

/// bucket(salt, key) of DESIGN §4.
[[nodiscard]] inline std::uint32_t bucket(std::string_view salt, std::string_view key) {
  std::uint32_t out = 0;
  ff_error* err = nullptr;
  detail::check(ff_bucket(salt.data(), salt.size(), key.data(), key.size(), &out, &err), err);
  return out;
}

/// Analysis of aggregates computed elsewhere (DESIGN §5) as JSON.
[[nodiscard]] inline std::string analyze_json(std::string_view input) {
  ff_bytes out{nullptr, 0};
  ff_error* err = nullptr;
  detail::check(ff_analyze_json(input.data(), input.size(), &out, &err), err);
  return detail::take(out);
}

/// Users per variant to detect a relative change of a conversion rate.
[[nodiscard]] inline double sample_size(double baseline, double mde, double alpha, double power) {
  double out = 0;
  ff_error* err = nullptr;
  detail::check(ff_sample_size(baseline, mde, alpha, power, &out, &err), err);
  return out;
}

}  // namespace featureflags

#endif  // FEATUREFLAGS_HPP
