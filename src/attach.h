/* /read FILE: a text file's contents made into a block that goes before
 * the user's next message, under the file's name, as chat front ends
 * attach files. */
#ifndef LT_ATTACH_H
#define LT_ATTACH_H

#include <stddef.h>

/* The largest file /read takes: far more than a context holds, small
 * enough that a wrong path (a disk image) fails at once. */
#define ATTACH_MAX_BYTES (4u << 20)

/* Reads path (a leading "~/" is the home directory) into *block (to free):
 * "File NAME:\n```\nCONTENTS\n```\n". The contents must be text: no NUL
 * bytes; invalid UTF-8 becomes U+FFFD (*n_bad counts the sequences).
 * *n_bytes gets the file's size. Returns 0, or LT_E_IO / LT_E_FORMAT /
 * LT_E_FULL / LT_E_NOMEM with a one-line message naming the file. */
int attach_read(const char *path, char **block, size_t *n_bytes, size_t *n_bad, char *err,
		size_t errlen);

#endif
