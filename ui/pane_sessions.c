/* The sessions list. See pane_sessions.h. */
#include "pane_sessions.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "miniline.h"
#include "session.h"
#include "worker.h"

/* The list is read here, but every change to the files (open, new,
 * rename, delete) is a worker command: the worker alone writes session
 * files, and its answer (WORKER_EV_SESSION) comes back through
 * sessions_on_result. */
struct sessions_pane {
	struct listview *lv;
	struct session_info *list; /* (n) */
	size_t n;
	struct miniline rename;
	char target[SESSION_NAME_MAX + 1]; /* the session being renamed or deleted */
	char footer[320]; /* one line: a message naming a file fits */
};

struct sessions_pane *sessions_new(void)
{
	struct sessions_pane *s = calloc(1, sizeof(*s));
	if (!s)
		return NULL;
	if (!(s->lv = listview_new())) {
		free(s);
		return NULL;
	}
	return s;
}

void sessions_free(struct sessions_pane *s)
{
	if (!s)
		return;
	listview_free(s->lv);
	session_list_free(s->list, s->n);
	free(s);
}

void sessions_refresh(struct sessions_pane *s)
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

struct listview *sessions_list(struct sessions_pane *s)
{
	return s->lv;
}

/* The name of the selected session, or NULL. */
static const char *sessions_selected(struct sessions_pane *s)
{
	long tag = listview_tag(s->lv, listview_selected(s->lv));
	return tag >= 0 && (size_t)tag < s->n ? s->list[tag].name : NULL;
}

int sessions_action(struct sessions_pane *s, enum keys_action a, struct worker *w, char *q,
		    size_t qlen)
{
	const char *name = sessions_selected(s);
	switch (a) {
	case KA_ACTIVATE:
		if (!name)
			return SIDE_OK;
		worker_post(w, WORKER_CMD_LOAD, name, NULL);
		return SIDE_CLOSE;
	case KA_SESSION_NEW:
		worker_post(w, WORKER_CMD_NEW, NULL, NULL);
		return SIDE_CLOSE;
	case KA_SESSION_RENAME:
		if (!name)
			return SIDE_OK;
		snprintf(s->target, sizeof(s->target), "%s", name);
		miniline_start(&s->rename, name);
		return SIDE_OK;
	case KA_SESSION_DELETE:
		if (!name)
			return SIDE_OK;
		snprintf(s->target, sizeof(s->target), "%s", name);
		snprintf(q, qlen, "Delete session '%s'? (y/n)", name);
		return SIDE_CONFIRM;
	default:
		return SIDE_OK;
	}
}

int sessions_confirm(struct sessions_pane *s, bool yes, struct worker *w, char *msg,
		     size_t msglen)
{
	if (!yes || !s->target[0])
		return 0;
	int rc = worker_post(w, WORKER_CMD_SESSION_DELETE, s->target, NULL);
	if (rc)
		snprintf(msg, msglen, "cannot delete %s: %s", s->target, lt_strerror(rc));
	else
		snprintf(s->footer, sizeof(s->footer), " deleting %s", s->target);
	s->target[0] = '\0';
	return rc;
}

bool sessions_prompting(const struct sessions_pane *s)
{
	return s->rename.active;
}

void sessions_prompt_key(struct sessions_pane *s, int key, struct worker *w)
{
	enum miniline_result r = miniline_key(&s->rename, key);
	if (r != MINILINE_DONE || !s->rename.text[0] || !strcmp(s->rename.text, s->target))
		return;
	/* The worker checks the name and says why not; it also knows whether
	 * the session is the open one, which it then saves under the new name. */
	int rc = worker_post(w, WORKER_CMD_SESSION_RENAME, s->target, s->rename.text);
	if (rc)
		snprintf(s->footer, sizeof(s->footer), " cannot rename %s: %s", s->target,
			 lt_strerror(rc));
	else
		snprintf(s->footer, sizeof(s->footer), " renaming %s", s->target);
}

void sessions_on_result(struct sessions_pane *s, const char *msg)
{
	snprintf(s->footer, sizeof(s->footer), " %.300s", msg);
	sessions_refresh(s);
}

void sessions_on_saved(struct sessions_pane *s, const char *name)
{
	sessions_refresh(s);
}

int sessions_draw(struct sessions_pane *s, WINDOW *win, bool focused)
{
	char footer[MINILINE_MAX + 32];
	const char *f = s->footer[0] ? s->footer : " Enter open  n new  r rename  d delete";
	if (s->rename.active) {
		snprintf(footer, sizeof(footer), " new name: %s", s->rename.text);
		f = footer;
	}
	return listview_draw(s->lv, win, " Sessions (F3)", f, focused);
}
