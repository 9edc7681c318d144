/*
 * units.c - fuzzes the unit parsers of src/base/units.c: the input, cut
 * at its first NUL, is parsed as a duration, a size and an RFC 3339
 * time. Beyond the sanitizers, two properties: a time that parses comes
 * back, to the millisecond, from its own formatting, in the year it
 * was written in (give or take a zone offset: a parse that wrapped past
 * 2^64 ns lands centuries away), and a size that parses formats into a
 * string that parses again.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/common.h"
#include "base/units.h"
#include "fuzz.h"

#define UNITS_INPUT_MAX 256u

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	return 0;
}

static void check_time(const char *s)
{
	uint64_t ns, back;
	char text[64];

	if (jr_parse_rfc3339_ns(s, &ns) < 0)
		return;
	jr_format_rfc3339(ns, text, sizeof(text));
	if (jr_parse_rfc3339_ns(text, &back) < 0 || back != ns - ns % JR_NS_PER_MS ||
	    abs(atoi(text) - atoi(s)) > 1) {
		fprintf(stderr, "units: \"%s\" parsed as %llu ns, formatted \"%s\"\n", s,
			(unsigned long long)ns, text);
		abort();
	}
}

static void check_size(const char *s)
{
	uint64_t bytes, back;
	char text[64];

	if (jr_parse_size_bytes(s, &bytes) < 0)
		return;
	jr_format_size(bytes, text, sizeof(text));
	if (jr_parse_size_bytes(text, &back) < 0) {
		fprintf(stderr, "units: size \"%s\" formatted as \"%s\", which does not parse\n",
			s, text);
		abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char s[UNITS_INPUT_MAX + 1];
	uint64_t v;

	if (size > UNITS_INPUT_MAX)
		size = UNITS_INPUT_MAX;
	memcpy(s, data, size);
	s[size] = '\0';
	(void)jr_parse_duration_ms(s, &v);
	check_size(s);
	check_time(s);
	return 0;
}
