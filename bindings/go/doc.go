// Package featureflags is the Go binding of the featureflags engine: a thin layer over
// the C ABI in include/featureflags.h (libfeatureflags.so), through cgo, or through
// purego when built with CGO_ENABLED=0 (same API; some calls allocate more, README.md).
//
// # Loading the library
//
// The library is loaded at run time with dlopen, from the path given to [Open] or
// [Load], else $FEATUREFLAGS_LIB, else the dynamic loader's search for
// libfeatureflags.so; [New], [NewContext] and the package functions load that default
// when nothing is loaded yet. A program therefore builds and starts without the library,
// and a missing or incompatible one is an error ([ErrLoad], [ErrIncompatibleLibrary]),
// never a crash. The build tags fflink, ffpkgconfig and ffexternal link the library at
// build time instead ([LoadMode]); they need cgo.
//
// An [Engine] holds a loaded config, its runtime overrides, experiments and rollouts; it
// is safe for concurrent use by any number of goroutines. A [Context] is the user being
// evaluated (an id and typed attributes); it belongs to one goroutine at a time, and is
// best reused with [Context.Reset] per request.
//
//	engine, err := featureflags.Open("/opt/trader/lib/libfeatureflags.so", featureflags.Options{})
//	if err != nil { … }
//	defer engine.Close()
//	if err := engine.LoadFile("flags.json"); err != nil { … } // errors.Is(err, featureflags.ErrInvalidConfig)
//	ctx, _ := featureflags.NewContext("user-42")
//	defer ctx.Close()
//	ctx.SetString("country", "CA")
//	if engine.IsEnabled("new-matching-engine", ctx, false) { … }
//
// # Performance
//
// Strings cross into C as pointer and length (no C.CString), borrowed for the call only.
// Variant keys and rule ids come back interned by the engine, and the binding caches
// their Go strings by string id, so [Engine.IsEnabled], [Engine.Variant], the scalar
// typed getters ([Engine.BoolValue], …) and a context rebuild ([Context.Reset] and the
// setters) allocate nothing after warm-up. A CGO_ENABLED=0 (purego) build costs about 3×
// as much per call, and the calls taking a float64 beside other arguments
// ([Context.SetNumber], [Engine.Track], [Engine.ReportHealth], the planning functions)
// allocate there, through reflection (README.md, "Without cgo").
//
// # Events
//
// [Engine.DrainEvents] reads the queued events in batches; [Engine.OnEvent] receives
// each event as it happens, on the goroutine that produced it (see its rules).
//
// # Lifetimes
//
// Each wrapper owns its C object. Close frees it and is idempotent; a finalizer frees
// what was not closed. After Close, calls return [ErrClosed] and evaluations return the
// caller's default. Close must not run concurrently with other calls on the same engine
// or context: close an engine once every goroutine using it is done (checking for
// closure costs one atomic load per call; making Close wait for running calls would
// cost every call a shared counter update).
//
// # Errors
//
// Failures are [*Error] values carrying the C status and the library's message; they
// unwrap to the sentinels [ErrInvalidArgument], [ErrInvalidConfig], [ErrNotFound],
// [ErrInvalidState], [ErrIO] and [ErrPanic]. Evaluations never fail: they serve the
// caller's default and, in [Engine.Evaluate], say why in a [Reason].
package featureflags
