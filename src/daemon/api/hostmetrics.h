/*
 * hostmetrics.h - the parts of /metrics about the host and the daemon's
 * own process (issue 16): load, memory, the free bytes and inodes of the
 * journal's and the output directory's filesystems, the standard
 * process_* series, and jobring_build_info. Read from /proc and statvfs
 * at most once a second (a few system calls, kept between scrapes).
 */
#ifndef JR_HOSTMETRICS_H
#define JR_HOSTMETRICS_H

#include "daemon/net/buf.h"

/* HELP and TYPE lines of one metric family. */
void metric_family(struct buf *b, const char *name, const char *type, const char *help);

/* The host's series and the process_* ones, made at most once a second. */
void host_metrics(struct buf *b, const char *journal_dir, const char *output_dir);
void build_info_metric(struct buf *b);

#endif
