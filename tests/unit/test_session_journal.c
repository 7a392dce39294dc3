/* Session journal tests over real KV caches of synthetic models (lt-synth):
 * appending saves, replay, undo and context-shift records, torn tails at
 * every byte of the last save, a damaged record in the middle, version-1
 * files converted on their next save, the compaction threshold, every KV
 * type, sliding-window layers, --session-kv none and a full disk. A
 * restored cache must give the same logits, bit for bit, as the one saved. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "context.h"
#include "model.h"
#include "session.h"
#include "session_journal.h"

#include "testutil.h"

static char llama_path[512], swa_path[512];

static int synth(char *path, size_t size, const char *tag, const char *args)
{
	const char *build = getenv("BUILD");
	path[0] = '\0';
	if (!build)
		return 0;
	snprintf(path, size, "/tmp/lt-test-journal-%s-%d.gguf", tag, (int)getpid());
	char cmd[1536];
	snprintf(cmd, sizeof(cmd), "'%s/lt-synth' %s -o '%s' >/dev/null", build, args, path);
	if (system(cmd) != 0)
		path[0] = '\0';
	return 0;
}

static int setup(void **state)
{
	synth(llama_path, sizeof(llama_path), "llama", "--arch llama --head-dim 32 --ctx 256");
	synth(swa_path, sizeof(swa_path), "swa",
	      "--arch gemma2 --dim 64 --ffn 128 --layers 3 --heads 4 --kv-heads 2 --swa 5 --ctx 128");
	return tu_setup_data_home(state);
}

static int teardown(void **state)
{
	if (llama_path[0])
		unlink(llama_path);
	if (swa_path[0])
		unlink(swa_path);
	return tu_teardown_data_home(state);
}

static struct model *open_model(const char *path)
{
	if (!path[0]) {
		printf("SKIP: test_session_journal: no synthetic model (BUILD unset or lt-synth failed)\n");
		skip();
	}
	struct model *m;
	char err[256];
	if (model_open(&m, path, NULL, err, sizeof(err)))
		fail_msg("%s", err);
	return m;
}

static struct ctx *new_ctx(const struct model *m, enum ggml_type kv_type)
{
	struct ctx_params p = ctx_params_default();
	p.n_ctx = 128;
	p.n_batch = 16;
	p.n_threads = 1;
	p.kv_type = kv_type;
	struct ctx *c;
	char err[256];
	if (ctx_new(&c, m, &p, err, sizeof(err)))
		fail_msg("%s", err);
	return c;
}

static char *xstrdup(const char *s)
{
	char *p = strdup(s);
	assert_non_null(p);
	return p;
}

/* A conversation's state as the worker hands it to the journal. */
static void base_data(struct session_data *d)
{
	memset(d, 0, sizeof(*d));
	d->fingerprint = 42;
	d->model_name = xstrdup("synthetic");
	d->template_name = xstrdup("chatml");
	d->system = xstrdup("Be brief.");
	d->in_prefix = xstrdup("");
	d->postfix = xstrdup("");
	d->created = 1700000000000;
	d->updated = 1700000000000;
	d->n_ctx = 128;
	d->sampling = sampler_params_default();
	d->n_predict = 16;
	d->stops = calloc(1, sizeof(char *));
	d->ids = calloc(128, sizeof(int32_t));
	d->turns = calloc(64, sizeof(*d->turns));
	d->sampler_state = calloc(1, 16);
	d->sampler_state_len = 16;
	d->has_ctx = d->has_sampler = true;
	assert_non_null(d->ids);
	assert_non_null(d->turns);
}

/* Evaluates n more ids (deterministic from seed) and records them. */
static void eval_more(struct ctx *c, struct session_data *d, int n, unsigned seed)
{
	int32_t ids[64];
	assert_true(n <= 64);
	for (int i = 0; i < n; i++)
		ids[i] = (int32_t)((seed * 131u + (unsigned)i * 17u) % 500u) + 1;
	assert_int_equal(ctx_eval(c, ids, n, d->n_ids, false), 0);
	memcpy(d->ids + d->n_ids, ids, (size_t)n * sizeof(int32_t));
	d->n_ids += n;
	memset(d->sampler_state, (int)seed, 16);
}

