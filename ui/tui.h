/* The curses UI of 'llamaterm chat'. cmd_chat.c includes this header
 * (when it exists) and calls tui_run, declared in tui_entry.h. */
#ifndef LT_TUI_H
#define LT_TUI_H

#include "tui_entry.h"

#endif
