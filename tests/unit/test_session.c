/* Session file tests: name rules, encode/decode round trip, damaged and
 * truncated files (errors name the file; the transcript survives a damaged
 * KV section), atomic writes surviving kill -9, and the sessions directory. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "session.h"

#include "testutil.h"

/* A KV image large enough that a write takes a while (for the kill test). */
#define KV_BIG (4u << 20)
/* The file size limit of the "disk full" test, and a KV image beyond it. */
#define FSIZE_LIMIT (16u << 10)
#define KV_OVER_LIMIT (64u << 10)

static char *xstrdup(const char *s)
{
	char *p = strdup(s);
	assert_non_null(p);
	return p;
}

/* A two-turn session with every field set. */
static void make_data(struct session_data *d, size_t kv_len)
{
	memset(d, 0, sizeof(*d));
	d->fingerprint = 0x0123456789abcdefull;
	d->model_size = 1234567;
	d->model_name = xstrdup("tiny-model");
	d->template_name = xstrdup("chatml");
	d->system = xstrdup("You are terse.");
	d->in_prefix = xstrdup("");
	d->postfix = xstrdup(" AI:");
	d->created = 1700000000000;
	d->updated = 1700000001000;
	d->n_ctx = 256;
	d->sampling = sampler_params_default();
	d->sampling.temperature = 0.7f;
	d->sampling.xtc_probability = 0.25f;
	d->sampling.seed = 42;
	d->n_predict = 64;
	d->n_stops = 1;
	d->stops = calloc(1, sizeof(char *));
	d->stops[0] = xstrdup("User:");
	d->n_turns = 2;
	d->turns = calloc(2, sizeof(*d->turns));
	d->turns[0] = (struct session_turn){ .role = 0, .flags = 2, .n_tokens = 3, .t_start = 1, .t_end = 2,
					     .text = xstrdup("Hello, caf\xc3\xa9!") };
	d->turns[1] = (struct session_turn){ .role = 1, .flags = 3, .n_tokens = 2, .t_start = 3, .t_end = 4,
					     .text = xstrdup(" Hi.") };
	d->n_head = 1;
	d->n_ids = 6;
	d->ids = malloc(6 * sizeof(int32_t));
	for (int i = 0; i < 6; i++)
		d->ids[i] = 10 + i;
	d->sampler_state_len = 16;
	d->sampler_state = calloc(1, 16);
	memset(d->sampler_state, 0x5a, 16);
	d->kv_len = kv_len;
	d->kv_n = 6;
	d->kv = malloc(kv_len);
	for (size_t i = 0; i < kv_len; i++)
		((uint8_t *)d->kv)[i] = (uint8_t)(i * 7);
	d->has_ctx = d->has_sampler = d->has_kv = true;
}

static void check_transcript(const struct session_data *d)
{
	assert_string_equal(d->model_name, "tiny-model");
	assert_string_equal(d->template_name, "chatml");
	assert_string_equal(d->system, "You are terse.");
	assert_string_equal(d->postfix, " AI:");
	assert_int_equal(d->n_turns, 2);
	assert_string_equal(d->turns[0].text, "Hello, caf\xc3\xa9!");
	assert_string_equal(d->turns[1].text, " Hi.");
	assert_int_equal(d->turns[1].flags, 3);
	assert_int_equal(d->n_stops, 1);
	assert_string_equal(d->stops[0], "User:");
	assert_true(d->sampling.temperature == 0.7f);
	assert_true(d->sampling.xtc_probability == 0.25f);
	assert_int_equal(d->sampling.seed, 42);
	assert_int_equal(d->n_predict, 64);
}

/* (Version 1.) Reasoning lives in its own RSNG section: it round-trips, a file
 * written before the section existed (none, six sections) still reads as
 * having no reasoning, and a damaged RSNG loses only the reasoning. */
