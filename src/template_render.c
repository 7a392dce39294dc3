/* Rendering: a conversation laid out as prompt segments by a template
 * (template_render.h). Reads the template only through its accessors, so
 * the file format can change without touching the layout rules here. */
#include "template_render.h"

#include <stdlib.h>
#include <string.h>

#include "errors.h"
#include "template.h"


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
	int rc = segs_tmpl(out, template_part(t, TEMPLATE_SYSTEM_PREFIX));
	if (rc == 0)
		rc = segs_text(out, system);
	if (rc == 0)
		rc = segs_tmpl(out, template_part(t, TEMPLATE_SYSTEM_SUFFIX));
	return rc;
}

int template_render_system(const struct template *t, const char *system,
			   struct template_segs *out)
{
	if (template_system_in_user(t) || !template_has_system(system))
		return 0;
	return template_system_block(t, system, out);
}

/* A user turn up to and including user_suffix. */
static int template_user_turn(const struct template *t, const char *text, const char *system,
			      bool first, struct template_segs *out)
{
	int rc = segs_tmpl(out, template_part(t, TEMPLATE_USER_PREFIX));
	if (rc == 0 && first && template_system_in_user(t) && template_has_system(system))
		rc = template_system_block(t, system, out);
	if (rc == 0)
		rc = segs_text(out, text);
	if (rc == 0)
		rc = segs_tmpl(out, template_part(t, TEMPLATE_POSTFIX));
	if (rc == 0)
		rc = segs_tmpl(out, template_part(t, TEMPLATE_USER_SUFFIX));
	return rc;
}

/* The assistant prefix that invites a reply, without trailing spaces,
 * and the prefill that opens (R1) or skips (Qwen3, thinking off) the
 * reasoning block. */
static int template_reply_prompt(const struct template *t, bool thinking,
				 struct template_segs *out)
{
	const char *p = template_part(t, TEMPLATE_ASSISTANT_PREFIX);
	int rc = segs_add(out, TEMPLATE_SEG_TEMPLATE, p, template_trim_spaces(p));
	if (rc == 0)
		rc = segs_tmpl(out, template_prefill(t, thinking));
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
	return segs_tmpl(out, template_part(t, TEMPLATE_ASSISTANT_SUFFIX));
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
	bool keep = !template_strip_reasoning(t) && template_reasoning_start(t)[0] && m->reasoning &&
		    m->reasoning[0];
	const char *p = template_part(t, TEMPLATE_ASSISTANT_PREFIX);
	size_t plen = strlen(p);
	if (text && text[0] == ' ' && !keep)
		plen = template_trim_spaces(p);
	int rc = segs_add(out, TEMPLATE_SEG_TEMPLATE, p, plen);
	if (rc == 0 && keep) {
		rc = segs_tmpl(out, template_reasoning_start(t));
		if (rc == 0)
			rc = segs_tmpl(out, "\n");
		if (rc == 0)
			rc = segs_text(out, m->reasoning);
		if (rc == 0)
			rc = segs_tmpl(out, "\n");
		if (rc == 0)
			rc = segs_tmpl(out, template_reasoning_end(t));
		if (rc == 0)
			rc = segs_tmpl(out, "\n\n");
	}
	if (rc == 0)
		rc = segs_text(out, text);
	if (rc == 0 && close)
		rc = segs_tmpl(out, template_part(t, TEMPLATE_ASSISTANT_SUFFIX));
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
