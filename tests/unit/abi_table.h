/* One table per ABI header, built from abi_items.def; see abi_test.cc. */
#ifndef ABI_TABLE_H
#define ABI_TABLE_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

struct abi_item {
	const char *name;		/* "KVM_RUN", "sizeof(struct kvm_run)", ... */
	unsigned long long value;
};

extern const struct abi_item abi_items_ours[];
extern const size_t abi_items_ours_count;
extern const struct abi_item abi_items_system[];
extern const size_t abi_items_system_count;

#ifdef __cplusplus
}
#endif

/* Expansions shared by both C files; TABLE is the array being defined. */
#define ABI_CONST(name) { #name, (unsigned long long)(name) },
#define ABI_SIZE(type) { "sizeof(struct " #type ")", sizeof(struct type) },
#define ABI_OFFSET(type, member) \
	{ "offsetof(struct " #type ", " #member ")", offsetof(struct type, member) },
#define ABI_FIELD(type, member) ABI_OFFSET(type, member) \
	{ "sizeof(struct " #type "." #member ")", sizeof(((struct type *)0)->member) },

#endif
