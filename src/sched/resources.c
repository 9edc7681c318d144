/*
 * resources.c - pools, CAS reservation and best-fit placement. See
 * resources.h.
 *
 * Every free word (a core or GPU bitmap word, a memory or custom counter)
 * is taken by its own CAS, so the pools are never over-committed even
 * while many threads reserve at once; a reservation that cannot complete
 * gives back the words it took. Placement reads the free counts once (a
 * racy snapshot is fine: the CASes decide) and tries nodes best fit first.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "base/atomics.h"
#include "base/common.h"
#include "sched/resources.h"

/* --- counters and bitmaps ------------------------------------------------ */

static bool take_counter(uint64_t *free, uint64_t amount)
{
	uint64_t v = jr_load_relaxed(free);

	if (amount == 0)
		return true;
	do {
		if (v < amount)
			return false;
	} while (!jr_cas_acq_rel(free, &v, v - amount));
	return true;
}

/* Give amount back to a counter whose total is total: never more than was
 * taken (a release of what another job holds would over-commit the pool). */
static void give_counter(uint64_t *free, uint64_t amount, uint64_t total)
{
	if (amount) {
		uint64_t before = jr_fetch_add_acq_rel(free, amount);
		JR_ASSERT(before + amount <= total && before + amount >= before);
		(void)before;
		(void)total;
	}
}

/* The lowest `want` set bits of w. */
static uint64_t lowest_bits(uint64_t w, uint32_t want)
{
	uint64_t pick = 0;

	if (want >= 64 || (uint32_t)__builtin_popcountll(w) <= want)
		return w;
	while (want-- && w) {
		uint64_t bit = w & -w;
		pick |= bit;
		w &= w - 1;
	}
	return pick;
}

/* Take up to want bits of allowed from one word; returns the bits taken. */
static uint64_t take_bits_word(uint64_t *word, uint64_t allowed, uint32_t want)
{
	uint64_t w = jr_load_relaxed(word), pick;

	do {
		pick = lowest_bits(w & allowed, want);
		if (pick == 0)
			return 0;
	} while (!jr_cas_acq_rel(word, &w, w & ~pick));
	return pick;
}

/* Give bits (cores) back: each must be taken now, and one of the word's. */
static void give_bits(uint64_t *word, uint64_t bits, uint64_t all)
{
	if (bits) {
		uint64_t before = jr_fetch_or_acq_rel(word, bits);
		JR_ASSERT((before & bits) == 0 && (bits & ~all) == 0);
		(void)before;
		(void)all;
	}
}

/* The bitmap words a node's cores are in, and its bits of word w. */
static uint32_t node_first_word(const struct jr_numa_pool *node)
{
	return node->first_core / 64;
}

static uint32_t node_end_word(const struct jr_numa_pool *node)
{
	return (node->first_core + node->core_total + 63) / 64;
}

static uint64_t node_bits(const struct jr_numa_pool *node, uint32_t w)
{
	uint64_t lo = node->first_core, hi = lo + node->core_total;
	uint64_t wlo = (uint64_t)w * 64, whi = wlo + 64, m;

	if (hi <= wlo || lo >= whi)
		return 0;
	m = hi >= whi ? ~0ull : (1ull << (hi - wlo)) - 1;
	return lo > wlo ? m & ~((1ull << (lo - wlo)) - 1) : m;
}

/* Give back the cores of a on node n, and forget them in a. */
static void give_node_cores(struct jr_pools *p, uint32_t n, uint64_t *cores)
{
	const struct jr_numa_pool *node = &p->node[n];

	for (uint32_t w = node_first_word(node); w < node_end_word(node); w++) {
		uint64_t bits = cores[w] & node_bits(node, w);
		give_bits(&p->core_free[w], bits, p->core_all[w]);
		cores[w] &= ~bits;
	}
}

/* Take up to want cores of node n into cores[]; how many it took. */
static uint32_t take_some_cores(struct jr_pools *p, uint32_t n, uint32_t want,
				uint64_t *cores)
{
	const struct jr_numa_pool *node = &p->node[n];
	uint32_t got = 0;

	for (uint32_t w = node_first_word(node); w < node_end_word(node) && got < want; w++) {
		uint64_t bits = take_bits_word(&p->core_free[w], node_bits(node, w), want - got);
		cores[w] |= bits;
		got += (uint32_t)__builtin_popcountll(bits);
	}
	return got;
}

