/* Tokenizers built from GGUF metadata alone: SentencePiece-style BPE ("llama",
 * merged by token score with <0xXX> byte fallback) and byte-level BPE ("gpt2",
 * merged by rank with a PCRE2 pre-tokenizer chosen by tokenizer.ggml.pre),
 * special-token splitting, pieces, and a streaming detokenizer that only ever
 * emits valid UTF-8.
 *
 * Behaviour follows llama.cpp's so token ids match it (and the Hugging Face
 * tokenizers it mirrors) byte for byte. A vocab is immutable after
 * vocab_open, so one handle may be used from several threads at once. */
#ifndef LT_VOCAB_H
#define LT_VOCAB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "errors.h"
#include "gguf.h"

/* "No such token", as returned by vocab_bos() and friends. */
#define VOCAB_TOKEN_NULL (-1)

enum vocab_type {
	VOCAB_TYPE_NONE = 0, /* "no_vocab": the file has no tokenizer */
	VOCAB_TYPE_SPM = 1,  /* "llama" */
	VOCAB_TYPE_BPE = 2,  /* "gpt2" */
	VOCAB_TYPE_WPM = 3,  /* "bert": recognised, not supported */
};

/* Token attributes, from tokenizer.ggml.token_type plus the adjustments
 * llama.cpp makes (end-of-turn and fill-in-the-middle tokens become control
 * tokens; phi-3 special tokens swallow the whitespace after them). */
enum vocab_attr {
	VOCAB_ATTR_UNDEFINED = 0,
	VOCAB_ATTR_UNKNOWN = 1 << 0,
	VOCAB_ATTR_UNUSED = 1 << 1,
	VOCAB_ATTR_NORMAL = 1 << 2,
	VOCAB_ATTR_CONTROL = 1 << 3,
	VOCAB_ATTR_USER_DEFINED = 1 << 4,
	VOCAB_ATTR_BYTE = 1 << 5,
	VOCAB_ATTR_LSTRIP = 1 << 6, /* text split at this token drops whitespace before it */
	VOCAB_ATTR_RSTRIP = 1 << 7, /* ... and after it */
	VOCAB_ATTR_EOG = 1 << 8,    /* generation stops at this token */
};

struct vocab;

/* Builds the tokenizer described by g's tokenizer.ggml.* keys. The vocab
 * copies what it needs, so g may be freed afterwards. Fails with one line in
 * err naming the file and the problem: LT_E_NOTFOUND for a missing tokens
 * array or merges, LT_E_FORMAT for arrays of the wrong type or length or
 * duplicate tokens, LT_E_UNSUPPORTED for WPM/unigram/RWKV vocabularies and
 * unknown pre-tokenizers. A "no_vocab" file gives a VOCAB_TYPE_NONE handle
 * that cannot tokenize. */
int vocab_open(struct vocab **out, const struct gguf *g, char *err, size_t errlen);
void vocab_free(struct vocab *v);

enum vocab_type vocab_type(const struct vocab *v);
/* "SPM", "BPE", "WPM" or "none". */
const char *vocab_type_name(const struct vocab *v);
/* tokenizer.ggml.pre as given ("default" when absent). */
const char *vocab_pre(const struct vocab *v);
int32_t vocab_n_tokens(const struct vocab *v);
int32_t vocab_n_merges(const struct vocab *v);

/* Special token ids, or VOCAB_TOKEN_NULL. */
int32_t vocab_bos(const struct vocab *v);
int32_t vocab_eos(const struct vocab *v);
int32_t vocab_eot(const struct vocab *v);
int32_t vocab_eom(const struct vocab *v);
int32_t vocab_unk(const struct vocab *v);
int32_t vocab_sep(const struct vocab *v);
int32_t vocab_pad(const struct vocab *v);
int32_t vocab_nl(const struct vocab *v); /* the newline token */

bool vocab_add_bos(const struct vocab *v);
bool vocab_add_eos(const struct vocab *v);
bool vocab_add_space_prefix(const struct vocab *v);
/* tokenizer.chat_template, or NULL when the file has none. */
const char *vocab_chat_template(const struct vocab *v);

/* Per-token queries; ids out of range give false / 0 / NULL. */
unsigned vocab_attr(const struct vocab *v, int32_t id);
bool vocab_is_eog(const struct vocab *v, int32_t id);
bool vocab_is_control(const struct vocab *v, int32_t id);
/* The token's text as stored in the file (SPM uses U+2581 for spaces, BPE
 * its byte-to-character mapping); NUL-terminated; len may be NULL. */
