/* Calls through the shared library, as a C host makes them: instructions per call under
 * callgrind (`so_calls CASE N` run N times and 0 times) and nanoseconds per call (`so_calls
 * CASE N time`: the best of 5 rounds). Built and run by scripts/icount.sh --so. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "featureflags.h"

static const char CONFIG[] =
    "{\"schema_version\": 1, \"flags\": {"
    "\"a-on\": {\"type\": \"boolean\"},"
    "\"b-country\": {\"type\": \"boolean\", \"default\": \"off\", \"rules\": [{\"when\": {\"attr\": \"country\", \"op\": \"in\", \"value\": [\"US\", \"CA\", \"GB\"]}, \"serve\": \"on\"}]},"
    "\"c-split\": {\"type\": \"percentage\", \"percentage\": 50},"
    "\"d-rule-split\": {\"type\": \"multivariate\", \"variants\": {\"x\": 1, \"y\": 2, \"z\": 3},"
    " \"rules\": [{\"when\": {\"all\": [{\"attr\": \"country\", \"op\": \"in\", \"value\": [\"US\", \"CA\", \"GB\"]},"
    "  {\"attr\": \"tier\", \"op\": \"equals\", \"value\": \"vip\"}]}, \"serve\": {\"split\": {\"x\": 34, \"y\": 33, \"z\": 33}}}],"
    " \"default\": \"x\"}},"
    "\"experiments\": {\"exp\": {\"status\": \"running\", \"variants\": {\"control\": 50, \"treatment\": 50},"
    " \"metrics\": {\"buy\": \"conversion\", \"revenue\": \"revenue\"}}}}";

#define S(x) x, sizeof(x) - 1
static volatile int sink;

static void count_event(void *user_data, const char *json, size_t len) {
    (void)user_data;
    sink += (int)len + json[len - 1];
}

static void run(const char *c, struct ff_engine *e, struct ff_engine *e2, struct ff_context *u, long n) {
    struct ff_evaluation ev;
    struct ff_str v;
    if (!strcmp(c, "A")) for (long i = 0; i < n; i++) sink += ff_is_enabled(e, S("a-on"), u, false);
    else if (!strcmp(c, "B")) for (long i = 0; i < n; i++) sink += ff_is_enabled(e, S("b-country"), u, false);
    else if (!strcmp(c, "C")) for (long i = 0; i < n; i++) sink += ff_is_enabled(e, S("c-split"), u, false);
    else if (!strcmp(c, "D")) for (long i = 0; i < n; i++) sink += ff_evaluate(e, S("d-rule-split"), u, &ev);
    else if (!strcmp(c, "A-evaluate")) for (long i = 0; i < n; i++) sink += ff_evaluate(e, S("a-on"), u, &ev);
    else if (!strcmp(c, "A-event")) {
        /* An evaluation event formatted and handed to a C listener: what a host's
         * callback receives, less what the callback does. */
        ff_engine_set_listener(e, count_event, NULL);
        ff_events_set_evaluation(e, true);
        for (long i = 0; i < n; i++) sink += ff_is_enabled(e, S("a-on"), u, false);
        ff_events_set_evaluation(e, false);
        ff_engine_set_listener(e, NULL, NULL);
    } else if (!strcmp(c, "A-two-engines"))
        for (long i = 0; i < n; i++) sink += ff_is_enabled(i & 1 ? e2 : e, S("a-on"), u, false);
    else if (!strcmp(c, "rebuild-A"))
        for (long i = 0; i < n; i++) {
            ff_context_reset(u, S("user-1234567"), NULL);
            ff_context_set_string(u, S("country"), S("US"), NULL);
            ff_context_set_string(u, S("tier"), S("vip"), NULL);
            sink += ff_is_enabled(e, S("a-on"), u, false);
        }
    else if (!strcmp(c, "many-10")) {
        static const char *keys[10] = {"a-on", "b-country", "c-split", "a-on", "b-country", "c-split", "a-on", "b-country", "c-split", "a-on"};
        static size_t lens[10];
        struct ff_evaluation out[10];
        for (int k = 0; k < 10; k++) lens[k] = strlen(keys[k]);
        for (long i = 0; i < n; i++) sink += ff_evaluate_many(e, keys, lens, 10, u, out);
    } else if (!strcmp(c, "single-10")) {
        static const char *keys[10] = {"a-on", "b-country", "c-split", "a-on", "b-country", "c-split", "a-on", "b-country", "c-split", "a-on"};
        static size_t lens[10];
        for (int k = 0; k < 10; k++) lens[k] = strlen(keys[k]);
        for (long i = 0; i < n; i++)
            for (int k = 0; k < 10; k++) sink += ff_is_enabled(e, keys[k], lens[k], u, false);
    } else if (!strcmp(c, "many-ab") || !strcmp(c, "single-ab") || !strcmp(c, "bools-ab") || !strcmp(c, "list-ab") ||
               !strcmp(c, "bits-ab")) {
        /* Ten flags without a split (A and B kinds): what a batch saves when the
         * evaluations are cheap. */
        static const char *keys[10] = {"a-on", "b-country", "a-on", "b-country", "a-on", "b-country", "a-on", "b-country", "a-on", "b-country"};
        static size_t lens[10];
        struct ff_detail out[10];
        bool on[10];
        for (int k = 0; k < 10; k++) lens[k] = strlen(keys[k]);
        if (c[0] == 'm')
            for (long i = 0; i < n; i++) sink += ff_evaluate_many_detail(e, keys, lens, 10, u, out);
        else if (!strcmp(c, "bools-ab"))
            for (long i = 0; i < n; i++) sink += ff_is_enabled_many(e, keys, lens, 10, u, NULL, on) + on[3];
        else if (!strcmp(c, "list-ab") || !strcmp(c, "bits-ab")) {
            struct ff_flag_list *list;
            uint64_t bits;
            if (ff_flag_list_create(keys, lens, 10, &list, NULL) != FF_STATUS_OK) abort();
            if (c[0] == 'l')
                for (long i = 0; i < n; i++) sink += ff_flag_list_is_enabled(e, list, 0, 10, u, NULL, on) + on[3];
            else
                for (long i = 0; i < n; i++)
                    sink += ff_flag_list_is_enabled_bits(e, list, 0, 10, u, 0, &bits) + (bits >> 3 & 1);
            ff_flag_list_free(list);
        }
        else
            for (long i = 0; i < n; i++)
                for (int k = 0; k < 10; k++) sink += ff_is_enabled(e, keys[k], lens[k], u, false);
    } else if (!strcmp(c, "flag-bool")) {
        bool b;
        for (long i = 0; i < n; i++) sink += ff_flag_bool(e, S("a-on"), u, false, &b);
    }
    else if (!strcmp(c, "assign")) for (long i = 0; i < n; i++) sink += ff_experiment_assign(e, S("exp"), u, &v);
    else if (!strcmp(c, "assign-new")) {
        /* A user never seen before on every call: the context reset to the new id, the
         * enrollment, its tallies and its queued exposure event. */
        static unsigned long next;
        char id[32] = "new-user-0000000000";
        for (long i = 0; i < n; i++) {
            /* The counter's last ten decimal digits, written in place (snprintf would
             * cost more than the reset). */
            unsigned long k = next++;
            for (int d = 18; d >= 9; d--, k /= 10) id[d] = (char)('0' + k % 10);
            ff_context_reset(u, id, 19, NULL);
            sink += ff_experiment_assign(e, S("exp"), u, &v);
        }
    }
    else if (!strcmp(c, "track"))
        for (long i = 0; i < n; i++) sink += ff_track(e, S("user-1234567"), S("revenue"), 1.5, NULL);
    else { fprintf(stderr, "unknown case %s\n", c); exit(2); }
}

