/* Test helper for ListenerTest: produces an engine event on a thread the JVM did not
 * start, so the JNI glue's listener has to attach it (and detach it when it exits).
 * It links its own copy of the static library, whose code and structs are those of
 * the glue's copy (one build), so it can call into an engine the glue created. */
#include <jni.h>
#include <pthread.h>
#include <stdint.h>

#include "featureflags.h"

typedef struct {
    const ff_engine *engine;
    ff_status status;
} job_t;

static void *set_override(void *arg) {
    job_t *job = arg;
    ff_error *err = NULL;
    job->status = ff_flag_set_override(job->engine, "layout", 6, "pro", 3, &err);
    ff_error_free(err);
    return NULL;
}

/* Sets layout's override to "pro" on a new native thread, joined; returns the status. */
JNIEXPORT jint JNICALL Java_io_featureflags_ListenerTest_setOverrideOnNativeThread(JNIEnv *env, jclass cls, jlong engine) {
    (void)env;
    (void)cls;
    job_t job = {(const ff_engine *)(intptr_t)engine, FF_STATUS_PANIC};
    pthread_t thread;
    if (pthread_create(&thread, NULL, set_override, &job) != 0) return -1;
    pthread_join(thread, NULL);
    return (jint)job.status;
}
