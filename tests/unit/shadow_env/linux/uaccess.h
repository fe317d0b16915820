/* Unit-test stand-in: see kernel_shim.h. */
#include "kernel_shim.h"
