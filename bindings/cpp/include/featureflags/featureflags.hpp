// featureflags.hpp — header-only C++17 wrapper over the featureflags C API
// (include/featureflags.h), in the style of wasmtime.hh.
//
// Error style (one rule, everywhere): evaluation never fails and never throws —
// is_enabled / variant / evaluate / assign / in_rollout are noexcept, inline, allocate
// nothing and compile to the C call (on any problem they return the caller's default,
// and evaluate() says why in its Reason). Every other call that can fail (creating an
// engine or a context, loading configs, context setters, overrides, experiment and
// rollout actions, reports) throws featureflags::Error, carrying the Status and the
// engine's message. Those failures are caller or operator errors (a bad config, invalid
// UTF-8, a NaN), not control flow, so exceptions cost nothing on the success path.
//
// Without exceptions (-fno-exceptions): every throwing call also has an overload that
// takes `Error& err` as its last argument and throws nothing: it returns false (or
// std::nullopt) and fills `err` on failure; Engine::create(options, err) and
// Context::create(user_id, err) return std::optional. With exceptions disabled (or
// FEATUREFLAGS_EXCEPTIONS defined to 0) only those overloads are declared.
//
// Ownership: Engine and Context are move-only owners of their C handles
// (std::unique_ptr with a deleter). A moved-from object holds no handle: it may be
// destroyed or assigned to; evaluating with it returns the caller's default
// (Reason::Error) and its fallible calls throw Error(Status::InvalidArgument).
//
// Lifetimes: the std::string_view returned by variant(), assign(), string() and in
// Evaluation (variant, rule_id) points into the engine's interned storage and stays valid
// until the Engine is destroyed, across reloads; so does the StringId that names each
// such string. Strings passed in are borrowed for the call only.
//
// ABI: Engine::create and the Context constructor throw Error(Status::InvalidState) when
// the loaded libfeatureflags was built for another ABI than the featureflags.h this header
// was compiled with (abi_version() != FF_ABI_VERSION).
//
// Threads: an Engine may be used from many threads at once; a Context by one thread at
// a time.
#ifndef FEATUREFLAGS_HPP
#define FEATUREFLAGS_HPP

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <initializer_list>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include "featureflags.h"

#ifndef FEATUREFLAGS_EXCEPTIONS
#if defined(__cpp_exceptions) || defined(__EXCEPTIONS) || defined(_CPPUNWIND)
#define FEATUREFLAGS_EXCEPTIONS 1
#else
#define FEATUREFLAGS_EXCEPTIONS 0
#endif
#endif

static_assert(FF_ABI_VERSION == 2, "featureflags.hpp wraps ABI version 2 of featureflags.h");

namespace featureflags {

// ---------------------------------------------------------------------------------------
// Status, Reason, Error
// ---------------------------------------------------------------------------------------

/// Result of a fallible call (ff_status; stable numbers).
enum class Status : std::uint32_t {
  Ok = FF_STATUS_OK,
  InvalidArgument = FF_STATUS_INVALID_ARGUMENT,
  InvalidConfig = FF_STATUS_INVALID_CONFIG,
  NotFound = FF_STATUS_NOT_FOUND,
  InvalidState = FF_STATUS_INVALID_STATE,
  Io = FF_STATUS_IO,
  Panic = FF_STATUS_PANIC,
};

/// The status's C name without the prefix ("INVALID_CONFIG", ...; "UNKNOWN" for a
/// number that is no status), from the library (ff_status_name).
[[nodiscard]] inline std::string_view to_string(Status s) noexcept {
  return ff_status_name(static_cast<std::uint32_t>(s));
}

/// Why an evaluation served what it served (ff_reason; stable numbers).
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

/// The reason's name as in the docs and test vectors ("RULE_MATCH", ...; "UNKNOWN" for a
/// number that is no reason), from the library (ff_reason_name).
[[nodiscard]] inline std::string_view to_string(Reason r) noexcept {
  return ff_reason_name(static_cast<std::uint32_t>(r));
}

/// The rollout state's name as in events and history ("rolled_back", ...; "unknown" for
/// a number that is no state), from the library (ff_rollout_state_name).
[[nodiscard]] inline std::string_view to_string(ff_rollout_state s) noexcept {
  return ff_rollout_state_name(static_cast<std::uint32_t>(s));
}

/// A failed call: the Status and the engine's message (what()). An invalid config's
/// message lists every problem, one "<json path>: <message>" per line.
/// Thrown, or filled in by the `Error&` overloads (where a default Error, Status::Ok,
/// says nothing failed).
class Error : public std::runtime_error {
 public:
  Error() : std::runtime_error(""), status_(Status::Ok) {}
  Error(Status status, const std::string& message) : std::runtime_error(message), status_(status) {}
  [[nodiscard]] Status status() const noexcept { return status_; }

