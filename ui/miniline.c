/* A one-line text field. See miniline.h. */
#define NCURSES_WIDECHAR 1
#include "miniline.h"

#include <curses.h>

#include <stdio.h>
#include <string.h>

#include "keys.h"

void miniline_start(struct miniline *m, const char *initial)
{
	m->active = true;
	snprintf(m->text, sizeof(m->text), "%s", initial ? initial : "");
	m->len = strlen(m->text);
}

/* Appends one code point as UTF-8 when it fits. */
static void miniline_put(struct miniline *m, unsigned cp)
{
	char b[4];
	size_t n;
	if (cp < 0x80) {
		b[0] = (char)cp, n = 1;
	} else if (cp < 0x800) {
		b[0] = (char)(0xC0 | (cp >> 6)), b[1] = (char)(0x80 | (cp & 0x3F)), n = 2;
	} else if (cp < 0x10000) {
		b[0] = (char)(0xE0 | (cp >> 12)), b[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
		b[2] = (char)(0x80 | (cp & 0x3F)), n = 3;
	} else {
		b[0] = (char)(0xF0 | (cp >> 18)), b[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
		b[2] = (char)(0x80 | ((cp >> 6) & 0x3F)), b[3] = (char)(0x80 | (cp & 0x3F)), n = 4;
	}
	if (m->len + n >= sizeof(m->text))
		return;
	memcpy(m->text + m->len, b, n);
	m->len += n;
	m->text[m->len] = '\0';
}

enum miniline_result miniline_key(struct miniline *m, int key)
{
	if (key == '\r' || key == '\n') {
		m->active = false;
		return MINILINE_DONE;
	}
	if (key == KEYS_ESC || key == KEYS_CTRL('c') || key == KEYS_CTRL('g')) {
		m->active = false;
		return MINILINE_CANCEL;
	}
	if (key == 0x7F || key == KEYS_CTRL('h') || key == KEYS_FN(KEY_BACKSPACE)) {
		/* Back over continuation bytes to the start of the character. */
		while (m->len > 0 && ((unsigned char)m->text[m->len - 1] & 0xC0) == 0x80)
			m->len--;
		if (m->len > 0)
			m->len--;
		m->text[m->len] = '\0';
	} else if (key == KEYS_CTRL('u')) {
		m->len = 0;
		m->text[0] = '\0';
	} else if (key >= 0x20 && key <= 0x10FFFF) {
		miniline_put(m, (unsigned)key);
	}
	return MINILINE_EDITING;
}
