#include "template.h"

#include <dirent.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "utf8.h"

struct template {
	char *path;
	char *name;        /* the name key, or the file name without .tmpl */
	char *description;
	bool bos;
	bool system_in_user;
	int priority;
	char *parts[TEMPLATE_N_PARTS]; /* indexed by enum template_part, never NULL */
	char *default_system;
	char *stops[TEMPLATE_MAX_LIST];   /* (n_stops) */
	size_t n_stops;
	char *detect[TEMPLATE_MAX_LIST];  /* (n_detect) */
	size_t n_detect;
	char *reasoning_start, *reasoning_end; /* "" when the model does not reason */
	char *prefill[2];  /* after the reply prompt: [0] thinking off, [1] on */
	bool strip_reasoning;
};

/* The keys a file may set, in the order the parser looks them up. */
enum tkey {
	K_NAME,
	K_DESCRIPTION,
	K_BOS,
	K_SYSTEM_PREFIX,
	K_SYSTEM_SUFFIX,
	K_USER_PREFIX,
	K_USER_SUFFIX,
	K_ASSISTANT_PREFIX,
	K_ASSISTANT_SUFFIX,
	K_POSTFIX,
	K_DEFAULT_SYSTEM,
	K_SYSTEM_IN_USER,
	K_STOP,
	K_DETECT,
	K_PRIORITY,
	K_REASONING_START,
	K_REASONING_END,
	K_STRIP_REASONING,
	K_THINKING_PREFILL,
	K_NO_THINKING_PREFILL,
	K_COUNT
};

static const char *const tkey_names[K_COUNT] = {
	[K_NAME] = "name",
	[K_DESCRIPTION] = "description",
	[K_BOS] = "bos",
	[K_SYSTEM_PREFIX] = "system_prefix",
	[K_SYSTEM_SUFFIX] = "system_suffix",
	[K_USER_PREFIX] = "user_prefix",
	[K_USER_SUFFIX] = "user_suffix",
	[K_ASSISTANT_PREFIX] = "assistant_prefix",
	[K_ASSISTANT_SUFFIX] = "assistant_suffix",
	[K_POSTFIX] = "postfix",
	[K_DEFAULT_SYSTEM] = "default_system",
	[K_SYSTEM_IN_USER] = "system_in_user",
	[K_STOP] = "stop",
	[K_DETECT] = "detect",
	[K_PRIORITY] = "priority",
	[K_REASONING_START] = "reasoning_start",
	[K_REASONING_END] = "reasoning_end",
	[K_STRIP_REASONING] = "strip_reasoning",
	[K_THINKING_PREFILL] = "thinking_prefill",
	[K_NO_THINKING_PREFILL] = "no_thinking_prefill",
};

/* Which template part a key sets, or -1. */
static int tkey_part(enum tkey k)
{
	switch (k) {
	case K_SYSTEM_PREFIX: return TEMPLATE_SYSTEM_PREFIX;
	case K_SYSTEM_SUFFIX: return TEMPLATE_SYSTEM_SUFFIX;
	case K_USER_PREFIX: return TEMPLATE_USER_PREFIX;
	case K_USER_SUFFIX: return TEMPLATE_USER_SUFFIX;
	case K_ASSISTANT_PREFIX: return TEMPLATE_ASSISTANT_PREFIX;
	case K_ASSISTANT_SUFFIX: return TEMPLATE_ASSISTANT_SUFFIX;
	case K_POSTFIX: return TEMPLATE_POSTFIX;
	default: return -1;
	}
}

void template_free(struct template *t)
{
	if (!t)
		return;
	free(t->path);
	free(t->name);
	free(t->description);
	for (int i = 0; i < TEMPLATE_N_PARTS; i++)
		free(t->parts[i]);
	free(t->default_system);
	for (size_t i = 0; i < t->n_stops; i++)
		free(t->stops[i]);
	for (size_t i = 0; i < t->n_detect; i++)
		free(t->detect[i]);
	free(t->reasoning_start);
	free(t->reasoning_end);
	free(t->prefill[0]);
	free(t->prefill[1]);
	free(t);
}