 private:
  Status status_;
};

/// The library version ("0.1.0"; FF_VERSION of the header it was built with).
[[nodiscard]] inline std::string_view version() noexcept { return ff_version(); }

/// The ABI version of the loaded library (ff_abi_version); this header needs
/// FF_ABI_VERSION.
[[nodiscard]] inline std::uint32_t abi_version() noexcept { return ff_abi_version(); }

/// Names a string the engine interned (a variant key, a rule id) for the Engine's
/// lifetime; Engine::string resolves it. FF_NO_STRING names none.
using StringId = ff_string_id;

namespace detail {

/// False, with Error(Status::InvalidState) in `out`, unless the library's ABI is the one
/// this header wraps.
inline bool check_abi(std::uint32_t library, std::uint32_t header, Error& out) {
  if (library == header) return true;
  out = Error(Status::InvalidState, "featureflags: libfeatureflags has ABI version " + std::to_string(library) +
                                        ", featureflags.hpp was compiled for ABI version " + std::to_string(header));
  return false;
}

inline bool check_abi(Error& out) { return check_abi(ff_abi_version(), FF_ABI_VERSION, out); }

/// False for a failed status, with the Error in `out`, taking (and freeing) the ff_error
/// if any. `err` is read only here, after the call that fills it has returned.
inline bool check(ff_status status, ff_error*& err, Error& out) {
  if (status == FF_STATUS_OK) return true;
  std::string message = err != nullptr ? ff_error_message(err) : "";
  ff_error_free(err);
  err = nullptr;
  if (message.empty()) message = "featureflags: " + std::string(to_string(static_cast<Status>(status)));
  out = Error(static_cast<Status>(status), message);
  return false;
}

inline bool check(ff_status status, Error& out) {
  ff_error* none = nullptr;
  return check(status, none, out);
}

/// Calls `fn(args..., &err)`; false, with the Error in `out`, on failure.
template <typename Fn, typename... Args>
inline bool call_into(Error& out, Fn fn, Args... args) {
  ff_error* err = nullptr;
  return check(fn(args..., &err), err, out);
}

#if FEATUREFLAGS_EXCEPTIONS
/// Throws Error(Status::InvalidState) unless the library's ABI is the one this header wraps.
inline void check_abi(std::uint32_t library, std::uint32_t header) {
  Error e;
  if (!check_abi(library, header, e)) throw e;
}

inline void check_abi() { check_abi(ff_abi_version(), FF_ABI_VERSION); }

/// Throws Error for a failed status (see check above).
inline void check(ff_status status, ff_error*& err) {
  Error e;
  if (!check(status, err, e)) throw e;
}

inline void check(ff_status status) {
  ff_error* none = nullptr;
  check(status, none);
}

/// Calls `fn(args..., &err)` and throws on failure.
template <typename Fn, typename... Args>
inline void call(Fn fn, Args... args) {
  ff_error* err = nullptr;
  check(fn(args..., &err), err);
}
#endif

/// A borrowed ff_str as a view ({NULL, 0} is the empty view: a valid empty range).
[[nodiscard]] inline std::string_view view(ff_str s) noexcept { return std::string_view(s.ptr, s.len); }

/// Owns an ff_bytes until taken as a std::string (freed even if the copy throws).
struct Bytes {
  ff_bytes b{nullptr, 0};
  Bytes() = default;
  Bytes(const Bytes&) = delete;
  Bytes& operator=(const Bytes&) = delete;
  ~Bytes() { ff_bytes_free(&b); }
  [[nodiscard]] std::string str() const {
    return b.ptr == nullptr ? std::string() : std::string(reinterpret_cast<const char*>(b.ptr), b.len);
  }
};

struct EngineDeleter {
  void operator()(ff_engine* e) const noexcept { ff_engine_free(e); }
};
struct ContextDeleter {
  void operator()(ff_context* c) const noexcept { ff_context_free(c); }
};
struct FlagListDeleter {
  void operator()(ff_flag_list* l) const noexcept { ff_flag_list_free(l); }
};

/// How many keys a batch call takes at once: the key pointers and lengths (and the
/// results) live on the stack.
inline constexpr std::size_t batch_chunk = 32;

/// Calls `call(ptrs, lens, done, m)` for each run of up to batch_chunk of the `n` keys,
/// with the run's pointers and lengths laid out for the C call; false as soon as one
/// call is.
template <typename Call>
bool in_chunks(const std::string_view* keys, std::size_t n, Call&& call) noexcept {
  const char* ptrs[batch_chunk];
  std::size_t lens[batch_chunk];
  for (std::size_t done = 0; done < n;) {
    std::size_t m = n - done < batch_chunk ? n - done : batch_chunk;
    for (std::size_t i = 0; i < m; i++) {
      ptrs[i] = keys[done + i].data();
      lens[i] = keys[done + i].size();
    }
    if (!call(ptrs, lens, done, m)) return false;
    done += m;
  }
  return true;
}
}  // namespace detail

// ---------------------------------------------------------------------------------------
// Context
// ---------------------------------------------------------------------------------------

/// A user being evaluated: a user id and typed attributes. Move-only; one thread at a
/// time. Rebuild it per request with reset() + set(): no allocation after warm-up.
class Context {
 public:
  /// A context for `user_id`; throws Error(Status::InvalidArgument) with the library's
  /// message for invalid UTF-8.
#if FEATUREFLAGS_EXCEPTIONS
  explicit Context(std::string_view user_id) {
    detail::check_abi();
    ff_context* c = nullptr;
    detail::call(ff_context_create, user_id.data(), user_id.size(), &c);
    ptr_.reset(c);
  }
#endif
  /// A context for `user_id`, or nullopt with the reason in `err` (invalid UTF-8, or a
  /// library of another ABI).
  [[nodiscard]] static std::optional<Context> create(std::string_view user_id, Error& err) {
    ff_context* c = nullptr;
    if (!detail::check_abi(err) || !detail::call_into(err, ff_context_create, user_id.data(), user_id.size(), &c)) {
      return std::nullopt;
    }
    return Context(c);
  }

  Context(Context&&) noexcept = default;
  Context& operator=(Context&&) noexcept = default;
  Context(const Context&) = delete;
  Context& operator=(const Context&) = delete;
  ~Context() = default;

#if FEATUREFLAGS_EXCEPTIONS
  /// Starts over for another user, removing every attribute but keeping the buffers.
  Context& reset(std::string_view user_id) {
    detail::call(ff_context_reset, ptr_.get(), user_id.data(), user_id.size());
    return *this;
  }
  /// Sets a string attribute (the name "user_id" replaces the user id).
  Context& set(std::string_view name, std::string_view value) {
    detail::call(ff_context_set_string, ptr_.get(), name.data(), name.size(), value.data(), value.size());
    return *this;
  }
  /// Sets a string attribute from a C string (not a bool).
  Context& set(std::string_view name, const char* value) { return set(name, std::string_view(value)); }
  /// Sets a string attribute from a std::string.
  Context& set(std::string_view name, const std::string& value) { return set(name, std::string_view(value)); }
  /// Sets a number attribute; NaN and infinities throw Error(Status::InvalidArgument).
  Context& set(std::string_view name, double value) {
    detail::call(ff_context_set_number, ptr_.get(), name.data(), name.size(), value);
    return *this;
  }
  /// Sets a number attribute from any integer or float type (as a double).
  template <typename T, std::enable_if_t<std::is_arithmetic_v<T> && !std::is_same_v<T, bool> &&
                                             !std::is_same_v<T, double>, int> = 0>
  Context& set(std::string_view name, T value) {
    return set(name, static_cast<double>(value));
  }
  /// Sets a boolean attribute.
  Context& set(std::string_view name, bool value) {
    detail::call(ff_context_set_bool, ptr_.get(), name.data(), name.size(), value);
    return *this;
  }
#endif

