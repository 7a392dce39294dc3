/* C-style escapes in text the user types for stop strings, the prompt
 * postfix and the in-prefix: one set of rules for the command line (-r,
 * --in-prefix, --in-suffix) and the slash commands (/postfix, /stop add,
 * /stop rm), so " AI:" or "\nHuman:" can be written in both places, and
 * the inverse for showing such strings back (/show, /stop list).
 *
 * Decoding: \n \t \r \\ \" \' and \xHH (two hex digits, not 00) stand for
 * their bytes; a text that starts with a double quote must end with one,
 * and the quotes are removed (inside them \" is the only way to write a
 * quote). Anything else after a backslash is an error, so a typo never
 * silently becomes literal text. */
#ifndef LT_ESCAPE_H
#define LT_ESCAPE_H

#include <stddef.h>

#include "errors.h"

/* Decodes s in place (the result is never longer). Returns 0, or
 * LT_E_INVAL with a one-line message saying what is wrong and where. */
int escape_decode(char *s, char *err, size_t errlen);

/* s written so that escape_decode gives it back, in double quotes:
 * "\nHuman:" for a newline and "Human:". malloc'd; NULL when out of memory. */
char *escape_quote(const char *s);

#endif
