/* Private to the vocab module: the layout of struct vocab and the few
 * functions its three files share. Only engine/vocab.c (loading, queries,
 * pieces, detokenizing, streaming), engine/vocab_encode.c (text to ids:
 * special-token splitting, SPM and BPE merging) and engine/vocab_pre.c (the
 * BPE pre-tokenizer table and its regex splitting) include it. It is not part of the public API; everything else goes through
 * vocab.h. */
#ifndef LT_VOCAB_IMPL_H
#define LT_VOCAB_IMPL_H

#ifndef PCRE2_CODE_UNIT_WIDTH
#define PCRE2_CODE_UNIT_WIDTH 8
#endif

#include <pcre2.h>

#include "vocab.h"

#define VOCAB_MAX_RE 8
/* U+FFFD, the stand-in for bytes that are not valid UTF-8. */
#define UTF8_REPLACEMENT "\xEF\xBF\xBD"

struct vocab_token {
	uint32_t off, len;             /* text in v->text */
	uint32_t piece_off, piece_len; /* bytes in v->pieces (special form) */
	float score;
	unsigned attr;                 /* enum vocab_attr bits */
};

struct vocab {
	enum vocab_type type;
	char pre[64];
	int32_t n_tokens;
	struct vocab_token *tok; /* (n_tokens) */
	char *text;              /* every token text, NUL-terminated, back to back */
	char *pieces;            /* every token's piece, back to back */
	int32_t *map;            /* open-addressing table: token text -> id, -1 empty */
	uint32_t map_mask;

	int32_t n_merges;
	char *merge_text;        /* merge lines "left right", NUL-terminated */
	uint32_t *merge_off;     /* (n_merges) */
	uint32_t *merge_len;     /* (n_merges) */
	int32_t *merge_map;      /* merge line -> rank, -1 empty */
	uint32_t merge_mask;

	int32_t *special;        /* control / user-defined / unknown ids, longest first */
	int n_special;
	int32_t byte_tok[256];   /* SPM: the <0xXX> token of each byte */

	int32_t bos, eos, eot, eom, unk, sep, pad, nl;
	bool add_bos, add_eos, add_space_prefix, clean_spaces, ignore_merges;
	char *chat_template;

	pcre2_code *re[VOCAB_MAX_RE]; /* (n_re) pre-tokenizer regexes, applied in order */
	int n_re;
};

/* The attributes of the tokens that special-token splitting cuts out of the
 * text (llama.cpp's "special token cache"). */
#define VOCAB_SPECIAL_MASK (VOCAB_ATTR_CONTROL | VOCAB_ATTR_USER_DEFINED | VOCAB_ATTR_UNKNOWN)

/* Sequence length from the lead byte, as llama.cpp splits symbols. */
static inline size_t vocab_utf8_len(uint8_t c)
{
	static const uint8_t lookup[16] = { 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 2, 2, 3, 4 };
	return lookup[c >> 4];
}

/* vocab.c: the rank of the BPE merge "a b", or -1. */
int32_t vocab_merge_rank(const struct vocab *v, const char *a, size_t an, const char *b, size_t bn);

/* vocab_pre.c: sets up the BPE pre-tokenizer named by v->pre (its
 * regexes and the flags that come with it: clean_spaces, ignore_merges,
 * add_bos, no BOS). file names the GGUF in the one-line error;
 * LT_E_UNSUPPORTED for an unknown name. */
int vocab_pre_init(struct vocab *v, const char *file, char *err, size_t errlen);
/* vocab_pre.c: frees what vocab_pre_init compiled. */
void vocab_pre_free(struct vocab *v);

/* A piece of text, [off, off+len). */
struct vocab_span {
	uint32_t off, len;
};

/* vocab_pre.c: cuts s[0..n) (valid UTF-8) into the words the BPE merges run
 * on. *out (malloc'd, freed by the caller) receives *n_out pieces that
 * cover s in order. 0 or LT_E_NOMEM. */
int vocab_pre_cut(const struct vocab *v, const char *s, size_t n, struct vocab_span **out,
		  size_t *n_out);

#endif
