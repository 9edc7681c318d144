/*
 * shquote.h - a string written for sh: single-quoted, each ' as '\''.
 * For the command lines jobring hands to srun and sbatch (the CLI's
 * run-in-allocation, the daemon's allocation poller).
 */
#ifndef JR_SHQUOTE_H
#define JR_SHQUOTE_H

#include <stdbool.h>
#include <stddef.h>

/* Append s to the NUL-terminated buf (size bytes in all), quoted for sh.
 * false if it did not fit: buf is then left as it was. */
bool jr_sh_quote_append(char *buf, size_t size, const char *s);

#endif