/* Take want cores of node n into cores[]; all or nothing. */
static bool take_cores(struct jr_pools *p, uint32_t n, uint32_t want, uint64_t *cores)
{
	if (take_some_cores(p, n, want, cores) == want)
		return true;
	give_node_cores(p, n, cores);
	return false;
}

static bool take_gpus(struct jr_numa_pool *node, uint32_t want, uint32_t *mask)
{
	uint32_t w = jr_load_relaxed(&node->gpu_free), pick;

	*mask = 0;
	if (want == 0)
		return true;
	do {
		if ((uint32_t)__builtin_popcount(w) < want)
			return false;
		pick = (uint32_t)lowest_bits(w, want);
	} while (!jr_cas_acq_rel(&node->gpu_free, &w, w & ~pick));
	*mask = pick;
	return true;
}

uint32_t jr_pools_free_cores(const struct jr_pools *p, uint32_t n)
{
	const struct jr_numa_pool *node = &p->node[n];
	uint32_t count = 0;

	for (uint32_t w = node_first_word(node); w < node_end_word(node); w++)
		count += (uint32_t)__builtin_popcountll(jr_load_relaxed(&p->core_free[w]) &
							node_bits(node, w));
	return count;
}

uint32_t jr_pools_free_cores_all(const struct jr_pools *p)
{
	uint32_t count = 0;

	for (uint32_t w = 0; w < p->core_words; w++)
		count += (uint32_t)__builtin_popcountll(jr_load_relaxed(&p->core_free[w]));
	return count;
}

uint32_t jr_alloc_core_count(const struct jr_alloc *a)
{
	uint32_t count = 0;

	for (uint32_t w = 0; w < a->words; w++)
		count += (uint32_t)__builtin_popcountll(a->cores[w]);
	return count;
}

static uint32_t node_alloc_cores(const struct jr_pools *p, const struct jr_alloc *a, uint32_t n)
{
	const struct jr_numa_pool *node = &p->node[n];
	uint32_t count = 0;

	for (uint32_t w = node_first_word(node); w < node_end_word(node) && w < a->words; w++)
		count += (uint32_t)__builtin_popcountll(a->cores[w] & node_bits(node, w));
	return count;
}

/* An empty allocation for a host of p's size. */
static void alloc_clear(const struct jr_pools *p, struct jr_alloc *a)
{
	memset(a, 0, jr_alloc_size(p->core_words));
	a->words = p->core_words;
}

/* --- setup and admission ------------------------------------------------- */

static void node_init(struct jr_pools *p, uint32_t n, uint32_t first, uint32_t cores,
		      uint64_t mem, uint32_t gpus)
{
	struct jr_numa_pool *node = &p->node[n];

	memset(node, 0, sizeof(*node));
	node->first_core = first;
	node->core_total = cores;
	for (uint32_t c = first; c < first + cores; c++)
		p->core_all[c / 64] |= 1ull << (c % 64);
	for (uint32_t w = node_first_word(node); w < node_end_word(node); w++)
		p->core_free[w] = p->core_all[w];
	node->mem_total = node->mem_free = mem;
	node->gpu_all = gpus >= 32 ? ~0u : (1u << gpus) - 1;
	node->gpu_free = node->gpu_all;
	p->core_count = first + cores;
	p->core_words = (p->core_count + 63) / 64;
}

int jr_pools_init_nodes(struct jr_pools *p, uint32_t numa_count, const uint32_t *cores,
			const uint64_t *mem, uint32_t gpus_per_node)
{
	uint32_t first = 0;

	memset(p, 0, sizeof(*p));
	if (numa_count > JR_NUMA_MAX || numa_count == 0)
		return -E2BIG;
	for (uint32_t n = 0; n < numa_count; n++) {
		if (cores[n] > JR_CORES_MAX - first) {
			memset(p, 0, sizeof(*p));
			return -E2BIG;
		}
		first += cores[n];
	}
	first = 0;
	p->numa_count = numa_count;
	for (uint32_t n = 0; n < numa_count; n++) {
		node_init(p, n, first, cores[n], mem[n], gpus_per_node);
		first += cores[n];
	}
	return 0;
}

static uint64_t node_memory(const struct jr_topology *t, uint32_t n,
			    const struct jr_res_config *cfg)
{
	hwloc_obj_t obj;

	if (cfg && cfg->mem_per_node)
		return cfg->mem_per_node;
	obj = hwloc_get_obj_by_type(t->topo, HWLOC_OBJ_NUMANODE, n);
	return obj && obj->attr ? obj->attr->numanode.local_memory : 0;
}

