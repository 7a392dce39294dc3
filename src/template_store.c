/* The template store: templates found by name in the template
 * directories, listed for 'llamaterm templates', and recognised from a
 * model's tokenizer.chat_template (template_store.h). Parsing one file is
 * template.c's; this file only decides which files to parse. */
#include "template_store.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "template.h"

/* Names select files, so they may not climb out of the directory. */
static bool template_valid_name(const char *name)
{
	if (!name[0] || name[0] == '.')
		return false;
	for (const char *p = name; *p; p++) {
		char c = *p;
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '-' || c == '_' || c == '.'))
			return false;
	}
	return true;
}

static bool template_ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);
	return n >= m && strcmp(s + n - m, suffix) == 0;
}

int template_load(struct template **out, const char *name_or_path, char *const *dirs,
		  size_t n_dirs, char *err, size_t errlen)
{
	*out = NULL;
	if (!name_or_path || !name_or_path[0])
		return lt_seterr(err, errlen, LT_E_INVAL, "empty template name");
	if (strchr(name_or_path, '/') || template_ends_with(name_or_path, TEMPLATE_EXT))
		return template_load_file(out, name_or_path, err, errlen);
	if (template_valid_name(name_or_path)) {
		for (size_t i = 0; i < n_dirs; i++) {
			char *path = NULL;
			if (asprintf(&path, "%s/%s%s", dirs[i], name_or_path, TEMPLATE_EXT) < 0)
				return lt_seterr(err, errlen, LT_E_NOMEM, "out of memory");
			if (access(path, F_OK) == 0) {
				int rc = template_load_file(out, path, err, errlen);
				free(path);
				return rc;
			}
			free(path);
		}
	}
	struct stat st;
	if (stat(name_or_path, &st) == 0 && S_ISREG(st.st_mode))
		return template_load_file(out, name_or_path, err, errlen);

	/* Say where we looked, so a missing installation is easy to spot. */
	char where[1024];
	size_t w = 0;
	where[0] = '\0';
	for (size_t i = 0; i < n_dirs && w < sizeof(where); i++) {
		int k = snprintf(where + w, sizeof(where) - w, "%s%s", i ? ", " : "", dirs[i]);
		if (k < 0)
			break;
		w += (size_t)k;
	}
	return lt_seterr(err, errlen, LT_E_NOTFOUND,
			 "template '%s' not found (looked in: %s; 'llamaterm templates' lists them)",
			 name_or_path, n_dirs ? where : "no template directories exist");
}


static int template_info_cmp(const void *a, const void *b)
{
	const struct template_info *x = a, *y = b;
	return strcmp(x->name, y->name);
}

void template_list_free(struct template_info *list, size_t n)
{
	if (!list)
		return;
	for (size_t i = 0; i < n; i++) {
		free(list[i].name);
		free(list[i].description);
		free(list[i].path);
		free(list[i].error);
	}
	free(list);
}

/* Finds name among the first n entries. */
static struct template_info *template_info_find(struct template_info *v, size_t n,
						const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(v[i].name, name) == 0)
			return &v[i];
	return NULL;
}

/* Adds one file's entry (or marks an earlier entry as overriding it). */
static int template_list_add(struct template_info **v, size_t *n, size_t *cap, const char *dir,
			     size_t dir_index, const char *file)
{
	char *name = strndup(file, strlen(file) - strlen(TEMPLATE_EXT));
	if (!name)
		return LT_E_NOMEM;
	struct template_info *seen = template_info_find(*v, *n, name);
	if (seen) {
		if (seen->dir_index != dir_index)
			seen->overrides = true;
		free(name);
		return 0;
	}
	if (*n == *cap) {
		size_t c = *cap ? *cap * 2 : 16;
		struct template_info *nv = realloc(*v, c * sizeof(*nv));
		if (!nv) {
			free(name);
			return LT_E_NOMEM;
		}
		*v = nv;
		*cap = c;
	}
	struct template_info *e = &(*v)[*n];
	memset(e, 0, sizeof(*e));
	e->name = name;
	e->dir_index = dir_index;
	if (asprintf(&e->path, "%s/%s", dir, file) < 0) {
		e->path = NULL;
		free(name);
		return LT_E_NOMEM;
	}
	(*n)++;
	char msg[512];
	struct template *t = NULL;
	int rc = template_load_file(&t, e->path, msg, sizeof(msg));
	if (rc == LT_E_NOMEM)
		return rc;
	if (rc < 0) {
		e->error = strdup(msg);
		e->description = strdup("");
	} else {
		e->description = strdup(template_description(t));
		template_free(t);
	}
	return e->description ? 0 : LT_E_NOMEM;
}

