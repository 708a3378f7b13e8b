//go:build !cgo && linux && (amd64 || arm64)

package featureflags

import (
	"fmt"
	"runtime"
	"sync"
	"syscall"
	"unsafe"

	"github.com/ebitengine/purego"
)

// LoadMode is how this build reaches the library: "dlopen" (the default), "link" (a
// link-time build tag: fflink, ffpkgconfig or ffexternal) or "purego" (CGO_ENABLED=0).
const LoadMode = "purego"

// Without cgo the library is opened with purego's Dlopen and called in two ways:
//
//   - purego.SyscallN, for every function whose arguments are integers and pointers:
//     no reflection, and no allocation when the arguments are not in SyscallN's
//     variadic slice (which escapes): they are written to a pooled call, which also
//     holds the out-parameters, so those are in the heap, where they cannot move
//     during the call as a stack variable could.
//   - purego.RegisterFunc, for the functions that take a double beside integers
//     (ff_track, ff_context_set_number, the planning functions, ff_rollout_report_health):
//     SyscallN puts its arguments into the integer and the float registers alike, so
//     it cannot pass one of each. RegisterFunc converts the arguments by reflection
//     and allocates on each call (README.md, "Without cgo").

// fns are the library's functions, written once by openLibrary under library.mu before
// library.loaded publishes them.
var fns struct {
	version, errorMessage, errorFree, bytesFree, statusName, reasonName, rolloutStateName    uintptr
	engineCreate, engineFree, engineString, engineCheckpoint, engineLoadJSON, engineLoadFile uintptr
	engineSetTime, engineRevision, bucket                                                    uintptr
	contextCreate, contextFree, contextReset, contextSetString, contextSetBool               uintptr
	isEnabled, variantID, evaluateValue, assignID, inRollout                                 uintptr
	setOverride, clearOverride, declareWinner, analyze                                       uintptr
	resultsJSON, timeSeriesJSON, funnelJSON, historyJSON, aggregatesJSON                     uintptr
	rolloutStatus, rolloutAdvance, rolloutPause, rolloutResume, rolloutRollback              uintptr
	eventsDrain, eventsDropped, eventsSetEvaluation, setListener                             uintptr
	flagBool, flagString, evaluateMany, evaluateManyDetail, allFlagsJSON, isEnabledMany      uintptr
	flagListCreate, flagListFree, flagListIsEnabled, flagListIsEnabledBits                   uintptr
	flagdLoadJSON, flagdLoadFile, contextSetJSON, flagdEvaluate                              uintptr

	track            func(e uintptr, u *byte, ul uintptr, m *byte, ml uintptr, v float64, err *uintptr) uint32
	contextSetNumber func(c uintptr, n *byte, nl uintptr, v float64, err *uintptr) uint32
	sampleSize       func(baseline, mde, alpha, power float64, out *float64, err *uintptr) uint32
	power            func(baseline, mde, alpha, n float64, out *float64, err *uintptr) uint32
	mde              func(baseline, alpha, power, n float64, out *float64, err *uintptr) uint32
	testDurationDays func(required float64, variants uint32, daily, traffic float64, out *float64, err *uintptr) uint32
	lifetimeValue    func(margin, retention, discount float64, periods uint32, out *float64, err *uintptr) uint32
	reportHealth     func(e uintptr, k *byte, kl uintptr, errorRate, p99 float64, samples uint64, err *uintptr) uint32
	flagNumber       func(e uintptr, k *byte, kl uintptr, c uintptr, def float64, out *float64) uint32
	noop             uintptr
}

