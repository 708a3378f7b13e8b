//go:build cgo && (fflink || ffpkgconfig || ffexternal)

package featureflags

/*
#include "featureflags.h"
*/
import "C"

import "fmt"

// LoadMode is how this build reaches the library: "dlopen" (the default), "link" (a
// link-time build tag: fflink, ffpkgconfig or ffexternal) or "purego" (CGO_ENABLED=0).
const LoadMode = "link"

// openLibrary checks the library the dynamic loader linked before main; a link-time
// build cannot load another one.
func openLibrary(path string) (uint32, error) {
	if path != "" {
		return 0, fmt.Errorf("%w: %s: this program is linked with libfeatureflags at build time (tag fflink, ffpkgconfig or ffexternal); build without those tags to choose the library at run time",
			ErrLoad, path)
	}
	return uint32(C.ff_abi_version()), nil
}
