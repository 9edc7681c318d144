/*
 * bench/json - why the daemon parses JSON with cJSON: 1,000,000 NDJSON
 * job lines, each parsed and two fields read, with cJSON (what jobringd
 * uses for what its fast path leaves) against jansson (the other JSON
 * library Debian packages), and jobringd's fast path for plain JSON
 * (daemon/state/jsonfast.c: the same cJSON tree in one pass, issue 17),
 * in the same run. Median of JR_BENCH_RUNS (default 3). docs/DECISIONS.md.
 */
#include "benchutil.h"
#include "daemon/state/jsonfast.h"

#include <cjson/cJSON.h>
#include <jansson.h>

static char *lines(int n, size_t *len)
{
	char *buf = malloc((size_t)n * 100), *p = buf;

	for (int i = 0; i < n; i++)
		p += sprintf(p, "{\"command\":[\"/bin/true\",\"%d\"],\"priority\":%d,\"name\":\"job-%d\"}\n",
			     i, i % 8, i);
	*len = (size_t)(p - buf);
	return buf;
}

static double with_cjson(const char *buf, size_t len, int n, long *check)
{
	const char *p = buf, *end = buf + len;
	double t0 = jrt_now_s();

	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		cJSON *j = cJSON_ParseWithLength(p, (size_t)(nl - p));
		*check += cJSON_GetObjectItemCaseSensitive(j, "priority")->valueint;
		*check += (long)strlen(cJSON_GetArrayItem(
			cJSON_GetObjectItemCaseSensitive(j, "command"), 0)->valuestring);
		cJSON_Delete(j);
		p = nl + 1;
	}
	return n / (jrt_now_s() - t0);
}

static double with_fast(const char *buf, size_t len, int n, long *check)
{
	const char *p = buf, *end = buf + len;
	double t0 = jrt_now_s();

	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p)), *after;
		cJSON *j = json_fast_parse(p, (size_t)(nl - p), &after);
		if (!j)
			j = cJSON_ParseWithLength(p, (size_t)(nl - p));
		*check += cJSON_GetObjectItemCaseSensitive(j, "priority")->valueint;
		*check += (long)strlen(cJSON_GetArrayItem(
			cJSON_GetObjectItemCaseSensitive(j, "command"), 0)->valuestring);
		cJSON_Delete(j);
		p = nl + 1;
	}
	return n / (jrt_now_s() - t0);
}

static double with_jansson(const char *buf, size_t len, int n, long *check)
{
	const char *p = buf, *end = buf + len;
	double t0 = jrt_now_s();

	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		json_error_t e;
		json_t *j = json_loadb(p, (size_t)(nl - p), 0, &e);
		*check += (long)json_integer_value(json_object_get(j, "priority"));
		*check += (long)strlen(json_string_value(json_array_get(json_object_get(j, "command"), 0)));
		json_decref(j);
		p = nl + 1;
	}
	return n / (jrt_now_s() - t0);
}

int main(void)
{
	int n = (int)jrt_env_u64("JR_BENCH_JOBS", 1000000);
	int runs = (int)jrt_env_u64("JR_BENCH_RUNS", 3);
	double c[16], j[16], f[16];
	long check_c = 0, check_j = 0, check_f = 0;
	size_t len;
	char *buf = lines(n, &len);

	runs = runs < 1 ? 1 : runs > 16 ? 16 : runs;
	for (int r = 0; r < runs; r++) {
		c[r] = with_cjson(buf, len, n, &check_c);
		j[r] = with_jansson(buf, len, n, &check_j);
		f[r] = with_fast(buf, len, n, &check_f);
	}
	if (check_c != check_j || check_c != check_f) {
		fprintf(stderr, "bench/json: the parsers disagree\n");
		return 1;
	}
	printf("bench/json: %d NDJSON job lines parsed, two fields read, median of %d runs\n", n, runs);
	double mc = bench_median(c, runs), mj = bench_median(j, runs), mf = bench_median(f, runs);
	printf("  cJSON              %6.2f M lines/s   jansson %6.2f M lines/s   ratio %.2f\n",
	       mc / 1e6, mj / 1e6, mc / mj);
	printf("  jobringd's fast path (jsonfast.c, cJSON's tree) %6.2f M lines/s: %.2fx cJSON\n",
	       mf / 1e6, mf / mc);
	free(buf);
	return 0;
}
