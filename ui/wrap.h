/* UTF-8 text measured and wrapped by display columns (wcwidth), so wide
 * characters (CJK, emoji) take two cells, combining marks none, and a line
 * never ends in the middle of a character or cuts a wide one in half.
 *
 * Pure functions over byte strings; no curses here, so the tests can check
 * every rule without a terminal. Bytes that are not valid UTF-8 and control
 * characters count as one column each (the panes draw them as a
 * replacement mark), so text from a model can never upset the layout. */
#ifndef LT_WRAP_H
#define LT_WRAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* One display line: bytes [off, off + len) of the text, cols columns wide.
 * A line ends at a newline (not included), at a space where a word no
 * longer fits (the space is not included), or anywhere in a word that is
 * wider than the whole line. */
struct wrap_line {
	size_t off;
	size_t len;
	int cols;
};

enum wrap_mode {
	WRAP_WORD, /* break at spaces when possible (the transcript) */
	WRAP_CHAR, /* break at the last character that fits (the input line) */
};

/* Decodes one character at s (n > 0 bytes available). Returns the bytes it
 * takes (1..4) and stores the code point, or U+FFFD for an invalid or
 * truncated sequence (which then takes 1 byte). */
size_t wrap_decode(const char *s, size_t n, uint32_t *cp);

/* Display columns of one code point: 0 for combining marks and zero-width
 * characters, 2 for wide ones, 1 for everything else (control and
 * unprintable characters included, shown as one replacement cell). */
int wrap_cp_width(uint32_t cp);

/* Display columns of n bytes of text (newlines count as 0). */
int wrap_width(const char *s, size_t n);

/* Splits n bytes of text into lines of at most width columns (width < 1 is
 * taken as 1; a wide character always gets a line of its own when width is
 * 1). Fills up to max lines into out (out may be NULL when max is 0) and
 * returns how many lines the text needs in total, so a first call with
 * max 0 sizes the array. Empty text is one empty line; a trailing newline
 * makes a last empty line. */
size_t wrap_text(const char *s, size_t n, int width, enum wrap_mode mode, struct wrap_line *out,
		 size_t max);

/* Like wrap_text but allocates the array (*out, free with free()). Returns
 * the number of lines, or 0 when memory ran out (*out is then NULL). */
size_t wrap_text_alloc(const char *s, size_t n, int width, enum wrap_mode mode,
		       struct wrap_line **out);

/* Byte offset within s (n bytes) of the first character whose columns end
 * past cols, i.e. how many bytes fit in cols columns; zero-width marks
 * after the last fitting character are included. */
size_t wrap_fit(const char *s, size_t n, int cols);

#endif