  // The same without exceptions: false, with the reason in `err`, on failure.
  bool reset(std::string_view user_id, Error& err) {
    return detail::call_into(err, ff_context_reset, ptr_.get(), user_id.data(), user_id.size());
  }
  bool set(std::string_view name, std::string_view value, Error& err) {
    return detail::call_into(err, ff_context_set_string, ptr_.get(), name.data(), name.size(), value.data(),
                             value.size());
  }
  bool set(std::string_view name, const char* value, Error& err) { return set(name, std::string_view(value), err); }
  bool set(std::string_view name, const std::string& value, Error& err) {
    return set(name, std::string_view(value), err);
  }
  bool set(std::string_view name, double value, Error& err) {
    return detail::call_into(err, ff_context_set_number, ptr_.get(), name.data(), name.size(), value);
  }
  template <typename T, std::enable_if_t<std::is_arithmetic_v<T> && !std::is_same_v<T, bool> &&
                                             !std::is_same_v<T, double>, int> = 0>
  bool set(std::string_view name, T value, Error& err) {
    return set(name, static_cast<double>(value), err);
  }
  bool set(std::string_view name, bool value, Error& err) {
    return detail::call_into(err, ff_context_set_bool, ptr_.get(), name.data(), name.size(), value);
  }

  /// False once moved from.
  [[nodiscard]] explicit operator bool() const noexcept { return ptr_ != nullptr; }
  /// The C handle (owned by this object; NULL once moved from).
  [[nodiscard]] const ff_context* raw() const noexcept { return ptr_.get(); }
  [[nodiscard]] ff_context* raw() noexcept { return ptr_.get(); }

 private:
  explicit Context(ff_context* c) noexcept : ptr_(c) {}

  std::unique_ptr<ff_context, detail::ContextDeleter> ptr_;
};

// ---------------------------------------------------------------------------------------
// Engine
// ---------------------------------------------------------------------------------------

/// The detailed result of Engine::evaluate. The views point into the engine's interned
/// storage (valid until the Engine is destroyed).
struct Evaluation {
  /// The served variant; empty (and has_variant false) when nothing is served.
  std::string_view variant;
  bool has_variant = false;
  Reason reason = Reason::Error;
  /// The matched rule's index; nullopt when no rule matched.
  std::optional<std::uint32_t> rule_index;
  /// The matched rule's id; empty when no rule matched or the rule has no id.
  std::string_view rule_id;
};

/// The result of Engine::evaluate_value: the detail of one evaluation, the string ids of
/// its variant and rule id, and the served variant's value from the same evaluation.
struct ValueEvaluation {
  Evaluation detail;
  /// Names `detail.variant` (FF_NO_STRING when nothing is served).
  StringId variant_string_id = FF_NO_STRING;
  /// Names `detail.rule_id` (FF_NO_STRING when no rule matched).
  StringId rule_id_string_id = FF_NO_STRING;
  /// The served variant's value as JSON; empty when nothing is served.
  std::string value_json;
};

/// A typed value read (Engine::bool_value and siblings): the served value, or the
/// caller's default with the reason why (Reason::TypeMismatch for a value of another type).
template <typename T>
struct Typed {
  T value;
  Reason reason = Reason::Error;
};

/// An interned string and the id that names it (FF_NO_STRING and an empty view: none).
struct Interned {
  std::string_view text;
  StringId id = FF_NO_STRING;
};

/// Where a rollout stands (ff_rollout_info; state is an ff_rollout_state).
using RolloutInfo = ff_rollout_info;

/// Flag keys copied once, read with Engine::is_enabled_list(): a context remembers where
/// the keys of the last two lists it read are in the engine's current config, so reading
/// the same switches request after request skips looking each key up (about a quarter
/// of a batch of simple flags). Move-only; any number of threads may read one list at
/// once, with any engine.
class FlagList {
 public:
#if FEATUREFLAGS_EXCEPTIONS
  /// A list of `keys`, in order.
  FlagList(std::initializer_list<std::string_view> keys) : FlagList(keys.begin(), keys.size()) {}
  /// A list of the `n` keys at `keys`; throws Error(Status::InvalidArgument) for null
  /// keys with n > 0.
  FlagList(const std::string_view* keys, std::size_t n) {
    Error e;
    if (!init(keys, n, e)) throw e;
  }
#endif
  /// A list of the `n` keys at `keys`, or nullopt with the reason in `err`.
  [[nodiscard]] static std::optional<FlagList> create(const std::string_view* keys, std::size_t n, Error& err) {
    FlagList list;
    if (!list.init(keys, n, err)) return std::nullopt;
    return list;
  }

  FlagList(FlagList&&) noexcept = default;
  FlagList& operator=(FlagList&&) noexcept = default;
  FlagList(const FlagList&) = delete;
  FlagList& operator=(const FlagList&) = delete;
  ~FlagList() = default;

  /// Number of keys.
  [[nodiscard]] std::size_t size() const noexcept { return n_; }
  /// The C handle, owned by this list.
  [[nodiscard]] const ff_flag_list* raw() const noexcept { return ptr_.get(); }

 private:
  FlagList() = default;
  bool init(const std::string_view* keys, std::size_t n, Error& err) {
    if (!detail::check_abi(err)) return false;
    if (n > 0 && keys == nullptr) {
      err = Error(Status::InvalidArgument, "keys: null array");
      return false;
    }
    std::vector<const char*> ptrs(n);
    std::vector<std::size_t> lens(n);
    for (std::size_t i = 0; i < n; i++) {
      ptrs[i] = keys[i].data();
      lens[i] = keys[i].size();
    }
    ff_flag_list* list = nullptr;
    if (!detail::call_into(err, ff_flag_list_create, ptrs.data(), lens.data(), n, &list)) return false;
    ptr_.reset(list);
    n_ = n;
    return true;
  }

  std::unique_ptr<ff_flag_list, detail::FlagListDeleter> ptr_;
  std::size_t n_ = 0;
};

/// A feature-flag engine: the loaded config, overrides, clock, experiments, rollouts and
/// events. Move-only; thread-safe.
class Engine {
 public:
  using Listener = std::function<void(std::string_view event_json)>;