const char *vocab_get_text(const struct vocab *v, int32_t id, size_t *len);
float vocab_get_score(const struct vocab *v, int32_t id);
/* The id of the token whose text is exactly text[0..len), or VOCAB_TOKEN_NULL. */
int32_t vocab_find(const struct vocab *v, const char *text, size_t len);

/* Flags for vocab_tokenize_ex() and vocab_tokenize_segments(). */
enum vocab_tok_flags {
	/* Add BOS / EOS as the model asks (tokenizer.ggml.add_bos_token /
	 * add_eos_token). */
	VOCAB_TOK_ADD_SPECIAL = 1 << 0,
	/* Turn text equal to a control or unknown token (such as "<s>" or
	 * "<|im_end|>") into that token. User-defined tokens are always
	 * matched, with or without this flag, as in llama.cpp. */
	VOCAB_TOK_PARSE_SPECIAL = 1 << 1,
	/* The text continues a token sequence whose last token is not special
	 * (see vocab_is_special): SPM models that add a space prefix put none
	 * in front of this text. Without it the text starts the input (or
	 * follows a special token) and gets the prefix, as llama.cpp does. */
	VOCAB_TOK_CONTINUE = 1 << 2,
	/* The text continues right after a special token that has
	 * VOCAB_ATTR_RSTRIP (phi-3's <|user|>, <|end|>, ...): whitespace at
	 * the start of the text is dropped, as when token and text are one
	 * string. */
	VOCAB_TOK_AFTER_RSTRIP = 1 << 3,
	/* (When ADD_SPECIAL adds a BOS, the text follows that BOS, so
	 * CONTINUE and AFTER_RSTRIP have no effect.) */
};

/* Tokenizes text[0..len) the way llama.cpp's llama_tokenize does: special
 * tokens are cut out first (longest first), every other run of text is
 * tokenized on its own. Writes at most n_max ids to out and returns how many
 * the text needs, which is larger than n_max when out was too small; or a
 * negative lt_error (LT_E_INVAL for unknown flag bits, LT_E_UNSUPPORTED for
 * a VOCAB_TYPE_NONE vocab).
 *
 * Tokenizing a string piece by piece: let S = A + B, and let B be tokenized
 * by a second call with flags vocab_tokenize_flags_after(v, last id of A's
 * call, or of an earlier call when A's gave none). The ids of the two calls
 * then equal those of one call on S (same PARSE_SPECIAL) when the cut falls
 * where llama.cpp itself cuts S: right before or after a special token that
 * S contains (inside the whitespace an RSTRIP token swallows counts too).
 * A cut inside plain text gives other ids, because merges never cross a call
 * boundary: "Hello" + " world" happens to match, but "Hel" + "lo" gives
 * "Hel", "lo" instead of "Hello", and SPM "[INST] " + "Hi" gives a lone
 * space token; the ids still detokenize to the same text. One difference
 * remains at special tokens: whitespace at the end of A is kept when B
 * starts with a VOCAB_ATTR_LSTRIP token (no chat model has one). Each call
 * matches special tokens inside its own text only, so PARSE_SPECIAL can be
 * chosen per piece: user text tokenized without it cannot end a turn by
 * typing "<|im_end|>". vocab_tokenize_segments() does the same for a whole
 * prompt in one call and has neither limit. */
int vocab_tokenize_ex(const struct vocab *v, const char *text, size_t len, unsigned flags,
		      int32_t *out, int n_max);

/* vocab_tokenize_ex() with flags from the two booleans. */
int vocab_tokenize(const struct vocab *v, const char *text, size_t len, bool add_special,
		   bool parse_special, int32_t *out, int n_max);

/* True when id is a token that special-token splitting cuts out of text
 * (control, user-defined and unknown tokens): text after it gets the SPM
 * space prefix. False for other and invalid ids. */
bool vocab_is_special(const struct vocab *v, int32_t id);

/* The VOCAB_TOK_CONTINUE / VOCAB_TOK_AFTER_RSTRIP bits for text that follows
 * token prev: 0 when prev is VOCAB_TOKEN_NULL (nothing before: the text
 * starts the input), not a valid id, or a special token without RSTRIP;
 * VOCAB_TOK_AFTER_RSTRIP for a special token with RSTRIP; VOCAB_TOK_CONTINUE
 * for any other token. It judges by the token alone, so a run of text that
 * ends in <unk> because a byte had no byte token (impossible in vocabs with
 * all 256 byte tokens) counts as ending in a special token, unlike in
 * llama.cpp. */
