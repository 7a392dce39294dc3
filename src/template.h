/* Prompt templates: how a chat is laid out as text for one model family.
 *
 * This header is the file format and the parsed template (template.c);
 * template_render.h lays a conversation out with one (template_render.c)
 * and template_store.h finds, lists and detects them (template_store.c).
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
 *                     is refused */
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

/* Parses a template from memory. path names the file in messages, which
 * read "PATH:LINE: what is wrong"; it also gives the default name. */
int template_parse(struct template **out, const char *path, const char *text, size_t len,
		   char *err, size_t errlen);

/* Reads and parses one file. */
int template_load_file(struct template **out, const char *path, char *err, size_t errlen);

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

/* The rest of the template API lives with the code that implements it;
 * included here so a caller of any of it needs only this header. */
#include "template_render.h"
#include "template_store.h"

#endif