  /// Creates an engine with no flags. `options_json` is a JSON object
  /// (`{"max_config_bytes": 16777216}`), empty for the defaults.
#if FEATUREFLAGS_EXCEPTIONS
  [[nodiscard]] static Engine create(std::string_view options_json = {}) {
    detail::check_abi();
    ff_engine* e = nullptr;
    detail::call(ff_engine_create, options_json.data(), options_json.size(), &e);
    return Engine(e);
  }
#endif
  /// create() without exceptions: nullopt with the reason in `err` (bad options, or a
  /// library of another ABI).
  [[nodiscard]] static std::optional<Engine> create(std::string_view options_json, Error& err) {
    ff_engine* e = nullptr;
    if (!detail::check_abi(err) ||
        !detail::call_into(err, ff_engine_create, options_json.data(), options_json.size(), &e)) {
      return std::nullopt;
    }
    return Engine(e);
  }

  Engine(Engine&&) noexcept = default;
  Engine& operator=(Engine&& other) noexcept {
    if (this != &other) {
      ptr_ = std::move(other.ptr_);  // frees the old engine first, then its listener
      listener_ = std::move(other.listener_);
    }
    return *this;
  }
  Engine(const Engine&) = delete;
  Engine& operator=(const Engine&) = delete;
  ~Engine() = default;

  // ---- configuration -------------------------------------------------------------------

#if FEATUREFLAGS_EXCEPTIONS
  /// Validates and atomically installs a config. Throws Error(Status::InvalidConfig)
  /// listing every problem with its JSON path; the previous config keeps serving.
  void load_json(std::string_view json) { detail::call(ff_engine_load_json, ptr_.get(), json.data(), json.size()); }
  /// Reads and installs a config file (Status::Io when unreadable).
  void load_file(std::string_view path) { detail::call(ff_engine_load_file, ptr_.get(), path.data(), path.size()); }
  /// Fixes the engine clock at `unix_ms` milliseconds; 0 returns to the system clock.
  void set_time(std::int64_t unix_ms) { detail::check(ff_engine_set_time(ptr_.get(), unix_ms)); }
  /// Fixes the engine clock at `t` (truncated to milliseconds).
  void set_time(std::chrono::system_clock::time_point t) {
    set_time(static_cast<std::int64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count()));
  }
  /// Returns the engine to the system clock.
  void use_system_clock() { set_time(std::int64_t{0}); }
  /// Writes what a durable engine (`"state_path"` in the options) counted since its last
  /// checkpoint to its state file in one transaction (docs/durability.md): a crash loses
  /// at most what was counted after the last checkpoint that returned. A failure throws
  /// Error(Status::Io) and loses nothing: the next checkpoint writes it. Without a state
  /// file it does nothing. For a background thread that calls it, see checkpointer.hpp.
  void checkpoint() const { detail::call(ff_engine_checkpoint, ptr_.get()); }
  /// The loaded config's `revision`; empty when it has none (or nothing is loaded).
  [[nodiscard]] std::string revision() const {
    detail::Bytes out;
    detail::call(ff_engine_revision, ptr_.get(), &out.b);
    return out.str();
  }
#endif

  // ---- flags (hot path: inline, noexcept, no allocation) -------------------------------

