#include "modelstore.h"

#include <ctype.h>
#include <stdarg.h>
#include <dirent.h>
#include <errno.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "errors.h"
#include "paths.h"

/* Directory levels looked into below a store that holds plain files
 * (llama.cpp, llamaterm) and below a hub snapshot (repositories that keep
 * each quantization in a folder of its own). */
#define SCAN_DEPTH 2
/* An ollama manifest is a few hundred bytes; anything far larger is not one
 * and is not worth parsing. */
#define MANIFEST_MAX_BYTES (1 << 20)
#define OLLAMA_MODEL_LAYER "application/vnd.ollama.image.model"
#define OLLAMA_REGISTRY "registry.ollama.ai"

struct entry {
	struct modelstore_entry pub;
	size_t repo_len; /* hf and lmstudio: length of the ORG/REPO prefix of the name */
};

struct root {
	enum modelstore_kind kind;
	char *path;
	char *real; /* realpath, or NULL when the directory does not exist */
};

struct modelstore {
	struct entry *entries;
	size_t n, cap;
	struct root *roots;
	size_t n_roots, cap_roots;
	bool nomem;
};

static const char *const kind_names[] = {
	[MODELSTORE_OLLAMA] = "ollama",     [MODELSTORE_HF] = "hf",
	[MODELSTORE_LLAMACPP] = "llama.cpp", [MODELSTORE_LMSTUDIO] = "lmstudio",
	[MODELSTORE_LLAMATERM] = "llamaterm", [MODELSTORE_CWD] = "cwd",
};

const char *modelstore_kind_name(enum modelstore_kind kind)
{
	return kind <= MODELSTORE_CWD ? kind_names[kind] : "?";
}

static char *fmt(const char *f, ...) __attribute__((format(printf, 1, 2)));
static char *fmt(const char *f, ...)
{
	va_list ap;
	va_start(ap, f);
	char *out = NULL;
	if (vasprintf(&out, f, ap) < 0)
		out = NULL;
	va_end(ap);
	return out;
}

static bool ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), k = strlen(suffix);
	return n >= k && strcasecmp(s + n - k, suffix) == 0;
}

/* ---- names ---- */

/* "NAME-00001-of-00003.gguf": the length of NAME, the part number and the
 * count, and where "-of-NNNNN.gguf" starts. Returns false for other names. */
struct split_name {
	size_t stem_len, k_digits;
	long k, n;
	const char *of; /* "-of-NNNNN.gguf" */
};

static bool split_parse(const char *name, struct split_name *sp)
{
	size_t len = strlen(name);
	if (!ends_with(name, ".gguf"))
		return false;
	size_t e = len - 5, i = e;
	while (i > 0 && isdigit((unsigned char)name[i - 1]))
		i--;
	if (i == e || i < 4 || strncmp(name + i - 4, "-of-", 4) != 0)
		return false;
	sp->n = strtol(name + i, NULL, 10);
	sp->of = name + i - 4;
	size_t j = i - 4, k_end = j;
	while (j > 0 && isdigit((unsigned char)name[j - 1]))
		j--;
	if (j == k_end || j < 2 || name[j - 1] != '-')
		return false;
	sp->k = strtol(name + j, NULL, 10);
	sp->k_digits = k_end - j;
	sp->stem_len = j - 1;
	return sp->n >= 1 && sp->k >= 1 && sp->k <= sp->n && sp->n <= 99999;
}

/* A word that reads as a quantization: F16, F32, BF16, or [I]Q<digit>...
 * of letters, digits and '_' (Q4_K_M, IQ4_XS, Q8_0, TQ1_0). */
static bool quant_word(const char *w, size_t n)
{
	static const char *const floats[] = { "F16", "F32", "BF16", "F64" };
	for (size_t i = 0; i < sizeof(floats) / sizeof(floats[0]); i++)
		if (strlen(floats[i]) == n && strncasecmp(w, floats[i], n) == 0)
			return true;
	size_t i = 0;
	if (i < n && (w[i] == 'I' || w[i] == 'i' || w[i] == 'T' || w[i] == 't'))
		i++;
	if (i + 1 >= n || (w[i] != 'Q' && w[i] != 'q') || !isdigit((unsigned char)w[i + 1]))
		return false;
	for (i += 2; i < n; i++)
		if (!isalnum((unsigned char)w[i]) && w[i] != '_')
			return false;
	return true;
}

