/* Unit-test stand-in: see kernel_shim.h. */
#include "kernel_shim.h"
#define X86_TRAP_UD 6
#define X86_TRAP_GP 13
#define X86_TRAP_PF 14
