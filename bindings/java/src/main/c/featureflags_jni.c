/* JNI glue for io.featureflags.Native: static natives on long handles.
 *
 * Strings arrive as UTF-8 byte arrays (not JNI's modified UTF-8), copied for the call.
 * Every function checks for a zero handle, and failures become FeatureFlagsException
 * subclasses carrying the engine's message. Interned variant keys and rule ids go back
 * as their ff_string_id (-1 for none), which the Java side resolves once with
 * engineString and caches in an array indexed by id. */
#include <jni.h>
#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "featureflags.h"

#define ENGINE(h) ((const ff_engine *)(intptr_t)(h))
#define CONTEXT(h) ((ff_context *)(intptr_t)(h))

static const char *exception_class(ff_status status) {
    switch (status) {
        case FF_STATUS_INVALID_ARGUMENT: return "io/featureflags/InvalidArgumentException";
        case FF_STATUS_INVALID_CONFIG: return "io/featureflags/InvalidConfigException";
        case FF_STATUS_NOT_FOUND: return "io/featureflags/NotFoundException";
        case FF_STATUS_INVALID_STATE: return "io/featureflags/InvalidStateException";
        case FF_STATUS_IO: return "io/featureflags/FeatureFlagsIOException";
        default: return "io/featureflags/InternalException";
    }
}

static void throw_class(JNIEnv *env, const char *cls, const char *msg) {
    if ((*env)->ExceptionCheck(env)) return;
    jclass c = (*env)->FindClass(env, cls);
    if (c != NULL) (*env)->ThrowNew(env, c, msg);
}

/* Throws for a failed status; frees *err. Returns 1 when it threw. `err` is where the
 * call wrote its error (or NULL), read only here: taking the error itself as an argument
 * would let C read it before the call that fills it (`fail(env, ff_x(&err), err)`: the
 * order in which arguments are evaluated is unspecified). */
static int fail(JNIEnv *env, ff_status status, ff_error **err) {
    ff_error *e = err != NULL ? *err : NULL;
    if (status == FF_STATUS_OK) return 0;
    throw_class(env, exception_class(status), e != NULL ? ff_error_message(e) : ff_status_name(status));
    ff_error_free(e);
    return 1;
}

static int closed(JNIEnv *env, jlong handle) {
    if (handle != 0) return 0;
    throw_class(env, "java/lang/IllegalStateException", "featureflags: closed engine or context");
    return 1;
}

/* A Java byte array's contents, copied for the duration of a call. Not pinned with
 * GetPrimitiveArrayCritical: a call may deliver events to a Java listener, and no JNI
 * call may run inside a critical region. Keys and attribute names fit the inline buffer,
 * so the common call copies a few bytes on the stack; larger inputs (configs) are
 * malloc'ed. */
typedef struct {
    char *ptr; /* NULL for a null or empty array */
    size_t len;
    char inline_buf[256];
} bytes_t;

static int read_bytes(JNIEnv *env, jbyteArray array, bytes_t *b) {
    b->ptr = NULL;
    b->len = 0;
    if (array == NULL) return 1;
    jsize len = (*env)->GetArrayLength(env, array);
    if (len == 0) return 1;
    b->ptr = (size_t)len <= sizeof b->inline_buf ? b->inline_buf : malloc((size_t)len);
    if (b->ptr == NULL) {
        throw_class(env, "java/lang/OutOfMemoryError", "featureflags: copying a byte array");
        return 0;
    }
    (*env)->GetByteArrayRegion(env, array, 0, len, (jbyte *)b->ptr);
    b->len = (size_t)len;
    return 1;
}

static void free_bytes(bytes_t *b) {
    if (b->ptr != b->inline_buf) free(b->ptr);
}

#define CHARS(b) ((const char *)(b).ptr), ((b).len)

static jlong string_id(ff_string_id id) { return id == FF_NO_STRING ? -1 : (jlong)id; }

static jbyteArray to_java(JNIEnv *env, ff_bytes *b) {
    if (b->ptr == NULL) return NULL;
    jbyteArray out = (*env)->NewByteArray(env, (jsize)b->len);
    if (out != NULL) (*env)->SetByteArrayRegion(env, out, 0, (jsize)b->len, (const jbyte *)b->ptr);
    ff_bytes_free(b);
    return out;
}

#define JNI(ret, name) JNIEXPORT ret JNICALL Java_io_featureflags_Native_##name

JNI(void, noop)(JNIEnv *env, jclass cls) { (void)env; (void)cls; }

JNI(jstring, version)(JNIEnv *env, jclass cls) { (void)cls; return (*env)->NewStringUTF(env, ff_version()); }

JNI(jint, abiVersion)(JNIEnv *env, jclass cls) { (void)env; (void)cls; return (jint)ff_abi_version(); }

JNI(jstring, statusName)(JNIEnv *env, jclass cls, jint status) { (void)cls; return (*env)->NewStringUTF(env, ff_status_name((uint32_t)status)); }
JNI(jstring, reasonName)(JNIEnv *env, jclass cls, jint reason) { (void)cls; return (*env)->NewStringUTF(env, ff_reason_name((uint32_t)reason)); }
JNI(jstring, rolloutStateName)(JNIEnv *env, jclass cls, jint state) { (void)cls; return (*env)->NewStringUTF(env, ff_rollout_state_name((uint32_t)state)); }

