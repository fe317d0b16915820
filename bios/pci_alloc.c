/* PCI BAR placement: largest first, each naturally aligned, upward from the
 * window base.  Largest-first keeps the windows free of alignment holes
 * when every size is a power of two. */
#include "tables.h"

static uint64_t align_up(uint64_t v, uint64_t a)
{
	return (v + a - 1) & ~(a - 1);
}

int pci_alloc_bars(struct pci_bar_req *reqs, int n, struct pci_window io,
		   struct pci_window mem)
{
	uint64_t next_io = io.base, next_mem = mem.base;
	int i, j, failed = 0;

	/* insertion sort, size descending; stable, so equal sizes keep bus order */
	for (i = 1; i < n; i++) {
		struct pci_bar_req r = reqs[i];

		for (j = i; j > 0 && reqs[j - 1].size < r.size; j--)
			reqs[j] = reqs[j - 1];
		reqs[j] = r;
	}
	for (i = 0; i < n; i++) {
		struct pci_bar_req *r = &reqs[i];
		uint64_t *next = r->is_io ? &next_io : &next_mem;
		uint64_t end = r->is_io ? io.end : mem.end;
		uint64_t a;

		r->addr = 0;
		if (!r->size || (r->size & (r->size - 1))) {
			failed++;
			continue;
		}
		a = align_up(*next, r->size);
		if (a + r->size > end) {
			failed++;
			continue;
		}
		r->addr = (uint32_t)a;
		*next = a + r->size;
	}
	return failed;
}
