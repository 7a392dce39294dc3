/* roff escaping. See roff.h. */
#include "roff.h"

void roff_text(FILE *out, const char *s)
{
	/* A line starting with '.' or '\'' would be read as a request. */
	if (*s == '.' || *s == '\'')
		fputs("\\&", out);
	for (; *s; s++) {
		if (*s == '\\')
			fputs("\\e", out);
		else if (*s == '-')
			fputs("\\-", out);
		else
			fputc(*s, out);
	}
}
