/* The sessions directory: session files by name, listing, renaming,
 * removing and exporting (session_store.h). Reading and writing one file
 * is session.c's. */
#include "session_store.h"

#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "paths.h"
#include "session.h"
#include "utf8.h"

/* ---- names and paths ---- */

int session_name_check(const char *name, char *err, size_t errlen)
{
	if (!name || !name[0])
		return lt_seterr(err, errlen, LT_E_INVAL, "session name is empty");
	size_t n = strlen(name);
	if (n > SESSION_NAME_MAX)
		return lt_seterr(err, errlen, LT_E_INVAL,
				 "session name is too long (%zu bytes, at most %d)", n, SESSION_NAME_MAX);
	if (name[0] == '.')
		return lt_seterr(err, errlen, LT_E_INVAL, "session name '%s' starts with '.'", name);
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)name[i];
		if (c == '/')
			return lt_seterr(err, errlen, LT_E_INVAL,
					 "session name '%s' contains '/'", name);
		if (c < 0x20 || c == 0x7f)
			return lt_seterr(err, errlen, LT_E_INVAL,
					 "session name contains a control character");
	}
	if (!utf8_valid(name, n))
		return lt_seterr(err, errlen, LT_E_INVAL, "session name is not valid UTF-8");
	return 0;
}

int session_dir(char **out, bool create, char *err, size_t errlen)
{
	*out = NULL;
	char *base = paths_dir(PATHS_DATA);
	if (!base)
		return lt_seterr(err, errlen, LT_E_NOTFOUND,
				 "no home directory known for the sessions directory");
	char *dir = paths_join(base, "sessions");
	free(base);
	if (!dir)
		return lt_seterr(err, errlen, LT_E_NOMEM, "out of memory");
	if (create) {
		int rc = paths_mkdir_p(dir, 0700, err, errlen);
		if (rc) {
			free(dir);
			return rc;
		}
	}
	*out = dir;
	return 0;
}

int session_path(char **out, const char *name, char *err, size_t errlen)
{
	*out = NULL;
	int rc = session_name_check(name, err, errlen);
	if (rc)
		return rc;
	char *dir;
	rc = session_dir(&dir, false, err, errlen);
	if (rc)
		return rc;
	size_t n = strlen(dir) + strlen(name) + sizeof(SESSION_EXT) + 1;
	char *p = malloc(n);
	if (p)
		snprintf(p, n, "%s/%s%s", dir, name, SESSION_EXT);
	else
		rc = lt_seterr(err, errlen, LT_E_NOMEM, "out of memory");
	free(dir);
	*out = p;
	return rc;
}

void session_name_now(char *buf, size_t size)
{
	time_t t = time(NULL);
	struct tm tm;
	localtime_r(&t, &tm);
	if (strftime(buf, size, "%Y-%m-%d_%H-%M-%S", &tm) == 0 && size)
		buf[0] = '\0';
}
/* ---- by name ---- */

int session_save(const char *name, const struct session_data *d, char *err, size_t errlen)
{
	char *dir;
	int rc = session_dir(&dir, true, err, errlen);
	if (rc)
		return rc;
	free(dir);
	char *path;
	if (session_path(&path, name, err, errlen))
		return LT_E_INVAL;
	rc = session_write_file(path, d, err, errlen);
	free(path);
	return rc;
}

int session_load(const char *name, struct session_data *d, char *warn, size_t warnlen, char *err,
		 size_t errlen)
{
	memset(d, 0, sizeof(*d));
	char *path;
	if (session_path(&path, name, err, errlen))
		return LT_E_INVAL;
	int rc = session_read_file(path, d, warn, warnlen, err, errlen);
	if (rc == LT_E_NOTFOUND)
		lt_seterr(err, errlen, rc, "no session named '%s' (%s)", name, path);
	free(path);
	return rc;
}

int session_remove(const char *name, char *err, size_t errlen)
{
	char *path;
	if (session_path(&path, name, err, errlen))
		return LT_E_INVAL;
	int rc = 0;
	if (unlink(path) != 0)
		rc = lt_seterr(err, errlen, errno == ENOENT ? LT_E_NOTFOUND : LT_E_IO, "%s: %s",
			       path, strerror(errno));
	free(path);
	return rc;
}

int session_rename(const char *from, const char *to, char *err, size_t errlen)
{
	char *from_path, *to_path;
	if (session_path(&from_path, from, err, errlen))
		return LT_E_INVAL;
	if (session_path(&to_path, to, err, errlen)) {
		free(from_path);
		return LT_E_INVAL;
	}
	int rc = 0;
	/* rename() replaces silently; another conversation must not be lost.
	 * Within one program only the worker writes here, so nothing makes
	 * to_path between this look and the rename. */
	if (access(to_path, F_OK) == 0)
		rc = lt_seterr(err, errlen, LT_E_INVAL, "a session called '%s' exists", to);
	else if (rename(from_path, to_path) != 0)
		rc = lt_seterr(err, errlen, errno == ENOENT ? LT_E_NOTFOUND : LT_E_IO,
			       "%s: cannot rename to %s: %s", from_path, to_path, strerror(errno));
	free(from_path);
	free(to_path);
	return rc;
}

bool session_exists(const char *name)
{
	char err[8];
	char *path;
	if (session_path(&path, name, err, sizeof(err)))
		return false;
	bool ok = access(path, F_OK) == 0;
	free(path);
	return ok;
}

