/*
 * resources.c - jobring resources: GET /resources as tables (NUMA nodes
 * and the host, counted resources and storage, workers, the head job's
 * reservation), or as it is with --json.
 */
#include <stdio.h>
#include <string.h>

#include "base/units.h"
#include "cli/commands.h"

static const cJSON *get(const cJSON *o, const char *key)
{
	return cJSON_GetObjectItemCaseSensitive(o, key);
}

/* "used/total" of an object {"total", "used"}; sizes in units. */
static void used_total(const cJSON *o, bool size, char *out, size_t n)
{
	double used = cli_num(o, "used"), total = cli_num(o, "total");
	char u[16], t[16];

	if (!size) {
		snprintf(out, n, "%.0f/%.0f", used, total);
		return;
	}
	jr_format_size((uint64_t)used, u, sizeof(u));
	jr_format_size((uint64_t)total, t, sizeof(t));
	snprintf(out, n, "%s/%s", u, t);
}

static void node_row(const char *name, const cJSON *n)
{
	char cores[24], mem[40], gpus[24];

	used_total(get(n, "cores"), false, cores, sizeof(cores));
	used_total(get(n, "memory_bytes"), true, mem, sizeof(mem));
	used_total(get(n, "gpus"), false, gpus, sizeof(gpus));
	printf("%-6s %-11s %5.0f %-15s %s\n", name, cores, cli_num(get(n, "pus"), "total"), mem,
	       gpus);
}

static void print_nodes(const cJSON *o)
{
	const cJSON *n;
	char name[16];

	printf("%-6s %-11s %5s %-15s %s\n", "NODE", "CORES", "PUS", "MEMORY", "GPUS");
	cJSON_ArrayForEach(n, get(o, "numa")) {
		snprintf(name, sizeof(name), "%.0f", cli_num(n, "node"));
		node_row(name, n);
	}
	node_row("host", get(o, "host"));
}

static void print_counters(const cJSON *o)
{
	const cJSON *x;
	char v[48], u[16], t[16];

	if (cJSON_GetArraySize(get(o, "counters")) == 0)
		return;
	printf("\n%-24s %-20s %s\n", "COUNTER", "USED/TOTAL", "STORAGE");
	cJSON_ArrayForEach(x, get(o, "counters")) {
		const char *fs = cli_str(x, "storage");
		if (*fs) {
			jr_format_size((uint64_t)cli_num(x, "used"), u, sizeof(u));
			jr_format_size((uint64_t)cli_num(x, "total"), t, sizeof(t));
			snprintf(v, sizeof(v), "%s/%s", u, t);
		} else {
			snprintf(v, sizeof(v), "%.0f/%.0f", cli_num(x, "used"), cli_num(x, "total"));
		}
		printf("%-24s %-20s %s\n", cli_str(x, "name"), v, fs);
	}
}

static void print_workers(const cJSON *o)
{
	const cJSON *w;

	printf("\n%-8s %-9s %-10s %8s %s\n", "WORKER", "TYPE", "STATUS", "RUNNING", "CAPABILITIES");
	cJSON_ArrayForEach(w, get(o, "workers")) {
		bool local = strcmp(cli_str(w, "type"), "local") == 0;
		printf("%-8s %-9s %-10s %8.0f %s\n", cli_str(w, "id"), cli_str(w, "type"),
		       local ? "-" : cli_str(w, "status"),
		       cli_num(w, local ? "commands_running" : "running"), cli_str(w, "capabilities"));
	}
}

static void print_head(const cJSON *o)
{
	const cJSON *h = get(o, "head"), *r, *c;
	char mem[16];

	if (!h || !cJSON_IsObject(h)) {
		printf("\nhead: no job waits for resources\n");
		return;
	}
	r = get(h, "reserved");
	jr_format_size((uint64_t)cli_num(r, "memory_bytes"), mem, sizeof(mem));
	printf("\nhead: job %s waits; held back for it: cpus=%.0f memory=%s gpus=%.0f",
	       cli_str(h, "job_id"), cli_num(r, "cpus"), mem, cli_num(r, "gpus"));
	cJSON_ArrayForEach(c, get(r, "counters"))
		printf(" %s=%.0f", c->string, c->valuedouble);
	printf("; expected start: %s\n", *cli_str(h, "expected_start") ?
		       cli_str(h, "expected_start") : "unknown (running jobs have no time limit)");
}

static void print_resources(const cJSON *o)
{
	print_nodes(o);
	print_counters(o);
	print_workers(o);
	print_head(o);
}

int cli_resources(struct cli *c, int argc, char **argv)
{
	cJSON *o;
	int rc;

	if (argc > 1) {
		bool help = strcmp(argv[1], "--help") == 0;
		fputs("usage: jobring [--json] resources\n"
		      "  cores, memory and GPUs by NUMA node, counted resources, storage,\n"
		      "  workers and the head job's reservation: total and in use\n",
		      help ? stdout : stderr);
		return help ? CLI_OK : CLI_USAGE;
	}
	o = cli_call(c, "GET", "/resources", NULL, 0, &rc);
	if (o && c->json)
		cli_print_json(o);
	else if (o)
		print_resources(o);
	cJSON_Delete(o);
	return rc;
}