/* A turn of n tokens, evaluated (in the context). */
static void add_turn(struct ctx *c, struct session_data *d, const char *text, int n)
{
	struct session_turn *t = &d->turns[d->n_turns];
	*t = (struct session_turn){ .role = (uint8_t)(d->n_turns & 1), .flags = 2, .n_tokens = n,
				    .t_start = d->n_turns, .t_end = d->n_turns + 1,
				    .text = xstrdup(text), .reasoning = xstrdup("") };
	eval_more(c, d, n, (unsigned)d->updated * 7u + 3u);
	d->n_turns++;
	d->updated++;
}

/* Undo: drops the last n turns and their tokens. */
static void drop_turns(struct ctx *c, struct session_data *d, int n)
{
	for (int i = 0; i < n; i++) {
		struct session_turn *t = &d->turns[--d->n_turns];
		d->n_ids -= t->n_tokens;
		free(t->text);
		free(t->reasoning);
	}
	assert_int_equal(ctx_truncate(c, d->n_ids), 0);
	/* A sliding window that no longer holds the new end's past starts
	 * over: evaluate what it lost, as the conversation does. */
	int np = ctx_n_past(c);
	if (np < d->n_ids)
		assert_int_equal(ctx_eval(c, d->ids + np, d->n_ids - np, np, false), 0);
	d->updated++;
}

static char *session_file(const char *name)
{
	char err[256], *dir, *path;
	assert_int_equal(session_dir(&dir, true, err, sizeof(err)), 0);
	free(dir);
	assert_int_equal(session_path(&path, name, err, sizeof(err)), 0);
	return path;
}

static void save(struct session_journal *j, const struct session_data *d, const struct ctx *c,
		 struct session_save_stats *st)
{
	char err[512];
	if (session_journal_save(j, d, c, SESSION_KV_FULL, st, err, sizeof(err)))
		fail_msg("%s", err);
}

static void read_ok(const char *path, struct session_data *e, char *warn, size_t warnlen)
{
	char err[512];
	if (session_read_file(path, e, warn, warnlen, err, sizeof(err)))
		fail_msg("%s", err);
}

/* The cache rebuilt from what was read, as conv_restore does it; NULL when
 * it cannot be (a sliding window the records left short). */
static struct ctx *restore(const struct model *m, enum ggml_type t, const struct session_data *e)
{
	struct ctx *c = new_ctx(m, t);
	bool ok = e->has_kv;
	if (ok && e->kv)
		ok = ctx_state_load(c, e->kv, e->kv_len) == 0 && ctx_truncate(c, e->kv_n) == 0;
	for (int i = 0; ok && i < e->n_spans; i++)
		ok = ctx_kv_span_load(c, e->spans[i].blob, e->spans[i].len, e->spans[i].p_end) == 0;
	if (!ok || ctx_truncate(c, e->n_ids) != 0 || ctx_n_past(c) != e->n_ids) {
		ctx_free(c);
		return NULL;
	}
	return c;
}

/* The next token's logits are identical in both caches. */
static void same_logits(struct ctx *a, struct ctx *b)
{
	int n = ctx_n_past(a);
	assert_int_equal(ctx_n_past(b), n);
	int32_t tok = 5;
	assert_int_equal(ctx_eval(a, &tok, 1, n, false), 0);
	assert_int_equal(ctx_eval(b, &tok, 1, n, false), 0);
	assert_memory_equal(ctx_logits(a, -1), ctx_logits(b, -1), (size_t)ctx_n_vocab(a) * sizeof(float));
	assert_int_equal(ctx_truncate(a, n), 0);
}