void session_when(int64_t ms, char *buf, size_t size)
{
	time_t t = (time_t)(ms / 1000);
	struct tm tm;
	if (!localtime_r(&t, &tm) || !strftime(buf, size, "%Y-%m-%d %H:%M", &tm))
		snprintf(buf, size, "?");
}

static int session_info_cmp(const void *a, const void *b)
{
	const struct session_info *x = a, *y = b;
	if (x->updated != y->updated)
		return x->updated < y->updated ? 1 : -1;
	return strcmp(x->name, y->name);
}

int session_list(struct session_info **out, size_t *n, char *err, size_t errlen)
{
	*out = NULL;
	*n = 0;
	char *dir;
	int rc = session_dir(&dir, false, err, errlen);
	if (rc)
		return rc;
	DIR *dh = opendir(dir);
	if (!dh) {
		free(dir);
		return 0; /* no sessions yet */
	}
	struct session_info *list = NULL;
	size_t cnt = 0, cap = 0;
	const size_t extlen = strlen(SESSION_EXT);
	struct dirent *de;
	while ((de = readdir(dh))) {
		size_t nl = strlen(de->d_name);
		if (de->d_name[0] == '.' || nl <= extlen || strcmp(de->d_name + nl - extlen, SESSION_EXT))
			continue;
		if (cnt == cap) {
			size_t nc = cap ? cap * 2 : 16;
			struct session_info *g = realloc(list, nc * sizeof(*g));
			if (!g) {
				rc = lt_seterr(err, errlen, LT_E_NOMEM, "out of memory");
				break;
			}
			list = g;
			cap = nc;
		}
		struct session_info *si = &list[cnt];
		memset(si, 0, sizeof(*si));
		si->name = strndup(de->d_name, nl - extlen);
		char *path = paths_join(dir, de->d_name);
		if (!si->name || !path) {
			free(si->name);
			free(path);
			rc = lt_seterr(err, errlen, LT_E_NOMEM, "out of memory");
			break;
		}
		cnt++;
		struct session_data d;
		char msg[512];
		struct stat fst;
		if (stat(path, &fst) == 0)
			si->size = si->live = (uint64_t)fst.st_size;
		if (session_read_transcript(path, &d, NULL, 0, msg, sizeof(msg)) == 0) {
			si->model_name = strdup(d.model_name ? d.model_name : "?");
			si->n_turns = d.n_turns;
			si->n_tokens = d.n_ids;
			si->updated = d.updated;
			si->live = d.live_bytes;
			session_data_free(&d);
		} else {
			struct stat st;
			si->model_name = strdup("?");
			si->error = strdup(msg);
			if (stat(path, &st) == 0)
				si->updated = (int64_t)st.st_mtime * 1000;
		}
		free(path);
	}
	closedir(dh);
	free(dir);
	if (rc) {
		session_list_free(list, cnt);
		return rc;
	}
	if (cnt)
		qsort(list, cnt, sizeof(*list), session_info_cmp);
	*out = list;
	*n = cnt;
	return 0;
}

void session_list_free(struct session_info *list, size_t n)
{
	if (!list)
		return;
	for (size_t i = 0; i < n; i++) {
		free(list[i].name);
		free(list[i].model_name);
		free(list[i].error);
	}
	free(list);
}

void session_size_text(uint64_t bytes, char *buf, size_t size)
{
	static const char units[] = "KMGT";
	if (bytes < 1024) {
		snprintf(buf, size, "%" PRIu64, bytes);
		return;
	}
	double v = (double)bytes / 1024;
	int u = 0;
	while (v >= 1024 && u < 3) {
		v /= 1024;
		u++;
	}
	snprintf(buf, size, "%.1f%c", v, units[u]);
}

int session_export_markdown(const struct session_data *d, const char *name, const char *path,
			    char *err, size_t errlen)
{
	FILE *f = fopen(path, "w");
	if (!f)
		return lt_seterr(err, errlen, LT_E_IO, "%s: %s", path, strerror(errno));
	fprintf(f, "# %s\n\n", name);
	fprintf(f, "- model: %s\n- template: %s\n- turns: %d\n\n", d->model_name ? d->model_name : "?",
		d->template_name ? d->template_name : "?", d->n_turns);
	if (d->system && d->system[0])
		fprintf(f, "## System\n\n%s\n\n", d->system);
	for (int i = 0; i < d->n_turns; i++) {
		const struct session_turn *t = &d->turns[i];
		const char *text = t->text ? t->text : "";
		if (t->role == 1)
			while (*text == ' ')
				text++;
		fprintf(f, "## %s%s\n\n", t->role == 0 ? "User" : "Assistant",
			(t->flags & 1) ? " (cut short)" : "");
		/* Folded, as the chat shows it. */
		if (t->reasoning && t->reasoning[0])
			fprintf(f, "<details><summary>Reasoning (%d tokens)</summary>\n\n%s\n\n</details>\n\n",
				t->n_reasoning, t->reasoning);
		fprintf(f, "%s\n\n", text);
	}
	bool bad = ferror(f) != 0;
	if (fclose(f) != 0 || bad)
		return lt_seterr(err, errlen, LT_E_IO, "%s: write failed", path);
	return 0;
}
