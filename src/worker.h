/* The engine thread of a chat: it owns the model, the context and the
 * conversation, takes commands from a queue and reports everything it does
 * as events on a ring (ring.h) that exactly one other thread (the curses UI,
 * or the main thread of 'chat --plain') consumes.
 *
 * Commands (worker_post) never block for long: they are queued (mutex +
 * condition variable) and run in order on the engine thread. The worker
 * is the only writer of session files: saving, but also renaming and
 * deleting them for the sessions list, are its commands, so a rename can
 * never cross an autosave of the same file. The only
 * thing that acts at once is worker_stop, an atomic flag that ends the
 * reply in progress within one token (the context checks it between
 * layers, the generation loop before every token).
 *
 * Events are records on the ring (struct ring_event) whose kind is an
 * enum worker_event, listed below with the numbers (a, b, x, y) and the
 * text (data) each carries. A finished reply is not sent again as
 * WORKER_EV_TURN; the UI keeps the text of the WORKER_EV_TEXT pieces
 * between WORKER_EV_REPLY_START and WORKER_EV_DONE as that turn.
 *
 * Typical consumer (see ring.h for the sleeping protocol):
 *
 *     struct worker *w;
 *     worker_start(&w, &cfg, err, sizeof(err));
 *     struct ring *r = worker_ring(w);
 *     ... poll(ring_wake_fd(r)) / ring_pop(r, &ev) / handle(&ev) ...
 *     worker_post(w, WORKER_CMD_SEND, "Hello", NULL);
 *     ...
 *     worker_free(w);  (posts QUIT, autosaves, joins, frees)
 *
 * The curses UI (ui/tui.h, tui_run) is one such consumer: src/cmd/cmd_chat.c
 * starts the worker, hands it to tui_run when a terminal is present and
 * --plain is not given, and calls worker_free after tui_run returns. */
#ifndef LT_WORKER_H
#define LT_WORKER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "context.h"
#include "conversation.h"
#include "model.h"
#include "params.h"
#include "ring.h"
#include "sampler.h"
#include "worker_cmd.h"

struct worker;

/* What the worker reports on its ring: the kind of each record. */
enum worker_event {
	/* a = enum worker_state. Sent on every change. */
	WORKER_EV_STATE = 1,
	/* x = 0..1; payload: what is being loaded. */
	WORKER_EV_LOAD_PROGRESS,
	/* Forget the shown transcript. Followed by one WORKER_EV_TURN per turn
	 * (after /load, /new, /undo, /regen, /template, /system and at
	 * start-up when a session was resumed): a full replay, in order. */
	WORKER_EV_CLEAR,
	/* a = enum conv_role, b = turn index, x = 1 when the reply was cut
	 * short; payload: the text. Also sent for each user turn the worker
	 * accepts, so the UI never echoes input itself. */
	WORKER_EV_TURN,
	/* b = turn index of the reply being generated. */
	WORKER_EV_REPLY_START,
	/* A piece of the reply: complete UTF-8, stop strings already removed.
	 * Never lost (ring_push_wait). */
	WORKER_EV_TEXT,
	/* A piece of the reply's reasoning block (it comes before the answer's
	 * WORKER_EV_TEXT); a = reasoning tokens so far, b = turn index. In a
	 * replay it follows the reply's WORKER_EV_TURN, whole, with x = 1. */
	WORKER_EV_REASONING,
	/* a = prompt tokens evaluated, b = tokens generated, x = prompt tok/s,
	 * y = generation tok/s. */
	WORKER_EV_STATS,
	/* The reply ended, whether finished, cut by a stop string or stopped by
	 * the user; always the reply's last event. a = tokens generated, b =
	 * enum conv_stop_reason, x = of a, the reasoning's (the count
	 * WORKER_EV_REASONING last gave leaves out the tokens of the end tag). */
	WORKER_EV_DONE,
	/* a = tokens discarded, b = tokens kept; payload: a line saying which
	 * turns left the context. */
	WORKER_EV_CTX_SHIFTED,
	/* a = 0 information, 1 warning; payload: one line (answers to /show,
	 * /info, /stop list; notes). */
	WORKER_EV_INFO,
	/* a = lt_error code, b = 1 when fatal (the worker could not load and
	 * only accepts WORKER_CMD_QUIT); payload: one line naming the file when
	 * there is one. */
	WORKER_EV_ERROR,
	/* a = 1 for an autosave; payload: the session name. */
	WORKER_EV_SAVED,
	/* The answer to WORKER_CMD_SESSION_RENAME or _DELETE: a = 0 when done,
	 * else the negative lt_error; payload: one line saying what was done
	 * or why not. The saved sessions may have changed: lists re-read them. */
	WORKER_EV_SESSION,
	WORKER_EV_COUNT
};

