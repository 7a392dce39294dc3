/* The F2 model-metadata browser: the derived figures `llamaterm info`
 * prints (parameters, quantization mix, hyperparameters, special tokens,
 * KV-cache size), every GGUF key with its value and the tensor table, all
 * in one scrollable list; `/` searches it, Enter expands a long value or
 * array. It opens the model file itself (read-only, mapped), so it never
 * touches the engine thread's state. A model without a file (a remote
 * one) shows what the worker learnt of it instead (worker_model_details). */
#include "pane.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dtype.h"
#include "errors.h"
#include "gguf.h"
#include "gguf_split.h"
#include "miniline.h"
#include "modelinfo.h"
#include "options.h"
#include "worker.h"

/* A folded string shows this many bytes, a folded array this many items. */
#define META_STR_SHORT 60
#define META_ARR_SHORT 6
/* An expanded array lists at most this many items (a vocabulary can have
 * hundreds of thousands). */
#define META_ARR_MAX 5000
/* Tags of lines that are not a key. */
#define META_TAG_OTHER (-1L)
#define META_TAG_DETAIL (-2L)

struct meta_pane {
	struct gguf *g;
	struct modelinfo info; /* the figures `llamaterm info` derives, shown first */
	struct listview *lv;
	bool *expanded;  /* (n_kv) */
	int64_t n_kv;
	struct miniline search;
	char needle[MINILINE_MAX];
	char footer[MINILINE_MAX + 64];
};

/* Appends s (n bytes) to buf with control characters escaped, at most max
 * bytes of s; returns the bytes of s used. */
static size_t meta_escape(char *buf, size_t size, const char *s, size_t n, size_t max)
{
	size_t pos = strlen(buf), i = 0;
	for (; i < n && i < max && pos + 5 < size; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c == '\n')
			pos += (size_t)snprintf(buf + pos, size - pos, "\\n");
		else if (c == '\t')
			pos += (size_t)snprintf(buf + pos, size - pos, "\\t");
		else if (c < 0x20 || c == 0x7F)
			pos += (size_t)snprintf(buf + pos, size - pos, "\\x%02x", c);
		else
			buf[pos++] = (char)c;
	}
	/* Do not stop inside a UTF-8 character. */
	while (i < n && pos > 0 && ((unsigned char)s[i] & 0xC0) == 0x80) {
		pos--;
		i--;
	}
	buf[pos] = '\0';
	return i;
}

/* One item of an array, or a scalar, as text. */
static void meta_scalar(char *buf, size_t size, const struct gguf_value *v, size_t max)
{
	buf[0] = '\0';
	switch (gguf_value_type(v)) {
	case GGUF_VTYPE_STRING: {
		size_t len;
		const char *s = gguf_value_str(v, &len);
		snprintf(buf, size, "\"");
		size_t used = meta_escape(buf, size, s, len, max);
		size_t pos = strlen(buf);
		snprintf(buf + pos, size - pos, used < len ? "\"..." : "\"");
		break;
	}
	case GGUF_VTYPE_FLOAT32:
	case GGUF_VTYPE_FLOAT64:
		/* The same digits `llamaterm info --kv` prints. */
		snprintf(buf, size, "%s",
			 modelinfo_float(gguf_value_f64(v), gguf_value_type(v) == GGUF_VTYPE_FLOAT32).s);
		break;
	case GGUF_VTYPE_BOOL:
		snprintf(buf, size, "%s", gguf_value_bool(v) ? "true" : "false");
		break;
	case GGUF_VTYPE_UINT64:
		snprintf(buf, size, "%" PRIu64, gguf_value_u64(v));
		break;
	default:
		snprintf(buf, size, "%" PRId64, gguf_value_i64(v));
		break;
	}
}

/* Item i of array v as meta_scalar shows it, "?" when it cannot be read. */
static void meta_item(char *buf, size_t size, const struct gguf_value *v, uint64_t i, size_t max)
{
	const struct gguf_value *e = gguf_value_arr_item(v, i);
	if (e)
		meta_scalar(buf, size, e, max);
	else
		snprintf(buf, size, "?");
}

static void meta_folded(char *buf, size_t size, const struct gguf_value *v)
{
	if (gguf_value_type(v) != GGUF_VTYPE_ARRAY) {
		meta_scalar(buf, size, v, META_STR_SHORT);
		return;
	}
	uint64_t n = gguf_value_arr_len(v);
	int pos = snprintf(buf, size, "[%s x %" PRIu64 "] ", gguf_vtype_name(gguf_value_arr_type(v)),
			   n);
	for (uint64_t i = 0; i < n && i < META_ARR_SHORT && pos > 0 && (size_t)pos < size; i++) {
		char item[128];
		meta_item(item, sizeof(item), v, i, 24);
		pos += snprintf(buf + pos, size - (size_t)pos, "%s%s", i ? ", " : "", item);
	}
	if (n > META_ARR_SHORT && pos > 0 && (size_t)pos < size)
		snprintf(buf + pos, size - (size_t)pos, ", ...");
}

