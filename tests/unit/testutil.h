/* Helpers shared by the cmocka tests: finding the shared test data (and
 * skipping visibly when it is absent), temporary directories (also as the
 * XDG data home), reading whole files, running a writer under a file size
 * limit, capturing what a printer writes, opening a tokenizer written by
 * hand, and printing what a tokenizer test saw. Include it after
 * <cmocka.h>. */
#ifndef LT_TESTUTIL_H
#define LT_TESTUTIL_H

#include <dirent.h>
#include <ftw.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "gguf.h"
#include "gguf_write.h"
#include "vocab.h"

/* The shared data directory: $LLAMATERM_SHARED, else "../shared" (relative
 * to the repository root, where the tests run). */
static inline const char *tu_shared_dir(void)
{
	const char *s = getenv("LLAMATERM_SHARED");
	return s && *s ? s : "../shared";
}

/* Writes "<shared>/models/<rel>" into buf; true when that file is readable. */
static inline bool tu_model_path(char *buf, size_t size, const char *rel)
{
	snprintf(buf, size, "%s/models/%s", tu_shared_dir(), rel);
	return access(buf, R_OK) == 0;
}

/* The same, but when the file is missing prints "SKIP: who: PATH not found"
 * and skips the running test. */
static inline void tu_need_model(char *buf, size_t size, const char *rel, const char *who)
{
	if (!tu_model_path(buf, size, rel)) {
		printf("SKIP: %s: %s not found (set LLAMATERM_SHARED)\n", who, buf);
		skip();
	}
}

/* tu_need_model into an array, naming the calling test. */
#define TU_NEED_MODEL(buf, rel) tu_need_model((buf), sizeof(buf), (rel), __func__)

/* Skips the running test, visibly, unless the shared models are there
 * (stories260K.gguf stands for all of them). */
#define TU_NEED_SHARED()                                         \
	do {                                                     \
		char tu_probe_[1024];                            \
		TU_NEED_MODEL(tu_probe_, "stories260K.gguf");    \
	} while (0)

/* Opens <shared>/models/<rel> as a tokenizer; fails the test on error. */
static inline struct vocab *tu_open_vocab(const char *rel)
{
	char path[1024], err[256] = "";
	struct gguf *g = NULL;
	struct vocab *v = NULL;
	tu_model_path(path, sizeof(path), rel);
	if (gguf_open(&g, path, 0, err, sizeof(err)))
		fail_msg("gguf_open %s: %s", path, err);
	int rc = vocab_open(&v, g, err, sizeof(err));
	gguf_free(g);
	if (rc)
		fail_msg("vocab_open %s: %s", path, err);
	return v;
}

/* What print(f, arg) writes, as a malloc'd string. */
static inline char *tu_capture(void (*print)(FILE *f, unsigned arg), unsigned arg)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	assert_non_null(f);
	print(f, arg);
	fclose(f);
	return buf;
}

/* Writes w to a temporary file "/tmp/lt-<tag>-XXXXXX" (freeing w), opens
 * that as a tokenizer and removes the file, for the tests that build a
 * vocabulary's metadata by hand: vocab_open's result, with *out and err as
 * it left them. */
static inline int tu_vocab_from_writer(struct gguf_writer *w, const char *tag, struct vocab **out,
				       char *err, size_t errlen)
{
	char path[256];
	snprintf(path, sizeof(path), "/tmp/lt-%s-XXXXXX", tag);
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	close(fd);
	char werr[256];
	assert_int_equal(gguf_writer_write(w, path, werr, sizeof(werr)), 0);
	gguf_writer_free(w);
	struct gguf *g = NULL;
	assert_int_equal(gguf_open(&g, path, 0, werr, sizeof(werr)), 0);
	*out = NULL;
	int rc = vocab_open(out, g, err, errlen);
	gguf_free(g);
	unlink(path);
	return rc;
}

/* The id of an SPM vocabulary's byte token <0xXX> for byte b; fails the
 * test when there is none. */
static inline int32_t tu_byte_token(const struct vocab *v, unsigned b)
{
	char name[8];
	snprintf(name, sizeof(name), "<0x%02X>", b);
	int32_t id = vocab_find(v, name, 6);
	assert_true(id >= 0);
	return id;
}

/* Creates a fresh directory "/tmp/lt-<tag>-XXXXXX" and writes its name into
 * buf. Returns false when it cannot. */
static inline bool tu_mkdtemp(char *buf, size_t size, const char *tag)
{
	snprintf(buf, size, "/tmp/lt-%s-XXXXXX", tag);
	return mkdtemp(buf) != NULL;
}

static inline int tu_rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

