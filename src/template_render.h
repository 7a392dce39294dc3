/* Rendering a conversation with a template (see template.h for the keys):
 *   [system_prefix system system_suffix]            once, unless system_in_user
 *   user_prefix [system block] TEXT postfix user_suffix assistant_prefix
 *   REPLY assistant_suffix                          per exchange
 * The prompt that asks the model to answer ends with assistant_prefix minus
 * its trailing spaces (then the thinking prefill, if any): the model's
 * first token brings its own space. When
 * a past reply is rendered, those spaces are written only if the reply does
 * not already start with a space, so raw and trimmed replies render alike.
 *
 * Output comes as segments tagged by origin: text from the template file is
 * tokenized with special tokens recognised (<|im_start|>, [INST] where it is
 * a special, </s>), while system, user and model text is tokenized with
 * specials treated as plain text, so a user typing <|im_end|> cannot end a
 * turn. */
#ifndef LT_TEMPLATE_RENDER_H
#define LT_TEMPLATE_RENDER_H

#include <stdbool.h>
#include <stddef.h>

struct template;

enum template_seg_kind {
	TEMPLATE_SEG_TEMPLATE, /* from the template file: parse special tokens */
	TEMPLATE_SEG_TEXT,     /* system, user or model words: never parse specials */
};

struct template_seg {
	enum template_seg_kind kind;
	char *text; /* malloc'd, NUL-terminated, len bytes */
	size_t len;
};

/* A rendered piece of prompt: segments in order, adjacent segments of the
 * same kind merged, empty ones left out. Start from { 0 }; the render
 * functions append to it; free with template_segs_free. */
struct template_segs {
	struct template_seg *seg; /* (n) */
	size_t n, cap;
};

enum template_role {
	TEMPLATE_ROLE_USER,
	TEMPLATE_ROLE_ASSISTANT,
};

struct template_msg {
	enum template_role role;
	const char *text;
	const char *reasoning; /* a reply's reasoning (NULL or "": none) */
};

/* Flags for template_render_conversation. */
enum template_render_flags {
	/* Leave a final assistant message open (no assistant_suffix), so the
	 * model can continue it. */
	TEMPLATE_OPEN_LAST = 1 << 0,
	/* The reply prompt at the end uses no_thinking_prefill instead of
	 * thinking_prefill (Qwen3's enable_thinking=false). */
	TEMPLATE_THINK_OFF = 1 << 1,
};

/* The block that opens a conversation: system_prefix, the system text and
 * system_suffix. Nothing when system is NULL or "", or when the template
 * carries the system text in the first user turn. */
int template_render_system(const struct template *t, const char *system,
			   struct template_segs *out);

/* One user turn followed by the start of the reply: user_prefix, (for the
 * first turn of a system_in_user template, the system block), text,
 * postfix, user_suffix and assistant_prefix without its trailing spaces. */
int template_render_user(const struct template *t, const char *text, const char *system,
			 bool first, struct template_segs *out);

/* What closes a reply once the model has stopped: assistant_suffix. */
int template_render_assistant_end(const struct template *t, struct template_segs *out);

/* A whole conversation for re-evaluation from scratch: the system block
 * and every message in order. Ends with the reply prompt when the last
 * message is from the user. Does not include the BOS token: add it when
 * template_bos says so. */
int template_render_conversation(const struct template *t, const char *system,
				 const struct template_msg *msgs, size_t n, unsigned flags,
				 struct template_segs *out);

void template_segs_free(struct template_segs *s);
/* All segments as one malloc'd string (len may be NULL), or NULL when
 * memory runs out. */
char *template_segs_join(const struct template_segs *s, size_t *len);

#endif
