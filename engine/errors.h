/* Error codes shared by every engine module.
 *
 * Engine functions return 0 on success or one of these negative codes, and
 * most take a caller-owned message buffer (err, errlen; either may be 0) that
 * receives one line naming the file, the place and what is wrong. */
#ifndef LT_ERRORS_H
#define LT_ERRORS_H

#include <stddef.h>

enum lt_error {
	LT_OK = 0,
	LT_E_IO = -1,          /* open, read, mmap or write failed */
	LT_E_FORMAT = -2,      /* the bytes are not what the format allows */
	LT_E_NOMEM = -3,       /* an allocation failed */
	LT_E_NOTFOUND = -4,    /* a key, tensor or name does not exist */
	LT_E_TYPE = -5,        /* a value has another type than asked for */
	LT_E_UNSUPPORTED = -6, /* valid, but not something we compute */
	LT_E_INVAL = -7,       /* a caller passed an invalid argument */
	LT_E_ABORTED = -8,     /* the abort flag stopped the work */
	LT_E_RANGE = -9,       /* a value or position is out of range */
	LT_E_FULL = -10,       /* no room left (context, disk, buffer) */
};

/* Returns a short description of an lt_error code. */
const char *lt_strerror(int code);

/* Formats a message into err (if err and errlen are non-zero) and returns
 * code, so a failing path reads: return lt_seterr(err, n, LT_E_IO, "..."). */
int lt_seterr(char *err, size_t errlen, int code, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

#endif