JNI(jstring, engineString)(JNIEnv *env, jclass cls, jlong e, jlong id) {
    (void)cls;
    if (e == 0 || id < 0 || id >= FF_NO_STRING) return NULL;
    ff_str s = ff_engine_string(ENGINE(e), (ff_string_id)id);
    if (s.ptr == NULL) return NULL;
    /* Interned strings are UTF-8; decode through a byte array to avoid modified UTF-8. */
    jbyteArray bytes = (*env)->NewByteArray(env, (jsize)s.len);
    if (bytes == NULL) return NULL;
    (*env)->SetByteArrayRegion(env, bytes, 0, (jsize)s.len, (const jbyte *)s.ptr);
    jclass string_class = (*env)->FindClass(env, "java/lang/String");
    jmethodID ctor = (*env)->GetMethodID(env, string_class, "<init>", "([BLjava/lang/String;)V");
    jstring charset = (*env)->NewStringUTF(env, "UTF-8");
    jstring out = (jstring)(*env)->NewObject(env, string_class, ctor, bytes, charset);
    (*env)->DeleteLocalRef(env, bytes);
    (*env)->DeleteLocalRef(env, charset);
    (*env)->DeleteLocalRef(env, string_class);
    return out;
}

JNI(jlong, engineNew)(JNIEnv *env, jclass cls, jbyteArray options) {
    (void)cls;
    bytes_t o;
    if (!read_bytes(env, options, &o)) return 0;
    ff_engine *e = NULL;
    ff_error *err = NULL;
    ff_status st = ff_engine_create(CHARS(o), &e, &err);
    free_bytes(&o);
    fail(env, st, &err);
    return (jlong)(intptr_t)e;
}

JNI(void, engineFree)(JNIEnv *env, jclass cls, jlong e) { (void)env; (void)cls; ff_engine_free((ff_engine *)(intptr_t)e); }

JNI(void, loadJson)(JNIEnv *env, jclass cls, jlong e, jbyteArray json) {
    (void)cls;
    if (closed(env, e)) return;
    bytes_t j;
    if (!read_bytes(env, json, &j)) return;
    ff_error *err = NULL;
    ff_status st = ff_engine_load_json(ENGINE(e), CHARS(j), &err);
    free_bytes(&j);
    fail(env, st, &err);
}

JNI(void, loadFile)(JNIEnv *env, jclass cls, jlong e, jbyteArray path) {
    (void)cls;
    if (closed(env, e)) return;
    bytes_t p;
    if (!read_bytes(env, path, &p)) return;
    ff_error *err = NULL;
    ff_status st = ff_engine_load_file(ENGINE(e), CHARS(p), &err);
    free_bytes(&p);
    fail(env, st, &err);
}

JNI(void, setTime)(JNIEnv *env, jclass cls, jlong e, jlong ms) {
    (void)cls;
    if (closed(env, e)) return;
    fail(env, ff_engine_set_time(ENGINE(e), ms), NULL);
}

JNI(void, checkpoint)(JNIEnv *env, jclass cls, jlong e) {
    (void)cls;
    if (closed(env, e)) return;
    ff_error *err = NULL;
    fail(env, ff_engine_checkpoint(ENGINE(e), &err), &err);
}

JNI(jlong, contextNew)(JNIEnv *env, jclass cls, jbyteArray user) {
    (void)cls;
    bytes_t u;
    if (!read_bytes(env, user, &u)) return 0;
    ff_context *c = NULL;
    ff_error *err = NULL;
    ff_status st = ff_context_create(CHARS(u), &c, &err);
    free_bytes(&u);
    fail(env, st, &err);
    return (jlong)(intptr_t)c;
}

JNI(void, contextFree)(JNIEnv *env, jclass cls, jlong c) { (void)env; (void)cls; ff_context_free(CONTEXT(c)); }

JNI(void, contextReset)(JNIEnv *env, jclass cls, jlong c, jbyteArray user) {
    (void)cls;
    if (closed(env, c)) return;
    bytes_t u;
    if (!read_bytes(env, user, &u)) return;
    ff_error *err = NULL;
    ff_status st = ff_context_reset(CONTEXT(c), CHARS(u), &err);
    free_bytes(&u);
    fail(env, st, &err);
}

JNI(void, setString)(JNIEnv *env, jclass cls, jlong c, jbyteArray name, jbyteArray value) {
    (void)cls;
    if (closed(env, c)) return;
    bytes_t n, v;
    if (!read_bytes(env, name, &n)) return;
    if (!read_bytes(env, value, &v)) {
        free_bytes(&n);
        return;
    }
    ff_error *err = NULL;
    ff_status st = ff_context_set_string(CONTEXT(c), CHARS(n), CHARS(v), &err);
    free_bytes(&v);
    free_bytes(&n);
    fail(env, st, &err);
}

JNI(void, setNumber)(JNIEnv *env, jclass cls, jlong c, jbyteArray name, jdouble value) {
    (void)cls;
    if (closed(env, c)) return;
    bytes_t n;
    if (!read_bytes(env, name, &n)) return;
    ff_error *err = NULL;
    ff_status st = ff_context_set_number(CONTEXT(c), CHARS(n), value, &err);
    free_bytes(&n);
    fail(env, st, &err);
}