/* The lines of an expanded value. */
static void meta_expand(struct listview *lv, const struct gguf_value *v)
{
	if (gguf_value_type(v) == GGUF_VTYPE_STRING) {
		size_t len;
		const char *s = gguf_value_str(v, &len);
		/* One list line per line of the string. */
		size_t start = 0;
		for (size_t i = 0; i <= len; i++) {
			if (i < len && s[i] != '\n')
				continue;
			char line[1024] = "";
			size_t off = start;
			do {
				line[0] = '\0';
				size_t used = meta_escape(line, sizeof(line), s + off, i - off, 200);
				listview_addf(lv, LISTVIEW_DIM, META_TAG_DETAIL, "    %s", line);
				off += used ? used : 1;
			} while (off < i);
			start = i + 1;
		}
		return;
	}
	if (gguf_value_type(v) != GGUF_VTYPE_ARRAY)
		return;
	uint64_t n = gguf_value_arr_len(v);
	for (uint64_t i = 0; i < n && i < META_ARR_MAX; i++) {
		char item[512];
		meta_item(item, sizeof(item), v, i, 200);
		listview_addf(lv, LISTVIEW_DIM, META_TAG_DETAIL, "    [%" PRIu64 "] %s", i, item);
	}
	if (n > META_ARR_MAX)
		listview_addf(lv, LISTVIEW_DIM, META_TAG_DETAIL, "    ... %" PRIu64 " more",
			      n - META_ARR_MAX);
}

/* Adds a line of the summary; a line lost to low memory only shortens it. */
static int meta_add_line(void *ctx, const char *line)
{
	listview_add(ctx, LISTVIEW_TEXT, META_TAG_OTHER, line);
	return 0;
}

static void meta_fill(struct meta_pane *m)
{
	struct listview *lv = m->lv;
	listview_clear(lv);
	const struct gguf *g = m->g;
	/* The summary's first line names the file. */
	listview_add(lv, LISTVIEW_HEADING, META_TAG_OTHER, "Summary");
	modelinfo_render(&m->info, g, MODELINFO_NARROW, meta_add_line, lv);
	listview_add(lv, LISTVIEW_TEXT, META_TAG_OTHER, "");
	listview_addf(lv, LISTVIEW_HEADING, META_TAG_OTHER, "Metadata (%" PRId64 " keys)", m->n_kv);
	for (int64_t i = 0; i < m->n_kv; i++) {
		const struct gguf_value *v = gguf_kv_value(g, i);
		char val[1024];
		meta_folded(val, sizeof(val), v);
		listview_addf(lv, LISTVIEW_TEXT, (long)i, "%s%s = %s",
			      m->expanded[i] ? "- " : "  ", gguf_kv_key(g, i), val);
		if (m->expanded[i])
			meta_expand(lv, v);
	}
	listview_add(lv, LISTVIEW_TEXT, META_TAG_OTHER, "");
	listview_addf(lv, LISTVIEW_HEADING, META_TAG_OTHER, "Tensors (%" PRId64 ")", gguf_n_tensors(g));
	for (int64_t i = 0; i < gguf_n_tensors(g); i++) {
		const struct gguf_tensor *tn = gguf_tensor(g, i);
		char shape[96];
		int pos = 0;
		for (int d = 0; d < tn->n_dims && pos >= 0 && (size_t)pos < sizeof(shape); d++)
			pos += snprintf(shape + pos, sizeof(shape) - (size_t)pos, "%s%" PRId64,
					d ? " x " : "", tn->ne[d]);
		listview_addf(lv, LISTVIEW_TEXT, META_TAG_OTHER, "  %s  %s  [%s]  %" PRIu64 " B",
			      tn->name, dtype_name(tn->type), shape, tn->size);
	}
}

static void meta_free(void *state)
{
	struct meta_pane *m = state;
	if (!m)
		return;
	listview_free(m->lv);
	free(m->expanded);
	gguf_free(m->g);
	free(m);
}

/* A model without a file (a remote one): the lines the worker has. */
static int meta_new_text(struct meta_pane **out, char *text)
{
	struct meta_pane *m = calloc(1, sizeof(*m));
	if (!m || listview_new(&m->lv) < 0) {
		free(m);
		free(text);
		return LT_E_NOMEM;
	}
	listview_add(m->lv, LISTVIEW_HEADING, META_TAG_OTHER, "Remote model");
	for (char *line = text, *next; line && *line; line = next) {
		next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		listview_add(m->lv, LISTVIEW_TEXT, META_TAG_OTHER, line);
	}
	free(text);
	*out = m;
	return LT_OK;
}