int jr_pools_init(struct jr_pools *p, const struct jr_topology *t,
		  const struct jr_res_config *cfg)
{
	uint32_t first = 0, cores[JR_NUMA_MAX];
	uint64_t mem[JR_NUMA_MAX];
	int rc;

	memset(p, 0, sizeof(*p));
	if (t->numa_count > JR_NUMA_MAX || t->core_count > JR_CORES_MAX)
		return -E2BIG;
	for (uint32_t n = 0; n < t->numa_count; n++) {
		cores[n] = 0;
		for (uint32_t c = 0; c < t->core_count; c++) {
			if (t->core_numa[c] != (int32_t)n)
				continue;
			if (c != first + cores[n])
				return -EINVAL;	/* a node's cores must be contiguous */
			cores[n]++;
		}
		mem[n] = node_memory(t, n, cfg);
		first += cores[n];
	}
	rc = jr_pools_init_nodes(p, t->numa_count, cores, mem, cfg ? cfg->gpus_per_node : 0);
	if (rc < 0)
		return rc;
	if (cfg) {
		p->custom_count = cfg->custom_count;
		p->capabilities = cfg->capabilities;
		for (uint32_t i = 0; i < cfg->custom_count && i < JR_CUSTOM_MAX; i++) {
			p->custom_total[i] = p->custom_free[i] = cfg->custom_total[i];
			strncpy(p->custom_name[i], cfg->custom_name[i] ? cfg->custom_name[i] : "",
				JR_CUSTOM_NAME_MAX - 1);
		}
	}
	return 0;
}

static bool node_could_hold(const struct jr_numa_pool *node, const struct jr_req *req)
{
	return req->cpus <= node->core_total && req->mem_bytes <= node->mem_total &&
	       req->gpus <= (uint32_t)__builtin_popcount(node->gpu_all);
}

int jr_res_check_host(const struct jr_pools *p, const struct jr_req *req)
{
	uint64_t cores = 0, mem = 0, gpus = 0;

	if ((req->capabilities & ~p->capabilities) != 0)
		return -ENOTSUP;
	for (uint32_t i = 0; i < JR_CUSTOM_MAX; i++)
		if (req->custom[i] > p->custom_total[i])
			return -E2BIG;
	for (uint32_t n = 0; n < p->numa_count; n++) {
		if (!req->span && node_could_hold(&p->node[n], req))
			return 0;
		cores += p->node[n].core_total;
		mem += p->node[n].mem_total;
		gpus += (uint32_t)__builtin_popcount(p->node[n].gpu_all);
	}
	if (req->span && req->cpus <= cores && req->mem_bytes <= mem &&
	    req->gpus <= gpus)
		return 0;
	return -E2BIG;
}

/* --- reservation --------------------------------------------------------- */

static void release_gpus(struct jr_numa_pool *node, uint32_t gpus)
{
	if (gpus) {
		uint32_t before = jr_fetch_or_acq_rel(&node->gpu_free, gpus);
		JR_ASSERT((before & gpus) == 0 && (gpus & ~node->gpu_all) == 0);
		(void)before;
	}
}

static bool reserve_on_node(struct jr_pools *p, uint32_t n,
			    const struct jr_req *req, struct jr_alloc *a)
{
	struct jr_numa_pool *node = &p->node[n];

	if (!take_cores(p, n, req->cpus, a->cores))
		return false;
	if (!take_counter(&node->mem_free, req->mem_bytes))
		goto undo_cores;
	if (!take_gpus(node, req->gpus, &a->gpus[n]))
		goto undo_mem;
	a->mem[n] = req->mem_bytes;
	a->nodes |= 1u << n;
	return true;
undo_mem:
	give_counter(&node->mem_free, req->mem_bytes, node->mem_total);
undo_cores:
	give_node_cores(p, n, a->cores);
	return false;
}

/* Nodes whose free resources (a snapshot) hold req, least cores left over
 * first, then least memory left over. Returns how many. */
