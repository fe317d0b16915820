/* The ABI table as the system's <linux/kvm.h> (linux-libc-dev) defines it. */
#include <linux/kvm.h>
#include "abi_table.h"

const struct abi_item abi_items_system[] = {
#include "abi_items.def"
};
const size_t abi_items_system_count = sizeof(abi_items_system) / sizeof(abi_items_system[0]);