int main(int argc, char **argv) {
    if (argc < 3) { fprintf(stderr, "usage: so_calls CASE N [time]\n"); return 2; }
    long n = atol(argv[2]);
    struct ff_engine *e = ff_engine_new(NULL, 0, NULL), *e2 = ff_engine_new(NULL, 0, NULL);
    if (ff_engine_load_json(e, S(CONFIG), NULL) || ff_engine_load_json(e2, S(CONFIG), NULL)) return 1;
    struct ff_context *u = ff_context_new(S("user-1234567"));
    ff_context_set_string(u, S("country"), S("US"), NULL);
    ff_context_set_string(u, S("tier"), S("vip"), NULL);
    struct ff_str v;
    if (!ff_experiment_assign(e, S("exp"), u, &v)) return 1;
    run(argv[1], e, e2, u, 1000); /* warm: the first call fills caches */
    if (argc > 3) {
        double best = 1e30;
        for (int r = 0; r < 5; r++) {
            struct timespec t0, t1;
            clock_gettime(CLOCK_MONOTONIC, &t0);
            run(argv[1], e, e2, u, n);
            clock_gettime(CLOCK_MONOTONIC, &t1);
            double ns = ((t1.tv_sec - t0.tv_sec) * 1e9 + (t1.tv_nsec - t0.tv_nsec)) / n;
            if (ns < best) best = ns;
        }
        printf("%s %.2f ns\n", argv[1], best);
    } else {
        run(argv[1], e, e2, u, n);
    }
    ff_context_free(u);
    ff_engine_free(e2);
    ff_engine_free(e);
    return 0;
}
