/* XDG directory tests: absolute $XDG_*_HOME values win, relative ones are
 * ignored as the specification says, $HOME gives the fallbacks; mkdir -p
 * creates private directories and reports what is in the way; the
 * template search list starts with the user's directory and finds the
 * source tree's prompts/ from the test binary. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "errors.h"
#include "paths.h"

#include "testutil.h"

#define ERR_LEN 512
/* The mode paths_ensure_dir and the tests' mkdir -p calls ask for. */
#define PRIVATE_MODE 0700

static const char *const xdg_vars[] = { "XDG_DATA_HOME", "XDG_STATE_HOME", "XDG_CONFIG_HOME",
					"XDG_CACHE_HOME", "HOME" };
#define N_VARS (sizeof(xdg_vars) / sizeof(xdg_vars[0]))

/* Saved environment, restored after each test. */
struct env_save {
	char *val[N_VARS];
};

static int save_env(void **state)
{
	struct env_save *s = calloc(1, sizeof(*s));
	if (!s)
		return -1;
	for (size_t i = 0; i < N_VARS; i++) {
		const char *v = getenv(xdg_vars[i]);
		s->val[i] = v ? strdup(v) : NULL;
	}
	*state = s;
	return 0;
}

static int restore_env(void **state)
{
	struct env_save *s = *state;
	for (size_t i = 0; i < N_VARS; i++) {
		if (s->val[i])
			setenv(xdg_vars[i], s->val[i], 1);
		else
			unsetenv(xdg_vars[i]);
		free(s->val[i]);
	}
	free(s);
	return 0;
}

static void expect_dir(enum paths_kind kind, const char *want)
{
	char *got = paths_dir(kind);
	assert_non_null(got);
	assert_string_equal(got, want);
	free(got);
}

static void test_xdg_absolute(void **state)
{
	(void)state;
	setenv("HOME", "/home/u", 1);
	setenv("XDG_DATA_HOME", "/x/data", 1);
	setenv("XDG_STATE_HOME", "/x/state/", 1);
	setenv("XDG_CONFIG_HOME", "/x/config", 1);
	setenv("XDG_CACHE_HOME", "/x/cache", 1);
	expect_dir(PATHS_DATA, "/x/data/llamaterm");
	expect_dir(PATHS_STATE, "/x/state/llamaterm");
	expect_dir(PATHS_CONFIG, "/x/config/llamaterm");
	expect_dir(PATHS_CACHE, "/x/cache/llamaterm");
}

static void test_xdg_fallbacks(void **state)
{
	(void)state;
	setenv("HOME", "/home/u", 1);
	for (size_t i = 0; i < 4; i++)
		unsetenv(xdg_vars[i]);
	expect_dir(PATHS_DATA, "/home/u/.local/share/llamaterm");
	expect_dir(PATHS_STATE, "/home/u/.local/state/llamaterm");
	expect_dir(PATHS_CONFIG, "/home/u/.config/llamaterm");
	expect_dir(PATHS_CACHE, "/home/u/.cache/llamaterm");
	/* Empty and relative values are ignored. */
	setenv("XDG_CONFIG_HOME", "", 1);
	setenv("XDG_DATA_HOME", "relative/data", 1);
	expect_dir(PATHS_CONFIG, "/home/u/.config/llamaterm");
	expect_dir(PATHS_DATA, "/home/u/.local/share/llamaterm");
	/* A trailing slash on HOME does not double. */
	setenv("HOME", "/home/u/", 1);
	expect_dir(PATHS_CACHE, "/home/u/.cache/llamaterm");
	/* Without HOME the password database still names a home. */
	unsetenv("HOME");
	char *d = paths_dir(PATHS_STATE);
	if (d) {
		assert_true(d[0] == '/');
		assert_non_null(strstr(d, "/.local/state/llamaterm"));
		free(d);
	}
}

static void test_join(void **state)
{
	(void)state;
	char *a = paths_join("/a", "b");
	char *b = paths_join("/a/", "b");
	char *c = paths_join("", "b");
	assert_string_equal(a, "/a/b");
	assert_string_equal(b, "/a/b");
	assert_string_equal(c, "/b");
	free(a);
	free(b);
	free(c);
}

