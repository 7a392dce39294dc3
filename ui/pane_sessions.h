/* The F3 sessions list: every saved session, most recent first; Enter
 * opens one, n starts a new one, r renames, d deletes after asking. */
#ifndef LT_PANE_SESSIONS_H
#define LT_PANE_SESSIONS_H

#define NCURSES_WIDECHAR 1
#include <curses.h>
#include <stdbool.h>
#include <stddef.h>

#include "keys.h"
#include "listview.h"

struct worker;
struct sessions_pane;

struct sessions_pane *sessions_new(void);
void sessions_free(struct sessions_pane *s);
/* Reads the sessions directory again. */
void sessions_refresh(struct sessions_pane *s);
struct listview *sessions_list(struct sessions_pane *s);

/* KA_ACTIVATE, KA_SESSION_NEW, _RENAME, _DELETE. Returns enum side_result;
 * for SIDE_CONFIRM the question is in q. */
int sessions_action(struct sessions_pane *s, enum keys_action a, struct worker *w, char *q,
		    size_t qlen);
/* The answer to the question of SIDE_CONFIRM: asks the worker to delete
 * the session (the outcome comes as WORKER_EV_SESSION). Returns 0, or a
 * negative lt_error with a message when the request cannot be queued. */
int sessions_confirm(struct sessions_pane *s, bool yes, struct worker *w, char *msg,
		     size_t msglen);
bool sessions_prompting(const struct sessions_pane *s);
/* Asks the worker to rename the session once the new name is typed. */
void sessions_prompt_key(struct sessions_pane *s, int key, struct worker *w);
/* The worker saved the session name: the list is read again. */
void sessions_on_saved(struct sessions_pane *s, const char *name);
/* The worker's answer to a rename or delete (WORKER_EV_SESSION): shown in
 * the footer, and the list is read again. */
void sessions_on_result(struct sessions_pane *s, const char *msg);
int sessions_draw(struct sessions_pane *s, WINDOW *win, bool focused);

#endif
