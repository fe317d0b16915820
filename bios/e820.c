/* The e820 memory map: a sorted list of non-overlapping typed ranges. */
#include "tables.h"
#include "bstring.h"

void e820_init(struct e820_map *m)
{
	m->count = 0;
}

static void e820_remove_at(struct e820_map *m, int i)
{
	memmove(&m->e[i], &m->e[i + 1], (size_t)(m->count - i - 1) * sizeof(m->e[0]));
	m->count--;
}

static int e820_insert_at(struct e820_map *m, int i, uint64_t start, uint64_t size,
			  uint32_t type)
{
	if (m->count >= E820_MAX)
		return -1;
	memmove(&m->e[i + 1], &m->e[i], (size_t)(m->count - i) * sizeof(m->e[0]));
	m->e[i].start = start;
	m->e[i].size = size;
	m->e[i].type = type;
	m->count++;
	return 0;
}

int e820_add(struct e820_map *m, uint64_t start, uint64_t size, uint32_t type)
{
	uint64_t end = start + size;
	int i;

	if (!size)
		return 0;
	/* Cut [start, end) out of every entry it overlaps. */
	for (i = 0; i < m->count; i++) {
		struct e820_entry *e = &m->e[i];
		uint64_t es = e->start, ee = e->start + e->size;

		if (ee <= start || es >= end)
			continue;
		if (es < start && ee > end) {          /* split in two */
			e->size = start - es;
			if (e820_insert_at(m, i + 1, end, ee - end, e->type))
				return -1;
			break;
		}
		if (es < start) {                       /* keep the head */
			e->size = start - es;
		} else if (ee > end) {                  /* keep the tail */
			e->start = end;
			e->size = ee - end;
		} else {                                /* swallowed whole */
			e820_remove_at(m, i);
			i--;
		}
	}
	if (type == 0)             /* a hole: only cut */
		return 0;
	for (i = 0; i < m->count && m->e[i].start < start; i++)
		;
	if (e820_insert_at(m, i, start, size, type))
		return -1;
	/* Merge with same-typed neighbours that touch. */
	if (i + 1 < m->count && m->e[i + 1].type == type &&
	    m->e[i].start + m->e[i].size == m->e[i + 1].start) {
		m->e[i].size += m->e[i + 1].size;
		e820_remove_at(m, i + 1);
	}
	if (i > 0 && m->e[i - 1].type == type &&
	    m->e[i - 1].start + m->e[i - 1].size == m->e[i].start) {
		m->e[i - 1].size += m->e[i].size;
		e820_remove_at(m, i);
	}
	return 0;
}

uint64_t e820_ram_end_from(const struct e820_map *m, uint64_t from)
{
	uint64_t end = from;
	int i;

	for (i = 0; i < m->count; i++) {
		const struct e820_entry *e = &m->e[i];

		if (e->type != E820_RAM)
			continue;
		if (e->start <= end && e->start + e->size > end)
			end = e->start + e->size;
	}
	return end > 0x100000000ull ? 0x100000000ull : end;
}

void e820_e801(const struct e820_map *m, uint32_t *kb_1m_16m, uint32_t *blocks_16m_4g)
{
	uint64_t end = e820_ram_end_from(m, 0x100000);
	uint64_t low = end > 0x1000000 ? 0x1000000 : end;

	*kb_1m_16m = (uint32_t)((low - 0x100000) >> 10);
	*blocks_16m_4g = end > 0x1000000 ? (uint32_t)((end - 0x1000000) >> 16) : 0;
}
