/*
 * shquote.c - a string written for sh. See shquote.h.
 */
#include <string.h>

#include "base/shquote.h"

bool jr_sh_quote_append(char *buf, size_t size, const char *s)
{
	size_t start = strlen(buf), n = start;

	if (n + 1 >= size)
		return false;
	buf[n++] = '\'';
	for (; *s; s++) {
		if (n + 5 >= size) {	/* room for '\'' or one byte, the closing ' and the NUL */
			buf[start] = '\0';
			return false;
		}
		if (*s == '\'') {
			memcpy(buf + n, "'\\''", 4);
			n += 4;
		} else {
			buf[n++] = *s;
		}
	}
	buf[n++] = '\'';
	buf[n] = '\0';
	return true;
}
