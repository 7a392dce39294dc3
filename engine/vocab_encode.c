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


/* ---- pre-tokenizers ----------------------------------------------------- */

/* Hugging Face's \s is Unicode White_Space, which adds U+0085 to PCRE2's. */
#define WS "\\s\\x{85}"
#define RE_GPT2 "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^" WS "\\p{L}\\p{N}]+" \
	"|[" WS "]+(?![^" WS "])|[" WS "]+"
#define RE_LLAMA3_TAIL "| ?[^" WS "\\p{L}\\p{N}]+[\\r\\n]*|[" WS "]*[\\r\\n]+|[" WS "]+(?![^" WS "])|[" WS "]+"
#define RE_LLAMA3 "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}" RE_LLAMA3_TAIL
#define RE_QWEN2 "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}" RE_LLAMA3_TAIL
#define RE_PORO " ?[^(" WS "|.,!?\\x{2026}\\x{3002}\\x{FF0C}\\x{3001}\\x{964}\\x{6D4}\\x{60C})]+"
#define RE_CJK "[\\x{4E00}-\\x{9FA5}\\x{800}-\\x{4E00}\\x{AC00}-\\x{D7FF}]+"

/* The letters DeepSeek's LLM tokenizer groups into words. */
#define RE_DEEPSEEK_LETTERS "[" WS "]?[A-Za-z\\x{B5}\\x{C0}-\\x{D6}\\x{D8}-\\x{F6}\\x{F8}-\\x{1BA}" \
	"\\x{1BC}-\\x{1BF}\\x{1C4}-\\x{293}\\x{295}-\\x{2AF}\\x{370}-\\x{373}\\x{376}\\x{377}" \
	"\\x{37B}-\\x{37D}\\x{37F}\\x{386}\\x{388}-\\x{38A}\\x{38C}\\x{38E}-\\x{3A1}\\x{3A3}-\\x{3F5}" \
	"\\x{3F7}-\\x{481}\\x{48A}-\\x{52F}\\x{531}-\\x{556}\\x{10A0}-\\x{10C5}\\x{13A0}-\\x{13F5}" \
	"\\x{13F8}-\\x{13FD}\\x{1C90}-\\x{1CBA}\\x{1CBD}-\\x{1CBF}\\x{1D00}-\\x{1D2B}\\x{1D6B}-\\x{1D77}" \
	"\\x{1D79}-\\x{1D9A}\\x{1E00}-\\x{1F15}\\x{1F18}-\\x{1F1D}\\x{1F20}-\\x{1F45}\\x{1F48}-\\x{1F4D}" \
	"\\x{1F50}-\\x{1F57}\\x{1F59}\\x{1F5B}\\x{1F5D}\\x{1F5F}-\\x{1F7D}\\x{1F80}-\\x{1FB4}" \
	"\\x{1FB6}-\\x{1FBC}\\x{1FBE}\\x{1FC2}-\\x{1FC4}\\x{1FC6}-\\x{1FCC}\\x{1FD0}-\\x{1FD3}" \
	"\\x{1FD6}-\\x{1FDB}\\x{1FE0}-\\x{1FEC}\\x{1FF2}-\\x{1FF4}\\x{1FF6}-\\x{1FFC}\\x{2102}\\x{2107}" \
	"\\x{210A}-\\x{2113}\\x{2115}\\x{2119}-\\x{211D}\\x{2124}\\x{2126}\\x{2128}\\x{212A}-\\x{212D}" \
	"\\x{212F}-\\x{2134}\\x{2139}\\x{213C}-\\x{213F}\\x{2145}-\\x{2149}\\x{214E}\\x{2183}\\x{2184}" \
	"\\x{2C00}-\\x{2C7B}\\x{2C7E}-\\x{2CE4}\\x{2CEB}-\\x{2CEE}\\x{2CF2}\\x{2CF3}\\x{A640}-\\x{A66D}" \
	"\\x{A680}-\\x{A69B}\\x{A722}-\\x{A76F}\\x{A771}-\\x{A787}\\x{A78B}-\\x{A78E}\\x{AB70}-\\x{ABBF}" \
	"\\x{FB00}-\\x{FB06}\\x{FB13}-\\x{FB17}\\x{FF21}-\\x{FF3A}\\x{FF41}-\\x{FF5A}\\x{10400}-\\x{1044F}" \
	"\\x{104B0}-\\x{104D3}\\x{104D8}-\\x{104FB}\\x{10C80}-\\x{10CB2}\\x{10CC0}-\\x{10CF2}" \
	"\\x{118A0}-\\x{118DF}\\x{1E900}-\\x{1E943}]+"

