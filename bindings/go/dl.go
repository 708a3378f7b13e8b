//go:build cgo && !fflink && !ffpkgconfig && !ffexternal

package featureflags

/*
#cgo LDFLAGS: -ldl
#include <stdlib.h>
#include "featureflags.h"
#include "ffgo_dl.h"
*/
import "C"

import (
	"fmt"
	"unsafe"
)

// LoadMode is how this build reaches the library: "dlopen" (the default), "link" (a
// link-time build tag: fflink, ffpkgconfig or ffexternal) or "purego" (CGO_ENABLED=0).
const LoadMode = "dlopen"

// openLibrary dlopens path and fills the function table behind ffgo_dl.c's trampolines.
// An empty path is the dynamic loader's search for libfeatureflags.so (LD_LIBRARY_PATH,
// the executable's runpath, the ld.so cache).
func openLibrary(path string) (uint32, error) {
	name := path
	if name == "" {
		name = defaultLibrary
	}
	cname := C.CString(name)
	defer C.free(unsafe.Pointer(cname))
	var abi C.uint32_t
	var msg [1024]C.char
	switch C.ff_go_load(cname, C.FF_ABI_VERSION, &abi, &msg[0], C.size_t(len(msg))) {
	case C.FF_GO_LOAD_OK:
		return uint32(abi), nil
	case C.FF_GO_LOAD_ABI:
		return uint32(abi), checkABI(name, uint32(abi), ABIVersion)
	default:
		return 0, fmt.Errorf("%w: %s", ErrLoad, C.GoString(&msg[0]))
	}
}