static void test_reasoning_section(void **state)
{
	(void)state;
	struct session_data d;
	make_data(&d, 64);
	d.turns[1].reasoning = xstrdup("Short question, short answer.");
	d.turns[1].n_reasoning = 7;
	d.thinking_off = true;
	uint8_t *buf;
	size_t len;
	char err[256], warn[256];
	assert_int_equal(session_encode_v1(&d, &buf, &len, err, sizeof(err)), 0);
	struct session_data back;
	assert_int_equal(session_decode(buf, len, "r.lts", &back, warn, sizeof(warn), err,
					sizeof(err)), 0);
	check_transcript(&back);
	assert_string_equal(warn, "");
	assert_string_equal(back.turns[1].reasoning, "Short question, short answer.");
	assert_int_equal(back.turns[1].n_reasoning, 7);
	assert_string_equal(back.turns[0].reasoning, "");
	assert_true(back.thinking_off);
	assert_true(back.has_kv);
	session_data_free(&back);

	/* The old layout: cut the section out, six sections, header CRC again. */
	uint8_t *sec = memmem(buf, len, "RSNG", 4);
	assert_non_null(sec);
	uint64_t slen = 0;
	for (int i = 0; i < 8; i++)
		slen |= (uint64_t)sec[8 + i] << (8 * i);
	size_t cut = 24 + (size_t)slen;
	memmove(sec, sec + cut, len - (size_t)(sec - buf) - cut);
	size_t old_len = len - cut;
	buf[12] = 6;
	uint32_t crc = session_crc32(0, buf, 20);
	for (int i = 0; i < 4; i++)
		buf[20 + i] = (uint8_t)(crc >> (8 * i));
	assert_int_equal(session_decode(buf, old_len, "old.lts", &back, warn, sizeof(warn), err,
					sizeof(err)), 0);
	check_transcript(&back);
	assert_string_equal(warn, "");
	assert_true(!back.turns[1].reasoning || !back.turns[1].reasoning[0]);
	assert_false(back.thinking_off);
	assert_true(back.has_ctx && back.has_kv);
	session_data_free(&back);
	free(buf);

	/* An RSNG whose checksum holds but whose contents do not (a token
	 * count past INT32_MAX): none of its reasoning is taken, not half. */
	d.turns[0].reasoning = xstrdup("First thoughts.");
	d.turns[0].n_reasoning = 3;
	d.turns[1].n_reasoning = -1;
	assert_int_equal(session_encode_v1(&d, &buf, &len, err, sizeof(err)), 0);
	assert_int_equal(session_decode(buf, len, "half.lts", &back, warn, sizeof(warn), err,
					sizeof(err)), 0);
	assert_non_null(strstr(warn, "section RSNG is damaged"));
	for (int i = 0; i < back.n_turns; i++) {
		assert_true(!back.turns[i].reasoning || !back.turns[i].reasoning[0]);
		assert_int_equal(back.turns[i].n_reasoning, 0);
	}
	assert_false(back.thinking_off);
	session_data_free(&back);
	free(buf);
	d.turns[1].n_reasoning = 7;

	/* A damaged RSNG: a warning, the rest intact. */
	assert_int_equal(session_encode_v1(&d, &buf, &len, err, sizeof(err)), 0);
	sec = memmem(buf, len, "RSNG", 4);
	sec[24 + 10] ^= 0x55;
	assert_int_equal(session_decode(buf, len, "bad.lts", &back, warn, sizeof(warn), err,
					sizeof(err)), 0);
	check_transcript(&back);
	assert_non_null(strstr(warn, "section RSNG is damaged"));
	assert_true(back.has_kv);
	session_data_free(&back);
	free(buf);
	session_data_free(&d);
}

