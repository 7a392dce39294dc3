#include "errors.h"

#include <stdarg.h>
#include <stdio.h>

const char *lt_strerror(int code)
{
	switch (code) {
	case LT_OK: return "success";
	case LT_E_IO: return "input/output error";
	case LT_E_FORMAT: return "invalid file format";
	case LT_E_NOMEM: return "out of memory";
	case LT_E_NOTFOUND: return "not found";
	case LT_E_TYPE: return "type mismatch";
	case LT_E_UNSUPPORTED: return "not supported";
	case LT_E_INVAL: return "invalid argument";
	case LT_E_ABORTED: return "aborted";
	case LT_E_RANGE: return "out of range";
	case LT_E_FULL: return "no room left";
	}
	return "unknown error";
}

int lt_seterr(char *err, size_t errlen, int code, const char *fmt, ...)
{
	if (err && errlen) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return code;
}
