/* The key actions: what each key does once the key table (keys.c) has
 * named its action, as one const table of handlers indexed by that
 * action, and the dispatch in front of it (a pending y/n question, a
 * paste, the focused side pane's own keys). Handlers return TUI_* flags;
 * the loop in tui.c acts on them. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "slash.h"
#include "tui_impl.h"
#include "worker.h"

/* Lines the mouse wheel scrolls. */
#define ACT_WHEEL_LINES 3
/* A scroll this long reaches either end of any list. */
#define ACT_FAR (1L << 30)

typedef unsigned act_fn(struct tui *t, enum keys_action a, int key);

/* ---- the side pane ---- */

/* What a pane hook may use; the question and err buffers are the caller's. */
static struct pane_env act_env(struct tui *t, char *q, size_t qlen, char *err, size_t errlen)
{
	return (struct pane_env){ .w = t->w, .opts = t->args->opts, .question = q,
				  .question_len = qlen, .err = err, .err_len = errlen };
}

static const struct pane_ops *act_side(const struct tui *t)
{
	return t->side >= 0 ? t->panes[t->side] : NULL;
}

static bool act_side_focused(const struct tui *t)
{
	return t->side >= 0 && t->focus == t->panes[t->side]->focus;
}

static void act_side_scroll(struct tui *t, long delta)
{
	const struct pane_ops *p = act_side(t);
	struct listview *lv = p ? p->list(t->pane_state[t->side]) : NULL;
	if (lv)
		listview_move(lv, delta);
}

static unsigned act_side_close(struct tui *t)
{
	t->side = -1;
	t->focus = KEYS_FOCUS_INPUT;
	return TUI_RESIZE;
}

static void act_ask(struct tui *t, enum tui_confirm what, const char *question)
{
	t->confirm = what;
	snprintf(t->question, sizeof(t->question), "%s", question);
}

/* Shows the pane that action a toggles, or hides it when it is shown. */
static unsigned act_toggle_pane(struct tui *t, enum keys_action a, int key)
{
	int row = -1;
	for (size_t i = 0; i < t->n_panes; i++)
		if (t->panes[i]->toggle == a)
			row = (int)i;
	if (row < 0)
		return 0;
	if (t->side == row)
		return act_side_close(t);
	char err[256] = "";
	struct pane_env env = act_env(t, NULL, 0, err, sizeof(err));
	if (t->panes[row]->open(&t->pane_state[row], &env) < 0) {
		tui_message(t, true, "%s", err[0] ? err : "out of memory");
		return TUI_REDRAW;
	}
	uilog_printf(&t->log, "pane %s shown", t->panes[row]->name);
	t->side = row;
	t->focus = t->panes[row]->focus;
	return TUI_RESIZE;
}

/* Turns a pane hook's flags into the loop's. */
static unsigned act_pane_flags(struct tui *t, unsigned pf, const char *question)
{
	if (pf & PANE_CONFIRM)
		act_ask(t, TUI_CONFIRM_SIDE, question);
	if (pf & PANE_CLOSE)
		return act_side_close(t);
	return pf & PANE_REDRAW ? TUI_REDRAW : 0;
}

/* ---- sending ---- */