// openLibrary dlopens path (the dynamic loader's search for libfeatureflags.so when it
// is ""), checks its ff_abi_version before anything else, and resolves every function.
// On failure the library is closed again and fns is untouched.
func openLibrary(path string) (uint32, error) {
	name := path
	if name == "" {
		name = defaultLibrary
	}
	h, err := purego.Dlopen(name, purego.RTLD_NOW|purego.RTLD_LOCAL)
	if err != nil {
		return 0, fmt.Errorf("%w: %s", ErrLoad, err)
	}
	sym := func(symbol string) uintptr {
		if err != nil {
			return 0
		}
		var p uintptr
		p, err = purego.Dlsym(h, symbol)
		return p
	}
	abiVersion := sym("ff_abi_version")
	if err != nil {
		purego.Dlclose(h)
		return 0, fmt.Errorf("%w: %s", ErrLoad, err)
	}
	r, _, _ := purego.SyscallN(abiVersion)
	if abi := uint32(r); abi != ABIVersion {
		purego.Dlclose(h)
		return abi, checkABI(name, abi, ABIVersion)
	}
	t := fns
	t.noop = abiVersion
	for _, s := range []struct {
		p    *uintptr
		name string
	}{
		{&t.version, "ff_version"}, {&t.errorMessage, "ff_error_message"}, {&t.errorFree, "ff_error_free"},
		{&t.bytesFree, "ff_bytes_free"}, {&t.statusName, "ff_status_name"}, {&t.reasonName, "ff_reason_name"},
		{&t.rolloutStateName, "ff_rollout_state_name"}, {&t.engineCreate, "ff_engine_create"},
		{&t.engineFree, "ff_engine_free"}, {&t.engineString, "ff_engine_string"},
		{&t.engineCheckpoint, "ff_engine_checkpoint"}, {&t.engineLoadJSON, "ff_engine_load_json"},
		{&t.engineLoadFile, "ff_engine_load_file"}, {&t.engineSetTime, "ff_engine_set_time"},
		{&t.engineRevision, "ff_engine_revision"}, {&t.bucket, "ff_bucket"},
		{&t.contextCreate, "ff_context_create"}, {&t.contextFree, "ff_context_free"},
		{&t.contextReset, "ff_context_reset"}, {&t.contextSetString, "ff_context_set_string"},
		{&t.contextSetBool, "ff_context_set_bool"}, {&t.isEnabled, "ff_is_enabled"},
		{&t.variantID, "ff_variant_id"}, {&t.evaluateValue, "ff_evaluate_value"},
		{&t.assignID, "ff_experiment_assign_id"}, {&t.inRollout, "ff_in_rollout"},
		{&t.setOverride, "ff_flag_set_override"}, {&t.clearOverride, "ff_flag_clear_override"},
		{&t.declareWinner, "ff_declare_winner"}, {&t.analyze, "ff_analyze_json"},
		{&t.resultsJSON, "ff_experiment_results_json"}, {&t.timeSeriesJSON, "ff_experiment_timeseries_json"},
		{&t.aggregatesJSON, "ff_experiment_aggregates_json"},
		{&t.funnelJSON, "ff_funnel_report_json"}, {&t.historyJSON, "ff_flag_history_json"},
		{&t.rolloutStatus, "ff_rollout_status"}, {&t.rolloutAdvance, "ff_rollout_advance"},
		{&t.rolloutPause, "ff_rollout_pause"}, {&t.rolloutResume, "ff_rollout_resume"},
		{&t.rolloutRollback, "ff_rollout_rollback"}, {&t.eventsDrain, "ff_events_drain"},
		{&t.eventsDropped, "ff_events_dropped"}, {&t.eventsSetEvaluation, "ff_events_set_evaluation"},
		{&t.setListener, "ff_engine_set_listener"}, {&t.flagBool, "ff_flag_bool"},
		{&t.flagString, "ff_flag_string"}, {&t.evaluateMany, "ff_evaluate_many"},
		{&t.evaluateManyDetail, "ff_evaluate_many_detail"}, {&t.allFlagsJSON, "ff_all_flags_json"},
		{&t.isEnabledMany, "ff_is_enabled_many"},
		{&t.flagListCreate, "ff_flag_list_create"}, {&t.flagListFree, "ff_flag_list_free"},
		{&t.flagListIsEnabled, "ff_flag_list_is_enabled"},
		{&t.flagListIsEnabledBits, "ff_flag_list_is_enabled_bits"},
		{&t.flagdLoadJSON, "ff_engine_load_flagd_json"}, {&t.flagdLoadFile, "ff_engine_load_flagd_file"},
		{&t.contextSetJSON, "ff_context_set_json"}, {&t.flagdEvaluate, "ff_flagd_evaluate"},
	} {
		*s.p = sym(s.name)
	}
	track, setNumber := sym("ff_track"), sym("ff_context_set_number")
	sampleSize, power, mde := sym("ff_sample_size"), sym("ff_power"), sym("ff_mde")
	duration, ltv, health := sym("ff_test_duration_days"), sym("ff_lifetime_value"), sym("ff_rollout_report_health")
	flagNumber := sym("ff_flag_number")
	if err != nil {
		purego.Dlclose(h)
		return 0, fmt.Errorf("%w: %s", ErrLoad, err)
	}
	purego.RegisterFunc(&t.track, track)
	purego.RegisterFunc(&t.contextSetNumber, setNumber)
	purego.RegisterFunc(&t.sampleSize, sampleSize)
	purego.RegisterFunc(&t.power, power)
	purego.RegisterFunc(&t.mde, mde)
	purego.RegisterFunc(&t.testDurationDays, duration)
	purego.RegisterFunc(&t.lifetimeValue, ltv)
	purego.RegisterFunc(&t.reportHealth, health)
	purego.RegisterFunc(&t.flagNumber, flagNumber)
	fns = t
	return ABIVersion, nil
}

// call holds one SyscallN call's arguments and out-parameters, in the heap: SyscallN's
// variadic slice escapes, so a slice of a pooled call costs no allocation, and C
// writes its out-parameters where the garbage collector never moves them.
type call struct {
	args   [7]uintptr
	out    uintptr // ff_engine *, ff_context *, ff_string_id, uint32_t
	err    uintptr // ff_error *
	bytes  cBytes
	detail cDetail
	info   cRolloutInfo
	bools  [2][64]bool // the defaults and answers of a run of switches
	fn     uintptr     // the function switchesInChunks calls
}

