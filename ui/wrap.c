/* UTF-8 display-width measuring and wrapping. See wrap.h. */
#include "wrap.h"

#include <stdlib.h>
#include <wchar.h>

#include "utf8.h"

#define WRAP_NONE ((size_t)-1)

size_t wrap_decode(const char *s, size_t n, uint32_t *cp)
{
	size_t len = utf8_decode(s, n, cp);
	return len ? len : 1;
}

/* Wide ranges for when the C library cannot tell (a locale that is not
 * UTF-8): CJK, Hangul, fullwidth forms and the emoji planes. */
static bool wrap_is_wide_fallback(uint32_t cp)
{
	return (cp >= 0x1100 && cp <= 0x115F) || (cp >= 0x2E80 && cp <= 0xA4CF) ||
	       (cp >= 0xAC00 && cp <= 0xD7A3) || (cp >= 0xF900 && cp <= 0xFAFF) ||
	       (cp >= 0xFE30 && cp <= 0xFE4F) || (cp >= 0xFF00 && cp <= 0xFF60) ||
	       (cp >= 0xFFE0 && cp <= 0xFFE6) || (cp >= 0x1F300 && cp <= 0x1FAFF) ||
	       (cp >= 0x20000 && cp <= 0x3FFFD);
}

int wrap_cp_width(uint32_t cp)
{
	if (cp < 0x20 || cp == 0x7F)
		return 1;
	if (cp < 0x7F)
		return 1;
	int w = wcwidth((wchar_t)cp);
	if (w >= 0)
		return w > 2 ? 2 : w;
	/* Combining marks are zero-width in any locale. */
	if ((cp >= 0x0300 && cp <= 0x036F) || (cp >= 0x200B && cp <= 0x200F) ||
	    (cp >= 0xFE00 && cp <= 0xFE0F))
		return 0;
	return wrap_is_wide_fallback(cp) ? 2 : 1;
}

int wrap_width(const char *s, size_t n)
{
	int cols = 0;
	size_t i = 0;
	while (i < n) {
		uint32_t cp;
		size_t l = wrap_decode(s + i, n - i, &cp);
		if (cp != '\n')
			cols += wrap_cp_width(cp);
		i += l;
	}
	return cols;
}

size_t wrap_fit(const char *s, size_t n, int cols)
{
	int used = 0;
	size_t i = 0;
	while (i < n) {
		uint32_t cp;
		size_t l = wrap_decode(s + i, n - i, &cp);
		int w = wrap_cp_width(cp);
		if (w > 0 && used + w > cols)
			break;
		used += w;
		i += l;
	}
	return i;
}

/* Collects lines while wrap_text walks the text. */
struct wrap_out {
	struct wrap_line *lines;
	size_t max, n;
};

static void wrap_emit(struct wrap_out *o, size_t off, size_t len, int cols)
{
	if (o->n < o->max)
		o->lines[o->n] = (struct wrap_line){ .off = off, .len = len, .cols = cols };
	o->n++;
}

size_t wrap_text(const char *s, size_t n, int width, enum wrap_mode mode, struct wrap_line *out,
		 size_t max)
{
	struct wrap_out o = { .lines = out, .max = out ? max : 0, .n = 0 };
	if (width < 1)
		width = 1;
	size_t start = 0, i = 0;
	size_t brk = WRAP_NONE; /* the last space on the current line */
	int col = 0, brk_col = 0;
	while (i < n) {
		uint32_t cp;
		size_t l = wrap_decode(s + i, n - i, &cp);
		if (cp == '\n') {
			wrap_emit(&o, start, i - start, col);
			start = i + 1, col = 0, brk = WRAP_NONE;
			i += l;
			continue;
		}
		int w = wrap_cp_width(cp);
		while (w > 0 && col > 0 && col + w > width) {
			if (mode == WRAP_WORD && cp == ' ') {
				/* A space that does not fit ends the line and vanishes. */
				wrap_emit(&o, start, i - start, col);
				start = i + l, col = 0, brk = WRAP_NONE;
				w = -1;
				break;
			}
			if (mode == WRAP_WORD && brk != WRAP_NONE && brk > start) {
				wrap_emit(&o, start, brk - start, brk_col);
				col -= brk_col + 1;
				start = brk + 1, brk = WRAP_NONE;
				continue;
			}
			/* A word wider than the line is cut where it reaches the edge. */
			wrap_emit(&o, start, i - start, col);
			start = i, col = 0, brk = WRAP_NONE;
		}
		if (w < 0) {
			i += l;
			continue;
		}
		if (mode == WRAP_WORD && cp == ' ')
			brk = i, brk_col = col;
		col += w;
		i += l;
	}
	wrap_emit(&o, start, n - start, col);
	return o.n;
}

size_t wrap_text_alloc(const char *s, size_t n, int width, enum wrap_mode mode,
		       struct wrap_line **out)
{
	size_t need = wrap_text(s, n, width, mode, NULL, 0);
	*out = malloc(need * sizeof(**out));
	if (!*out)
		return 0;
	return wrap_text(s, n, width, mode, *out, need);
}