static void check_restores(const struct model *m, enum ggml_type t, struct ctx *live,
			   const char *path, const struct session_data *d)
{
	struct session_data e;
	char warn[512];
	read_ok(path, &e, warn, sizeof(warn));
	assert_string_equal(warn, "");
	assert_int_equal(e.n_turns, d->n_turns);
	for (int i = 0; i < d->n_turns; i++) {
		assert_string_equal(e.turns[i].text, d->turns[i].text);
		assert_int_equal(e.turns[i].flags, d->turns[i].flags);
		assert_int_equal(e.turns[i].n_tokens, d->turns[i].n_tokens);
	}
	assert_true(e.has_ctx && e.has_kv && e.has_sampler);
	assert_int_equal(e.n_ids, d->n_ids);
	assert_memory_equal(e.ids, d->ids, (size_t)d->n_ids * sizeof(int32_t));
	assert_memory_equal(e.sampler_state, d->sampler_state, 16);
	assert_true(e.updated == d->updated);
	struct ctx *r = restore(m, t, &e);
	assert_non_null(r);
	same_logits(live, r);
	ctx_free(r);
	session_data_free(&e);
}

/* With LT_SEED_DIR set, keeps a copy of the file (or of its first len
 * bytes, 0: all) there as a fuzzing seed (tests/fuzz/seeds/session/). */
static void keep_seed(const char *path, const char *name, size_t len)
{
	const char *dir = getenv("LT_SEED_DIR");
	if (!dir || !dir[0])
		return;
	size_t n;
	char *img = tu_read_file(path, &n);
	assert_non_null(img);
	char *out;
	assert_true(asprintf(&out, "%s/%s.lts", dir, name) > 0);
	FILE *f = fopen(out, "wb");
	assert_non_null(f);
	fwrite(img, 1, len && len < n ? len : n, f);
	fclose(f);
	free(out);
	free(img);
}

static uint64_t file_size(const char *path)
{
	struct stat st;
	assert_int_equal(stat(path, &st), 0);
	return (uint64_t)st.st_size;
}

/* Saves append what a turn added; undo and regenerate append truncations;
 * every state replays to the same cache. */
static void run_append(enum ggml_type t, const char *name)
{
	struct model *m = open_model(llama_path);
	struct ctx *c = new_ctx(m, t);
	struct session_data d;
	base_data(&d);
	char *path = session_file(name);
	struct session_journal *j;
	char err[256];
	assert_int_equal(session_journal_new(&j, path, NULL, err, sizeof(err)), 0);
	struct session_save_stats st1, st2, st3;
	/* q8_0 cuts its KV rows into many small records (compactions too). */
	if (t == GGML_TYPE_Q8_0)
		session_journal_set_chunk(j, 1000);

	d.n_head = 4;
	eval_more(c, &d, 4, 99);
	add_turn(c, &d, "Hello there.", 10);
	add_turn(c, &d, " Hi.", 6);
	save(j, &d, c, &st1);
	assert_true(st1.compacted);
	assert_int_equal(st1.bytes_written, file_size(path));
	check_restores(m, t, c, path, &d);

	add_turn(c, &d, "How are you?", 8);
	add_turn(c, &d, " Fine, thanks.", 7);
	save(j, &d, c, &st2);
	assert_false(st2.compacted);
	/* 15 new positions against 20 before: less than the whole again. */
	assert_true(st2.bytes_written < st1.bytes_written);
	assert_int_equal(file_size(path), st1.bytes_written + st2.bytes_written);
	check_restores(m, t, c, path, &d);

	/* The same state again: only the COMT record. */
	d.updated++;
	save(j, &d, c, &st3);
	assert_int_equal(st3.bytes_written, 24);

	/* Undo: truncations only. */
	drop_turns(c, &d, 2);
	save(j, &d, c, &st3);
	assert_false(st3.compacted);
	assert_true(st3.bytes_written < 100);
	check_restores(m, t, c, path, &d);
	if (t == GGML_TYPE_F16)
		keep_seed(path, "undo", 0);

	/* A different exchange where the undone one was. */
	add_turn(c, &d, "Tell me more.", 9);
	add_turn(c, &d, " More.", 5);
	save(j, &d, c, &st3);
	check_restores(m, t, c, path, &d);

	/* Regenerate: the last reply replaced. */
	drop_turns(c, &d, 1);
	add_turn(c, &d, " Something else.", 6);
	save(j, &d, c, &st3);
	check_restores(m, t, c, path, &d);
	if (t == GGML_TYPE_F16)
		keep_seed(path, "regenerate", 0);

	/* A context shift: the first exchange leaves the context, the rest is
	 * evaluated again after the head. */
	int keep_from = d.n_head + d.turns[0].n_tokens + d.turns[1].n_tokens;
	int n_rest = d.n_ids - keep_from;
	int32_t rest[64];
	memcpy(rest, d.ids + keep_from, (size_t)n_rest * sizeof(int32_t));
	for (int i = 0; i < 2; i++) {
		d.turns[i].flags = 0;
		d.turns[i].n_tokens = 0;
	}
	assert_int_equal(ctx_truncate(c, d.n_head), 0);
	assert_int_equal(ctx_eval(c, rest, n_rest, d.n_head, false), 0);
	memcpy(d.ids + d.n_head, rest, (size_t)n_rest * sizeof(int32_t));
	d.n_ids = d.n_head + n_rest;
	d.updated++;
	save(j, &d, c, &st3);
	check_restores(m, t, c, path, &d);
	keep_seed(path, name, 0);

	/* A writer made from the file as read appends where the last save ended. */
	session_journal_free(j);
	struct session_data e;
	char warn[256];
	read_ok(path, &e, warn, sizeof(warn));
	assert_int_equal(session_journal_new(&j, path, &e, err, sizeof(err)), 0);
	if (t == GGML_TYPE_Q8_0) {
		session_journal_set_chunk(j, 1000);
		assert_true(e.n_spans > 4);
	}
	session_data_free(&e);
	add_turn(c, &d, "Last one.", 4);
	uint64_t before = file_size(path);
	save(j, &d, c, &st3);
	if (!st3.compacted)
		assert_int_equal(file_size(path), before + st3.bytes_written);
	check_restores(m, t, c, path, &d);

	session_journal_free(j);
	free(path);
	session_data_free(&d);
	ctx_free(c);
	model_free(m);
}

