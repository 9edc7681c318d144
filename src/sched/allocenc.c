/*
 * allocenc.c - an allocation (struct jr_alloc) written to and read from the
 * compact byte form the journal keeps for a running job. See resources.h.
 */
#include <errno.h>
#include <stdbool.h>
#include <string.h>

#include "base/common.h"
#include "sched/resources.h"

/* Encoding (version 2): u32 nodes mask with bit 31 set, then per node in
 * it u64 memory, u32 GPUs; a u8 mask of non-zero counters and those; then
 * the cores: u8 form, and for form 0 a u16 count of runs, each u16 first
 * id and u16 length; for form 1 a u16 first word, u16 word count and
 * those words. Little-endian, unaligned. Version 1 (bit 31 clear, up to
 * 1,024 cores a node, node-relative words) is still read for node 0
 * alone, where node-relative and host-wide ids agree. */
#define ENC_V2 (1u << 31)

struct enc {
	uint8_t *p;
	uint32_t len, size;
	bool ok;
};

static void put(struct enc *e, const void *v, uint32_t n)
{
	if (e->len + n > e->size) {
		e->ok = false;
		return;
	}
	memcpy(e->p + e->len, v, n);
	e->len += n;
}

static void put16(struct enc *e, uint32_t v)
{
	uint16_t x = (uint16_t)v;

	put(e, &x, 2);
}

/* Runs of consecutive set bits in the first words of bits. */
static uint32_t count_runs(const uint64_t *bits, uint32_t words)
{
	uint32_t runs = 0;
	uint64_t carry = 0;

	for (uint32_t w = 0; w < words; w++) {
		/* A run starts at a set bit whose lower neighbour is clear. */
		uint64_t starts = bits[w] & ~(bits[w] << 1 | carry);
		runs += (uint32_t)__builtin_popcountll(starts);
		carry = bits[w] >> 63;
	}
	return runs;
}

static bool bit_at(const uint64_t *bits, uint32_t c)
{
	return bits[c / 64] >> (c % 64) & 1;
}

uint32_t jr_alloc_encode(const struct jr_alloc *a, uint8_t *buf, uint32_t size)
{
	struct enc e = { buf, 0, size, true };
	uint32_t first = a->words, last = 0, runs, nodes = a->nodes | ENC_V2;
	uint8_t mask = 0;

	_Static_assert(JR_CUSTOM_MAX <= 8 && JR_NUMA_MAX <= 31 && JR_CORES_MAX <= 65535,
		       "encoding widths");
	put(&e, &nodes, 4);
	for (uint32_t n = 0; n < JR_NUMA_MAX; n++) {
		if (!(a->nodes & (1u << n)))
			continue;
		put(&e, &a->mem[n], 8);
		put(&e, &a->gpus[n], 4);
	}
	for (uint32_t i = 0; i < JR_CUSTOM_MAX; i++)
		mask |= (uint8_t)((a->custom[i] != 0) << i);
	put(&e, &mask, 1);
	for (uint32_t i = 0; i < JR_CUSTOM_MAX; i++)
		if (a->custom[i])
			put(&e, &a->custom[i], 8);
	for (uint32_t w = 0; w < a->words; w++)
		if (a->cores[w]) {
			first = first < w ? first : w;
			last = w;
		}
	if (first == a->words)
		first = last = 0;
	runs = count_runs(a->cores, a->words);
	if (runs * 4 <= (last - first + 1) * 8) {
		uint8_t form = 0;
		put(&e, &form, 1);
		put16(&e, runs);
		for (uint32_t c = 0; c < a->words * 64; c++) {
			uint32_t len = 0;
			if (!bit_at(a->cores, c))
				continue;
			while (c + len < a->words * 64 && bit_at(a->cores, c + len))
				len++;
			put16(&e, c);
			put16(&e, len);
			c += len;
		}
	} else {
		uint8_t form = 1;
		put(&e, &form, 1);
		put16(&e, first);
		put16(&e, last - first + 1);
		put(&e, &a->cores[first], (last - first + 1) * 8);
	}
	return e.ok ? e.len : 0;
}

static bool get(const uint8_t *buf, uint32_t len, uint32_t *at, void *v, uint32_t n)
{
	if (*at + n > len)
		return false;
	memcpy(v, buf + *at, n);
	*at += n;
	return true;
}

static bool get16(const uint8_t *buf, uint32_t len, uint32_t *at, uint32_t *v)
{
	uint16_t x;

	if (!get(buf, len, at, &x, 2))
		return false;
	*v = x;
	return true;
}

static int decode_cores(const uint8_t *buf, uint32_t len, uint32_t *at, struct jr_alloc *a)
{
	uint8_t form;
	uint32_t count, first, n;

	if (!get(buf, len, at, &form, 1) || !get16(buf, len, at, &count))
		return -EINVAL;
	if (form == 1) {
		first = count;
		if (!get16(buf, len, at, &n) || first + n > JR_CORE_WORDS ||
		    !get(buf, len, at, &a->cores[first], n * 8))
			return -EINVAL;
		return 0;
	}
	if (form != 0)
		return -EINVAL;
	for (uint32_t r = 0; r < count; r++) {
		if (!get16(buf, len, at, &first) || !get16(buf, len, at, &n) ||
		    first + n > JR_CORES_MAX)
			return -EINVAL;
		for (uint32_t c = first; c < first + n; c++)
			a->cores[c / 64] |= 1ull << (c % 64);
	}
	return 0;
}

/* Version 1, node 0 alone: u32 mask of non-zero words, those, u64
 * memory, u32 GPUs. */
static int decode_v1(const uint8_t *buf, uint32_t len, uint32_t *at, struct jr_alloc *a)
{
	uint32_t words;

	if (a->nodes != 1u || !get(buf, len, at, &words, 4))
		return -EINVAL;
	for (uint32_t i = 0; i < 16; i++)
		if ((words & (1u << i)) && !get(buf, len, at, &a->cores[i], 8))
			return -EINVAL;
	if ((words >> 16) || !get(buf, len, at, &a->mem[0], 8) ||
	    !get(buf, len, at, &a->gpus[0], 4))
		return -EINVAL;
	return 0;
}

int jr_alloc_decode(const uint8_t *buf, uint32_t len, struct jr_alloc *a)
{
	uint32_t at = 0;
	bool v2;
	uint8_t mask;

	memset(a, 0, sizeof(*a));
	a->words = JR_CORE_WORDS;
	if (!get(buf, len, &at, &a->nodes, 4))
		return -EINVAL;
	v2 = a->nodes & ENC_V2;
	a->nodes &= ~ENC_V2;
	if (a->nodes >> JR_NUMA_MAX)
		return -EINVAL;
	if (!v2 && decode_v1(buf, len, &at, a) < 0)
		return -EINVAL;
	for (uint32_t n = 0; v2 && n < JR_NUMA_MAX; n++) {
		if (!(a->nodes & (1u << n)))
			continue;
		if (!get(buf, len, &at, &a->mem[n], 8) || !get(buf, len, &at, &a->gpus[n], 4))
			return -EINVAL;
	}
	if (!get(buf, len, &at, &mask, 1))
		return -EINVAL;
	for (uint32_t i = 0; i < JR_CUSTOM_MAX; i++)
		if ((mask & (1u << i)) && !get(buf, len, &at, &a->custom[i], 8))
			return -EINVAL;
	if (v2 && decode_cores(buf, len, &at, a) < 0)
		return -EINVAL;
	return at == len ? 0 : -EINVAL;
}