static uint32_t best_fit_order(const struct jr_pools *p, const struct jr_req *req,
			       uint32_t *order)
{
	uint64_t left[JR_NUMA_MAX];
	uint32_t count = 0;

	for (uint32_t n = 0; n < p->numa_count; n++) {
		const struct jr_numa_pool *node = &p->node[n];
		uint64_t mem = jr_load_relaxed(&node->mem_free);
		uint32_t gpus = (uint32_t)__builtin_popcount(jr_load_relaxed(&node->gpu_free));
		uint32_t cores;
		if (mem < req->mem_bytes || gpus < req->gpus || node->core_total < req->cpus)
			continue;
		cores = jr_pools_free_cores(p, n);
		if (cores < req->cpus)
			continue;
		/* Cores dominate; memory breaks ties (scaled down to fit). */
		uint64_t key = (uint64_t)(cores - req->cpus) << 40 |
			       ((mem - req->mem_bytes) >> 24 & ((1ull << 40) - 1));
		uint32_t i = count++;
		while (i > 0 && left[i - 1] > key) {
			left[i] = left[i - 1];
			order[i] = order[i - 1];
			i--;
		}
		left[i] = key;
		order[i] = n;
	}
	return count;
}

bool jr_res_fits(const struct jr_pools *p, const struct jr_req *req)
{
	uint32_t order[JR_NUMA_MAX];
	uint64_t cores = 0, mem = 0, gpus = 0;

	if ((req->capabilities & ~p->capabilities) != 0)
		return false;
	for (uint32_t i = 0; i < JR_CUSTOM_MAX; i++)
		if (req->custom[i] > jr_load_relaxed(&p->custom_free[i]))
			return false;
	if (best_fit_order(p, req, order) > 0)
		return true;
	if (!req->span)
		return false;
	for (uint32_t n = 0; n < p->numa_count; n++) {
		cores += jr_pools_free_cores(p, n);
		mem += jr_load_relaxed(&p->node[n].mem_free);
		gpus += (uint32_t)__builtin_popcount(jr_load_relaxed(&p->node[n].gpu_free));
	}
	return req->cpus <= cores && req->mem_bytes <= mem && req->gpus <= gpus;
}

static bool reserve_compact(struct jr_pools *p, const struct jr_req *req,
			    struct jr_alloc *a)
{
	uint32_t order[JR_NUMA_MAX];
	uint32_t count = best_fit_order(p, req, order);

	for (uint32_t i = 0; i < count; i++)
		if (reserve_on_node(p, order[i], req, a))
			return true;
	return false;
}

/* Spread over the nodes in order, each dimension greedily. */
static bool reserve_spread(struct jr_pools *p, const struct jr_req *req,
			   struct jr_alloc *a)
{
	uint32_t cores_left = req->cpus, gpus_left = req->gpus;
	uint64_t mem_left = req->mem_bytes;

	for (uint32_t n = 0; n < p->numa_count; n++) {
		struct jr_numa_pool *node = &p->node[n];
		cores_left -= take_some_cores(p, n, cores_left, a->cores);
		uint64_t m = jr_load_relaxed(&node->mem_free);
		m = m < mem_left ? m : mem_left;
		if (m && take_counter(&node->mem_free, m)) {
			a->mem[n] = m;
			mem_left -= m;
		}
		uint32_t g = (uint32_t)__builtin_popcount(jr_load_relaxed(&node->gpu_free));
		g = g < gpus_left ? g : gpus_left;
		if (g && take_gpus(node, g, &a->gpus[n]))
			gpus_left -= g;
		a->nodes |= 1u << n;
	}
	return cores_left == 0 && mem_left == 0 && gpus_left == 0;
}

static bool take_customs(struct jr_pools *p, const struct jr_req *req,
			 struct jr_alloc *a)
{
	for (uint32_t i = 0; i < JR_CUSTOM_MAX; i++) {
		if (take_counter(&p->custom_free[i], req->custom[i])) {
			a->custom[i] = req->custom[i];
			continue;
		}
		while (i-- > 0)
			give_counter(&p->custom_free[i], a->custom[i], p->custom_total[i]);
		return false;
	}
	return true;
}

int jr_res_reserve(struct jr_pools *p, const struct jr_req *req,
		   struct jr_alloc *out)
{
	alloc_clear(p, out);
	if ((req->capabilities & ~p->capabilities) != 0)
		return -ENOTSUP;
	if (!take_customs(p, req, out))
		return -EBUSY;
	if (reserve_compact(p, req, out))
		return 0;
	if (req->span && reserve_spread(p, req, out))
		return 0;
	jr_res_release(p, out);
	alloc_clear(p, out);
	return -EBUSY;
}

