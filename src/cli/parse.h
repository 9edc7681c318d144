/*
 * parse.h - the CLI's conversions of sbatch's words into the API's
 * fields, without I/O (tests/test_cli_units.c tests them one by one):
 * --mem in MB unless a suffix says otherwise, --time in minutes or
 * sbatch's [D-]HH:MM:SS forms, --begin's times, --dependency's
 * "afterok:ID:ID,afterany:ID,singleton", and the id's short form.
 *
 * Each returns true with the value, or false with why in err (a phrase
 * that follows the option and its value: "must be ...").
 */
#ifndef JR_CLI_PARSE_H
#define JR_CLI_PARSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#define CLI_ERR_MAX 256

/* --mem: "4000" is MB (sbatch); "512K", "4G", "1T", "4GiB", "4096B"
 * as the suffix says (binary multiples). Into bytes. */
bool cli_parse_mem(const char *s, uint64_t *bytes, char *err);

/* --time: "90" minutes, "MM:SS", "HH:MM:SS", "D-HH", "D-HH:MM",
 * "D-HH:MM:SS" (sbatch), or jobring's durations with a unit ("90s",
 * "30m", "2h", "1d", "250ms"). "0", "infinite", "unlimited": no limit
 * (0). Into milliseconds. */
bool cli_parse_time(const char *s, uint64_t *ms, char *err);

/* --begin: an RFC 3339 time, "YYYY-MM-DD[THH:MM[:SS]]" or "HH:MM[:SS]"
 * (local time; a time of day already past is tomorrow's, as sbatch
 * takes it), "now", "now+N[seconds|minutes|hours|days]" (N alone:
 * seconds), "today", "tomorrow"; now_s is the present, seconds since
 * the epoch. Into seconds since the epoch. */
bool cli_parse_begin(const char *s, int64_t now_s, int64_t *at_s, char *err);

/* --dependency: "TYPE:ID[:ID...][,TYPE:ID...]" with TYPE after, afterany,
 * afterok, afternotok or aftercorr, and "singleton". Each ID goes through
 * resolve (a short id or a name into 16 hex digits; false after saying
 * why in err), then into tmpl's "after" as {"job_id","type"};
 * "singleton" sets "singleton": true. */
typedef bool (*cli_id_resolver)(void *ctx, const char *id, char out[17], char *err);
bool cli_parse_dependency(const char *s, cJSON *tmpl, cli_id_resolver resolve, void *ctx,
			  char *err);

/* --array: "0-999:2%50", "1,3,5-7%4": digits, ',', '-', ':' and one
 * '%' followed by digits. Checked here for the message; the daemon
 * decides the rest. */
bool cli_check_array(const char *s, char *err);

/* The short form of an id: its 16 hex digits without the leading zeros
 * ("0000000100000002" → "100000002"); "0" for 0. out: 17 bytes. */
void cli_short_id(const char *id, char out[17]);

/* Is s hex digits only, 1 to 16 of them? */
bool cli_is_hex_id(const char *s);

#endif
