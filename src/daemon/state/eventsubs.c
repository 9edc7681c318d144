/*
 * eventsubs.c - the event stream's subscribers (see events.h): each a
 * connection held by the server, a filter, and a cursor into the ring.
 * Nothing is written at publish; events_tick, once per turn, writes each
 * subscriber what it has not had, in batches of EVENTS_BATCH_BYTES, and
 * stops (coalesced) once its connection holds EVENTS_HIGH_WATER unsent.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "base/common.h"
#include "daemon/net/server.h"
#include "daemon/state/eventsint.h"

static bool visible(const struct event_filter *f, const struct event_slot *s)
{
	if (f->kinds && !(f->kinds & 1u << s->kind))
		return false;
	if (f->job && (f->job < s->job || f->job - s->job >= s->jobs))
		return false;
	if (f->queue[0] && strcmp(f->queue, s->queue) != 0)
		return false;
	if (f->user != EVENTS_NO_UID && s->uid != f->user)
		return false;
	/* jobringd --private: a user sees only its own (GET /jobs alike). */
	return !f->private_jobs || f->viewer == 0 || s->uid == EVENTS_NO_UID || s->uid == f->viewer;
}

/* "id: N\nevent: K\ndata: {...}\n\n" at p; its length. */
static size_t frame(char *p, uint64_t id, const char *kind, const char *data, size_t len)
{
	int n = sprintf(p, "id: %llu\nevent: %s\ndata: ", (unsigned long long)id, kind);

	memcpy(p + n, data, len);
	memcpy(p + n + len, "\n\n", 2);
	return (size_t)n + len + 2;
}

static void remove_sub(struct events *ev, uint32_t i)
{
	ev->subs[i] = ev->subs[--ev->nsubs];
}

int events_subscribe(struct events *ev, struct server *s, uint64_t token,
		     const struct event_filter *f, uint64_t last_id)
{
	struct subscriber *sub;
	uint64_t oldest = events_oldest(ev);

	if (ev->nsubs >= EVENTS_MAX_SUBSCRIBERS)
		return -EBUSY;
	ev->server = s;
	sub = &ev->subs[ev->nsubs++];
	*sub = (struct subscriber){ .token = token, .f = *f, .next = ev->head + 1 };
	if (last_id == EVENTS_FROM_OLDEST)
		sub->next = oldest;
	else if (last_id && last_id + 1 >= oldest && last_id <= ev->head)
		sub->next = last_id + 1;	/* inside the window: from there */
	else if (last_id)	/* older than the window (or another boot's) */
		sub->reset_from = last_id;
	return 0;
}

/* Its head goes once the request's turn is over (the connection is then
 * held): ": ok", or the reset its resume earned. */
static bool start(struct events *ev, struct subscriber *sub, uint64_t now_ns)
{
	char reset[160];
	size_t n;

	sub->started = true;
	sub->last_write_ns = now_ns;
	if (!server_stream_start(ev->server, sub->token, "text/event-stream"))
		return false;
	if (!sub->reset_from)
		return server_stream_write(ev->server, sub->token, ": ok\n\n", 6);
	snprintf(reset, sizeof(reset),
		 "{\"seq\":%llu,\"kind\":\"reset\",\"requested\":%llu,\"oldest\":%llu}",
		 (unsigned long long)(sub->next - 1), (unsigned long long)sub->reset_from,
		 (unsigned long long)events_oldest(ev));
	n = frame(ev->batch, sub->next - 1, "reset", reset, strlen(reset));
	return server_stream_write(ev->server, sub->token, ev->batch, n);
}

/* Coalesced, and drained: say how many it missed (of those its filter
 * lets through; all of those that left the window), then catch up with
 * the latest of each. */
