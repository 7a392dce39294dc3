/* C-style escapes for typed strings. See escape.h. */
#include "escape.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int escape_decode(char *s, char *err, size_t errlen)
{
	bool quoted = s[0] == '"', closed = false;
	const char *r = s + quoted;
	char *w = s;
	for (; *r; r++) {
		if (quoted && *r == '"') {
			if (r[1])
				return lt_seterr(err, errlen, LT_E_INVAL,
						 "text after the closing quote (write \\\" for a quote)");
			closed = true;
			break;
		}
		if (*r != '\\') {
			*w++ = *r;
			continue;
		}
		size_t at = (size_t)(r - s) + 1;
		char c = *++r;
		switch (c) {
		case 'n': *w++ = '\n'; break;
		case 't': *w++ = '\t'; break;
		case 'r': *w++ = '\r'; break;
		case '\\': *w++ = '\\'; break;
		case '"': *w++ = '"'; break;
		case '\'': *w++ = '\''; break;
		case 'x': {
			int hi = hexval(r[1]);
			int lo = hi < 0 ? -1 : hexval(r[2]);
			if (hi < 0 || lo < 0 || (hi == 0 && lo == 0))
				return lt_seterr(err, errlen, LT_E_INVAL,
						 "bad escape at byte %zu: \\x needs two hex digits, not 00", at);
			*w++ = (char)(hi * 16 + lo);
			r += 2;
			break;
		}
		case '\0':
			return lt_seterr(err, errlen, LT_E_INVAL,
					 "'\\' at the end of the text (write \\\\ for a backslash)");
		default:
			return lt_seterr(err, errlen, LT_E_INVAL,
					 "bad escape '\\%c' at byte %zu (use \\n, \\t, \\r, \\\\, \\\", \\' or \\xHH)",
					 c, at);
		}
	}
	if (quoted && !closed)
		return lt_seterr(err, errlen, LT_E_INVAL, "a quoted text must end with a double quote");
	*w = '\0';
	return 0;
}

char *escape_quote(const char *s)
{
	/* At most four bytes per input byte, two quotes and the NUL. */
	size_t n = strlen(s);
	char *out = malloc(4 * n + 3);
	if (!out)
		return NULL;
	char *w = out;
	*w++ = '"';
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		switch (*p) {
		case '\n': *w++ = '\\'; *w++ = 'n'; break;
		case '\t': *w++ = '\\'; *w++ = 't'; break;
		case '\r': *w++ = '\\'; *w++ = 'r'; break;
		case '\\': *w++ = '\\'; *w++ = '\\'; break;
		case '"': *w++ = '\\'; *w++ = '"'; break;
		default:
			if (*p < 0x20 || *p == 0x7f)
				w += snprintf(w, 5, "\\x%02x", *p);
			else
				*w++ = (char)*p;
		}
	}
	*w++ = '"';
	*w = '\0';
	return out;
}