var calls = sync.Pool{New: func() any { return new(call) }}

func getCall() *call {
	k := calls.Get().(*call)
	k.out, k.err, k.bytes = 0, 0, cBytes{}
	return k
}

// do calls fn with the first n arguments of k.
func (k *call) do(fn uintptr, n int) (uintptr, uintptr) {
	r1, r2, _ := purego.SyscallN(fn, k.args[:n]...)
	return r1, r2
}

func (k *call) outPtr() uintptr   { return uintptr(unsafe.Pointer(&k.out)) }
func (k *call) errPtr() uintptr   { return uintptr(unsafe.Pointer(&k.err)) }
func (k *call) bytesPtr() uintptr { return uintptr(unsafe.Pointer(&k.bytes)) }

// escape is never set: it makes the strings and slices handed to C escape to the heap
// (see sp), where they cannot move. A string built on the caller's stack could move
// when the stack grows between taking its address and the call into C.
var escape struct {
	on bool
	p  unsafe.Pointer
}

// sp is a string's address for C, which borrows it for the call; the caller keeps s
// alive with runtime.KeepAlive.
func sp(s string) uintptr {
	p := unsafe.Pointer(unsafe.StringData(s))
	if escape.on {
		escape.p = p
	}
	return uintptr(p)
}

// bp is sp for a byte slice; an empty slice is NULL.
func bp(b []byte) uintptr {
	if len(b) == 0 {
		return 0
	}
	p := unsafe.Pointer(&b[0])
	if escape.on {
		escape.p = p
	}
	return uintptr(p)
}

// strData is sp for RegisterFunc's pointer arguments, which reflection moves to the heap.
func strData(s string) *byte { return unsafe.StringData(s) }

func b2u(b bool) uintptr {
	if b {
		return 1
	}
	return 0
}

// ptrOf turns an address that C returned (C memory, never Go's) into a pointer.
func ptrOf(p uintptr) unsafe.Pointer { return *(*unsafe.Pointer)(unsafe.Pointer(&p)) }

func cNoop() { purego.SyscallN(fns.noop) }

func cVersion() *byte {
	r, _, _ := purego.SyscallN(fns.version)
	return (*byte)(ptrOf(r))
}

func cErrorMessage(err unsafe.Pointer) *byte {
	k := getCall()
	k.args[0] = uintptr(err)
	r, _ := k.do(fns.errorMessage, 1)
	calls.Put(k)
	return (*byte)(ptrOf(r))
}

func cErrorFree(err unsafe.Pointer) {
	k := getCall()
	k.args[0] = uintptr(err)
	k.do(fns.errorFree, 1)
	calls.Put(k)
}

func cBytesFree(b cBytes) {
	k := getCall()
	k.bytes = b
	k.args[0] = k.bytesPtr()
	k.do(fns.bytesFree, 1)
	calls.Put(k)
}

func name(fn uintptr, n uint32) *byte {
	k := getCall()
	k.args[0] = uintptr(n)
	r, _ := k.do(fn, 1)
	calls.Put(k)
	return (*byte)(ptrOf(r))
}

func cStatusName(n uint32) *byte       { return name(fns.statusName, n) }
func cReasonName(n uint32) *byte       { return name(fns.reasonName, n) }
func cRolloutStateName(n uint32) *byte { return name(fns.rolloutStateName, n) }

// statusCall calls fn with n arguments and the ff_error out-parameter after them.
func (k *call) statusCall(fn uintptr, n int) (uint32, unsafe.Pointer) {
	k.args[n] = k.errPtr()
	r, _ := k.do(fn, n+1)
	status, err := uint32(r), ptrOf(k.err)
	calls.Put(k)
	return status, err
}

// handleString calls fn(h, s, len(s), &err): a handle given one string, answering a status.
func handleString(fn uintptr, h unsafe.Pointer, s string) (uint32, unsafe.Pointer) {
	k := getCall()
	k.args[0], k.args[1], k.args[2] = uintptr(h), sp(s), uintptr(len(s))
	status, err := k.statusCall(fn, 3)
	runtime.KeepAlive(s)
	return status, err
}

// handleBytes is handleString for a byte slice.
func handleBytes(fn uintptr, h unsafe.Pointer, b []byte) (uint32, unsafe.Pointer) {
	k := getCall()
	k.args[0], k.args[1], k.args[2] = uintptr(h), bp(b), uintptr(len(b))
	status, err := k.statusCall(fn, 3)
	runtime.KeepAlive(b)
	return status, err
}

// handleNameValue calls fn(h, name, len, value, len, &err).
func handleNameValue(fn uintptr, h unsafe.Pointer, name, value string) (uint32, unsafe.Pointer) {
	k := getCall()
	k.args[0], k.args[1], k.args[2] = uintptr(h), sp(name), uintptr(len(name))
	k.args[3], k.args[4] = sp(value), uintptr(len(value))
	status, err := k.statusCall(fn, 5)
	runtime.KeepAlive(name)
	runtime.KeepAlive(value)
	return status, err
}

