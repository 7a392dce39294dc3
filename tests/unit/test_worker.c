/* Worker tests on stories260K: the event stream of a reply, stopping
 * within a token, save/new/load through the command queue, renaming and
 * deleting sessions, a tiny ring
 * that never loses text, and a model that fails to load. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "session.h"
#include "worker.h"

#include "testutil.h"

/* Long enough for any step of these tests on a slow, sanitized build. */
#define WAIT_MS 60000
static const char golden_text[] =
	", there was a little girl named Lily. She loved to play outside in the park. One day, she saw";

static char model_path[512];

/* Events gathered until a kind arrives. */
struct log {
	char text[8192];
	size_t len;
	int count[WORKER_EV_COUNT];
	int64_t done_reason, done_tokens;
	int last_state;
	int user_turn_index, reply_index;
	int64_t session_rc;      /* of the last WORKER_EV_SESSION */
	char session_msg[1024];
};

static void handle(struct log *l, const struct ring_event *ev)
{
	assert_true(ev->kind > 0 && ev->kind < WORKER_EV_COUNT);
	l->count[ev->kind]++;
	switch (ev->kind) {
	case WORKER_EV_TEXT:
		assert_true(l->len + ev->len < sizeof(l->text));
		memcpy(l->text + l->len, ev->data, ev->len);
		l->len += ev->len;
		l->text[l->len] = '\0';
		break;
	case WORKER_EV_DONE:
		l->done_tokens = ev->a;
		l->done_reason = ev->b;
		break;
	case WORKER_EV_STATE:
		l->last_state = (int)ev->a;
		break;
	case WORKER_EV_TURN:
		if (ev->a == CONV_ROLE_USER)
			l->user_turn_index = (int)ev->b;
		break;
	case WORKER_EV_REPLY_START:
		l->reply_index = (int)ev->b;
		break;
	case WORKER_EV_SESSION:
		l->session_rc = ev->a;
		snprintf(l->session_msg, sizeof(l->session_msg), "%s", ev->data);
		break;
	default:
		break;
	}
}

/* Pops events into l until one of kind has been seen `n` times in total,
 * sleeping between pops when slow is set. */
static void wait_for(struct worker *w, struct log *l, int kind, int n, bool slow)
{
	struct ring *r = worker_ring(w);
	struct ring_event ev;
	for (int waited = 0; l->count[kind] < n;) {
		if (ring_pop_wait(r, &ev, 100) > 0) {
			handle(l, &ev);
			if (slow)
				usleep(2000);
		} else if ((waited += 100) > WAIT_MS) {
			fail_msg("timed out waiting for event kind %d", kind);
		}
	}
}

static struct worker *start_saving(size_t ring_cap, int n_predict, const char *path,
				   bool autosave)
{
	struct worker_config cfg = worker_config_default();
	cfg.model_path = path ? path : model_path;
	cfg.template_name = "raw";
	cfg.gen.sampling.temperature = 0;
	cfg.gen.n_predict = n_predict;
	cfg.ctx.n_ctx = 512;
	cfg.ctx.n_threads = 1;
	cfg.autosave = autosave;
	cfg.ring_capacity = ring_cap;
	struct worker *w;
	char err[256];
	if (worker_start(&w, &cfg, err, sizeof(err)))
		fail_msg("%s", err);
	return w;
}

static struct worker *start(size_t ring_cap, int n_predict, const char *path)
{
	return start_saving(ring_cap, n_predict, path, false);
}

static void test_reply_events(void **state)
{
	(void)state;
	TU_NEED_MODEL(model_path, "stories260K.gguf");
	struct worker *w = start(0, 32, NULL);
	struct log l = { .len = 0 };
	wait_for(w, &l, WORKER_EV_STATE, 1, false);
	while (l.last_state != WORKER_STATE_IDLE)
		wait_for(w, &l, WORKER_EV_STATE, l.count[WORKER_EV_STATE] + 1, false);
	assert_int_equal(l.count[WORKER_EV_ERROR], 0);
	assert_int_equal(worker_post(w, WORKER_CMD_SEND, "Once upon a time", NULL), 0);
	wait_for(w, &l, WORKER_EV_DONE, 1, false);
	assert_string_equal(l.text, golden_text);
	assert_int_equal(l.done_tokens, 32);
	assert_int_equal(l.done_reason, CONV_STOP_LIMIT);
	assert_int_equal(l.user_turn_index, 0);
	assert_int_equal(l.reply_index, 1);
	assert_int_equal(l.count[WORKER_EV_STATS], 1);
	while (worker_busy(w))
		usleep(1000);
	struct worker_status st;
	worker_status(w, &st);
	assert_int_equal(st.state, WORKER_STATE_IDLE);
	assert_int_equal(st.n_turns, 2);
	assert_int_equal(st.n_ctx_used, 37);
	assert_int_equal(st.n_ctx_max, 512);
	assert_string_equal(st.template_name, "raw");
	assert_true(st.tg_tps > 0);
	assert_int_equal(worker_post(w, WORKER_CMD_SEND, NULL, NULL), LT_E_INVAL);
	worker_free(w);
}

