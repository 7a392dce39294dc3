/* The full-screen chat: one event loop on the UI thread that waits on the
 * terminal, the worker's wake pipe and a signal pipe, drains the event
 * ring, dispatches keys through the key table and redraws what changed.
 *
 * Only this thread calls curses or readline. Signals only set a flag and
 * write a byte to the signal pipe; the loop acts on them, so SIGTERM and
 * SIGHUP restore the terminal like a normal quit, and a resize arrives as
 * one KEY_RESIZE handled in tui_key. */
#include "tui.h"

#include <errno.h>
#include <stdint.h>
#include <fcntl.h>
#include <locale.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include "draw.h"
#include "keys.h"
#include "listview.h"
#include "pane_help.h"
#include "pane_input.h"
#include "pane_meta.h"
#include "pane_sessions.h"
#include "pane_status.h"
#include "pane_transcript.h"
#include "slash.h"
#include "uilog.h"
#include "worker.h"

/* The smallest terminal the layout works in. */
#define TUI_MIN_COLS 60
#define TUI_MIN_ROWS 15
/* From this width the side pane sits beside the transcript; below it the
 * pane covers the transcript. */
#define TUI_SPLIT_COLS 100
/* Most rows the input pane grows to. */
#define TUI_INPUT_MAX_ROWS 8
/* How often the busy mark turns while loading or generating. */
#define TUI_TICK_MS 150
/* Streamed text is drawn at most this often, so the UI thread does not
 * take CPU time from the engine by redrawing after every token. */
#define TUI_FRAME_MS 40
/* Milliseconds curses waits for the rest of an escape sequence. */
#define TUI_ESCDELAY 25
/* Lines the mouse wheel scrolls. */
#define TUI_WHEEL_LINES 3
/* Raw curses codes for the bracketed paste markers. */
#define TUI_KEY_PASTE_BEGIN (KEY_MAX + 1)
#define TUI_KEY_PASTE_END (KEY_MAX + 2)

/* Handler results. */
#define TUI_REDRAW 0x1u
#define TUI_RESIZE 0x2u
#define TUI_QUIT 0x4u

enum tui_side {
	TUI_SIDE_NONE,
	TUI_SIDE_HELP,
	TUI_SIDE_META,
	TUI_SIDE_SESSIONS,
};

enum tui_confirm {
	TUI_CONFIRM_NONE,
	TUI_CONFIRM_QUIT,
	TUI_CONFIRM_SIDE, /* the side pane asked (delete a session) */
};

struct tui {
	struct worker *w;
	struct ring *ring;
	const struct tui_args *args;

	struct transcript *tr;
	struct input *in;
	struct listview *help;
	struct meta_pane *meta;
	struct sessions_pane *sessions;

	WINDOW *w_tr, *w_status, *w_in, *w_side, *w_keys;
	int rows, cols, in_rows;
	bool too_small;
	enum tui_side side;
	bool side_overlay;
	enum keys_focus focus;

	/* Event stream state. */
	bool more;        /* the last record had RING_F_MORE */
	double load_frac;
	char load_what[128];
	unsigned tick;
	bool paste;

	char message[256];
	bool message_error;
	enum tui_confirm confirm;
	char question[256];

	bool curses_on;
	char fatal[512];  /* a fatal worker error, printed after the screen is restored */

	struct uilog log;
	int sig_pipe[2];
};

/* Set by the signal handlers, read by the loop (the only shared state). */
static volatile sig_atomic_t tui_sig_quit, tui_sig_winch;
static int tui_sig_fd = -1;

static void tui_on_signal(int sig)
{
	int saved = errno;
	if (sig == SIGWINCH)
		tui_sig_winch = 1;
	else
		tui_sig_quit = sig;
	if (tui_sig_fd >= 0) {
		ssize_t r = write(tui_sig_fd, "s", 1);
		(void)r;
	}
	errno = saved;
}

