/* Exercises the C API as a C host would: load, evaluate, errors, ownership.
 * Built with -Wall -Wextra -Werror -std=c11 against include/featureflags.h. */
/* mkdtemp */
#define _XOPEN_SOURCE 700

#include "featureflags.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int failures = 0;
static int checks = 0;

#define CHECK(cond)                                                              \
    do {                                                                         \
        checks++;                                                                \
        if (!(cond)) {                                                           \
            failures++;                                                          \
            fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond); \
        }                                                                        \
    } while (0)

#define S(lit) (lit), (sizeof(lit) - 1)

static int str_eq(ff_str s, const char *want) {
    size_t n = strlen(want);
    return s.len == n && (n == 0 || memcmp(s.ptr, want, n) == 0);
}

static const char CONFIG[] =
    "{\"schema_version\": 1, \"revision\": \"c-1\",\n"
    " \"segments\": {\"vip\": {\"attr\": \"tier\", \"op\": \"equals\", \"value\": \"vip\"}},\n"
    " \"flags\": {\n"
    "  \"on\": {\"type\": \"boolean\"},\n"
    "  \"geo\": {\"type\": \"boolean\", \"default\": \"off\", \"rules\": [\n"
    "     {\"id\": \"na\", \"when\": {\"attr\": \"country\", \"op\": \"in\", \"value\": [\"US\", \"CA\", \"GB\"]}, \"serve\": \"on\"}]},\n"
    "  \"layout\": {\"type\": \"multivariate\", \"variants\": {\"classic\": 1, \"pro\": {\"levels\": 20}},\n"
    "     \"rules\": [{\"id\": \"vip\", \"when\": {\"segment\": \"vip\"}, \"serve\": \"pro\"}],\n"
    "     \"default\": \"classic\", \"off_variant\": \"classic\"},\n"
    "  \"half\": {\"type\": \"percentage\", \"percentage\": 50},\n"
    "  \"hft\": {\"type\": \"kill_switch\"},\n"
    "  \"xmas\": {\"type\": \"boolean\", \"schedule\": {\"enable_at\": \"2026-12-24T00:00:00Z\"}}\n"
    " }}";

static void test_load_and_evaluate(ff_engine *e) {
    ff_error *err = NULL;
    CHECK(ff_engine_load_json(e, S(CONFIG), &err) == FF_OK);
    CHECK(err == NULL);

    ff_context *ctx = ff_context_new(S("user-42"));
    CHECK(ctx != NULL);
    CHECK(ff_context_set_string(ctx, S("country"), S("CA"), NULL) == FF_STATUS_OK);
    CHECK(ff_context_set_number(ctx, S("volume"), 1e6, NULL) == FF_STATUS_OK);
    CHECK(ff_context_set_bool(ctx, S("beta"), true, NULL) == FF_STATUS_OK);

    CHECK(ff_is_enabled(e, S("on"), ctx, false));
    CHECK(ff_is_enabled(e, S("geo"), ctx, false));

    ff_evaluation ev;
    CHECK(ff_evaluate(e, S("geo"), ctx, &ev) == FF_REASON_RULE_MATCH);
    CHECK(str_eq(ev.variant, "on"));
    CHECK(ev.rule_index == 0);
    CHECK(str_eq(ev.rule_id, "na"));

    CHECK(ff_evaluate(e, S("on"), ctx, &ev) == FF_REASON_DEFAULT);
    CHECK(ev.rule_index == UINT32_MAX);
    CHECK(ev.rule_id.ptr == NULL && ev.rule_id.len == 0);

    ff_str v;
    CHECK(ff_variant(e, S("layout"), ctx, &v) == FF_REASON_DEFAULT);
    CHECK(str_eq(v, "classic"));
    CHECK(ff_context_set_string(ctx, S("tier"), S("vip"), NULL) == FF_OK);
    CHECK(ff_variant(e, S("layout"), ctx, &v) == FF_REASON_RULE_MATCH);
    CHECK(str_eq(v, "pro"));

    /* Values: owned, NUL-terminated, freed by the caller. */
    ff_bytes value = {NULL, 0};
    CHECK(ff_flag_value_json(e, S("layout"), ctx, &value) == FF_REASON_RULE_MATCH);
    CHECK(value.ptr != NULL && strcmp((const char *)value.ptr, "{\"levels\":20}") == 0);
    ff_bytes_free(&value);
    CHECK(value.ptr == NULL && value.len == 0);

    /* Multivariate through ff_is_enabled: caller default, TYPE_MISMATCH. */
    CHECK(ff_is_enabled(e, S("layout"), ctx, true) == true);
    CHECK(ff_is_enabled(e, S("layout"), ctx, false) == false);

    /* Unknown flag: caller default, FLAG_NOT_FOUND, {NULL, 0}. */
    CHECK(ff_is_enabled(e, S("nope"), ctx, true));
    CHECK(ff_variant(e, S("nope"), ctx, &v) == FF_REASON_FLAG_NOT_FOUND);
    CHECK(v.ptr == NULL && v.len == 0);

    /* Percentage flag: about half of 10,000 users, deterministic. */
    int on = 0;
    char id[32];
    for (int i = 0; i < 10000; i++) {
        int n = snprintf(id, sizeof id, "u%d", i);
        CHECK(ff_context_reset(ctx, id, (size_t)n, NULL) == FF_OK);
        on += ff_is_enabled(e, S("half"), ctx, false);
    }
    CHECK(on > 4800 && on < 5200);

    /* Schedules follow the engine clock. */
    CHECK(ff_engine_set_time(e, 1795000000000) == FF_OK); /* 2026-11-18 */
    CHECK(ff_evaluate(e, S("xmas"), ctx, &ev) == FF_REASON_SCHEDULED_OFF);
    CHECK(ff_engine_set_time(e, 1798502400000) == FF_OK); /* 2026-12-29 */
    CHECK(ff_evaluate(e, S("xmas"), ctx, &ev) == FF_REASON_DEFAULT);
    CHECK(ff_engine_set_time(e, 0) == FF_OK);

    ff_context_free(ctx);
}