/* Runs what the user typed: a slash command or a message. */
static unsigned act_submit(struct tui *t, char *line)
{
	char err[512];
	if (!line[0])
		return TUI_REDRAW;
	/* Without --verbose the log says what kind of input, not what it said. */
	if (t->log.verbose)
		uilog_printf(&t->log, "input: %.80s", line);
	else if (slash_is_command(line))
		uilog_printf(&t->log, "input: /%.*s (%zu bytes)", (int)strcspn(line + 1, " \t"),
			     line + 1, strlen(line));
	else
		uilog_printf(&t->log, "input: a message (%zu bytes)", strlen(line));
	if (slash_is_command(line)) {
		struct slash_call call;
		if (slash_parse(line, &call, err, sizeof(err)) < 0) {
			tui_message(t, true, "%s", err);
			return TUI_REDRAW;
		}
		/* /help shows the help pane, and leaves it shown. */
		if (call.def->id == SLASH_HELP) {
			const struct pane_ops *p = act_side(t);
			return p && p->toggle == KA_HELP ? TUI_REDRAW
							 : act_toggle_pane(t, KA_HELP, 0);
		}
		if (call.def->id == SLASH_QUIT)
			return TUI_QUIT;
		struct worker_call wc;
		int rc = slash_command(&call, &wc, err, sizeof(err));
		if (rc == 0 && (rc = worker_post(t->w, wc.cmd, wc.arg1, wc.arg2)) < 0)
			snprintf(err, sizeof(err), "/%s: %s", call.def->name, lt_strerror(rc));
		if (rc < 0)
			tui_message(t, true, "%s", err);
		return TUI_REDRAW;
	}
	const char *text = line[0] == '/' && line[1] == '/' ? line + 1 : line;
	if (worker_post(t->w, WORKER_CMD_SEND, text, NULL) < 0)
		tui_message(t, true, "cannot send: out of memory");
	transcript_scroll_bottom(t->tr);
	return TUI_REDRAW;
}

static unsigned act_send(struct tui *t, enum keys_action a, int key)
{
	input_key(t->in, '\r');
	char *line = input_take_line(t->in);
	unsigned f = TUI_RESIZE;
	if (line)
		f |= act_submit(t, line);
	free(line);
	return f;
}

static unsigned act_newline(struct tui *t, enum keys_action a, int key)
{
	input_insert(t->in, "\n");
	return TUI_RESIZE;
}

/* ---- stopping and quitting ---- */

static bool act_generating(struct tui *t)
{
	struct worker_status st;
	worker_status(t->w, &st);
	return st.state == WORKER_STATE_GENERATING;
}

static unsigned act_stop(struct tui *t, enum keys_action a, int key)
{
	worker_stop(t->w);
	return TUI_REDRAW;
}

static unsigned act_quit(struct tui *t, enum keys_action a, int key)
{
	act_ask(t, TUI_CONFIRM_QUIT, "Quit llamaterm? (y/n)");
	return TUI_REDRAW;
}

/* Ctrl-C does the least drastic thing that applies. */
static unsigned act_interrupt(struct tui *t, enum keys_action a, int key)
{
	if (act_generating(t))
		return act_stop(t, a, key);
	if (!input_is_empty(t->in)) {
		input_clear(t->in);
		return TUI_RESIZE;
	}
	return act_quit(t, a, key);
}

/* Ctrl-D deletes a character, as in readline, unless the line is empty. */
static unsigned act_eof(struct tui *t, enum keys_action a, int key)
{
	if (!input_is_empty(t->in)) {
		input_key(t->in, key);
		return TUI_RESIZE;
	}
	return act_quit(t, a, key);
}

/* ---- scrolling ---- */

static int act_page(const struct tui *t)
{
	int h = t->w_tr ? getmaxy(t->w_tr) : t->rows;
	return h > 2 ? h - 2 : 1;
}

/* Scrolls the side pane in focus, else the transcript. Lines count
 * upwards in the transcript (older text) and downwards in a list. */
static unsigned act_scroll(struct tui *t, enum keys_action a, int key)
{
	int d = a == KA_PAGE_UP ? act_page(t) : a == KA_PAGE_DOWN ? -act_page(t)
		: a == KA_LINE_UP ? 1 : -1;
	if (act_side_focused(t))
		act_side_scroll(t, -d);
	else
		transcript_scroll(t->tr, d);
	return TUI_REDRAW;
}

/* Home and End move in the input while it has text. */
static unsigned act_ends(struct tui *t, enum keys_action a, int key)
{
	if (t->focus == KEYS_FOCUS_INPUT && !input_is_empty(t->in)) {
		input_key(t->in, key);
		return TUI_REDRAW;
	}
	if (act_side_focused(t))
		act_side_scroll(t, a == KA_TOP ? -ACT_FAR : ACT_FAR);
	else if (a == KA_TOP)
		transcript_scroll_top(t->tr);
	else
		transcript_scroll_bottom(t->tr);
	return TUI_REDRAW;
}