/* The last path component without TEMPLATE_EXT (malloc'd). */
static char *template_stem(const char *path)
{
	const char *base = strrchr(path, '/');
	base = base ? base + 1 : path;
	size_t len = strlen(base);
	size_t ext = strlen(TEMPLATE_EXT);
	if (len > ext && strcmp(base + len - ext, TEMPLATE_EXT) == 0)
		len -= ext;
	return strndup(base, len);
}

/* Decodes the escapes of a raw value into a new string. On a bad escape
 * returns NULL with *bad set to the offending character ('\0' for a
 * backslash at the end); on memory exhaustion returns NULL with *bad = 1. */
static char *template_unescape(const char *raw, size_t len, int *bad)
{
	char *out = malloc(len + 1);
	if (!out) {
		*bad = 1;
		return NULL;
	}
	size_t o = 0;
	for (size_t i = 0; i < len; i++) {
		if (raw[i] != '\\') {
			out[o++] = raw[i];
			continue;
		}
		char e = (i + 1 < len) ? raw[++i] : '\0';
		switch (e) {
		case 'n': out[o++] = '\n'; break;
		case 't': out[o++] = '\t'; break;
		case 's': out[o++] = ' '; break;
		case '\\': out[o++] = '\\'; break;
		default:
			free(out);
			*bad = e;
			return NULL;
		}
	}
	out[o] = '\0';
	return out;
}

static int template_parse_bool(const char *v, bool *out)
{
	if (strcmp(v, "true") == 0)
		*out = true;
	else if (strcmp(v, "false") == 0)
		*out = false;
	else
		return -1;
	return 0;
}

static int template_parse_int(const char *v, int *out)
{
	char *end;
	errno = 0;
	long x = strtol(v, &end, 10);
	if (!v[0] || *end || errno || x < -1000000 || x > 1000000)
		return -1;
	*out = (int)x;
	return 0;
}

/* Applies one decoded key = value. Takes ownership of val. Returns 0 or
 * an error written as "PATH:LINE: ...". */
static int template_set(struct template *t, enum tkey k, char *val, const char *path,
			size_t line, char *err, size_t errlen)
{
	int part = tkey_part(k);
	if (part >= 0) {
		free(t->parts[part]);
		t->parts[part] = val;
		return 0;
	}
	switch (k) {
	case K_NAME:
		if (!val[0]) {
			free(val);
			return lt_seterr(err, errlen, LT_E_FORMAT, "%s:%zu: empty name", path, line);
		}
		free(t->name);
		t->name = val;
		return 0;
	case K_DESCRIPTION:
		free(t->description);
		t->description = val;
		return 0;
	case K_DEFAULT_SYSTEM:
		free(t->default_system);
		t->default_system = val;
		return 0;
	case K_REASONING_START:
	case K_REASONING_END:
	case K_THINKING_PREFILL:
	case K_NO_THINKING_PREFILL: {
		char **slot = k == K_REASONING_START ? &t->reasoning_start
			      : k == K_REASONING_END ? &t->reasoning_end
			      : &t->prefill[k == K_THINKING_PREFILL];
		free(*slot);
		*slot = val;
		return 0;
	}
	case K_BOS:
	case K_SYSTEM_IN_USER:
	case K_STRIP_REASONING: {
		bool b;
		int rc = template_parse_bool(val, &b);
		if (rc < 0)
			lt_seterr(err, errlen, LT_E_FORMAT,
				  "%s:%zu: bad boolean '%s' for %s (use true or false)", path, line,
				  val, tkey_names[k]);
		free(val);
		if (rc < 0)
			return LT_E_FORMAT;
		if (k == K_BOS)
			t->bos = b;
		else if (k == K_SYSTEM_IN_USER)
			t->system_in_user = b;
		else
			t->strip_reasoning = b;
		return 0;
	}
	case K_PRIORITY: {
		int rc = template_parse_int(val, &t->priority);
		if (rc < 0)
			lt_seterr(err, errlen, LT_E_FORMAT,
				  "%s:%zu: bad priority '%s' (an integer between -1000000 and 1000000)",
				  path, line, val);
		free(val);
		return rc < 0 ? LT_E_FORMAT : 0;
	}
	case K_STOP:
	case K_DETECT: {
		char **list = (k == K_STOP) ? t->stops : t->detect;
		size_t *n = (k == K_STOP) ? &t->n_stops : &t->n_detect;
		const char *what = tkey_names[k];
		if (!val[0]) {
			free(val);
			return lt_seterr(err, errlen, LT_E_FORMAT, "%s:%zu: empty %s string", path,
					 line, what);
		}
		if (*n == TEMPLATE_MAX_LIST) {
			free(val);
			return lt_seterr(err, errlen, LT_E_FORMAT, "%s:%zu: more than %d %s lines",
					 path, line, TEMPLATE_MAX_LIST, what);
		}
		list[(*n)++] = val;
		return 0;
	}
	default:
		free(val);
		return lt_seterr(err, errlen, LT_E_FORMAT, "%s:%zu: internal: unhandled key", path,
				 line);
	}
}