static bool send_coalesced(struct events *ev, struct subscriber *sub)
{
	uint64_t oldest = events_oldest(ev), from = sub->skip_from > oldest ? sub->skip_from : oldest;
	uint64_t skipped = from - sub->skip_from;
	char data[256];
	size_t n;

	for (uint64_t q = from; q <= ev->head; q++)
		skipped += visible(&sub->f, &ev->ring[q & (EVENTS_WINDOW - 1)]);
	snprintf(data, sizeof(data),
		 "{\"seq\":%llu,\"kind\":\"coalesced\",\"skipped\":%llu,\"from\":%llu,\"to\":%llu,"
		 "\"window_lost\":%s}", (unsigned long long)(sub->skip_from - 1),
		 (unsigned long long)skipped, (unsigned long long)sub->skip_from,
		 (unsigned long long)ev->head, sub->skip_from < oldest ? "true" : "false");
	n = frame(ev->batch, sub->skip_from - 1, "coalesced", data, strlen(data));
	sub->next = from;
	sub->catchup_end = ev->head;
	sub->skip_from = 0;
	ev->st.coalesced_now--;
	return server_stream_write(ev->server, sub->token, ev->batch, n);
}

static void start_coalescing(struct events *ev, struct subscriber *sub)
{
	sub->skip_from = sub->next;
	ev->st.coalesced_now++;
	ev->st.coalesced_total++;
}

/* Write what sub has not had, until its connection holds the high water.
 * false: its connection is gone. */
static bool deliver(struct events *ev, struct subscriber *sub, size_t backlog)
{
	size_t n = 0;

	while (sub->next <= ev->head) {
		struct event_slot *s = &ev->ring[sub->next & (EVENTS_WINDOW - 1)];
		if (backlog + n > EVENTS_HIGH_WATER) {
			start_coalescing(ev, sub);
			break;
		}
		if (visible(&sub->f, s) && !(s->superseded && sub->next <= sub->catchup_end)) {
			size_t len;
			const char *frame = events_frame(ev, s, &len);
			memcpy(ev->batch + n, frame, len);
			n += len;
		}
		sub->next++;
		if (n >= EVENTS_BATCH_BYTES) {
			if (!server_stream_write(ev->server, sub->token, ev->batch, n))
				return false;
			backlog += n;
			n = 0;
		}
	}
	return !n || server_stream_write(ev->server, sub->token, ev->batch, n);
}

/* One subscriber's turn. false: gone. */
static bool serve(struct events *ev, struct subscriber *sub, uint64_t now_ns)
{
	size_t backlog;
	uint64_t head = ev->head;

	if (!sub->started && !start(ev, sub, now_ns))
		return false;
	if ((backlog = server_stream_backlog(ev->server, sub->token)) == SIZE_MAX)
		return false;
	if (!sub->skip_from && sub->next < events_oldest(ev))
		start_coalescing(ev, sub);	/* more came in one turn than the window */
	if (sub->skip_from) {
		if (backlog > EVENTS_LOW_WATER)
			return true;	/* still full: nothing more is kept for it */
		if (!send_coalesced(ev, sub))
			return false;
	}
	if (sub->next <= head) {
		if (!deliver(ev, sub, backlog))
			return false;
		sub->last_write_ns = now_ns;
	} else if (now_ns - sub->last_write_ns >= EVENTS_PING_NS) {
		sub->last_write_ns = now_ns;
		return server_stream_write(ev->server, sub->token, ": ping\n\n", 8);
	}
	return true;
}

void events_tick(struct events *ev, uint64_t now_ns)
{
	if (!ev || now_ns - ev->last_tick_ns < EVENTS_TICK_NS)
		return;
	ev->last_tick_ns = now_ns;
	for (uint32_t i = 0; i < ev->nsubs;) {
		struct subscriber *sub = &ev->subs[i];
		if (serve(ev, sub, now_ns)) {
			i++;
			continue;
		}
		if (sub->skip_from)
			ev->st.coalesced_now--;
		ev->st.dropped++;
		server_stream_end(ev->server, sub->token);
		remove_sub(ev, i);
	}
}
