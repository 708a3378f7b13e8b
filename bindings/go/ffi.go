package featureflags

import "unsafe"

// The library is reached in one of two ways: cgo (ffi_cgo.go, with the function table of
// ffgo_dl.c or a link-time library) or purego when cgo is off (ffi_purego.go). Each
// defines the same set of c* functions, one per C call, with Go types and the C
// structs mirrored below; everything above them is shared, so the two cannot drift.
// ffi_cgo.go checks at compile time that these constants and layouts are the header's.

// ABIVersion is the C ABI version this package was written for (FF_ABI_VERSION).
const ABIVersion = 2

// noString is FF_NO_STRING: no variant served, no rule.
const noString = ^uint32(0)

const (
	statusOK = 0
	// smallValue is how long a scalar value copied inline (scalarValue.small) can be.
	smallValue = 48
)

// cStr mirrors ff_str: borrowed, not NUL-terminated.
type cStr struct {
	ptr *byte
	len uintptr
}

// cBytes mirrors ff_bytes: owned by the caller, freed with cBytesFree.
type cBytes struct {
	ptr *byte
	len uintptr
}

// cDetail mirrors ff_detail.
type cDetail struct {
	variant   cStr
	reason    uint32
	ruleIndex uint32
	ruleID    cStr
	variantID uint32
	ruleIDID  uint32
}

// cEvaluation mirrors ff_evaluation.
type cEvaluation struct {
	variant   cStr
	reason    uint32
	ruleIndex uint32
	ruleID    cStr
}

// cRolloutInfo mirrors ff_rollout_info.
type cRolloutInfo struct {
	state            uint32
	stageIndex       uint32
	stageCount       uint32
	percentage       float64
	stageStartedAtMs int64
	nextStageAtMs    int64
	held             bool
	hasHealth        bool
	lastErrorRate    float64
	lastP99Ms        float64
	lastSamples      uint64
	lastHealthAtMs   int64
}

// scalarValue is one evaluation with its value: copied into small and freed in C when it
// is short (a scalar's JSON), else left in value for the caller to free.
type scalarValue struct {
	ev       cDetail
	value    cBytes
	smallLen uintptr
	small    [smallValue]byte
}

// The C functions that take a key and return an owned JSON document (cKeyJSON).
const (
	jsonResults = iota
	jsonTimeSeries
	jsonFunnel
	jsonHistory
	jsonAggregates
)

// The rollout actions (cRolloutAction).
const (
	rolloutAdvance = iota
	rolloutPause
	rolloutResume
	rolloutRollback
)

// The planning functions of four doubles (cPlan).
const (
	planSampleSize = iota
	planPower
	planMDE
)

// goStringView views a static NUL-terminated C string (one the library never frees)
// as a Go string without copying it.
func goStringView(p *byte) string {
	if p == nil {
		return ""
	}
	n := 0
	for *(*byte)(unsafe.Add(unsafe.Pointer(p), n)) != 0 {
		n++
	}
	return unsafe.String(p, n)
}
