/* Tokenizers from GGUF metadata, part two: text to token ids. Special
 * tokens are cut out of the text first, longest token first; the rest is
 * merged by SentencePiece rules (adjacent symbols by best token score, with
 * <0xXX> byte fallback) or byte-level BPE rules (a PCRE2 pre-tokenizer split,
 * then merges by lowest rank). See vocab.h for the contract.
 *
 * The algorithms follow llama.cpp's llama-vocab.cpp so ids match it exactly. */
#include "vocab_impl.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

/* ---- UTF-8 ------------------------------------------------------------ */

static size_t utf8_put(uint32_t cp, char *o)
{
	if (cp < 0x80) {
		o[0] = (char)cp;
		return 1;
	}
	if (cp < 0x800) {
		o[0] = (char)(0xC0 | (cp >> 6));
		o[1] = (char)(0x80 | (cp & 0x3F));
		return 2;
	}
	if (cp < 0x10000) {
		o[0] = (char)(0xE0 | (cp >> 12));
		o[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
		o[2] = (char)(0x80 | (cp & 0x3F));
		return 3;
	}
	o[0] = (char)(0xF0 | (cp >> 18));
	o[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
	o[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
	o[3] = (char)(0x80 | (cp & 0x3F));
	return 4;
}

/* Rewrites s as valid UTF-8 into o (room for 3 * n bytes): llama.cpp decodes
 * leniently (any lead byte with the right number of continuation bytes) and
 * turns each bad byte into U+FFFD; we do the same and also replace surrogates
 * and code points past U+10FFFF, which it cannot encode either. */
static size_t utf8_sanitize(const char *s, size_t n, char *o)
{
	size_t k = 0;
	for (size_t i = 0; i < n;) {
		uint8_t c = (uint8_t)s[i];
		size_t len = c < 0x80 ? 1 : (c & 0x40) == 0 ? 0 : (c & 0x20) == 0 ? 2 :
			     (c & 0x10) == 0 ? 3 : (c & 0x08) == 0 ? 4 : 0;
		uint32_t cp = len == 1 ? c : len == 2 ? (c & 0x1Fu) : len == 3 ? (c & 0x0Fu) : (c & 0x07u);
		bool ok = len > 0 && i + len <= n;
		for (size_t j = 1; ok && j < len; j++) {
			uint8_t d = (uint8_t)s[i + j];
			ok = (d & 0xC0) == 0x80;
			cp = (cp << 6) | (d & 0x3F);
		}
		if (!ok || (cp >= 0xD800 && cp <= 0xDFFF) || cp > 0x10FFFF) {
			memcpy(o + k, UTF8_REPLACEMENT, 3);
			k += 3;
			i += 1;
			continue;
		}
		k += utf8_put(cp, o + k);
		i += len;
	}
	return k;
}

/* ---- GPT-2 byte-to-character mapping ---------------------------------- */

/* Printable bytes stand for themselves; the others are moved to U+0100 and
 * up, in byte order, so every byte has a visible character. */
static uint32_t byte_to_cp(uint8_t b)
{
	if ((b >= 0x21 && b <= 0x7E) || (b >= 0xA1 && b <= 0xAC) || b >= 0xAE)
		return b;
	if (b <= 0x20)
		return 256u + b;
	if (b <= 0xA0)
		return 256u + 33 + (b - 0x7Fu);
	return 256u + 67; /* 0xAD */
}


/* ---- tokenizing ----------------------------------------------------------- */

/* Collects output ids: writes while there is room, always counts. */
struct emit {
	int32_t *out;
	int n_max, n;
};

static void emit(struct emit *e, int32_t id)
{
	if (id < 0)
		return;
	if (e->n < e->n_max)
		e->out[e->n] = id;
	e->n++;
}

/* A candidate merge of symbols left and right; key orders the queue
 * (SPM: token score, BPE: minus the merge rank; higher first, then leftmost),
 * ln/rn are the symbol lengths it was made for, so stale entries are seen. */
struct bigram {
	int left, right;
	float key;
	uint32_t ln, rn;
};

struct sym {
	int prev, next;
	uint32_t off, n;
};

/* Scratch space for one tokenize call. */
struct work {
	struct sym *sym;
	size_t n_sym, cap_sym;
	struct bigram *heap;
	size_t n_heap, cap_heap;
};

static bool bigram_before(const struct bigram *a, const struct bigram *b)
{
	return a->key > b->key || (a->key == b->key && a->left < b->left);
}

static int heap_push(struct work *w, struct bigram b)
{
	if (w->n_heap == w->cap_heap) {
		size_t cap = w->cap_heap ? w->cap_heap * 2 : 64;
		struct bigram *h = realloc(w->heap, cap * sizeof(*h));
		if (!h)
			return LT_E_NOMEM;
		w->heap = h, w->cap_heap = cap;
	}
	size_t i = w->n_heap++;
	while (i > 0 && bigram_before(&b, &w->heap[(i - 1) / 2])) {
		w->heap[i] = w->heap[(i - 1) / 2];
		i = (i - 1) / 2;
	}
	w->heap[i] = b;
	return 0;
}

static struct bigram heap_pop(struct work *w)
{
	struct bigram top = w->heap[0], last = w->heap[--w->n_heap];
	size_t i = 0;
	for (;;) {
		size_t c = 2 * i + 1;
		if (c >= w->n_heap)
			break;
		if (c + 1 < w->n_heap && bigram_before(&w->heap[c + 1], &w->heap[c]))
			c++;
		if (!bigram_before(&w->heap[c], &last))
			break;
		w->heap[i] = w->heap[c];
		i = c;
	}
	if (w->n_heap)
		w->heap[i] = last;
	return top;
}

/* Splits s[0..n) into one symbol per UTF-8 character. */
static int split_symbols(struct work *w, size_t n, const char *s)
{
	if (n > w->cap_sym) {
		struct sym *p = realloc(w->sym, n * sizeof(*p));
		if (!p)
			return LT_E_NOMEM;
		w->sym = p, w->cap_sym = n;
	}
	w->n_sym = 0;
	w->n_heap = 0;
	for (size_t off = 0; off < n;) {
		size_t len = vocab_utf8_len((uint8_t)s[off]);
		if (len > n - off)
			len = n - off;
		int i = (int)w->n_sym++;
		off += len;
		w->sym[i] = (struct sym){ i - 1, off == n ? -1 : i + 1, (uint32_t)(off - len), (uint32_t)len };
	}
	return 0;
}

/* Runs the merge loop; try_pair queues a bigram for two adjacent symbols. */
typedef int (*try_pair_fn)(const struct vocab *v, struct work *w, const char *s, int l, int r);

static int merge_all(const struct vocab *v, struct work *w, const char *s, try_pair_fn try_pair)
{
	int rc = 0;
	for (size_t i = 1; i < w->n_sym && !rc; i++)
		rc = try_pair(v, w, s, (int)i - 1, (int)i);
	while (w->n_heap && !rc) {
		struct bigram b = heap_pop(w);
		struct sym *l = &w->sym[b.left], *r = &w->sym[b.right];
		if (l->n != b.ln || r->n != b.rn)
			continue;
		l->n += r->n;
		r->n = 0;
		l->next = r->next;
		if (r->next >= 0)
			w->sym[r->next].prev = b.left;
		rc = try_pair(v, w, s, l->prev, b.left);
		if (!rc)
			rc = try_pair(v, w, s, b.left, l->next);
	}
	return rc;
}

static int spm_pair(const struct vocab *v, struct work *w, const char *s, int l, int r)
{
	if (l < 0 || r < 0)
		return 0;
	const struct sym *a = &w->sym[l], *b = &w->sym[r];
	int32_t id = vocab_find(v, s + a->off, a->n + b->n);
	if (id < 0)
		return 0;
	return heap_push(w, (struct bigram){ l, r, v->tok[id].score, a->n, b->n });
}

static int bpe_pair(const struct vocab *v, struct work *w, const char *s, int l, int r)
{
	if (l < 0 || r < 0)
		return 0;
	const struct sym *a = &w->sym[l], *b = &w->sym[r];
	int32_t rank = vocab_merge_rank(v, s + a->off, a->n, s + b->off, b->n);
	if (rank < 0)
		return 0;
	return heap_push(w, (struct bigram){ l, r, -(float)rank, a->n, b->n });
}

/* SPM on one fragment: spaces become U+2581 (with one in front when the
 * model adds a space prefix), symbols merge by best score, and whatever is
 * not a token falls back to its <0xXX> byte tokens. */
static int spm_fragment(const struct vocab *v, struct work *w, const char *text, size_t len,
			bool prefix, struct emit *e)
{
	size_t cap = 3 * (len + 1);
	char *s = malloc(cap);
	if (!s)
		return LT_E_NOMEM;
	size_t n = 0;
	if (prefix) {
		memcpy(s, "\xE2\x96\x81", 3);
		n = 3;
	}
	for (size_t i = 0; i < len; i++) {
		if (text[i] == ' ') {
			memcpy(s + n, "\xE2\x96\x81", 3);
			n += 3;
		} else {
			s[n++] = text[i];
		}
	}
	int rc = split_symbols(w, n, s);
	if (!rc)
		rc = merge_all(v, w, s, spm_pair);
	for (int i = 0; !rc && w->n_sym && i != -1; i = w->sym[i].next) {
		const struct sym *y = &w->sym[i];
		int32_t id = vocab_find(v, s + y->off, y->n);
		if (id >= 0) {
			emit(e, id);
			continue;
		}
		for (uint32_t j = 0; j < y->n; j++) {
			int32_t b = v->byte_tok[(uint8_t)s[y->off + j]];
			emit(e, b >= 0 ? b : v->unk);
		}
	}
	free(s);
	return rc;
}

/* BPE on one pre-tokenized word: bytes mapped to characters, merged by rank,
 * leftovers emitted byte by byte where those bytes are tokens. */
static int bpe_word(const struct vocab *v, struct work *w, const char *word, size_t len,
		    char *enc, struct emit *e)
{
	size_t n = 0;
	for (size_t i = 0; i < len; i++)
		n += utf8_put(byte_to_cp((uint8_t)word[i]), enc + n);
	if (v->ignore_merges) {
		int32_t id = vocab_find(v, enc, n);
		if (id >= 0) {
			emit(e, id);
			return 0;
		}
	}
	int rc = split_symbols(w, n, enc);
	if (!rc)
		rc = merge_all(v, w, enc, bpe_pair);
	for (size_t i = 0; !rc && i < w->n_sym; i++) {
		const struct sym *y = &w->sym[i];
		if (!y->n)
			continue;
		int32_t id = vocab_find(v, enc + y->off, y->n);
		if (id >= 0) {
			emit(e, id);
			continue;
		}
		for (uint32_t j = 0; j < y->n; j++)
			emit(e, vocab_find(v, enc + y->off + j, 1));
	}
	return rc;
}

static int bpe_fragment(const struct vocab *v, struct work *w, const char *text, size_t len,
			struct emit *e)
{
	char *s = malloc(3 * len + 1), *enc = NULL;
	struct vocab_span *sp = NULL;
	size_t n_sp = 0;
	int rc = LT_E_NOMEM;
	if (!s)
		return rc;
	size_t n = utf8_sanitize(text, len, s);
	if ((rc = vocab_pre_cut(v, s, n, &sp, &n_sp)))
		goto out;
	size_t longest = 0;
	for (size_t i = 0; i < n_sp; i++)
		if (sp[i].len > longest)
			longest = sp[i].len;
	rc = LT_E_NOMEM;
	if (!(enc = malloc(2 * longest + 1)))
		goto out;
	rc = 0;
	for (size_t i = 0; i < n_sp && !rc; i++)
		rc = bpe_word(v, w, s + sp[i].off, sp[i].len, enc, e);
out:
	free(sp);
	free(enc);
	free(s);
	return rc;
}

/* ---- special tokens and fragments ------------------------------------------ */

/* A fragment of the input: raw text [off, off+len) or a special token. */
struct frag {
	int32_t tok; /* VOCAB_TOKEN_NULL for text */
	size_t off, len;
};

struct frags {
	struct frag *a;
	size_t n, cap;
};

static int frags_add(struct frags *f, int32_t tok, size_t off, size_t len)
{
	if (f->n == f->cap) {
		size_t cap = f->cap ? f->cap * 2 : 16;
		struct frag *a = realloc(f->a, cap * sizeof(*a));
		if (!a)
			return LT_E_NOMEM;
		f->a = a, f->cap = cap;
	}
	f->a[f->n++] = (struct frag){ tok, off, len };
	return 0;
}

/* Cuts special tokens out of text[off, off+len), longest token first, each
 * token at every non-overlapping place left to right, and appends the
 * fragments to out. Control and unknown tokens are only looked for with
 * parse_special; user-defined ones always are. */
static int partition(const struct vocab *v, const char *text, size_t off, size_t len,
		     bool parse_special, struct frags *out)
{
	struct frags cur = { 0 }, tmp = { 0 };
	int rc = frags_add(&cur, VOCAB_TOKEN_NULL, off, len);
	/* Tokens with a byte the text lacks cannot occur: skip their search. */
	uint8_t present[256] = { 0 };
	for (size_t i = off; i < off + len; i++)
		present[(uint8_t)text[i]] = 1;
	for (int k = 0; k < v->n_special && !rc; k++) {
		int32_t id = v->special[k];
		const struct vocab_token *t = &v->tok[id];
		const char *tt = v->text + t->off;
		if (!parse_special && (t->attr & (VOCAB_ATTR_CONTROL | VOCAB_ATTR_UNKNOWN)))
			continue;
		bool possible = t->len <= len;
		for (uint32_t i = 0; i < t->len && possible; i++)
			possible = present[(uint8_t)tt[i]];
		if (!possible)
			continue;
		tmp.n = 0;
		for (size_t i = 0; i < cur.n && !rc; i++) {
			struct frag fr = cur.a[i];
			if (fr.tok >= 0) {
				rc = frags_add(&tmp, fr.tok, 0, 0);
				continue;
			}
			for (;;) {
				const char *m = fr.len >= t->len ? memmem(text + fr.off, fr.len, tt, t->len) : NULL;
				if (!m) {
					if (fr.len)
						rc = frags_add(&tmp, VOCAB_TOKEN_NULL, fr.off, fr.len);
					break;
				}
				size_t at = (size_t)(m - text), left = at - fr.off;
				if (t->attr & VOCAB_ATTR_LSTRIP)
					while (left && isspace((unsigned char)text[fr.off + left - 1]))
						left--;
				if (left)
					rc = frags_add(&tmp, VOCAB_TOKEN_NULL, fr.off, left);
				if (!rc)
					rc = frags_add(&tmp, id, 0, 0);
				size_t end = fr.off + fr.len;
				fr.off = at + t->len;
				if (t->attr & VOCAB_ATTR_RSTRIP)
					while (fr.off < end && isspace((unsigned char)text[fr.off]))
						fr.off++;
				fr.len = end - fr.off;
				if (rc || !fr.len)
					break;
			}
		}
		struct frags swap = cur;
		cur = tmp;
		tmp = swap;
	}
	for (size_t i = 0; i < cur.n && !rc; i++)
		rc = frags_add(out, cur.a[i].tok, cur.a[i].off, cur.a[i].len);
	free(cur.a);
	free(tmp.a);
	return rc;
}

/* Drops whitespace from the start (or, with from_end, the end) of the text
 * fragments next to fragment i, going on to the next fragment while one
 * becomes empty and stopping at a special token. */
static void strip_next(const char *text, struct frags *f, size_t i, bool from_end)
{
	while (from_end ? i-- > 0 : ++i < f->n) {
		struct frag *fr = &f->a[i];
		if (fr->tok >= 0)
			return;
		if (from_end) {
			while (fr->len && isspace((unsigned char)text[fr->off + fr->len - 1]))
				fr->len--;
		} else {
			while (fr->len && isspace((unsigned char)text[fr->off]))
				fr->off++, fr->len--;
		}
		if (fr->len)
			return;
	}
}

/* Makes fragments cut separately (one call per segment) look like one cut
 * of the whole text: stripping around RSTRIP / LSTRIP tokens carries on
 * into neighbouring segments, emptied text goes, and touching text runs
 * become one. Within one segment this changes nothing: partition() already
 * stripped there, and it never leaves two text runs side by side. */
static void join_fragments(const struct vocab *v, const char *text, struct frags *f,
			   bool after_rstrip)
{
	/* As if an RSTRIP token sat before fragment 0 (the index wraps to 0). */
	if (after_rstrip)
		strip_next(text, f, (size_t)-1, false);
	for (size_t i = 0; i < f->n; i++) {
		int32_t tok = f->a[i].tok;
		if (tok >= 0 && (v->tok[tok].attr & VOCAB_ATTR_RSTRIP))
			strip_next(text, f, i, false);
		if (tok >= 0 && (v->tok[tok].attr & VOCAB_ATTR_LSTRIP))
			strip_next(text, f, i, true);
	}
	size_t k = 0;
	for (size_t i = 0; i < f->n; i++) {
		struct frag fr = f->a[i];
		if (fr.tok < 0 && !fr.len)
			continue;
		struct frag *last = k ? &f->a[k - 1] : NULL;
		if (fr.tok < 0 && last && last->tok < 0 && last->off + last->len == fr.off)
			last->len += fr.len;
		else
			f->a[k++] = fr;
	}
	f->n = k;
}

/* ---- entry points ---------------------------------------------------------- */

/* A segment placed in the joint text. */
struct range {
	size_t off, len;
	bool parse_special;
};

#define TOK_FLAGS_ALL \
	(VOCAB_TOK_ADD_SPECIAL | VOCAB_TOK_PARSE_SPECIAL | VOCAB_TOK_CONTINUE | VOCAB_TOK_AFTER_RSTRIP)

/* Tokenizes the segments r[0..n) of text as one input. */
static int tokenize_ranges(const struct vocab *v, const char *text, const struct range *r, int n,
			   unsigned flags, int32_t *out, int n_max)
{
	struct emit e = { out, n_max, 0 };
	struct frags f = { 0 };
	struct work w = { 0 };
	int rc = 0;
	for (int i = 0; i < n && !rc; i++)
		if (r[i].len)
			rc = partition(v, text, r[i].off, r[i].len, r[i].parse_special, &f);
	/* The BOS, when added, is the token the text follows. */
	bool bos = (flags & VOCAB_TOK_ADD_SPECIAL) && v->add_bos && v->bos >= 0;
	if (!rc)
		join_fragments(v, text, &f, !bos && (flags & VOCAB_TOK_AFTER_RSTRIP));
	if (bos)
		emit(&e, v->bos);
	/* SPM puts a space before text that starts the input or follows a
	 * special token. */
	bool prev_special = bos || !(flags & VOCAB_TOK_CONTINUE);
	for (size_t i = 0; i < f.n && !rc; i++) {
		const struct frag *fr = &f.a[i];
		if (fr->tok >= 0) {
			emit(&e, fr->tok);
			prev_special = true;
		} else if (v->type == VOCAB_TYPE_SPM) {
			rc = spm_fragment(v, &w, text + fr->off, fr->len, v->add_space_prefix && prev_special, &e);
			prev_special = false;
		} else {
			rc = bpe_fragment(v, &w, text + fr->off, fr->len, &e);
		}
	}
	if ((flags & VOCAB_TOK_ADD_SPECIAL) && v->add_eos)
		emit(&e, v->eos);
	free(f.a);
	free(w.sym);
	free(w.heap);
	return rc ? rc : e.n;
}

int vocab_tokenize_ex(const struct vocab *v, const char *text, size_t len, unsigned flags,
		      int32_t *out, int n_max)
{
	if (v->type != VOCAB_TYPE_SPM && v->type != VOCAB_TYPE_BPE)
		return LT_E_UNSUPPORTED;
	if ((!text && len) || n_max < 0 || (!out && n_max) || len > UINT32_MAX / 4 ||
	    (flags & ~(unsigned)TOK_FLAGS_ALL))
		return LT_E_INVAL;
	struct range r = { 0, len, (flags & VOCAB_TOK_PARSE_SPECIAL) != 0 };
	return tokenize_ranges(v, text, &r, 1, flags, out, n_max);
}

int vocab_tokenize(const struct vocab *v, const char *text, size_t len, bool add_special,
		   bool parse_special, int32_t *out, int n_max)
{
	unsigned flags = (add_special ? VOCAB_TOK_ADD_SPECIAL : 0) |
			 (parse_special ? VOCAB_TOK_PARSE_SPECIAL : 0);
	return vocab_tokenize_ex(v, text, len, flags, out, n_max);
}

int vocab_tokenize_segments(const struct vocab *v, const struct vocab_segment *seg, int n_seg,
			    unsigned flags, int32_t *out, int n_max)
{
	if (v->type != VOCAB_TYPE_SPM && v->type != VOCAB_TYPE_BPE)
		return LT_E_UNSUPPORTED;
	if (n_seg < 0 || (!seg && n_seg) || n_max < 0 || (!out && n_max) ||
	    (flags & ~(unsigned)TOK_FLAGS_ALL))
		return LT_E_INVAL;
	size_t total = 0;
	for (int i = 0; i < n_seg; i++) {
		if ((!seg[i].text && seg[i].len) || seg[i].len > UINT32_MAX / 4 - total)
			return LT_E_INVAL;
		total += seg[i].len;
	}
	/* Fragments point into one joint copy, so touching runs can merge. */
	char *text = malloc(total + 1);
	struct range *r = malloc((size_t)(n_seg ? n_seg : 1) * sizeof(*r));
	int rc = LT_E_NOMEM;
	if (text && r) {
		size_t off = 0;
		for (int i = 0; i < n_seg; i++) {
			if (seg[i].len)
				memcpy(text + off, seg[i].text, seg[i].len);
			r[i] = (struct range){ off, seg[i].len, seg[i].parse_special };
			off += seg[i].len;
		}
		rc = tokenize_ranges(v, text, r, n_seg, flags, out, n_max);
	}
	free(text);
	free(r);
	return rc;
}

unsigned vocab_tokenize_flags_after(const struct vocab *v, int32_t prev)
{
	if (prev < 0 || prev >= v->n_tokens || !v->tok)
		return 0;
	unsigned a = v->tok[prev].attr;
	if (!(a & VOCAB_SPECIAL_MASK))
		return VOCAB_TOK_CONTINUE;
	return (a & VOCAB_ATTR_RSTRIP) ? VOCAB_TOK_AFTER_RSTRIP : 0;
}