static void test_errors(ff_engine *e) {
    ff_error *err = NULL;
    /* Every problem, with its path; the previous config keeps serving. */
    static const char BAD[] =
        "{\"schema_version\": 1, \"flags\": {\"geo\": {\"type\": \"boolean\", \"rules\": [\n"
        "  {\"when\": {\"attr\": \"country\", \"op\": \"equal\", \"value\": \"US\"}, \"serve\": \"maybe\"}]}}}";
    CHECK(ff_engine_load_json(e, S(BAD), &err) == FF_STATUS_INVALID_CONFIG);
    CHECK(err != NULL);
    CHECK(ff_error_status(err) == FF_STATUS_INVALID_CONFIG);
    CHECK(strstr(ff_error_message(err), "flags.geo.rules[0].when.op: unknown operator \"equal\"") != NULL);
    CHECK(strstr(ff_error_message(err), "flags.geo.rules[0].serve: unknown variant \"maybe\"") != NULL);
    ff_error_free(err);
    err = NULL;

    ff_context *ctx = ff_context_new(S("user-1"));
    CHECK(ff_context_set_string(ctx, S("country"), S("US"), NULL) == FF_OK);
    CHECK(ff_is_enabled(e, S("geo"), ctx, false));

    /* Invalid arguments never crash. */
    CHECK(ff_context_set_number(ctx, S("x"), NAN, &err) == FF_STATUS_INVALID_ARGUMENT);
    CHECK(strstr(ff_error_message(err), "finite") != NULL);
    ff_error_free(err);
    err = NULL;
    CHECK(ff_context_set_string(ctx, NULL, 3, S("v"), NULL) == FF_STATUS_INVALID_ARGUMENT);
    CHECK(ff_context_set_string(NULL, S("a"), S("v"), NULL) == FF_STATUS_INVALID_ARGUMENT);
    const char bad_utf8[] = {'f', (char)0xC3, '(', 0};
    CHECK(ff_context_set_string(ctx, S("name"), bad_utf8, 3, NULL) == FF_STATUS_INVALID_ARGUMENT);
    CHECK(ff_context_new(bad_utf8, 3) == NULL);
    CHECK(ff_engine_load_json(NULL, S(CONFIG), NULL) == FF_STATUS_INVALID_ARGUMENT);
    CHECK(ff_engine_load_file(e, S("/no/such/file.json"), &err) == FF_STATUS_IO);
    CHECK(strstr(ff_error_message(err), "/no/such/file.json") != NULL);
    ff_error_free(err);
    err = NULL;

    ff_str v = {"x", 1};
    CHECK(ff_variant(e, bad_utf8, 3, ctx, &v) == FF_REASON_ERROR);
    CHECK(v.ptr == NULL);
    CHECK(ff_variant(NULL, S("geo"), ctx, &v) == FF_REASON_ERROR);
    CHECK(ff_variant(e, S("geo"), NULL, &v) == FF_REASON_ERROR);
    CHECK(ff_is_enabled(e, NULL, 4, ctx, true) == true);
    CHECK(ff_evaluate(e, S("geo"), ctx, NULL) == FF_REASON_RULE_MATCH);

    /* Overrides: survive reloads until cleared; a kill switch is pulled with "off". */
    CHECK(ff_flag_set_override(e, S("hft"), S("off"), NULL) == FF_OK);
    CHECK(!ff_is_enabled(e, S("hft"), ctx, true));
    CHECK(ff_engine_load_json(e, S(CONFIG), NULL) == FF_OK);
    ff_evaluation ev;
    CHECK(ff_evaluate(e, S("hft"), ctx, &ev) == FF_REASON_OVERRIDE);
    CHECK(str_eq(ev.variant, "off"));
    CHECK(ff_flag_set_override(e, S("hft"), S("maybe"), &err) == FF_STATUS_INVALID_ARGUMENT);
    ff_error_free(err);
    err = NULL;
    CHECK(ff_flag_set_override(e, S("nope"), S("on"), NULL) == FF_STATUS_NOT_FOUND);
    CHECK(ff_flag_clear_override(e, S("hft"), NULL) == FF_OK);
    CHECK(ff_is_enabled(e, S("hft"), ctx, false));

    /* Freeing NULL is allowed everywhere. */
    ff_context_free(NULL);
    ff_error_free(NULL);
    ff_bytes_free(NULL);
    ff_context_free(ctx);
}

