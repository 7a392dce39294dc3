#include "paths.h"

#include <errno.h>
#include <limits.h>
#include <pwd.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "errors.h"

#ifndef LLAMATERM_PREFIX
#define LLAMATERM_PREFIX "/usr/local"
#endif

/* How many directories above the executable a source tree may be: the
 * deepest layout is build/NAME/tests/test_x. */
#define PATHS_TREE_DEPTH 4

char *paths_join(const char *dir, const char *name)
{
	char *out = NULL;
	size_t dl = strlen(dir);
	const char *sep = (dl > 0 && dir[dl - 1] == '/') ? "" : "/";
	if (asprintf(&out, "%s%s%s", dir, sep, name) < 0)
		return NULL;
	return out;
}

char *paths_home(void)
{
	const char *home = getenv("HOME");
	if (home && home[0] == '/')
		return strdup(home);
	long size = sysconf(_SC_GETPW_R_SIZE_MAX);
	if (size < 1024)
		size = 16384;
	char *buf = malloc((size_t)size);
	if (!buf)
		return NULL;
	struct passwd pw, *res = NULL;
	char *out = NULL;
	if (getpwuid_r(getuid(), &pw, buf, (size_t)size, &res) == 0 && res && res->pw_dir &&
	    res->pw_dir[0] == '/')
		out = strdup(res->pw_dir);
	free(buf);
	return out;
}

char *paths_dir(enum paths_kind kind)
{
	const char *var, *fallback;
	switch (kind) {
	case PATHS_DATA: var = "XDG_DATA_HOME"; fallback = ".local/share"; break;
	case PATHS_STATE: var = "XDG_STATE_HOME"; fallback = ".local/state"; break;
	case PATHS_CONFIG: var = "XDG_CONFIG_HOME"; fallback = ".config"; break;
	case PATHS_CACHE: var = "XDG_CACHE_HOME"; fallback = ".cache"; break;
	default: return NULL;
	}
	const char *base = getenv(var);
	if (base && base[0] == '/')
		return paths_join(base, "llamaterm");
	char *home = paths_home();
	if (!home)
		return NULL;
	char *out = NULL;
	if (asprintf(&out, "%s%s%s/llamaterm", home,
		     home[strlen(home) - 1] == '/' ? "" : "/", fallback) < 0)
		out = NULL;
	free(home);
	return out;
}

int paths_mkdir_p(const char *path, mode_t mode, char *err, size_t errlen)
{
	if (!path || !path[0])
		return lt_seterr(err, errlen, LT_E_INVAL, "empty directory path");
	char *p = strdup(path);
	if (!p)
		return lt_seterr(err, errlen, LT_E_NOMEM, "%s: out of memory", path);
	int rc = 0;
	/* Create each prefix ending at a '/', then the whole path. */
	for (char *s = p + 1;; s++) {
		if (*s != '/' && *s != '\0')
			continue;
		char saved = *s;
		*s = '\0';
		if (mkdir(p, mode) != 0 && errno != EEXIST) {
			rc = lt_seterr(err, errlen, LT_E_IO, "%s: cannot create directory: %s", p,
				       strerror(errno));
			break;
		}
		struct stat st;
		if (stat(p, &st) != 0 || !S_ISDIR(st.st_mode)) {
			rc = lt_seterr(err, errlen, LT_E_IO, "%s: exists but is not a directory", p);
			break;
		}
		*s = saved;
		if (saved == '\0')
			break;
	}
	free(p);
	return rc;
}

int paths_ensure_dir(enum paths_kind kind, char **out, char *err, size_t errlen)
{
	*out = NULL;
	char *dir = paths_dir(kind);
	if (!dir)
		return lt_seterr(err, errlen, LT_E_NOTFOUND,
				 "cannot find a home directory (set HOME or XDG_*_HOME)");
	int rc = paths_mkdir_p(dir, 0700, err, errlen);
	if (rc < 0) {
		free(dir);
		return rc;
	}
	*out = dir;
	return 0;
}

char *paths_exe_dir(void)
{
	char *exe = realpath("/proc/self/exe", NULL);
	if (!exe)
		return NULL;
	char *slash = strrchr(exe, '/');
	if (!slash) {
		free(exe);
		return NULL;
	}
	if (slash == exe)
		slash[1] = '\0';
	else
		*slash = '\0';
	return exe;
}

static bool paths_is_dir(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

/* A growing list of canonical directory names without repeats. */
struct paths_list {
	char **v;
	size_t n, cap;
};

/* Adds dir when it exists and is not listed yet; takes ownership of dir.
 * Returns -1 only when memory runs out. */
static int paths_list_add(struct paths_list *l, char *dir)
{
	if (!dir)
		return -1;
	char *canon = realpath(dir, NULL);
	free(dir);
	if (!canon || !paths_is_dir(canon)) {
		free(canon);
		return 0;
	}
	for (size_t i = 0; i < l->n; i++) {
		if (strcmp(l->v[i], canon) == 0) {
			free(canon);
			return 0;
		}
	}
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 8;
		char **v = realloc(l->v, cap * sizeof(*v));
		if (!v) {
			free(canon);
			return -1;
		}
		l->v = v;
		l->cap = cap;
	}
	l->v[l->n++] = canon;
	return 0;
}

/* True when root looks like the llamaterm source tree, so that prompts/
 * two or three levels above a build directory is not mistaken for an
 * unrelated folder of the same name. */
static bool paths_is_source_tree(const char *root)
{
	char *mk = paths_join(root, "Makefile");
	char *src = paths_join(root, "src");
	bool ok = mk && src && access(mk, R_OK) == 0 && paths_is_dir(src);
	free(mk);
	free(src);
	return ok;
}

/* Adds the source tree's prompts/ when the executable lives in it. */
static int paths_add_tree(struct paths_list *l, const char *exe_dir)
{
	if (paths_list_add(l, paths_join(exe_dir, "prompts")) < 0)
		return -1;
	if (paths_list_add(l, paths_join(exe_dir, "../prompts")) < 0)
		return -1;
	char *up = strdup(exe_dir);
	if (!up)
		return -1;
	for (int depth = 1; depth <= PATHS_TREE_DEPTH; depth++) {
		char *next = paths_join(up, "..");
		free(up);
		if (!next)
			return -1;
		up = next;
		if (depth >= 2 && paths_is_source_tree(up)) {
			if (paths_list_add(l, paths_join(up, "prompts")) < 0) {
				free(up);
				return -1;
			}
			break;
		}
	}
	free(up);
	return 0;
}

int paths_template_dirs(char ***dirs, size_t *n)
{
	struct paths_list l = { 0 };
	*dirs = NULL;
	*n = 0;
	int rc = 0;
	char *config = paths_dir(PATHS_CONFIG);
	if (config) {
		rc = paths_list_add(&l, paths_join(config, "prompts"));
		free(config);
	}
	char *exe_dir = paths_exe_dir();
	if (rc == 0 && exe_dir)
		rc = paths_add_tree(&l, exe_dir);
	if (rc == 0)
		rc = paths_list_add(&l, strdup(LLAMATERM_PREFIX "/share/llamaterm/prompts"));
	if (rc == 0 && exe_dir)
		rc = paths_list_add(&l, paths_join(exe_dir, "../share/llamaterm/prompts"));
	free(exe_dir);
	if (rc < 0) {
		paths_list_free(l.v, l.n);
		return LT_E_NOMEM;
	}
	*dirs = l.v;
	*n = l.n;
	return 0;
}

void paths_list_free(char **list, size_t n)
{
	if (!list)
		return;
	for (size_t i = 0; i < n; i++)
		free(list[i]);
	free(list);
}