static void test_append_f16(void **state) { (void)state; run_append(GGML_TYPE_F16, "f16"); }
static void test_append_f32(void **state) { (void)state; run_append(GGML_TYPE_F32, "f32"); }
static void test_append_q8_0(void **state) { (void)state; run_append(GGML_TYPE_Q8_0, "q8"); }
static void test_append_q4_0(void **state) { (void)state; run_append(GGML_TYPE_Q4_0, "q4"); }

/* Two saves, for the damage tests; *first_end is where the first ends. */
static void two_saves(struct model *m, struct ctx *c, struct session_data *d, const char *path,
		      uint64_t *first_end)
{
	struct session_journal *j;
	char err[256];
	assert_int_equal(session_journal_new(&j, path, NULL, err, sizeof(err)), 0);
	d->n_head = 2;
	eval_more(c, d, 2, 5);
	add_turn(c, d, "First question.", 6);
	add_turn(c, d, " First answer.", 5);
	save(j, d, c, NULL);
	*first_end = file_size(path);
	add_turn(c, d, "Second question.", 7);
	add_turn(c, d, " Second answer.", 4);
	save(j, d, c, NULL);
	session_journal_free(j);
}

static uint8_t *slurp(const char *path, size_t *len)
{
	char *p = tu_read_file(path, len);
	assert_non_null(p);
	return (uint8_t *)p;
}

/* A crash at any byte of an append loses that save only: every earlier
 * turn and the KV cache as it was load, the warning says so, and the next
 * save cuts the torn tail off. */
