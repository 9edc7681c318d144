/*
 * output.h - the output directory as the daemon watches it: its free
 * space, measured at most once a second from the event loop, against a
 * reserve below which new submissions are refused (507 output_full) so
 * that jobs already accepted keep the room that is left. What /health
 * shows under "output".
 */
#ifndef JR_DAEMON_OUTPUT_H
#define JR_DAEMON_OUTPUT_H

#include <stdbool.h>
#include <stdint.h>

#define OUTPUT_RESERVE_MAX (256ull << 20)

struct output_space {
	int dirfd;			/* the output directory; <= 0: not watched */
	const char *dir;		/* its path, for messages */
	uint64_t reserve_bytes;		/* free space below this: full */
	bool reserve_auto;		/* reserve_bytes: 1% of the filesystem, at most
					 * OUTPUT_RESERVE_MAX (no --output-reserve) */
	uint64_t max_output_bytes;	/* a job's cap (shown) */
	uint64_t free_bytes, total_bytes;
	uint64_t checked_ns;		/* CLOCK_MONOTONIC of the last look; 0: none */
	bool full;
	int error;			/* the last fstatvfs's, -errno; 0 */
};

/* Look again if a second has passed since the last look (now_ns:
 * CLOCK_MONOTONIC). Logs a change of `full` to stderr. */
void output_space_check(struct output_space *o, uint64_t now_ns);

#endif
