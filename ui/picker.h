/* A full-screen chooser: what `llamaterm` alone shows on a terminal, a list
 * of the models found on the machine to pick one to chat with. The caller
 * gives plain lines (src/cmd knows the models; the UI only shows them). */
#ifndef LT_PICKER_H
#define LT_PICKER_H

#include <stdbool.h>
#include <stddef.h>

struct picker_item {
	const char *label;  /* one line: the name and its figures */
	bool usable;        /* false: shown dimmed and not pickable (a broken file) */
};

/* Shows title, the items and a footer of keys: arrows (or j/k), PgUp/PgDn,
 * Home/End move, / filters by typed text (Esc clears), Enter picks, q, Esc
 * or F10 leaves. With no items, empty[0..n_empty) is shown instead and any
 * key leaves. Returns 1 with *chosen set when an item was picked, 0 when
 * the user left, or a negative lt_error when the terminal could not be
 * set up. */
int picker_run(const char *title, const struct picker_item *items, size_t n,
	       const char *const *empty, size_t n_empty, size_t *chosen);

#endif
