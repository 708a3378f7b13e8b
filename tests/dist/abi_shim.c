/* LD_PRELOADed by scripts/test_dist.sh: a libfeatureflags that says it has another ABI.
 * The bindings must refuse it when they load it. */
#include <stdint.h>
uint32_t ff_abi_version(void) { return 99; }
