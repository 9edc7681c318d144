/*
 * route.h - the routing table: every endpoint of the API is one row
 * (method, path pattern, handler, what the journal must do), in route.c.
 * Adding an endpoint is a row and its handler. A pattern's "{name}"
 * stands for one non-empty path segment, handed to the handler as its
 * param. A path is matched against the patterns in table order; the
 * first that matches decides the endpoint (so "/jobs/batch" comes before
 * "/jobs/{id}"), and the method picks its row among the rows with that
 * pattern: none is a 405 whose Allow lists theirs.
 */
#ifndef JR_ROUTE_H
#define JR_ROUTE_H

#include <stddef.h>
#include <stdint.h>

#include "daemon/api/api.h"

typedef void api_handler(struct api *a, struct api_call *call);

enum route_flag {
	/* The request appends a journal record: it is refused with 507
	 * before its handler runs if the journal cannot take it. */
	ROUTE_ADMIT = 1u << 0,
	/* Its answer promises what the record says: it is held until the
	 * record is durable (call->record_seq). */
	ROUTE_HOLD = 1u << 1,
};

/* What a request's record would take: its bytes in the journal, and the
 * jobs it submits (counted as rejected if it is refused). */
struct route_record {
	uint64_t bytes;
	uint64_t jobs;
};

struct route {
	const char *method;
	const char *pattern;
	api_handler *handler;
	uint32_t flags;			/* enum route_flag */
	void (*record)(const struct request *req, struct route_record *out);	/* ROUTE_ADMIT */
};

extern const struct route api_routes[];
extern const size_t api_routes_count;

enum route_result { ROUTE_FOUND, ROUTE_NO_PATH, ROUTE_NO_METHOD };

#define ROUTE_PARAM_MAX 64u

struct route_match {
	const struct route *route;	/* ROUTE_FOUND */
	char param[ROUTE_PARAM_MAX];	/* the {...} segment: "" if none */
	char allow[32];			/* ROUTE_NO_METHOD: "GET, POST" */
};

/* Which row serves method on path. A segment for {...} longer than
 * ROUTE_PARAM_MAX - 1 bytes matches nothing. */
enum route_result route_find(const char *method, const char *path, struct route_match *m);

#endif