enum { PRE_CLEAN = 1, PRE_NO_CLEAN = 2, PRE_IGNORE_MERGES = 4, PRE_ADD_BOS = 8, PRE_NO_BOS = 16 };

/* A pre-tokenizer: names as in tokenizer.ggml.pre ('|'-separated), flags, and
 * regexes applied one after another, each to the pieces the previous left
 * (text between matches stays a piece of its own). */
struct pre_spec {
	const char *names;
	unsigned flags;
	const char *re[VOCAB_MAX_RE];
};

static const struct pre_spec pre_specs[] = {
	{ "default", PRE_CLEAN,
	  { "[\\p{P}\\$\\+<=>\\^~\\|]+", RE_GPT2, "\\p{N}+", "[0-9][0-9][0-9]" } },
	{ "llama3|llama-v3|llama-bpe|falcon3", PRE_CLEAN | PRE_IGNORE_MERGES | PRE_ADD_BOS, { RE_LLAMA3 } },
	{ "dbrx|smaug-bpe", PRE_CLEAN, { RE_LLAMA3 } },
	{ "chatglm-bpe", PRE_CLEAN | PRE_NO_BOS, { RE_LLAMA3 } },
	{ "deepseek-llm", PRE_NO_CLEAN,
	  { "[\\r\\n]", RE_DEEPSEEK_LETTERS,
	    "[" WS "]?[!-/:-~\\x{FF01}-\\x{FF0F}\\x{FF1A}-\\x{FF5E}\\x{2018}-\\x{201F}\\x{3000}-\\x{3002}]+",
	    "[" WS "]+$", RE_CJK, "\\p{N}+" } },
	{ "deepseek-v3", PRE_NO_CLEAN,
	  { "\\p{N}{1,3}", "[\\x{4E00}-\\x{9FA5}\\x{3040}-\\x{309F}\\x{30A0}-\\x{30FF}]+",
	    "[!\"#$%&'()*+,\\-./:;<=>?@\\[\\\\\\]^_`{|}~][A-Za-z]+|[^\\r\\n\\p{L}\\p{P}\\p{S}]?[\\p{L}\\p{M}]+"
	    "| ?[\\p{P}\\p{S}]+[\\r\\n]*|[" WS "]*[\\r\\n]+|[" WS "]+(?![^" WS "])|[" WS "]+" } },
	{ "deepseek-coder", PRE_NO_CLEAN,
	  { "[\\r\\n]", "[" WS "]?\\p{L}+", "[" WS "]?\\p{P}+", RE_CJK, "\\p{N}" } },
	{ "falcon", PRE_CLEAN, { "[\\p{P}\\$\\+<=>\\^~\\|`]+", RE_GPT2, "[0-9][0-9][0-9]" } },
	{ "starcoder|refact|codeshell|exaone|minerva-7b", PRE_CLEAN, { "\\p{N}", RE_GPT2 } },
	{ "command-r|smollm", PRE_NO_CLEAN, { "\\p{N}", RE_GPT2 } },
	{ "gpt-2|phi-2|jina-es|jina-de|gigachat|jina-v1-en|jina-v2-es|jina-v2-de|jina-v2-code|"
	  "roberta-bpe|mpt|olmo|jais", PRE_CLEAN, { RE_GPT2 } },
	{ "qwen2|deepseek-r1-qwen", PRE_NO_CLEAN, { RE_QWEN2 } },
	{ "stablelm2|megrez", PRE_CLEAN, { RE_QWEN2 } },
	{ "poro-chat", PRE_NO_CLEAN, { RE_PORO } },
	{ "bloom|gpt3-finnish", PRE_CLEAN, { RE_PORO } },
	{ "viking", PRE_NO_CLEAN, { RE_PORO, "\\p{N}" } },
	{ "tekken", PRE_NO_CLEAN | PRE_IGNORE_MERGES | PRE_ADD_BOS,
	  { "[^\\r\\n\\p{L}\\p{N}]?[\\p{Lu}\\p{Lt}\\p{Lm}\\p{Lo}\\p{M}]*[\\p{Ll}\\p{Lm}\\p{Lo}\\p{M}]+"
	    "|[^\\r\\n\\p{L}\\p{N}]?[\\p{Lu}\\p{Lt}\\p{Lm}\\p{Lo}\\p{M}]+[\\p{Ll}\\p{Lm}\\p{Lo}\\p{M}]*"
	    "|\\p{N}| ?[^" WS "\\p{L}\\p{N}]+[\\r\\n/]*|[" WS "]*[\\r\\n]+|[" WS "]+(?![^" WS "])|[" WS "]+" } },
	{ "chameleon", PRE_NO_CLEAN | PRE_ADD_BOS,
	  { "<sentinel:[0-9]+>", "(IMGIMG)((A|B|C|D|E|F|G|H|I){1,4})Z", "([\\t\\n]|    |  )", "\\p{N}",
	    "[\\p{P}!-/:-@\\[-`{-~]", RE_GPT2 } },
};