void jr_res_release(struct jr_pools *p, const struct jr_alloc *a)
{
	uint32_t words = a->words < p->core_words ? a->words : p->core_words;

	for (uint32_t w = 0; w < words; w++)
		give_bits(&p->core_free[w], a->cores[w], p->core_all[w]);
	for (uint32_t n = 0; n < p->numa_count; n++) {
		if (!(a->nodes & (1u << n)))
			continue;
		give_counter(&p->node[n].mem_free, a->mem[n], p->node[n].mem_total);
		release_gpus(&p->node[n], a->gpus[n]);
	}
	for (uint32_t i = 0; i < JR_CUSTOM_MAX; i++)
		give_counter(&p->custom_free[i], a->custom[i], p->custom_total[i]);
}

/* Exactly these bits of word, or none. */
static bool take_exact_bits(uint64_t *word, uint64_t bits)
{
	uint64_t w = jr_load_relaxed(word);

	if (!bits)
		return true;
	do {
		if ((w & bits) != bits)
			return false;
	} while (!jr_cas_acq_rel(word, &w, w & ~bits));
	return true;
}

/* a's custom counters taken from p, each recorded in took as it is
 * (for the caller's undo): false at the first that is short. */
static bool take_counters_like(struct jr_pools *p, const struct jr_alloc *a,
			       struct jr_alloc *took)
{
	for (uint32_t i = 0; i < JR_CUSTOM_MAX; i++) {
		if (!take_counter(&p->custom_free[i], a->custom[i]))
			return false;
		took->custom[i] = a->custom[i];
	}
	return true;
}

static bool take_exact_gpus(uint32_t *word, uint32_t bits)
{
	uint32_t w = jr_load_relaxed(word);

	if (!bits)
		return true;
	do {
		if ((w & bits) != bits)
			return false;
	} while (!jr_cas_acq_rel(word, &w, w & ~bits));
	return true;
}

int jr_res_reserve_exact(struct jr_pools *p, const struct jr_alloc *a)
{
	struct jr_alloc took;

	alloc_clear(p, &took);
	for (uint32_t w = p->core_words; w < a->words; w++)
		if (a->cores[w])
			return -EBUSY;	/* cores this host does not have */
	for (uint32_t w = 0; w < a->words && w < p->core_words; w++) {
		if (!take_exact_bits(&p->core_free[w], a->cores[w]))
			goto undo;
		took.cores[w] = a->cores[w];
	}
	for (uint32_t n = 0; n < JR_NUMA_MAX; n++) {
		if (!(a->nodes & (1u << n)))
			continue;
		if (n >= p->numa_count)
			goto undo;
		took.nodes |= 1u << n;
		if (!take_counter(&p->node[n].mem_free, a->mem[n]))
			goto undo;
		took.mem[n] = a->mem[n];
		if (!take_exact_gpus(&p->node[n].gpu_free, a->gpus[n]))
			goto undo;
		took.gpus[n] = a->gpus[n];
	}
	if (take_counters_like(p, a, &took))
		return 0;
undo:
	jr_res_release(p, &took);
	return -EBUSY;
}

int jr_res_reserve_like(struct jr_pools *p, const struct jr_alloc *a)
{
	struct jr_alloc took;

	alloc_clear(p, &took);
	for (uint32_t n = 0; n < p->numa_count; n++) {
		struct jr_numa_pool *node = &p->node[n];
		if (!(a->nodes & (1u << n)))
			continue;
		took.nodes |= 1u << n;
		if (!take_cores(p, n, node_alloc_cores(p, a, n), took.cores))
			goto undo;
		if (!take_counter(&node->mem_free, a->mem[n]))
			goto undo;
		took.mem[n] = a->mem[n];
		if (!take_gpus(node, (uint32_t)__builtin_popcount(a->gpus[n]), &took.gpus[n]))
			goto undo;
	}
	if (a->nodes >> p->numa_count)
		goto undo;
	if (take_counters_like(p, a, &took))
		return 0;
undo:
	jr_res_release(p, &took);
	return -EBUSY;
}

void jr_res_hold_for(struct jr_pools *p, const struct jr_alloc *a)
{
	struct jr_alloc took;

	alloc_clear(p, &took);
	for (uint32_t n = 0; n < p->numa_count; n++) {
		struct jr_numa_pool *node = &p->node[n];
		uint32_t gpus;
		if (!(a->nodes & (1u << n)))
			continue;
		if (!take_cores(p, n, node_alloc_cores(p, a, n), took.cores))
			for (uint32_t w = node_first_word(node); w < node_end_word(node); w++)
				p->core_free[w] &= ~node_bits(node, w);
		if (!take_counter(&node->mem_free, a->mem[n]))
			node->mem_free = 0;
		if (!take_gpus(node, (uint32_t)__builtin_popcount(a->gpus[n]), &gpus))
			node->gpu_free = 0;
	}
	for (uint32_t i = 0; i < JR_CUSTOM_MAX; i++)
		if (!take_counter(&p->custom_free[i], a->custom[i]))
			p->custom_free[i] = 0;
}

