//go:build !cgo

package featureflags

// The package calls the library through cgo. Without it (CGO_ENABLED=0, or no C
// compiler found) the build stops at this import, whose path says why, before the
// errors about the names the cgo files define. internal/puregobench measures what a
// cgo-free (purego) call would cost.
import _ "featureflags_needs_cgo/build_with_CGO_ENABLED_1_and_a_C_compiler"
