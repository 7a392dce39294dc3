/* The worker's sessions: saving a turn into the journal, resuming one,
 * the options that win over a resumed session's settings, and renaming
 * and deleting session files (the worker owns them; the UI only asks). */
#include <libgen.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "escape.h"
#include "modelinfo.h"
#include "remote.h"
#include "session.h"
#include "session_journal.h"
#include "session_store.h"
#include "template.h"
#include "worker_impl.h"

/* ---- saving and loading ---- */

int worker_save(struct worker *w, const char *name, bool autosave)
{
	char err[512];
	if (name && session_name_check(name, err, sizeof(err))) {
		worker_error(w, LT_E_INVAL, err);
		return LT_E_INVAL;
	}
	worker_set_state(w, WORKER_STATE_SAVING);
	if (name)
		snprintf(w->session, sizeof(w->session), "%s", name);
	else if (!w->session[0])
		session_name_now(w->session, sizeof(w->session));
	struct session_data d;
	int rc = conv_snapshot_ids(w->conv, &d);
	char *path = NULL;
	if (rc == 0 && w->remote) {
		/* The server's URL and its name for the model; never the key. */
		d.model_name = strdup(remote_model(w->remote));
		d.endpoint = strdup(remote_url(w->remote));
		d.model_type = strdup("remote");
	} else if (rc == 0) {
		const struct gguf *g = model_gguf(w->model);
		const char *mname = NULL;
		size_t len;
		if (gguf_get_str(g, "general.name", &mname, &len) != 0 || !mname)
			mname = NULL;
		char *base = strdup(w->cfg.model_path);
		d.model_name = mname ? strndup(mname, len) : strdup(base ? basename(base) : "?");
		d.model_file = base ? strdup(basename(base)) : NULL;
		d.model_type = strdup(modelinfo_main_type(g));
		free(base);
	}
	if (rc == 0) {
		d.fingerprint = w->fingerprint;
		d.model_size = w->model_size;
		d.created = w->created ? w->created : (int64_t)time(NULL) * 1000;
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		d.updated = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
		w->created = d.created;
		char *dir = NULL;
		rc = session_dir(&dir, true, err, sizeof(err));
		free(dir);
		if (rc == 0)
			rc = session_path(&path, w->session, err, sizeof(err));
		/* Another file than the journal's (a new name): written whole. */
		if (rc == 0 && w->jn && strcmp(session_journal_path(w->jn), path)) {
			session_journal_free(w->jn);
			w->jn = NULL;
		}
		if (rc == 0 && !w->jn)
			rc = session_journal_new(&w->jn, path, NULL, err, sizeof(err));
		if (rc == 0)
			rc = session_journal_save(w->jn, &d, w->ctx,
						  w->cfg.session_kv_none || !w->ctx ? SESSION_KV_NONE
									 : SESSION_KV_FULL,
						  NULL, err, sizeof(err));
		free(path);
		session_data_free(&d);
	} else {
		snprintf(err, sizeof(err), "cannot snapshot the conversation: %s", lt_strerror(rc));
	}
	if (rc) {
		worker_error(w, rc, err);
	} else {
		w->dirty = false;
		worker_emit(w, WORKER_EV_SAVED, autosave, 0, 0, w->session);
	}
	worker_set_state(w, WORKER_STATE_IDLE);
	return rc;
}

void worker_autosave(struct worker *w)
{
	if (w->cfg.autosave && w->dirty && conv_n_turns(w->conv) > 0)
		worker_save(w, NULL, true);
}

/* Loads a template by name or file from the template directories. */
int worker_load_template(struct worker *w, const char *name, struct template **t, char *err,
			 size_t errlen)
{
	return template_load(t, name, w->tdirs, w->n_tdirs, err, errlen);
}

/* A session from another model file: what differs, and that its KV
 * cache cannot serve this one (the weights differ, so would the keys). */
static void worker_say_other_model(struct worker *w, const char *name, const struct session_data *d)
{
	const struct gguf *g = model_gguf(w->model);
	char *path = strdup(w->cfg.model_path);
	const char *file = path ? basename(path) : "?";
	const char *type = modelinfo_main_type(g);
	bool known = d->model_file && d->model_file[0];
	char then[512];
	if (known)
		snprintf(then, sizeof(then), "%s (%s, %s)", d->model_file,
			 modelinfo_bytes(d->model_size).s, d->model_type ? d->model_type : "?");
	else
		snprintf(then, sizeof(then), "%s (%s)", d->model_name ? d->model_name : "?",
			 modelinfo_bytes(d->model_size).s);
	const char *what = !known ? "another model file"
			   : strcmp(d->model_file, file) != 0 ? "another model file"
			   : "another version of this file";
	bool same_type = known && d->model_type && !strcmp(d->model_type, type);
	worker_info(w, 1, "session '%s' was made with %s: %s; this is %s (%s, %s)%s; its KV cache "
		  "does not fit these weights, so the context is rebuilt from the transcript", name,
		  what, then, file, modelinfo_bytes(w->model_size).s, type,
		  known && !same_type ? " (another quantization)" : "");
	free(path);
}

