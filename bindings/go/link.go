//go:build fflink && !ffpkgconfig && !ffexternal

package featureflags

// With -tags fflink, link the library built by `cargo build --release` at the root of
// the repository, with an rpath so tests and tools run without LD_LIBRARY_PATH. With
// -tags ffpkgconfig the flags come from pkg-config instead (link_pkgconfig.go), with
// -tags ffexternal from CGO_CFLAGS and CGO_LDFLAGS only (README.md: shipping the library
// next to a binary with an rpath of $ORIGIN).

/*
#cgo LDFLAGS: -L${SRCDIR}/../../target/release -Wl,-rpath,${SRCDIR}/../../target/release -lfeatureflags
*/
import "C"