static void test_ownership(void) {
    ff_engine *e = ff_engine_new(NULL, 0, NULL);
    CHECK(e != NULL);
    CHECK(ff_engine_load_json(e, S(CONFIG), NULL) == FF_OK);
    ff_context *ctx = ff_context_new(NULL, 0);
    CHECK(ctx != NULL);
    CHECK(ff_context_reset(ctx, S("someone"), NULL) == FF_OK);
    ff_str v;
    CHECK(ff_variant(e, S("layout"), ctx, &v) == FF_REASON_DEFAULT);
    /* Variant keys stay valid across reloads, until ff_engine_free. */
    CHECK(ff_engine_load_json(e, S("{\"schema_version\": 1}"), NULL) == FF_OK);
    CHECK(str_eq(v, "classic"));
    ff_bytes rev = {NULL, 0};
    CHECK(ff_engine_revision(e, &rev, NULL) == FF_OK);
    CHECK(rev.ptr == NULL);
    ff_context_free(ctx);
    ff_engine_free(e);

    ff_error *err = NULL;
    CHECK(ff_engine_new(S("{\"max_config_bytes\": -1}"), &err) == NULL);
    CHECK(err != NULL && ff_error_status(err) == FF_STATUS_INVALID_ARGUMENT);
    ff_error_free(err);

    uint32_t bucket = 0;
    CHECK(ff_bucket(S("checkout"), S("user-1"), &bucket, NULL) == FF_OK);
    CHECK(bucket < 100000);
    CHECK(strcmp(ff_version(), FF_VERSION) == 0);
    CHECK(FF_ABI_VERSION >= 1);
}

static const char PROGRAM[] =
    "{\"schema_version\": 1,\n"
    " \"flags\": {\"router\": {\"type\": \"boolean\", \"default\": \"off\"}},\n"
    " \"experiments\": {\"btn\": {\"status\": \"running\", \"variants\": {\"control\": 50, \"blue\": 50},\n"
    "    \"metrics\": {\"buy\": \"conversion\", \"spend\": \"revenue\"}}},\n"
    " \"rollouts\": {\"router\": {\"flag\": \"router\", \"strategy\": \"linear\", \"start_at\": 1795000000,\n"
    "    \"stage_duration\": \"30m\", \"auto_rollback\": true, \"require_health\": false,\n"
    "    \"health\": {\"max_error_rate\": 0.02, \"min_samples\": 10}}}}";

struct seen_events {
    int count;
    int exposures;
};

static void on_event(void *user_data, const char *json, size_t len) {
    struct seen_events *seen = (struct seen_events *)user_data;
    seen->count++;
    if (len > 0 && strstr(json, "\"type\":\"exposure\"") != NULL) {
        seen->exposures++;
    }
}