size_t modelstore_quant_tag(const char *name, const char **tag)
{
	const char *base = strrchr(name, '/');
	base = base ? base + 1 : name;
	size_t len = strlen(base);
	struct split_name sp;
	if (split_parse(base, &sp))
		len = sp.stem_len;
	else if (ends_with(base, ".gguf"))
		len -= 5;
	/* The last word that is a quantization: "Model-Q4_K_M-imat" has one. */
	size_t end = len;
	while (end > 0) {
		size_t start = end;
		while (start > 0 && base[start - 1] != '-' && base[start - 1] != '.')
			start--;
		if (quant_word(base + start, end - start)) {
			*tag = base + start;
			return end - start;
		}
		if (start == 0)
			break;
		end = start - 1;
	}
	*tag = NULL;
	return 0;
}

/* ---- collecting entries ---- */

static struct entry *entry_add(struct modelstore *s, enum modelstore_kind kind, char *name, char *path)
{
	if (!name || !path || (s->n == s->cap && s->nomem))
		goto nomem;
	if (s->n == s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 16;
		struct entry *bigger = realloc(s->entries, cap * sizeof(*bigger));
		if (!bigger)
			goto nomem;
		s->entries = bigger;
		s->cap = cap;
	}
	struct entry *e = &s->entries[s->n++];
	memset(e, 0, sizeof(*e));
	e->pub.kind = kind;
	e->pub.name = name;
	e->pub.path = path;
	return e;
nomem:
	s->nomem = true;
	free(name);
	free(path);
	return NULL;
}

/* Records the parts of e (whose path is a first part when sp is set) and
 * their sizes; a missing part becomes the entry's problem. */
static void entry_parts(struct modelstore *s, struct entry *e, const struct split_name *sp)
{
	int n = sp ? (int)sp->n : 1;
	e->pub.parts = calloc((size_t)n, sizeof(*e->pub.parts));
	if (!e->pub.parts) {
		s->nomem = true;
		return;
	}
	e->pub.n_parts = n;
	e->pub.parts[0] = e->pub.path;
	size_t dir_len = (size_t)(strrchr(e->pub.path, '/') - e->pub.path) + 1;
	const char *base = e->pub.path + dir_len;
	for (int k = 0; k < n; k++) {
		char *part = k == 0 ? NULL
				    : fmt("%.*s%.*s-%0*d%s", (int)dir_len, e->pub.path, (int)sp->stem_len,
					  base, (int)sp->k_digits, k + 1, sp->of);
		if (k && !part) {
			s->nomem = true;
			return;
		}
		if (k)
			e->pub.parts[k] = part;
		struct stat st;
		if (stat(e->pub.parts[k], &st) == 0 && S_ISREG(st.st_mode))
			e->pub.size += (uint64_t)st.st_size;
		else if (!e->pub.problem) {
			char *p = fmt("part %d of %d (%s) is missing", k + 1, n, e->pub.parts[k]);
			e->pub.problem = p;
			if (!p)
				s->nomem = true;
		}
	}
}

/* The name of a file of a hub or LM Studio repository: ORG/REPO:QUANT, or
 * ORG/REPO/FILE when the file name has no quantization tag. */
static char *repo_file_name(const char *repo, const char *rel, size_t *repo_len)
{
	const char *tag;
	size_t n = modelstore_quant_tag(rel, &tag);
	*repo_len = strlen(repo);
	char *name = n ? fmt("%s:%.*s", repo, (int)n, tag) : fmt("%s/%s", repo, rel);
	/* Tags in capitals, as llama.cpp's quantize names them (q4_k_m files exist). */
	for (char *p = name && n ? name + *repo_len + 1 : NULL; p && *p; p++)
		*p = (char)toupper((unsigned char)*p);
	return name;
}

