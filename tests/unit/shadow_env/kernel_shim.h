/*
 * Stand-ins for the kernel interfaces kernel/mmu/shadow.c uses, so that the
 * shadow MMU builds and runs in the unit tests (tests/unit/shadow_test.cc)
 * exactly as written.  Lists, hashing and bit helpers behave as the
 * kernel's; pages come from aligned_alloc and "physical" addresses are
 * their addresses; locks are no-ops (the tests are single-threaded); the
 * xarray, get_user_pages and the few KVM functions shadow.c calls are
 * implemented by the test (shadow_test.cc).
 */
#ifndef SHADOW_TEST_KERNEL_SHIM_H
#define SHADOW_TEST_KERNEL_SHIM_H

#include "kvm_portable.h"
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef u64 gpa_t;
typedef u64 gfn_t;
typedef u64 phys_addr_t;
typedef unsigned int gfp_t;

#define PAGE_SHIFT	12
#define PAGE_SIZE	4096UL
#define offset_in_page(p) ((unsigned long)(p) & (PAGE_SIZE - 1))
#define GFP_KERNEL	0u
#define GFP_KERNEL_ACCOUNT 0u
#define GFP_DMA32	1u
#define GFP_ATOMIC	0u
#define GFP_NOWAIT	0u
#define __GFP_ACCOUNT	0u
#define __GFP_NOFAIL	0u
#define FOLL_WRITE	1u
#define __user
#define BITS_PER_LONG	64

#define READ_ONCE(x)	(*(volatile __typeof__(x) *)&(x))
#define WRITE_ONCE(x, v) (*(volatile __typeof__(x) *)&(x) = (v))
#define smp_rmb()	do { } while (0)
#define ARRAY_SIZE(a)	(sizeof(a) / sizeof((a)[0]))
#ifndef __cplusplus	/* would break the C++ library's min()/max() */
#define max(a, b)	((a) > (b) ? (a) : (b))
#define min(a, b)	((a) < (b) ? (a) : (b))
#endif
#define container_of(ptr, type, member) \
	((type *)((char *)(ptr) - offsetof(type, member)))
static inline unsigned long __ffs(unsigned long x) { return __builtin_ctzl(x); }
static inline u64 hash_64(u64 v, unsigned int bits)
{
	return (v * 0x61C8864680B583EBull) >> (64 - bits);
}
static inline void set_bit(int nr, unsigned long *addr) { *addr |= 1UL << nr; }

/* Warnings count in the test instead of printing. */
extern int shim_warnings;
#define WARN_ON_ONCE(c)	({ int __c = !!(c); if (__c) shim_warnings++; __c; })
#define WARN_ONCE(c, ...) WARN_ON_ONCE(c)
#define pr_info_ratelimited(...) do { } while (0)
#define pr_info(...) do { } while (0)
/* The kernel's: the characters written, never more than size - 1. */
static inline int scnprintf(char *buf, size_t size, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (!size)
		return 0;
	va_start(ap, fmt);
	n = vsnprintf(buf, size, fmt, ap);
	va_end(ap);
	return n < 0 ? 0 : (size_t)n >= size ? (int)size - 1 : n;
}

typedef struct { int unused; } spinlock_t;
struct mutex { int unused; };
#define spin_lock(l)	do { (void)(l); } while (0)
#define spin_unlock(l)	do { (void)(l); } while (0)
#define mutex_lock(l)	do { (void)(l); } while (0)
#define mutex_unlock(l)	do { (void)(l); } while (0)
#define mutex_init(l)	do { (void)(l); } while (0)

/* Module parameters: an accessor the test can use. */
#define module_param(name, type, perm) \
	void *shim_param_##name(void) { return &name; }
#define MODULE_PARM_DESC(name, text)

/* ---- lists ---- */
struct list_head { struct list_head *next, *prev; };
struct hlist_node { struct hlist_node *next, **pprev; };
struct hlist_head { struct hlist_node *first; };

#define INIT_LIST_HEAD(h) do { (h)->next = (h); (h)->prev = (h); } while (0)
#define LIST_HEAD(name) struct list_head name = { &(name), &(name) }
static inline int list_empty(const struct list_head *h) { return h->next == h; }
static inline void list_splice_init(struct list_head *list, struct list_head *head)
{
	if (list_empty(list))
		return;
	list->next->prev = head;
	list->prev->next = head->next;
	head->next->prev = list->prev;
	head->next = list->next;
	list->next = list->prev = list;
}
#define INIT_HLIST_HEAD(h) ((h)->first = NULL)
static inline void __list_add(struct list_head *n, struct list_head *prev,
			      struct list_head *next)
{
	next->prev = n; n->next = next; n->prev = prev; prev->next = n;
}
static inline void list_add(struct list_head *n, struct list_head *h)
{
	__list_add(n, h, h->next);
}
static inline void list_del(struct list_head *e)
{
	e->next->prev = e->prev; e->prev->next = e->next;
	e->next = e->prev = NULL;
}
static inline void list_del_init(struct list_head *e)
{
	e->next->prev = e->prev; e->prev->next = e->next;
	INIT_LIST_HEAD(e);
}
static inline void list_add_tail(struct list_head *n, struct list_head *h)
{
	__list_add(n, h->prev, h);
}
static inline void list_move(struct list_head *e, struct list_head *h)
{
	e->next->prev = e->prev; e->prev->next = e->next;
	list_add(e, h);
}
#define list_entry(p, t, m) container_of(p, t, m)
#define list_for_each_entry(pos, head, member)				\
	for (pos = list_entry((head)->next, __typeof__(*pos), member);	\
	     &pos->member != (head);					\
	     pos = list_entry(pos->member.next, __typeof__(*pos), member))