JNI(void, setBool)(JNIEnv *env, jclass cls, jlong c, jbyteArray name, jboolean value) {
    (void)cls;
    if (closed(env, c)) return;
    bytes_t n;
    if (!read_bytes(env, name, &n)) return;
    ff_error *err = NULL;
    ff_status st = ff_context_set_bool(CONTEXT(c), CHARS(n), value == JNI_TRUE, &err);
    free_bytes(&n);
    fail(env, st, &err);
}

JNI(jboolean, isEnabled)(JNIEnv *env, jclass cls, jlong e, jbyteArray key, jlong c, jboolean def) {
    (void)cls;
    if (e == 0) return def;
    bytes_t k;
    if (!read_bytes(env, key, &k)) return def;
    bool on = ff_is_enabled(ENGINE(e), CHARS(k), (const ff_context *)CONTEXT(c), def == JNI_TRUE);
    free_bytes(&k);
    return on ? JNI_TRUE : JNI_FALSE;
}

/* isEnabled on a key's UTF-8 bytes in native memory that outlives the call (a cached
 * key's direct buffer): no array to measure and copy. */
JNI(jboolean, isEnabledAt)(JNIEnv *env, jclass cls, jlong e, jlong key, jint len, jlong c, jboolean def) {
    (void)env;
    (void)cls;
    if (e == 0 || len < 0) return def;
    bool on = ff_is_enabled(ENGINE(e), (const char *)(intptr_t)key, (size_t)len, (const ff_context *)CONTEXT(c),
                            def == JNI_TRUE);
    return on ? JNI_TRUE : JNI_FALSE;
}

/* The served variant's string id, -1 when nothing is served. */
JNI(jlong, variant)(JNIEnv *env, jclass cls, jlong e, jbyteArray key, jlong c) {
    (void)cls;
    if (e == 0) return -1;
    bytes_t k;
    if (!read_bytes(env, key, &k)) return -1;
    ff_string_id id;
    ff_variant_id(ENGINE(e), CHARS(k), (const ff_context *)CONTEXT(c), NULL, &id);
    free_bytes(&k);
    return string_id(id);
}

/* One evaluation: writes {variant id, reason, rule index (-1 none), rule id id} into
 * out[4] (ids -1 for none) and returns the value's JSON (NULL when nothing is served). */
JNI(jbyteArray, evaluate)(JNIEnv *env, jclass cls, jlong e, jbyteArray key, jlong c, jlongArray out) {
    (void)cls;
    jlong result[4] = {-1, FF_REASON_ERROR, -1, -1};
    ff_bytes value = {NULL, 0};
    if (e != 0) {
        bytes_t k;
        if (!read_bytes(env, key, &k)) return NULL;
        ff_detail d;
        ff_evaluate_value(ENGINE(e), CHARS(k), (const ff_context *)CONTEXT(c), &d, &value);
        free_bytes(&k);
        result[0] = string_id(d.variant_string_id);
        result[1] = d.reason;
        result[2] = d.rule_index == UINT32_MAX ? -1 : (jlong)d.rule_index;
        result[3] = string_id(d.rule_id_string_id);
    }
    (*env)->SetLongArrayRegion(env, out, 0, 4, result);
    return to_java(env, &value);
}

JNI(jboolean, flagBool)(JNIEnv *env, jclass cls, jlong e, jbyteArray key, jlong c, jboolean def) {
    (void)cls;
    if (e == 0) return def;
    bytes_t k;
    if (!read_bytes(env, key, &k)) return def;
    bool out = def == JNI_TRUE;
    ff_flag_bool(ENGINE(e), CHARS(k), (const ff_context *)CONTEXT(c), def == JNI_TRUE, &out);
    free_bytes(&k);
    return out ? JNI_TRUE : JNI_FALSE;
}

JNI(jdouble, flagNumber)(JNIEnv *env, jclass cls, jlong e, jbyteArray key, jlong c, jdouble def) {
    (void)cls;
    if (e == 0) return def;
    bytes_t k;
    if (!read_bytes(env, key, &k)) return def;
    double out = def;
    ff_flag_number(ENGINE(e), CHARS(k), (const ff_context *)CONTEXT(c), def, &out);
    free_bytes(&k);
    return out;
}

/* The served string's UTF-8 bytes, NULL when the flag serves no string. */
JNI(jbyteArray, flagString)(JNIEnv *env, jclass cls, jlong e, jbyteArray key, jlong c) {
    (void)cls;
    if (e == 0) return NULL;
    bytes_t k;
    if (!read_bytes(env, key, &k)) return NULL;
    ff_str out = {NULL, 0};
    ff_flag_string(ENGINE(e), CHARS(k), (const ff_context *)CONTEXT(c), NULL, 0, &out);
    free_bytes(&k);
    if (out.ptr == NULL) return NULL;
    jbyteArray bytes = (*env)->NewByteArray(env, (jsize)out.len);
    if (bytes != NULL) (*env)->SetByteArrayRegion(env, bytes, 0, (jsize)out.len, (const jbyte *)out.ptr);
    return bytes;
}

/* The keys of a batch at most this many at a time, their bytes in one stack buffer. */
enum { MANY_CHUNK = 32, MANY_BYTES = 4096 };

/* The next chunk of keys from keys[done]: as many as buf holds, at least one and at most
 * MANY_CHUNK, copied into buf and pointed at by ptrs and lens. Returns how many. */
