/* Template files: the text format (documented in template.h) parsed into a
 * struct template, and the accessors the renderer and the rest of the
 * program read it through. Rendering is in template_render.c, finding
 * files by name, listing and detection in template_store.c; both use only
 * the accessors, so the struct stays private to this file. */
#include "template.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

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

/* ---- accessors: the only way the renderer and the store read a template ---- */

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
