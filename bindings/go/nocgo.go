//go:build !cgo && (fflink || ffpkgconfig || ffexternal || !linux || !(amd64 || arm64))

package featureflags

// Without cgo (CGO_ENABLED=0, or no C compiler found) the package calls the library
// through purego (ffi_purego.go) on 64-bit Linux only, whose calling conventions it was
// written and tested for, and the link-time build tags need cgo. Elsewhere the build
// stops at this import, whose path says why, before the errors about missing names.
import _ "featureflags_without_cgo_needs_linux_amd64_or_arm64_and_no_link_tags/build_with_CGO_ENABLED_1"