static jsize next_keys(JNIEnv *env, jobjectArray keys, jsize done, jsize n, char buf[MANY_BYTES],
                       const char *ptrs[MANY_CHUNK], size_t lens[MANY_CHUNK]) {
    jsize m = 0;
    size_t used = 0;
    while (done + m < n && m < MANY_CHUNK) {
        jbyteArray key = (jbyteArray)(*env)->GetObjectArrayElement(env, keys, done + m);
        jsize len = key == NULL ? 0 : (*env)->GetArrayLength(env, key);
        if (m > 0 && used + (size_t)len > MANY_BYTES) {
            (*env)->DeleteLocalRef(env, key);
            break;
        }
        /* A key too long for the buffer alone is looked up as no key: not found. */
        if (used + (size_t)len <= MANY_BYTES) {
            if (len > 0) (*env)->GetByteArrayRegion(env, key, 0, len, (jbyte *)buf + used);
            ptrs[m] = buf + used;
            lens[m] = (size_t)len;
            used += (size_t)len;
        } else {
            ptrs[m] = "";
            lens[m] = 0;
        }
        (*env)->DeleteLocalRef(env, key);
        m++;
    }
    return m;
}

/* Evaluates keys[i] for every i in one call per chunk, writing {variant id, reason, rule
 * index, rule id id} per key into out[4 * i ...] as evaluate does. */
JNI(void, evaluateMany)(JNIEnv *env, jclass cls, jlong e, jobjectArray keys, jlong c, jlongArray out) {
    (void)cls;
    jsize n = (*env)->GetArrayLength(env, keys);
    jlong results[4 * MANY_CHUNK];
    char buf[MANY_BYTES];
    const char *ptrs[MANY_CHUNK];
    size_t lens[MANY_CHUNK];
    ff_detail details[MANY_CHUNK];
    for (jsize done = 0; done < n;) {
        jsize m = next_keys(env, keys, done, n, buf, ptrs, lens);
        if (e == 0 || ff_evaluate_many_detail(ENGINE(e), ptrs, lens, (size_t)m, (const ff_context *)CONTEXT(c),
                                              details) != FF_STATUS_OK) {
            for (jsize i = 0; i < m; i++) {
                results[4 * i] = -1;
                results[4 * i + 1] = FF_REASON_ERROR;
                results[4 * i + 2] = -1;
                results[4 * i + 3] = -1;
            }
        } else {
            for (jsize i = 0; i < m; i++) {
                results[4 * i] = string_id(details[i].variant_string_id);
                results[4 * i + 1] = details[i].reason;
                results[4 * i + 2] = details[i].rule_index == UINT32_MAX ? -1 : (jlong)details[i].rule_index;
                results[4 * i + 3] = string_id(details[i].rule_id_string_id);
            }
        }
        (*env)->SetLongArrayRegion(env, out, 4 * done, 4 * m, results);
        done += m;
    }
}

/* jboolean arrays are passed to the library as bool arrays: both are one byte, 0 or 1. */
_Static_assert(sizeof(jboolean) == sizeof(bool), "jboolean and bool differ in size");

/* ff_is_enabled_many for keys[i] with default defaults[i] (all false when defaults is
 * NULL) into out[i], one call per chunk. A refused call answers the defaults. */
JNI(void, isEnabledMany)(JNIEnv *env, jclass cls, jlong e, jobjectArray keys, jlong c, jbooleanArray defaults,
                         jbooleanArray out) {
    (void)cls;
    jsize n = (*env)->GetArrayLength(env, keys);
    char buf[MANY_BYTES];
    const char *ptrs[MANY_CHUNK];
    size_t lens[MANY_CHUNK];
    jboolean in[MANY_CHUNK] = {JNI_FALSE}, answers[MANY_CHUNK];
    for (jsize done = 0; done < n;) {
        jsize m = next_keys(env, keys, done, n, buf, ptrs, lens);
        if (defaults != NULL) (*env)->GetBooleanArrayRegion(env, defaults, done, m, in);
        if (ff_is_enabled_many(ENGINE(e), ptrs, lens, (size_t)m, (const ff_context *)CONTEXT(c),
                               defaults != NULL ? (const bool *)in : NULL, (bool *)answers) != FF_STATUS_OK)
            memcpy(answers, in, sizeof answers);
        (*env)->SetBooleanArrayRegion(env, out, done, m, answers);
        done += m;
    }
}

/* A prepared batch (FlagBatch): how Java lays out the keys and reads the results in
 * direct buffers, so that it needs no struct layout of its own: {pointer size, sizeof
 * ff_detail, offsets of reason, rule_index, variant_string_id, rule_id_string_id}. */
JNI(jintArray, batchLayout)(JNIEnv *env, jclass cls) {
    (void)cls;
    jint layout[6] = {(jint)sizeof(const char *), (jint)sizeof(ff_detail), (jint)offsetof(ff_detail, reason),
                      (jint)offsetof(ff_detail, rule_index), (jint)offsetof(ff_detail, variant_string_id),
                      (jint)offsetof(ff_detail, rule_id_string_id)};
    jintArray out = (*env)->NewIntArray(env, 6);
    if (out != NULL) (*env)->SetIntArrayRegion(env, out, 0, 6, layout);
    return out;
}

/* The address of a direct buffer, taken once when a FlagBatch or BatchResults is made. */
JNI(jlong, bufferAddress)(JNIEnv *env, jclass cls, jobject buffer) {
    (void)cls;
    return (jlong)(intptr_t)(*env)->GetDirectBufferAddress(env, buffer);
}