static bool name_in_list(const char *list, const char *name)
{
	size_t n = strlen(name);
	for (const char *p = list; *p;) {
		const char *bar = strchr(p, '|');
		size_t len = bar ? (size_t)(bar - p) : strlen(p);
		if (len == n && memcmp(p, name, n) == 0)
			return true;
		if (!bar)
			break;
		p = bar + 1;
	}
	return false;
}

int vocab_pre_init(struct vocab *v, const char *file, char *err, size_t errlen)
{
	const struct pre_spec *spec = NULL;
	for (size_t i = 0; i < sizeof(pre_specs) / sizeof(pre_specs[0]) && !spec; i++)
		if (name_in_list(pre_specs[i].names, v->pre))
			spec = &pre_specs[i];
	if (!spec)
		return lt_seterr(err, errlen, LT_E_UNSUPPORTED, "%s: unknown pre-tokenizer '%s'", file,
				 v->pre);
	v->clean_spaces = !(spec->flags & PRE_NO_CLEAN);
	v->ignore_merges = spec->flags & PRE_IGNORE_MERGES;
	v->add_bos = spec->flags & PRE_ADD_BOS;
	if (spec->flags & PRE_NO_BOS)
		v->bos = VOCAB_TOKEN_NULL;
	for (int i = 0; i < VOCAB_MAX_RE && spec->re[i]; i++) {
		int code;
		PCRE2_SIZE at;
		v->re[i] = pcre2_compile((PCRE2_SPTR)spec->re[i], PCRE2_ZERO_TERMINATED,
					 PCRE2_UTF | PCRE2_UCP | PCRE2_DOLLAR_ENDONLY, &code, &at, NULL);
		if (!v->re[i]) {
			PCRE2_UCHAR msg[120];
			pcre2_get_error_message(code, msg, sizeof(msg));
			return lt_seterr(err, errlen, LT_E_UNSUPPORTED,
					 "%s: pre-tokenizer '%s' regex %d: %s at offset %zu",
					 file, v->pre, i, (const char *)msg, (size_t)at);
		}
		/* JIT is an optimisation only; the interpreter is the fallback. */
		pcre2_jit_compile(v->re[i], PCRE2_JIT_COMPLETE);
		v->n_re = i + 1;
	}
	return 0;
}