enum worker_state {
	WORKER_STATE_LOADING = 0, /* opening the model or a session */
	WORKER_STATE_IDLE,        /* waiting for a command */
	WORKER_STATE_GENERATING,  /* evaluating a prompt or generating a reply */
	WORKER_STATE_SAVING,      /* writing the session file */
	WORKER_STATE_FAILED,      /* start-up failed; only WORKER_CMD_QUIT is useful */
	WORKER_STATE_QUIT,        /* the thread has finished */
};

/* "loading", "idle", "generating", "saving", "failed", "quit". */
const char *worker_state_name(enum worker_state s);

/* Everything the worker needs to start; strings are copied. */
struct worker_config {
	const char *model_path;      /* the GGUF file; NULL with remote_url */
	const char *remote_url;      /* chat with this OpenAI-compatible server instead */
	const char *remote_model;    /* the model name sent to it; NULL: its first */
	const char *api_key;         /* NULL or its key (never saved) */
	struct model_params model;
	struct ctx_params ctx;
	struct gen_params gen;       /* sampling and reply length (gen.n_ctx is unused: see ctx) */
	uint32_t gen_given;          /* bit i: params_table() row i was given, and wins over a
				      * resumed session's value (as template_name, system,
				      * in_prefix and postfix do when not NULL; stops are added) */
	const char *template_name;   /* NAME or FILE; NULL: from the model, else dialogue */
	const char *system;          /* NULL: the template's default system prompt */
	const char *in_prefix;       /* NULL or text put before each user message */
	const char *postfix;         /* NULL: the template's postfix; else appended to user text */
	const char *const *stops;    /* extra stop strings (the template's are added) */
	int n_stops;
	const char *session;         /* resume this session, or create it; NULL: dated name */
	bool autosave;               /* save after every reply and on quit */
	bool verbose_prompt;         /* tell each prompt's text, special tokens shown */
	bool session_kv_none;        /* sessions keep the transcript only (--session-kv none) */
	bool thinking_off;           /* start with /think off (after a resumed session) */
	size_t ring_capacity;        /* 0: 1 MiB */
};

/* The defaults: library defaults for model and ctx, gen_params_default(),
 * autosave on, everything else NULL/0. */
struct worker_config worker_config_default(void);

/* Longest session name (see session.h for the rules). */
#define WORKER_NAME_MAX 128

/* A copy of what a status bar shows, taken under the worker's mutex. */
struct worker_status {
	enum worker_state state;
	char model[128];         /* general.name, else the file's base name; a remote's name */
	char server[128];        /* a remote's host:port, "" for the local engine */
	char template_name[64];
	char session[WORKER_NAME_MAX + 1]; /* "" until the first save or --session */
	bool saved;              /* the session file holds everything shown */
	int n_ctx_used, n_ctx_max;
	int n_turns;
	double pp_tps, tg_tps;   /* last reply's prompt and generation speed (0 before any) */
	struct gen_params gen;   /* sampling, reply length and the context size in use */
	bool thinking;           /* /think on (reasoning models) */
	bool can_switch_thinking; /* the template has a way to turn it off */
};

/* Creates the ring and starts the engine thread, which loads the model
 * (reporting progress and errors as events) and resumes cfg->session when
 * that file exists. Returns 0, or a negative lt_error with a message when
 * the thread or ring cannot be created. Load failures are events. */
int worker_start(struct worker **out, const struct worker_config *cfg, char *err, size_t errlen);

/* The event ring; the caller is its only consumer. */
struct ring *worker_ring(struct worker *w);

/* Queues a command (arguments copied; NULL where unused). Safe from any
 * one thread. Returns 0, LT_E_INVAL for a missing argument, LT_E_NOMEM. */
int worker_post(struct worker *w, enum worker_cmd cmd, const char *arg1, const char *arg2);

/* Ends the reply in progress (keeping what was generated) within one
 * token. Safe from any thread and from a signal handler. A stop that
 * arrives while idle is forgotten when the next command starts. */
void worker_stop(struct worker *w);

/* Copies the current status. Safe from any thread. */
void worker_status(struct worker *w, struct worker_status *out);

/* What the model pane (F2) shows when there is no model file to read (a
 * remote model: what the server's /v1/models and /props say), as lines of
 * text, malloc'd; NULL when the model is a local file. Safe from any
 * thread. */
char *worker_model_details(struct worker *w);

/* Whether the engine thread is busy (generating, loading or saving) or has
 * commands queued. */
bool worker_busy(struct worker *w);

/* Stops any reply, queues WORKER_CMD_QUIT (autosave) and waits for the
 * thread; worker_status still answers (the saved session's name). The
 * consumer must not read the ring afterwards: events still unread are
 * dropped. NULL is fine. */
void worker_finish(struct worker *w);

/* worker_finish, then frees everything including the ring. */
void worker_free(struct worker *w);

#endif