/* Evaluates a prepared batch: keys points at n key pointers followed by n lengths
 * (in a direct buffer the FlagBatch keeps alive), out at n ff_details (ditto, a
 * BatchResults). Nothing is copied on either side. Returns the ff_status. */
JNI(jint, evaluateBatch)(JNIEnv *env, jclass cls, jlong e, jlong keys, jint n, jlong c, jlong out) {
    (void)env;
    (void)cls;
    const char *const *k = (const char *const *)(intptr_t)keys;
    return (jint)ff_evaluate_many_detail(ENGINE(e), k, (const size_t *)(k + n), (size_t)n,
                                         (const ff_context *)CONTEXT(c), (ff_detail *)(intptr_t)out);
}

/* A FlagBatch's list, made from its prepared keys (n key pointers, then n lengths). */
JNI(jlong, flagListNew)(JNIEnv *env, jclass cls, jlong keys, jint n) {
    (void)cls;
    const char *const *k = (const char *const *)(intptr_t)keys;
    ff_flag_list *list = NULL;
    ff_error *err = NULL;
    if (fail(env, ff_flag_list_create(k, (const size_t *)(k + n), (size_t)n, &list, &err), &err)) return 0;
    return (jlong)(intptr_t)list;
}

JNI(void, flagListFree)(JNIEnv *env, jclass cls, jlong list) {
    (void)env;
    (void)cls;
    ff_flag_list_free((ff_flag_list *)(intptr_t)list);
}

/* ff_flag_list_is_enabled_bits over keys [from, from + count) of a list (count at most
 * 64), the defaults and the answers as bits (bit i for key from + i): no array crosses
 * JNI. A refused call (which a FlagBatch cannot make) answers the defaults, as
 * ff_is_enabled does. */
JNI(jlong, isEnabledList)(JNIEnv *env, jclass cls, jlong e, jlong list, jint from, jint count, jlong c,
                          jlong defaults) {
    (void)env;
    (void)cls;
    uint64_t answers;
    if (count < 0 || from < 0 ||
        ff_flag_list_is_enabled_bits(ENGINE(e), (const ff_flag_list *)(intptr_t)list, (size_t)from, (size_t)count,
                                     (const ff_context *)CONTEXT(c), (uint64_t)defaults, &answers) != FF_STATUS_OK)
        return defaults;
    return (jlong)answers;
}

JNI(jbyteArray, allFlags)(JNIEnv *env, jclass cls, jlong e, jlong c) {
    (void)cls;
    if (closed(env, e)) return NULL;
    ff_bytes out = {NULL, 0};
    ff_error *err = NULL;
    if (fail(env, ff_all_flags_json(ENGINE(e), (const ff_context *)CONTEXT(c), &out, &err), &err)) return NULL;
    return to_java(env, &out);
}

JNI(void, setOverride)(JNIEnv *env, jclass cls, jlong e, jbyteArray key, jbyteArray variant) {
    (void)cls;
    if (closed(env, e)) return;
    bytes_t k, v;
    if (!read_bytes(env, key, &k)) return;
    if (!read_bytes(env, variant, &v)) {
        free_bytes(&k);
        return;
    }
    ff_error *err = NULL;
    ff_status st = ff_flag_set_override(ENGINE(e), CHARS(k), CHARS(v), &err);
    free_bytes(&v);
    free_bytes(&k);
    fail(env, st, &err);
}

JNI(void, clearOverride)(JNIEnv *env, jclass cls, jlong e, jbyteArray key) {
    (void)cls;
    if (closed(env, e)) return;
    bytes_t k;
    if (!read_bytes(env, key, &k)) return;
    ff_error *err = NULL;
    ff_status st = ff_flag_clear_override(ENGINE(e), CHARS(k), &err);
    free_bytes(&k);
    fail(env, st, &err);
}

JNI(jint, bucket)(JNIEnv *env, jclass cls, jbyteArray salt, jbyteArray key) {
    (void)cls;
    bytes_t s, k;
    if (!read_bytes(env, salt, &s)) return -1;
    if (!read_bytes(env, key, &k)) {
        free_bytes(&s);
        return -1;
    }
    uint32_t out = 0;
    ff_error *err = NULL;
    ff_status st = ff_bucket(CHARS(s), CHARS(k), &out, &err);
    free_bytes(&k);
    free_bytes(&s);
    fail(env, st, &err);
    return (jint)out;
}

/* The assigned variant's string id, -1 when not enrolled. */
JNI(jlong, assign)(JNIEnv *env, jclass cls, jlong e, jbyteArray key, jlong c) {
    (void)cls;
    if (e == 0) return -1;
    bytes_t k;
    if (!read_bytes(env, key, &k)) return -1;
    ff_string_id id;
    bool enrolled = ff_experiment_assign_id(ENGINE(e), CHARS(k), (const ff_context *)CONTEXT(c), NULL, &id);
    free_bytes(&k);
    return enrolled ? string_id(id) : -1;
}

JNI(void, track)(JNIEnv *env, jclass cls, jlong e, jbyteArray user, jbyteArray metric, jdouble value) {
    (void)cls;
    if (closed(env, e)) return;
    bytes_t u, m;
    if (!read_bytes(env, user, &u)) return;
    if (!read_bytes(env, metric, &m)) {
        free_bytes(&u);
        return;
    }
    ff_error *err = NULL;
    ff_status st = ff_track(ENGINE(e), CHARS(u), CHARS(m), value, &err);
    free_bytes(&m);
    free_bytes(&u);
    fail(env, st, &err);
}