uint32_t jr_alloc_core_ids(const struct jr_pools *p, const struct jr_alloc *a,
			   uint32_t *ids, uint32_t max)
{
	uint32_t count = 0;

	(void)p;
	for (uint32_t w = 0; w < a->words; w++) {
		uint64_t bits = a->cores[w];
		while (bits && count < max) {
			ids[count++] = w * 64 + (uint32_t)__builtin_ctzll(bits);
			bits &= bits - 1;
		}
	}
	return count;
}

/* --- names ------------------------------------------------------------------ */

/* Next "name" or "name=value" item of a comma-separated list; false at
 * the end. value is 0 when absent; -EINVAL in *rc for garbage. */
static bool next_item(const char **cursor, char name[JR_CUSTOM_NAME_MAX],
		      uint64_t *value, int *rc)
{
	const char *p = *cursor;
	size_t len;

	while (*p == ',' || *p == ' ')
		p++;
	if (!*p)
		return false;
	len = strcspn(p, "=, ");
	if (len == 0 || len >= JR_CUSTOM_NAME_MAX) {
		*rc = -EINVAL;
		return false;
	}
	memcpy(name, p, len);
	name[len] = '\0';
	p += len;
	*value = 0;
	if (*p == '=') {
		char *end;
		*value = strtoull(p + 1, &end, 10);
		if (end == p + 1) {
			*rc = -EINVAL;
			return false;
		}
		p = end;
	}
	*cursor = p;
	return true;
}

int jr_res_parse_totals(const char *spec, struct jr_res_config *cfg,
			char names[JR_CUSTOM_MAX][JR_CUSTOM_NAME_MAX])
{
	uint64_t v;
	int rc = 0;

	cfg->custom_count = 0;
	while (spec && next_item(&spec, names[cfg->custom_count], &v, &rc)) {
		if (cfg->custom_count == JR_CUSTOM_MAX)
			return -EINVAL;
		cfg->custom_name[cfg->custom_count] = names[cfg->custom_count];
		cfg->custom_total[cfg->custom_count++] = v;
	}
	return rc;
}

int jr_res_parse_host_caps(const char *spec, struct jr_cap_names *caps,
			   struct jr_res_config *cfg)
{
	uint64_t v;
	int rc = 0;

	caps->count = 0;
	cfg->capabilities = 0;
	while (spec && next_item(&spec, caps->name[caps->count], &v, &rc)) {
		if (caps->count == JR_CAP_MAX)
			return -EINVAL;
		cfg->capabilities |= 1ull << caps->count++;
	}
	return rc;
}

static int custom_index(const struct jr_pools *p, const char *name)
{
	for (uint32_t i = 0; i < p->custom_count; i++)
		if (strcmp(p->custom_name[i], name) == 0)
			return (int)i;
	return -1;
}

static int cap_index(const struct jr_cap_names *caps, const char *name)
{
	for (uint32_t i = 0; caps && i < caps->count; i++)
		if (strcmp(caps->name[i], name) == 0)
			return (int)i;
	return -1;
}

int jr_res_parse_request(const struct jr_pools *p, const struct jr_cap_names *caps,
			 const char *resources, const char *labels,
			 struct jr_req *req)
{
	char name[JR_CUSTOM_NAME_MAX];
	uint64_t v;
	int rc = 0, i;

	while (resources && next_item(&resources, name, &v, &rc)) {
		if ((i = custom_index(p, name)) < 0)
			return -E2BIG;
		req->custom[i] += v;
	}
	while (rc == 0 && labels && next_item(&labels, name, &v, &rc)) {
		if ((i = cap_index(caps, name)) < 0)
			return -E2BIG;
		req->capabilities |= 1ull << i;
	}
	return rc;
}

static bool has_label(const char *have, const char *label, size_t len)
{
	while (have && *have) {
		size_t n = strcspn(have, ",");
		if (n == len && strncmp(have, label, len) == 0)
			return true;
		have += n + (have[n] == ',');
	}
	return false;
}

bool jr_labels_cover(const char *have, const char *need)
{
	while (need && *need) {
		size_t n = strcspn(need, ",");
		if (n && !has_label(have, need, n))
			return false;
		need += n + (need[n] == ',');
	}
	return true;
}