int template_list(struct template_info **out, size_t *n, char *const *dirs, size_t n_dirs,
		  char *err, size_t errlen)
{
	struct template_info *v = NULL;
	size_t count = 0, cap = 0;
	int rc = 0;
	*out = NULL;
	*n = 0;
	for (size_t d = 0; rc == 0 && d < n_dirs; d++) {
		DIR *dir = opendir(dirs[d]);
		if (!dir)
			continue;
		struct dirent *de;
		while (rc == 0 && (de = readdir(dir))) {
			const char *f = de->d_name;
			if (f[0] == '.' || !template_ends_with(f, TEMPLATE_EXT) ||
			    strlen(f) == strlen(TEMPLATE_EXT))
				continue;
			rc = template_list_add(&v, &count, &cap, dirs[d], d, f);
		}
		closedir(dir);
	}
	if (rc < 0) {
		template_list_free(v, count);
		return lt_seterr(err, errlen, rc, "listing templates: out of memory");
	}
	if (count > 1)
		qsort(v, count, sizeof(*v), template_info_cmp);
	*out = v;
	*n = count;
	return 0;
}

/* A loaded candidate for detection, under its file name (what --template
 * takes), not its name key. */
struct template_cand {
	struct template *t;
	const char *name;
};

/* Detection order: higher priority first, then more markers (the more
 * specific set), then by name so the result never depends on readdir. */
static int template_detect_cmp(const void *a, const void *b)
{
	const struct template_cand *x = a, *y = b;
	int px = template_priority(x->t), py = template_priority(y->t);
	if (px != py)
		return px > py ? -1 : 1;
	size_t nx = template_n_detect(x->t), ny = template_n_detect(y->t);
	if (nx != ny)
		return nx > ny ? -1 : 1;
	return strcmp(x->name, y->name);
}

int template_detect(const char *chat_template, char *const *dirs, size_t n_dirs, char **name,
		    char *err, size_t errlen)
{
	*name = NULL;
	if (!chat_template || !chat_template[0])
		return 0;
	struct template_info *list;
	size_t n;
	int rc = template_list(&list, &n, dirs, n_dirs, err, errlen);
	if (rc < 0)
		return rc;
	struct template_cand *ts = calloc(n ? n : 1, sizeof(*ts));
	if (!ts) {
		template_list_free(list, n);
		return lt_seterr(err, errlen, LT_E_NOMEM, "out of memory");
	}
	size_t nt = 0;
	const char *exact = NULL;
	for (size_t i = 0; i < n; i++) {
		if (list[i].error)
			continue;
		/* Some converters store a template's name instead of its text. */
		if (strcmp(list[i].name, chat_template) == 0)
			exact = list[i].name;
		if (template_load_file(&ts[nt].t, list[i].path, NULL, 0) == 0) {
			ts[nt].name = list[i].name;
			nt++;
		}
	}
	if (exact) {
		*name = strdup(exact);
	} else {
		if (nt > 1)
			qsort(ts, nt, sizeof(*ts), template_detect_cmp);
		for (size_t i = 0; i < nt; i++) {
			if (template_matches(ts[i].t, chat_template)) {
				*name = strdup(ts[i].name);
				break;
			}
		}
	}
	for (size_t i = 0; i < nt; i++)
		template_free(ts[i].t);
	free(ts);
	template_list_free(list, n);
	return 0;
}

int template_choose(struct template **out, const char *requested, const char *chat_template,
		    char *const *dirs, size_t n_dirs, char *note, size_t notelen, char *err,
		    size_t errlen)
{
	*out = NULL;
	if (note && notelen)
		note[0] = '\0';
	if (requested && requested[0]) {
		int rc = template_load(out, requested, dirs, n_dirs, err, errlen);
		if (rc == 0 && note && notelen)
			snprintf(note, notelen, "using template '%s' (%s)", template_name(*out),
				 template_path(*out));
		return rc;
	}
	char *name = NULL;
	int rc = template_detect(chat_template, dirs, n_dirs, &name, err, errlen);
	if (rc < 0)
		return rc;
	if (name) {
		rc = template_load(out, name, dirs, n_dirs, err, errlen);
		if (rc == 0 && note && notelen)
			snprintf(note, notelen, "model chat template recognised as '%s'", name);
		free(name);
		return rc;
	}
	rc = template_load(out, TEMPLATE_FALLBACK, dirs, n_dirs, err, errlen);
	if (rc == 0 && note && notelen)
		snprintf(note, notelen, "%s; using '%s' (choose one with --template)",
			 chat_template && chat_template[0] ? "model chat template not recognised"
							   : "model has no chat template",
			 TEMPLATE_FALLBACK);
	return rc;
}

/* Used when no template file can be found at all (not installed, not run
 * from the source tree): the classic human/AI dialogue. */
static const char template_builtin_text[] =
	"name = dialogue\n"
	"description = built-in fallback: plain User:/AI: turns\n"
	"user_prefix = User:\\s\n"
	"user_suffix = \\n\n"
	"assistant_prefix = AI:\\s\n"
	"assistant_suffix = \\n\n"
	"stop = \\nUser:\n";

int template_builtin(struct template **out, char *err, size_t errlen)
{
	return template_parse(out, "(built-in dialogue)", template_builtin_text,
			      sizeof(template_builtin_text) - 1, err, errlen);
}
