/* Atomic file replacement and the byte buffer behind the file builders:
 * contents, mode bits, buffered and direct writes, abort, a write that runs
 * out of room (the previous version survives, one line says why) and no
 * temporary file left behind in any case. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "atomic_file.h"
#include "bytebuf.h"

#include "testutil.h"

/* The file size limit of the "disk full" test and a write beyond it. */
#define FSIZE_LIMIT (64u << 10)
#define OVER_LIMIT (256u << 10)
/* Bytes written one at a time by the buffering test: more than the 1 MiB
 * buffer, so it is flushed on the way. */
#define SMALL_WRITES ((3u << 20) / 2)

static void expect_contents(const char *path, const void *want, size_t n)
{
	size_t len;
	char *got = tu_read_file(path, &len);
	assert_non_null(got);
	assert_int_equal(len, n);
	assert_memory_equal(got, want, n);
	free(got);
}

static void test_save_and_replace(void **state)
{
	struct tu_tmp *fx = *state;
	char err[256] = "";
	mode_t old_mask = umask(022);
	assert_int_equal(atomic_file_save(fx->path, 0600, "first", 5, err, sizeof(err)), 0);
	expect_contents(fx->path, "first", 5);
	struct stat st;
	assert_int_equal(stat(fx->path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);

	assert_int_equal(atomic_file_save(fx->path, 0644, "second!", 7, err, sizeof(err)), 0);
	expect_contents(fx->path, "second!", 7);
	assert_int_equal(stat(fx->path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0644);
	umask(old_mask);
	assert_int_equal(tu_count_entries(fx->dir), 1);

	/* An empty file is a file too. */
	assert_int_equal(atomic_file_save(fx->path, 0600, NULL, 0, err, sizeof(err)), 0);
	expect_contents(fx->path, "", 0);
	assert_int_equal(tu_count_entries(fx->dir), 1);
}

/* Many small writes (buffered) and a large one (direct) keep their order. */
static void test_buffered_writes(void **state)
{
	struct tu_tmp *fx = *state;
	size_t big_n = (2u << 20) + 17, total = SMALL_WRITES + big_n + 1;
	uint8_t *want = malloc(total);
	assert_non_null(want);
	for (size_t i = 0; i < total; i++)
		want[i] = (uint8_t)(i * 131 + (i >> 9));
	char err[256] = "";
	struct atomic_file *af;
	assert_int_equal(atomic_file_begin(&af, fx->path, 0600, err, sizeof(err)), 0);
	for (size_t i = 0; i < SMALL_WRITES; i++)
		atomic_file_write(af, &want[i], 1);
	atomic_file_write(af, want + SMALL_WRITES, big_n);
	atomic_file_write(af, want + SMALL_WRITES + big_n, 1);
	assert_int_equal(atomic_file_pos(af), total);
	assert_int_equal(atomic_file_error(af, err, sizeof(err)), 0);
	/* Nothing is at the destination before the commit. */
	assert_int_not_equal(access(fx->path, F_OK), 0);
	assert_int_equal(atomic_file_commit(af, err, sizeof(err)), 0);
	expect_contents(fx->path, want, total);
	assert_int_equal(tu_count_entries(fx->dir), 1);
	free(want);
}

static void test_abort_keeps_old(void **state)
{
	struct tu_tmp *fx = *state;
	char err[256] = "";
	assert_int_equal(atomic_file_save(fx->path, 0600, "old", 3, err, sizeof(err)), 0);
	struct atomic_file *af;
	assert_int_equal(atomic_file_begin(&af, fx->path, 0600, err, sizeof(err)), 0);
	atomic_file_write(af, "new contents", 12);
	/* The temporary file is hidden (its name starts with '.'). */
	DIR *d = opendir(fx->dir);
	assert_non_null(d);
	int hidden = 0;
	for (struct dirent *e; (e = readdir(d));)
		hidden += e->d_name[0] == '.' && strcmp(e->d_name, ".") && strcmp(e->d_name, "..");
	closedir(d);
	assert_int_equal(hidden, 1);
	atomic_file_abort(af);
	atomic_file_abort(NULL);
	expect_contents(fx->path, "old", 3);
	assert_int_equal(tu_count_entries(fx->dir), 1);
}

/* Saves OVER_LIMIT zero bytes to arg (run under the file size limit). */
static int save_over_limit(void *arg, char *msg, size_t size)
{
	char *data = calloc(1, OVER_LIMIT);
	if (!data)
		return LT_E_NOMEM;
	int rc = atomic_file_save(arg, 0600, data, OVER_LIMIT, msg, size);
	free(data);
	return rc;
}

static void test_full_keeps_previous(void **state)
{
	struct tu_tmp *fx = *state;
	char err[256] = "", msg[512];
	assert_int_equal(tu_with_fsize_limit(FSIZE_LIMIT, save_over_limit, fx->path, msg, sizeof(msg)),
			 LT_E_FULL);
	assert_non_null(strstr(msg, fx->path));
	assert_non_null(strstr(msg, "write failed: file size limit"));
	/* Nothing was there before, so nothing is said to be intact. */
	assert_null(strstr(msg, "previous version"));
	assert_int_equal(tu_count_entries(fx->dir), 0);

	assert_int_equal(atomic_file_save(fx->path, 0600, "kept", 4, err, sizeof(err)), 0);
	assert_int_equal(tu_with_fsize_limit(FSIZE_LIMIT, save_over_limit, fx->path, msg, sizeof(msg)),
			 LT_E_FULL);
	assert_non_null(strstr(msg, fx->path));
	assert_non_null(strstr(msg, "; the previous version is intact"));
	assert_null(strchr(msg, '\n'));
	expect_contents(fx->path, "kept", 4);
	assert_int_equal(tu_count_entries(fx->dir), 1);
}

static void test_bad_directory(void **state)
{
	struct tu_tmp *fx = *state;
	char path[200], err[512] = "";
	snprintf(path, sizeof(path), "%s/no/such/dir/x.bin", fx->dir);
	assert_int_equal(atomic_file_save(path, 0600, "x", 1, err, sizeof(err)), LT_E_IO);
	assert_non_null(strstr(err, path));
	assert_non_null(strstr(err, "cannot create a temporary file"));
	/* A relative name works in the current directory's terms too. */
	assert_int_equal(atomic_file_save("no-such-dir-here/x.bin", 0600, "x", 1, err, sizeof(err)),
			 LT_E_IO);
	assert_non_null(strstr(err, "no-such-dir-here/x.bin"));
}

static void test_bytebuf(void **state)
{
	(void)state;
	struct bytebuf b = { 0 };
	bytebuf_u8(&b, 0x01);
	bytebuf_u16(&b, 0x0302);
	bytebuf_u32(&b, 0x07060504u);
	bytebuf_u64(&b, 0x0f0e0d0c0b0a0908ull);
	bytebuf_put(&b, "\x10\x11", 2);
	bytebuf_put(&b, NULL, 0);
	static const uint8_t want[17] = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17 };
	assert_false(b.oom);
	assert_int_equal(b.len, sizeof(want));
	assert_memory_equal(b.p, want, sizeof(want));
	bytebuf_patch_u32(&b, 3, 0xaabbccddu);
	assert_int_equal(b.p[3], 0xdd);
	assert_int_equal(b.p[6], 0xaa);
	/* A patch past the end is ignored. */
	bytebuf_patch_u32(&b, 14, 0xffffffffu);
	assert_memory_equal(b.p + 14, want + 14, 3);
	/* Growing keeps what is there. */
	for (int i = 0; i < 10000; i++)
		bytebuf_u32(&b, (uint32_t)i);
	assert_int_equal(b.len, 17 + 40000);
	assert_int_equal(b.p[17 + 4 * 9999], (uint8_t)9999);
	assert_int_equal(b.p[0], 1);
	/* A 0 follows the bytes, so text reads as a C string; clear keeps the memory. */
	assert_int_equal(b.p[b.len], 0);
	bytebuf_clear(&b);
	assert_int_equal(b.len, 0);
	bytebuf_put(&b, "ab", 2);
	assert_string_equal((const char *)b.p, "ab");
	free(b.p);
	/* An empty put still gives an empty string, not NULL. */
	struct bytebuf e = { 0 };
	bytebuf_put(&e, "", 0);
	assert_false(e.oom);
	assert_non_null(e.p);
	assert_string_equal((const char *)e.p, "");
	free(e.p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		TU_TMP_TEST(test_save_and_replace),
		TU_TMP_TEST(test_buffered_writes),
		TU_TMP_TEST(test_abort_keeps_old),
		TU_TMP_TEST(test_full_keeps_previous),
		TU_TMP_TEST(test_bad_directory),
		cmocka_unit_test(test_bytebuf),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