static void test_experiments_rollouts_events(void) {
    ff_engine *e = ff_engine_new(S("{\"event_capacity\": 1000}"), NULL);
    CHECK(ff_engine_set_time(e, 1795000000000 - 60000) == FF_OK);
    CHECK(ff_engine_load_json(e, S(PROGRAM), NULL) == FF_OK);
    ff_context *ctx = ff_context_new(S("user-1"));

    /* Experiments: assignment is sticky; tracking attributes to it; results are JSON. */
    ff_str variant = {NULL, 0};
    CHECK(ff_experiment_assign(e, S("btn"), ctx, &variant));
    CHECK(str_eq(variant, "control") || str_eq(variant, "blue"));
    ff_str again = {NULL, 0};
    CHECK(ff_experiment_assign(e, S("btn"), ctx, &again) && again.ptr == variant.ptr);
    CHECK(!ff_experiment_assign(e, S("nope"), ctx, &again) && again.ptr == NULL);
    CHECK(ff_track(e, S("user-1"), S("buy"), 1.0, NULL) == FF_OK);
    CHECK(ff_track(e, S("user-1"), S("spend"), 12.5, NULL) == FF_OK);
    CHECK(ff_track(e, S("user-1"), S("spend"), NAN, NULL) == FF_STATUS_INVALID_ARGUMENT);
    ff_bytes results = {NULL, 0};
    CHECK(ff_experiment_results_json(e, S("btn"), &results, NULL) == FF_OK);
    CHECK(results.ptr != NULL && strstr((const char *)results.ptr, "\"exposures\":1") != NULL);
    ff_bytes_free(&results);
    CHECK(ff_experiment_results_json(e, S("nope"), &results, NULL) == FF_STATUS_NOT_FOUND);
    CHECK(results.ptr == NULL);
    ff_bytes aggregates = {NULL, 0};
    CHECK(ff_experiment_aggregates_json(e, S("btn"), &aggregates, NULL) == FF_OK);
    CHECK(aggregates.ptr != NULL && strstr((const char *)aggregates.ptr, "\"sum_squares\":156.25") != NULL);
    ff_bytes_free(&aggregates);
    CHECK(ff_experiment_aggregates_json(e, S("nope"), &aggregates, NULL) == FF_STATUS_NOT_FOUND);
    CHECK(aggregates.ptr == NULL);
    CHECK(ff_declare_winner(e, S("btn"), S("blue"), NULL) == FF_OK);
    CHECK(ff_declare_winner(e, S("btn"), S("teal"), NULL) == FF_STATUS_INVALID_ARGUMENT);

    static const char ANALYZE[] =
        "{\"variants\": {\"control\": {\"users\": 10000, \"conversions\": 1000},"
        " \"treatment\": {\"users\": 10000, \"conversions\": 1100}}}";
    ff_bytes analysis = {NULL, 0};
    CHECK(ff_analyze_json(S(ANALYZE), &analysis, NULL) == FF_OK);
    CHECK(analysis.ptr != NULL && strstr((const char *)analysis.ptr, "\"p_value\"") != NULL);
    ff_bytes_free(&analysis);
    ff_error *err = NULL;
    CHECK(ff_analyze_json(S("{\"variants\": {}}"), &analysis, &err) == FF_STATUS_INVALID_ARGUMENT);
    CHECK(strstr(ff_error_message(err), "variants") != NULL);
    ff_error_free(err);
    double n = 0, power = 0;
    CHECK(ff_sample_size(0.10, 0.10, 0.05, 0.8, &n, NULL) == FF_OK);
    CHECK(n > 14000 && n < 15500);
    CHECK(ff_power(0.10, 0.10, 0.05, n, &power, NULL) == FF_OK);
    CHECK(power > 0.79 && power < 0.81);
    CHECK(ff_sample_size(1.5, 0.10, 0.05, 0.8, &n, NULL) == FF_STATUS_INVALID_ARGUMENT);

    /* Rollouts: pending, then stages on the engine clock; a breach rolls back. */
    ff_rollout_info info;
    CHECK(ff_rollout_status(e, S("router"), &info, NULL) == FF_OK);
    CHECK(info.state == FF_ROLLOUT_PENDING && info.percentage == 0.0 && info.stage_count == 5);
    CHECK(ff_engine_set_time(e, 1795000000000 + 31 * 60000) == FF_OK);
    CHECK(ff_rollout_status(e, S("router"), &info, NULL) == FF_OK);
    CHECK(info.state == FF_ROLLOUT_RUNNING && info.stage_index == 1 && info.percentage == 25.0);
    CHECK(info.next_stage_at_ms == 1795000000000 + 60 * 60000);
    CHECK(ff_rollout_pause(e, S("router"), NULL) == FF_OK);
    CHECK(ff_rollout_pause(e, S("router"), &err) == FF_STATUS_INVALID_STATE);
    CHECK(strstr(ff_error_message(err), "paused") != NULL);
    ff_error_free(err);
    CHECK(ff_rollout_resume(e, S("router"), NULL) == FF_OK);
    CHECK(ff_rollout_advance(e, S("router"), NULL) == FF_OK);
    CHECK(ff_rollout_status(e, S("router"), &info, NULL) == FF_OK && info.percentage == 50.0);
    CHECK(ff_rollout_report_health(e, S("router"), 0.5, 10.0, 50, NULL) == FF_OK);
    CHECK(ff_rollout_status(e, S("router"), &info, NULL) == FF_OK);
    CHECK(info.state == FF_ROLLOUT_ROLLED_BACK && info.has_health && info.last_samples == 50);
    CHECK(!ff_in_rollout(e, S("router"), ctx));
    CHECK(!ff_is_enabled(e, S("router"), ctx, true));
    CHECK(ff_rollout_advance(e, S("router"), NULL) == FF_STATUS_INVALID_STATE);
    CHECK(ff_rollout_status(e, S("nope"), &info, NULL) == FF_STATUS_NOT_FOUND);
    CHECK(ff_rollout_report_health(e, S("router"), -1.0, 10.0, 50, NULL) == FF_STATUS_INVALID_ARGUMENT);

    /* History and events. */
    ff_bytes history = {NULL, 0};
    CHECK(ff_flag_history_json(e, S("router"), &history, NULL) == FF_OK);
    CHECK(history.ptr != NULL && strstr((const char *)history.ptr, "health_breach") != NULL);
    ff_bytes_free(&history);
    ff_bytes events = {NULL, 0};
    CHECK(ff_events_drain(e, 2, &events) == FF_OK);
    int lines = 0;
    for (size_t i = 0; i < events.len; i++) lines += events.ptr[i] == '\n';
    CHECK(lines == 2);
    ff_bytes_free(&events);
    CHECK(ff_events_drain(e, 0, &events) == FF_OK && events.ptr != NULL);
    ff_bytes_free(&events);
    CHECK(ff_events_drain(e, 0, &events) == FF_OK && events.ptr == NULL);
    CHECK(ff_events_dropped(e) == 0);

    struct seen_events seen = {0, 0};
    CHECK(ff_engine_set_listener(e, on_event, &seen) == FF_OK);
    ff_context *other = ff_context_new(S("user-2"));
    CHECK(ff_declare_winner(e, S("btn"), S("blue"), NULL) == FF_OK);
    CHECK(ff_events_set_evaluation(e, true) == FF_OK);
    (void)ff_is_enabled(e, S("router"), other, false);
    CHECK(ff_events_set_evaluation(e, false) == FF_OK);
    CHECK(ff_engine_set_listener(e, NULL, NULL) == FF_OK);
    CHECK(seen.count == 2);
    CHECK(ff_events_drain(e, 0, &events) == FF_OK && events.ptr == NULL);

    ff_context_free(other);
    ff_context_free(ctx);
    ff_engine_free(e);
}