func cEngineCreate(options []byte) (uint32, unsafe.Pointer, unsafe.Pointer) {
	k := getCall()
	k.args[0], k.args[1], k.args[2], k.args[3] = bp(options), uintptr(len(options)), k.outPtr(), k.errPtr()
	r, _ := k.do(fns.engineCreate, 4)
	runtime.KeepAlive(options)
	status, e, err := uint32(r), ptrOf(k.out), ptrOf(k.err)
	calls.Put(k)
	return status, e, err
}

func cEngineFree(e unsafe.Pointer) {
	k := getCall()
	k.args[0] = uintptr(e)
	k.do(fns.engineFree, 1)
	calls.Put(k)
}

// cEngineString returns ff_str by value, in the two return registers.
func cEngineString(e unsafe.Pointer, id uint32) cStr {
	k := getCall()
	k.args[0], k.args[1] = uintptr(e), uintptr(id)
	p, n := k.do(fns.engineString, 2)
	calls.Put(k)
	return cStr{(*byte)(ptrOf(p)), n}
}

func cEngineCheckpoint(e unsafe.Pointer) (uint32, unsafe.Pointer) {
	k := getCall()
	k.args[0] = uintptr(e)
	return k.statusCall(fns.engineCheckpoint, 1)
}

func cEngineLoadJSON(e unsafe.Pointer, config []byte) (uint32, unsafe.Pointer) {
	return handleBytes(fns.engineLoadJSON, e, config)
}

func cEngineLoadFile(e unsafe.Pointer, path string) (uint32, unsafe.Pointer) {
	return handleString(fns.engineLoadFile, e, path)
}

func cEngineSetTime(e unsafe.Pointer, ms int64) uint32 {
	k := getCall()
	k.args[0], k.args[1] = uintptr(e), uintptr(ms)
	r, _ := k.do(fns.engineSetTime, 2)
	calls.Put(k)
	return uint32(r)
}

func cEngineRevision(e unsafe.Pointer) (uint32, cBytes, unsafe.Pointer) {
	k := getCall()
	k.args[0], k.args[1], k.args[2] = uintptr(e), k.bytesPtr(), k.errPtr()
	r, _ := k.do(fns.engineRevision, 3)
	status, out, err := uint32(r), k.bytes, ptrOf(k.err)
	calls.Put(k)
	return status, out, err
}

func cBucket(salt, key string) (uint32, uint32, unsafe.Pointer) {
	k := getCall()
	k.args[0], k.args[1], k.args[2], k.args[3] = sp(salt), uintptr(len(salt)), sp(key), uintptr(len(key))
	k.args[4], k.args[5] = k.outPtr(), k.errPtr()
	r, _ := k.do(fns.bucket, 6)
	runtime.KeepAlive(salt)
	runtime.KeepAlive(key)
	status, out, err := uint32(r), uint32(k.out), ptrOf(k.err)
	calls.Put(k)
	return status, out, err
}

func cContextCreate(userID string) (uint32, unsafe.Pointer, unsafe.Pointer) {
	k := getCall()
	k.args[0], k.args[1], k.args[2], k.args[3] = sp(userID), uintptr(len(userID)), k.outPtr(), k.errPtr()
	r, _ := k.do(fns.contextCreate, 4)
	runtime.KeepAlive(userID)
	status, c, err := uint32(r), ptrOf(k.out), ptrOf(k.err)
	calls.Put(k)
	return status, c, err
}

func cContextFree(c unsafe.Pointer) {
	k := getCall()
	k.args[0] = uintptr(c)
	k.do(fns.contextFree, 1)
	calls.Put(k)
}

func cContextReset(c unsafe.Pointer, userID string) (uint32, unsafe.Pointer) {
	return handleString(fns.contextReset, c, userID)
}

func cContextSetString(c unsafe.Pointer, name, value string) (uint32, unsafe.Pointer) {
	return handleNameValue(fns.contextSetString, c, name, value)
}

func cContextSetNumber(c unsafe.Pointer, name string, value float64) (uint32, unsafe.Pointer) {
	var err uintptr
	status := fns.contextSetNumber(uintptr(c), strData(name), uintptr(len(name)), value, &err)
	return status, ptrOf(err)
}

func cContextSetBool(c unsafe.Pointer, name string, value bool) (uint32, unsafe.Pointer) {
	k := getCall()
	k.args[0], k.args[1], k.args[2], k.args[3] = uintptr(c), sp(name), uintptr(len(name)), b2u(value)
	status, err := k.statusCall(fns.contextSetBool, 4)
	runtime.KeepAlive(name)
	return status, err
}

func cIsEnabled(e, c unsafe.Pointer, key string, def bool) bool {
	k := getCall()
	k.args[0], k.args[1], k.args[2], k.args[3], k.args[4] = uintptr(e), sp(key), uintptr(len(key)), uintptr(c), b2u(def)
	r, _ := k.do(fns.isEnabled, 5)
	calls.Put(k)
	runtime.KeepAlive(key)
	return byte(r) != 0
}