/* For the functions that take a key and return owned JSON. */
typedef ff_status (*json_fn)(const ff_engine *, const char *, size_t, ff_bytes *, ff_error **);

static jbyteArray key_json(JNIEnv *env, jlong e, jbyteArray key, json_fn fn) {
    if (closed(env, e)) return NULL;
    bytes_t k;
    if (!read_bytes(env, key, &k)) return NULL;
    ff_bytes out = {NULL, 0};
    ff_error *err = NULL;
    ff_status st = fn(ENGINE(e), CHARS(k), &out, &err);
    free_bytes(&k);
    if (fail(env, st, &err)) return NULL;
    return to_java(env, &out);
}

JNI(jbyteArray, experimentResults)(JNIEnv *env, jclass cls, jlong e, jbyteArray key) { (void)cls; return key_json(env, e, key, ff_experiment_results_json); }
JNI(jbyteArray, history)(JNIEnv *env, jclass cls, jlong e, jbyteArray key) { (void)cls; return key_json(env, e, key, ff_flag_history_json); }
JNI(jbyteArray, funnelReport)(JNIEnv *env, jclass cls, jlong e, jbyteArray key) { (void)cls; return key_json(env, e, key, ff_funnel_report_json); }

JNI(jbyteArray, timeseries)(JNIEnv *env, jclass cls, jlong e, jbyteArray key) { (void)cls; return key_json(env, e, key, ff_experiment_timeseries_json); }
JNI(jbyteArray, experimentAggregates)(JNIEnv *env, jclass cls, jlong e, jbyteArray key) { (void)cls; return key_json(env, e, key, ff_experiment_aggregates_json); }

JNI(jbyteArray, revision)(JNIEnv *env, jclass cls, jlong e) {
    (void)cls;
    if (closed(env, e)) return NULL;
    ff_bytes out = {NULL, 0};
    ff_error *err = NULL;
    if (fail(env, ff_engine_revision(ENGINE(e), &out, &err), &err)) return NULL;
    return to_java(env, &out);
}

JNI(jlong, eventsDropped)(JNIEnv *env, jclass cls, jlong e) {
    (void)cls;
    if (closed(env, e)) return 0;
    return (jlong)ff_events_dropped(ENGINE(e));
}

JNI(void, setEvaluationEvents)(JNIEnv *env, jclass cls, jlong e, jboolean enabled) {
    (void)cls;
    if (closed(env, e)) return;
    fail(env, ff_events_set_evaluation(ENGINE(e), enabled == JNI_TRUE), NULL);
}

JNI(void, declareWinner)(JNIEnv *env, jclass cls, jlong e, jbyteArray key, jbyteArray variant) {
    (void)cls;
    if (closed(env, e)) return;
    bytes_t k, v;
    if (!read_bytes(env, key, &k)) return;
    if (!read_bytes(env, variant, &v)) {
        free_bytes(&k);
        return;
    }
    ff_error *err = NULL;
    ff_status st = ff_declare_winner(ENGINE(e), CHARS(k), CHARS(v), &err);
    free_bytes(&v);
    free_bytes(&k);
    fail(env, st, &err);
}

JNI(jbyteArray, analyze)(JNIEnv *env, jclass cls, jbyteArray input) {
    (void)cls;
    bytes_t in;
    if (!read_bytes(env, input, &in)) return NULL;
    ff_bytes out = {NULL, 0};
    ff_error *err = NULL;
    ff_status st = ff_analyze_json(CHARS(in), &out, &err);
    free_bytes(&in);
    if (fail(env, st, &err)) return NULL;
    return to_java(env, &out);
}

JNI(jdouble, sampleSize)(JNIEnv *env, jclass cls, jdouble baseline, jdouble mde, jdouble alpha, jdouble power) {
    (void)cls;
    double out = 0;
    ff_error *err = NULL;
    fail(env, ff_sample_size(baseline, mde, alpha, power, &out, &err), &err);
    return out;
}

JNI(jdouble, power)(JNIEnv *env, jclass cls, jdouble baseline, jdouble mde, jdouble alpha, jdouble n) {
    (void)cls;
    double out = 0;
    ff_error *err = NULL;
    fail(env, ff_power(baseline, mde, alpha, n, &out, &err), &err);
    return out;
}

JNI(jdouble, mde)(JNIEnv *env, jclass cls, jdouble baseline, jdouble alpha, jdouble power, jdouble n) {
    (void)cls;
    double out = 0;
    ff_error *err = NULL;
    fail(env, ff_mde(baseline, alpha, power, n, &out, &err), &err);
    return out;
}

JNI(jdouble, testDurationDays)(JNIEnv *env, jclass cls, jdouble required, jint variants, jdouble daily, jdouble traffic) {
    (void)cls;
    double out = 0;
    ff_error *err = NULL;
    fail(env, ff_test_duration_days(required, (uint32_t)variants, daily, traffic, &out, &err), &err);
    return out;
}

JNI(jdouble, lifetimeValue)(JNIEnv *env, jclass cls, jdouble margin, jdouble retention, jdouble discount, jint periods) {
    (void)cls;
    double out = 0;
    ff_error *err = NULL;
    fail(env, ff_lifetime_value(margin, retention, discount, (uint32_t)periods, &out, &err), &err);
    return out;
}

