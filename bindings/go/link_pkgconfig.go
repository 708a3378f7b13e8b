//go:build ffpkgconfig

package featureflags

// With -tags ffpkgconfig, the compiler and linker flags come from featureflags.pc
// (generated in target/release by the build, or installed with the library): set
// PKG_CONFIG_PATH to its directory. This is the way to build the package outside the
// repository, e.g. from the module cache.

/*
#cgo pkg-config: featureflags
*/
import "C"