  /// True when the boolean, percentage or kill-switch flag `key` serves "on" for `ctx`;
  /// `def` when the flag is missing, multivariate, serves nothing or an argument is invalid.
  [[nodiscard]] bool is_enabled(std::string_view key, const Context& ctx, bool def) const noexcept {
    return ff_is_enabled(ptr_.get(), key.data(), key.size(), ctx.raw(), def);
  }
  /// The served variant (interned: valid until the Engine is destroyed), or an empty
  /// view when nothing is served (see evaluate() for why).
  [[nodiscard]] std::string_view variant(std::string_view key, const Context& ctx) const noexcept {
    ff_str out;
    ff_variant(ptr_.get(), key.data(), key.size(), ctx.raw(), &out);
    return detail::view(out);
  }
  /// The served variant, or `def` when nothing is served.
  [[nodiscard]] std::string_view variant(std::string_view key, const Context& ctx, std::string_view def) const noexcept {
    ff_str out;
    ff_variant(ptr_.get(), key.data(), key.size(), ctx.raw(), &out);
    return out.ptr == nullptr ? def : std::string_view(out.ptr, out.len);
  }
  /// The served variant with the reason, and the rule that matched.
  [[nodiscard]] Evaluation evaluate(std::string_view key, const Context& ctx) const noexcept {
    ff_evaluation out;
    ff_evaluate(ptr_.get(), key.data(), key.size(), ctx.raw(), &out);
    return Evaluation{detail::view(out.variant), out.variant.ptr != nullptr, static_cast<Reason>(out.reason),
                      out.rule_index != UINT32_MAX ? std::optional<std::uint32_t>(out.rule_index) : std::nullopt,
                      detail::view(out.rule_id)};
  }
  /// The served variant with the id naming it (see string()): no allocation.
  [[nodiscard]] Interned variant_id(std::string_view key, const Context& ctx) const noexcept {
    ff_str out;
    StringId id = FF_NO_STRING;
    ff_variant_id(ptr_.get(), key.data(), key.size(), ctx.raw(), &out, &id);
    return Interned{detail::view(out), id};
  }
  /// evaluate() and value_json() from one evaluation, with the string ids: a reload or
  /// override change meanwhile cannot pair a variant with another's value. Allocates the
  /// value's string.
  [[nodiscard]] ValueEvaluation evaluate_value(std::string_view key, const Context& ctx) const {
    ff_detail out;
    detail::Bytes value;
    ff_evaluate_value(ptr_.get(), key.data(), key.size(), ctx.raw(), &out, &value.b);
    return ValueEvaluation{
        Evaluation{detail::view(out.variant), out.variant.ptr != nullptr, static_cast<Reason>(out.reason),
                   out.rule_index != UINT32_MAX ? std::optional<std::uint32_t>(out.rule_index) : std::nullopt,
                   detail::view(out.rule_id)},
        out.variant_string_id, out.rule_id_string_id, value.str()};
  }
  /// The string `id` names (valid until the Engine is destroyed), or nullopt for an id
  /// this engine never handed out.
  [[nodiscard]] std::optional<std::string_view> string(StringId id) const noexcept {
    ff_str s = ff_engine_string(ptr_.get(), id);
    if (s.ptr == nullptr) return std::nullopt;
    return detail::view(s);
  }
  /// The served variant's value as JSON (boolean-like flags: "true" / "false"); empty
  /// when nothing is served. Allocates the returned string.
  [[nodiscard]] std::string value_json(std::string_view key, const Context& ctx) const {
    detail::Bytes out;
    ff_flag_value_json(ptr_.get(), key.data(), key.size(), ctx.raw(), &out.b);
    return out.str();
  }
  /// The served variant's value when it is a JSON boolean, else `def`, with the reason.
  /// Parses no JSON and allocates nothing.
  [[nodiscard]] Typed<bool> bool_value(std::string_view key, const Context& ctx, bool def) const noexcept {
    Typed<bool> r{def, Reason::Error};
    r.reason = static_cast<Reason>(ff_flag_bool(ptr_.get(), key.data(), key.size(), ctx.raw(), def, &r.value));
    return r;
  }
  /// The served variant's value when it is a JSON number, else `def`, as bool_value().
  [[nodiscard]] Typed<double> number_value(std::string_view key, const Context& ctx, double def) const noexcept {
    Typed<double> r{def, Reason::Error};
    r.reason = static_cast<Reason>(ff_flag_number(ptr_.get(), key.data(), key.size(), ctx.raw(), def, &r.value));
    return r;
  }
  /// The served variant's value when it is a JSON string (decoded; interned: valid until
  /// the Engine is destroyed), else `def`, as bool_value().
  [[nodiscard]] Typed<std::string_view> string_value(std::string_view key, const Context& ctx,
                                                     std::string_view def) const noexcept {
    ff_str out{def.data(), def.size()};
    auto reason = ff_flag_string(ptr_.get(), key.data(), key.size(), ctx.raw(), def.data(), def.size(), &out);
    return Typed<std::string_view>{std::string_view(out.ptr, out.len), static_cast<Reason>(reason)};
  }
  /// Evaluates the `n` flags `keys[i]` for `ctx` in one call into the library and one
  /// config, writing `out[i]` as evaluate() would. When `variant_ids` is not null it
  /// also gets each variant's id (see string()). Allocates nothing. False when the
  /// library refused the arguments (a null array with n > 0).
  bool evaluate_many(const std::string_view* keys, std::size_t n, const Context& ctx, Evaluation* out,
                     StringId* variant_ids = nullptr) const noexcept {
    if (n > 0 && (keys == nullptr || out == nullptr)) return false;
    return detail::in_chunks(keys, n, [&](const char* const* ptrs, const std::size_t* lens, std::size_t done,
                                          std::size_t m) {
      if (variant_ids != nullptr) {
        ff_detail results[detail::batch_chunk];
        if (ff_evaluate_many_detail(ptr_.get(), ptrs, lens, m, ctx.raw(), results) != FF_STATUS_OK) return false;
        for (std::size_t i = 0; i < m; i++) {
          out[done + i] = from(results[i].variant, results[i].reason, results[i].rule_index, results[i].rule_id);
          variant_ids[done + i] = results[i].variant_string_id;
        }
      } else {
        ff_evaluation results[detail::batch_chunk];
        if (ff_evaluate_many(ptr_.get(), ptrs, lens, m, ctx.raw(), results) != FF_STATUS_OK) return false;
        for (std::size_t i = 0; i < m; i++) {
          out[done + i] = from(results[i].variant, results[i].reason, results[i].rule_index, results[i].rule_id);
        }
      }
      return true;
    });
  }
  /// is_enabled() for the `n` flags `keys[i]` in one call into the library and one
  /// config: `out[i]` is whether flag i serves "on", or `defaults[i]` (false when
  /// `defaults` is null) where is_enabled() would return its default. `defaults` may be
  /// `out` itself. Allocates nothing. False when the library refused the arguments (a
  /// null array with n > 0).
  bool is_enabled_many(const std::string_view* keys, std::size_t n, const Context& ctx, const bool* defaults,
                       bool* out) const noexcept {
    if (n > 0 && (keys == nullptr || out == nullptr)) return false;
    return detail::in_chunks(keys, n, [&](const char* const* ptrs, const std::size_t* lens, std::size_t done,
                                          std::size_t m) {
      return ff_is_enabled_many(ptr_.get(), ptrs, lens, m, ctx.raw(), defaults == nullptr ? nullptr : defaults + done,
                                out + done) == FF_STATUS_OK;
    });
  }
  /// is_enabled_many() for the keys of `list`: `out[i]` for key i, `defaults` as there
  /// (`list.size()` of each). While the engine's config stays the same, the context finds
  /// the keys where it looked them up before. Allocates nothing after the context's first
  /// read of the list from a config. False when the library refused the arguments (a
  /// null `out` for a non-empty list).
  bool is_enabled_list(const FlagList& list, const Context& ctx, const bool* defaults, bool* out) const noexcept {
    return ff_flag_list_is_enabled(ptr_.get(), list.raw(), 0, list.size(), ctx.raw(), defaults, out) == FF_STATUS_OK;
  }
  /// is_enabled_list() for up to 64 keys of `list` from key `first`, with the defaults and
  /// the answers as bits: bit i of the result for key first + i, and of `defaults` its
  /// default; bits past the list's end are 0. Flags no context changes (constant ones,
  /// missing keys) cost nothing per call. A `first` past the list's end answers 0. Allocates nothing after the
  /// context's first read of the list from a config.
  std::uint64_t is_enabled_bits(const FlagList& list, std::size_t first, const Context& ctx,
                                std::uint64_t defaults) const noexcept {
    const std::size_t left = first < list.size() ? list.size() - first : 0;
    const std::size_t count = left < 64 ? left : 64;
    const std::uint64_t within = count == 64 ? ~std::uint64_t{0} : (std::uint64_t{1} << count) - 1;
    std::uint64_t out = 0;
    if (ff_flag_list_is_enabled_bits(ptr_.get(), list.raw(), first, count, ctx.raw(), defaults, &out) != FF_STATUS_OK) {
      return first > list.size() ? 0 : defaults & within;
    }
    return out;
  }
  /// Every flag evaluated for `ctx` as the JSON document a server hands to a client SDK
  /// at bootstrap (LaunchDarkly's allFlagsState shape: each key with its value, then
  /// "$flagsState" with variant, reason and rule id per flag, and "$valid": true).
  [[nodiscard]] std::optional<std::string> all_flags_json(const Context& ctx, Error& err) const {
    detail::Bytes out;
    if (!detail::call_into(err, ff_all_flags_json, ptr_.get(), ctx.raw(), &out.b)) return std::nullopt;
    return out.str();
  }
#if FEATUREFLAGS_EXCEPTIONS
  /// Forces flag `key` to serve `variant` for everyone until cleared, across reloads
  /// (a kill switch is pulled with "off"). Status::NotFound for an unknown flag,
  /// Status::InvalidArgument for an unknown variant.
  void set_override(std::string_view key, std::string_view variant) {
    detail::call(ff_flag_set_override, ptr_.get(), key.data(), key.size(), variant.data(), variant.size());
  }
  /// Removes flag `key`'s override (succeeds when there is none).
  void clear_override(std::string_view key) { detail::call(ff_flag_clear_override, ptr_.get(), key.data(), key.size()); }
  /// all_flags_json(ctx, err) that throws Error instead.
  [[nodiscard]] std::string all_flags_json(const Context& ctx) const {
    detail::Bytes out;
    detail::call(ff_all_flags_json, ptr_.get(), ctx.raw(), &out.b);
    return out.str();
  }
  /// Flag `key`'s audit trail as a JSON array, oldest first ("[]" for a flag never seen).
  [[nodiscard]] std::string history_json(std::string_view key) const {
    detail::Bytes out;
    detail::call(ff_flag_history_json, ptr_.get(), key.data(), key.size(), &out.b);
    return out.str();
  }
#endif

