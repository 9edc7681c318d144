/*
 * alloc.c - `jobring alloc add|ls|show|rm` (issue 17): allocation queues,
 * through POST, GET and DELETE /allocations (docs/PROTOCOL.md,
 * "Allocations from Slurm"; docs/CLUSTER.md).
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/commands.h"

static const char alloc_usage[] =
	"usage: jobring alloc add slurm --time T [options] [-- SBATCH ARGS...]\n"
	"         --partition P       sbatch --partition (Slurm's default)\n"
	"         --nodes N           nodes per allocation, a worker on each (1)\n"
	"         --time T            sbatch --time: \"30\", \"1:00:00\", \"2-00:00:00\"\n"
	"         --max-pending K     allocations pending at once, at most (1)\n"
	"         --idle-timeout S    the workers leave when idle S seconds (300)\n"
	"         --server ADDR       what the workers connect to (the daemon's socket)\n"
	"         --access FILE       the workers' access file (TLS)\n"
	"         --worker-cpus N     what each node's worker declares (default: what\n"
	"         --worker-memory M   sinfo says of the partition's largest node);\n"
	"         --worker-gpus G     jobs bigger than that never ask for allocations\n"
	"         --worker-capabilities A,B  labels the workers declare\n"
	"         --worker-command C  testing aid: a shell command instead of jobring-worker\n"
	"       jobring alloc ls              every queue, its allocations and last error\n"
	"       jobring alloc show ID\n"
	"       jobring alloc rm ID           no more asked; pending ones cancelled\n"
	"Only the daemon's owner (or root) adds or removes a queue. See docs/CLUSTER.md.\n";

static int usage_error(void)
{
	fputs(alloc_usage, stderr);
	return CLI_USAGE;
}

static bool number_option(cJSON *body, const char *key, const char *opt, const char *arg)
{
	char *end;
	long long v = strtoll(arg, &end, 10);

	if (end == arg || *end || v < 0)
		return cli_bad_value("alloc", opt, arg, "must be a whole number");
	cJSON_AddNumberToObject(body, key, (double)v);
	return true;
}

/* add's options into body; false after saying why. */
static bool add_options(int argc, char **argv, cJSON *body)
{
	static const struct option opts[] = {
		{ "partition", 1, NULL, 'p' }, { "nodes", 1, NULL, 'N' }, { "time", 1, NULL, 't' },
		{ "max-pending", 1, NULL, 'k' }, { "idle-timeout", 1, NULL, 'i' },
		{ "server", 1, NULL, 's' }, { "access", 1, NULL, 'a' },
		{ "worker-command", 1, NULL, 'w' }, { "worker-cpus", 1, NULL, 'c' },
		{ "worker-memory", 1, NULL, 'm' }, { "worker-gpus", 1, NULL, 'g' },
		{ "worker-capabilities", 1, NULL, 'l' }, { "help", 0, NULL, 'h' }, { NULL, 0, NULL, 0 },
	};
	int opt;
	bool ok = true;

	optind = 1;
	while (ok && (opt = getopt_long(argc, argv, "+h", opts, NULL)) != -1) {
		switch (opt) {
		case 'p': cJSON_AddStringToObject(body, "partition", optarg); break;
		case 't': cJSON_AddStringToObject(body, "time", optarg); break;
		case 's': cJSON_AddStringToObject(body, "server", optarg); break;
		case 'a': cJSON_AddStringToObject(body, "access", optarg); break;
		case 'w': cJSON_AddStringToObject(body, "worker_command", optarg); break;
		case 'm': cJSON_AddStringToObject(body, "worker_memory", optarg); break;
		case 'l': cJSON_AddStringToObject(body, "worker_capabilities", optarg); break;
		case 'c': ok = number_option(body, "worker_cpus", "--worker-cpus", optarg); break;
		case 'g': ok = number_option(body, "worker_gpus", "--worker-gpus", optarg); break;
		case 'N': ok = number_option(body, "nodes", "--nodes", optarg); break;
		case 'k': ok = number_option(body, "max_pending", "--max-pending", optarg); break;
		case 'i': ok = number_option(body, "idle_timeout", "--idle-timeout", optarg); break;
		default: return false;
		}
	}
	if (ok && optind < argc) {	/* -- SBATCH ARGS... */
		cJSON *args = cJSON_AddArrayToObject(body, "sbatch_args");
		for (int i = optind; i < argc; i++)
			cJSON_AddItemToArray(args, cJSON_CreateString(argv[i]));
	}
	return ok;
}