/* Re-entrancy: a listener that calls a mutating function of its own engine on the
 * listener's thread gets FF_STATUS_INVALID_STATE with a message, never a deadlock (the
 * override_set event below is emitted while the engine's writer lock is held). Reading,
 * evaluating, assigning and tracking work from inside. SIGALRM ends a hung test. */
#define REENTRY_CALLS 16

struct reentry {
    ff_engine *engine;
    int ran;
    ff_status status[REENTRY_CALLS];
    int says_listener[REENTRY_CALLS];
    int allowed_ok;
};

static void note_refusal(struct reentry *r, int i, ff_status status, ff_error *err) {
    r->status[i] = status;
    r->says_listener[i] = err == NULL || strstr(ff_error_message(err), "listener") != NULL;
    ff_error_free(err);
}

/* The status first, then the error it wrote: in one argument list the two could be read
 * in either order. */
#define REFUSE(call)                                \
    do {                                            \
        ff_status status_ = (call);                 \
        note_refusal(r, i++, status_, err);         \
        err = NULL;                                 \
    } while (0)

static void reenter(void *user_data, const char *json, size_t len) {
    struct reentry *r = (struct reentry *)user_data;
    if (r->ran || len == 0 || strstr(json, "\"type\":\"override_set\"") == NULL) return;
    r->ran = 1;
    ff_engine *e = r->engine;
    ff_rollout_info info;
    ff_error *err = NULL;
    int i = 0;
    REFUSE(ff_engine_load_json(e, S(PROGRAM), &err));
    REFUSE(ff_engine_load_file(e, S("/no/such/file.json"), &err));
    REFUSE(ff_flag_set_override(e, S("router"), S("on"), &err));
    REFUSE(ff_flag_set_override(e, S("kill"), S("off"), &err)); /* kill switch */
    REFUSE(ff_flag_clear_override(e, S("router"), &err));
    REFUSE(ff_declare_winner(e, S("btn"), S("blue"), &err));
    REFUSE(ff_rollout_status(e, S("router"), &info, &err));
    REFUSE(ff_rollout_report_health(e, S("router"), 0.0, 1.0, 100, &err));
    REFUSE(ff_rollout_advance(e, S("router"), &err));
    REFUSE(ff_rollout_pause(e, S("router"), &err));
    REFUSE(ff_rollout_resume(e, S("router"), &err));
    REFUSE(ff_rollout_rollback(e, S("router"), &err));
    REFUSE(ff_engine_checkpoint(e, &err));
    note_refusal(r, i++, ff_engine_set_time(e, 1796000000000), NULL);
    note_refusal(r, i++, ff_engine_set_listener(e, NULL, NULL), NULL);
    note_refusal(r, i++, ff_engine_set_time(e, 0), NULL);
    /* Allowed: they take no lock the emitting call holds; their events are queued. */
    ff_context *ctx = ff_context_new(S("inside"));
    ff_str v = {NULL, 0};
    ff_bytes results = {NULL, 0};
    r->allowed_ok = ff_is_enabled(e, S("router"), ctx, false) && /* overridden on */
                    ff_experiment_assign(e, S("btn"), ctx, &v) &&
                    ff_track(e, S("inside"), S("buy"), 1.0, NULL) == FF_OK &&
                    ff_experiment_results_json(e, S("btn"), &results, NULL) == FF_OK;
    ff_bytes_free(&results);
    ff_context_free(ctx);
}

