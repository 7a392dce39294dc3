/* The F2 model-metadata browser: the derived figures `llamaterm info`
 * prints (parameters, quantization mix, hyperparameters, special tokens,
 * KV-cache size), every GGUF key with its value and the tensor table, all
 * in one scrollable list; `/` searches it, Enter expands a long value or
 * array. It opens the model file itself (read-only, mapped), so it never
 * touches the engine thread's state. */
#ifndef LT_PANE_META_H
#define LT_PANE_META_H

#define NCURSES_WIDECHAR 1
#include <curses.h>
#include <stdbool.h>
#include <stddef.h>

#include "keys.h"
#include "listview.h"

struct meta_pane;

/* Opens path and fills the list. NULL with a message naming the file on
 * failure. */
struct meta_pane *meta_new(const char *path, char *err, size_t errlen);
void meta_free(struct meta_pane *m);

struct listview *meta_list(struct meta_pane *m);
/* KA_SEARCH, KA_SEARCH_NEXT, KA_ACTIVATE; returns enum side_result. */
int meta_action(struct meta_pane *m, enum keys_action a);
bool meta_prompting(const struct meta_pane *m);
void meta_prompt_key(struct meta_pane *m, int key);
int meta_draw(struct meta_pane *m, WINDOW *win, bool focused);

#endif