unsigned vocab_tokenize_flags_after(const struct vocab *v, int32_t prev);

/* One piece of a prompt for vocab_tokenize_segments(). */
struct vocab_segment {
	const char *text;
	size_t len;
	bool parse_special; /* template text: true; user text: false */
};

/* Tokenizes the concatenation of seg[0..n_seg) exactly as llama.cpp would
 * tokenize that one string, except that each segment's special tokens are
 * matched inside that segment only, and control tokens only in segments with
 * parse_special. Text runs of neighbouring segments are merged into one run
 * before tokenizing, so "[INST] " + "Hi" gives the ids of "[INST] Hi", and
 * whitespace stripping by RSTRIP / LSTRIP tokens crosses segment boundaries.
 * This is the call for rendering a chat prompt: template text with
 * parse_special, user text without. flags: VOCAB_TOK_ADD_SPECIAL,
 * VOCAB_TOK_CONTINUE and VOCAB_TOK_AFTER_RSTRIP apply to the whole list as in
 * vocab_tokenize_ex(); VOCAB_TOK_PARSE_SPECIAL is ignored (each segment
 * says). Output and return value as for vocab_tokenize_ex(). */
int vocab_tokenize_segments(const struct vocab *v, const struct vocab_segment *seg, int n_seg,
			    unsigned flags, int32_t *out, int n_max);

/* The words a BPE vocab's pre-tokenizer (tokenizer.ggml.pre) cuts text
 * into before merging, for tests and diagnostics: writes the end offset of
 * each piece, at most n_max of them, and returns how many there are (the
 * pieces cover text in order). text must be valid UTF-8. LT_E_UNSUPPORTED
 * for SPM and other vocabs, LT_E_INVAL for bad arguments or invalid UTF-8. */
int vocab_pre_split(const struct vocab *v, const char *text, size_t len, size_t *ends, int n_max);

/* The bytes token id stands for: SPM pieces with U+2581 turned into spaces
 * and <0xXX> tokens as their byte, BPE pieces mapped back to bytes,
 * user-defined tokens as written, control and unknown tokens only when
 * special (else empty). Returns the length, copying the bytes (no NUL) only
 * when it fits in n; LT_E_RANGE for a bad id. */
int vocab_token_to_piece(const struct vocab *v, int32_t id, char *buf, size_t n, bool special);

/* Joins the pieces of ids like llama.cpp's llama_detokenize: the space the
 * SPM tokenizer puts before the text is dropped from the first piece (unless
 * remove_special drops a leading BOS, which keeps it), remove_special drops a
 * leading BOS and trailing EOS the model adds, unparse_special renders control
 * tokens, and BPE models that ask for it get "clean up tokenization spaces"
 * (" ," -> ","). Writes at most size-1 bytes plus a NUL and returns the full
 * length (like snprintf), or a negative lt_error. */
int vocab_detokenize(const struct vocab *v, const int32_t *ids, int n_ids, char *buf, size_t size,
		     bool remove_special, bool unparse_special);

/* Streaming detokenizer: feed token ids as they are generated and get back
 * only complete, valid UTF-8. Bytes of a character split across tokens are
 * held until it completes; invalid sequences come out as U+FFFD; no byte is
 * dropped. */
struct vocab_stream;

enum vocab_stream_flags {
	/* Render control tokens (such as "</s>") instead of skipping them. */
	VOCAB_STREAM_SPECIAL = 1 << 0,
	/* The ids start a text (after an optional BOS): for models that add a
	 * space prefix, drop one leading space from the first piece that has
	 * text, so "Hello" tokenized with BOS streams back as "Hello". */
	VOCAB_STREAM_STRIP_SPACE = 1 << 1,
};

int vocab_stream_new(struct vocab_stream **out, const struct vocab *v, unsigned flags);
void vocab_stream_free(struct vocab_stream *s);
/* Forgets held bytes and starts over (the strip-space rule applies again). */
void vocab_stream_reset(struct vocab_stream *s);
/* Adds one token. *text / *len receive the UTF-8 that is now complete
 * (possibly empty); the pointer stays valid until the next call on s.
 * Returns 0, LT_E_RANGE for a bad id, or LT_E_NOMEM. */
int vocab_stream_push(struct vocab_stream *s, int32_t id, const char **text, size_t *len);
/* Emits whatever is held (an unfinished character becomes U+FFFD). */
int vocab_stream_flush(struct vocab_stream *s, const char **text, size_t *len);

#endif
