/* The worker's parts shared by its files (worker.c: the thread, the
 * commands and the events; worker_session.c: saving, loading and the
 * session store). Only those two include it; everyone else has worker.h. */
#ifndef LT_WORKER_IMPL_H
#define LT_WORKER_IMPL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "conversation.h"
#include "params.h"
#include "ring.h"
#include "worker.h"

struct wcmd {
	enum worker_cmd kind;
	char *a1, *a2;
	size_t n_bad; /* invalid UTF-8 sequences replaced in a1 and a2 */
	struct wcmd *next;
};

/* What the chat runs on: the engine in this process (worker_local.c) or an
 * OpenAI-compatible server (worker_remote.c). The rest of the worker only
 * knows w->conv, which both create; nothing above the worker knows which
 * one runs. All three run on the engine thread. */
struct worker_backend {
	/* Opens the model or the connection (telling progress as events) and
	 * creates w->conv, with the template and cfg's settings. */
	int (*open)(struct worker *w, char *err, size_t errlen);
	/* /info: the model and where it runs, as WORKER_EV_INFO lines. */
	void (*info)(struct worker *w);
	/* Frees what open made except w->conv (freed first). */
	void (*close)(struct worker *w);
};

extern const struct worker_backend worker_backend_local;
extern const struct worker_backend worker_backend_remote;

struct worker {
	/* Set once before the thread starts. */
	struct worker_config cfg;
	const struct worker_backend *be;
	char **strs; /* copies of every string in cfg, to free */
	int n_strs;
	size_t cfg_bad; /* invalid UTF-8 sequences replaced in them */
	struct ring *ring;
	pthread_t thread;
	bool started;

	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct wcmd *q_head, *q_tail; /* under mu */
	bool running;                 /* under mu: a command is being run */
	char *details;                /* under mu: worker_model_details, or NULL */
	struct worker_status st;      /* under mu */

	atomic_bool stop;   /* ends the reply in progress */
	atomic_int quit;    /* lets ring waits give up when nobody reads any more */

	/* Owned by the engine thread. */
	struct model *model;
	struct vocab *vocab;
	struct ctx *ctx;
	struct conv *conv;
	struct remote *remote; /* the remote backend's client */
	bool details_ok;       /* w->details holds the server's answers */
	char **tdirs;
	size_t n_tdirs;
	uint64_t fingerprint, model_size;
	char session[WORKER_NAME_MAX + 1];
	struct session_journal *jn; /* the open session's file, or NULL before its first save */
	int64_t created;
	bool dirty;        /* changed since the last save */
	bool reply_open;   /* WORKER_EV_REPLY_START sent, WORKER_EV_DONE not yet */
	int reply_index;   /* the turn index of the open reply */
	/* Context shifts during a reply, told after it ends: a notice in the
	 * middle would split the reply's text around it. */
	struct held_shift {
		int64_t dropped, kept;
		char *what;
	} *held;
	int n_held;
	char *attach;      /* /read files waiting for the next message, or NULL */
	double live_t;     /* the reply's seconds at the last live status update */
};

/* ---- events (worker.c) ---- */

void worker_emit(struct worker *w, enum worker_event kind, int64_t a, int64_t b, double x,
		 const char *text);
/* An info line (warning: 1 for a warning), at most 1 KiB. */
void worker_info(struct worker *w, int warning, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* what, then s quoted with its escapes as they are typed. */
void worker_quoted(struct worker *w, const char *what, const char *s);
void worker_error(struct worker *w, int code, const char *msg);
/* The conversation's generation settings as the parameter table has them. */
struct gen_params worker_gen(const struct conv *c);
/* Copies what the status shows into w->st. */
void worker_status_update(struct worker *w);
void worker_set_state(struct worker *w, enum worker_state s);
/* Sends the transcript's first upto turns again (after a load or undo). */
void worker_replay(struct worker *w, int upto);

/* ---- sessions (worker_session.c) ---- */

/* Saves the conversation (as name, else under its own or a dated name);
 * autosave: after a reply or on quitting. Returns 0 or an lt_error (told). */
int worker_save(struct worker *w, const char *name, bool autosave);
/* Saves when autosave is on and something changed. */
void worker_autosave(struct worker *w);
int worker_load_template(struct worker *w, const char *name, struct template **t, char *err,
			 size_t errlen);
/* Resumes the session name (told as events). */
int worker_load(struct worker *w, const char *name);
/* After resuming: the options the command line gave win (worker.h). */
void worker_apply_overrides(struct worker *w);
void worker_session_rename(struct worker *w, const char *from, const char *to);
void worker_session_delete(struct worker *w, const char *name);

#endif
