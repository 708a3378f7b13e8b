/* A C program built against an unpacked release tarball (scripts/test_dist.sh): loads a
 * config, evaluates one flag for one user and prints it. Exit 0 only when the library
 * serves what the config says. */
#include <stdio.h>
#include <string.h>

#include "featureflags.h"

static const char CONFIG[] =
    "{\"schema_version\": 1, \"flags\": {\"beta\": {\"type\": \"boolean\", \"rules\": [{\"when\": "
    "{\"attr\": \"country\", \"op\": \"equals\", \"value\": \"GB\"}, \"serve\": \"on\"}], \"default\": \"off\"}}}";

int main(void) {
    if (ff_abi_version() != FF_ABI_VERSION) {
        fprintf(stderr, "library ABI %u, header ABI %u\n", ff_abi_version(), (unsigned)FF_ABI_VERSION);
        return 3;
    }
    ff_error *err = NULL;
    ff_engine *engine = NULL;
    if (ff_engine_create(NULL, 0, &engine, &err) != FF_OK ||
        ff_engine_load_json(engine, CONFIG, strlen(CONFIG), &err) != FF_OK) {
        fprintf(stderr, "%s\n", err ? ff_error_message(err) : "failed");
        return 1;
    }
    ff_context *ctx = NULL;
    if (ff_context_create("user-42", 7, &ctx, &err) != FF_OK ||
        ff_context_set_string(ctx, "country", 7, "GB", 2, &err) != FF_OK) {
        fprintf(stderr, "%s\n", err ? ff_error_message(err) : "failed");
        return 1;
    }
    ff_evaluation ev;
    ff_evaluate(engine, "beta", 4, ctx, &ev);
    printf("C: featureflags %s (ABI %u): beta = %.*s (%s)\n", ff_version(), ff_abi_version(), (int)ev.variant.len,
           ev.variant.ptr, ff_reason_name(ev.reason));
    int ok = ev.variant.len == 2 && memcmp(ev.variant.ptr, "on", 2) == 0 && ev.reason == FF_REASON_RULE_MATCH;
    ff_context_free(ctx);
    ff_engine_free(engine);
    return ok ? 0 : 1;
}
