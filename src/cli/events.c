/*
 * events.c - jobring events: GET /events printed one line per event
 * (time, kind, then its fields), or with --json each event's data as
 * the daemon sent it. Without --follow it prints the events the daemon
 * still holds (its window) and stops once none came for half a second;
 * with --follow it goes on until interrupted. The stream is read raw on
 * the client's connection (client/stream.h: the library's requests read
 * whole answers), so it comes over the Unix socket or TLS (--server)
 * alike.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/commands.h"
#include "client/stream.h"

#define IDLE_MS 500

static void usage(FILE *f)
{
	fputs("usage: jobring events [--kind K[,K...]] [--job ID] [--queue Q] [--user U] [--follow]\n"
	      "  kinds: job, execution, worker, queue, schedule. --json: the raw data lines.\n"
	      "  Without --follow: the events the daemon still holds, then it stops.\n", f);
}

/* The request sent on the client's connection: false after saying why. */
static bool open_stream(struct cli *c, const char *query)
{
	char req[2048];
	int n, rc;

	if (!cli_connect(c))
		return false;
	n = snprintf(req, sizeof(req), "GET /events%s HTTP/1.1\r\nHost: jobring\r\n\r\n", query);
	if ((rc = client_stream_send(c->client, req, (size_t)n)) < 0) {
		fprintf(stderr, "jobring events: cannot reach %s: %s\n", c->socket, strerror(-rc));
		return false;
	}
	return true;
}

/* One event's data: "10:16:36.742 job 0000000100000001 status=queued ...". */
static void print_event(const char *kind, const char *data, bool json)
{
	cJSON *o, *f;
	const char *time;

	if (json) {
		printf("%s\n", data);
		return;
	}
	/* The stream's data, not to be trusted: an object, its text scrubbed. */
	if (!cJSON_IsObject(o = cJSON_Parse(data))) {
		cJSON_Delete(o);
		return;
	}
	cli_scrub(o);
	time = cli_str(o, "time");
	printf("%s %s", strlen(time) > 11 ? time + 11 : time, kind);
	cJSON_ArrayForEach(f, o) {
		if (!strcmp(f->string, "seq") || !strcmp(f->string, "kind") || !strcmp(f->string, "time"))
			continue;
		if (cJSON_IsString(f))
			printf(" %s=%s", f->string, f->valuestring);
		else if (cJSON_IsNumber(f))
			printf(" %s=%.0f", f->string, f->valuedouble);
		else
			printf(" %s=%s", f->string, cJSON_IsTrue(f) ? "true" : "false");
	}
	printf("\n");
	cJSON_Delete(o);
}

/* A kind is a word: none of these, nor what follows one. */
#define CONTROL_CHARS "\x01\x02\x03\x04\x05\x06\x07\x08\t\v\f\r\x0e\x0f\x10\x11\x12" \
	"\x13\x14\x15\x16\x17\x18\x19\x1a\x1b\x1c\x1d\x1e\x1f\x7f"

/* The lines of one SSE block (up to a blank line). */
static void handle_block(char *block, bool json)
{
	char kind[32] = "message", *line, *save = NULL, *data = NULL;

	for (line = strtok_r(block, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		if (!strncmp(line, "event: ", 7))
			snprintf(kind, sizeof(kind), "%.*s", (int)strcspn(line + 7, CONTROL_CHARS),
				 line + 7);
		else if (!strncmp(line, "data: ", 6))
			data = line + 6;
	}
	if (data)
		print_event(kind, data, json);
}

/* Read the stream, printing each event, until the end (or idle without
 * follow). */
static int read_stream(struct jr_client *client, bool follow, bool json)
{
	size_t cap = 65536, len = 0;
	char *buf = malloc(cap), *p, *end;
	bool head_done = false;
	ssize_t n;

	if (!buf)
		return CLI_NO_MEMORY;
	for (;;) {
		if (len + 4096 > cap && cli_grow(&buf, &cap, len + 4096) < 0)
			return CLI_NO_MEMORY;
		n = client_stream_recv(client, buf + len, cap - len - 1, follow ? -1 : IDLE_MS);
		if (n <= 0)
			break;
		len += (size_t)n;
		buf[len] = '\0';
		p = buf;
		if (!head_done) {
			if (!(end = strstr(p, "\r\n\r\n")))
				continue;
			if (strncmp(p, "HTTP/1.1 200", 12) != 0) {
				fprintf(stderr, "jobring events: %s\n", strstr(p, "\r\n\r\n") + 4);
				free(buf);
				return CLI_REFUSED;
			}
			head_done = true;
			p = end + 4;
		}
		while ((end = strstr(p, "\n\n"))) {
			*end = '\0';
			handle_block(p, json);
			p = end + 2;
		}
		fflush(stdout);
		len -= (size_t)(p - buf);
		memmove(buf, p, len);
	}
	free(buf);
	return CLI_OK;
}

int cli_events(struct cli *c, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "kind", 1, NULL, 'k' }, { "job", 1, NULL, 'J' }, { "queue", 1, NULL, 'q' },
		{ "user", 1, NULL, 'u' }, { "follow", 0, NULL, 'f' }, { "help", 0, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	char query[1024] = "", id[17];
	bool follow = false;
	int opt, rc;

	optind = 0;
	while ((opt = getopt_long(argc, argv, "+fh", opts, NULL)) != -1) {
		switch (opt) {
		case 'k': cli_query_add(query, sizeof(query), "kind", optarg); break;
		case 'q': cli_query_add(query, sizeof(query), "queue", optarg); break;
		case 'u': cli_query_add(query, sizeof(query), "user", optarg); break;
		case 'f': follow = true; break;
		case 'J':
			if (!cli_connect(c) || (rc = cli_resolve(c, optarg, id)) != CLI_OK)
				return c->client ? CLI_REFUSED : CLI_UNREACHABLE;
			cli_query_add(query, sizeof(query), "job", id);
			break;
		case 'h': usage(stdout); return CLI_OK;
		default: usage(stderr); return CLI_USAGE;
		}
	}
	if (optind != argc) {
		usage(stderr);
		return CLI_USAGE;
	}
	if (!follow)
		cli_query_add(query, sizeof(query), "from", "oldest");
	if (!open_stream(c, query))
		return CLI_UNREACHABLE;
	return read_stream(c->client, follow, c->json);
}