int worker_load(struct worker *w, const char *name)
{
	char err[512], warn[512];
	struct session_data d;
	worker_set_state(w, WORKER_STATE_LOADING);
	/* The writer first: it locks the file, so a session open in another
	 * llamaterm is refused before anything changes here. */
	char *path = NULL;
	struct session_journal *jn = NULL;
	int rc = session_path(&path, name, err, sizeof(err));
	/* Our own lock on it would refuse us (/load of the open session). */
	if (rc == 0 && w->jn && !strcmp(session_journal_path(w->jn), path)) {
		session_journal_free(w->jn);
		w->jn = NULL;
	}
	if (rc == 0)
		rc = session_journal_new(&jn, path, NULL, err, sizeof(err));
	free(path);
	if (rc == 0)
		rc = session_load(name, &d, warn, sizeof(warn), err, sizeof(err));
	if (rc) {
		session_journal_free(jn);
		worker_error(w, rc, err);
		worker_set_state(w, WORKER_STATE_IDLE);
		return rc;
	}
	if (warn[0])
		worker_info(w, 1, "%s%s", warn,
			  d.has_kv ? "" : "; rebuilding the context from the transcript");
	if (d.template_name && d.template_name[0] &&
	    strcmp(d.template_name, template_name(conv_template(w->conv)))) {
		struct template *t;
		if (worker_load_template(w, d.template_name, &t, err, sizeof(err)) == 0)
			conv_set_template(w->conv, t);
		else
			worker_info(w, 1, "session template '%s' not found (%s); keeping '%s'",
				  d.template_name, err, template_name(conv_template(w->conv)));
	}
	bool same_model = d.fingerprint == w->fingerprint;
	if (w->remote && d.endpoint && strcmp(d.endpoint, remote_url(w->remote)))
		worker_info(w, 0, "session '%s' was a chat with %s; going on with %s", name, d.endpoint,
			    remote_url(w->remote));
	else if (w->remote && !d.endpoint)
		worker_info(w, 0, "session '%s' was a chat with the local model %s; going on with %s",
			    name, d.model_name ? d.model_name : "?", remote_url(w->remote));
	else if (!same_model && !w->remote)
		worker_say_other_model(w, name, &d);
	worker_set_state(w, WORKER_STATE_GENERATING);
	bool restored = false;
	rc = conv_restore(w->conv, &d, same_model, &restored);
	if (rc)
		worker_error(w, rc, conv_error(w->conv));
	else if (same_model && !restored && !warn[0] && d.has_kv)
		worker_info(w, 1, "session '%s': the saved context did not fit this context; rebuilt it "
			  "from the transcript", name);
	snprintf(w->session, sizeof(w->session), "%s", name);
	w->created = d.created;
	/* An empty conversation has nothing the file lacks. */
	w->dirty = !restored && conv_n_turns(w->conv) > 0;
	/* Later saves append to the file as read, unless the cache was rebuilt
	 * (its rows then need not match the file's): then it is written whole. */
	session_journal_free(w->jn);
	w->jn = jn;
	if (restored)
		session_journal_reset(w->jn, &d);
	session_data_free(&d);
	worker_replay(w, conv_n_turns(w->conv));
	worker_set_state(w, WORKER_STATE_IDLE);
	return rc;
}

/* A resumed session's settings are the defaults; what the command line
 * gave wins, is saved with the session, and one line lists what changed. */