static void test_torn_tail(void **state)
{
	(void)state;
	struct model *m = open_model(llama_path);
	struct ctx *c = new_ctx(m, GGML_TYPE_F16);
	struct session_data d;
	base_data(&d);
	char *path = session_file("torn");
	uint64_t first_end;
	two_saves(m, c, &d, path, &first_end);
	size_t len;
	uint8_t *img = slurp(path, &len);
	char warn[512], err[512];
	keep_seed(path, "two-saves", 0);
	keep_seed(path, "torn", (size_t)first_end + (len - (size_t)first_end) / 2);
	for (size_t cut = (size_t)first_end; cut < len; cut++) {
		struct session_data e;
		assert_int_equal(session_decode(img, cut, "t.lts", &e, warn, sizeof(warn), err,
						sizeof(err)), 0);
		assert_int_equal(e.n_turns, 2);
		assert_string_equal(e.turns[1].text, " First answer.");
		assert_true(e.has_kv);
		assert_int_equal(e.n_ids, 13);
		if (cut > first_end)
			assert_non_null(strstr(warn, "last save was incomplete"));
		else
			assert_string_equal(warn, "");
		session_data_free(&e);
	}
	/* A torn file on disk: resumed, then appended to after the cut. */
	assert_int_equal(truncate(path, (off_t)(len - 7)), 0);
	struct session_data e;
	read_ok(path, &e, warn, sizeof(warn));
	assert_non_null(strstr(warn, "torn.lts"));
	assert_int_equal(e.valid_end, first_end);
	struct ctx *r = restore(m, GGML_TYPE_F16, &e);
	assert_non_null(r);
	struct session_journal *j;
	assert_int_equal(session_journal_new(&j, path, &e, err, sizeof(err)), 0);
	session_data_free(&e);
	/* The resumed conversation (two turns) goes on differently. */
	struct session_data d2;
	base_data(&d2);
	d2.n_head = 2;
	memcpy(d2.ids, d.ids, 13 * sizeof(int32_t));
	d2.n_ids = 13;
	for (int i = 0; i < 2; i++) {
		d2.turns[i] = d.turns[i];
		d2.turns[i].text = xstrdup(d.turns[i].text);
		d2.turns[i].reasoning = xstrdup("");
	}
	d2.n_turns = 2;
	d2.updated = d.updated + 10;
	add_turn(r, &d2, "Another question.", 3);
	save(j, &d2, r, NULL);
	session_journal_free(j);
	read_ok(path, &e, warn, sizeof(warn));
	assert_string_equal(warn, "");
	assert_int_equal(e.n_turns, 3);
	assert_string_equal(e.turns[2].text, "Another question.");
	session_data_free(&e);
	check_restores(m, GGML_TYPE_F16, r, path, &d2);

	ctx_free(r);
	free(img);
	free(path);
	session_data_free(&d2);
	session_data_free(&d);
	ctx_free(c);
	model_free(m);
}

/* Offset of the n-th (0-based) record of a type in a journal image. */
static size_t find_record(const uint8_t *img, size_t len, const char *type, int nth)
{
	size_t off = 16;
	while (off + 12 <= len) {
		uint32_t n;
		memcpy(&n, img + off + 4, 4);
		if (!memcmp(img + off, type, 4) && nth-- == 0)
			return off;
		off += 12 + n;
	}
	fail_msg("no record %s", type);
	return 0;
}

/* A damaged record in the middle loses that record only. */
static void test_damaged_middle(void **state)
{
	(void)state;
	struct model *m = open_model(llama_path);
	struct ctx *c = new_ctx(m, GGML_TYPE_F16);
	struct session_data d;
	base_data(&d);
	char *path = session_file("damaged");
	uint64_t first_end;
	two_saves(m, c, &d, path, &first_end);
	size_t len;
	uint8_t *img = slurp(path, &len);
	char warn[512], err[512];
	struct session_data e;

	/* The second turn's record: the others stay, the context is rebuilt. */
	size_t at = find_record(img, len, "TURN", 1);
	img[at + 20] ^= 0x10;
	assert_int_equal(session_decode(img, len, "d.lts", &e, warn, sizeof(warn), err,
					sizeof(err)), 0);
	assert_non_null(strstr(warn, "1 damaged record skipped"));
	assert_int_equal(e.n_turns, 3);
	assert_string_equal(e.turns[0].text, "First question.");
	assert_string_equal(e.turns[1].text, "Second question.");
	assert_string_equal(e.turns[2].text, " Second answer.");
	assert_false(e.has_ctx);
	assert_false(e.has_kv);
	session_data_free(&e);
	img[at + 20] ^= 0x10;

	/* Its length field: the reader finds the next record all the same. */
	img[at + 6] ^= 0x7f;
	assert_int_equal(session_decode(img, len, "d.lts", &e, warn, sizeof(warn), err,
					sizeof(err)), 0);
	assert_non_null(strstr(warn, "damaged record"));
	assert_int_equal(e.n_turns, 3);
	session_data_free(&e);
	img[at + 6] ^= 0x7f;

	/* The second save's KV rows: the whole transcript, no cache. */
	at = find_record(img, len, "KVSP", 1);
	img[at + 100] ^= 1;
	assert_int_equal(session_decode(img, len, "d.lts", &e, warn, sizeof(warn), err,
					sizeof(err)), 0);
	assert_non_null(strstr(warn, "damaged record"));
	assert_int_equal(e.n_turns, 4);
	assert_true(e.has_ctx);
	assert_false(e.has_kv);
	session_data_free(&e);
	img[at + 100] ^= 1;

	/* The transcript-only reader skips KV checksums but reads the rest. */
	assert_int_equal(session_read_transcript(path, &e, warn, sizeof(warn), err, sizeof(err)), 0);
	assert_int_equal(e.n_turns, 4);
	assert_null(e.spans[0].blob);
	assert_true(e.live_bytes > 0 && e.live_bytes <= e.file_size);
	session_data_free(&e);

	/* A damaged header or first META is an error naming the file. */
	img[3] ^= 1;
	assert_int_equal(session_decode(img, len, "h.lts", &e, warn, sizeof(warn), err, sizeof(err)),
			 LT_E_FORMAT);
	assert_non_null(strstr(err, "h.lts"));
	img[3] ^= 1;
	free(img);
	free(path);
	session_data_free(&d);
	ctx_free(c);
	model_free(m);
}