static void test_names(void **state)
{
	(void)state;
	char err[256];
	assert_int_equal(session_name_check("my chat", err, sizeof(err)), 0);
	assert_int_equal(session_name_check("2024-05-01_14-03-59", err, sizeof(err)), 0);
	assert_int_equal(session_name_check("caf\xc3\xa9 \xe6\x97\xa5\xe6\x9c\xac", err, sizeof(err)), 0);
	assert_int_equal(session_name_check("a..b", err, sizeof(err)), 0);
	assert_int_equal(session_name_check("", err, sizeof(err)), LT_E_INVAL);
	assert_int_equal(session_name_check("../etc/passwd", err, sizeof(err)), LT_E_INVAL);
	assert_int_equal(session_name_check("..", err, sizeof(err)), LT_E_INVAL);
	assert_int_equal(session_name_check(".hidden", err, sizeof(err)), LT_E_INVAL);
	assert_int_equal(session_name_check("a/b", err, sizeof(err)), LT_E_INVAL);
	assert_non_null(strstr(err, "'/'"));
	assert_int_equal(session_name_check("tab\there", err, sizeof(err)), LT_E_INVAL);
	assert_int_equal(session_name_check("bad\xc3", err, sizeof(err)), LT_E_INVAL);
	assert_int_equal(session_name_check("\xed\xa0\x80", err, sizeof(err)), LT_E_INVAL);
	char longname[SESSION_NAME_MAX + 2];
	memset(longname, 'x', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	assert_int_equal(session_name_check(longname, err, sizeof(err)), LT_E_INVAL);
	longname[SESSION_NAME_MAX] = '\0';
	assert_int_equal(session_name_check(longname, err, sizeof(err)), 0);
	char *p;
	assert_int_equal(session_path(&p, "../x", err, sizeof(err)), LT_E_INVAL);
	assert_null(p);
}

static void test_crc(void **state)
{
	(void)state;
	/* The standard check value of CRC-32. */
	assert_int_equal(session_crc32(0, "123456789", 9), 0xcbf43926u);
	assert_int_equal(session_crc32(session_crc32(0, "1234", 4), "56789", 5), 0xcbf43926u);
	/* The table path of long runs agrees with the nibble path of short ones. */
	uint8_t big[10000];
	for (size_t i = 0; i < sizeof(big); i++)
		big[i] = (uint8_t)(i * 31 + (i >> 7));
	uint32_t c = 0;
	for (size_t i = 0; i < sizeof(big); i += 1000)
		c = session_crc32(c, big + i, 1000);
	assert_int_equal(session_crc32(0, big, sizeof(big)), c);
}

static void test_round_trip(void **state)
{
	(void)state;
	struct session_data d, e;
	make_data(&d, 1000);
	uint8_t *buf;
	size_t len;
	char err[256], warn[256];
	assert_int_equal(session_encode(&d, &buf, &len, err, sizeof(err)), 0);
	assert_int_equal(session_decode(buf, len, "x.lts", &e, warn, sizeof(warn), err, sizeof(err)), 0);
	assert_string_equal(warn, "");
	check_transcript(&e);
	assert_true(e.has_ctx && e.has_sampler && e.has_kv);
	assert_int_equal(e.n_ids, 6);
	assert_int_equal(e.n_head, 1);
	assert_memory_equal(e.ids, d.ids, 6 * sizeof(int32_t));
	assert_int_equal(e.kv_len, 1000);
	assert_memory_equal(e.kv, d.kv, 1000);
	assert_memory_equal(e.sampler_state, d.sampler_state, 16);
	assert_true(e.fingerprint == d.fingerprint);
	session_data_free(&e);
	free(buf);
	session_data_free(&d);
}

/* Offset of a section's payload in an encoded image. */
static size_t section_payload(const uint8_t *buf, size_t len, const char *tag)
{
	size_t off = 24;
	while (off + 24 <= len) {
		uint64_t n;
		memcpy(&n, buf + off + 8, 8);
		if (!memcmp(buf + off, tag, 4))
			return off + 24;
		off += 24 + (size_t)n;
	}
	fail_msg("no section %s", tag);
	return 0;
}

static void test_damaged(void **state)
{
	(void)state;
	struct session_data d, e;
	make_data(&d, 1000);
	uint8_t *buf;
	size_t len;
	char err[256], warn[256];
	assert_int_equal(session_encode_v1(&d, &buf, &len, err, sizeof(err)), 0);

	/* A flipped byte in the KV cache: the transcript still loads. */
	size_t kv = section_payload(buf, len, "KVST");
	buf[kv + 10] ^= 1;
	assert_int_equal(session_decode(buf, len, "kv.lts", &e, warn, sizeof(warn), err, sizeof(err)), 0);
	check_transcript(&e);
	assert_false(e.has_kv);
	assert_true(e.has_ctx);
	assert_non_null(strstr(warn, "kv.lts"));
	assert_non_null(strstr(warn, "KVST"));
	session_data_free(&e);
	buf[kv + 10] ^= 1;

	/* Truncated inside the KV section: the same. */
	assert_int_equal(session_decode(buf, len - 5, "cut.lts", &e, warn, sizeof(warn), err, sizeof(err)), 0);
	check_transcript(&e);
	assert_false(e.has_kv);
	assert_non_null(strstr(warn, "truncated"));
	session_data_free(&e);

	/* A damaged transcript is an error naming the file. */
	size_t turn = section_payload(buf, len, "TURN");
	buf[turn + 30] ^= 0x40;
	assert_int_equal(session_decode(buf, len, "turn.lts", &e, warn, sizeof(warn), err, sizeof(err)),
			 LT_E_FORMAT);
	assert_non_null(strstr(err, "turn.lts"));
	assert_non_null(strstr(err, "TURN"));
	assert_int_equal(e.n_turns, 0);
	buf[turn + 30] ^= 0x40;

	/* Truncated before the transcript ends. */
	assert_int_equal(session_decode(buf, turn + 3, "short.lts", &e, warn, sizeof(warn), err, sizeof(err)),
			 LT_E_FORMAT);
	assert_non_null(strstr(err, "short.lts"));

	/* Every truncation either fails cleanly or keeps the whole transcript. */
	for (size_t cut = 0; cut < len; cut += (cut < 400 ? 1 : 97)) {
		int rc = session_decode(buf, cut, "t.lts", &e, warn, sizeof(warn), err, sizeof(err));
		if (rc == 0) {
			check_transcript(&e);
			session_data_free(&e);
		} else {
			assert_non_null(strstr(err, "t.lts"));
		}
	}

	/* Bad magic, bad header checksum, future version. */
	buf[0] = 'X';
	assert_int_equal(session_decode(buf, len, "m.lts", &e, warn, sizeof(warn), err, sizeof(err)), LT_E_FORMAT);
	assert_non_null(strstr(err, "magic"));
	buf[0] = 'L';
	buf[8] = 3;
	assert_int_equal(session_decode(buf, len, "v.lts", &e, warn, sizeof(warn), err, sizeof(err)), LT_E_FORMAT);
	assert_non_null(strstr(err, "checksum"));
	uint32_t crc = session_crc32(0, buf, 20);
	memcpy(buf + 20, &crc, 4);
	assert_int_equal(session_decode(buf, len, "v.lts", &e, warn, sizeof(warn), err, sizeof(err)),
			 LT_E_UNSUPPORTED);
	assert_non_null(strstr(err, "version 3"));
	free(buf);
	session_data_free(&d);
}

static void test_save_load_files(void **state)
{
	(void)state;
	struct session_data d, e;
	make_data(&d, 100);
	char err[256], warn[256];
	assert_int_equal(session_save("first", &d, err, sizeof(err)), 0);
	assert_true(session_exists("first"));
	char *path;
	assert_int_equal(session_path(&path, "first", err, sizeof(err)), 0);
	assert_non_null(path);
	struct stat st;
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	assert_int_equal(session_load("first", &e, warn, sizeof(warn), err, sizeof(err)), 0);
	check_transcript(&e);
	assert_true(e.has_kv);
	session_data_free(&e);
	assert_int_equal(session_read_transcript(path, &e, warn, sizeof(warn), err, sizeof(err)), 0);
	check_transcript(&e);
	assert_false(e.has_kv);
	session_data_free(&e);

	assert_int_equal(session_load("missing", &e, warn, sizeof(warn), err, sizeof(err)), LT_E_NOTFOUND);
	assert_non_null(strstr(err, "missing"));

	/* A garbage file is listed as unreadable and fails to load by name. */
	char *bad;
	assert_int_equal(session_path(&bad, "garbage", err, sizeof(err)), 0);
	FILE *f = fopen(bad, "w");
	fputs("not a session", f);
	fclose(f);
	assert_int_equal(session_load("garbage", &e, warn, sizeof(warn), err, sizeof(err)), LT_E_FORMAT);
	assert_non_null(strstr(err, "garbage.lts"));

	struct session_info *list;
	size_t n;
	assert_int_equal(session_list(&list, &n, err, sizeof(err)), 0);
	assert_int_equal(n, 2);
	bool saw_first = false, saw_garbage = false;
	for (size_t i = 0; i < n; i++) {
		if (!strcmp(list[i].name, "first")) {
			saw_first = true;
			assert_int_equal(list[i].n_turns, 2);
			assert_int_equal(list[i].n_tokens, 6);
			assert_string_equal(list[i].model_name, "tiny-model");
			assert_null(list[i].error);
		} else if (!strcmp(list[i].name, "garbage")) {
			saw_garbage = true;
			assert_non_null(list[i].error);
		}
	}
	assert_true(saw_first && saw_garbage);
	session_list_free(list, n);

	char md[300];
	snprintf(md, sizeof(md), "%s/out.md", tu_data_home());
	assert_int_equal(session_export_markdown(&d, "first", md, err, sizeof(err)), 0);
	f = fopen(md, "r");
	char text[1024] = "";
	size_t got = fread(text, 1, sizeof(text) - 1, f);
	text[got] = '\0';
	fclose(f);
	assert_non_null(strstr(text, "## User\n\nHello, caf\xc3\xa9!"));
	assert_non_null(strstr(text, "## Assistant (cut short)\n\nHi."));

	/* Renaming never replaces another session. */
	assert_int_equal(session_rename("first", "garbage", err, sizeof(err)), LT_E_INVAL);
	assert_non_null(strstr(err, "garbage"));
	assert_true(session_exists("first"));
	assert_int_equal(session_rename("first", "second", err, sizeof(err)), 0);
	assert_false(session_exists("first"));
	assert_true(session_exists("second"));
	assert_int_equal(session_rename("first", "third", err, sizeof(err)), LT_E_NOTFOUND);
	assert_int_equal(session_rename("second", "../x", err, sizeof(err)), LT_E_INVAL);
	assert_int_equal(session_rename("second", "first", err, sizeof(err)), 0);

	char when[32];
	session_when(0, when, sizeof(when));
	assert_int_equal(strlen(when), 16); /* YYYY-MM-DD HH:MM */

	assert_int_equal(session_remove("first", err, sizeof(err)), 0);
	assert_false(session_exists("first"));
	assert_int_equal(session_remove("first", err, sizeof(err)), LT_E_NOTFOUND);
	free(path);
	free(bad);
	session_data_free(&d);
}

/* A writer killed with SIGKILL at random moments never leaves a file that
 * fails to load: the rename is the only step that replaces it. */
static void test_kill_during_save(void **state)
{
	(void)state;
	struct session_data d, e;
	make_data(&d, KV_BIG);
	char err[256], warn[256];
	assert_int_equal(session_save("killed", &d, err, sizeof(err)), 0);
	char *path;
	assert_int_equal(session_path(&path, "killed", err, sizeof(err)), 0);
	for (int round = 0; round < 6; round++) {
		pid_t pid = fork();
		assert_true(pid >= 0);
		if (pid == 0) {
			char e2[256];
			for (int k = 0;; k++) {
				d.turns[1].t_end = k;
				if (session_save("killed", &d, e2, sizeof(e2)) != 0)
					_exit(3);
			}
		}
		usleep(20000 + round * 7000);
		kill(pid, SIGKILL);
		int status;
		waitpid(pid, &status, 0);
		assert_true(WIFSIGNALED(status));
		assert_int_equal(session_read_file(path, &e, warn, sizeof(warn), err, sizeof(err)), 0);
		assert_string_equal(warn, "");
		check_transcript(&e);
		assert_true(e.has_kv);
		assert_int_equal(e.kv_len, KV_BIG);
		assert_memory_equal(e.kv, d.kv, KV_BIG);
		session_data_free(&e);
	}
	/* Leftover temporary files are hidden from listings. */
	struct session_info *list;
	size_t n;
	assert_int_equal(session_list(&list, &n, err, sizeof(err)), 0);
	for (size_t i = 0; i < n; i++)
		assert_true(list[i].name[0] != '.');
	session_list_free(list, n);
	free(path);
	session_data_free(&d);
}

/* Writing where it cannot succeed keeps the old file and says why. */
static void test_write_failure(void **state)
{
	(void)state;
	struct session_data d, e;
	make_data(&d, 100);
	char err[256], warn[256];
	assert_int_equal(session_write_file("/nonexistent-dir/x.lts", &d, err, sizeof(err)), LT_E_IO);
	assert_non_null(strstr(err, "/nonexistent-dir/x.lts"));
	char path[300];
	snprintf(path, sizeof(path), "%s/ro", tu_data_home());
	mkdir(path, 0700);
	snprintf(path, sizeof(path), "%s/ro/a.lts", tu_data_home());
	assert_int_equal(session_write_file(path, &d, err, sizeof(err)), 0);
	if (geteuid() != 0) {
		char dir[300];
		snprintf(dir, sizeof(dir), "%s/ro", tu_data_home());
		chmod(dir, 0500);
		d.turns[0].text[0] = 'J';
		assert_int_not_equal(session_write_file(path, &d, err, sizeof(err)), 0);
		assert_non_null(strstr(err, "a.lts"));
		chmod(dir, 0700);
		d.turns[0].text[0] = 'H';
	}
	assert_int_equal(session_read_file(path, &e, warn, sizeof(warn), err, sizeof(err)), 0);
	check_transcript(&e);
	session_data_free(&e);
	session_data_free(&d);
}

static int save_full(void *arg, char *msg, size_t size)
{
	return session_save("full", arg, msg, size);
}

/* A write that runs out of room (here a file size limit, so the write fails
 * with EFBIG as it would with ENOSPC or EDQUOT on a full disk): one line
 * naming the file and saying why, the previous version still loads, and no
 * temporary file is left behind. */
static void test_disk_full(void **state)
{
	(void)state;
	struct session_data d, e;
	make_data(&d, 100);
	char err[512], warn[256];
	assert_int_equal(session_save("full", &d, err, sizeof(err)), 0);
	char *path;
	assert_int_equal(session_path(&path, "full", err, sizeof(err)), 0);
	assert_non_null(path);
	session_data_free(&d);
	make_data(&d, KV_OVER_LIMIT);
	d.turns[0].text[0] = 'J';

	char msg[512];
	assert_int_equal(tu_with_fsize_limit(FSIZE_LIMIT, save_full, &d, msg, sizeof(msg)), LT_E_FULL);
	assert_non_null(strstr(msg, path));
	assert_non_null(strstr(msg, "file size limit"));
	assert_non_null(strstr(msg, "previous version is intact"));
	assert_null(strchr(msg, '\n'));

	/* The old file is untouched and loads, KV cache included. */
	assert_int_equal(session_read_file(path, &e, warn, sizeof(warn), err, sizeof(err)), 0);
	assert_string_equal(warn, "");
	check_transcript(&e);
	assert_int_equal(e.kv_len, 100);
	session_data_free(&e);

	/* No temporary file is left in the directory. */
	char *dir;
	assert_int_equal(session_dir(&dir, false, err, sizeof(err)), 0);
	DIR *dh = opendir(dir);
	assert_non_null(dh);
	struct dirent *de;
	while ((de = readdir(dh)) != NULL)
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
			assert_null(strstr(de->d_name, ".full.lts."));
	closedir(dh);
	free(dir);
	free(path);
	session_data_free(&d);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_crc),
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_reasoning_section),
		cmocka_unit_test(test_damaged),
		cmocka_unit_test(test_save_load_files),
		cmocka_unit_test(test_kill_during_save),
		cmocka_unit_test(test_write_failure),
		cmocka_unit_test(test_disk_full),
	};
	return cmocka_run_group_tests(tests, tu_setup_data_home, tu_teardown_data_home);
}