/* Writes {state, stage, stages, percentage, started_ms, next_ms, held, has_health,
 * error_rate, p99, samples, health_at_ms} into out[12]. */
JNI(void, rolloutStatus)(JNIEnv *env, jclass cls, jlong e, jbyteArray key, jdoubleArray out) {
    (void)cls;
    if (closed(env, e)) return;
    bytes_t k;
    if (!read_bytes(env, key, &k)) return;
    ff_rollout_info info;
    ff_error *err = NULL;
    ff_status st = ff_rollout_status(ENGINE(e), CHARS(k), &info, &err);
    free_bytes(&k);
    if (fail(env, st, &err)) return;
    jdouble v[12] = {info.state, info.stage_index, info.stage_count, info.percentage,
                     (jdouble)info.stage_started_at_ms, (jdouble)info.next_stage_at_ms, info.held, info.has_health,
                     info.last_error_rate, info.last_p99_latency_ms, (jdouble)info.last_samples,
                     (jdouble)info.last_health_at_ms};
    (*env)->SetDoubleArrayRegion(env, out, 0, 12, v);
}

JNI(void, reportHealth)(JNIEnv *env, jclass cls, jlong e, jbyteArray key, jdouble error_rate, jdouble p99, jlong samples) {
    (void)cls;
    if (closed(env, e)) return;
    bytes_t k;
    if (!read_bytes(env, key, &k)) return;
    ff_error *err = NULL;
    ff_status st = ff_rollout_report_health(ENGINE(e), CHARS(k), error_rate, p99, (uint64_t)samples, &err);
    free_bytes(&k);
    fail(env, st, &err);
}

/* action: 0 advance, 1 pause, 2 resume, 3 rollback. */
JNI(void, rolloutAction)(JNIEnv *env, jclass cls, jlong e, jbyteArray key, jint action) {
    (void)cls;
    if (closed(env, e)) return;
    bytes_t k;
    if (!read_bytes(env, key, &k)) return;
    ff_error *err = NULL;
    ff_status st;
    switch (action) {
        case 0: st = ff_rollout_advance(ENGINE(e), CHARS(k), &err); break;
        case 1: st = ff_rollout_pause(ENGINE(e), CHARS(k), &err); break;
        case 2: st = ff_rollout_resume(ENGINE(e), CHARS(k), &err); break;
        default: st = ff_rollout_rollback(ENGINE(e), CHARS(k), &err); break;
    }
    free_bytes(&k);
    fail(env, st, &err);
}

JNI(jboolean, inRollout)(JNIEnv *env, jclass cls, jlong e, jbyteArray key, jlong c) {
    (void)cls;
    if (e == 0) return JNI_FALSE;
    bytes_t k;
    if (!read_bytes(env, key, &k)) return JNI_FALSE;
    bool in = ff_in_rollout(ENGINE(e), CHARS(k), (const ff_context *)CONTEXT(c));
    free_bytes(&k);
    return in ? JNI_TRUE : JNI_FALSE;
}

JNI(jbyteArray, drainEvents)(JNIEnv *env, jclass cls, jlong e, jlong max) {
    (void)cls;
    if (closed(env, e)) return NULL;
    ff_bytes out = {NULL, 0};
    if (fail(env, ff_events_drain(ENGINE(e), (size_t)max, &out), NULL)) return NULL;
    return to_java(env, &out);
}

/* --- Listener ------------------------------------------------------------------------
 * The engine calls `deliver` on the thread whose call produced the event. That is a Java
 * thread inside one of the natives above in practice, already attached. A thread the JVM
 * did not start is attached on its first event as a daemon (it must not keep the JVM
 * alive) and stays attached until it exits, when a thread-specific destructor detaches
 * it: attaching per event would cost microseconds each. */
typedef struct {
    JavaVM *vm;
    jobject dispatcher; /* global reference to the FeatureFlags.Dispatcher */
    jmethodID deliver;  /* void deliver(byte[] json) */
} listener_t;

static pthread_key_t detach_key;
static pthread_once_t detach_key_once = PTHREAD_ONCE_INIT;

static void detach_at_thread_exit(void *vm) { (*(JavaVM *)vm)->DetachCurrentThread((JavaVM *)vm); }
static void make_detach_key(void) { pthread_key_create(&detach_key, detach_at_thread_exit); }

static void deliver(void *user_data, const char *json, size_t len) {
    const listener_t *l = user_data;
    JNIEnv *env = NULL;
    jint got = (*l->vm)->GetEnv(l->vm, (void **)&env, JNI_VERSION_1_8);
    if (got == JNI_EDETACHED) {
        if ((*l->vm)->AttachCurrentThreadAsDaemon(l->vm, (void **)&env, NULL) != JNI_OK) return;
        pthread_once(&detach_key_once, make_detach_key);
        pthread_setspecific(detach_key, l->vm);
    } else if (got != JNI_OK) {
        return;
    }
    /* Java code must not run with an exception pending; the producing call reports it. */
    if ((*env)->ExceptionCheck(env)) return;
    jbyteArray bytes = (*env)->NewByteArray(env, (jsize)len);
    if (bytes == NULL) {
        (*env)->ExceptionClear(env);
        return;
    }
    (*env)->SetByteArrayRegion(env, bytes, 0, (jsize)len, (const jbyte *)json);
    (*env)->CallVoidMethod(env, l->dispatcher, l->deliver, bytes);
    /* The dispatcher hands listeners' exceptions to the thread's uncaught-exception
     * handler; what still escapes (an Error) cannot unwind through the engine's frames. */
    if ((*env)->ExceptionCheck(env)) (*env)->ExceptionClear(env);
    /* An attached native thread has no native frame to release local references. */
    (*env)->DeleteLocalRef(env, bytes);
}

