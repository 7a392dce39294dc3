/* The engine thread: command queue in, events out. See worker.h. */
#include "worker.h"

#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "attach.h"
#include "escape.h"
#include "paths.h"
#include "params.h"
#include "remote.h"
#include "session.h"
#include "session_journal.h"
#include "template.h"
#include "utf8.h"
#include "vocab.h"
#include "worker_impl.h"

const char *worker_state_name(enum worker_state s)
{
	static const char *const names[] = { "loading", "idle", "generating", "saving", "failed", "quit" };
	return (unsigned)s < sizeof(names) / sizeof(names[0]) ? names[s] : "?";
}

struct worker_config worker_config_default(void)
{
	struct worker_config c;
	memset(&c, 0, sizeof(c));
	c.model = model_params_default();
	c.ctx = ctx_params_default();
	c.gen = gen_params_default();
	c.autosave = true;
	return c;
}

static const char *keep_str(struct worker *w, const char *s, bool text);

/* ---- events ---- */

void worker_emit(struct worker *w, enum worker_event kind, int64_t a, int64_t b, double x,
		 const char *text)
{
	struct ring_event ev = { .kind = (uint16_t)kind, .a = a, .b = b, .x = x,
				 .data = text, .len = text ? strlen(text) : 0 };
	ring_push_wait(w->ring, &ev, -1, &w->quit);
}