/* Parses one non-blank, non-comment line. */
static int template_parse_line(struct template *t, const char *s, size_t len, const char *path,
			       size_t line, size_t *key_line, char *err, size_t errlen)
{
	const char *eq = memchr(s, '=', len);
	if (!eq)
		return lt_seterr(err, errlen, LT_E_FORMAT,
				 "%s:%zu: missing '=' (lines are 'key = value')", path, line);
	size_t klen = (size_t)(eq - s);
	while (klen > 0 && (s[klen - 1] == ' ' || s[klen - 1] == '\t'))
		klen--;
	if (klen == 0)
		return lt_seterr(err, errlen, LT_E_FORMAT, "%s:%zu: missing key before '='", path,
				 line);
	int k = -1;
	for (int i = 0; i < K_COUNT; i++) {
		if (strlen(tkey_names[i]) == klen && memcmp(tkey_names[i], s, klen) == 0) {
			k = i;
			break;
		}
	}
	if (k < 0)
		return lt_seterr(err, errlen, LT_E_FORMAT, "%s:%zu: unknown key '%.*s'", path, line,
				 (int)(klen > 64 ? 64 : klen), s);
	if (k != K_STOP && k != K_DETECT && key_line[k])
		return lt_seterr(err, errlen, LT_E_FORMAT,
				 "%s:%zu: duplicate key '%s' (first set on line %zu)", path, line,
				 tkey_names[k], key_line[k]);
	key_line[k] = line;

	const char *v = eq + 1;
	size_t vlen = len - (size_t)(v - s);
	if (vlen > 0 && v[0] == ' ') {
		v++;
		vlen--;
	}
	/* Unescaped trailing blanks are invisible in an editor, so they do not
	 * count; \s keeps a space that matters. */
	while (vlen > 0 && (v[vlen - 1] == ' ' || v[vlen - 1] == '\t'))
		vlen--;
	int bad = 0;
	char *val = template_unescape(v, vlen, &bad);
	if (!val) {
		if (bad == 1)
			return lt_seterr(err, errlen, LT_E_NOMEM, "%s:%zu: out of memory", path, line);
		if (bad == 0)
			return lt_seterr(err, errlen, LT_E_FORMAT,
					 "%s:%zu: bad escape: '\\' at the end of the line (write \\\\ for a backslash)",
					 path, line);
		if (bad > 0x20 && bad < 0x7f)
			return lt_seterr(err, errlen, LT_E_FORMAT,
					 "%s:%zu: bad escape '\\%c' (use \\n, \\t, \\s or \\\\)", path,
					 line, bad);
		return lt_seterr(err, errlen, LT_E_FORMAT,
				 "%s:%zu: bad escape '\\' followed by byte 0x%02x (use \\n, \\t, \\s or \\\\)",
				 path, line, (unsigned)(unsigned char)bad);
	}
	return template_set(t, (enum tkey)k, val, path, line, err, errlen);
}

