/* Strict UTF-8 (see utf8.h). */
#include "utf8.h"

#include <stdlib.h>
#include <string.h>

size_t utf8_lead_len(unsigned char c)
{
	if (c < 0x80)
		return 1;
	if (c >= 0xC2 && c <= 0xDF)
		return 2;
	if (c >= 0xE0 && c <= 0xEF)
		return 3;
	if (c >= 0xF0 && c <= 0xF4)
		return 4;
	return 0;
}

size_t utf8_decode(const char *s, size_t n, uint32_t *cp)
{
	static const uint32_t min_cp[5] = { 0, 0, 0x80, 0x800, 0x10000 };
	const unsigned char *u = (const unsigned char *)s;
	size_t len = utf8_lead_len(u[0]);
	*cp = UTF8_REPLACEMENT_CP;
	if (len == 0 || len > n)
		return 0;
	uint32_t v = len == 1 ? u[0] : u[0] & (0x7Fu >> len);
	for (size_t i = 1; i < len; i++) {
		if ((u[i] & 0xC0) != 0x80)
			return 0;
		v = (v << 6) | (u[i] & 0x3F);
	}
	if (v < min_cp[len] || (v >= 0xD800 && v <= 0xDFFF) || v > 0x10FFFF)
		return 0;
	*cp = v;
	return len;
}

bool utf8_valid(const char *s, size_t n)
{
	uint32_t cp;
	for (size_t i = 0; i < n;) {
		size_t k = utf8_decode(s + i, n - i, &cp);
		if (!k)
			return false;
		i += k;
	}
	return true;
}

char *utf8_sanitize(const char *s, size_t n, size_t *out_len, size_t *n_bad)
{
	*n_bad = 0;
	/* U+FFFD takes three bytes, an invalid sequence at least one. */
	char *out = malloc(n * 3 + 1);
	if (!out)
		return NULL;
	size_t o = 0;
	uint32_t cp;
	for (size_t i = 0; i < n;) {
		size_t k = utf8_decode(s + i, n - i, &cp);
		if (k) {
			memcpy(out + o, s + i, k);
			o += k;
			i += k;
			continue;
		}
		/* One U+FFFD for a lead byte and the continuation bytes it
		 * claims (a truncated or malformed sequence), or for a stray byte. */
		size_t want = utf8_lead_len((unsigned char)s[i]), j = i + 1;
		while (j < n && j < i + (want ? want : 1) && ((unsigned char)s[j] & 0xC0) == 0x80)
			j++;
		memcpy(out + o, "\xEF\xBF\xBD", 3);
		o += 3;
		i = j;
		++*n_bad;
	}
	out[o] = '\0';
	if (out_len)
		*out_len = o;
	return out;
}