static void test_listener_reentry(void) {
    alarm(60);
    ff_engine *e = ff_engine_new(S("{}"), NULL);
    static const char WITH_KILL[] =
        "{\"schema_version\": 1,\n"
        " \"flags\": {\"router\": {\"type\": \"boolean\", \"default\": \"off\"}, \"kill\": {\"type\": \"kill_switch\"}},\n"
        " \"experiments\": {\"btn\": {\"status\": \"running\", \"variants\": {\"control\": 50, \"blue\": 50},\n"
        "    \"metrics\": {\"buy\": \"conversion\"}}},\n"
        " \"rollouts\": {\"router\": {\"flag\": \"router\", \"strategy\": \"linear\", \"start_at\": 1795000000,\n"
        "    \"stage_duration\": \"30m\", \"require_health\": false}}}";
    CHECK(ff_engine_set_time(e, 1795000000000 + 60000) == FF_OK);
    CHECK(ff_engine_load_json(e, S(WITH_KILL), NULL) == FF_OK);
    struct reentry r;
    memset(&r, 0, sizeof r);
    r.engine = e;
    CHECK(ff_engine_set_listener(e, reenter, &r) == FF_OK);
    CHECK(ff_flag_set_override(e, S("router"), S("on"), NULL) == FF_OK);
    CHECK(ff_engine_set_listener(e, NULL, NULL) == FF_OK);
    CHECK(r.ran);
    for (int i = 0; i < REENTRY_CALLS; i++) {
        if (r.status[i] != FF_STATUS_INVALID_STATE || !r.says_listener[i]) {
            fprintf(stderr, "listener re-entry call %d: status %s\n", i, ff_status_name(r.status[i]));
        }
        CHECK(r.status[i] == FF_STATUS_INVALID_STATE && r.says_listener[i]);
    }
    CHECK(r.allowed_ok);

    /* Nothing the refused calls asked for happened, and every call works afterwards. */
    ff_context *ctx = ff_context_new(S("after"));
    ff_evaluation d;
    CHECK(ff_evaluate(e, S("kill"), ctx, &d) == FF_REASON_DEFAULT);
    ff_rollout_info info;
    CHECK(ff_rollout_status(e, S("router"), &info, NULL) == FF_OK && info.state == FF_ROLLOUT_RUNNING);
    CHECK(ff_engine_load_json(e, S(WITH_KILL), NULL) == FF_OK);
    CHECK(ff_flag_set_override(e, S("kill"), S("off"), NULL) == FF_OK);
    CHECK(ff_evaluate(e, S("kill"), ctx, &d) == FF_REASON_OVERRIDE);
    CHECK(ff_flag_clear_override(e, S("router"), NULL) == FF_OK);
    CHECK(ff_declare_winner(e, S("btn"), S("blue"), NULL) == FF_OK);
    CHECK(ff_rollout_report_health(e, S("router"), 0.0, 1.0, 100, NULL) == FF_OK);
    CHECK(ff_rollout_pause(e, S("router"), NULL) == FF_OK);
    CHECK(ff_rollout_resume(e, S("router"), NULL) == FF_OK);
    CHECK(ff_rollout_advance(e, S("router"), NULL) == FF_OK);
    CHECK(ff_rollout_rollback(e, S("router"), NULL) == FF_OK);
    CHECK(ff_engine_checkpoint(e, NULL) == FF_OK);
    CHECK(ff_engine_set_time(e, 1796000000000) == FF_OK);
    ff_bytes events = {NULL, 0};
    CHECK(ff_events_drain(e, 0, &events) == FF_OK);
    CHECK(events.ptr != NULL && strstr((const char *)events.ptr, "\"type\":\"exposure\"") != NULL);
    ff_bytes_free(&events);
    ff_context_free(ctx);
    ff_engine_free(e);
    alarm(0);
}

/* Limits on arguments: times outside years 0000-9999, user ids over 1,024 bytes, and
 * tracked values that would break a metric's analysis are refused; nothing changes. */
static void test_argument_limits(void) {
    ff_engine *e = ff_engine_new(S("{}"), NULL);
    CHECK(ff_engine_set_time(e, 253402300799999) == FF_OK); /* 9999-12-31T23:59:59.999Z */
    CHECK(ff_engine_set_time(e, 253402300800000) == FF_STATUS_INVALID_ARGUMENT);
    CHECK(ff_engine_set_time(e, -62167219200000) == FF_OK); /* 0000-01-01T00:00:00Z */
    CHECK(ff_engine_set_time(e, -62167219200001) == FF_STATUS_INVALID_ARGUMENT);
    CHECK(ff_engine_set_time(e, 0) == FF_OK);
    char id[1026];
    memset(id, 'u', sizeof id);
    ff_context *ctx = NULL;
    ff_error *err = NULL;
    CHECK(ff_context_create(id, 1024, &ctx, NULL) == FF_OK);
    CHECK(ff_context_reset(ctx, id, 1025, &err) == FF_STATUS_INVALID_ARGUMENT);
    CHECK(err != NULL && strstr(ff_error_message(err), "user_id") != NULL);
    ff_error_free(err);
    err = NULL;
    ff_context_free(ctx);
    CHECK(ff_context_create(id, 1025, &ctx, NULL) == FF_STATUS_INVALID_ARGUMENT && ctx == NULL);
    CHECK(ff_engine_load_json(e, S(PROGRAM), NULL) == FF_OK);
    ctx = ff_context_new(S("user-1"));
    ff_str v = {NULL, 0};
    CHECK(ff_experiment_assign(e, S("btn"), ctx, &v));
    CHECK(ff_track(e, S("user-1"), S("spend"), 1e308, &err) == FF_STATUS_INVALID_ARGUMENT);
    CHECK(err != NULL && strstr(ff_error_message(err), "value") != NULL);
    ff_error_free(err);
    err = NULL;
    CHECK(ff_track(e, id, 1025, S("spend"), 1.0, &err) == FF_STATUS_INVALID_ARGUMENT);
    CHECK(err != NULL && strstr(ff_error_message(err), "user_id") != NULL);
    ff_error_free(err);
    CHECK(ff_track(e, S("user-1"), S("spend"), 1e15, NULL) == FF_OK);
    ff_bytes results = {NULL, 0};
    CHECK(ff_experiment_results_json(e, S("btn"), &results, NULL) == FF_OK);
    CHECK(results.ptr != NULL && strstr((const char *)results.ptr, "must be") == NULL);
    ff_bytes_free(&results);
    ff_context_free(ctx);
    ff_engine_free(e);
}

