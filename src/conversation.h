/* A chat conversation over one evaluation context: the turns, the token ids
 * in the context, template rendering per turn, and the generation of
 * replies through sampler -> streaming detokenizer -> stop matcher.
 *
 * The context always holds exactly conv_ids(): the head (BOS when the
 * template asks for it, then the system block) followed by the tokens of
 * every turn still in the context. Each operation brings the KV cache in
 * line with the ids it wants by keeping the longest common prefix of what
 * is cached and evaluating the rest, so undo only truncates and a reply
 * that is regenerated only re-evaluates the last prompt token.
 *
 * Tokens of a turn:
 *   user       user_prefix [system block] in_prefix TEXT postfix user_suffix
 *              assistant_prefix (trailing spaces trimmed)
 *   assistant  the sampled ids (without the end-of-generation token)
 *              followed by assistant_suffix
 * Template text is tokenized with special tokens recognised; user, system
 * and reply text never is. All pieces of one turn go to the tokenizer
 * together (vocab_tokenize_segments), as the text that follows the last
 * token before the turn, so the ids equal those of tokenizing the whole
 * rendered prompt at once wherever turns meet at a special token, and the
 * SentencePiece space prefix appears only at the start and after special
 * tokens, never where template text meets user text.
 *
 * A reply that hits a stop string keeps, in the context, the sampled tokens
 * that lie wholly before the stop string; its text is what was shown.
 *
 * Reasoning models: the reply text goes through a splitter (reasoning.h)
 * after the stop matcher, so stop strings and token counts cover the
 * reasoning too. The reply keeps its sampled tokens in the context until
 * the next message; with a template that strips reasoning, that message
 * first renders the previous exchange as the template writes past turns
 * (no reasoning, no prefill after the reply prompt), and only the tokens
 * from there on are evaluated again.
 *
 * When a prompt or reply would not fit, the oldest exchanges leave the
 * context (the head always stays) until at most half of it is used, the
 * remaining turns are evaluated again at their new positions, and
 * on_shift says what was dropped. Dropped turns stay in the transcript.
 *
 * Not thread-safe: one thread (the worker) uses a conversation; only the
 * abort flag may be set from elsewhere. */
#ifndef LT_CONVERSATION_H
#define LT_CONVERSATION_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "context.h"
#include "errors.h"
#include "sampler.h"
#include "template.h"
#include "vocab.h"

struct conv;
struct session_data;

enum conv_role {
	CONV_ROLE_USER = 0,
	CONV_ROLE_ASSISTANT = 1,
};

/* Why a reply ended. */
enum conv_stop_reason {
	CONV_STOP_EOG = 0,    /* the model ended its turn (EOS/EOT) */
	CONV_STOP_STRING,     /* a stop string appeared (not shown) */
	CONV_STOP_LIMIT,      /* n_predict tokens were generated */
	CONV_STOP_USER,       /* the abort flag was raised */
	CONV_STOP_CTX_FULL,   /* the reply alone fills the context */
};

/* "end of turn", "stop string", "length limit", "stopped", "context full". */
const char *conv_stop_reason_name(enum conv_stop_reason r);

/* Turn flags. */
#define CONV_TURN_PARTIAL 0x1u /* the reply was cut short (user, limit, context) */
#define CONV_TURN_IN_CTX 0x2u  /* its tokens are in the context */

struct conv_turn {
	enum conv_role role;
	char *text;        /* NUL-terminated; for replies, exactly what was shown
			    * as the answer (without the reasoning block) */
	char *reasoning;   /* a reply's reasoning (reasoning.h), "" when none */
	int n_reasoning;   /* the tokens the reasoning took (0 when none) */
	int n_tokens;      /* tokens it occupies in the context (0 once shifted out) */
	int64_t t_start;   /* milliseconds since the epoch */
	int64_t t_end;
	unsigned flags;    /* CONV_TURN_* */
};

struct conv_params {
	const char *system;        /* NULL: the template's default system prompt */
	const char *in_prefix;     /* NULL/"" none; put before the user's text */
	const char *postfix;       /* NULL: the template's postfix */
	struct sampler_params sampling;
	int n_predict;             /* most tokens per reply, -1 no limit */
	const char *const *stops;  /* added to the template's stop strings */
	int n_stops;
	/* What the context already holds (its first n_kv_ids positions), so
	 * a prompt that starts the same evaluates only the rest (serve's
	 * prompt cache); NULL/0: the context starts over. */
	const int32_t *kv_ids;
	int n_kv_ids;
};