/* Version-1 files load (their whole-cache image) and the next save
 * rewrites them as a journal. */
static void test_v1_convert(void **state)
{
	(void)state;
	struct model *m = open_model(llama_path);
	struct ctx *c = new_ctx(m, GGML_TYPE_F16);
	struct session_data d;
	base_data(&d);
	d.n_head = 3;
	eval_more(c, &d, 3, 1);
	add_turn(c, &d, "Old question.", 5);
	add_turn(c, &d, " Old answer.", 4);
	d.kv_len = ctx_state_size(c);
	d.kv = malloc(d.kv_len);
	assert_int_equal(ctx_state_save(c, d.kv, d.kv_len), 0);
	d.kv_n = d.n_ids;
	d.has_kv = true;
	uint8_t *buf;
	size_t len;
	char err[512], warn[512];
	assert_int_equal(session_encode_v1(&d, &buf, &len, err, sizeof(err)), 0);
	char *path = session_file("old");
	FILE *f = fopen(path, "wb");
	assert_non_null(f);
	assert_int_equal(fwrite(buf, 1, len, f), len);
	fclose(f);
	free(buf);
	free(d.kv);
	d.kv = NULL;
	d.has_kv = false;

	struct session_data e;
	keep_seed(path, "version1", 0);
	read_ok(path, &e, warn, sizeof(warn));
	assert_int_equal(e.version, 1);
	struct ctx *r = restore(m, GGML_TYPE_F16, &e);
	assert_non_null(r);
	same_logits(c, r);
	struct session_journal *j;
	assert_int_equal(session_journal_new(&j, path, &e, err, sizeof(err)), 0);
	session_data_free(&e);
	add_turn(r, &d, "New question.", 6);
	struct session_save_stats st;
	save(j, &d, r, &st);
	assert_true(st.compacted);
	read_ok(path, &e, warn, sizeof(warn));
	assert_int_equal(e.version, SESSION_VERSION);
	assert_int_equal(e.n_turns, 3);
	session_data_free(&e);
	check_restores(m, GGML_TYPE_F16, r, path, &d);
	session_journal_free(j);
	ctx_free(r);
	free(path);
	session_data_free(&d);
	ctx_free(c);
	model_free(m);
}

/* Regenerating again and again leaves dead bytes; once they outweigh the
 * live ones the save compacts, and the file stays within twice the live
 * size. */
