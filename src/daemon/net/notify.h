/*
 * notify.h - what jobringd tells systemd (sd_notify): READY once it has
 * recovered its journal and listens, a watchdog petted from its event
 * loop, STOPPING when it stops, a STATUS line; and the listening socket
 * systemd may hand over (jobringd.socket). Outside systemd each call does
 * nothing.
 */
#ifndef JR_NOTIFY_H
#define JR_NOTIFY_H

#include <stdint.h>

/* The control socket systemd passed (LISTEN_FDS), or -1. */
int notify_listen_fd(void);

void notify_ready(const char *status);
void notify_stopping(void);
/* From the event loop's tick: WATCHDOG=1 at half the watchdog period. */
void notify_tick(uint64_t now_ns);

#endif