/* What happened during conv_send / conv_regenerate. */
struct conv_reply {
	int n_prompt;          /* tokens evaluated before generating */
	int n_gen;             /* tokens sampled */
	double t_prompt;       /* seconds spent evaluating them */
	double t_gen;
	enum conv_stop_reason reason;
	const char *stop;      /* the stop string for CONV_STOP_STRING, else NULL */
	int n_reasoning;       /* of n_gen, the tokens of the reasoning block */
};

/* Hooks called on the conversation's thread while it works. Any may be NULL. */
struct conv_callbacks {
	void *ud;
	/* A turn was accepted (user) or a reply starts (assistant, text ""). */
	void (*on_turn)(void *ud, int index, const struct conv_turn *t);
	/* Showable reply text: complete UTF-8, stop strings never included;
	 * the answer only, the reasoning block goes to on_reasoning. */
	void (*on_text)(void *ud, const char *text, size_t len);
	/* A piece of the reply's reasoning (it comes before the answer's
	 * text); n_tokens: the reasoning tokens so far. */
	void (*on_reasoning)(void *ud, const char *text, size_t len, int n_tokens);
	/* Turns left the context: tokens dropped and kept, and one line saying which. */
	void (*on_shift)(void *ud, int n_dropped, int n_kept, const char *what);
	/* Optional: the ids about to be evaluated for a reply (what the KV
	 * cache does not hold yet), for --verbose-prompt. */
	void (*on_prompt)(void *ud, const int32_t *ids, int n);
	/* Optional: after each generated token, the tokens so far, the
	 * seconds they took and the context's tokens (a live speed). */
	void (*on_token)(void *ud, int n_gen, double t_gen, int n_ctx_used);
	/* Optional: a token was sampled (not an end-of-generation one) from
	 * these n_vocab logits, before penalties (serve's logprobs). */
	void (*on_sample)(void *ud, int32_t token, const float *logits);
};

/* A conversation created with ctx and v NULL has no context: its replies
 * are written by a generator (a remote server, worker_remote.c) that reads
 * the turns and settings and hands each piece of the reply to conv_feed,
 * which runs the same stop matcher and reasoning splitter as local
 * generation and calls the same callbacks. Nothing is tokenized; the
 * template only gives the reasoning tags; turns never leave (conv_n_ctx
 * is 0). generate fills r (n_prompt, n_gen, t_prompt, t_gen, and reason
 * for an end other than a stop string) and returns 0, or an lt_error with
 * a message in err (the reply so far is kept, marked partial). */
struct conv_generator {
	void *ud;
	int (*generate)(void *ud, struct conv *c, struct conv_reply *r, char *err, size_t errlen);
};
void conv_set_generator(struct conv *c, const struct conv_generator *g);
/* A piece of the reply (reasoning: the server sent it apart from the
 * answer). Returns 1 when a stop string ended the reply (stop reading),
 * 0 to go on, LT_E_NOMEM. */
int conv_feed(struct conv *c, bool reasoning, const char *text, size_t len);

/* Creates a conversation on ctx (which it uses exclusively while it
 * exists) with vocabulary v, taking ownership of tmpl. Nothing is evaluated
 * yet. Returns 0 or a negative lt_error with a message in err (invalid
 * sampling settings or stop strings; LT_E_FULL for a system prompt longer
 * than half the context). On failure tmpl is freed. */
int conv_new(struct conv **out, struct ctx *ctx, const struct vocab *v, struct template *tmpl,
	     const struct conv_params *p, char *err, size_t errlen);
void conv_free(struct conv *c);

/* The flag that stops a reply or evaluation (also given to the context).
 * The conversation only reads it; the owner clears it between commands. */
void conv_set_abort(struct conv *c, const atomic_bool *flag);

/* Adds a user turn and generates the reply. The user turn is kept even
 * when the reply fails or is stopped. Returns 0 (also for a stopped reply,
 * see r->reason) or a negative lt_error with a message in conv_error:
 * LT_E_FULL when the message alone does not fit in the context (the turn
 * is then not added), LT_E_ABORTED when the abort flag stopped the prompt
 * evaluation (the turn stays; conv_regenerate answers it later). */
int conv_send(struct conv *c, const char *text, const struct conv_callbacks *cb,
	      struct conv_reply *r);