static void test_compaction(void **state)
{
	(void)state;
	struct model *m = open_model(llama_path);
	struct ctx *c = new_ctx(m, GGML_TYPE_F16);
	struct session_data d;
	base_data(&d);
	char *path = session_file("compact");
	struct session_journal *j;
	char err[256];
	assert_int_equal(session_journal_new(&j, path, NULL, err, sizeof(err)), 0);
	d.n_head = 2;
	eval_more(c, &d, 2, 3);
	add_turn(c, &d, "Question.", 6);
	add_turn(c, &d, " Answer.", 30);
	struct session_save_stats st;
	save(j, &d, c, &st);
	int compactions = 0;
	for (int round = 0; round < 8; round++) {
		drop_turns(c, &d, 1);
		add_turn(c, &d, round & 1 ? " Odd answer." : " Even answer.", 30);
		save(j, &d, c, &st);
		compactions += st.compacted;
		if (round == 2)
			keep_seed(path, "dead-records", 0);
		assert_true(st.file_size <= 2 * st.live_bytes + 64);
		assert_int_equal(st.file_size, file_size(path));
	}
	assert_true(compactions >= 2);
	check_restores(m, GGML_TYPE_F16, c, path, &d);

	/* sessions gc leaves a session alone while a writer has it open... */
	uint64_t before, after;
	drop_turns(c, &d, 1);
	add_turn(c, &d, " Final answer.", 30);
	save(j, &d, c, &st);
	assert_int_equal(session_journal_compact_file(path, &before, &after, err, sizeof(err)),
			 LT_E_IO);
	assert_non_null(strstr(err, "open in another llamaterm"));
	/* ...and drops the dead records once it is closed. */
	session_journal_free(j);
	assert_int_equal(session_journal_compact_file(path, &before, &after, err, sizeof(err)), 0);
	if (!st.compacted)
		assert_true(after < before);
	check_restores(m, GGML_TYPE_F16, c, path, &d);
	/* A writer made from the compacted file appends to it. */
	struct session_data e;
	char warn[256];
	read_ok(path, &e, warn, sizeof(warn));
	assert_int_equal(session_journal_new(&j, path, &e, err, sizeof(err)), 0);
	session_data_free(&e);
	add_turn(c, &d, "More?", 3);
	save(j, &d, c, &st);
	assert_false(st.compacted);
	check_restores(m, GGML_TYPE_F16, c, path, &d);
	session_journal_free(j);
	free(path);
	session_data_free(&d);
	ctx_free(c);
	model_free(m);
}

/* Sliding-window layers store only the window of each span's end: runs of
 * spans restore exactly (also after undo); a truncation into a span whose
 * window rows were not stored is found (the caller then rebuilds). */
static void test_sliding_window(void **state)
{
	(void)state;
	struct model *m = open_model(swa_path);
	struct ctx *c = new_ctx(m, GGML_TYPE_F16);
	struct session_data d;
	base_data(&d);
	char *path = session_file("swa");
	struct session_journal *j;
	char err[256], warn[256];
	assert_int_equal(session_journal_new(&j, path, NULL, err, sizeof(err)), 0);
	/* Small records: spans the ring still holds are cut (each keeps the
	 * window of its own end); longer ones go whole. */
	session_journal_set_chunk(j, 2000);
	d.n_head = 1;
	eval_more(c, &d, 1, 1);
	add_turn(c, &d, "A.", 2);
	save(j, &d, c, NULL);
	add_turn(c, &d, "B.", 20);
	save(j, &d, c, NULL);
	add_turn(c, &d, "C.", 3);
	save(j, &d, c, NULL);
	check_restores(m, GGML_TYPE_F16, c, path, &d);
	/* Undo C and B: span A (three positions) holds all it needs. */
	drop_turns(c, &d, 2);
	save(j, &d, c, NULL);
	check_restores(m, GGML_TYPE_F16, c, path, &d);
	add_turn(c, &d, "D.", 10);
	save(j, &d, c, NULL);
	check_restores(m, GGML_TYPE_F16, c, path, &d);
	keep_seed(path, "sliding-window", 0);
	session_journal_free(j);

	/* One span for everything (a compaction), then undo into it: the
	 * window of the new end was not stored. */
	char *path2 = session_file("swa2");
	assert_int_equal(session_journal_new(&j, path2, NULL, err, sizeof(err)), 0);
	add_turn(c, &d, "E.", 4);
	save(j, &d, c, NULL);
	drop_turns(c, &d, 1);
	save(j, &d, c, NULL);
	struct session_data e;
	read_ok(path2, &e, warn, sizeof(warn));
	assert_true(e.has_kv);
	assert_null(restore(m, GGML_TYPE_F16, &e));
	session_data_free(&e);
	session_journal_free(j);
	free(path2);
	free(path);
	session_data_free(&d);
	ctx_free(c);
	model_free(m);
}