func cVariantID(e, c unsafe.Pointer, key string) uint32 {
	k := getCall()
	k.args[0], k.args[1], k.args[2], k.args[3] = uintptr(e), sp(key), uintptr(len(key)), uintptr(c)
	k.args[4], k.args[5] = 0, k.outPtr()
	k.do(fns.variantID, 6)
	runtime.KeepAlive(key)
	id := uint32(k.out)
	calls.Put(k)
	return id
}

func cEvaluateValue(e, c unsafe.Pointer, key string) (cDetail, cBytes) {
	k := getCall()
	k.args[0], k.args[1], k.args[2], k.args[3] = uintptr(e), sp(key), uintptr(len(key)), uintptr(c)
	k.args[4], k.args[5] = uintptr(unsafe.Pointer(&k.detail)), k.bytesPtr()
	k.do(fns.evaluateValue, 6)
	runtime.KeepAlive(key)
	d, v := k.detail, k.bytes
	calls.Put(k)
	return d, v
}

// cEvaluateScalar copies a short value and frees it at once, as the cgo build's C
// helper does; without a C helper that is a second call into the library.
func cEvaluateScalar(e, c unsafe.Pointer, key string) scalarValue {
	d, v := cEvaluateValue(e, c, key)
	s := scalarValue{ev: d, value: v}
	if v.ptr != nil && v.len <= smallValue {
		s.smallLen = uintptr(copy(s.small[:], unsafe.Slice(v.ptr, v.len)))
		cBytesFree(v)
		s.value = cBytes{}
	}
	return s
}

func cAssign(e, c unsafe.Pointer, key string) (uint32, bool) {
	k := getCall()
	k.args[0], k.args[1], k.args[2], k.args[3] = uintptr(e), sp(key), uintptr(len(key)), uintptr(c)
	k.args[4], k.args[5] = 0, k.outPtr()
	r, _ := k.do(fns.assignID, 6)
	runtime.KeepAlive(key)
	id := uint32(k.out)
	calls.Put(k)
	return id, byte(r) != 0
}

func cInRollout(e, c unsafe.Pointer, key string) bool {
	k := getCall()
	k.args[0], k.args[1], k.args[2], k.args[3] = uintptr(e), sp(key), uintptr(len(key)), uintptr(c)
	r, _ := k.do(fns.inRollout, 4)
	calls.Put(k)
	runtime.KeepAlive(key)
	return byte(r) != 0
}

func cSetOverride(e unsafe.Pointer, key, variant string) (uint32, unsafe.Pointer) {
	return handleNameValue(fns.setOverride, e, key, variant)
}

func cClearOverride(e unsafe.Pointer, key string) (uint32, unsafe.Pointer) {
	return handleString(fns.clearOverride, e, key)
}

func cDeclareWinner(e unsafe.Pointer, key, variant string) (uint32, unsafe.Pointer) {
	return handleNameValue(fns.declareWinner, e, key, variant)
}

func cTrack(e unsafe.Pointer, userID, metric string, value float64) (uint32, unsafe.Pointer) {
	var err uintptr
	status := fns.track(uintptr(e), strData(userID), uintptr(len(userID)), strData(metric), uintptr(len(metric)), value, &err)
	return status, ptrOf(err)
}

func cKeyJSON(kind int, e unsafe.Pointer, key string) (uint32, cBytes, unsafe.Pointer) {
	fn := [...]uintptr{jsonResults: fns.resultsJSON, jsonTimeSeries: fns.timeSeriesJSON,
		jsonFunnel: fns.funnelJSON, jsonHistory: fns.historyJSON, jsonAggregates: fns.aggregatesJSON}[kind]
	k := getCall()
	k.args[0], k.args[1], k.args[2] = uintptr(e), sp(key), uintptr(len(key))
	k.args[3], k.args[4] = k.bytesPtr(), k.errPtr()
	r, _ := k.do(fn, 5)
	runtime.KeepAlive(key)
	status, out, err := uint32(r), k.bytes, ptrOf(k.err)
	calls.Put(k)
	return status, out, err
}

func cAnalyze(input []byte) (uint32, cBytes, unsafe.Pointer) {
	k := getCall()
	k.args[0], k.args[1], k.args[2], k.args[3] = bp(input), uintptr(len(input)), k.bytesPtr(), k.errPtr()
	r, _ := k.do(fns.analyze, 4)
	runtime.KeepAlive(input)
	status, out, err := uint32(r), k.bytes, ptrOf(k.err)
	calls.Put(k)
	return status, out, err
}

func cPlan(kind int, a, b, c, d float64) (uint32, float64, unsafe.Pointer) {
	fn := [...]func(float64, float64, float64, float64, *float64, *uintptr) uint32{
		planSampleSize: fns.sampleSize, planPower: fns.power, planMDE: fns.mde}[kind]
	var out float64
	var err uintptr
	status := fn(a, b, c, d, &out, &err)
	return status, out, ptrOf(err)
}