/* Adds the GGUF file dir/rel unless it is a later part of a split model. */
static void add_file(struct modelstore *s, enum modelstore_kind kind, const char *repo,
		     const char *dir, const char *rel)
{
	const char *base = strrchr(rel, '/');
	base = base ? base + 1 : rel;
	struct split_name sp;
	bool split = split_parse(base, &sp);
	if (split && sp.k != 1)
		return;
	/* Vision projectors sit beside the models they belong to in hub and LM
	 * Studio repositories (llama.cpp names them mmproj-*); as entries they
	 * would make ORG/REPO ambiguous and take the model's :F16 name. */
	if (strncasecmp(base, "mmproj", 6) == 0)
		return;
	size_t repo_len = 0;
	char *name = repo ? repo_file_name(repo, rel, &repo_len) : strdup(rel);
	struct entry *e = entry_add(s, kind, name, paths_join(dir, rel));
	if (!e)
		return;
	e->repo_len = repo_len;
	entry_parts(s, e, split ? &sp : NULL);
}

static int name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The names in dir, sorted (so listings do not depend on the file system's
 * order), without hidden ones. Returns NULL (and *n 0) when dir cannot be
 * read; sets s->nomem when memory ran out. */
static char **dir_names(struct modelstore *s, const char *dir, size_t *n)
{
	*n = 0;
	DIR *d = opendir(dir);
	if (!d)
		return NULL;
	char **names = NULL;
	size_t cap = 0;
	struct dirent *de;
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		if (*n == cap) {
			size_t c = cap ? cap * 2 : 32;
			char **bigger = realloc(names, c * sizeof(*bigger));
			if (!bigger)
				break;
			names = bigger;
			cap = c;
		}
		if (!(names[*n] = strdup(de->d_name)))
			break;
		(*n)++;
	}
	if (de)
		s->nomem = true;
	closedir(d);
	if (names)
		qsort(names, *n, sizeof(*names), name_cmp);
	return names;
}

static void names_free(char **names, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
}