/* The wheel scrolls what is under the pointer, whatever has the focus. */
static unsigned act_mouse(struct tui *t, enum keys_action a, int key)
{
	MEVENT me;
	if (getmouse(&me) != OK)
		return 0;
	int dir = (me.bstate & BUTTON4_PRESSED) ? 1 : (me.bstate & BUTTON5_PRESSED) ? -1 : 0;
	if (!dir)
		return 0;
	bool over_side = t->w_side && (t->side_overlay || me.x >= getbegx(t->w_side));
	if (over_side)
		act_side_scroll(t, -dir * ACT_WHEEL_LINES);
	else
		transcript_scroll(t->tr, dir * ACT_WHEEL_LINES);
	return TUI_REDRAW;
}

/* ---- focus and the rest ---- */

/* Tab: input, transcript, side pane, around; completion in a command. */
static unsigned act_focus_next(struct tui *t, enum keys_action a, int key)
{
	if (t->focus == KEYS_FOCUS_INPUT && input_is_command(t->in)) {
		input_key(t->in, '\t');
		return TUI_RESIZE;
	}
	static const enum keys_focus order[] = { KEYS_FOCUS_INPUT, KEYS_FOCUS_TRANSCRIPT,
						 KEYS_FOCUS_SIDE };
	size_t cur = 0;
	for (size_t i = 0; i < 3; i++)
		if (order[i] == t->focus || (order[i] == KEYS_FOCUS_SIDE && act_side_focused(t)))
			cur = i;
	for (size_t k = 1; k <= 3; k++) {
		enum keys_focus f = order[(cur + k) % 3];
		if (f == KEYS_FOCUS_SIDE) {
			if (t->side < 0)
				continue;
			f = t->panes[t->side]->focus;
		}
		/* An overlaid side pane hides the transcript. */
		if (f == KEYS_FOCUS_TRANSCRIPT && t->side_overlay)
			continue;
		t->focus = f;
		break;
	}
	return TUI_REDRAW;
}

static unsigned act_close(struct tui *t, enum keys_action a, int key)
{
	return act_side_close(t);
}

static unsigned act_reasoning(struct tui *t, enum keys_action a, int key)
{
	tui_message(t, false, "%s", transcript_toggle_reasoning(t->tr)
					    ? "reasoning unfolded (F4 folds it)"
					    : "reasoning folded (F4 unfolds it)");
	return TUI_REDRAW;
}

static unsigned act_redraw(struct tui *t, enum keys_action a, int key)
{
	clearok(curscr, TRUE);
	return TUI_RESIZE;
}

/* In raw mode Ctrl-Z is a key, not a signal, so the stop is ours to do. */
static unsigned act_suspend(struct tui *t, enum keys_action a, int key)
{
	tui_suspend(t);
	return TUI_RESIZE;
}

/* A pane's own action that reached the table: the focused pane did not
 * take it. */
static unsigned act_pane_only(struct tui *t, enum keys_action a, int key)
{
	return TUI_REDRAW;
}

/* What each action of the key table does. */
static act_fn *const act_table[KA_COUNT] = {
	[KA_SEND] = act_send,
	[KA_NEWLINE] = act_newline,
	[KA_STOP] = act_stop,
	[KA_INTERRUPT] = act_interrupt,
	[KA_EOF] = act_eof,
	[KA_PAGE_UP] = act_scroll,
	[KA_PAGE_DOWN] = act_scroll,
	[KA_LINE_UP] = act_scroll,
	[KA_LINE_DOWN] = act_scroll,
	[KA_TOP] = act_ends,
	[KA_BOTTOM] = act_ends,
	[KA_MOUSE] = act_mouse,
	[KA_HELP] = act_toggle_pane,
	[KA_META] = act_toggle_pane,
	[KA_SESSIONS] = act_toggle_pane,
	[KA_REASONING] = act_reasoning,
	[KA_FOCUS_NEXT] = act_focus_next,
	[KA_CLOSE] = act_close,
	[KA_REDRAW] = act_redraw,
	[KA_SUSPEND] = act_suspend,
	[KA_SEARCH] = act_pane_only,
	[KA_SEARCH_NEXT] = act_pane_only,
	[KA_ACTIVATE] = act_pane_only,
	[KA_SESSION_NEW] = act_pane_only,
	[KA_SESSION_RENAME] = act_pane_only,
	[KA_SESSION_DELETE] = act_pane_only,
	[KA_QUIT] = act_quit,
};