void worker_apply_overrides(struct worker *w)
{
	const struct worker_config *cfg = &w->cfg;
	struct conv *c = w->conv;
	char *list = NULL, err[512];
	size_t len = 0, np;
	FILE *f = open_memstream(&list, &len);
	if (!f)
		return;
	int n = 0;
	struct template *t;
	if (cfg->template_name && worker_load_template(w, cfg->template_name, &t, err, sizeof(err)) == 0) {
		char *name = strdup(template_name(t));
		if (name && strcmp(name, template_name(conv_template(c)))) {
			if (conv_set_template(c, t) == 0)
				fprintf(f, "%stemplate %s", n++ ? ", " : "", name);
			else
				worker_error(w, LT_E_INVAL, conv_error(c));
		} else {
			template_free(t);
		}
		free(name);
	}
	if (cfg->system && strcmp(cfg->system, conv_system(c))) {
		if (conv_set_system(c, cfg->system) == 0)
			fprintf(f, "%ssystem prompt", n++ ? ", " : "");
		else
			worker_error(w, LT_E_INVAL, conv_error(c));
	}
	if (cfg->in_prefix && strcmp(cfg->in_prefix, conv_in_prefix(c)) &&
	    conv_set_in_prefix(c, cfg->in_prefix) == 0)
		fprintf(f, "%sin-prefix", n++ ? ", " : "");
	if (cfg->postfix && strcmp(cfg->postfix, conv_postfix(c)) &&
	    conv_set_postfix(c, cfg->postfix) == 0)
		fprintf(f, "%spostfix", n++ ? ", " : "");
	for (int i = 0; i < cfg->n_stops; i++) {
		const char *const *stops;
		int k = conv_stops(c, &stops);
		while (k > 0 && strcmp(stops[k - 1], cfg->stops[i]))
			k--;
		if (k == 0 && conv_stop_add(c, cfg->stops[i]) == 0) {
			char *q = escape_quote(cfg->stops[i]);
			fprintf(f, "%sstop string %s", n++ ? ", " : "", q ? q : "");
			free(q);
		}
	}
	const struct param_def *pt = params_table(&np);
	struct gen_params gp = worker_gen(c);
	for (size_t i = 0; i < np; i++) {
		char val[64];
		/* The context size is the command line's whatever the session had. */
		if (!(cfg->gen_given & (1u << i)) || pt[i].fixed || params_same(&pt[i], &gp, &cfg->gen))
			continue;
		params_copy(&pt[i], &gp, &cfg->gen);
		params_value(&pt[i], &gp, val, sizeof(val));
		fprintf(f, "%s%s %s", n++ ? ", " : "", pt[i].name, val);
	}
	if (conv_set_sampling(c, &gp.sampling) != 0)
		worker_error(w, LT_E_INVAL, conv_error(c));
	conv_set_n_predict(c, gp.n_predict);
	fclose(f);
	if (n) {
		worker_info(w, 0, "overriding saved: %s", list);
		w->dirty = true;
	}
	free(list);
}

/* ---- the session store ---- */

static void worker_emit_session(struct worker *w, int rc, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void worker_emit_session(struct worker *w, int rc, const char *fmt, ...)
{
	char line[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	worker_emit(w, WORKER_EV_SESSION, rc, 0, 0, line);
}

void worker_session_rename(struct worker *w, const char *from, const char *to)
{
	char err[512];
	int rc = session_name_check(to, err, sizeof(err));
	if (rc == 0 && session_exists(to))
		rc = lt_seterr(err, sizeof(err), LT_E_INVAL, "a session called '%s' exists", to);
	if (rc) {
		worker_emit_session(w, rc, "%s", err);
		return;
	}
	if (strcmp(from, w->session) != 0) {
		if ((rc = session_rename(from, to, err, sizeof(err))) != 0)
			worker_emit_session(w, rc, "%s", err);
		else
			worker_emit_session(w, 0, "renamed %s to %s", from, to);
		return;
	}
	/* The open session: saved under the new name, which it keeps, so
	 * later saves go there; the old file goes only once that is written. */
	if ((rc = worker_save(w, to, false)) != 0) {
		/* Still the old file's conversation: later saves go there. */
		snprintf(w->session, sizeof(w->session), "%s", from);
		worker_status_update(w);
		worker_emit_session(w, rc, "cannot save '%s' as '%s'", from, to);
		return;
	}
	if ((rc = session_remove(from, err, sizeof(err))) != 0 && rc != LT_E_NOTFOUND)
		worker_emit_session(w, rc, "saved as %s, but %s", to, err);
	else
		worker_emit_session(w, 0, "renamed %s to %s", from, to);
}

void worker_session_delete(struct worker *w, const char *name)
{
	char err[512];
	int rc = session_remove(name, err, sizeof(err));
	if (rc) {
		worker_emit_session(w, rc, "%s", err);
		return;
	}
	bool open = strcmp(w->session, name) == 0;
	/* The open conversation is no longer on disk: unsaved, so the next
	 * save (quitting is one) writes it again, as the message says. */
	if (open) {
		w->dirty = true;
		worker_status_update(w);
	}
	worker_emit_session(w, 0, "deleted session %s%s", name,
		     open ? " (it is open: the next save writes it again)" : "");
}