/* Replaces the last reply with a new one (the sampler carries on, so the
 * new reply differs). LT_E_INVAL when the last turn is not a reply or a
 * user turn awaiting one. */
int conv_regenerate(struct conv *c, const struct conv_callbacks *cb, struct conv_reply *r);

/* Removes the last exchange (the last reply and the user turn before it,
 * or a lone last user turn). The KV cache is truncated, nothing is
 * evaluated. LT_E_INVAL when there is nothing to undo. */
int conv_undo(struct conv *c);

/* Drops every turn and evaluates the head again (same settings). */
int conv_clear(struct conv *c);

/* Changes the system prompt ("" none, NULL the template default) and
 * re-evaluates the context from the first token that changed. A system
 * block longer than half the context is refused whole with LT_E_FULL and
 * a message giving its token count; the old prompt stays. */
int conv_set_system(struct conv *c, const char *system);

/* Switches to another template (taking ownership; freed on failure) and
 * rebuilds the context from the transcript. Stop strings of the old
 * template are replaced by the new one's; the user's stay. So is the
 * system prompt, unless the user chose one (conv_params.system or
 * conv_set_system with text, "" included). */
int conv_set_template(struct conv *c, struct template *tmpl);

/* Changes the text put after (postfix) or before (in_prefix) later user
 * messages; turns already in the context are not touched. */
int conv_set_postfix(struct conv *c, const char *postfix);
int conv_set_in_prefix(struct conv *c, const char *in_prefix);

/* Thinking of reasoning models, on by default: off puts the template's
 * no_thinking_prefill after later reply prompts (Qwen3's
 * enable_thinking=false). Turning it off when the template has no such
 * prefill is LT_E_UNSUPPORTED with a message. Takes effect at the next
 * reply; nothing is evaluated. */
int conv_set_thinking(struct conv *c, bool on);
bool conv_thinking(const struct conv *c);

/* Sampling settings, effective from the next token on. */
int conv_set_sampling(struct conv *c, const struct sampler_params *p);
const struct sampler_params *conv_sampling(const struct conv *c);
void conv_set_n_predict(struct conv *c, int n_predict);
int conv_n_predict(const struct conv *c);

/* Stop strings (template's and the user's together). */
int conv_stop_add(struct conv *c, const char *stop);
int conv_stop_remove(struct conv *c, const char *stop);
int conv_stops(const struct conv *c, const char *const **out);

int conv_n_turns(const struct conv *c);
const struct conv_turn *conv_turn(const struct conv *c, int i);
/* The system prompt in use ("" for none); the in_prefix and postfix. */
const char *conv_system(const struct conv *c);
const char *conv_in_prefix(const struct conv *c);
const char *conv_postfix(const struct conv *c);
const struct template *conv_template(const struct conv *c);

/* The ids in the context, conv_n_ids() of them; context use is
 * conv_n_ids / ctx_n_ctx. */
const int32_t *conv_ids(const struct conv *c);
int conv_n_ids(const struct conv *c);
/* The ids the KV cache holds, position by position (a prefix of
 * conv_ids, or less after a failed evaluation); returns their count. */
int conv_kv_ids(const struct conv *c, const int32_t **out);
int conv_n_ctx(const struct conv *c);

/* The message of the last failed call. */
const char *conv_error(const struct conv *c);

/* Everything a session file stores, as session_data (the strings and
 * buffers are malloc'd copies; free with session_data_free). */
int conv_snapshot(const struct conv *c, struct session_data *out);
/* The same without the KV image (a journal reads the rows it appends from
 * the context itself): has_ctx says the cache holds exactly the ids. */
int conv_snapshot_ids(const struct conv *c, struct session_data *out);

/* Replaces the conversation with a saved one. With restore_kv (same model,
 * intact sections) the KV cache (d->kv, then d->spans), the ids and the
 * sampler state are loaded
 * as saved, with nothing evaluated; otherwise the context is rebuilt from
 * the transcript, keeping as many recent turns as fit (*kv_restored says
 * which happened; a damaged KV image also leads to a rebuild). The template is not
 * taken from d (the caller loads d->template_name and calls
 * conv_set_template first when it differs). On failure the conversation
 * is left empty but usable. */
int conv_restore(struct conv *c, const struct session_data *d, bool restore_kv,
		 bool *kv_restored);

#endif
