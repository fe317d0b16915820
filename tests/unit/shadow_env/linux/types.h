/* Unit-test stand-in: the system header, plus kernel_shim.h. */
#include_next <linux/types.h>
#include "kernel_shim.h"
