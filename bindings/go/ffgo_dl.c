//go:build cgo && !fflink && !ffpkgconfig && !ffexternal

// Run-time loading (dl.go): the library's functions are reached through a table of
// pointers filled by dlsym, and this file defines each ff_* function the binding calls as
// a trampoline through its pointer, so the Go code calls C.ff_* the same way in the
// link-time build (-tags fflink), where the library itself defines them.

#include <dlfcn.h>
#include <stdio.h>
#include <string.h>

// Hidden: a dlopened library that calls its own exported functions must reach itself,
// not these trampolines, which the Go linker would otherwise export (-rdynamic).
#pragma GCC visibility push(hidden)
#include "featureflags.h"
#include "ffgo_dl.h"
#pragma GCC visibility pop

// X(return type, name, parameters, arguments) for each function returning a value,
// V(name, parameters, arguments) for each returning void. The compiler checks each
// trampoline against the header's declaration; tests/binding_coverage.py checks that
// the Go code calls every function the header exports.
#define FF_GO_FUNCTIONS(X, V)                                                                 \
    X(uint32_t, ff_abi_version, (void), ())                                                   \
    X(const char *, ff_version, (void), ())                                                   \
    X(const char *, ff_error_message, (const ff_error *err), (err))                           \
    V(ff_error_free, (ff_error *err), (err))                                                  \
    V(ff_bytes_free, (ff_bytes *bytes), (bytes))                                              \
    X(ff_status, ff_engine_create, (const char *o, size_t l, ff_engine **out, ff_error **err), \
      (o, l, out, err))                                                                       \
    X(ff_str, ff_engine_string, (const ff_engine *e, ff_string_id id), (e, id))               \
    X(ff_status, ff_engine_checkpoint, (const ff_engine *e, ff_error **err), (e, err))        \
    V(ff_engine_free, (ff_engine *e), (e))                                                    \
    X(ff_status, ff_engine_load_json, (const ff_engine *e, const char *j, size_t l, ff_error **err), \
      (e, j, l, err))                                                                         \
    X(ff_status, ff_engine_load_file, (const ff_engine *e, const char *p, size_t l, ff_error **err), \
      (e, p, l, err))                                                                         \
    X(ff_status, ff_engine_set_time, (const ff_engine *e, int64_t ms), (e, ms))               \
    X(ff_status, ff_engine_revision, (const ff_engine *e, ff_bytes *out, ff_error **err),     \
      (e, out, err))                                                                          \
    X(ff_status, ff_bucket,                                                                   \
      (const char *s, size_t sl, const char *k, size_t kl, uint32_t *out, ff_error **err),    \
      (s, sl, k, kl, out, err))                                                               \
    X(ff_status, ff_context_create, (const char *u, size_t l, ff_context **out, ff_error **err), \
      (u, l, out, err))                                                                       \
    X(ff_status, ff_context_reset, (ff_context *c, const char *u, size_t l, ff_error **err),  \
      (c, u, l, err))                                                                         \
    X(ff_status, ff_context_set_string,                                                       \
      (ff_context *c, const char *n, size_t nl, const char *v, size_t vl, ff_error **err),    \
      (c, n, nl, v, vl, err))                                                                 \
    X(ff_status, ff_context_set_number,                                                       \
      (ff_context *c, const char *n, size_t nl, double v, ff_error **err), (c, n, nl, v, err)) \
    X(ff_status, ff_context_set_bool,                                                         \
      (ff_context *c, const char *n, size_t nl, bool v, ff_error **err), (c, n, nl, v, err))  \
    X(ff_status, ff_engine_load_flagd_json,                                                   \
      (const ff_engine *e, const char *j, size_t l, ff_error **err), (e, j, l, err))          \
    X(ff_status, ff_engine_load_flagd_file,                                                   \
      (const ff_engine *e, const char *p, size_t l, ff_error **err), (e, p, l, err))          \
    X(ff_status, ff_context_set_json,                                                         \
      (ff_context *c, const char *n, size_t nl, const char *j, size_t jl, ff_error **err),    \
      (c, n, nl, j, jl, err))                                                                 \
    X(ff_flagd_reason, ff_flagd_evaluate,                                                     \
      (const ff_engine *e, const char *k, size_t l, const ff_context *c, uint32_t t,          \
       ff_flagd_result *out),                                                                 \
      (e, k, l, c, t, out))                                                                   \
    V(ff_context_free, (ff_context *c), (c))                                                  \
    X(bool, ff_is_enabled,                                                                    \
      (const ff_engine *e, const char *k, size_t l, const ff_context *c, bool d), (e, k, l, c, d)) \
    X(ff_reason, ff_variant_id,                                                               \
      (const ff_engine *e, const char *k, size_t l, const ff_context *c, ff_str *out,         \
       ff_string_id *id),                                                                     \
      (e, k, l, c, out, id))                                                                  \
    X(ff_reason, ff_evaluate_value,                                                           \
      (const ff_engine *e, const char *k, size_t l, const ff_context *c, ff_detail *out,      \
       ff_bytes *v),                                                                          \
      (e, k, l, c, out, v))                                                                   \
    X(ff_reason, ff_flag_bool,                                                                \
      (const ff_engine *e, const char *k, size_t l, const ff_context *c, bool d, bool *out),  \
      (e, k, l, c, d, out))                                                                   \
    X(ff_reason, ff_flag_number,                                                              \
      (const ff_engine *e, const char *k, size_t l, const ff_context *c, double d, double *out), \
      (e, k, l, c, d, out))                                                                   \
    X(ff_reason, ff_flag_string,                                                              \
      (const ff_engine *e, const char *k, size_t l, const ff_context *c, const char *d,       \
       size_t dl, ff_str *out),                                                               \
      (e, k, l, c, d, dl, out))                                                               \
    X(ff_status, ff_evaluate_many,                                                            \
      (const ff_engine *e, const char *const *k, const size_t *l, size_t n, const ff_context *c, \
       ff_evaluation *out),                                                                   \
      (e, k, l, n, c, out))                                                                   \
    X(ff_status, ff_evaluate_many_detail,                                                     \
      (const ff_engine *e, const char *const *k, const size_t *l, size_t n, const ff_context *c, \
       ff_detail *out),                                                                       \
      (e, k, l, n, c, out))                                                                   \
    X(ff_status, ff_is_enabled_many,                                                          \
      (const ff_engine *e, const char *const *k, const size_t *l, size_t n, const ff_context *c, \
       const bool *d, bool *out),                                                             \
      (e, k, l, n, c, d, out))                                                                \
    X(ff_status, ff_flag_list_create,                                                         \
      (const char *const *k, const size_t *l, size_t n, ff_flag_list **out, ff_error **err),  \
      (k, l, n, out, err))                                                                    \
    V(ff_flag_list_free, (ff_flag_list *list), (list))                                        \
    X(ff_status, ff_flag_list_is_enabled,                                                     \
      (const ff_engine *e, const ff_flag_list *list, size_t first, size_t count,              \
       const ff_context *c, const bool *d, bool *out),                                        \
      (e, list, first, count, c, d, out))                                                     \
    X(ff_status, ff_flag_list_is_enabled_bits,                                                \
      (const ff_engine *e, const ff_flag_list *list, size_t first, size_t count,              \
       const ff_context *c, uint64_t d, uint64_t *out),                                       \
      (e, list, first, count, c, d, out))                                                     \
    X(ff_status, ff_all_flags_json,                                                           \
      (const ff_engine *e, const ff_context *c, ff_bytes *out, ff_error **err), (e, c, out, err)) \
    X(ff_status, ff_flag_set_override,                                                        \
      (const ff_engine *e, const char *k, size_t kl, const char *v, size_t vl, ff_error **err), \
      (e, k, kl, v, vl, err))                                                                 \
    X(ff_status, ff_flag_clear_override,                                                      \
      (const ff_engine *e, const char *k, size_t l, ff_error **err), (e, k, l, err))          \
    X(bool, ff_experiment_assign_id,                                                          \
      (const ff_engine *e, const char *k, size_t l, const ff_context *c, ff_str *out,         \
       ff_string_id *id),                                                                     \
      (e, k, l, c, out, id))                                                                  \
    X(ff_status, ff_track,                                                                    \
      (const ff_engine *e, const char *u, size_t ul, const char *m, size_t ml, double v,      \
       ff_error **err),                                                                       \
      (e, u, ul, m, ml, v, err))                                                              \
    X(ff_status, ff_experiment_results_json,                                                  \
      (const ff_engine *e, const char *k, size_t l, ff_bytes *out, ff_error **err),           \
      (e, k, l, out, err))                                                                    \
    X(ff_status, ff_declare_winner,                                                           \
      (const ff_engine *e, const char *k, size_t kl, const char *v, size_t vl, ff_error **err), \
      (e, k, kl, v, vl, err))                                                                 \
    X(ff_status, ff_funnel_report_json,                                                       \
      (const ff_engine *e, const char *k, size_t l, ff_bytes *out, ff_error **err),           \
      (e, k, l, out, err))                                                                    \
    X(ff_status, ff_experiment_timeseries_json,                                               \
      (const ff_engine *e, const char *k, size_t l, ff_bytes *out, ff_error **err),           \
      (e, k, l, out, err))                                                                    \
    X(ff_status, ff_experiment_aggregates_json,                                               \
      (const ff_engine *e, const char *k, size_t l, ff_bytes *out, ff_error **err),           \
      (e, k, l, out, err))                                                                    \
    X(ff_status, ff_analyze_json, (const char *i, size_t l, ff_bytes *out, ff_error **err),   \
      (i, l, out, err))                                                                       \
    X(ff_status, ff_sample_size, (double b, double m, double a, double p, double *out, ff_error **err), \
      (b, m, a, p, out, err))                                                                 \
    X(ff_status, ff_power, (double b, double m, double a, double n, double *out, ff_error **err), \
      (b, m, a, n, out, err))                                                                 \
    X(ff_status, ff_mde, (double b, double a, double p, double n, double *out, ff_error **err), \
      (b, a, p, n, out, err))                                                                 \
    X(ff_status, ff_test_duration_days,                                                       \
      (double r, uint32_t v, double d, double t, double *out, ff_error **err), (r, v, d, t, out, err)) \
    X(ff_status, ff_lifetime_value,                                                           \
      (double m, double r, double d, uint32_t p, double *out, ff_error **err), (m, r, d, p, out, err)) \
    X(ff_status, ff_rollout_status,                                                           \
      (const ff_engine *e, const char *k, size_t l, ff_rollout_info *out, ff_error **err),    \
      (e, k, l, out, err))                                                                    \
    X(ff_status, ff_rollout_report_health,                                                    \
      (const ff_engine *e, const char *k, size_t l, double r, double p, uint64_t s, ff_error **err), \
      (e, k, l, r, p, s, err))                                                                \
    X(ff_status, ff_rollout_advance, (const ff_engine *e, const char *k, size_t l, ff_error **err), \
      (e, k, l, err))                                                                         \
    X(ff_status, ff_rollout_pause, (const ff_engine *e, const char *k, size_t l, ff_error **err), \
      (e, k, l, err))                                                                         \
    X(ff_status, ff_rollout_resume, (const ff_engine *e, const char *k, size_t l, ff_error **err), \
      (e, k, l, err))                                                                         \
    X(ff_status, ff_rollout_rollback, (const ff_engine *e, const char *k, size_t l, ff_error **err), \
      (e, k, l, err))                                                                         \
    X(bool, ff_in_rollout, (const ff_engine *e, const char *k, size_t l, const ff_context *c), \
      (e, k, l, c))                                                                           \
    X(ff_status, ff_flag_history_json,                                                        \
      (const ff_engine *e, const char *k, size_t l, ff_bytes *out, ff_error **err),           \
      (e, k, l, out, err))                                                                    \
    X(ff_status, ff_events_drain, (const ff_engine *e, size_t max, ff_bytes *out), (e, max, out)) \
    X(uint64_t, ff_events_dropped, (const ff_engine *e), (e))                                 \
    X(ff_status, ff_events_set_evaluation, (const ff_engine *e, bool on), (e, on))            \
    X(ff_status, ff_engine_set_listener, (const ff_engine *e, ff_listener cb, void *data),    \
      (e, cb, data))                                                                          \
    X(const char *, ff_status_name, (uint32_t s), (s))                                        \
    X(const char *, ff_reason_name, (uint32_t r), (r))                                        \
    X(const char *, ff_rollout_state_name, (uint32_t s), (s))

