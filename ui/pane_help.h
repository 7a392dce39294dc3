/* The F1 help pane: the key bindings (from the key table) and the slash
 * commands (from the slash table). */
#ifndef LT_PANE_HELP_H
#define LT_PANE_HELP_H

#include "listview.h"

/* A list filled with the help text, or NULL when memory ran out. */
struct listview *help_new(void);

#endif
