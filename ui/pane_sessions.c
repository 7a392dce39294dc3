/* The F3 sessions list: every saved session, most recent first; Enter
 * opens one, n starts a new one, r renames, d deletes after asking. */
#include "pane.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "errors.h"
#include "miniline.h"
#include "session.h"
#include "worker.h"

/* The list is read here, but every change to the files (open, new,
 * rename, delete) is a worker command: the worker alone writes session
 * files, and its answer (WORKER_EV_SESSION) comes back through
 * the event hook. */
struct sessions_pane {
	struct listview *lv;
	struct session_info *list; /* (n) */
	size_t n;
	struct miniline rename;
	char target[SESSION_NAME_MAX + 1]; /* the session being renamed or deleted */
	char footer[320]; /* one line: a message naming a file fits */
};

static int sessions_new(struct sessions_pane **out)
{
	*out = NULL;
	struct sessions_pane *s = calloc(1, sizeof(*s));
	if (!s)
		return LT_E_NOMEM;
	int rc = listview_new(&s->lv);
	if (rc < 0) {
		free(s);
		return rc;
	}
	*out = s;
	return LT_OK;
}

static void sessions_free(void *state)
{
	struct sessions_pane *s = state;
	if (!s)
		return;
	listview_free(s->lv);
	session_list_free(s->list, s->n);
	free(s);
}

static void sessions_refresh(struct sessions_pane *s)
{
	char err[256];
	size_t sel = listview_selected(s->lv);
	session_list_free(s->list, s->n);
	s->list = NULL, s->n = 0;
	listview_clear(s->lv);
	if (session_list(&s->list, &s->n, err, sizeof(err)) < 0) {
		s->list = NULL, s->n = 0;
		snprintf(s->footer, sizeof(s->footer), " %s", err);
	}
	for (size_t i = 0; i < s->n; i++) {
		const struct session_info *si = &s->list[i];
		char when[32];
		session_when(si->updated, when, sizeof(when));
		if (si->error)
			listview_addf(s->lv, LISTVIEW_DIM, (long)i, "%s  (unreadable: %s)", si->name,
				      si->error);
		else
			listview_addf(s->lv, LISTVIEW_TEXT, (long)i, "%s  %s  %d turns  %s", si->name,
				      when, si->n_turns, si->model_name);
	}
	if (s->n == 0)
		listview_add(s->lv, LISTVIEW_DIM, -1, "(no saved sessions yet)");
	listview_select(s->lv, sel);
}

static struct listview *sessions_list(void *state)
{
	return ((struct sessions_pane *)state)->lv;
}

/* The name of the selected session, or NULL. */
static const char *sessions_selected(struct sessions_pane *s)
{
	long tag = listview_tag(s->lv, listview_selected(s->lv));
	return tag >= 0 && (size_t)tag < s->n ? s->list[tag].name : NULL;
}

static unsigned sessions_key(void *state, const struct pane_env *env, int key,
			     enum keys_action a)
{
	struct sessions_pane *s = state;
	/* While the new name is typed the line takes every key; the worker
	 * checks the name and says why not, and it knows whether the session
	 * is the open one, which it then saves under the new name. */
	if (s->rename.active) {
		enum miniline_result r = miniline_key(&s->rename, key);
		if (r != MINILINE_DONE || !s->rename.text[0] || !strcmp(s->rename.text, s->target))
			return PANE_HANDLED | PANE_REDRAW;
		int rc = worker_post(env->w, WORKER_CMD_SESSION_RENAME, s->target, s->rename.text);
		if (rc)
			snprintf(s->footer, sizeof(s->footer), " cannot rename %s: %s", s->target,
				 lt_strerror(rc));
		else
			snprintf(s->footer, sizeof(s->footer), " renaming %s", s->target);
		return PANE_HANDLED | PANE_REDRAW;
	}
	const char *name = sessions_selected(s);
	switch (a) {
	case KA_ACTIVATE:
		if (!name)
			break;
		worker_post(env->w, WORKER_CMD_LOAD, name, NULL);
		return PANE_HANDLED | PANE_CLOSE;
	case KA_SESSION_NEW:
		worker_post(env->w, WORKER_CMD_NEW, NULL, NULL);
		return PANE_HANDLED | PANE_CLOSE;
	case KA_SESSION_RENAME:
		if (!name)
			break;
		snprintf(s->target, sizeof(s->target), "%s", name);
		miniline_start(&s->rename, name);
		break;
	case KA_SESSION_DELETE:
		if (!name)
			break;
		snprintf(s->target, sizeof(s->target), "%s", name);
		snprintf(env->question, env->question_len, "Delete session '%s'? (y/n)", name);
		return PANE_HANDLED | PANE_REDRAW | PANE_CONFIRM;
	default:
		return 0;
	}
	return PANE_HANDLED | PANE_REDRAW;
}

/* The answer to the delete question: asks the worker to delete the
 * session (the outcome comes as WORKER_EV_SESSION). */
static int sessions_confirm(void *state, const struct pane_env *env, bool yes)
{
	struct sessions_pane *s = state;
	if (!yes || !s->target[0])
		return 0;
	int rc = worker_post(env->w, WORKER_CMD_SESSION_DELETE, s->target, NULL);
	if (rc)
		snprintf(env->err, env->err_len, "cannot delete %s: %s", s->target, lt_strerror(rc));
	else
		snprintf(s->footer, sizeof(s->footer), " deleting %s", s->target);
	s->target[0] = '\0';
	return rc ? -1 : 0;
}

/* A save (the list gains or updates a row) or the worker's answer to a
 * rename or delete (shown in the footer): the list is read again. */
static void sessions_event(void *state, const struct ring_event *ev)
{
	struct sessions_pane *s = state;
	if (ev->kind == WORKER_EV_SESSION)
		snprintf(s->footer, sizeof(s->footer), " %.300s", ev->data ? ev->data : "");
	if (ev->kind == WORKER_EV_SESSION || ev->kind == WORKER_EV_SAVED)
		sessions_refresh(s);
}

static int sessions_draw(void *state, WINDOW *win, bool focused)
{
	struct sessions_pane *s = state;
	char footer[MINILINE_MAX + 32];
	const char *f = s->footer[0] ? s->footer : " Enter open  n new  r rename  d delete";
	if (s->rename.active) {
		snprintf(footer, sizeof(footer), " new name: %s", s->rename.text);
		f = footer;
	}
	return listview_draw(s->lv, win, " Sessions (F3)", f, focused);
}

/* Made on first showing, and read again at every showing: another
 * llamaterm may have saved sessions meanwhile. */
static int sessions_open(void **state, const struct pane_env *env)
{
	if (!*state) {
		struct sessions_pane *s;
		int rc = sessions_new(&s);
		if (rc < 0)
			return rc;
		*state = s;
	}
	sessions_refresh(*state);
	return 0;
}

const struct pane_ops pane_sessions = {
	.name = "sessions",
	.focus = KEYS_FOCUS_SESSIONS,
	.toggle = KA_SESSIONS,
	.open = sessions_open,
	.free = sessions_free,
	.draw = sessions_draw,
	.list = sessions_list,
	.key = sessions_key,
	.confirm = sessions_confirm,
	.event = sessions_event,
};