  // ---- experiments ---------------------------------------------------------------------

  /// Enrolls ctx's user in experiment `key`: the variant (interned), or nullopt when not
  /// enrolled. The first enrollment records one exposure.
  [[nodiscard]] std::optional<std::string_view> assign(std::string_view key, const Context& ctx) const noexcept {
    ff_str out;
    if (!ff_experiment_assign(ptr_.get(), key.data(), key.size(), ctx.raw(), &out)) return std::nullopt;
    return detail::view(out);
  }
  /// assign() with the id naming the variant (see string()).
  [[nodiscard]] std::optional<Interned> assign_id(std::string_view key, const Context& ctx) const noexcept {
    ff_str out;
    StringId id = FF_NO_STRING;
    if (!ff_experiment_assign_id(ptr_.get(), key.data(), key.size(), ctx.raw(), &out, &id)) return std::nullopt;
    return Interned{detail::view(out), id};
  }
#if FEATUREFLAGS_EXCEPTIONS
  /// Records `value` of `metric` for `user_id` (non-finite values throw).
  void track(std::string_view user_id, std::string_view metric, double value) {
    detail::call(ff_track, ptr_.get(), user_id.data(), user_id.size(), metric.data(), metric.size(), value);
  }
  /// Experiment `key`'s results as JSON (docs/experiments.md).
  [[nodiscard]] std::string experiment_results_json(std::string_view key) const {
    return bytes_of(ff_experiment_results_json, key);
  }
  /// Experiment `key`'s time series as JSON (docs/analytics.md).
  [[nodiscard]] std::string experiment_timeseries_json(std::string_view key) const {
    return bytes_of(ff_experiment_timeseries_json, key);
  }
  /// Experiment `key`'s counts in this engine as JSON, with its instance id, user
  /// partition, time range and user sample: a fleet merge's input (docs/fleet.md).
  [[nodiscard]] std::string experiment_aggregates_json(std::string_view key) const {
    return bytes_of(ff_experiment_aggregates_json, key);
  }
  /// Funnel `key`'s report as JSON (docs/analytics.md).
  [[nodiscard]] std::string funnel_report_json(std::string_view key) const { return bytes_of(ff_funnel_report_json, key); }
  /// Declares `variant` the winner of experiment `key`.
  void declare_winner(std::string_view key, std::string_view variant) {
    detail::call(ff_declare_winner, ptr_.get(), key.data(), key.size(), variant.data(), variant.size());
  }
#endif

  // ---- rollouts ------------------------------------------------------------------------

#if FEATUREFLAGS_EXCEPTIONS
  /// Rollout `key`'s status (Status::NotFound when the config has no such rollout).
  [[nodiscard]] RolloutInfo rollout_status(std::string_view key) const {
    RolloutInfo info{};
    detail::call(ff_rollout_status, ptr_.get(), key.data(), key.size(), &info);
    return info;
  }
  /// Reports the health of rollout `key`'s new code path.
  void report_health(std::string_view key, double error_rate, double p99_latency_ms, std::uint64_t samples) {
    detail::call(ff_rollout_report_health, ptr_.get(), key.data(), key.size(), error_rate, p99_latency_ms, samples);
  }
  void advance_rollout(std::string_view key) { detail::call(ff_rollout_advance, ptr_.get(), key.data(), key.size()); }
  void pause_rollout(std::string_view key) { detail::call(ff_rollout_pause, ptr_.get(), key.data(), key.size()); }
  void resume_rollout(std::string_view key) { detail::call(ff_rollout_resume, ptr_.get(), key.data(), key.size()); }
  void rollback_rollout(std::string_view key) { detail::call(ff_rollout_rollback, ptr_.get(), key.data(), key.size()); }
#endif
  /// Whether ctx is inside rollout `key`'s current percentage (false when missing).
  [[nodiscard]] bool in_rollout(std::string_view key, const Context& ctx) const noexcept {
    return ff_in_rollout(ptr_.get(), key.data(), key.size(), ctx.raw());
  }

  // ---- events --------------------------------------------------------------------------

#if FEATUREFLAGS_EXCEPTIONS
  /// Removes up to `max` queued events (0: all) as NDJSON; empty when none are queued.
  [[nodiscard]] std::string drain_events(std::size_t max = 0) {
    detail::Bytes out;
    detail::check(ff_events_drain(ptr_.get(), max, &out.b));
    return out.str();
  }
  /// Turns evaluation events (one per is_enabled / variant / evaluate) on or off.
  void set_evaluation_events(bool enabled) { detail::check(ff_events_set_evaluation(ptr_.get(), enabled)); }
#endif
  /// Events dropped so far because the queue was full.
  [[nodiscard]] std::uint64_t events_dropped() const noexcept { return ff_events_dropped(ptr_.get()); }


