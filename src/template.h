/* Prompt templates: how a chat is laid out as text for one model family.
 *
 * A template is a small text file (prompts/NAME.tmpl). Its format:
 *
 *   # comment lines start with '#'; blank lines are ignored
 *   key = value
 *
 * The value is everything after the '=' and one optional space, with the
 * escapes \n (newline), \t (tab), \s (a space) and \\ (a backslash). Spaces
 * and tabs at the end of a line are dropped, so a value that must end in a
 * space spells it \s. Keys (each at most once unless marked repeatable):
 *
 *   name              display name (default: the file name without .tmpl)
 *   description       one line for 'llamaterm templates'
 *   bos               true (default): start the context with the model's BOS
 *                     token when its tokenizer asks for one; false: never add
 *                     it, because the template text writes it itself (llama2
 *                     puts <s> before every [INST]) or the format has none
 *   system_prefix, system_suffix        around the system prompt
 *   user_prefix, user_suffix            around each user message
 *   assistant_prefix, assistant_suffix  around each model reply
 *   postfix           appended to the user's text inside each user turn,
 *                     before user_suffix
 *   default_system    the system prompt used when none is given
 *   system_in_user    true: the system block goes inside the first user turn,
 *                     right after user_prefix (llama2, mistral, gemma)
 *   stop              a stop string (repeatable)
 *   detect            a marker that must occur in the model's
 *                     tokenizer.chat_template for this template to be chosen
 *                     automatically (repeatable: all must occur)
 *   priority          integer, default 0: detection tries templates with a
 *                     higher priority first, then those with more markers
 *   reasoning_start, reasoning_end
 *                     the tags around the reasoning a model writes before
 *                     its answer (<think> and </think>); both or neither
 *   strip_reasoning   true: past replies are rendered without their
 *                     reasoning, as Qwen3's and DeepSeek-R1's templates do
 *   thinking_prefill  written after the reply prompt while thinking is on
 *                     (DeepSeek-R1 opens the block itself: <think>\n)
 *   no_thinking_prefill  written after the reply prompt while thinking is
 *                     off (Qwen3: an empty block); without it /think off
 *                     is refused
 *
 * Rendering a conversation:
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
#ifndef LT_TEMPLATE_H
#define LT_TEMPLATE_H

#include <stdbool.h>
#include <stddef.h>

#include "errors.h"

/* File name extension of template files. */
#define TEMPLATE_EXT ".tmpl"
/* Largest template file read, in bytes. */
#define TEMPLATE_MAX_FILE (1u << 20)
/* Most stop strings and detect markers one file may list. */
#define TEMPLATE_MAX_LIST 32
/* The template used when nothing else is chosen. */
#define TEMPLATE_FALLBACK "dialogue"

struct template;

/* The prefix and suffix strings, for template_part. */
enum template_part {
	TEMPLATE_SYSTEM_PREFIX,
	TEMPLATE_SYSTEM_SUFFIX,
	TEMPLATE_USER_PREFIX,
	TEMPLATE_USER_SUFFIX,
	TEMPLATE_ASSISTANT_PREFIX,
	TEMPLATE_ASSISTANT_SUFFIX,
	TEMPLATE_POSTFIX,
	TEMPLATE_N_PARTS
};

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

/* Parses a template from memory. path names the file in messages, which
 * read "PATH:LINE: what is wrong"; it also gives the default name. */
int template_parse(struct template **out, const char *path, const char *text, size_t len,
		   char *err, size_t errlen);

/* Reads and parses one file. */
int template_load_file(struct template **out, const char *path, char *err, size_t errlen);

/* Loads a template by name (NAME.tmpl in the first of dirs that has it) or
 * by path (anything containing '/' or ending in .tmpl, or an existing file
 * when no directory has the name). LT_E_NOTFOUND names where it looked. */
int template_load(struct template **out, const char *name_or_path, char *const *dirs,
		  size_t n_dirs, char *err, size_t errlen);

void template_free(struct template *t);

/* The name key, or the file name without .tmpl. */
const char *template_name(const struct template *t);
/* The description, or "" when the file has none. */
const char *template_description(const struct template *t);
/* The path given to template_parse or the file loaded. */
const char *template_path(const struct template *t);
bool template_bos(const struct template *t);
bool template_system_in_user(const struct template *t);
/* The default system prompt, "" when none. */
const char *template_default_system(const struct template *t);
/* One of the prefix and suffix strings, "" when unset. */
const char *template_part(const struct template *t, enum template_part part);
size_t template_n_stops(const struct template *t);
const char *template_stop(const struct template *t, size_t i);
size_t template_n_detect(const struct template *t);
const char *template_detect_marker(const struct template *t, size_t i);
int template_priority(const struct template *t);
/* The reasoning keys: the tags ("" for models that do not reason), whether
 * past replies lose their reasoning, the text after the reply prompt with
 * thinking on or off, and whether thinking can be switched off (the
 * template has a no_thinking_prefill). */
const char *template_reasoning_start(const struct template *t);
const char *template_reasoning_end(const struct template *t);
bool template_strip_reasoning(const struct template *t);
const char *template_prefill(const struct template *t, bool thinking);
bool template_can_switch_thinking(const struct template *t);

/* True when t has detect markers and all of them occur in chat_template. */
bool template_matches(const struct template *t, const char *chat_template);

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

/* One available template, as 'llamaterm templates' lists it. */
struct template_info {
	char *name;        /* the file name without .tmpl: what --template takes */
	char *description; /* "" when none or when the file does not parse */
	char *path;
	size_t dir_index;  /* which of dirs it came from */
	bool overrides;    /* hides a file of the same name in a later directory */
	char *error;       /* NULL, or the parse error of a broken file */
};

/* Every NAME.tmpl in dirs, earlier directories hiding later ones, sorted by
 * name. Unreadable directories are skipped; broken files are listed with
 * their error. */
int template_list(char *const *dirs, size_t n_dirs, struct template_info **out, size_t *n,
		  char *err, size_t errlen);
void template_list_free(struct template_info *list, size_t n);

/* Recognises a model's tokenizer.chat_template among the templates in dirs
 * (by their detect markers, or the exact name of one). Returns 0 with a
 * malloc'd name in *name, or with *name NULL when none matches. */
int template_detect(const char *chat_template, char *const *dirs, size_t n_dirs, char **name,
		    char *err, size_t errlen);

/* The automatic choice: requested (--template NAME|FILE) when given; else
 * the template recognised from chat_template (may be NULL); else
 * TEMPLATE_FALLBACK. note receives one line saying what was chosen and
 * why (e.g. "model chat template not recognised; using 'dialogue'"). */
int template_choose(struct template **out, const char *requested, const char *chat_template,
		    char *const *dirs, size_t n_dirs, char *note, size_t notelen, char *err,
		    size_t errlen);

#endif