int template_parse(struct template **out, const char *path, const char *text, size_t len,
		   char *err, size_t errlen)
{
	*out = NULL;
	if (!path)
		path = "(template)";
	if (!text && len)
		return lt_seterr(err, errlen, LT_E_INVAL, "%s: no text", path);
	struct template *t = calloc(1, sizeof(*t));
	if (!t)
		return lt_seterr(err, errlen, LT_E_NOMEM, "%s: out of memory", path);
	t->bos = true;
	t->path = strdup(path);
	int rc = t->path ? 0 : LT_E_NOMEM;
	for (int i = 0; rc == 0 && i < TEMPLATE_N_PARTS; i++)
		if (!(t->parts[i] = strdup("")))
			rc = LT_E_NOMEM;
	if (rc < 0) {
		template_free(t);
		return lt_seterr(err, errlen, LT_E_NOMEM, "%s: out of memory", path);
	}

	size_t key_line[K_COUNT] = { 0 };
	size_t line = 0;
	size_t pos = 0;
	if (len >= 3 && memcmp(text, "\xEF\xBB\xBF", 3) == 0)
		pos = 3; /* a byte order mark some editors write */
	while (rc == 0 && pos < len) {
		line++;
		const char *s = text + pos;
		const char *nl = memchr(s, '\n', len - pos);
		size_t llen = nl ? (size_t)(nl - s) : len - pos;
		pos += llen + (nl ? 1 : 0);
		if (llen > 0 && s[llen - 1] == '\r')
			llen--;
		for (size_t i = 0; i < llen;) {
			if (s[i] == '\0') {
				rc = lt_seterr(err, errlen, LT_E_FORMAT, "%s:%zu: NUL byte", path, line);
				break;
			}
			uint32_t cp;
			size_t n = utf8_decode(s + i, llen - i, &cp);
			if (n == 0) {
				rc = lt_seterr(err, errlen, LT_E_FORMAT,
					       "%s:%zu: not valid UTF-8 (byte 0x%02x at column %zu)",
					       path, line, (unsigned)(unsigned char)s[i], i + 1);
				break;
			}
			i += n;
		}
		if (rc < 0)
			break;
		size_t lead = 0;
		while (lead < llen && (s[lead] == ' ' || s[lead] == '\t'))
			lead++;
		if (lead == llen || s[lead] == '#')
			continue;
		rc = template_parse_line(t, s + lead, llen - lead, path, line, key_line, err, errlen);
	}
	if (rc == 0 && !t->name && !(t->name = template_stem(path)))
		rc = lt_seterr(err, errlen, LT_E_NOMEM, "%s: out of memory", path);
	if (rc == 0 && !t->description && !(t->description = strdup("")))
		rc = lt_seterr(err, errlen, LT_E_NOMEM, "%s: out of memory", path);
	if (rc == 0 && !t->default_system && !(t->default_system = strdup("")))
		rc = lt_seterr(err, errlen, LT_E_NOMEM, "%s: out of memory", path);
	char **opt[] = { &t->reasoning_start, &t->reasoning_end, &t->prefill[0], &t->prefill[1] };
	for (size_t i = 0; rc == 0 && i < sizeof(opt) / sizeof(opt[0]); i++)
		if (!*opt[i] && !(*opt[i] = strdup("")))
			rc = lt_seterr(err, errlen, LT_E_NOMEM, "%s: out of memory", path);
	/* The splitter needs both tags; the other reasoning keys mean nothing
	 * without them. */
	if (rc == 0 && !t->reasoning_start[0] != !t->reasoning_end[0])
		rc = lt_seterr(err, errlen, LT_E_FORMAT,
			       "%s: reasoning_start and reasoning_end go together", path);
	if (rc == 0 && !t->reasoning_start[0] &&
	    (t->strip_reasoning || t->prefill[0][0] || t->prefill[1][0]))
		rc = lt_seterr(err, errlen, LT_E_FORMAT,
			       "%s: strip_reasoning and the thinking prefills need reasoning_start and reasoning_end",
			       path);
	if (rc < 0) {
		template_free(t);
		return rc;
	}
	*out = t;
	return 0;
}