void worker_info(struct worker *w, int warning, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
void worker_info(struct worker *w, int warning, const char *fmt, ...)
{
	char line[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	worker_emit(w, WORKER_EV_INFO, warning, 0, 0, line);
}

/* what, then s quoted with its escapes as they are typed (escape.h), so a
 * newline or a leading space in a stop string or postfix shows. */
void worker_quoted(struct worker *w, const char *what, const char *s)
{
	char *q = escape_quote(s);
	worker_info(w, 0, "%s%s", what, q ? q : "(out of memory)");
	free(q);
}

void worker_error(struct worker *w, int code, const char *msg)
{
	worker_emit(w, WORKER_EV_ERROR, code, 0, 0, msg && msg[0] ? msg : lt_strerror(code));
}

/* Copies what the status bar shows (engine thread only). */
/* The conversation's generation parameters as the table sees them. */
struct gen_params worker_gen(const struct conv *c)
{
	struct gen_params gp = { .sampling = *conv_sampling(c), .n_predict = conv_n_predict(c),
				 .n_ctx = conv_n_ctx(c) };
	return gp;
}

void worker_status_update(struct worker *w)
{
	pthread_mutex_lock(&w->mu);
	if (w->conv) {
		w->st.n_ctx_used = conv_n_ids(w->conv);
		w->st.n_ctx_max = conv_n_ctx(w->conv);
		w->st.n_turns = conv_n_turns(w->conv);
		w->st.gen = worker_gen(w->conv);
		snprintf(w->st.template_name, sizeof(w->st.template_name), "%s",
			 template_name(conv_template(w->conv)));
		w->st.thinking = conv_thinking(w->conv);
		w->st.can_switch_thinking = template_can_switch_thinking(conv_template(w->conv));
	}
	snprintf(w->st.session, sizeof(w->st.session), "%s", w->session);
	w->st.saved = !w->dirty;
	pthread_mutex_unlock(&w->mu);
}

void worker_set_state(struct worker *w, enum worker_state s)
{
	pthread_mutex_lock(&w->mu);
	bool changed = w->st.state != s;
	w->st.state = s;
	pthread_mutex_unlock(&w->mu);
	worker_status_update(w);
	if (changed)
		worker_emit(w, WORKER_EV_STATE, s, 0, 0, NULL);
}

/* The whole transcript again, after anything that rewrote it. */
void worker_replay(struct worker *w, int upto)
{
	worker_emit(w, WORKER_EV_CLEAR, 0, 0, 0, NULL);
	for (int i = 0; i < upto; i++) {
		const struct conv_turn *t = conv_turn(w->conv, i);
		worker_emit(w, WORKER_EV_TURN, t->role, i, (t->flags & CONV_TURN_PARTIAL) ? 1 : 0, t->text);
		if (t->reasoning[0]) {
			struct ring_event ev = { .kind = WORKER_EV_REASONING, .a = t->n_reasoning, .b = i,
						 .x = 1, .data = t->reasoning,
						 .len = strlen(t->reasoning) };
			ring_push_wait(w->ring, &ev, -1, &w->quit);
		}
	}
}

/* ---- conversation callbacks ---- */

static void cb_turn(void *ud, int index, const struct conv_turn *t)
{
	struct worker *w = ud;
	if (t->role == CONV_ROLE_USER) {
		worker_emit(w, WORKER_EV_TURN, t->role, index, 0, t->text);
	} else {
		w->reply_open = true;
		w->reply_index = index;
		worker_emit(w, WORKER_EV_REPLY_START, 0, index, 0, NULL);
	}
}

/* The status's live speed and context use are refreshed this often while
 * a reply streams (the status bar asks at every frame). */
#define LIVE_STATUS_SECONDS 0.1

/* After each token: the speed so far and the context use, for the status
 * bar, at most every LIVE_STATUS_SECONDS (the lock is not free). */
static void cb_token(void *ud, int n_gen, double t_gen, int n_ctx_used)
{
	struct worker *w = ud;
	if (t_gen - w->live_t < LIVE_STATUS_SECONDS && n_gen > 1)
		return;
	w->live_t = t_gen;
	pthread_mutex_lock(&w->mu);
	if (t_gen > 0)
		w->st.tg_tps = n_gen / t_gen;
	w->st.n_ctx_used = n_ctx_used;
	pthread_mutex_unlock(&w->mu);
}

/* --verbose-prompt shows at most this many bytes of a prompt. */
#define PROMPT_SHOWN_MAX (64 << 10)

/* --verbose-prompt: what is about to be evaluated, as the model sees it. */
static void cb_prompt(void *ud, const int32_t *ids, int n)
{
	struct worker *w = ud;
	if (!w->cfg.verbose_prompt || n <= 0)
		return;
	int len = vocab_detokenize(w->vocab, ids, n, NULL, 0, false, true);
	char *text = len >= 0 ? malloc((size_t)len + 1) : NULL, *line = NULL;
	/* One event must fit the ring: a huge prompt shows its start. */
	int shown = len > PROMPT_SHOWN_MAX ? PROMPT_SHOWN_MAX : len;
	if (text && vocab_detokenize(w->vocab, ids, n, text, (size_t)len + 1, false, true) >= 0 &&
	    asprintf(&line, "prompt (%d tokens): %.*s%s", n, shown, text,
		     shown < len ? "... (cut)" : "") >= 0)
		worker_emit(w, WORKER_EV_INFO, 0, 0, 0, line);
	free(line);
	free(text);
}

static void cb_text(void *ud, const char *text, size_t len)
{
	struct worker *w = ud;
	struct ring_event ev = { .kind = WORKER_EV_TEXT, .data = text, .len = len };
	ring_push_wait(w->ring, &ev, -1, &w->quit);
}

static void cb_reasoning(void *ud, const char *text, size_t len, int n_tokens)
{
	struct worker *w = ud;
	struct ring_event ev = { .kind = WORKER_EV_REASONING, .a = n_tokens, .b = w->reply_index,
				 .data = text, .len = len };
	ring_push_wait(w->ring, &ev, -1, &w->quit);
}

static void cb_shift(void *ud, int n_dropped, int n_kept, const char *what)
{
	struct worker *w = ud;
	if (w->reply_open) {
		struct held_shift *g = realloc(w->held, (size_t)(w->n_held + 1) * sizeof(*g));
		char *copy = strdup(what);
		if (g)
			w->held = g;
		if (g && copy) {
			w->held[w->n_held++] = (struct held_shift){ n_dropped, n_kept, copy };
			return;
		}
		free(copy);
	}
	worker_emit(w, WORKER_EV_CTX_SHIFTED, n_dropped, n_kept, 0, what);
}

/* The shifts held back during the reply that just ended. */
static void emit_held_shifts(struct worker *w)
{
	for (int i = 0; i < w->n_held; i++) {
		worker_emit(w, WORKER_EV_CTX_SHIFTED, w->held[i].dropped, w->held[i].kept, 0,
		     w->held[i].what);
		free(w->held[i].what);
	}
	w->n_held = 0;
}

/* ---- commands ---- */

static void do_reply(struct worker *w, const char *text)
{
	struct conv_callbacks cb = { .ud = w, .on_turn = cb_turn, .on_text = cb_text,
				     .on_reasoning = cb_reasoning, .on_shift = cb_shift,
				     .on_prompt = cb_prompt, .on_token = cb_token };
	struct conv_reply r;
	worker_set_state(w, WORKER_STATE_GENERATING);
	w->reply_open = false;
	w->live_t = 0;
	int rc = text ? conv_send(w->conv, text, &cb, &r) : conv_regenerate(w->conv, &cb, &r);
	if (rc && !(rc == LT_E_ABORTED && !w->reply_open))
		worker_error(w, rc, conv_error(w->conv));
	else if (rc)
		worker_info(w, 0, "stopped before the reply started");
	if (w->reply_open) {
		double pp = r.t_prompt > 0 ? r.n_prompt / r.t_prompt : 0;
		double tg = r.t_gen > 0 ? r.n_gen / r.t_gen : 0;
		struct ring_event ev = { .kind = WORKER_EV_STATS, .a = r.n_prompt, .b = r.n_gen, .x = pp, .y = tg };
		ring_push_wait(w->ring, &ev, -1, &w->quit);
		worker_emit(w, WORKER_EV_DONE, r.n_gen, r.reason, r.n_reasoning, NULL);
		pthread_mutex_lock(&w->mu);
		w->st.pp_tps = pp;
		w->st.tg_tps = tg;
		pthread_mutex_unlock(&w->mu);
		w->reply_open = false;
	}
	emit_held_shifts(w);
	w->dirty = true;
	worker_set_state(w, WORKER_STATE_IDLE);
	worker_autosave(w);
}

static void describe_line(void *ud, const char *text)
{
	worker_info(ud, 0, "  %s", text);
}

/* /read FILE: kept until the next message, which it goes before. */
static void do_attach(struct worker *w, const char *path)
{
	char err[512], *block;
	size_t n_bytes, n_bad;
	int rc = attach_read(path, &block, &n_bytes, &n_bad, err, sizeof(err));
	if (rc) {
		worker_error(w, rc, err);
		return;
	}
	char *all = block;
	if (w->attach && asprintf(&all, "%s\n%s", w->attach, block) < 0) {
		free(block);
		worker_error(w, LT_E_NOMEM, "out of memory");
		return;
	}
	if (all != block)
		free(block);
	free(w->attach);
	w->attach = all;
	worker_info(w, 0, "attached %s (%zu bytes%s); it goes with your next message", path, n_bytes,
		  n_bad ? ", invalid UTF-8 replaced" : "");
}

/* /show, or one part of it (section: "parameters", "system", "template"). */
static void do_show(struct worker *w, const char *section)
{
	struct conv *c = w->conv;
	bool all = !section;
	if (section && !strcmp(section, "parameters")) {
		struct gen_params gp = worker_gen(c);
		params_describe(&gp, describe_line, w);
		return;
	}
	if (all || !strcmp(section, "template"))
		worker_info(w, 0, "template: %s", template_name(conv_template(c)));
	if (all && w->attach)
		worker_info(w, 0, "attached files wait for your next message (%zu bytes)",
			  strlen(w->attach));
	if (!all && strcmp(section, "system") != 0)
		return;
	if (all && template_reasoning_start(conv_template(c))[0])
		worker_info(w, 0, "thinking: %s (past replies %s their reasoning)",
			  conv_thinking(c) ? "on" : "off",
			  template_strip_reasoning(conv_template(c)) ? "lose" : "keep");
	const char *sys = conv_system(c);
	size_t sys_len = strlen(sys);
	/* A long system prompt is shown by its start and its size. */
	if (sys_len > 200) {
		int cut = 200;
		while (cut > 0 && ((unsigned char)sys[cut] & 0xc0) == 0x80)
			cut--;
		worker_info(w, 0, "system: %.*s... (%zu bytes)", cut, sys, sys_len);
	} else {
		worker_info(w, 0, "system: %s", sys[0] ? sys : "(none)");
	}
	if (!all)
		return;
	char *pre = escape_quote(conv_in_prefix(c)), *post = escape_quote(conv_postfix(c));
	worker_info(w, 0, "in-prefix: %s  postfix: %s", pre ? pre : "?", post ? post : "?");
	free(pre);
	free(post);
	const char *const *stops;
	int n = conv_stops(c, &stops);
	worker_info(w, 0, "stop strings: %d", n);
	for (int i = 0; i < n; i++)
		worker_quoted(w, "  ", stops[i]);
	worker_info(w, 0, "sampling:");
	struct gen_params gp = worker_gen(c);
	params_describe(&gp, describe_line, w);
}

/* Goes on with a remote session (/load, the sessions list) on its own
 * server: the remote backend replaces the one running, whose settings the
 * session's then replace. The key stays the one given at the start. */
static void worker_follow_session(struct worker *w, const char *name)
{
	char *path = NULL, err[512], warn[256];
	struct session_data d;
	memset(&d, 0, sizeof(d));
	if (session_path(&path, name, err, sizeof(err)) != 0 ||
	    session_read_transcript(path, &d, warn, sizeof(warn), err, sizeof(err)) != 0) {
		free(path);
		return; /* worker_load tells what is wrong */
	}
	free(path);
	if (!d.endpoint || !d.endpoint[0] ||
	    (w->remote && !strcmp(d.endpoint, remote_url(w->remote)))) {
		session_data_free(&d);
		return;
	}
	struct conv *old_conv = w->conv;
	struct remote *old_remote = w->remote;
	const struct worker_backend *old_be = w->be;
	const char *old_url = w->cfg.remote_url, *old_model = w->cfg.remote_model;
	w->cfg.remote_url = keep_str(w, d.endpoint, false);
	w->cfg.remote_model = d.model_name && d.model_name[0] ? keep_str(w, d.model_name, false) : NULL;
	w->conv = NULL;
	w->remote = NULL;
	int rc = w->cfg.remote_url ? worker_backend_remote.open(w, err, sizeof(err)) : LT_E_NOMEM;
	struct conv *conv = w->conv;
	struct remote *remote = w->remote;
	/* The old backend's parts go (or, on failure, the new one's). */
	w->conv = rc ? conv : old_conv;
	w->remote = rc ? remote : old_remote;
	conv_free(w->conv);
	w->conv = NULL;
	if (rc) {
		worker_backend_remote.close(w);
		w->conv = old_conv;
		w->remote = old_remote;
		w->cfg.remote_url = old_url;
		w->cfg.remote_model = old_model;
		worker_error(w, rc, err);
	} else {
		old_be->close(w);
		w->be = &worker_backend_remote;
		w->conv = conv;
		w->remote = remote;
		w->fingerprint = w->model_size = 0;
		conv_set_abort(w->conv, &w->stop);
		worker_info(w, 0, "session '%s' goes on with %s on %s", name, remote_model(remote),
			    remote_url(remote));
	}
	worker_status_update(w);
	session_data_free(&d);
}

/* Runs one command; returns false for QUIT. */
static bool run_cmd(struct worker *w, struct wcmd *cmd)
{
	struct conv *c = w->conv;
	char err[512];
	int rc = 0;
	/* After worker_free began, only the final QUIT runs. */
	if (atomic_load(&w->quit) && cmd->kind != WORKER_CMD_QUIT)
		return true;
	if (cmd->n_bad)
		worker_info(w, 1, "the input was not valid UTF-8: %zu invalid byte sequence%s replaced "
			  "with U+FFFD", cmd->n_bad, cmd->n_bad == 1 ? "" : "s");
	atomic_store(&w->stop, false);
	switch (cmd->kind) {
	case WORKER_CMD_SEND:
		if (w->attach) {
			/* The files go first, so the message can refer to them. */
			char *both = NULL;
			if (asprintf(&both, "%s\n%s", w->attach, cmd->a1) < 0) {
				worker_error(w, LT_E_NOMEM, "out of memory");
				break;
			}
			free(w->attach);
			w->attach = NULL;
			do_reply(w, both);
			free(both);
			break;
		}
		do_reply(w, cmd->a1);
		break;
	case WORKER_CMD_ATTACH:
		do_attach(w, cmd->a1);
		break;
	case WORKER_CMD_REGEN: {
		int n = conv_n_turns(c);
		if (n && conv_turn(c, n - 1)->role == CONV_ROLE_ASSISTANT)
			n--;
		worker_replay(w, n);
		do_reply(w, NULL);
		break;
	}
	case WORKER_CMD_UNDO:
		if ((rc = conv_undo(c)) != 0) {
			worker_error(w, rc, conv_error(c));
		} else {
			w->dirty = true;
			worker_replay(w, conv_n_turns(c));
		}
		break;
	case WORKER_CMD_SAVE:
		worker_save(w, cmd->a1, false);
		break;
	case WORKER_CMD_LOAD:
		worker_autosave(w);
		worker_follow_session(w, cmd->a1);
		worker_load(w, cmd->a1);
		break;
	case WORKER_CMD_NEW:
		worker_autosave(w);
		conv_clear(c);
		free(w->attach);
		w->attach = NULL;
		w->session[0] = '\0';
		session_journal_free(w->jn);
		w->jn = NULL;
		w->created = 0;
		w->dirty = false;
		worker_replay(w, 0);
		worker_info(w, 0, "new conversation");
		break;
	case WORKER_CMD_SET_PARAM: {
		struct gen_params gp = worker_gen(c);
		rc = params_apply(&gp, cmd->a1, cmd->a2, err, sizeof(err));
		if (rc == 0 && (rc = conv_set_sampling(c, &gp.sampling)) != 0)
			snprintf(err, sizeof(err), "%s", conv_error(c));
		if (rc) {
			worker_error(w, rc, err);
		} else {
			const struct param_def *d = params_find(cmd->a1);
			char val[64];
			conv_set_n_predict(c, gp.n_predict);
			w->dirty = true;
			params_value(d, &gp, val, sizeof(val));
			worker_info(w, 0, "%s = %s", d->name, val);
		}
		break;
	}
	case WORKER_CMD_SET_SYSTEM:
		worker_set_state(w, WORKER_STATE_GENERATING);
		if ((rc = conv_set_system(c, cmd->a1)) != 0)
			worker_error(w, rc, conv_error(c));
		else
			worker_info(w, 0, "system prompt %s", cmd->a1[0] ? "set" : "cleared");
		w->dirty = true;
		break;
	case WORKER_CMD_SET_TEMPLATE: {
		struct template *t;
		if ((rc = worker_load_template(w, cmd->a1, &t, err, sizeof(err))) != 0) {
			worker_error(w, rc, err);
			break;
		}
		worker_set_state(w, WORKER_STATE_GENERATING);
		if ((rc = conv_set_template(c, t)) != 0)
			worker_error(w, rc, conv_error(c));
		else
			worker_info(w, 0, "template: %s", template_name(conv_template(c)));
		w->dirty = true;
		break;
	}
	case WORKER_CMD_STOP_ADD:
		if ((rc = conv_stop_add(c, cmd->a1)) != 0)
			worker_error(w, rc, conv_error(c));
		else
			worker_quoted(w, "stop string added: ", cmd->a1);
		w->dirty = true;
		break;
	case WORKER_CMD_STOP_RM:
		if ((rc = conv_stop_remove(c, cmd->a1)) != 0)
			worker_error(w, rc, conv_error(c));
		else
			worker_quoted(w, "stop string removed: ", cmd->a1);
		w->dirty = true;
		break;
	case WORKER_CMD_STOP_LIST: {
		const char *const *stops;
		int n = conv_stops(c, &stops);
		worker_info(w, 0, "%d stop string%s", n, n == 1 ? "" : "s");
		for (int i = 0; i < n; i++)
			worker_quoted(w, "  ", stops[i]);
		break;
	}
	case WORKER_CMD_POSTFIX:
		conv_set_postfix(c, cmd->a1);
		w->dirty = true;
		worker_quoted(w, "postfix: ", cmd->a1);
		break;
	case WORKER_CMD_SHOW:
		do_show(w, cmd->a1);
		break;
	case WORKER_CMD_THINK:
		if (cmd->a1 && (rc = conv_set_thinking(c, !strcmp(cmd->a1, "on"))) != 0) {
			worker_error(w, rc, conv_error(c));
			break;
		}
		if (cmd->a1)
			w->dirty = true;
		worker_info(w, 0, "thinking: %s%s", conv_thinking(c) ? "on" : "off",
			  template_reasoning_start(conv_template(c))[0]
				  ? ""
				  : " (this template's model does not reason)");
		break;
	case WORKER_CMD_INFO:
		w->be->info(w);
		break;
	case WORKER_CMD_SESSION_RENAME:
		worker_session_rename(w, cmd->a1, cmd->a2);
		break;
	case WORKER_CMD_SESSION_DELETE:
		worker_session_delete(w, cmd->a1);
		break;
	case WORKER_CMD_QUIT:
		worker_autosave(w);
		return false;
	}
	worker_set_state(w, WORKER_STATE_IDLE);
	return true;
}

/* ---- start-up ---- */

static int worker_open(struct worker *w, char *err, size_t errlen)
{
	const struct worker_config *cfg = &w->cfg;
	int rc = w->be->open(w, err, errlen);
	if (rc)
		return rc;
	conv_set_abort(w->conv, &w->stop);
	if (w->cfg_bad)
		worker_info(w, 1, "the options were not valid UTF-8: %zu invalid byte sequence%s replaced "
			  "with U+FFFD", w->cfg_bad, w->cfg_bad == 1 ? "" : "s");
	if (cfg->session) {
		if ((rc = session_name_check(cfg->session, err, errlen)) != 0)
			return rc;
		if (session_exists(cfg->session)) {
			if ((rc = worker_load(w, cfg->session)) != 0) {
				/* Never overwrite a file we could not read. */
				snprintf(err, errlen, "cannot resume session '%s'", cfg->session);
				return rc;
			}
			worker_apply_overrides(w);
		} else {
			snprintf(w->session, sizeof(w->session), "%s", cfg->session);
		}
	}
	if (cfg->thinking_off && conv_set_thinking(w->conv, false) != 0)
		worker_info(w, 1, "--think off: %s", conv_error(w->conv));
	worker_emit(w, WORKER_EV_LOAD_PROGRESS, 0, 0, 1.0, "ready");
	return 0;
}

static struct wcmd *queue_pop(struct worker *w)
{
	pthread_mutex_lock(&w->mu);
	while (!w->q_head)
		pthread_cond_wait(&w->cv, &w->mu);
	struct wcmd *c = w->q_head;
	w->q_head = c->next;
	if (!w->q_head)
		w->q_tail = NULL;
	w->running = true;
	pthread_mutex_unlock(&w->mu);
	return c;
}

static void cmd_free(struct wcmd *c)
{
	free(c->a1);
	free(c->a2);
	free(c);
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	char err[512] = "";
	worker_set_state(w, WORKER_STATE_LOADING);
	int rc = worker_open(w, err, sizeof(err));
	if (rc) {
		worker_emit(w, WORKER_EV_ERROR, rc, 1, 0, err[0] ? err : lt_strerror(rc));
		worker_set_state(w, WORKER_STATE_FAILED);
	} else {
		worker_set_state(w, WORKER_STATE_IDLE);
	}
	for (;;) {
		struct wcmd *c = queue_pop(w);
		bool go_on = c->kind != WORKER_CMD_QUIT;
		if (rc == 0)
			go_on = run_cmd(w, c);
		else if (go_on)
			worker_emit(w, WORKER_EV_ERROR, rc, 1, 0, "the model failed to load; only /quit works");
		cmd_free(c);
		/* Every event of the command is in the ring before we look idle. */
		pthread_mutex_lock(&w->mu);
		w->running = false;
		pthread_mutex_unlock(&w->mu);
		if (!go_on)
			break;
	}
	worker_set_state(w, WORKER_STATE_QUIT);
	return NULL;
}

/* ---- API ---- */

/* A copy of s, made valid UTF-8 (what is typed must be, before it is
 * tokenized or stored). */
static char *valid_dup(const char *s, size_t *n_bad)
{
	size_t bad = 0;
	char *c = utf8_sanitize(s, strlen(s), NULL, &bad);
	*n_bad += bad;
	return c;
}

/* Keeps a copy of s for w's lifetime: text made valid UTF-8, while a file
 * or session name is kept byte for byte. */
static const char *keep_str(struct worker *w, const char *s, bool text)
{
	if (!s)
		return NULL;
	char *c = text ? valid_dup(s, &w->cfg_bad) : strdup(s);
	char **g = c ? realloc(w->strs, (size_t)(w->n_strs + 1) * sizeof(char *)) : NULL;
	if (!g) {
		free(c);
		return NULL;
	}
	w->strs = g;
	w->strs[w->n_strs++] = c;
	return c;
}

int worker_start(struct worker **out, const struct worker_config *cfg, char *err, size_t errlen)
{
	*out = NULL;
	if (!cfg->model_path && !cfg->remote_url)
		return lt_seterr(err, errlen, LT_E_INVAL, "no model file given");
	struct worker *w = calloc(1, sizeof(*w));
	if (!w)
		return lt_seterr(err, errlen, LT_E_NOMEM, "out of memory");
	w->cfg = *cfg;
	w->be = cfg->remote_url ? &worker_backend_remote : &worker_backend_local;
	w->cfg.model_path = keep_str(w, cfg->model_path, false);
	w->cfg.remote_url = keep_str(w, cfg->remote_url, false);
	w->cfg.remote_model = keep_str(w, cfg->remote_model, false);
	w->cfg.api_key = keep_str(w, cfg->api_key, false);
	w->cfg.template_name = keep_str(w, cfg->template_name, false);
	w->cfg.system = keep_str(w, cfg->system, true);
	w->cfg.in_prefix = keep_str(w, cfg->in_prefix, true);
	w->cfg.postfix = keep_str(w, cfg->postfix, true);
	w->cfg.session = keep_str(w, cfg->session, false);
	const char **stops = calloc((size_t)cfg->n_stops + 1, sizeof(char *));
	for (int i = 0; stops && i < cfg->n_stops; i++)
		stops[i] = keep_str(w, cfg->stops[i], true);
	w->cfg.stops = stops;
	int rc = ring_new(&w->ring, cfg->ring_capacity ? cfg->ring_capacity : (1u << 20), err,
			  errlen);
	pthread_mutex_init(&w->mu, NULL);
	pthread_cond_init(&w->cv, NULL);
	w->st.state = WORKER_STATE_LOADING;
	if (rc < 0) {
		worker_free(w);
		return rc;
	}
	if (!stops) {
		worker_free(w);
		return lt_seterr(err, errlen, LT_E_NOMEM, "cannot create the event ring");
	}
	if (pthread_create(&w->thread, NULL, worker_main, w) != 0) {
		worker_free(w);
		return lt_seterr(err, errlen, LT_E_NOMEM, "cannot start the engine thread");
	}
	w->started = true;
	*out = w;
	return 0;
}

struct ring *worker_ring(struct worker *w) { return w->ring; }

int worker_post(struct worker *w, enum worker_cmd cmd, const char *arg1, const char *arg2)
{
	bool need1 = cmd == WORKER_CMD_SEND || cmd == WORKER_CMD_LOAD || cmd == WORKER_CMD_SET_PARAM ||
		     cmd == WORKER_CMD_ATTACH ||
		     cmd == WORKER_CMD_SET_SYSTEM || cmd == WORKER_CMD_SET_TEMPLATE ||
		     cmd == WORKER_CMD_STOP_ADD || cmd == WORKER_CMD_STOP_RM ||
		     cmd == WORKER_CMD_POSTFIX || cmd == WORKER_CMD_SESSION_RENAME ||
		     cmd == WORKER_CMD_SESSION_DELETE;
	bool need2 = cmd == WORKER_CMD_SET_PARAM || cmd == WORKER_CMD_SESSION_RENAME;
	if (cmd < WORKER_CMD_SEND || cmd > WORKER_CMD_QUIT || (need1 && !arg1) || (need2 && !arg2))
		return LT_E_INVAL;
	struct wcmd *c = calloc(1, sizeof(*c));
	if (!c)
		return LT_E_NOMEM;
	c->kind = cmd;
	/* Text the conversation tokenizes and stores is made valid UTF-8;
	 * names (of files, sessions, parameters) travel as typed. */
	bool text = cmd == WORKER_CMD_SEND || cmd == WORKER_CMD_SET_SYSTEM ||
		    cmd == WORKER_CMD_POSTFIX || cmd == WORKER_CMD_STOP_ADD ||
		    cmd == WORKER_CMD_STOP_RM;
	c->a1 = !arg1 ? NULL : text ? valid_dup(arg1, &c->n_bad) : strdup(arg1);
	c->a2 = !arg2 ? NULL : text ? valid_dup(arg2, &c->n_bad) : strdup(arg2);
	if ((arg1 && !c->a1) || (arg2 && !c->a2)) {
		cmd_free(c);
		return LT_E_NOMEM;
	}
	pthread_mutex_lock(&w->mu);
	if (w->q_tail)
		w->q_tail->next = c;
	else
		w->q_head = c;
	w->q_tail = c;
	pthread_cond_signal(&w->cv);
	pthread_mutex_unlock(&w->mu);
	return 0;
}

void worker_stop(struct worker *w)
{
	atomic_store(&w->stop, true);
}

void worker_status(struct worker *w, struct worker_status *out)
{
	pthread_mutex_lock(&w->mu);
	*out = w->st;
	pthread_mutex_unlock(&w->mu);
}

char *worker_model_details(struct worker *w)
{
	pthread_mutex_lock(&w->mu);
	char *d = w->details ? strdup(w->details) : NULL;
	pthread_mutex_unlock(&w->mu);
	return d;
}

bool worker_busy(struct worker *w)
{
	pthread_mutex_lock(&w->mu);
	bool busy = w->q_head != NULL || w->running || (w->st.state != WORKER_STATE_IDLE &&
					  w->st.state != WORKER_STATE_FAILED &&
					  w->st.state != WORKER_STATE_QUIT);
	pthread_mutex_unlock(&w->mu);
	return busy;
}

void worker_finish(struct worker *w)
{
	if (!w || !w->started)
		return;
	atomic_store(&w->stop, true);
	/* Nobody reads events any more: a full ring must not block the exit. */
	atomic_store(&w->quit, 1);
	worker_post(w, WORKER_CMD_QUIT, NULL, NULL);
	pthread_join(w->thread, NULL);
	w->started = false;
}

void worker_free(struct worker *w)
{
	if (!w)
		return;
	worker_finish(w);
	while (w->q_head) {
		struct wcmd *c = w->q_head;
		w->q_head = c->next;
		cmd_free(c);
	}
	session_journal_free(w->jn);
	conv_free(w->conv);
	w->conv = NULL;
	if (w->be)
		w->be->close(w);
	paths_list_free(w->tdirs, w->n_tdirs);
	ring_free(w->ring);
	for (int i = 0; i < w->n_held; i++)
		free(w->held[i].what);
	free(w->held);
	for (int i = 0; i < w->n_strs; i++)
		free(w->strs[i]);
	free(w->strs);
	free(w->attach);
	free(w->details);
	free((void *)w->cfg.stops);
	pthread_mutex_destroy(&w->mu);
	pthread_cond_destroy(&w->cv);
	free(w);
}