void vocab_pre_free(struct vocab *v)
{
	for (int i = 0; i < v->n_re; i++)
		pcre2_code_free(v->re[i]);
	v->n_re = 0;
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

/* A run of the text: [off, off+len), cut by the pre-tokenizer. */
struct span {
	uint32_t off, len;
};

struct spans {
	struct span *a;
	size_t n, cap;
};

static int spans_add(struct spans *s, size_t off, size_t len)
{
	if (!len)
		return 0;
	if (s->n == s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 64;
		struct span *a = realloc(s->a, cap * sizeof(*a));
		if (!a)
			return LT_E_NOMEM;
		s->a = a, s->cap = cap;
	}
	s->a[s->n++] = (struct span){ (uint32_t)off, (uint32_t)len };
	return 0;
}

/* Cuts every span of in by re into out: matches and the gaps between them
 * both become spans. Each span is matched on its own, so lookarounds stop at
 * its ends, as with llama.cpp's per-piece regex iteration. */
static int pre_split(const pcre2_code *re, pcre2_match_data *md, const char *s,
		     const struct spans *in, struct spans *out)
{
	out->n = 0;
	int rc = 0;
	for (size_t k = 0; k < in->n && !rc; k++) {
		const char *sub = s + in->a[k].off;
		size_t n = in->a[k].len, pos = 0, last = 0;
		while (pos < n && !rc) {
			int m = pcre2_match(re, (PCRE2_SPTR)sub, n, pos, PCRE2_NO_UTF_CHECK, md, NULL);
			if (m == PCRE2_ERROR_JIT_STACKLIMIT)
				m = pcre2_match(re, (PCRE2_SPTR)sub, n, pos, PCRE2_NO_UTF_CHECK | PCRE2_NO_JIT, md, NULL);
			if (m < 0)
				break; /* no match (or a limit hit): the rest stays one span */
			PCRE2_SIZE *ov = pcre2_get_ovector_pointer(md);
			size_t a = ov[0], b = ov[1];
			if (b == a) { /* empty match: step over one character */
				pos = a + vocab_utf8_len((uint8_t)sub[a]);
				continue;
			}
			if ((rc = spans_add(out, in->a[k].off + last, a - last)) == 0)
				rc = spans_add(out, in->a[k].off + a, b - a);
			pos = last = b;
		}
		if (!rc)
			rc = spans_add(out, in->a[k].off + last, n - last);
	}
	return rc;
}

static int bpe_fragment(const struct vocab *v, struct work *w, const char *text, size_t len,
			struct emit *e)
{
	char *s = malloc(3 * len + 1), *enc = NULL;
	struct spans sp[2] = { { 0 }, { 0 } };
	pcre2_match_data *md = NULL;
	int rc = LT_E_NOMEM;
	if (!s)
		return rc;
	size_t n = utf8_sanitize(text, len, s);
	if (n > UINT32_MAX || spans_add(&sp[0], 0, n))
		goto out;
	/* Room for every group of every pre-tokenizer regex. */
	if (!(md = pcre2_match_data_create(16, NULL)))
		goto out;
	int cur = 0;
	for (int i = 0; i < v->n_re; i++) {
		if (pre_split(v->re[i], md, s, &sp[cur], &sp[!cur]))
			goto out;
		cur = !cur;
	}
	size_t longest = 0;
	for (size_t i = 0; i < sp[cur].n; i++)
		if (sp[cur].a[i].len > longest)
			longest = sp[cur].a[i].len;
	if (!(enc = malloc(2 * longest + 1)))
		goto out;
	rc = 0;
	for (size_t i = 0; i < sp[cur].n && !rc; i++)
		rc = bpe_word(v, w, s + sp[cur].a[i].off, sp[cur].a[i].len, enc, e);
out:
	pcre2_match_data_free(md);
	free(sp[0].a);
	free(sp[1].a);
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
