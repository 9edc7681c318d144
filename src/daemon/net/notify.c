/*
 * notify.c - sd_notify and socket activation through libsystemd. See
 * notify.h.
 */
#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>
#include <systemd/sd-daemon.h>

#include "base/common.h"
#include "daemon/net/notify.h"

static uint64_t watchdog_ns, last_pet_ns;

int notify_listen_fd(void)
{
	if (sd_listen_fds(1) != 1)
		return -1;
	return sd_is_socket_unix(SD_LISTEN_FDS_START, SOCK_STREAM, 1, NULL, 0) > 0 ?
		       SD_LISTEN_FDS_START : -1;
}

void notify_ready(const char *status)
{
	uint64_t usec;

	if (sd_watchdog_enabled(0, &usec) > 0)
		watchdog_ns = usec * JR_NS_PER_US;
	sd_notifyf(0, "READY=1\nSTATUS=%s", status);
}

void notify_stopping(void)
{
	sd_notify(0, "STOPPING=1\nSTATUS=stopping");
}

void notify_tick(uint64_t now_ns)
{
	if (!watchdog_ns || now_ns - last_pet_ns < watchdog_ns / 2)
		return;
	last_pet_ns = now_ns;
	sd_notify(0, "WATCHDOG=1");
}