/* ABI 2: the run-time version, names, constructors that say why, one-call detail and
 * value, and interned string ids. */
static void test_abi_2(void) {
    CHECK(ff_abi_version() == FF_ABI_VERSION && FF_ABI_VERSION == 2);
    CHECK(strcmp(ff_status_name(FF_STATUS_INVALID_CONFIG), "INVALID_CONFIG") == 0);
    CHECK(strcmp(ff_status_name(1000), "UNKNOWN") == 0);
    CHECK(strcmp(ff_reason_name(FF_REASON_SCHEDULED_OFF), "SCHEDULED_OFF") == 0);
    CHECK(strcmp(ff_reason_name(UINT32_MAX), "UNKNOWN") == 0);
    CHECK(strcmp(ff_rollout_state_name(FF_ROLLOUT_ROLLED_BACK), "rolled_back") == 0);
    CHECK(strcmp(ff_rollout_state_name(5), "unknown") == 0);

    ff_error *err = NULL;
    ff_engine *e = NULL;
    CHECK(ff_engine_create(S("{\"bogus\": 1}"), &e, &err) == FF_STATUS_INVALID_ARGUMENT);
    CHECK(e == NULL && err != NULL && strstr(ff_error_message(err), "bogus") != NULL);
    ff_error_free(err);
    err = NULL;
    CHECK(ff_engine_create(NULL, 0, &e, &err) == FF_OK && e != NULL && err == NULL);
    CHECK(ff_engine_load_json(e, S(CONFIG), NULL) == FF_OK);

    static const char BAD_UTF8[] = {'u', (char)0xff};
    ff_context *ctx = NULL;
    CHECK(ff_context_create(BAD_UTF8, sizeof BAD_UTF8, &ctx, &err) == FF_STATUS_INVALID_ARGUMENT);
    CHECK(ctx == NULL && strcmp(ff_error_message(err), "user_id: invalid UTF-8 at byte 1") == 0);
    ff_error_free(err);
    CHECK(ff_context_create(S("user-42"), &ctx, NULL) == FF_OK && ctx != NULL);
    CHECK(ff_context_set_string(ctx, S("tier"), S("vip"), NULL) == FF_OK);

    ff_detail d;
    ff_bytes value = {NULL, 0};
    CHECK(ff_evaluate_value(e, S("layout"), ctx, &d, &value) == FF_REASON_RULE_MATCH);
    CHECK(d.reason == FF_REASON_RULE_MATCH && str_eq(d.variant, "pro") && d.rule_index == 0 && str_eq(d.rule_id, "vip"));
    CHECK(value.ptr != NULL && strcmp((const char *)value.ptr, "{\"levels\":20}") == 0);
    ff_bytes_free(&value);
    ff_str resolved = ff_engine_string(e, d.variant_string_id);
    CHECK(resolved.ptr == d.variant.ptr && resolved.len == d.variant.len);
    CHECK(str_eq(ff_engine_string(e, d.rule_id_string_id), "vip"));
    CHECK(ff_engine_string(e, FF_NO_STRING).ptr == NULL);
    CHECK(ff_evaluate_value(e, S("missing"), ctx, &d, &value) == FF_REASON_FLAG_NOT_FOUND);
    CHECK(d.variant.ptr == NULL && d.variant_string_id == FF_NO_STRING && value.ptr == NULL);

    ff_str v = {NULL, 0};
    ff_string_id id = FF_NO_STRING;
    CHECK(ff_variant_id(e, S("layout"), ctx, &v, &id) == FF_REASON_RULE_MATCH);
    CHECK(str_eq(v, "pro") && str_eq(ff_engine_string(e, id), "pro"));
    CHECK(ff_engine_load_json(e, S(CONFIG), NULL) == FF_OK);
    ff_string_id after = FF_NO_STRING;
    CHECK(ff_variant_id(e, S("layout"), ctx, &v, &after) == FF_REASON_RULE_MATCH && after == id);

    CHECK(ff_engine_load_json(e, S(PROGRAM), NULL) == FF_OK);
    CHECK(ff_experiment_assign_id(e, S("btn"), ctx, &v, &id));
    CHECK(str_eq(ff_engine_string(e, id), "control") || str_eq(ff_engine_string(e, id), "blue"));
    CHECK(!ff_experiment_assign_id(e, S("nope"), ctx, &v, &id) && v.ptr == NULL && id == FF_NO_STRING);

    ff_context_free(ctx);
    ff_engine_free(e);
}

