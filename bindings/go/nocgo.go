//go:build !cgo && (fflink || ffpkgconfig || ffexternal)

package featureflags

// The link-time build tags link the library through cgo. Without cgo (CGO_ENABLED=0, or
// no C compiler found) the build stops at this import, whose path says why; without
// those tags a CGO_ENABLED=0 build loads the library through purego (ffi_purego.go).
import _ "featureflags_link_tags_need_cgo/build_with_CGO_ENABLED_1_or_without_fflink_ffpkgconfig_ffexternal"