func cTestDurationDays(required float64, variants uint32, daily, traffic float64) (uint32, float64, unsafe.Pointer) {
	var out float64
	var err uintptr
	status := fns.testDurationDays(required, variants, daily, traffic, &out, &err)
	return status, out, ptrOf(err)
}

func cLifetimeValue(margin, retention, discount float64, periods uint32) (uint32, float64, unsafe.Pointer) {
	var out float64
	var err uintptr
	status := fns.lifetimeValue(margin, retention, discount, periods, &out, &err)
	return status, out, ptrOf(err)
}

func cRolloutStatus(e unsafe.Pointer, key string) (uint32, cRolloutInfo, unsafe.Pointer) {
	k := getCall()
	k.info = cRolloutInfo{}
	k.args[0], k.args[1], k.args[2] = uintptr(e), sp(key), uintptr(len(key))
	k.args[3], k.args[4] = uintptr(unsafe.Pointer(&k.info)), k.errPtr()
	r, _ := k.do(fns.rolloutStatus, 5)
	runtime.KeepAlive(key)
	status, info, err := uint32(r), k.info, ptrOf(k.err)
	calls.Put(k)
	return status, info, err
}

func cRolloutAction(action int, e unsafe.Pointer, key string) (uint32, unsafe.Pointer) {
	fn := [...]uintptr{rolloutAdvance: fns.rolloutAdvance, rolloutPause: fns.rolloutPause,
		rolloutResume: fns.rolloutResume, rolloutRollback: fns.rolloutRollback}[action]
	return handleString(fn, e, key)
}

func cReportHealth(e unsafe.Pointer, key string, errorRate, p99 float64, samples uint64) (uint32, unsafe.Pointer) {
	var err uintptr
	status := fns.reportHealth(uintptr(e), strData(key), uintptr(len(key)), errorRate, p99, samples, &err)
	return status, ptrOf(err)
}

func cEventsDrain(e unsafe.Pointer, max int) (uint32, cBytes) {
	k := getCall()
	k.args[0], k.args[1], k.args[2] = uintptr(e), uintptr(max), k.bytesPtr()
	r, _ := k.do(fns.eventsDrain, 3)
	status, out := uint32(r), k.bytes
	calls.Put(k)
	return status, out
}

func cEventsDropped(e unsafe.Pointer) uint64 {
	k := getCall()
	k.args[0] = uintptr(e)
	r, _ := k.do(fns.eventsDropped, 1)
	calls.Put(k)
	return uint64(r)
}

func cEventsSetEvaluation(e unsafe.Pointer, enabled bool) uint32 {
	k := getCall()
	k.args[0], k.args[1] = uintptr(e), b2u(enabled)
	r, _ := k.do(fns.eventsSetEvaluation, 2)
	calls.Put(k)
	return uint32(r)
}

// The listener: one purego callback for every engine (a callback is never freed), which
// finds the engine's eventListener by the slot in user_data, as the cgo trampoline does.
var listenerCallback = sync.OnceValue(func() uintptr {
	return purego.NewCallback(func(slot uintptr, json *byte, n uintptr) {
		tid := syscall.Gettid()
		listening.enter(tid)
		defer listening.leave(tid)
		deliver(slot, unsafe.Slice(json, n))
	})
})

// listening counts, per thread, the listeners running on it: OnEvent is refused there (as
// ff_engine_set_listener is), before it could wait for a lock its own caller holds. The
// cgo build keeps this count in a C thread-local; Go has none, but a callback runs on
// the thread of the call into C that produced the event, locked to it.
var listening threadCounts

type threadCounts struct {
	mu      sync.Mutex
	threads map[int]int
}

func (t *threadCounts) enter(tid int) {
	t.mu.Lock()
	if t.threads == nil {
		t.threads = map[int]int{}
	}
	t.threads[tid]++
	t.mu.Unlock()
}

func (t *threadCounts) leave(tid int) {
	t.mu.Lock()
	if t.threads[tid]--; t.threads[tid] == 0 {
		delete(t.threads, tid)
	}
	t.mu.Unlock()
}

func cInListener() bool {
	tid := syscall.Gettid()
	listening.mu.Lock()
	defer listening.mu.Unlock()
	return listening.threads[tid] > 0
}

// cSetListener sets the engine's listener to the callback that delivers to slot, or
// removes it when slot is 0.
func cSetListener(e unsafe.Pointer, slot uintptr) uint32 {
	cb := uintptr(0)
	if slot != 0 {
		cb = listenerCallback()
	}
	k := getCall()
	k.args[0], k.args[1], k.args[2] = uintptr(e), cb, slot
	r, _ := k.do(fns.setListener, 3)
	calls.Put(k)
	return uint32(r)
}

