// The loader of ffgo_dl.c, called by dl.go.
#include <stddef.h>
#include <stdint.h>

enum { FF_GO_LOAD_OK, FF_GO_LOAD_DLOPEN, FF_GO_LOAD_SYMBOL, FF_GO_LOAD_ABI };

// Opens the library at path and fills the function table when its ff_abi_version is
// wanted (written to *abi when it has one). On failure the table is untouched, the
// library closed, and msg holds dlerror()'s text.
int ff_go_load(const char *path, uint32_t wanted, uint32_t *abi, char *msg, size_t msg_len);
