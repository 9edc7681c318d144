/*
 * keeperproto.c - the keeper's frames: buffers, sending and receiving
 * without blocking, and a SPAWN's payload read back. See keeper.h.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "exec/keeper.h"

static int reserve(struct kp_buf *b, size_t more)
{
	size_t need = b->len + more, cap = b->cap ? b->cap : 4096;
	uint8_t *n;

	if (need <= b->cap)
		return 0;
	while (cap < need)
		cap *= 2;
	n = realloc(b->p, cap);
	if (!n)
		return -ENOMEM;
	b->p = n;
	b->cap = cap;
	return 0;
}

int jr_kp_add(struct kp_buf *b, const void *data, size_t len)
{
	if (reserve(b, len) < 0)
		return -ENOMEM;
	if (len)
		memcpy(b->p + b->len, data, len);
	b->len += len;
	return 0;
}

int jr_kp_add_str(struct kp_buf *b, const char *s)
{
	return jr_kp_add(b, s ? s : "", strlen(s ? s : "") + 1);
}

int jr_kp_begin(struct kp_buf *b, uint16_t type, size_t *at)
{
	struct kp_header h = { 0, type, 0 };

	*at = b->len;
	return jr_kp_add(b, &h, sizeof(h));
}

void jr_kp_end(struct kp_buf *b, size_t at)
{
	uint32_t len = (uint32_t)(b->len - at - sizeof(struct kp_header));

	memcpy(b->p + at, &len, sizeof(len));
}

int jr_kp_put(struct kp_buf *b, uint16_t type, const void *payload, uint32_t len)
{
	size_t at;

	if (reserve(b, sizeof(struct kp_header) + len) < 0)
		return -ENOMEM;
	jr_kp_begin(b, type, &at);
	jr_kp_add(b, payload, len);
	jr_kp_end(b, at);
	return 0;
}

void jr_kp_buf_free(struct kp_buf *b)
{
	free(b->p);
	memset(b, 0, sizeof(*b));
}

/* Drop what was sent or taken once it is most of the buffer. */
static void compact(struct kp_buf *b)
{
	if (b->off == b->len) {
		b->off = b->len = 0;
	} else if (b->off > 65536 && b->off * 2 > b->len) {
		memmove(b->p, b->p + b->off, b->len - b->off);
		b->len -= b->off;
		b->off = 0;
	}
}

int jr_kp_flush(int fd, struct kp_buf *b)
{
	while (b->off < b->len) {
		ssize_t n = send(fd, b->p + b->off, b->len - b->off, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN)
				break;
			return -errno;
		}
		b->off += (size_t)n;
	}
	compact(b);
	return 0;
}

ssize_t jr_kp_fill(int fd, struct kp_buf *b)
{
	ssize_t n;

	compact(b);
	if (reserve(b, 65536) < 0)
		return -ENOMEM;
	do
		n = recv(fd, b->p + b->len, b->cap - b->len, MSG_DONTWAIT);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	b->len += (size_t)n;
	return n;
}

bool jr_kp_next(struct kp_buf *b, struct kp_header *h, const uint8_t **payload, bool *bad)
{
	*bad = false;
	if (b->len - b->off < sizeof(*h))
		return false;
	memcpy(h, b->p + b->off, sizeof(*h));
	if (h->len > JR_KEEPER_FRAME_MAX) {
		*bad = true;
		return false;
	}
	if (b->len - b->off - sizeof(*h) < h->len)
		return false;
	*payload = b->p + b->off + sizeof(*h);
	b->off += sizeof(*h) + h->len;
	return true;
}

/* --- SPAWN ------------------------------------------------------------------------------- */

/* count NUL-terminated strings from *at; NULL-terminated array of them. */
static char **strings(const uint8_t *p, uint32_t len, uint32_t *at, uint32_t count)
{
	char **v = calloc((size_t)count + 1, sizeof(char *));

	if (!v)
		return NULL;
	for (uint32_t i = 0; i < count; i++) {
		const uint8_t *end = memchr(p + *at, '\0', len - *at);
		if (!end) {
			free(v);
			return NULL;
		}
		v[i] = (char *)(p + *at);
		*at = (uint32_t)(end - p) + 1;
	}
	return v;
}

static const char *one_string(const uint8_t *p, uint32_t len, uint32_t *at)
{
	const uint8_t *end = *at < len ? memchr(p + *at, '\0', len - *at) : NULL;
	const char *s = (const char *)(p + *at);

	if (!end)
		return NULL;
	*at = (uint32_t)(end - p) + 1;
	return s;
}

int jr_kp_spawn_parse(const uint8_t *p, uint32_t len, struct kp_spawn_view *v)
{
	uint32_t at = sizeof(v->head);
	uint64_t masks;

	memset(v, 0, sizeof(*v));
	if (len < sizeof(v->head))
		return -EINVAL;
	memcpy(&v->head, p, sizeof(v->head));
	masks = ((uint64_t)v->head.cpu_words + v->head.node_words) * 8;
	if (v->head.cpu_words > JR_EXEC_CPU_WORDS || v->head.node_words > JR_EXEC_NODE_WORDS ||
	    v->head.argc == 0 ||
	    v->head.argc > len || v->head.envc > len ||
	    at + masks + ((v->head.alloc_len + 7u) & ~7u) > len)
		return -EINVAL;
	v->cpus = v->head.cpu_words != 0;
	memcpy(v->cpu_mask, p + at, v->head.cpu_words * 8);
	at += v->head.cpu_words * 8;
	v->nodes = v->head.node_words != 0;
	memcpy(v->node_mask, p + at, v->head.node_words * 8);
	at += v->head.node_words * 8;
	v->alloc = p + at;
	at += (v->head.alloc_len + 7u) & ~7u;
	v->argv = strings(p, len, &at, v->head.argc);
	v->envp = v->argv ? strings(p, len, &at, v->head.envc) : NULL;
	if (!v->envp || !(v->cwd = one_string(p, len, &at)) ||
	    !(v->out = one_string(p, len, &at)) || !(v->err = one_string(p, len, &at)) ||
	    !(v->label = one_string(p, len, &at)) || at != len) {
		jr_kp_spawn_view_free(v);
		return -EINVAL;
	}
	return 0;
}

void jr_kp_spawn_view_free(struct kp_spawn_view *v)
{
	free(v->argv);
	free(v->envp);
	v->argv = v->envp = NULL;
}

void jr_keeper_socket_path(const char *state_dir, char *out, size_t size)
{
	snprintf(out, size, "%s/keeper.sock", state_dir);
}
