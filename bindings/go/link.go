//go:build !ffpkgconfig && !ffexternal

package featureflags

// Inside the repository, link the library built by `cargo build --release` at the
// root, with an rpath so tests and tools run without LD_LIBRARY_PATH. Build with
// -tags ffpkgconfig to take the flags from pkg-config instead (link_pkgconfig.go), or
// with -tags ffexternal to take them from CGO_CFLAGS and CGO_LDFLAGS only (README.md:
// shipping the library next to a binary with an rpath of $ORIGIN).

/*
#cgo CFLAGS: -I${SRCDIR}/../../include
#cgo LDFLAGS: -L${SRCDIR}/../../target/release -Wl,-rpath,${SRCDIR}/../../target/release -lfeatureflags
*/
import "C"
