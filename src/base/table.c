/*
 * table.c - large zeroed tables in huge pages. See alloc.h.
 */
#include <sys/mman.h>

#include "base/alloc.h"
#include "base/common.h"

#define HUGE_PAGE (2 * JR_MIB)

void *jr_table_alloc(size_t bytes)
{
	size_t len = (bytes + HUGE_PAGE - 1) & ~(size_t)(HUGE_PAGE - 1);
	void *p = mmap(NULL, len ? len : HUGE_PAGE, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);

	if (p == MAP_FAILED)
		return NULL;
	madvise(p, len, MADV_HUGEPAGE);	/* a hint: fine if refused */
	return p;
}

void jr_table_free(void *p, size_t bytes)
{
	size_t len = (bytes + HUGE_PAGE - 1) & ~(size_t)(HUGE_PAGE - 1);

	if (p)
		munmap(p, len ? len : HUGE_PAGE);
}