/* Removes dir and everything below it. Returns 0 when all is gone. */
static inline int tu_rm_rf(const char *dir)
{
	return nftw(dir, tu_rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

/* A fresh temporary directory for one test and a file name in it
 * ("<dir>/out"); tu_tmp_setup and tu_tmp_teardown are the cmocka per-test
 * setup and teardown that make and remove them (*state is the tu_tmp). */
struct tu_tmp {
	char dir[64];
	char path[128];
};

static inline int tu_tmp_setup(void **state)
{
	struct tu_tmp *t = calloc(1, sizeof(*t));
	if (!t || !tu_mkdtemp(t->dir, sizeof(t->dir), "test")) {
		free(t);
		return -1;
	}
	snprintf(t->path, sizeof(t->path), "%s/out", t->dir);
	*state = t;
	return 0;
}

static inline int tu_tmp_teardown(void **state)
{
	struct tu_tmp *t = *state;
	int rc = tu_rm_rf(t->dir);
	free(t);
	return rc;
}

/* A cmocka test entry with its own tu_tmp. */
#define TU_TMP_TEST(f) cmocka_unit_test_setup_teardown(f, tu_tmp_setup, tu_tmp_teardown)

/* The directory's entries besides . and .. (-1 when it cannot be read), so
 * tests can see that no temporary file was left behind. */
static inline int tu_count_entries(const char *dir)
{
	DIR *d = opendir(dir);
	int n = 0;
	if (!d)
		return -1;
	for (struct dirent *e; (e = readdir(d));)
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
			n++;
	closedir(d);
	return n;
}

/* One temporary directory per test program, made the XDG data home by
 * tu_setup_data_home and removed by tu_teardown_data_home (use them as
 * cmocka group setup and teardown). */
static inline char *tu_data_home(void)
{
	static char dir[256];
	return dir;
}

static inline int tu_setup_data_home(void **state)
{
	(void)state;
	if (!tu_mkdtemp(tu_data_home(), 256, "test-data"))
		return -1;
	return setenv("XDG_DATA_HOME", tu_data_home(), 1);
}

static inline int tu_teardown_data_home(void **state)
{
	(void)state;
	return tu_rm_rf(tu_data_home());
}

/* Runs fn(arg, msg, size) in a child process whose files may not grow past
 * limit bytes, so a write fails with EFBIG as it would with ENOSPC on a
 * full disk (the limit stays in the child). fn returns 0 or a negative
 * lt_error and may write a message into msg; both come back here: the
 * return value is fn's, and msg holds its message. */
static inline int tu_with_fsize_limit(rlim_t limit, int (*fn)(void *arg, char *msg, size_t size),
				      void *arg, char *msg, size_t size)
{
	int fds[2];
	assert_int_equal(pipe(fds), 0);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		close(fds[0]);
		/* Without SIG_IGN the kernel kills the writer instead of failing the write. */
		signal(SIGXFSZ, SIG_IGN);
		struct rlimit rl = { limit, limit };
		char m[512] = "";
		int rc = setrlimit(RLIMIT_FSIZE, &rl) != 0 ? 100 : -fn(arg, m, sizeof(m));
		if (write(fds[1], m, strlen(m)) < 0)
			rc = 101;
		_exit(rc);
	}
	close(fds[1]);
	ssize_t got = 0, r;
	while ((r = read(fds[0], msg + got, size - 1 - (size_t)got)) > 0)
		got += r;
	close(fds[0]);
	msg[got] = '\0';
	int status;
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_true(WEXITSTATUS(status) < 100);
	return -WEXITSTATUS(status);
}

/* Prints up to 80 bytes of s with newlines and tabs escaped. */
static inline void tu_print_escaped(const char *s, size_t n)
{
	for (size_t i = 0; i < n && i < 80; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c == '\n')
			printf("\\n");
		else if (c == '\t')
			printf("\\t");
		else
			putchar(c);
	}
}

/* Prints "  what: id id ..." on one line. */
static inline void tu_print_ids(const char *what, const int32_t *ids, int n)
{
	printf("  %s:", what);
	for (int i = 0; i < n; i++)
		printf(" %d", ids[i]);
	printf("\n");
}

/* Reads a whole file into a malloc'd buffer with a NUL after the last byte,
 * storing the size in *len (when len is not NULL). NULL when the file
 * cannot be read. */
static inline char *tu_read_file(const char *path, size_t *len)
{
	if (len)
		*len = 0;
	FILE *f = fopen(path, "rb");
	if (!f)
		return NULL;
	char *buf = NULL;
	size_t n = 0, cap = 0;
	for (;;) {
		if (cap - n < 4096) {
			size_t bigger_cap = cap ? cap * 2 : 65536;
			char *bigger = realloc(buf, bigger_cap);
			if (!bigger)
				break;
			buf = bigger;
			cap = bigger_cap;
		}
		size_t got = fread(buf + n, 1, cap - n - 1, f);
		n += got;
		if (got == 0)
			break;
	}
	/* A failed allocation leaves the room check unmet (or buf NULL). */
	bool ok = !ferror(f) && buf && cap - n >= 4096;
	fclose(f);
	if (!ok) {
		free(buf);
		return NULL;
	}
	buf[n] = '\0';
	if (len)
		*len = n;
	return buf;
}

#endif