  /// Delivers every event synchronously to `listener(json)` instead of the queue (an
  /// empty function removes it and events queue again). It runs on the thread that
  /// caused the event, must be thread-safe, return quickly, not throw (that
  /// terminates), and not call the engine's mutating functions (loads, overrides,
  /// rollout actions, set_listener; docs/events.md).
  ///
  /// The Engine owns the function while it is registered and destroys the previous one
  /// once the C API has unregistered it (ff_engine_set_listener returns after any call
  /// in flight: the C API's user_data need only outlive the registration).
#if FEATUREFLAGS_EXCEPTIONS
  void set_listener(Listener listener) {
    Error err;
    if (!set_listener(std::move(listener), err)) throw err;
  }
#endif
  /// set_listener() without exceptions: false, with the reason in `err`, on failure.
  bool set_listener(Listener listener, Error& err) {
    if (!listener) {
      if (!detail::check(ff_engine_set_listener(ptr_.get(), nullptr, nullptr), err)) return false;
      listener_.reset();
      return true;
    }
    auto owned = std::make_unique<Listener>(std::move(listener));
    if (!detail::check(ff_engine_set_listener(ptr_.get(), &Engine::trampoline, owned.get()), err)) return false;
    listener_ = std::move(owned);  // frees the replaced listener
    return true;
  }

  // ---- the throwing calls without exceptions: false (or nullopt), with the reason in
  // `err`, on failure ----------------------------------------------------------------

  bool load_json(std::string_view json, Error& err) {
    return detail::call_into(err, ff_engine_load_json, ptr_.get(), json.data(), json.size());
  }
  bool load_file(std::string_view path, Error& err) {
    return detail::call_into(err, ff_engine_load_file, ptr_.get(), path.data(), path.size());
  }
  bool set_time(std::int64_t unix_ms, Error& err) { return detail::check(ff_engine_set_time(ptr_.get(), unix_ms), err); }
  bool set_time(std::chrono::system_clock::time_point t, Error& err) {
    return set_time(
        static_cast<std::int64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count()),
        err);
  }
  bool use_system_clock(Error& err) { return set_time(std::int64_t{0}, err); }
  bool checkpoint(Error& err) const { return detail::call_into(err, ff_engine_checkpoint, ptr_.get()); }
  [[nodiscard]] std::optional<std::string> revision(Error& err) const {
    detail::Bytes out;
    if (!detail::call_into(err, ff_engine_revision, ptr_.get(), &out.b)) return std::nullopt;
    return out.str();
  }
  bool set_override(std::string_view key, std::string_view variant, Error& err) {
    return detail::call_into(err, ff_flag_set_override, ptr_.get(), key.data(), key.size(), variant.data(),
                             variant.size());
  }
  bool clear_override(std::string_view key, Error& err) {
    return detail::call_into(err, ff_flag_clear_override, ptr_.get(), key.data(), key.size());
  }
  [[nodiscard]] std::optional<std::string> history_json(std::string_view key, Error& err) const {
    return bytes_of(ff_flag_history_json, key, err);
  }
  bool track(std::string_view user_id, std::string_view metric, double value, Error& err) {
    return detail::call_into(err, ff_track, ptr_.get(), user_id.data(), user_id.size(), metric.data(), metric.size(),
                             value);
  }
  [[nodiscard]] std::optional<std::string> experiment_results_json(std::string_view key, Error& err) const {
    return bytes_of(ff_experiment_results_json, key, err);
  }
  [[nodiscard]] std::optional<std::string> experiment_timeseries_json(std::string_view key, Error& err) const {
    return bytes_of(ff_experiment_timeseries_json, key, err);
  }
  [[nodiscard]] std::optional<std::string> experiment_aggregates_json(std::string_view key, Error& err) const {
    return bytes_of(ff_experiment_aggregates_json, key, err);
  }
  [[nodiscard]] std::optional<std::string> funnel_report_json(std::string_view key, Error& err) const {
    return bytes_of(ff_funnel_report_json, key, err);
  }
  bool declare_winner(std::string_view key, std::string_view variant, Error& err) {
    return detail::call_into(err, ff_declare_winner, ptr_.get(), key.data(), key.size(), variant.data(),
                             variant.size());
  }
  [[nodiscard]] std::optional<RolloutInfo> rollout_status(std::string_view key, Error& err) const {
    RolloutInfo info{};
    if (!detail::call_into(err, ff_rollout_status, ptr_.get(), key.data(), key.size(), &info)) return std::nullopt;
    return info;
  }
  bool report_health(std::string_view key, double error_rate, double p99_latency_ms, std::uint64_t samples,
                     Error& err) {
    return detail::call_into(err, ff_rollout_report_health, ptr_.get(), key.data(), key.size(), error_rate,
                             p99_latency_ms, samples);
  }
  bool advance_rollout(std::string_view key, Error& err) {
    return detail::call_into(err, ff_rollout_advance, ptr_.get(), key.data(), key.size());
  }
  bool pause_rollout(std::string_view key, Error& err) {
    return detail::call_into(err, ff_rollout_pause, ptr_.get(), key.data(), key.size());
  }
  bool resume_rollout(std::string_view key, Error& err) {
    return detail::call_into(err, ff_rollout_resume, ptr_.get(), key.data(), key.size());
  }
  bool rollback_rollout(std::string_view key, Error& err) {
    return detail::call_into(err, ff_rollout_rollback, ptr_.get(), key.data(), key.size());
  }
  [[nodiscard]] std::optional<std::string> drain_events(std::size_t max, Error& err) {
    detail::Bytes out;
    if (!detail::check(ff_events_drain(ptr_.get(), max, &out.b), err)) return std::nullopt;
    return out.str();
  }
  bool set_evaluation_events(bool enabled, Error& err) {
    return detail::check(ff_events_set_evaluation(ptr_.get(), enabled), err);
  }

  // ---- handle --------------------------------------------------------------------------

  /// False once moved from.
  [[nodiscard]] explicit operator bool() const noexcept { return ptr_ != nullptr; }
  /// The C handle (owned by this object; NULL once moved from), for calls this header
  /// does not wrap yet.
  [[nodiscard]] const ff_engine* raw() const noexcept { return ptr_.get(); }

 private:
  explicit Engine(ff_engine* e) noexcept : ptr_(e) {}

  static Evaluation from(ff_str variant, ff_reason reason, std::uint32_t rule_index, ff_str rule_id) noexcept {
    return Evaluation{detail::view(variant), variant.ptr != nullptr, static_cast<Reason>(reason),
                      rule_index != UINT32_MAX ? std::optional<std::uint32_t>(rule_index) : std::nullopt,
                      detail::view(rule_id)};
  }

