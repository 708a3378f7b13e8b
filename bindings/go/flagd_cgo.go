//go:build cgo

package featureflags

/*
#include "featureflags.h"

typedef struct { ff_status status; ff_error *err; } ff_go_flagd_status;

static inline ff_go_flagd_status ff_go_flagd_load_json(const ff_engine *e, const char *j, size_t l) {
    ff_go_flagd_status r = {FF_STATUS_OK, NULL};
    r.status = ff_engine_load_flagd_json(e, j, l, &r.err);
    return r;
}
static inline ff_go_flagd_status ff_go_flagd_load_file(const ff_engine *e, const char *p, size_t l) {
    ff_go_flagd_status r = {FF_STATUS_OK, NULL};
    r.status = ff_engine_load_flagd_file(e, p, l, &r.err);
    return r;
}
static inline ff_go_flagd_status ff_go_set_json(ff_context *c, const char *n, size_t nl, const char *j, size_t jl) {
    ff_go_flagd_status r = {FF_STATUS_OK, NULL};
    r.status = ff_context_set_json(c, n, nl, j, jl, &r.err);
    return r;
}
static inline ff_flagd_result ff_go_flagd_evaluate(const ff_engine *e, const char *k, size_t l, const ff_context *c, uint32_t t) {
    ff_flagd_result r;
    ff_flagd_evaluate(e, k, l, c, t, &r);
    return r;
}
*/
import "C"

import (
	"runtime"
	"unsafe"
)

// cFlagdResult's layout is ff_flagd_result's.
var _ = [1]struct{}{}[unsafe.Sizeof(cFlagdResult{})-C.sizeof_ff_flagd_result]
var _ = [1]struct{}{}[unsafe.Offsetof(cFlagdResult{}.metadata)-unsafe.Offsetof(C.ff_flagd_result{}.metadata_json)]

func cFlagdLoadJSON(e unsafe.Pointer, doc []byte) (uint32, unsafe.Pointer) {
	p, l := cbytes(doc)
	r := C.ff_go_flagd_load_json((*C.ff_engine)(e), p, l)
	runtime.KeepAlive(doc)
	return uint32(r.status), unsafe.Pointer(r.err)
}

func cFlagdLoadFile(e unsafe.Pointer, path string) (uint32, unsafe.Pointer) {
	p, l := cstr(path)
	r := C.ff_go_flagd_load_file((*C.ff_engine)(e), p, l)
	runtime.KeepAlive(path)
	return uint32(r.status), unsafe.Pointer(r.err)
}

func cContextSetJSON(c unsafe.Pointer, name, value string) (uint32, unsafe.Pointer) {
	np, nl := cstr(name)
	vp, vl := cstr(value)
	r := C.ff_go_set_json((*C.ff_context)(c), np, nl, vp, vl)
	runtime.KeepAlive(name)
	runtime.KeepAlive(value)
	return uint32(r.status), unsafe.Pointer(r.err)
}

func cFlagdEvaluate(e, c unsafe.Pointer, key string, valueType uint32) cFlagdResult {
	kp, kl := cstr(key)
	r := C.ff_go_flagd_evaluate((*C.ff_engine)(e), kp, kl, (*C.ff_context)(c), C.uint32_t(valueType))
	runtime.KeepAlive(key)
	return *(*cFlagdResult)(unsafe.Pointer(&r))
}
