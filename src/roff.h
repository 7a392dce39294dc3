/* roff escaping for the man page sections the program prints from its own
 * tables (options, slash commands, keys). It lives in the chat core, not
 * in src/cmd/cli, because options.c, slash.c and ui/keys.c all print man
 * markup and none of them may depend on the command-line layer. */
#ifndef LT_ROFF_H
#define LT_ROFF_H

#include <stdio.h>

/* Writes s as roff text: backslashes and hyphens escaped, a leading '.' or
 * quote protected. */
void roff_text(FILE *out, const char *s);

#endif