static int meta_new(struct meta_pane **out, const char *path, char *err, size_t errlen)
{
	*out = NULL;
	if (!path)
		return lt_seterr(err, errlen, LT_E_INVAL, "no model file to show");
	struct meta_pane *m = calloc(1, sizeof(*m));
	if (!m)
		return lt_seterr(err, errlen, LT_E_NOMEM, "out of memory");
	int rc = gguf_open_split(&m->g, path, 0, err, errlen);
	if (rc < 0) {
		free(m);
		return rc;
	}
	m->n_kv = gguf_n_kv(m->g);
	modelinfo_fill(&m->info, m->g);
	m->expanded = calloc((size_t)m->n_kv + 1, sizeof(bool));
	if (!m->expanded || listview_new(&m->lv) < 0) {
		meta_free(m);
		return lt_seterr(err, errlen, LT_E_NOMEM, "%s: out of memory", path);
	}
	meta_fill(m);
	*out = m;
	return LT_OK;
}

static struct listview *meta_list(void *state)
{
	return ((struct meta_pane *)state)->lv;
}

/* Selects the next line matching the search, from the one after the
 * selection. */
static void meta_find_next(struct meta_pane *m, bool from_next)
{
	size_t from = listview_selected(m->lv) + (from_next ? 1 : 0);
	long i = listview_find(m->lv, m->needle, from);
	listview_highlight(m->lv, m->needle);
	if (i < 0) {
		snprintf(m->footer, sizeof(m->footer), " no match for '%s'", m->needle);
		return;
	}
	listview_select(m->lv, (size_t)i);
	snprintf(m->footer, sizeof(m->footer), " '%s': n for the next match", m->needle);
}

static void meta_action(struct meta_pane *m, enum keys_action a)
{
	switch (a) {
	case KA_SEARCH:
		miniline_start(&m->search, NULL);
		return;
	case KA_SEARCH_NEXT:
		if (m->needle[0])
			meta_find_next(m, true);
		return;
	case KA_ACTIVATE: {
		size_t sel = listview_selected(m->lv);
		long tag = listview_tag(m->lv, sel);
		/* On a detail line, fold the key it belongs to. */
		while (tag == META_TAG_DETAIL && sel > 0)
			tag = listview_tag(m->lv, --sel);
		if (tag < 0 || tag >= m->n_kv)
			return;
		m->expanded[tag] = !m->expanded[tag];
		meta_fill(m);
		for (size_t i = 0; i < listview_count(m->lv); i++)
			if (listview_tag(m->lv, i) == tag) {
				listview_select(m->lv, i);
				break;
			}
		return;
	}
	default:
		return;
	}
}

static bool meta_prompting(const struct meta_pane *m)
{
	return m->search.active;
}

static void meta_prompt_key(struct meta_pane *m, int key)
{
	enum miniline_result r = miniline_key(&m->search, key);
	if (r == MINILINE_CANCEL) {
		m->footer[0] = '\0';
		return;
	}
	snprintf(m->needle, sizeof(m->needle), "%s", m->search.text);
	/* Incremental: the selection follows what has been typed so far. */
	meta_find_next(m, false);
}

static int meta_draw(void *state, WINDOW *win, bool focused)
{
	struct meta_pane *m = state;
	char footer[MINILINE_MAX + 16];
	const char *f = m->footer[0] ? m->footer : NULL;
	if (m->search.active) {
		snprintf(footer, sizeof(footer), " /%s", m->search.text);
		f = footer;
	}
	return listview_draw(m->lv, win, " Model metadata (F2)  / search  Enter expands", f,
			     focused);
}

/* The hooks. The file is read once, on first showing; the model does not
 * change while the chat runs. */
static int meta_open(void **state, const struct pane_env *env)
{
	if (*state)
		return 0;
	struct meta_pane *m = NULL;
	char *details = env->w ? worker_model_details(env->w) : NULL;
	int rc = details ? meta_new_text(&m, details)
			 : meta_new(&m, env->opts ? env->opts->model : NULL, env->err, env->err_len);
	*state = m;
	return rc;
}

static unsigned meta_key(void *state, const struct pane_env *env, int key, enum keys_action a)
{
	struct meta_pane *m = state;
	/* While the search line is open it takes every key. */
	if (meta_prompting(m)) {
		meta_prompt_key(m, key);
		return PANE_HANDLED | PANE_REDRAW;
	}
	if (a != KA_SEARCH && a != KA_SEARCH_NEXT && a != KA_ACTIVATE)
		return 0;
	meta_action(m, a);
	return PANE_HANDLED | PANE_REDRAW;
}

const struct pane_ops pane_meta = {
	.name = "metadata",
	.focus = KEYS_FOCUS_META,
	.toggle = KA_META,
	.open = meta_open,
	.free = meta_free,
	.draw = meta_draw,
	.list = meta_list,
	.key = meta_key,
};