#define list_for_each_entry_safe(pos, n, head, member)			\
	for (pos = list_entry((head)->next, __typeof__(*pos), member),	\
	     n = list_entry(pos->member.next, __typeof__(*pos), member);	\
	     &pos->member != (head);					\
	     pos = n, n = list_entry(n->member.next, __typeof__(*n), member))
#define list_for_each_entry_safe_reverse(pos, n, head, member)		\
	for (pos = list_entry((head)->prev, __typeof__(*pos), member),	\
	     n = list_entry(pos->member.prev, __typeof__(*pos), member);	\
	     &pos->member != (head);					\
	     pos = n, n = list_entry(n->member.prev, __typeof__(*n), member))

static inline void hlist_add_head(struct hlist_node *n, struct hlist_head *h)
{
	n->next = h->first;
	if (h->first)
		h->first->pprev = &n->next;
	h->first = n;
	n->pprev = &h->first;
}
static inline int hlist_unhashed(const struct hlist_node *n) { return !n->pprev; }
static inline void hlist_del_init(struct hlist_node *n)
{
	if (!n->pprev)
		return;
	*n->pprev = n->next;
	if (n->next)
		n->next->pprev = n->pprev;
	n->next = NULL;
	n->pprev = NULL;
}
#define hlist_entry_safe(ptr, type, member) \
	({ __typeof__(ptr) ____ptr = (ptr); ____ptr ? container_of(____ptr, type, member) : NULL; })
#define hlist_for_each_entry(pos, head, member)				\
	for (pos = hlist_entry_safe((head)->first, __typeof__(*(pos)), member);	\
	     pos;							\
	     pos = hlist_entry_safe((pos)->member.next, __typeof__(*(pos)), member))
#define hlist_for_each_entry_safe(pos, n, head, member)			\
	for (pos = hlist_entry_safe((head)->first, __typeof__(*pos), member);	\
	     pos && ({ n = pos->member.next; 1; });			\
	     pos = hlist_entry_safe(n, __typeof__(*pos), member))

/* ---- pages ---- */
struct page {
	unsigned long private_;
	void *addr;
};
struct page *virt_to_page(const void *addr);	/* by the test */
#define page_private(p)		((p)->private_)
#define set_page_private(p, v)	((p)->private_ = (unsigned long)(v))
#define __pa(x)			((phys_addr_t)(uintptr_t)(x))
#define __va(x)			((void *)(uintptr_t)(x))
static inline phys_addr_t page_to_phys(struct page *p) { return __pa(p->addr); }
unsigned long get_zeroed_page(gfp_t gfp);
unsigned long __get_free_page(gfp_t gfp);
void free_page(unsigned long addr);
void *kzalloc(size_t size, gfp_t gfp);
void *kmalloc(size_t size, gfp_t gfp);
void *kcalloc(size_t n, size_t size, gfp_t gfp);
void kfree(const void *p);
long get_user_pages_unlocked(unsigned long hva, unsigned long n,
			     struct page **pages, unsigned int flags);
void put_page(struct page *page);
int get_user_pages_fast_only(unsigned long start, int nr_pages,
			     unsigned int gup_flags, struct page **pages);
/* Guest memory is this process's: an atomic user copy is a memcpy. */
#define pagefault_disable()	do { } while (0)
#define pagefault_enable()	do { } while (0)
static inline unsigned long __copy_from_user_inatomic(void *to, const void *from,
						      unsigned long n)
{
	__builtin_memcpy(to, from, n);
	return 0;
}

/* ---- xarray (a map, in the test) ---- */
struct xarray { void *impl; };
void xa_init(struct xarray *xa);
void xa_destroy(struct xarray *xa);
void *xa_load(struct xarray *xa, unsigned long index);
void *xa_store(struct xarray *xa, unsigned long index, void *entry, gfp_t gfp);
void *xa_erase(struct xarray *xa, unsigned long index);
int xa_reserve(struct xarray *xa, unsigned long index, gfp_t gfp);
static inline int xa_err(void *entry) { (void)entry; return 0; }
void xa_release(struct xarray *xa, unsigned long index);
static inline void *xa_mk_value(unsigned long v) { return (void *)((v << 1) | 1); }
static inline unsigned long xa_to_value(const void *entry)
{
	return (unsigned long)entry >> 1;
}
/* The first entry at an index in [*index, last], or NULL. */
void *shim_xa_find(struct xarray *xa, unsigned long *index, unsigned long last);
#define xa_for_each_range(xa, index, entry, start, last)		\
	for (index = (start), entry = shim_xa_find(xa, &index, last);	\
	     entry; index++, entry = shim_xa_find(xa, &index, last))
#define xa_for_each(xa, index, entry) xa_for_each_range(xa, index, entry, 0, ~0UL)

/* ---- MMU notifier ---- */
struct mm_struct;
struct mmu_notifier;
struct mmu_notifier_range {
	unsigned long start, end;
};
struct mmu_notifier_ops {
	int (*invalidate_range_start)(struct mmu_notifier *mn,
				      const struct mmu_notifier_range *range);
	void (*invalidate_range_end)(struct mmu_notifier *mn,
				     const struct mmu_notifier_range *range);
	void (*release)(struct mmu_notifier *mn, struct mm_struct *mm);
};
struct mmu_notifier { const struct mmu_notifier_ops *ops; };
int mmu_notifier_register(struct mmu_notifier *mn, struct mm_struct *mm);
void mmu_notifier_unregister(struct mmu_notifier *mn, struct mm_struct *mm);

#ifdef __cplusplus
}
#endif

#endif