/* --session-kv none: no ids and no KV records. */
static void test_kv_none(void **state)
{
	(void)state;
	struct model *m = open_model(llama_path);
	struct ctx *c = new_ctx(m, GGML_TYPE_F16);
	struct session_data d;
	base_data(&d);
	char *path = session_file("none");
	struct session_journal *j;
	char err[256], warn[256];
	assert_int_equal(session_journal_new(&j, path, NULL, err, sizeof(err)), 0);
	d.n_head = 2;
	eval_more(c, &d, 2, 3);
	add_turn(c, &d, "Question.", 6);
	assert_int_equal(session_journal_save(j, &d, c, SESSION_KV_NONE, NULL, err, sizeof(err)), 0);
	add_turn(c, &d, " Answer.", 8);
	assert_int_equal(session_journal_save(j, &d, c, SESSION_KV_NONE, NULL, err, sizeof(err)), 0);
	size_t len;
	uint8_t *img = slurp(path, &len);
	assert_null(memmem(img, len, "KVSP", 4));
	assert_null(memmem(img, len, "CIDS", 4));
	assert_true(len < 1024);
	keep_seed(path, "kv-none", 0);
	free(img);
	struct session_data e;
	read_ok(path, &e, warn, sizeof(warn));
	assert_int_equal(e.n_turns, 2);
	assert_false(e.has_ctx || e.has_kv);
	session_data_free(&e);
	session_journal_free(j);
	free(path);
	session_data_free(&d);
	ctx_free(c);
	model_free(m);
}

struct full_arg {
	struct session_journal *j;
	struct session_data *d;
	struct ctx *c;
};

static int save_full(void *arg, char *msg, size_t size)
{
	struct full_arg *a = arg;
	return session_journal_save(a->j, a->d, a->c, SESSION_KV_FULL, NULL, msg, size);
}

/* An append that runs out of room: one line, the file cut back to the
 * last save, and the next save (with room) writes the file whole. */
static void test_append_full(void **state)
{
	(void)state;
	struct model *m = open_model(llama_path);
	struct ctx *c = new_ctx(m, GGML_TYPE_F16);
	struct session_data d;
	base_data(&d);
	char *path = session_file("full");
	struct session_journal *j;
	char err[512], warn[256];
	assert_int_equal(session_journal_new(&j, path, NULL, err, sizeof(err)), 0);
	d.n_head = 2;
	eval_more(c, &d, 2, 3);
	add_turn(c, &d, "Question.", 6);
	save(j, &d, c, NULL);
	uint64_t size = file_size(path);
	add_turn(c, &d, " A long answer.", 60);
	struct full_arg a = { j, &d, c };
	char msg[512];
	assert_int_equal(tu_with_fsize_limit(size + 100, save_full, &a, msg, sizeof(msg)), LT_E_FULL);
	assert_non_null(strstr(msg, path));
	assert_null(strchr(msg, '\n'));
	assert_int_equal(file_size(path), size);
	struct session_data e;
	read_ok(path, &e, warn, sizeof(warn));
	assert_int_equal(e.n_turns, 1);
	session_data_free(&e);
	save(j, &d, c, NULL);
	check_restores(m, GGML_TYPE_F16, c, path, &d);
	session_journal_free(j);
	free(path);
	session_data_free(&d);
	ctx_free(c);
	model_free(m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_append_f16),
		cmocka_unit_test(test_append_f32),
		cmocka_unit_test(test_append_q8_0),
		cmocka_unit_test(test_append_q4_0),
		cmocka_unit_test(test_torn_tail),
		cmocka_unit_test(test_damaged_middle),
		cmocka_unit_test(test_v1_convert),
		cmocka_unit_test(test_compaction),
		cmocka_unit_test(test_sliding_window),
		cmocka_unit_test(test_kv_none),
		cmocka_unit_test(test_append_full),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