/* Reads a whole file of at most TEMPLATE_MAX_FILE bytes. */
static int template_read(const char *path, char **buf, size_t *len, char *err, size_t errlen)
{
	*buf = NULL;
	*len = 0;
	FILE *f = fopen(path, "rb");
	if (!f)
		return lt_seterr(err, errlen, errno == ENOENT ? LT_E_NOTFOUND : LT_E_IO,
				 "%s: cannot open: %s", path, strerror(errno));
	struct stat st;
	if (fstat(fileno(f), &st) != 0 || !S_ISREG(st.st_mode)) {
		fclose(f);
		return lt_seterr(err, errlen, LT_E_IO, "%s: not a regular file", path);
	}
	if ((unsigned long long)st.st_size > TEMPLATE_MAX_FILE) {
		fclose(f);
		return lt_seterr(err, errlen, LT_E_FORMAT,
				 "%s: too large for a template (%lld bytes, limit %u)", path,
				 (long long)st.st_size, TEMPLATE_MAX_FILE);
	}
	char *b = malloc((size_t)st.st_size + 1);
	if (!b) {
		fclose(f);
		return lt_seterr(err, errlen, LT_E_NOMEM, "%s: out of memory", path);
	}
	size_t n = fread(b, 1, (size_t)st.st_size, f);
	int failed = ferror(f);
	fclose(f);
	if (failed) {
		free(b);
		return lt_seterr(err, errlen, LT_E_IO, "%s: read error", path);
	}
	b[n] = '\0';
	*buf = b;
	*len = n;
	return 0;
}

int template_load_file(struct template **out, const char *path, char *err, size_t errlen)
{
	*out = NULL;
	char *buf;
	size_t len;
	int rc = template_read(path, &buf, &len, err, errlen);
	if (rc < 0)
		return rc;
	rc = template_parse(out, path, buf, len, err, errlen);
	free(buf);
	return rc;
}

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

const char *template_name(const struct template *t) { return t->name; }
const char *template_description(const struct template *t) { return t->description; }
const char *template_path(const struct template *t) { return t->path; }
bool template_bos(const struct template *t) { return t->bos; }
bool template_system_in_user(const struct template *t) { return t->system_in_user; }
const char *template_default_system(const struct template *t) { return t->default_system; }
size_t template_n_stops(const struct template *t) { return t->n_stops; }
size_t template_n_detect(const struct template *t) { return t->n_detect; }
int template_priority(const struct template *t) { return t->priority; }

const char *template_reasoning_start(const struct template *t) { return t->reasoning_start; }
const char *template_reasoning_end(const struct template *t) { return t->reasoning_end; }
bool template_strip_reasoning(const struct template *t) { return t->strip_reasoning; }
const char *template_prefill(const struct template *t, bool thinking) { return t->prefill[thinking]; }
bool template_can_switch_thinking(const struct template *t) { return t->prefill[0][0] != '\0'; }

const char *template_part(const struct template *t, enum template_part part)
{
	if ((int)part < 0 || part >= TEMPLATE_N_PARTS)
		return "";
	return t->parts[part];
}

const char *template_stop(const struct template *t, size_t i)
{
	return i < t->n_stops ? t->stops[i] : NULL;
}

const char *template_detect_marker(const struct template *t, size_t i)
{
	return i < t->n_detect ? t->detect[i] : NULL;
}

bool template_matches(const struct template *t, const char *chat_template)
{
	if (!chat_template || t->n_detect == 0)
		return false;
	for (size_t i = 0; i < t->n_detect; i++)
		if (!strstr(chat_template, t->detect[i]))
			return false;
	return true;
}

/* ---- rendering ---- */

void template_segs_free(struct template_segs *s)
{
	if (!s)
		return;
	for (size_t i = 0; i < s->n; i++)
		free(s->seg[i].text);
	free(s->seg);
	s->seg = NULL;
	s->n = s->cap = 0;
}

/* Appends len bytes of text, merging with the last segment of the same
 * kind. */