/* A durable engine: what it was told and what it checkpointed comes back in the next
 * engine on the same state file, and a second engine on it is refused while the first
 * is open. */
static void test_durable_state(void) {
    char dir[] = "/tmp/ff-c-state-XXXXXX";
    CHECK(mkdtemp(dir) != NULL);
    char options[256];
    int n = snprintf(options, sizeof options, "{\"state_path\": \"%s/flags.db\"}", dir);
    ff_error *err = NULL;
    ff_engine *e = ff_engine_new(options, (size_t)n, &err);
    CHECK(e != NULL && err == NULL);
    CHECK(ff_engine_load_json(e, S(CONFIG), NULL) == FF_OK);
    CHECK(ff_flag_set_override(e, S("on"), S("off"), NULL) == FF_OK);
    CHECK(ff_engine_checkpoint(e, NULL) == FF_OK);

    ff_engine *second = ff_engine_new(options, (size_t)n, &err);
    CHECK(second == NULL);
    CHECK(ff_error_status(err) == FF_STATUS_IO);
    CHECK(strstr(ff_error_message(err), "in use by pid") != NULL);
    ff_error_free(err);
    err = NULL;
    ff_engine_free(e);

    ff_engine *restarted = ff_engine_new(options, (size_t)n, &err);
    CHECK(restarted != NULL && err == NULL);
    ff_context *ctx = ff_context_new(S("someone"));
    CHECK(!ff_is_enabled(restarted, S("on"), ctx, true)); /* the override came back */
    ff_bytes revision = {NULL, 0};
    CHECK(ff_engine_revision(restarted, &revision, NULL) == FF_OK);
    ff_bytes_free(&revision);
    ff_context_free(ctx);
    ff_engine_free(restarted);
    CHECK(ff_engine_checkpoint(NULL, NULL) == FF_STATUS_INVALID_ARGUMENT);
}

/* CUPED through tracking: the covariate is a context attribute, read at exposure; the
 * results carry the adjusted comparison with no call beyond the usual ones. */
static void test_covariate_through_context(void) {
    static const char CONFIG[] =
        "{\"schema_version\": 1, \"experiments\": {\"cup\": {\"status\": \"running\","
        " \"variants\": {\"control\": 50, \"blue\": 50},"
        " \"metrics\": {\"spend\": {\"kind\": \"revenue\", \"covariate\": \"spend_before\"}}}}}";
    ff_engine *e = ff_engine_new(S("{}"), NULL);
    CHECK(ff_engine_load_json(e, S(CONFIG), NULL) == FF_OK);
    int tracked = 1;
    for (int i = 0; i < 400; i++) {
        char user[32];
        int len = snprintf(user, sizeof user, "user-%d", i);
        double x = (double)(i * 37 % 101);
        ff_context *ctx = ff_context_new(user, (size_t)len);
        tracked &= ff_context_set_number(ctx, S("spend_before"), x, NULL) == FF_STATUS_OK;
        ff_str variant = {NULL, 0};
        tracked &= ff_experiment_assign(e, S("cup"), ctx, &variant);
        double y = 0.8 * x + (double)(i * 53 % 17) + (str_eq(variant, "blue") ? 3.0 : 0.0);
        tracked &= ff_track(e, user, (size_t)len, S("spend"), y, NULL) == FF_OK;
        ff_context_free(ctx);
    }
    CHECK(tracked);
    ff_bytes results = {NULL, 0};
    CHECK(ff_experiment_results_json(e, S("cup"), &results, NULL) == FF_OK);
    CHECK(results.ptr != NULL && strstr((const char *)results.ptr, "\"cuped\":{\"theta\":") != NULL);
    ff_bytes_free(&results);
    ff_engine_free(e);
}

int main(void) {
    ff_engine *e = ff_engine_new(S("{}"), NULL);
    if (e == NULL) {
        fprintf(stderr, "ff_engine_new failed\n");
        return 1;
    }
    test_load_and_evaluate(e);
    test_errors(e);
    ff_engine_free(e);
    test_ownership();
    test_experiments_rollouts_events();
    test_listener_reentry();
    test_argument_limits();
    test_abi_2();
    test_durable_state();
    test_covariate_through_context();
    if (failures) {
        fprintf(stderr, "C API test: %d of %d checks failed\n", failures, checks);
        return 1;
    }
    printf("C API test: %d checks passed\n", checks);
    return 0;
}