static void test_mkdir_p(void **state)
{
	(void)state;
	char root[64];
	assert_true(tu_mkdtemp(root, sizeof(root), "paths"));
	char deep[PATH_MAX], err[ERR_LEN];
	snprintf(deep, sizeof(deep), "%s/a//b/c/", root);
	assert_int_equal(paths_mkdir_p(deep, PRIVATE_MODE, err, sizeof(err)), 0);
	/* Again: existing directories are fine. */
	assert_int_equal(paths_mkdir_p(deep, PRIVATE_MODE, err, sizeof(err)), 0);
	char c[PATH_MAX];
	snprintf(c, sizeof(c), "%s/a/b/c", root);
	struct stat st;
	assert_int_equal(stat(c, &st), 0);
	assert_true(S_ISDIR(st.st_mode));
	assert_int_equal(st.st_mode & 0777, PRIVATE_MODE);

	/* A file in the way is named in the error. */
	char file[PATH_MAX], below[PATH_MAX + 8];
	snprintf(file, sizeof(file), "%s/a/file", root);
	FILE *f = fopen(file, "w");
	assert_non_null(f);
	fclose(f);
	snprintf(below, sizeof(below), "%s/x/y", file);
	int rc = paths_mkdir_p(below, PRIVATE_MODE, err, sizeof(err));
	assert_true(rc < 0);
	assert_non_null(strstr(err, file));
	assert_int_equal(paths_mkdir_p("", PRIVATE_MODE, err, sizeof(err)), LT_E_INVAL);

	/* paths_ensure_dir creates the state directory under XDG_STATE_HOME. */
	setenv("XDG_STATE_HOME", root, 1);
	char *state_dir = NULL;
	assert_int_equal(paths_ensure_dir(PATHS_STATE, &state_dir, err, sizeof(err)), 0);
	char want[PATH_MAX + 16];
	snprintf(want, sizeof(want), "%s/llamaterm", root);
	assert_string_equal(state_dir, want);
	assert_int_equal(stat(state_dir, &st), 0);
	assert_int_equal(st.st_mode & 0777, PRIVATE_MODE);

	free(state_dir);
	assert_int_equal(tu_rm_rf(root), 0);
}

static void test_exe_dir(void **state)
{
	(void)state;
	char *d = paths_exe_dir();
	assert_non_null(d);
	assert_true(d[0] == '/');
	/* The test binary lives in $(BUILD)/tests (or a scratch dir). */
	struct stat st;
	assert_int_equal(stat(d, &st), 0);
	assert_true(S_ISDIR(st.st_mode));
	free(d);
}

static void test_template_dirs(void **state)
{
	(void)state;
	char root[64];
	assert_true(tu_mkdtemp(root, sizeof(root), "paths"));
	setenv("XDG_CONFIG_HOME", root, 1);
	/* No user prompts directory yet: the source tree comes first. */
	char **dirs;
	size_t n;
	assert_int_equal(paths_template_dirs(&dirs, &n), 0);
	char *tree = realpath("prompts", NULL);
	assert_non_null(tree);
	assert_true(n >= 1);
	assert_string_equal(dirs[0], tree);
	paths_list_free(dirs, n);

	char user[PATH_MAX], err[ERR_LEN];
	snprintf(user, sizeof(user), "%s/llamaterm/prompts", root);
	assert_int_equal(paths_mkdir_p(user, PRIVATE_MODE, err, sizeof(err)), 0);
	assert_int_equal(paths_template_dirs(&dirs, &n), 0);
	char *canon = realpath(user, NULL);
	assert_true(n >= 2);
	assert_string_equal(dirs[0], canon);
	assert_string_equal(dirs[1], tree);
	/* Each directory is listed once. */
	for (size_t i = 0; i < n; i++)
		for (size_t j = i + 1; j < n; j++)
			assert_string_not_equal(dirs[i], dirs[j]);
	paths_list_free(dirs, n);
	free(canon);
	free(tree);
	assert_int_equal(tu_rm_rf(root), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_xdg_absolute, save_env, restore_env),
		cmocka_unit_test_setup_teardown(test_xdg_fallbacks, save_env, restore_env),
		cmocka_unit_test(test_join),
		cmocka_unit_test_setup_teardown(test_mkdir_p, save_env, restore_env),
		cmocka_unit_test(test_exe_dir),
		cmocka_unit_test_setup_teardown(test_template_dirs, save_env, restore_env),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
