/* The ABI table as our own header defines it.  C, not C++: the same struct names exist in
 * abi_system.c with (possibly) different definitions, which C allows across files. */
#include "uapi/kvm-abi.h"
#include "abi_table.h"

const struct abi_item abi_items_ours[] = {
#include "abi_items.def"
};
const size_t abi_items_ours_count = sizeof(abi_items_ours) / sizeof(abi_items_ours[0]);