static int alloc_add(struct cli *c, int argc, char **argv)
{
	cJSON *body = cJSON_CreateObject(), *o;
	char *text = NULL;
	int rc = CLI_USAGE;

	if (argc < 2 || strcmp(argv[1], "slurm") != 0) {
		cJSON_Delete(body);
		return usage_error();
	}
	cJSON_AddStringToObject(body, "kind", "slurm");
	if (add_options(argc - 1, argv + 1, body) && (text = cJSON_PrintUnformatted(body))) {
		o = cli_call(c, "POST", "/allocations", text, strlen(text), &rc);
		if (o && c->json)
			cli_print_json(o);
		else if (o)
			printf("allocation queue %.0f added\n", cli_num(o, "id"));
		cJSON_Delete(o);
	} else if (!text) {
		fputs(alloc_usage, stderr);
	}
	free(text);
	cJSON_Delete(body);
	return rc;
}

/* Its allocations by state: "P pending, R running". */
static void count_states(const cJSON *q, int *pending, int *running)
{
	const cJSON *j;

	*pending = *running = 0;
	cJSON_ArrayForEach(j, cJSON_GetObjectItem(q, "allocations")) {
		if (strcmp(cli_str(j, "state"), "running") == 0)
			(*running)++;
		else
			(*pending)++;
	}
}

static void print_queue_line(const cJSON *q)
{
	int pending, running;
	const char *part = cli_str(q, "partition");

	count_states(q, &pending, &running);
	printf("%-4.0f %-12s %5.0f %-12s %7d %7d %9.0f %6.0f  ", cli_num(q, "id"),
	       *part ? part : "(default)", cli_num(q, "nodes"), cli_str(q, "time"), pending,
	       running, cli_num(q, "submitted"), cli_num(q, "ended"));
	if (cli_num(q, "jobs_too_big") > 0)
		printf("%.0f too big for its nodes; ", cli_num(q, "jobs_too_big"));
	if (strcmp(cli_str(q, "status"), "backoff") == 0)
		printf("backoff, retry in %.0fs: %s\n", cli_num(q, "retry_in") + 0.5,
		       cli_str(q, "last_error"));
	else if (*cli_str(q, "last_error"))
		printf("ok (last error: %s)\n", cli_str(q, "last_error"));
	else
		printf("ok\n");
}

static int alloc_get(struct cli *c, const char *id)
{
	char path[64];
	int rc;
	cJSON *o, *q;

	if (id)
		snprintf(path, sizeof(path), "/allocations/%.40s", id);
	o = cli_call(c, "GET", id ? path : "/allocations", NULL, 0, &rc);
	if (o && (c->json || id)) {
		cli_print_json(o);
	} else if (o) {
		printf("%-4s %-12s %5s %-12s %7s %7s %9s %6s  %s\n", "ID", "PARTITION", "NODES",
		       "TIME", "PENDING", "RUNNING", "SUBMITTED", "ENDED", "STATUS");
		cJSON_ArrayForEach(q, cJSON_GetObjectItem(o, "allocations"))
			print_queue_line(q);
	}
	cJSON_Delete(o);
	return rc;
}

static int alloc_rm(struct cli *c, const char *id)
{
	char path[64];
	int rc;
	cJSON *o;

	snprintf(path, sizeof(path), "/allocations/%.40s", id);
	o = cli_call(c, "DELETE", path, NULL, 0, &rc);
	if (o && c->json)
		cli_print_json(o);
	else if (o)
		printf("allocation queue %s removed\n", id);
	cJSON_Delete(o);
	return rc;
}

int cli_alloc(struct cli *c, int argc, char **argv)
{
	const char *verb = argc > 1 ? argv[1] : "";

	if (strcmp(verb, "add") == 0)
		return alloc_add(c, argc - 1, argv + 1);
	if (strcmp(verb, "ls") == 0 && argc == 2)
		return alloc_get(c, NULL);
	if (strcmp(verb, "show") == 0 && argc == 3)
		return alloc_get(c, argv[2]);
	if (strcmp(verb, "rm") == 0 && argc == 3)
		return alloc_rm(c, argv[2]);
	if (strcmp(verb, "--help") == 0 || strcmp(verb, "-h") == 0) {
		fputs(alloc_usage, stdout);
		return CLI_OK;
	}
	return usage_error();
}