static void free_listener(JNIEnv *env, listener_t *l) {
    if (l == NULL) return;
    (*env)->DeleteGlobalRef(env, l->dispatcher);
    free(l);
}

/* Makes dispatcher.deliver(byte[]) the engine's listener (a null dispatcher removes it),
 * then frees the registration `previous`: ff_engine_set_listener returns once no call to
 * it is in progress. Returns the new registration (0 for none); on failure it throws and
 * `previous` stays registered. */
JNI(jlong, setListener)(JNIEnv *env, jclass cls, jlong e, jobject dispatcher, jlong previous) {
    (void)cls;
    if (closed(env, e)) return previous;
    listener_t *l = NULL;
    if (dispatcher != NULL) {
        l = malloc(sizeof *l);
        if (l == NULL) {
            throw_class(env, "java/lang/OutOfMemoryError", "featureflags: a listener registration");
            return previous;
        }
        jclass c = (*env)->GetObjectClass(env, dispatcher);
        l->deliver = (*env)->GetMethodID(env, c, "deliver", "([B)V");
        (*env)->DeleteLocalRef(env, c);
        if (l->deliver == NULL || (*env)->GetJavaVM(env, &l->vm) != JNI_OK) {
            free(l);
            return previous;
        }
        l->dispatcher = (*env)->NewGlobalRef(env, dispatcher);
    }
    ff_status st = ff_engine_set_listener(ENGINE(e), l != NULL ? deliver : NULL, l);
    if (st != FF_STATUS_OK) {
        free_listener(env, l);
        throw_class(env, exception_class(st), st == FF_STATUS_INVALID_STATE
            ? "featureflags: listeners cannot be added or removed from inside a listener"
            : ff_status_name(st));
        return previous;
    }
    free_listener(env, (listener_t *)(intptr_t)previous);
    return (jlong)(intptr_t)l;
}

JNI(void, loadFlagdJson)(JNIEnv *env, jclass cls, jlong e, jbyteArray json) {
    (void)cls;
    if (closed(env, e)) return;
    bytes_t j;
    if (!read_bytes(env, json, &j)) return;
    ff_error *err = NULL;
    ff_status st = ff_engine_load_flagd_json(ENGINE(e), CHARS(j), &err);
    free_bytes(&j);
    fail(env, st, &err);
}

JNI(void, loadFlagdFile)(JNIEnv *env, jclass cls, jlong e, jbyteArray path) {
    (void)cls;
    if (closed(env, e)) return;
    bytes_t p;
    if (!read_bytes(env, path, &p)) return;
    ff_error *err = NULL;
    ff_status st = ff_engine_load_flagd_file(ENGINE(e), CHARS(p), &err);
    free_bytes(&p);
    fail(env, st, &err);
}

JNI(void, setJson)(JNIEnv *env, jclass cls, jlong c, jbyteArray name, jbyteArray json) {
    (void)cls;
    if (closed(env, c)) return;
    bytes_t n, j;
    if (!read_bytes(env, name, &n)) return;
    if (!read_bytes(env, json, &j)) {
        free_bytes(&n);
        return;
    }
    ff_error *err = NULL;
    ff_status st = ff_context_set_json(CONTEXT(c), CHARS(n), CHARS(j), &err);
    free_bytes(&j);
    free_bytes(&n);
    fail(env, st, &err);
}

/* A flagd evaluation: writes {reason, error code} into out[2] and returns
 * {variant, value JSON, metadata JSON}, each NULL when absent. A zero handle is the
 * library's invalid-argument answer (ERROR, GENERAL). */
JNI(jobjectArray, flagdEvaluate)(JNIEnv *env, jclass cls, jlong e, jbyteArray key, jlong c, jint type, jintArray out) {
    (void)cls;
    ff_flagd_result r;
    bytes_t k;
    if (!read_bytes(env, key, &k)) return NULL;
    ff_flagd_evaluate(ENGINE(e), CHARS(k), (const ff_context *)CONTEXT(c), (uint32_t)type, &r);
    free_bytes(&k);
    jint codes[2] = {(jint)r.reason, (jint)r.error_code};
    (*env)->SetIntArrayRegion(env, out, 0, 2, codes);
    jclass bytes_class = (*env)->FindClass(env, "[B");
    jobjectArray parts = bytes_class == NULL ? NULL : (*env)->NewObjectArray(env, 3, bytes_class, NULL);
    ff_bytes *fields[3] = {&r.variant, &r.value_json, &r.metadata_json};
    for (int i = 0; i < 3; i++) {
        if (parts == NULL || (*env)->ExceptionCheck(env)) {
            ff_bytes_free(fields[i]);
            continue;
        }
        jbyteArray b = to_java(env, fields[i]);
        (*env)->SetObjectArrayElement(env, parts, i, b);
        if (b != NULL) (*env)->DeleteLocalRef(env, b);
    }
    return parts;
}