static void test_stop(void **state)
{
	(void)state;
	TU_NEED_MODEL(model_path, "stories260K.gguf");
	struct worker *w = start(0, -1, NULL);
	struct log l = { .len = 0 };
	worker_post(w, WORKER_CMD_SEND, "Once upon a time", NULL);
	wait_for(w, &l, WORKER_EV_TEXT, 1, false);
	worker_stop(w);
	wait_for(w, &l, WORKER_EV_DONE, 1, false);
	assert_int_equal(l.done_reason, CONV_STOP_USER);
	assert_true(l.done_tokens < 500);
	worker_free(w);
}

static void test_save_new_load(void **state)
{
	(void)state;
	TU_NEED_MODEL(model_path, "stories260K.gguf");
	struct worker *w = start(0, 8, NULL);
	struct log l = { .len = 0 };
	worker_post(w, WORKER_CMD_SEND, "Once upon a time", NULL);
	worker_post(w, WORKER_CMD_SAVE, "wtest", NULL);
	wait_for(w, &l, WORKER_EV_SAVED, 1, false);
	worker_post(w, WORKER_CMD_NEW, NULL, NULL);
	wait_for(w, &l, WORKER_EV_CLEAR, 1, false);
	while (worker_busy(w))
		usleep(1000);
	struct worker_status st;
	worker_status(w, &st);
	assert_int_equal(st.n_turns, 0);
	assert_string_equal(st.session, "");
	int turns_before = l.count[WORKER_EV_TURN];
	worker_post(w, WORKER_CMD_LOAD, "wtest", NULL);
	wait_for(w, &l, WORKER_EV_CLEAR, 2, false);
	wait_for(w, &l, WORKER_EV_TURN, turns_before + 2, false);
	while (worker_busy(w))
		usleep(1000);
	worker_status(w, &st);
	assert_int_equal(st.n_turns, 2);
	assert_string_equal(st.session, "wtest");
	assert_true(st.saved);
	/* A bad name is an error event, not a crash. */
	worker_post(w, WORKER_CMD_SAVE, "../x", NULL);
	wait_for(w, &l, WORKER_EV_ERROR, 1, false);
	worker_free(w);
}

/* Posts a session store command and waits for its answer. */
static void session_cmd(struct worker *w, struct log *l, enum worker_cmd cmd, const char *a1,
			const char *a2, int want_rc)
{
	assert_int_equal(worker_post(w, cmd, a1, a2), 0);
	wait_for(w, l, WORKER_EV_SESSION, l->count[WORKER_EV_SESSION] + 1, false);
	if (l->session_rc != want_rc)
		fail_msg("got %d (%s), wanted %d", (int)l->session_rc, l->session_msg, want_rc);
}

/* Renaming and deleting session files are worker commands: the open
 * session is saved under its new name and keeps it; another is renamed
 * on disk; a name in use or an invalid one is refused with a message. */
static void test_session_store(void **state)
{
	(void)state;
	TU_NEED_MODEL(model_path, "stories260K.gguf");
	struct worker *w = start(0, 4, NULL);
	struct log l = { .len = 0 };
	struct worker_status st;
	worker_post(w, WORKER_CMD_SEND, "Once upon a time", NULL);
	worker_post(w, WORKER_CMD_SAVE, "alpha", NULL);
	wait_for(w, &l, WORKER_EV_SAVED, 1, false);
	assert_int_equal(worker_post(w, WORKER_CMD_SESSION_RENAME, "alpha", NULL), LT_E_INVAL);

	session_cmd(w, &l, WORKER_CMD_SESSION_RENAME, "alpha", "beta", 0);
	assert_non_null(strstr(l.session_msg, "renamed alpha to beta"));
	worker_status(w, &st);
	assert_string_equal(st.session, "beta");
	assert_true(session_exists("beta"));
	assert_false(session_exists("alpha"));

	worker_post(w, WORKER_CMD_SAVE, "open", NULL);
	wait_for(w, &l, WORKER_EV_SAVED, 3, false);
	session_cmd(w, &l, WORKER_CMD_SESSION_RENAME, "beta", "open", LT_E_INVAL);
	assert_non_null(strstr(l.session_msg, "exists"));
	session_cmd(w, &l, WORKER_CMD_SESSION_RENAME, "beta", "../x", LT_E_INVAL);
	session_cmd(w, &l, WORKER_CMD_SESSION_RENAME, "beta", "gamma", 0);
	assert_true(session_exists("gamma"));
	assert_false(session_exists("beta"));
	worker_status(w, &st);
	assert_string_equal(st.session, "open");

	session_cmd(w, &l, WORKER_CMD_SESSION_DELETE, "gamma", NULL, 0);
	assert_false(session_exists("gamma"));
	session_cmd(w, &l, WORKER_CMD_SESSION_DELETE, "gamma", NULL, LT_E_NOTFOUND);
	assert_non_null(strstr(l.session_msg, "gamma.lts"));
	session_cmd(w, &l, WORKER_CMD_SESSION_DELETE, "open", NULL, 0);
	assert_non_null(strstr(l.session_msg, "it is open"));
	assert_false(session_exists("open"));
	worker_free(w);
}