func cFlagBool(e, c unsafe.Pointer, key string, def bool) (bool, uint32) {
	k := getCall()
	k.args[0], k.args[1], k.args[2], k.args[3] = uintptr(e), sp(key), uintptr(len(key)), uintptr(c)
	k.args[4], k.args[5] = b2u(def), k.outPtr()
	k.out = 0
	r, _ := k.do(fns.flagBool, 6)
	runtime.KeepAlive(key)
	value := byte(k.out) != 0
	calls.Put(k)
	return value, uint32(r)
}

func cFlagNumber(e, c unsafe.Pointer, key string, def float64) (float64, uint32) {
	var out float64
	r := fns.flagNumber(uintptr(e), strData(key), uintptr(len(key)), uintptr(c), def, &out)
	return out, r
}

func cFlagString(e, c unsafe.Pointer, key string) (cStr, uint32) {
	k := getCall()
	k.args[0], k.args[1], k.args[2], k.args[3] = uintptr(e), sp(key), uintptr(len(key)), uintptr(c)
	k.args[4], k.args[5], k.args[6] = 0, 0, uintptr(unsafe.Pointer(&k.detail.variant))
	r, _ := k.do(fns.flagString, 7)
	runtime.KeepAlive(key)
	value := k.detail.variant
	calls.Put(k)
	return value, uint32(r)
}

// manyKeys lays out a batch's key pointers for C: purego passes integers, so the
// pointers into buf (kept alive by the caller) can sit in a Go slice.
func manyKeys(buf []byte, lens []uintptr, ptrs []uintptr) {
	at := bp(buf)
	for i, l := range lens {
		ptrs[i] = at
		at += l
	}
}

// cKeys is a Batch's keys as the library reads them: pointers into buf (a Go heap
// allocation, which does not move; kept alive by cKeys) computed once, so that a batch
// call marshals nothing, and the ff_flag_list made of them (freed when unreachable).
type cKeys struct {
	buf  []byte
	ptrs []uintptr
	lens []uintptr
	n    int
	list uintptr
}

func prepareKeys(buf []byte, lens []uintptr) *cKeys {
	k := &cKeys{buf: buf, lens: lens, n: len(lens), ptrs: make([]uintptr, len(lens))}
	manyKeys(buf, lens, k.ptrs)
	if k.n == 0 {
		return k
	}
	a := getCall()
	a.args[0], a.args[1], a.args[2] = uintptr(unsafe.Pointer(&k.ptrs[0])), uintptr(unsafe.Pointer(&k.lens[0])), uintptr(k.n)
	a.args[3], a.args[4] = a.outPtr(), 0
	a.do(fns.flagListCreate, 5)
	k.list = a.out
	calls.Put(a)
	runtime.KeepAlive(k)
	if k.list == 0 {
		panic("featureflags: out of memory preparing a batch")
	}
	runtime.SetFinalizer(k, func(k *cKeys) {
		a := getCall()
		a.args[0] = k.list
		a.do(fns.flagListFree, 1)
		calls.Put(a)
	})
	return k
}

// cResults is memory for n ff_details that the library writes and Go reads in place:
// words, so that the garbage collector does not scan the C pointers in them.
type cResults struct {
	words []uint64
	p     unsafe.Pointer
}

func newResults(n int) *cResults {
	if n == 0 {
		return &cResults{}
	}
	words := make([]uint64, n*detailWords)
	return &cResults{words: words, p: unsafe.Pointer(&words[0])}
}

// cEvaluatePrepared evaluates k's keys into out (k.n results) in one call.
func cEvaluatePrepared(e, c unsafe.Pointer, k *cKeys, out *cResults) uint32 {
	if k.n == 0 {
		return statusOK
	}
	a := getCall()
	a.args[0], a.args[1], a.args[2] = uintptr(e), uintptr(unsafe.Pointer(&k.ptrs[0])), uintptr(unsafe.Pointer(&k.lens[0]))
	a.args[3], a.args[4], a.args[5] = uintptr(k.n), uintptr(c), uintptr(out.p)
	r, _ := a.do(fns.evaluateManyDetail, 6)
	calls.Put(a)
	runtime.KeepAlive(k)
	runtime.KeepAlive(out)
	return uint32(r)
}

// cIsEnabledPrepared answers every key of k into out (defaults nil or as long) through
// ff_is_enabled_many; false if the library refused the call.
func cIsEnabledPrepared(e, c unsafe.Pointer, k *cKeys, defaults, out []bool) bool {
	return switchesInChunks(defaults, out, func(a *call, from, count int) {
		a.args[0], a.args[1], a.args[2] = uintptr(e), uintptr(unsafe.Pointer(&k.ptrs[from])), uintptr(unsafe.Pointer(&k.lens[from]))
		a.args[3], a.args[4] = uintptr(count), uintptr(c)
		a.fn = fns.isEnabledMany
	}, k)
}