#if FEATUREFLAGS_EXCEPTIONS
  template <typename Fn>
  std::string bytes_of(Fn fn, std::string_view key) const {
    detail::Bytes out;
    detail::call(fn, ptr_.get(), key.data(), key.size(), &out.b);
    return out.str();
  }
#endif
  template <typename Fn>
  std::optional<std::string> bytes_of(Fn fn, std::string_view key, Error& err) const {
    detail::Bytes out;
    if (!detail::call_into(err, fn, ptr_.get(), key.data(), key.size(), &out.b)) return std::nullopt;
    return out.str();
  }

  static void trampoline(void* user_data, const char* json, std::size_t len) noexcept {
    // An exception must not unwind into the engine: a throwing listener terminates.
    (*static_cast<Listener*>(user_data))(std::string_view(json, len));
  }

  // Declared before ptr_ so that it is destroyed after it: ~Engine frees the engine (no
  // more events) before the listener it may call.
  std::unique_ptr<Listener> listener_;
  std::unique_ptr<ff_engine, detail::EngineDeleter> ptr_;
};

// ---------------------------------------------------------------------------------------
// Free functions (no engine)
// ---------------------------------------------------------------------------------------

#if FEATUREFLAGS_EXCEPTIONS
/// bucket(salt, key) of docs/design.md §4, in 0..99999.
[[nodiscard]] inline std::uint32_t bucket(std::string_view salt, std::string_view key) {
  std::uint32_t out = 0;
  detail::call(ff_bucket, salt.data(), salt.size(), key.data(), key.size(), &out);
  return out;
}

/// Analysis of aggregates computed elsewhere (docs/design.md §5) as JSON.
[[nodiscard]] inline std::string analyze_json(std::string_view input) {
  detail::Bytes out;
  detail::call(ff_analyze_json, input.data(), input.size(), &out.b);
  return out.str();
}

/// Users per variant to detect a relative change `mde` of a conversion rate.
[[nodiscard]] inline double sample_size(double baseline, double mde, double alpha, double power) {
  double out = 0;
  detail::call(ff_sample_size, baseline, mde, alpha, power, &out);
  return out;
}

/// Power of a two-sided test with `n_per_variant` users per variant.
[[nodiscard]] inline double power(double baseline, double mde, double alpha, double n_per_variant) {
  double out = 0;
  detail::call(ff_power, baseline, mde, alpha, n_per_variant, &out);
  return out;
}

/// Smallest detectable relative change with `n_per_variant` users per variant.
[[nodiscard]] inline double mde(double baseline, double alpha, double power, double n_per_variant) {
  double out = 0;
  detail::call(ff_mde, baseline, alpha, power, n_per_variant, &out);
  return out;
}

/// Days to enroll `required_per_variant` users in each of `variants` variants.
[[nodiscard]] inline double test_duration_days(double required_per_variant, std::uint32_t variants, double daily_users,
                                               double traffic_fraction) {
  double out = 0;
  detail::call(ff_test_duration_days, required_per_variant, variants, daily_users, traffic_fraction, &out);
  return out;
}

/// Customer lifetime value (periods = 0: infinite horizon).
[[nodiscard]] inline double lifetime_value(double margin, double retention, double discount, std::uint32_t periods) {
  double out = 0;
  detail::call(ff_lifetime_value, margin, retention, discount, periods, &out);
  return out;
}

#endif

// The same without exceptions: nullopt, with the reason in `err`, on failure.
[[nodiscard]] inline std::optional<std::uint32_t> bucket(std::string_view salt, std::string_view key, Error& err) {
  std::uint32_t out = 0;
  if (!detail::call_into(err, ff_bucket, salt.data(), salt.size(), key.data(), key.size(), &out)) return std::nullopt;
  return out;
}
[[nodiscard]] inline std::optional<std::string> analyze_json(std::string_view input, Error& err) {
  detail::Bytes out;
  if (!detail::call_into(err, ff_analyze_json, input.data(), input.size(), &out.b)) return std::nullopt;
  return out.str();
}
[[nodiscard]] inline std::optional<double> sample_size(double baseline, double mde, double alpha, double power,
                                                       Error& err) {
  double out = 0;
  if (!detail::call_into(err, ff_sample_size, baseline, mde, alpha, power, &out)) return std::nullopt;
  return out;
}
[[nodiscard]] inline std::optional<double> power(double baseline, double mde, double alpha, double n_per_variant,
                                                 Error& err) {
  double out = 0;
  if (!detail::call_into(err, ff_power, baseline, mde, alpha, n_per_variant, &out)) return std::nullopt;
  return out;
}
[[nodiscard]] inline std::optional<double> mde(double baseline, double alpha, double power, double n_per_variant,
                                               Error& err) {
  double out = 0;
  if (!detail::call_into(err, ff_mde, baseline, alpha, power, n_per_variant, &out)) return std::nullopt;
  return out;
}
[[nodiscard]] inline std::optional<double> test_duration_days(double required_per_variant, std::uint32_t variants,
                                                              double daily_users, double traffic_fraction,
                                                              Error& err) {
  double out = 0;
  if (!detail::call_into(err, ff_test_duration_days, required_per_variant, variants, daily_users, traffic_fraction,
                         &out)) {
    return std::nullopt;
  }
  return out;
}
[[nodiscard]] inline std::optional<double> lifetime_value(double margin, double retention, double discount,
                                                          std::uint32_t periods, Error& err) {
  double out = 0;
  if (!detail::call_into(err, ff_lifetime_value, margin, retention, discount, periods, &out)) return std::nullopt;
  return out;
}

}  // namespace featureflags

#endif  // FEATUREFLAGS_HPP