static void tui_message(struct tui *t, bool error, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void tui_message(struct tui *t, bool error, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(t->message, sizeof(t->message), fmt, ap);
	va_end(ap);
	t->message_error = error;
	uilog_printf(&t->log, "%s%s", error ? "error: " : "", t->message);
}

/* ---- layout and drawing ---- */

static int64_t tui_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void tui_delwins(struct tui *t)
{
	WINDOW **ws[] = { &t->w_tr, &t->w_status, &t->w_in, &t->w_side };
	for (size_t i = 0; i < sizeof(ws) / sizeof(ws[0]); i++) {
		if (*ws[i])
			delwin(*ws[i]);
		*ws[i] = NULL;
	}
}

static void tui_layout(struct tui *t)
{
	tui_delwins(t);
	getmaxyx(stdscr, t->rows, t->cols);
	t->too_small = t->rows < TUI_MIN_ROWS || t->cols < TUI_MIN_COLS;
	if (t->too_small)
		return;
	int max_in = t->rows / 4 < TUI_INPUT_MAX_ROWS ? t->rows / 4 : TUI_INPUT_MAX_ROWS;
	t->in_rows = input_rows(t->in, t->cols, max_in < 1 ? 1 : max_in);
	int body = t->rows - t->in_rows - 1;
	int tr_cols = t->cols;
	t->side_overlay = false;
	if (t->side != TUI_SIDE_NONE) {
		if (t->cols >= TUI_SPLIT_COLS) {
			int sw = t->cols * 2 / 5;
			tr_cols = t->cols - sw;
			t->w_side = newwin(body, sw, 0, tr_cols);
		} else {
			t->side_overlay = true;
			t->w_side = newwin(body, t->cols, 0, 0);
		}
	}
	t->w_tr = newwin(body, tr_cols, 0, 0);
	t->w_status = newwin(1, t->cols, body, 0);
	t->w_in = newwin(t->in_rows, t->cols, body + 1, 0);
}

static int tui_side_draw(struct tui *t)
{
	bool f = t->focus != KEYS_FOCUS_INPUT && t->focus != KEYS_FOCUS_TRANSCRIPT;
	switch (t->side) {
	case TUI_SIDE_HELP:
		return listview_draw(t->help, t->w_side, " Help (F1)  Esc closes", NULL, f);
	case TUI_SIDE_META:
		return meta_draw(t->meta, t->w_side, f);
	case TUI_SIDE_SESSIONS:
		return sessions_draw(t->sessions, t->w_side, f);
	default:
		return 1;
	}
}

static void tui_draw(struct tui *t)
{
	if (t->too_small || !t->w_tr || !t->w_status || !t->w_in) {
		erase();
		mvprintw(0, 0, "terminal too small");
		mvprintw(1, 0, "(%dx%d; needs %dx%d)", t->cols, t->rows, TUI_MIN_COLS, TUI_MIN_ROWS);
		wnoutrefresh(stdscr);
		doupdate();
		return;
	}
	if (!t->side_overlay || !t->w_side) {
		transcript_draw(t->tr, t->w_tr, t->focus == KEYS_FOCUS_TRANSCRIPT);
		wnoutrefresh(t->w_tr);
	}
	if (t->w_side) {
		tui_side_draw(t);
		wnoutrefresh(t->w_side);
	}
	struct worker_status st;
	worker_status(t->w, &st);
	const char *im = input_message(t->in);
	struct status_view v = {
		.st = &st,
		.load_frac = t->load_frac,
		.load_what = t->load_what,
		.tick = t->tick,
		.message = im ? im : t->message[0] ? t->message : NULL,
		.message_error = !im && t->message_error,
		.question = t->confirm != TUI_CONFIRM_NONE ? t->question : NULL,
	};
	status_draw(t->w_status, &v);
	wnoutrefresh(t->w_status);
	int cy, cx;
	input_draw(t->in, t->w_in, &cy, &cx);
	if (t->focus == KEYS_FOCUS_INPUT) {
		curs_set(1);
		wmove(t->w_in, cy, cx);
	} else {
		curs_set(0);
	}
	wnoutrefresh(t->w_in);
	doupdate();
}

/* ---- commands ---- */

static void tui_ask(struct tui *t, enum tui_confirm what, const char *question)
{
	t->confirm = what;
	snprintf(t->question, sizeof(t->question), "%s", question);
}

static unsigned tui_open_side(struct tui *t, enum tui_side s)
{
	if (t->side == s) {
		t->side = TUI_SIDE_NONE;
		t->focus = KEYS_FOCUS_INPUT;
		return TUI_RESIZE;
	}
	char err[256] = "";
	if (s == TUI_SIDE_HELP && !t->help)
		t->help = help_new();
	if (s == TUI_SIDE_META && !t->meta)
		t->meta = meta_new(t->args->opts ? t->args->opts->model : NULL, err, sizeof(err));
	if (s == TUI_SIDE_SESSIONS) {
		if (!t->sessions)
			t->sessions = sessions_new();
		if (t->sessions)
			sessions_refresh(t->sessions);
	}
	if ((s == TUI_SIDE_HELP && !t->help) || (s == TUI_SIDE_META && !t->meta) ||
	    (s == TUI_SIDE_SESSIONS && !t->sessions)) {
		tui_message(t, true, "%s", err[0] ? err : "out of memory");
		return TUI_REDRAW;
	}
	t->side = s;
	t->focus = s == TUI_SIDE_HELP ? KEYS_FOCUS_HELP
		   : s == TUI_SIDE_META ? KEYS_FOCUS_META : KEYS_FOCUS_SESSIONS;
	return TUI_RESIZE;
}

/* Runs what the user typed: a slash command or a message. */
static unsigned tui_submit(struct tui *t, char *line)
{
	char err[512];
	if (!line[0])
		return TUI_REDRAW;
	uilog_printf(&t->log, "input: %.80s", line);
	if (slash_is_command(line)) {
		struct slash_call call;
		if (slash_parse(line, &call, err, sizeof(err)) < 0) {
			tui_message(t, true, "%s", err);
			return TUI_REDRAW;
		}
		if (call.def->id == SLASH_HELP)
			return t->side == TUI_SIDE_HELP ? TUI_REDRAW : tui_open_side(t, TUI_SIDE_HELP);
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

static void tui_side_scroll(struct tui *t, long delta)
{
	struct listview *lv = t->side == TUI_SIDE_HELP ? t->help
			      : t->side == TUI_SIDE_META ? meta_list(t->meta)
			      : t->side == TUI_SIDE_SESSIONS ? sessions_list(t->sessions) : NULL;
	if (lv)
		listview_move(lv, delta);
}

static bool tui_side_focused(const struct tui *t)
{
	return t->focus == KEYS_FOCUS_HELP || t->focus == KEYS_FOCUS_META ||
	       t->focus == KEYS_FOCUS_SESSIONS;
}

static int tui_page(const struct tui *t)
{
	int h = t->w_tr ? getmaxy(t->w_tr) : t->rows;
	return h > 2 ? h - 2 : 1;
}

static unsigned tui_mouse(struct tui *t)
{
	MEVENT me;
	if (getmouse(&me) != OK)
		return 0;
	int dir = (me.bstate & BUTTON4_PRESSED) ? 1 : (me.bstate & BUTTON5_PRESSED) ? -1 : 0;
	if (!dir)
		return 0;
	bool over_side = t->w_side && (t->side_overlay || me.x >= getbegx(t->w_side));
	if (over_side)
		tui_side_scroll(t, -dir * TUI_WHEEL_LINES);
	else
		transcript_scroll(t->tr, dir * TUI_WHEEL_LINES);
	return TUI_REDRAW;
}

static void tui_focus_next(struct tui *t)
{
	static const enum keys_focus order[] = { KEYS_FOCUS_INPUT, KEYS_FOCUS_TRANSCRIPT,
						 KEYS_FOCUS_SIDE };
	size_t cur = 0;
	for (size_t i = 0; i < 3; i++)
		if (order[i] == t->focus || (order[i] == KEYS_FOCUS_SIDE && tui_side_focused(t)))
			cur = i;
	for (size_t k = 1; k <= 3; k++) {
		enum keys_focus f = order[(cur + k) % 3];
		if (f == KEYS_FOCUS_SIDE) {
			if (t->side == TUI_SIDE_NONE)
				continue;
			f = t->side == TUI_SIDE_HELP ? KEYS_FOCUS_HELP
			    : t->side == TUI_SIDE_META ? KEYS_FOCUS_META : KEYS_FOCUS_SESSIONS;
		}
		/* An overlaid side pane hides the transcript. */
		if (f == KEYS_FOCUS_TRANSCRIPT && t->side_overlay)
			continue;
		t->focus = f;
		return;
	}
}

static bool tui_generating(struct tui *t)
{
	struct worker_status st;
	worker_status(t->w, &st);
	return st.state == WORKER_STATE_GENERATING;
}

/* Hands an action to the side pane in focus. */
static unsigned tui_side_action(struct tui *t, enum keys_action a)
{
	char q[256] = "";
	int rc = 0;
	if (t->side == TUI_SIDE_META)
		rc = meta_action(t->meta, a);
	else if (t->side == TUI_SIDE_SESSIONS)
		rc = sessions_action(t->sessions, a, t->w, q, sizeof(q));
	if (rc == SIDE_CONFIRM)
		tui_ask(t, TUI_CONFIRM_SIDE, q);
	if (rc == SIDE_CLOSE) {
		t->side = TUI_SIDE_NONE;
		t->focus = KEYS_FOCUS_INPUT;
		return TUI_RESIZE;
	}
	return TUI_REDRAW;
}

/* Keys while the side pane reads a line (search, new name). */
static unsigned tui_side_prompt_key(struct tui *t, int key)
{
	if (t->side == TUI_SIDE_META)
		meta_prompt_key(t->meta, key);
	else if (t->side == TUI_SIDE_SESSIONS)
		sessions_prompt_key(t->sessions, key, t->w);
	return TUI_REDRAW;
}

static bool tui_side_prompting(const struct tui *t)
{
	if (!tui_side_focused(t))
		return false;
	if (t->side == TUI_SIDE_META)
		return meta_prompting(t->meta);
	if (t->side == TUI_SIDE_SESSIONS)
		return sessions_prompting(t->sessions);
	return false;
}

static unsigned tui_action(struct tui *t, enum keys_action a, int key)
{
	bool in_input = t->focus == KEYS_FOCUS_INPUT;
	bool side = tui_side_focused(t);
	switch (a) {
	case KA_SEND: {
		input_key(t->in, '\r');
		char *line = input_take_line(t->in);
		unsigned f = TUI_RESIZE;
		if (line)
			f |= tui_submit(t, line);
		free(line);
		return f;
	}
	case KA_NEWLINE:
		input_insert(t->in, "\n");
		return TUI_RESIZE;
	case KA_STOP:
		worker_stop(t->w);
		return TUI_REDRAW;
	case KA_INTERRUPT:
		if (tui_generating(t)) {
			worker_stop(t->w);
		} else if (!input_is_empty(t->in)) {
			input_clear(t->in);
			return TUI_RESIZE;
		} else {
			tui_ask(t, TUI_CONFIRM_QUIT, "Quit llamaterm? (y/n)");
		}
		return TUI_REDRAW;
	case KA_EOF:
		if (!input_is_empty(t->in)) {
			input_key(t->in, key);
			return TUI_RESIZE;
		}
		tui_ask(t, TUI_CONFIRM_QUIT, "Quit llamaterm? (y/n)");
		return TUI_REDRAW;
	case KA_QUIT:
		tui_ask(t, TUI_CONFIRM_QUIT, "Quit llamaterm? (y/n)");
		return TUI_REDRAW;
	case KA_PAGE_UP:
	case KA_PAGE_DOWN: {
		int d = a == KA_PAGE_UP ? tui_page(t) : -tui_page(t);
		if (side)
			tui_side_scroll(t, -d);
		else
			transcript_scroll(t->tr, d);
		return TUI_REDRAW;
	}
	case KA_LINE_UP:
	case KA_LINE_DOWN: {
		int d = a == KA_LINE_UP ? 1 : -1;
		if (side)
			tui_side_scroll(t, -d);
		else
			transcript_scroll(t->tr, d);
		return TUI_REDRAW;
	}
	case KA_TOP:
	case KA_BOTTOM:
		if (in_input && !input_is_empty(t->in)) {
			input_key(t->in, key);
			return TUI_REDRAW;
		}
		if (side)
			tui_side_scroll(t, a == KA_TOP ? -(1L << 30) : (1L << 30));
		else if (a == KA_TOP)
			transcript_scroll_top(t->tr);
		else
			transcript_scroll_bottom(t->tr);
		return TUI_REDRAW;
	case KA_MOUSE:
		return tui_mouse(t);
	case KA_HELP:
		return tui_open_side(t, TUI_SIDE_HELP);
	case KA_META:
		return tui_open_side(t, TUI_SIDE_META);
	case KA_SESSIONS:
		return tui_open_side(t, TUI_SIDE_SESSIONS);
	case KA_REASONING:
		tui_message(t, false, "%s", transcript_toggle_reasoning(t->tr)
						    ? "reasoning unfolded (F4 folds it)"
						    : "reasoning folded (F4 unfolds it)");
		return TUI_REDRAW;
	case KA_FOCUS_NEXT:
		if (in_input && input_is_command(t->in)) {
			input_key(t->in, '\t');
			return TUI_RESIZE;
		}
		tui_focus_next(t);
		return TUI_REDRAW;
	case KA_CLOSE:
		t->side = TUI_SIDE_NONE;
		t->focus = KEYS_FOCUS_INPUT;
		return TUI_RESIZE;
	case KA_REDRAW:
		clearok(curscr, TRUE);
		return TUI_RESIZE;
	case KA_SEARCH:
	case KA_SEARCH_NEXT:
	case KA_ACTIVATE:
	case KA_SESSION_NEW:
	case KA_SESSION_RENAME:
	case KA_SESSION_DELETE:
		return tui_side_action(t, a);
	case KA_NONE:
	case KA_COUNT:
		break;
	}
	return 0;
}

static unsigned tui_confirm_key(struct tui *t, int key)
{
	enum tui_confirm c = t->confirm;
	t->confirm = TUI_CONFIRM_NONE;
	bool yes = key == 'y' || key == 'Y';
	if (c == TUI_CONFIRM_QUIT && yes)
		return TUI_QUIT;
	if (c == TUI_CONFIRM_SIDE && t->side == TUI_SIDE_SESSIONS) {
		char err[256] = "";
		if (sessions_confirm(t->sessions, yes, t->w, err, sizeof(err)) < 0)
			tui_message(t, true, "%s", err);
	}
	return TUI_REDRAW;
}

static unsigned tui_key(struct tui *t, int key)
{
	if (key == KEYS_FN(KEY_RESIZE))
		return TUI_RESIZE;
	if (t->confirm != TUI_CONFIRM_NONE)
		return tui_confirm_key(t, key);
	t->message[0] = '\0';
	if (key == KEYS_PASTE_BEGIN) {
		t->paste = true;
		return 0;
	}
	if (key == KEYS_PASTE_END) {
		t->paste = false;
		return TUI_RESIZE;
	}
	if (t->paste) {
		/* Pasted text goes in whole: newlines do not send. */
		if (key == '\r' || key == '\n') {
			input_insert(t->in, "\n");
		} else if (key == '\t' || (key >= 0x20 && key < 0x1000000)) {
			input_key(t->in, key);
		}
		return TUI_REDRAW;
	}
	if (tui_side_prompting(t))
		return tui_side_prompt_key(t, key);
	enum keys_action a = keys_lookup(t->focus, key);
	if (a != KA_NONE)
		return tui_action(t, a, key);
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

/* Reads one key from curses as a keys.h code, or -1 when none is waiting. */
static int tui_read_key(struct tui *t)
{
	wint_t ch;
	int r = wget_wch(t->w_keys, &ch);
	if (r == ERR)
		return -1;
	if (r == KEY_CODE_YES) {
		if (ch == TUI_KEY_PASTE_BEGIN)
			return KEYS_PASTE_BEGIN;
		if (ch == TUI_KEY_PASTE_END)
			return KEYS_PASTE_END;
		return KEYS_FN((int)ch);
	}
	if (ch == KEYS_ESC) {
		/* Escape followed at once by a character is Alt plus that key. */
		wint_t next;
		int r2 = wget_wch(t->w_keys, &next);
		if (r2 == OK)
			return KEYS_ALT((int)next);
		if (r2 == KEY_CODE_YES)
			return KEYS_FN((int)next); /* rare: a sequence curses split */
		return KEYS_ESC;
	}
	return (int)ch;
}

/* ---- events ---- */

static unsigned tui_event(struct tui *t, const struct ring_event *ev)
{
	bool cont = t->more;
	t->more = (ev->flags & RING_F_MORE) != 0;
	const char *d = ev->data ? ev->data : "";
	switch ((enum worker_event)ev->kind) {
	case WORKER_EV_STATE:
		if (ev->a == WORKER_STATE_IDLE || ev->a == WORKER_STATE_FAILED)
			t->load_frac = 1;
		return TUI_REDRAW;
	case WORKER_EV_LOAD_PROGRESS:
		t->load_frac = ev->x;
		snprintf(t->load_what, sizeof(t->load_what), "%s", d);
		return TUI_REDRAW;
	case WORKER_EV_CLEAR:
		transcript_clear(t->tr);
		return TUI_REDRAW;
	case WORKER_EV_TURN:
		if (cont) {
			transcript_append(t->tr, d, ev->len);
		} else {
			transcript_add(t->tr, ev->a == 0 ? TRANSCRIPT_USER : TRANSCRIPT_ASSISTANT, d,
				       ev->len);
			if (ev->x == 1)
				transcript_mark_partial(t->tr);
		}
		return TUI_REDRAW;
	case WORKER_EV_REPLY_START:
		transcript_add(t->tr, TRANSCRIPT_ASSISTANT, "", 0);
		return TUI_REDRAW;
	case WORKER_EV_TEXT:
		transcript_append(t->tr, d, ev->len);
		return TUI_REDRAW;
	case WORKER_EV_REASONING:
		transcript_append_reasoning(t->tr, d, ev->len, (int)ev->a);
		return TUI_REDRAW;
	case WORKER_EV_DONE:
		if (ev->x > 0) /* the final count of the reasoning's tokens */
			transcript_append_reasoning(t->tr, "", 0, (int)ev->x);
		if (ev->b == CONV_STOP_USER || ev->b == CONV_STOP_LIMIT ||
		    ev->b == CONV_STOP_CTX_FULL)
			transcript_mark_partial(t->tr);
		uilog_printf(&t->log, "reply done: %lld tokens, %s", (long long)ev->a,
			     conv_stop_reason_name((enum conv_stop_reason)ev->b));
		return TUI_REDRAW;
	case WORKER_EV_STATS:
		uilog_printf(&t->log, "stats: prompt %lld tok %.1f tok/s, gen %lld tok %.1f tok/s",
			     (long long)ev->a, ev->x, (long long)ev->b, ev->y);
		return TUI_REDRAW;
	case WORKER_EV_CTX_SHIFTED:
	case WORKER_EV_INFO:
	case WORKER_EV_ERROR: {
		enum transcript_kind k = ev->kind == WORKER_EV_ERROR ? TRANSCRIPT_ERROR
					 : ev->kind == WORKER_EV_INFO && ev->a == 0 ? TRANSCRIPT_INFO
					 : TRANSCRIPT_WARNING;
		if (cont)
			transcript_append(t->tr, d, ev->len);
		else
			transcript_add(t->tr, k, d, ev->len);
		if (ev->kind == WORKER_EV_ERROR) {
			uilog_printf(&t->log, "worker error %lld%s: %s", (long long)ev->a,
				     ev->b ? " (fatal)" : "", d);
			/* The engine cannot start: leave the full screen so the message
			 * stays readable on the terminal, as in line mode. */
			if (ev->b) {
				snprintf(t->fatal, sizeof(t->fatal), "%s", d);
				return TUI_QUIT;
			}
		}
		return TUI_REDRAW;
	}
	case WORKER_EV_SAVED:
		if (ev->a == 0)
			tui_message(t, false, "saved session %s", d);
		if (t->sessions)
			sessions_on_saved(t->sessions, d);
		return TUI_REDRAW;
	case WORKER_EV_SESSION:
		tui_message(t, ev->a != 0, "%s", d);
		if (t->sessions)
			sessions_on_result(t->sessions, d);
		return TUI_REDRAW;
	case WORKER_EV_COUNT:
		break;
	}
	return 0;
}

/* ---- set-up and tear-down ---- */

static void tui_signals(bool install)
{
	static const int sigs[] = { SIGTERM, SIGHUP, SIGINT, SIGWINCH };
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = install ? tui_on_signal : SIG_DFL;
	sigemptyset(&sa.sa_mask);
	for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
		sigaction(sigs[i], &sa, NULL);
}

static int tui_start(struct tui *t)
{
	if (pipe(t->sig_pipe) < 0)
		return -1;
	for (int i = 0; i < 2; i++)
		fcntl(t->sig_pipe[i], F_SETFL, fcntl(t->sig_pipe[i], F_GETFL) | O_NONBLOCK);
	tui_sig_fd = t->sig_pipe[1];
	/* Installed before initscr so curses leaves SIGWINCH to us. */
	tui_signals(true);
	setlocale(LC_ALL, "");
	uilog_open(&t->log);
	set_escdelay(TUI_ESCDELAY);
	if (!initscr())
		return -1;
	t->curses_on = true;
	raw();
	noecho();
	nonl();
	draw_init_colors();
	t->w_keys = newwin(1, 1, 0, 0);
	keypad(t->w_keys, TRUE);
	nodelay(t->w_keys, TRUE);
	/* Home and End arrive as ESC [1~ / ESC [4~ from tmux and screen, and
	 * as ESC [H / ESC [F or ESC [7~ / ESC [8~ from other terminals, whatever
	 * TERM says; all of them mean Home and End here. */
	define_key("\033[1~", KEY_HOME);
	define_key("\033[4~", KEY_END);
	define_key("\033[H", KEY_HOME);
	define_key("\033[F", KEY_END);
	define_key("\033[7~", KEY_HOME);
	define_key("\033[8~", KEY_END);
	define_key("\033[200~", TUI_KEY_PASTE_BEGIN);
	define_key("\033[201~", TUI_KEY_PASTE_END);
	mousemask(BUTTON4_PRESSED | BUTTON5_PRESSED, NULL);
	mouseinterval(0);
	/* Bracketed paste: the terminal marks pasted text. */
	fputs("\033[?2004h", stdout);
	fflush(stdout);
	t->in = input_new(t->args->history_path);
	t->tr = transcript_new();
	if (!t->in || !t->tr)
		return -1;
	t->focus = KEYS_FOCUS_INPUT;
	tui_layout(t);
	uilog_printf(&t->log, "ui started (%dx%d)", t->cols, t->rows);
	return 0;
}

static void tui_stop(struct tui *t)
{
	if (t->curses_on) {
		t->curses_on = false;
		fputs("\033[?2004l", stdout);
		fflush(stdout);
		tui_delwins(t);
		if (t->w_keys)
			delwin(t->w_keys);
		endwin();
	}
	input_free(t->in);
	transcript_free(t->tr);
	listview_free(t->help);
	meta_free(t->meta);
	sessions_free(t->sessions);
	tui_signals(false);
	tui_sig_fd = -1;
	for (int i = 0; i < 2; i++)
		if (t->sig_pipe[i] > 0)
			close(t->sig_pipe[i]);
	uilog_printf(&t->log, "ui stopped");
	uilog_close(&t->log);
}

/* Applies a terminal size change reported by SIGWINCH. */
static void tui_winch(void)
{
	struct winsize ws;
	if (ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_row > 0 && ws.ws_col > 0)
		resizeterm(ws.ws_row, ws.ws_col); /* queues KEY_RESIZE */
}

int tui_run(struct worker *w, const struct tui_args *args)
{
	struct tui t;
	memset(&t, 0, sizeof(t));
	t.w = w;
	t.ring = worker_ring(w);
	t.args = args;
	t.sig_pipe[0] = t.sig_pipe[1] = -1;
	t.log.saved_stderr = -1;
	tui_sig_quit = tui_sig_winch = 0;
	if (tui_start(&t) < 0) {
		tui_stop(&t);
		fprintf(stderr, "llamaterm: cannot start the full-screen interface "
				"(try 'llamaterm chat --plain')\n");
		return 1;
	}
	unsigned flags = TUI_RESIZE;
	bool pending = false; /* events arrived that are not drawn yet */
	int64_t last_draw = 0;
	int status = 0;
	for (;;) {
		struct ring_event ev;
		unsigned ev_flags = 0;
		while (ring_pop(t.ring, &ev) > 0)
			ev_flags |= tui_event(&t, &ev);
		if (tui_sig_quit) {
			uilog_printf(&t.log, "signal %d: quitting", (int)tui_sig_quit);
			status = 128 + (int)tui_sig_quit;
			break;
		}
		if (tui_sig_winch) {
			tui_sig_winch = 0;
			tui_winch();
		}
		int key;
		while ((key = tui_read_key(&t)) >= 0)
			flags |= tui_key(&t, key);
		flags |= ev_flags & TUI_QUIT;
		if (flags & TUI_QUIT)
			break;
		if (flags & TUI_RESIZE)
			tui_layout(&t);
		pending |= ev_flags != 0;
		int64_t now = tui_now_ms();
		/* Keys are answered at once; streamed text waits for the next frame. */
		if (flags || input_dirty(t.in) || (pending && now - last_draw >= TUI_FRAME_MS)) {
			tui_draw(&t);
			last_draw = now;
			pending = false;
		}
		flags = 0;
		if (!ring_prepare_sleep(t.ring))
			continue;
		struct pollfd fds[3] = {
			{ .fd = STDIN_FILENO, .events = POLLIN },
			{ .fd = ring_wake_fd(t.ring), .events = POLLIN },
			{ .fd = t.sig_pipe[0], .events = POLLIN },
		};
		int timeout = worker_busy(w) ? TUI_TICK_MS : -1;
		if (pending) {
			int64_t left = TUI_FRAME_MS - (tui_now_ms() - last_draw);
			timeout = left < 1 ? 1 : (int)left;
		}
		int n = poll(fds, 3, timeout);
		if (n == 0 && !pending) {
			t.tick++;
			flags |= TUI_REDRAW;
		}
		if (n > 0 && (fds[2].revents & POLLIN)) {
			char buf[64];
			while (read(t.sig_pipe[0], buf, sizeof(buf)) > 0) {
			}
		}
		if (n > 0 && (fds[0].revents & (POLLHUP | POLLERR))) {
			uilog_printf(&t.log, "terminal closed: quitting");
			status = 1;
			break;
		}
	}
	tui_stop(&t);
	if (t.fatal[0]) {
		fprintf(stderr, "llamaterm chat: %s\n", t.fatal);
		status = 1;
	}
	return status;
}
