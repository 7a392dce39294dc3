/* The full-screen chat: one event loop on the UI thread that waits on the
 * terminal, the worker's wake pipe and a signal pipe, drains the event
 * ring, dispatches keys through the key table and redraws what changed.
 *
 * Only this thread calls curses or readline. Signals only set a flag and
 * write a byte to the signal pipe; the loop acts on them, so SIGTERM and
 * SIGHUP restore the terminal like a normal quit, and a resize arrives as
 * one KEY_RESIZE handled in actions_key.
 *
 * What keys do is in actions.c, what worker events do in feed.c, the side
 * panes behind pane.h; this file lays out and draws the windows without
 * knowing which side pane is shown. */
#include "tui.h"

#include <errno.h>
#include <stdint.h>
#include <fcntl.h>
#include <locale.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include "draw.h"
#include "pane_status.h"
#include "tui_impl.h"
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
/* Raw curses codes for the bracketed paste markers. */
#define TUI_KEY_PASTE_BEGIN (KEY_MAX + 1)
#define TUI_KEY_PASTE_END (KEY_MAX + 2)

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

void tui_message(struct tui *t, bool error, const char *fmt, ...)
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
	if (t->side >= 0) {
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

static void tui_draw(struct tui *t)
{
	if (t->too_small || !t->w_tr || !t->w_status || !t->w_in) {
		erase();
		mvprintw(0, 0, "terminal too small");
		mvprintw(1, 0, "(%dx%d; needs %dx%d)", t->cols, t->rows, TUI_MIN_COLS, TUI_MIN_ROWS);
		mvprintw(2, 0, "typing is paused;");
		mvprintw(3, 0, "F10 quits");
		wnoutrefresh(stdscr);
		doupdate();
		return;
	}
	if (!t->side_overlay || !t->w_side) {
		transcript_draw(t->tr, t->w_tr, t->focus == KEYS_FOCUS_TRANSCRIPT);
		wnoutrefresh(t->w_tr);
	}
	if (t->w_side && t->side >= 0) {
		bool f = t->focus != KEYS_FOCUS_INPUT && t->focus != KEYS_FOCUS_TRANSCRIPT;
		t->panes[t->side]->draw(t->pane_state[t->side], t->w_side, f);
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
	uilog_open(&t->log, t->args->opts->verbose);
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
	if (input_new(&t->in, t->args->history_path) < 0 || transcript_new(&t->tr) < 0)
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
	for (size_t i = 0; i < t->n_panes; i++)
		if (t->pane_state[i])
			t->panes[i]->free(t->pane_state[i]);
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

void tui_suspend(struct tui *t)
{
	uilog_printf(&t->log, "suspended (Ctrl-Z)");
	fputs("\033[?2004l", stdout);
	fflush(stdout);
	endwin();
	/* The default action stops every thread; a reply being generated
	 * waits where it is. Execution goes on here after SIGCONT. */
	kill(getpid(), SIGTSTP);
	fputs("\033[?2004h", stdout);
	fflush(stdout);
	refresh();
	clearok(curscr, TRUE);
	tui_winch(); /* the terminal may have been resized meanwhile */
	uilog_printf(&t->log, "continued");
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
	t.panes = pane_table(&t.n_panes);
	t.side = -1;
	tui_sig_quit = tui_sig_winch = 0;
	if (tui_start(&t) < 0) {
		tui_stop(&t);
		fprintf(stderr, "llamaterm: cannot start the full-screen interface "
				"(try 'llamaterm chat --plain')\n");
		return 1;
	}
	unsigned flags = TUI_RESIZE;
	bool pending = false; /* events arrived that are not drawn yet */
	int64_t last_draw = 0, last_tick = tui_now_ms();
	int status = 0;
	for (;;) {
		struct ring_event ev;
		unsigned ev_flags = 0;
		while (ring_pop(t.ring, &ev) > 0)
			ev_flags |= feed_event(&t, &ev);
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
			flags |= actions_key(&t, key);
		flags |= ev_flags & TUI_QUIT;
		if (flags & TUI_QUIT)
			break;
		if (flags & TUI_RESIZE)
			tui_layout(&t);
		pending |= ev_flags != 0;
		bool busy = worker_busy(w);
		int64_t now = tui_now_ms();
		if (busy && now - last_tick >= TUI_TICK_MS) {
			t.tick++;
			last_tick = now;
			pending = true;
		}
		/* Keys are answered at once; streamed text waits for the next frame. */
		if (flags || input_dirty(t.in) || (pending && now - last_draw >= TUI_FRAME_MS)) {
			tui_draw(&t);
			last_draw = now;
			pending = false;
		}
		flags = 0;
		/* While the worker is busy its events are collected once a frame:
		 * being woken for each token would take a core from the engine's
		 * threads 300 times a second. Idle, the first event wakes us. */
		int64_t frame_left = TUI_FRAME_MS - (now - last_draw);
		int timeout = -1;
		nfds_t nfds = 3;
		if (busy) {
			nfds = 2; /* not the ring's wake-up pipe */
			int64_t left = pending ? frame_left : TUI_FRAME_MS;
			int64_t tick = TUI_TICK_MS - (now - last_tick);
			if (tick < left)
				left = tick;
			timeout = left < 1 ? 1 : (int)left;
		} else {
			if (!ring_prepare_sleep(t.ring))
				continue;
			/* The last events of a command still wait for their frame. */
			if (pending)
				timeout = frame_left < 1 ? 1 : (int)frame_left;
		}
		struct pollfd fds[3] = {
			{ .fd = STDIN_FILENO, .events = POLLIN },
			{ .fd = t.sig_pipe[0], .events = POLLIN },
			{ .fd = ring_wake_fd(t.ring), .events = POLLIN },
		};
		int n = poll(fds, nfds, timeout);
		if (n > 0 && (fds[1].revents & POLLIN)) {
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