// cIsEnabledList is cIsEnabledPrepared through k's flag list.
func cIsEnabledList(e, c unsafe.Pointer, k *cKeys, defaults, out []bool) bool {
	return switchesInChunks(defaults, out, func(a *call, from, count int) {
		a.args[0], a.args[1], a.args[2], a.args[3], a.args[4] = uintptr(e), k.list, uintptr(from), uintptr(count), uintptr(c)
		a.fn = fns.flagListIsEnabled
	}, k)
}

// cIsEnabledBits answers keys [from, from+count) of k's flag list as bits (count <= 64);
// a refused call (which a Batch cannot make) answers the defaults.
func cIsEnabledBits(e, c unsafe.Pointer, k *cKeys, from, count int, defaults uint64) uint64 {
	a := getCall()
	a.args[0], a.args[1], a.args[2], a.args[3], a.args[4] = uintptr(e), k.list, uintptr(from), uintptr(count), uintptr(c)
	a.args[5], a.args[6] = uintptr(defaults), a.outPtr()
	r, _ := a.do(fns.flagListIsEnabledBits, 7)
	bits := uint64(a.out)
	calls.Put(a)
	runtime.KeepAlive(k)
	if uint32(r) != statusOK {
		return defaults
	}
	return bits
}

// switchesInChunks calls ff_is_enabled_many or ff_flag_list_is_enabled (their last two
// arguments are the defaults and the answers; args sets the others and the function)
// for each run of up to 64 keys, through the pooled call's arrays: purego passes
// addresses as integers, which must point where the garbage collector never moves them.
func switchesInChunks(defaults, out []bool, args func(a *call, from, count int), keep any) bool {
	a := getCall()
	in, answers := &a.bools[0], &a.bools[1]
	ok := true
	for from := 0; from < len(out) && ok; from += 64 {
		count := min(len(out)-from, 64)
		args(a, from, count)
		a.args[5], a.args[6] = 0, uintptr(unsafe.Pointer(answers)) // no defaults: every default false
		if defaults != nil {
			copy(in[:count], defaults[from:from+count])
			a.args[5] = uintptr(unsafe.Pointer(in))
		}
		r, _ := a.do(a.fn, 7)
		ok = uint32(r) == statusOK
		copy(out[from:from+count], answers[:count])
	}
	calls.Put(a)
	runtime.KeepAlive(keep)
	return ok
}

// cEvaluateManyPlain evaluates the keys laid end to end in buf (lens[i] bytes each)
// through ff_evaluate_many: the variants as borrowed C strings, without ids.
func cEvaluateManyPlain(e, c unsafe.Pointer, buf []byte, lens []uintptr, out []cEvaluation) uint32 {
	if len(lens) == 0 {
		return statusOK
	}
	ptrs := make([]uintptr, len(lens))
	manyKeys(buf, lens, ptrs)
	k := getCall()
	k.args[0], k.args[1], k.args[2] = uintptr(e), uintptr(unsafe.Pointer(&ptrs[0])), uintptr(unsafe.Pointer(&lens[0]))
	k.args[3], k.args[4], k.args[5] = uintptr(len(lens)), uintptr(c), uintptr(unsafe.Pointer(&out[0]))
	r, _ := k.do(fns.evaluateMany, 6)
	calls.Put(k)
	runtime.KeepAlive(buf)
	runtime.KeepAlive(ptrs)
	runtime.KeepAlive(lens)
	runtime.KeepAlive(out)
	return uint32(r)
}

func cAllFlagsJSON(e, c unsafe.Pointer) (uint32, cBytes, unsafe.Pointer) {
	k := getCall()
	k.args[0], k.args[1], k.args[2], k.args[3] = uintptr(e), uintptr(c), k.bytesPtr(), k.errPtr()
	r, _ := k.do(fns.allFlagsJSON, 4)
	status, out, err := uint32(r), k.bytes, ptrOf(k.err)
	calls.Put(k)
	return status, out, err
}

func cFlagdLoadJSON(e unsafe.Pointer, doc []byte) (uint32, unsafe.Pointer) {
	return handleBytes(fns.flagdLoadJSON, e, doc)
}

func cFlagdLoadFile(e unsafe.Pointer, path string) (uint32, unsafe.Pointer) {
	return handleString(fns.flagdLoadFile, e, path)
}

func cContextSetJSON(c unsafe.Pointer, name, value string) (uint32, unsafe.Pointer) {
	return handleNameValue(fns.contextSetJSON, c, name, value)
}

func cFlagdEvaluate(e, c unsafe.Pointer, key string, valueType uint32) cFlagdResult {
	// On the heap, where it cannot move while C writes it.
	out := new(cFlagdResult)
	if escape.on {
		escape.p = unsafe.Pointer(out)
	}
	k := getCall()
	k.args[0], k.args[1], k.args[2], k.args[3] = uintptr(e), sp(key), uintptr(len(key)), uintptr(c)
	k.args[4], k.args[5] = uintptr(valueType), uintptr(unsafe.Pointer(out))
	k.do(fns.flagdEvaluate, 6)
	calls.Put(k)
	runtime.KeepAlive(key)
	runtime.KeepAlive(out)
	return *out
}