/* ---- dispatch ---- */

/* The answer to a pending y/n question; any key other than y is no. */
static unsigned act_confirm_key(struct tui *t, int key)
{
	enum tui_confirm c = t->confirm;
	t->confirm = TUI_CONFIRM_NONE;
	bool yes = key == 'y' || key == 'Y';
	if (c == TUI_CONFIRM_QUIT && yes)
		return TUI_QUIT;
	const struct pane_ops *p = act_side(t);
	if (c == TUI_CONFIRM_SIDE && p && p->confirm) {
		char err[256] = "";
		struct pane_env env = act_env(t, NULL, 0, err, sizeof(err));
		if (p->confirm(t->pane_state[t->side], &env, yes) < 0)
			tui_message(t, true, "%s", err);
	}
	return TUI_REDRAW;
}

/* Pasted text goes in whole: newlines do not send. */
static unsigned act_paste_key(struct tui *t, int key)
{
	if (key == '\r' || key == '\n')
		input_insert(t->in, "\n");
	else if (key == '\t' || (key >= 0x20 && key < 0x1000000))
		input_key(t->in, key);
	return TUI_REDRAW;
}

unsigned actions_key(struct tui *t, int key)
{
	if (key == KEYS_FN(KEY_RESIZE))
		return TUI_RESIZE;
	if (t->confirm != TUI_CONFIRM_NONE)
		return act_confirm_key(t, key);
	if (t->too_small) {
		/* Nothing typed may be sent or changed unseen: only keys that
		 * need no screen act (the question to quit could not be shown,
		 * so F10 quits at once; the session is saved either way). */
		enum keys_action small = keys_lookup(KEYS_FOCUS_ANY, key);
		if (small == KA_QUIT)
			return TUI_QUIT;
		if (small == KA_REDRAW || small == KA_SUSPEND)
			return act_table[small](t, small, key);
		return 0;
	}
	t->message[0] = '\0';
	if (key == KEYS_PASTE_BEGIN) {
		t->paste = true;
		return 0;
	}
	if (key == KEYS_PASTE_END) {
		t->paste = false;
		return TUI_RESIZE;
	}
	if (t->paste)
		return act_paste_key(t, key);
	enum keys_action a = keys_lookup(t->focus, key);
	/* The focused side pane sees the key first: a line it is reading
	 * (search, new name) takes every key, and it has actions of its own. */
	const struct pane_ops *p = act_side_focused(t) ? act_side(t) : NULL;
	if (p && p->key) {
		char q[256] = "";
		struct pane_env env = act_env(t, q, sizeof(q), NULL, 0);
		unsigned pf = p->key(t->pane_state[t->side], &env, key, a);
		if (pf & PANE_HANDLED)
			return act_pane_flags(t, pf, q);
	}
	if (a != KA_NONE && act_table[a])
		return act_table[a](t, a, key);
	if (t->focus == KEYS_FOCUS_TRANSCRIPT && key >= 0x20 && key < 0x1000000 && key != 0x7F) {
		/* Typing while the transcript has the focus goes to the input. */
		t->focus = KEYS_FOCUS_INPUT;
	}
	if (t->focus == KEYS_FOCUS_INPUT) {
		input_key(t->in, key);
		return TUI_RESIZE;
	}
	return 0;
}