#define FF_GO_FIELD(ret, name, params, args) __typeof__(name) *name;
#define FF_GO_VFIELD(name, params, args) __typeof__(name) *name;
static struct {
    FF_GO_FUNCTIONS(FF_GO_FIELD, FF_GO_VFIELD)
} ff_go_table;

#define FF_GO_TRAMPOLINE(ret, name, params, args) \
    ret name params { return ff_go_table.name args; }
#define FF_GO_VTRAMPOLINE(name, params, args) \
    void name params { ff_go_table.name args; }
FF_GO_FUNCTIONS(FF_GO_TRAMPOLINE, FF_GO_VTRAMPOLINE)

int ff_go_load(const char *path, uint32_t wanted, uint32_t *abi, char *msg, size_t msg_len) {
    *abi = 0;
    void *lib = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (lib == NULL) {
        snprintf(msg, msg_len, "%s", dlerror());
        return FF_GO_LOAD_DLOPEN;
    }
    __typeof__(ff_abi_version) *abi_version = (__typeof__(ff_abi_version) *)dlsym(lib, "ff_abi_version");
    if (abi_version == NULL) {
        snprintf(msg, msg_len, "%s", dlerror());
        dlclose(lib);
        return FF_GO_LOAD_SYMBOL;
    }
    // Before any other symbol: a library of another ABI may not have them, and what it
    // has may take other arguments.
    *abi = abi_version();
    if (*abi != wanted) {
        dlclose(lib);
        return FF_GO_LOAD_ABI;
    }
    // Resolved into a copy: the table stays empty unless every symbol is found.
    __typeof__(ff_go_table) t;
#define FF_GO_RESOLVE(ret, name, params, args)                 \
    t.name = (__typeof__(name) *)dlsym(lib, #name);            \
    if (t.name == NULL) {                                      \
        snprintf(msg, msg_len, "%s", dlerror());               \
        dlclose(lib);                                          \
        return FF_GO_LOAD_SYMBOL;                              \
    }
#define FF_GO_VRESOLVE(name, params, args) FF_GO_RESOLVE(void, name, params, args)
    FF_GO_FUNCTIONS(FF_GO_RESOLVE, FF_GO_VRESOLVE)
    memcpy(&ff_go_table, &t, sizeof t);
    return FF_GO_LOAD_OK;
}