static bool is_dir(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

/* Adds every *.gguf file of base/rel (rel may be ""), and of its folders
 * down to depth more levels. Symlinks are followed, as the hub's are. */
static void scan_files(struct modelstore *s, enum modelstore_kind kind, const char *repo,
		       const char *base, const char *rel, int depth)
{
	char *dir = rel[0] ? paths_join(base, rel) : strdup(base);
	size_t n;
	char **names = dir ? dir_names(s, dir, &n) : NULL;
	for (size_t i = 0; names && i < n && !s->nomem; i++) {
		char *sub = rel[0] ? fmt("%s/%s", rel, names[i]) : strdup(names[i]);
		char *full = paths_join(dir, names[i]);
		struct stat st;
		if (!sub || !full)
			s->nomem = true;
		else if (stat(full, &st) != 0)
			; /* a dangling symlink: an interrupted download */
		else if (S_ISREG(st.st_mode) && ends_with(names[i], ".gguf"))
			add_file(s, kind, repo, base, sub);
		else if (S_ISDIR(st.st_mode) && depth > 0)
			scan_files(s, kind, repo, base, sub, depth - 1);
		free(sub);
		free(full);
	}
	if (names)
		names_free(names, n);
	if (!dir)
		s->nomem = true;
	free(dir);
}

/* ---- ollama ---- */

/* A digest as it may appear in a blob's file name: "sha256:HEX" with only
 * letters and digits after the colon, so a manifest cannot point outside
 * blobs/. Returns the file name ("sha256-HEX") or NULL. */
static char *ollama_blob_name(const char *digest, bool *bad)
{
	const char *colon = strchr(digest, ':');
	*bad = true;
	if (!colon || colon == digest || !colon[1])
		return NULL;
	for (const char *p = digest; *p; p++)
		if (p != colon && !isalnum((unsigned char)*p))
			return NULL;
	*bad = false;
	return fmt("%.*s-%s", (int)(colon - digest), digest, colon + 1);
}

/* The digest of the model layer of a manifest, or a problem. jansson does
 * the parsing: a hand-written scan for one field would have to get string
 * escapes, nesting and a "mediaType" inside another string right too. */
static const char *ollama_model_digest(json_t *root)
{
	json_t *layers = json_object_get(root, "layers");
	size_t i;
	json_t *layer;
	json_array_foreach(layers, i, layer) {
		const char *type = json_string_value(json_object_get(layer, "mediaType"));
		if (type && strcmp(type, OLLAMA_MODEL_LAYER) == 0)
			return json_string_value(json_object_get(layer, "digest"));
	}
	return NULL;
}

/* Adds the model of one manifest, named as `ollama list` names it. */
static void ollama_manifest(struct modelstore *s, const char *root, const char *host,
			    const char *ns, const char *model, const char *tag)
{
	char *mpath = fmt("%s/manifests/%s/%s/%s/%s", root, host, ns, model, tag);
	char *name = strcmp(host, OLLAMA_REGISTRY) != 0 ? fmt("%s/%s/%s:%s", host, ns, model, tag)
		     : strcmp(ns, "library") != 0	 ? fmt("%s/%s:%s", ns, model, tag)
							 : fmt("%s:%s", model, tag);
	if (!mpath || !name) {
		free(mpath);
		free(name);
		s->nomem = true;
		return;
	}
	char *problem = NULL, *path = NULL;
	struct stat st;
	json_error_t jerr;
	json_t *j = NULL;
	if (stat(mpath, &st) != 0 || !S_ISREG(st.st_mode)) {
		free(mpath);
		free(name);
		return;
	}
	if (st.st_size > MANIFEST_MAX_BYTES)
		problem = fmt("manifest %s: larger than %d bytes", mpath, MANIFEST_MAX_BYTES);
	else if (!(j = json_load_file(mpath, JSON_REJECT_DUPLICATES, &jerr)))
		problem = fmt("manifest %s: line %d: %s", mpath, jerr.line, jerr.text);
	else {
		const char *digest = ollama_model_digest(j);
		bool bad;
		char *blob = digest ? ollama_blob_name(digest, &bad) : NULL;
		if (!digest)
			problem = fmt("manifest %s: no %s layer", mpath, OLLAMA_MODEL_LAYER);
		else if (!blob && bad)
			problem = fmt("manifest %s: unusable digest '%s'", mpath, digest);
		else if (blob) {
			path = fmt("%s/blobs/%s", root, blob);
			if (path && (stat(path, &st) != 0 || !S_ISREG(st.st_mode)))
				problem = fmt("blob %s is missing", path);
		}
		free(blob);
	}
	json_decref(j);
	if (!problem && !path)
		s->nomem = true; /* every outcome but an allocation failure sets one */
	struct entry *e = entry_add(s, MODELSTORE_OLLAMA, name, path ? path : mpath);
	if (path)
		free(mpath);
	if (!e) {
		free(problem);
		return;
	}
	e->pub.problem = problem;
	if (!problem)
		entry_parts(s, e, NULL);
}

static void scan_ollama(struct modelstore *s, const char *root)
{
	char *manifests = paths_join(root, "manifests");
	size_t nh, nn, nm, nt;
	char **hosts = manifests ? dir_names(s, manifests, &nh) : NULL;
	for (size_t h = 0; hosts && h < nh; h++) {
		char *hdir = paths_join(manifests, hosts[h]);
		char **nss = hdir ? dir_names(s, hdir, &nn) : NULL;
		for (size_t a = 0; nss && a < nn; a++) {
			char *ndir = paths_join(hdir, nss[a]);
			char **models = ndir ? dir_names(s, ndir, &nm) : NULL;
			for (size_t m = 0; models && m < nm; m++) {
				char *mdir = paths_join(ndir, models[m]);
				char **tags = mdir ? dir_names(s, mdir, &nt) : NULL;
				for (size_t t = 0; tags && t < nt && !s->nomem; t++)
					ollama_manifest(s, root, hosts[h], nss[a], models[m], tags[t]);
				if (tags)
					names_free(tags, nt);
				free(mdir);
			}
			if (models)
				names_free(models, nm);
			free(ndir);
		}
		if (nss)
			names_free(nss, nn);
		free(hdir);
	}
	if (hosts)
		names_free(hosts, nh);
	free(manifests);
}

/* ---- Hugging Face hub, LM Studio ---- */

/* The revision refs/main names, when that snapshot exists: older revisions
 * of the same files are not listed twice. */
static char *hf_main_snapshot(const char *repo_dir)
{
	char *ref = fmt("%s/refs/main", repo_dir);
	FILE *f = ref ? fopen(ref, "r") : NULL;
	free(ref);
	if (!f)
		return NULL;
	char rev[128];
	char *out = NULL;
	if (fgets(rev, sizeof(rev), f)) {
		rev[strcspn(rev, "\r\n")] = 0;
		bool ok = rev[0] != 0;
		for (const char *p = rev; *p; p++)
			ok = ok && isalnum((unsigned char)*p);
		out = ok ? fmt("%s/snapshots/%s", repo_dir, rev) : NULL;
		if (out && !is_dir(out)) {
			free(out);
			out = NULL;
		}
	}
	fclose(f);
	return out;
}

static void scan_hf(struct modelstore *s, const char *root)
{
	size_t n;
	char **names = dir_names(s, root, &n);
	for (size_t i = 0; names && i < n && !s->nomem; i++) {
		/* models--ORG--NAME; the organisation cannot contain "--". */
		if (strncmp(names[i], "models--", 8) != 0)
			continue;
		const char *org = names[i] + 8, *sep = strstr(org, "--");
		if (!sep || sep == org || !sep[2])
			continue;
		char *repo = fmt("%.*s/%s", (int)(sep - org), org, sep + 2);
		char *repo_dir = paths_join(root, names[i]);
		char *main_snap = repo_dir ? hf_main_snapshot(repo_dir) : NULL;
		char *snaps = repo_dir ? paths_join(repo_dir, "snapshots") : NULL;
		if (!repo || !repo_dir || !snaps)
			s->nomem = true;
		else if (main_snap)
			scan_files(s, MODELSTORE_HF, repo, main_snap, "", SCAN_DEPTH);
		else {
			size_t nr;
			char **revs = dir_names(s, snaps, &nr);
			for (size_t r = 0; revs && r < nr; r++) {
				char *snap = paths_join(snaps, revs[r]);
				if (snap)
					scan_files(s, MODELSTORE_HF, repo, snap, "", SCAN_DEPTH);
				free(snap);
			}
			if (revs)
				names_free(revs, nr);
		}
		free(repo);
		free(repo_dir);
		free(main_snap);
		free(snaps);
	}
	if (names)
		names_free(names, n);
}

static void scan_lmstudio(struct modelstore *s, const char *root)
{
	size_t np, nr;
	char **pubs = dir_names(s, root, &np);
	for (size_t p = 0; pubs && p < np; p++) {
		char *pdir = paths_join(root, pubs[p]);
		char **repos = pdir ? dir_names(s, pdir, &nr) : NULL;
		for (size_t r = 0; repos && r < nr && !s->nomem; r++) {
			char *repo = fmt("%s/%s", pubs[p], repos[r]);
			char *rdir = paths_join(pdir, repos[r]);
			if (repo && rdir)
				scan_files(s, MODELSTORE_LMSTUDIO, repo, rdir, "", 0);
			else
				s->nomem = true;
			free(repo);
			free(rdir);
		}
		if (repos)
			names_free(repos, nr);
		free(pdir);
	}
	if (pubs)
		names_free(pubs, np);
}

/* ---- the stores ---- */

/* Adds a store directory (taking path) unless it is one already listed. */
static void root_add(struct modelstore *s, enum modelstore_kind kind, char *path)
{
	if (!path) {
		s->nomem = true;
		return;
	}
	char *real = realpath(path, NULL);
	for (size_t i = 0; i < s->n_roots; i++)
		if (strcmp(s->roots[i].path, path) == 0 ||
		    (real && s->roots[i].real && strcmp(s->roots[i].real, real) == 0)) {
			free(path);
			free(real);
			return;
		}
	if (s->n_roots == s->cap_roots) {
		size_t cap = s->cap_roots ? s->cap_roots * 2 : 16;
		struct root *bigger = realloc(s->roots, cap * sizeof(*bigger));
		if (!bigger) {
			free(path);
			free(real);
			s->nomem = true;
			return;
		}
		s->roots = bigger;
		s->cap_roots = cap;
	}
	s->roots[s->n_roots++] = (struct root){ .kind = kind, .path = path, .real = real };
}

/* An absolute path from the environment, or NULL. */
static const char *env_dir(const char *var)
{
	const char *v = getenv(var);
	return v && v[0] == '/' ? v : NULL;
}

static void roots_find(struct modelstore *s)
{
	char *home = paths_home();
	const char *v;
	if ((v = env_dir("OLLAMA_MODELS")))
		root_add(s, MODELSTORE_OLLAMA, strdup(v));
	if (home)
		root_add(s, MODELSTORE_OLLAMA, paths_join(home, ".ollama/models"));
	root_add(s, MODELSTORE_OLLAMA, strdup("/usr/share/ollama/.ollama/models"));
	if ((v = env_dir("HF_HUB_CACHE")))
		root_add(s, MODELSTORE_HF, strdup(v));
	if ((v = env_dir("HF_HOME")))
		root_add(s, MODELSTORE_HF, paths_join(v, "hub"));
	if (home)
		root_add(s, MODELSTORE_HF, paths_join(home, ".cache/huggingface/hub"));
	if ((v = env_dir("LLAMA_CACHE")))
		root_add(s, MODELSTORE_LLAMACPP, strdup(v));
	if (home) {
		root_add(s, MODELSTORE_LLAMACPP, paths_join(home, ".cache/llama.cpp"));
		root_add(s, MODELSTORE_LMSTUDIO, paths_join(home, ".lmstudio/models"));
		root_add(s, MODELSTORE_LMSTUDIO, paths_join(home, ".cache/lm-studio/models"));
	}
	char *data = paths_dir(PATHS_DATA);
	if (data)
		root_add(s, MODELSTORE_LLAMATERM, paths_join(data, "models"));
	free(data);
	char *cwd = getcwd(NULL, 0);
	if (cwd)
		root_add(s, MODELSTORE_CWD, cwd);
	free(home);
}

int modelstore_new(struct modelstore **out, char *err, size_t errlen)
{
	*out = NULL;
	struct modelstore *s = calloc(1, sizeof(*s));
	if (!s)
		return lt_seterr(err, errlen, LT_E_NOMEM, "model stores: out of memory");
	roots_find(s);
	for (size_t i = 0; i < s->n_roots && !s->nomem; i++) {
		const struct root *r = &s->roots[i];
		if (!r->real)
			continue;
		switch (r->kind) {
		case MODELSTORE_OLLAMA: scan_ollama(s, r->path); break;
		case MODELSTORE_HF: scan_hf(s, r->path); break;
		case MODELSTORE_LMSTUDIO: scan_lmstudio(s, r->path); break;
		case MODELSTORE_LLAMACPP:
		case MODELSTORE_LLAMATERM: scan_files(s, r->kind, NULL, r->path, "", SCAN_DEPTH); break;
		case MODELSTORE_CWD: scan_files(s, r->kind, NULL, r->path, "", 0); break;
		}
	}
	if (s->nomem) {
		modelstore_free(s);
		return lt_seterr(err, errlen, LT_E_NOMEM, "model stores: out of memory");
	}
	*out = s;
	return 0;
}

void modelstore_free(struct modelstore *s)
{
	if (!s)
		return;
	for (size_t i = 0; i < s->n; i++) {
		struct modelstore_entry *e = &s->entries[i].pub;
		for (int k = 1; e->parts && k < e->n_parts; k++)
			free((char *)e->parts[k]);
		free(e->parts);
		free((char *)e->name);
		free((char *)e->path);
		free((char *)e->problem);
	}
	free(s->entries);
	for (size_t i = 0; i < s->n_roots; i++) {
		free(s->roots[i].path);
		free(s->roots[i].real);
	}
	free(s->roots);
	free(s);
}

size_t modelstore_count(const struct modelstore *s)
{
	return s->n;
}

const struct modelstore_entry *modelstore_get(const struct modelstore *s, size_t i)
{
	return i < s->n ? &s->entries[i].pub : NULL;
}

size_t modelstore_n_roots(const struct modelstore *s)
{
	return s->n_roots;
}

const char *modelstore_root(const struct modelstore *s, size_t i, enum modelstore_kind *kind)
{
	if (i >= s->n_roots)
		return NULL;
	if (kind)
		*kind = s->roots[i].kind;
	return s->roots[i].path;
}

/* ---- resolving names ---- */

/* ref as an ollama name: without registry.ollama.ai/ and library/, with
 * :latest when it has no tag. */
static char *ollama_ref(const char *ref)
{
	size_t reg = strlen(OLLAMA_REGISTRY);
	if (strncasecmp(ref, OLLAMA_REGISTRY "/", reg + 1) == 0)
		ref += reg + 1;
	if (strncasecmp(ref, "library/", 8) == 0)
		ref += 8;
	const char *last = strrchr(ref, '/');
	return strchr(last ? last : ref, ':') ? strdup(ref) : fmt("%s:latest", ref);
}

/* Length of the part of a name before its tag (":..."), the repository of
 * a hub name, or the whole name. */
static size_t name_stem(const struct entry *e)
{
	if (e->repo_len)
		return e->repo_len;
	const char *colon = e->pub.kind == MODELSTORE_OLLAMA ? strrchr(e->pub.name, ':') : NULL;
	return colon ? (size_t)(colon - e->pub.name) : strlen(e->pub.name);
}

static bool entry_matches(const struct entry *e, const char *ref, const char *oref)
{
	const char *name = e->pub.name;
	switch (e->pub.kind) {
	case MODELSTORE_OLLAMA:
		return strcasecmp(name, oref) == 0;
	case MODELSTORE_HF:
	case MODELSTORE_LMSTUDIO:
		return strcasecmp(name, ref) == 0 ||
		       (strlen(ref) == e->repo_len && strncasecmp(name, ref, e->repo_len) == 0);
	default: {
		size_t n = strlen(ref);
		return strcmp(name, ref) == 0 ||
		       (strncmp(name, ref, n) == 0 && strcmp(name + n, ".gguf") == 0);
	}
	}
}

/* Whether ref names e's repository or ollama model with another tag. */
static bool entry_near(const struct entry *e, const char *ref, const char *oref)
{
	const char *r = e->pub.kind == MODELSTORE_OLLAMA ? oref : ref;
	size_t stem = name_stem(e);
	const char *colon = strrchr(r, ':');
	size_t rn = colon ? (size_t)(colon - r) : strlen(r);
	return e->pub.kind != MODELSTORE_LLAMACPP && e->pub.kind != MODELSTORE_LLAMATERM &&
	       e->pub.kind != MODELSTORE_CWD && rn == stem && strncasecmp(e->pub.name, r, rn) == 0;
}

/* Same file under two names or stores (an ollama tag and its alias). */
static bool same_file(const char *a, const char *b)
{
	struct stat sa, sb;
	return strcmp(a, b) == 0 || (stat(a, &sa) == 0 && stat(b, &sb) == 0 &&
				      sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino);
}

int modelstore_resolve(const struct modelstore *s, const char *ref, const char **path, char *err,
		       size_t errlen)
{
	*path = NULL;
	char *oref = ollama_ref(ref);
	char *list = NULL;
	size_t list_len = 0;
	FILE *msg = oref ? open_memstream(&list, &list_len) : NULL;
	if (!msg) {
		free(oref);
		return lt_seterr(err, errlen, LT_E_NOMEM, "model '%s': out of memory", ref);
	}
	const struct entry *found = NULL;
	size_t n_match = 0, n_near = 0;
	for (size_t i = 0; i < s->n; i++) {
		const struct entry *e = &s->entries[i];
		if (!entry_matches(e, ref, oref))
			continue;
		if (found && same_file(found->pub.path, e->pub.path))
			continue;
		fprintf(msg, "%s%s (%s: %s)", n_match ? ", " : "", e->pub.name,
			modelstore_kind_name(e->pub.kind), e->pub.path);
		found = e;
		n_match++;
	}
	int rc = 0;
	if (n_match == 0) {
		for (size_t i = 0; i < s->n; i++)
			if (entry_near(&s->entries[i], ref, oref))
				fprintf(msg, "%s%s", n_near++ ? ", " : "", s->entries[i].pub.name);
		if (!n_near)
			for (size_t i = 0; i < s->n_roots; i++)
				fprintf(msg, "%s%s %s", i ? ", " : "",
					modelstore_kind_name(s->roots[i].kind), s->roots[i].path);
	}
	fclose(msg);
	if (n_match > 1)
		rc = lt_seterr(err, errlen, LT_E_INVAL, "model '%s' is ambiguous: %zu candidates: %s",
			       ref, n_match, list ? list : "");
	else if (n_match == 1 && found->pub.problem)
		rc = lt_seterr(err, errlen, LT_E_IO, "model '%s': %s", ref, found->pub.problem);
	else if (n_match == 1)
		*path = found->pub.path;
	else if (n_near)
		rc = lt_seterr(err, errlen, LT_E_NOTFOUND, "model '%s' not found; candidates: %s", ref,
			       list ? list : "");
	else
		rc = lt_seterr(err, errlen, LT_E_NOTFOUND,
			       "model '%s' not found: no such file, and no store has it (looked in %s)",
			       ref, list ? list : "");
	free(list);
	free(oref);
	return rc;
}