static int segs_add(struct template_segs *s, enum template_seg_kind kind, const char *text,
		    size_t len)
{
	if (len == 0)
		return 0;
	if (s->n > 0 && s->seg[s->n - 1].kind == kind) {
		struct template_seg *last = &s->seg[s->n - 1];
		char *grown = realloc(last->text, last->len + len + 1);
		if (!grown)
			return LT_E_NOMEM;
		memcpy(grown + last->len, text, len);
		last->len += len;
		grown[last->len] = '\0';
		last->text = grown;
		return 0;
	}
	if (s->n == s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 8;
		struct template_seg *seg = realloc(s->seg, cap * sizeof(*seg));
		if (!seg)
			return LT_E_NOMEM;
		s->seg = seg;
		s->cap = cap;
	}
	char *copy = malloc(len + 1);
	if (!copy)
		return LT_E_NOMEM;
	memcpy(copy, text, len);
	copy[len] = '\0';
	s->seg[s->n++] = (struct template_seg){ .kind = kind, .text = copy, .len = len };
	return 0;
}

static int segs_tmpl(struct template_segs *s, const char *text)
{
	return segs_add(s, TEMPLATE_SEG_TEMPLATE, text, strlen(text));
}

static int segs_text(struct template_segs *s, const char *text)
{
	return text ? segs_add(s, TEMPLATE_SEG_TEXT, text, strlen(text)) : 0;
}

char *template_segs_join(const struct template_segs *s, size_t *len)
{
	size_t total = 0;
	for (size_t i = 0; i < s->n; i++)
		total += s->seg[i].len;
	char *out = malloc(total + 1);
	if (!out)
		return NULL;
	size_t o = 0;
	for (size_t i = 0; i < s->n; i++) {
		memcpy(out + o, s->seg[i].text, s->seg[i].len);
		o += s->seg[i].len;
	}
	out[o] = '\0';
	if (len)
		*len = total;
	return out;
}

/* Length of s without its trailing spaces. */
static size_t template_trim_spaces(const char *s)
{
	size_t n = strlen(s);
	while (n > 0 && s[n - 1] == ' ')
		n--;
	return n;
}

static bool template_has_system(const char *system)
{
	return system && system[0];
}

/* system_prefix + system + system_suffix. */
static int template_system_block(const struct template *t, const char *system,
				 struct template_segs *out)
{
	int rc = segs_tmpl(out, t->parts[TEMPLATE_SYSTEM_PREFIX]);
	if (rc == 0)
		rc = segs_text(out, system);
	if (rc == 0)
		rc = segs_tmpl(out, t->parts[TEMPLATE_SYSTEM_SUFFIX]);
	return rc;
}

int template_render_system(const struct template *t, const char *system,
			   struct template_segs *out)
{
	if (t->system_in_user || !template_has_system(system))
		return 0;
	return template_system_block(t, system, out);
}

/* A user turn up to and including user_suffix. */
static int template_user_turn(const struct template *t, const char *text, const char *system,
			      bool first, struct template_segs *out)
{
	int rc = segs_tmpl(out, t->parts[TEMPLATE_USER_PREFIX]);
	if (rc == 0 && first && t->system_in_user && template_has_system(system))
		rc = template_system_block(t, system, out);
	if (rc == 0)
		rc = segs_text(out, text);
	if (rc == 0)
		rc = segs_tmpl(out, t->parts[TEMPLATE_POSTFIX]);
	if (rc == 0)
		rc = segs_tmpl(out, t->parts[TEMPLATE_USER_SUFFIX]);
	return rc;
}

/* The assistant prefix that invites a reply, without trailing spaces,
 * and the prefill that opens (R1) or skips (Qwen3, thinking off) the
 * reasoning block. */
static int template_reply_prompt(const struct template *t, bool thinking,
				 struct template_segs *out)
{
	const char *p = t->parts[TEMPLATE_ASSISTANT_PREFIX];
	int rc = segs_add(out, TEMPLATE_SEG_TEMPLATE, p, template_trim_spaces(p));
	if (rc == 0)
		rc = segs_tmpl(out, t->prefill[thinking]);
	return rc;
}

int template_render_user(const struct template *t, const char *text, const char *system,
			 bool first, struct template_segs *out)
{
	int rc = template_user_turn(t, text, system, first, out);
	if (rc == 0)
		rc = template_reply_prompt(t, true, out);
	return rc;
}