/* Deleting the open session says the next save writes it again; quitting
 * is such a save (autosave), so the conversation is not lost. */
static void test_delete_open_then_quit(void **state)
{
	(void)state;
	TU_NEED_MODEL(model_path, "stories260K.gguf");
	struct worker *w = start_saving(0, 8, NULL, true);
	struct log l = { .len = 0 };
	worker_post(w, WORKER_CMD_SEND, "Once upon a time", NULL);
	wait_for(w, &l, WORKER_EV_DONE, 1, false);
	worker_post(w, WORKER_CMD_SAVE, "kept", NULL);
	session_cmd(w, &l, WORKER_CMD_SESSION_DELETE, "kept", NULL, 0);
	assert_non_null(strstr(l.session_msg, "the next save writes it again"));
	assert_false(session_exists("kept"));
	struct worker_status st;
	worker_status(w, &st);
	assert_false(st.saved);
	worker_free(w);
	assert_true(session_exists("kept"));
}

/* While a reply streams, the status has its speed and context use so far
 * (the status bar redraws from it): with a tiny ring and a slow reader the
 * worker is still generating when the reader looks. */
static void test_live_status(void **state)
{
	(void)state;
	TU_NEED_MODEL(model_path, "stories260K.gguf");
	struct worker *w = start(RING_MIN_CAPACITY, 64, NULL);
	struct log l = { .len = 0 };
	wait_for(w, &l, WORKER_EV_STATE, 1, false);
	struct worker_status st;
	worker_status(w, &st);
	int ctx_before = st.n_ctx_used;
	worker_post(w, WORKER_CMD_SEND, "Once upon a time", NULL);
	wait_for(w, &l, WORKER_EV_TEXT, 8, true);
	worker_status(w, &st);
	assert_int_equal(st.state, WORKER_STATE_GENERATING);
	assert_true(st.tg_tps > 0);
	assert_true(st.n_ctx_used > ctx_before);
	wait_for(w, &l, WORKER_EV_DONE, 1, false);
	worker_free(w);
}

/* With a 256-byte ring and a slow reader every byte still arrives. */
static void test_tiny_ring(void **state)
{
	(void)state;
	TU_NEED_MODEL(model_path, "stories260K.gguf");
	struct worker *w = start(RING_MIN_CAPACITY, 32, NULL);
	struct log l = { .len = 0 };
	worker_post(w, WORKER_CMD_SEND, "Once upon a time", NULL);
	worker_post(w, WORKER_CMD_SHOW, NULL, NULL);
	wait_for(w, &l, WORKER_EV_DONE, 1, true);
	assert_string_equal(l.text, golden_text);
	worker_free(w);
}

static void test_bad_model(void **state)
{
	(void)state;
	char path[300];
	snprintf(path, sizeof(path), "%s/missing.gguf", tu_data_home());
	struct worker *w = start(0, 8, path);
	struct log l = { .len = 0 };
	wait_for(w, &l, WORKER_EV_ERROR, 1, false);
	while (l.last_state != WORKER_STATE_FAILED)
		wait_for(w, &l, WORKER_EV_STATE, l.count[WORKER_EV_STATE] + 1, false);
	assert_false(worker_busy(w));
	worker_free(w);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_reply_events),
		cmocka_unit_test(test_stop),
		cmocka_unit_test(test_save_new_load),
		cmocka_unit_test(test_session_store),
		cmocka_unit_test(test_delete_open_then_quit),
		cmocka_unit_test(test_live_status),
		cmocka_unit_test(test_tiny_ring),
		cmocka_unit_test(test_bad_model),
	};
	return cmocka_run_group_tests(tests, tu_setup_data_home, tu_teardown_data_home);
}