int template_render_assistant_end(const struct template *t, struct template_segs *out)
{
	return segs_tmpl(out, t->parts[TEMPLATE_ASSISTANT_SUFFIX]);
}

/* A past reply: the prefix's trailing spaces are shared with a reply that
 * starts with its own space, so raw and trimmed replies render alike. Its
 * reasoning is left out when the template strips it (the model's own
 * template does so for every reply before the last question); otherwise
 * the block is written back in the layout the models produce. */
static int template_reply(const struct template *t, const struct template_msg *m, bool close,
			  struct template_segs *out)
{
	const char *text = m->text;
	bool keep = !t->strip_reasoning && t->reasoning_start[0] && m->reasoning && m->reasoning[0];
	const char *p = t->parts[TEMPLATE_ASSISTANT_PREFIX];
	size_t plen = strlen(p);
	if (text && text[0] == ' ' && !keep)
		plen = template_trim_spaces(p);
	int rc = segs_add(out, TEMPLATE_SEG_TEMPLATE, p, plen);
	if (rc == 0 && keep) {
		rc = segs_tmpl(out, t->reasoning_start);
		if (rc == 0)
			rc = segs_tmpl(out, "\n");
		if (rc == 0)
			rc = segs_text(out, m->reasoning);
		if (rc == 0)
			rc = segs_tmpl(out, "\n");
		if (rc == 0)
			rc = segs_tmpl(out, t->reasoning_end);
		if (rc == 0)
			rc = segs_tmpl(out, "\n\n");
	}
	if (rc == 0)
		rc = segs_text(out, text);
	if (rc == 0 && close)
		rc = segs_tmpl(out, t->parts[TEMPLATE_ASSISTANT_SUFFIX]);
	return rc;
}

int template_render_conversation(const struct template *t, const char *system,
				 const struct template_msg *msgs, size_t n, unsigned flags,
				 struct template_segs *out)
{
	int rc = template_render_system(t, system, out);
	bool first_user = true;
	for (size_t i = 0; rc == 0 && i < n; i++) {
		bool last = (i + 1 == n);
		if (msgs[i].role == TEMPLATE_ROLE_USER) {
			rc = template_user_turn(t, msgs[i].text, system, first_user, out);
			first_user = false;
			if (rc == 0 && last)
				rc = template_reply_prompt(t, !(flags & TEMPLATE_THINK_OFF), out);
		} else {
			bool close = !(last && (flags & TEMPLATE_OPEN_LAST));
			rc = template_reply(t, &msgs[i], close, out);
		}
	}
	return rc;
}

/* ---- listing and detection ---- */

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

int template_list(char *const *dirs, size_t n_dirs, struct template_info **out, size_t *n,
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

/* Detection order: higher priority first, then more markers (the more
 * specific set), then by name so the result never depends on readdir. */
static int template_detect_cmp(const void *a, const void *b)
{
	const struct template *x = *(const struct template *const *)a;
	const struct template *y = *(const struct template *const *)b;
	if (x->priority != y->priority)
		return x->priority > y->priority ? -1 : 1;
	if (x->n_detect != y->n_detect)
		return x->n_detect > y->n_detect ? -1 : 1;
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
	int rc = template_list(dirs, n_dirs, &list, &n, err, errlen);
	if (rc < 0)
		return rc;
	struct template **ts = calloc(n ? n : 1, sizeof(*ts));
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
		if (template_load_file(&ts[nt], list[i].path, NULL, 0) == 0) {
			free(ts[nt]->name);
			ts[nt]->name = strdup(list[i].name);
			if (!ts[nt]->name) {
				template_free(ts[nt]);
				continue;
			}
			nt++;
		}
	}
	if (exact) {
		*name = strdup(exact);
	} else {
		if (nt > 1)
			qsort(ts, nt, sizeof(*ts), template_detect_cmp);
		for (size_t i = 0; i < nt; i++) {
			if (template_matches(ts[i], chat_template)) {
				*name = strdup(ts[i]->name);
				break;
			}
		}
	}
	for (size_t i = 0; i < nt; i++)
		template_free(ts[i]);
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
