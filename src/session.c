/* Session files: the format of one file (encoding, validation, the atomic
 * write) and the model fingerprint stored in it. The layout is documented
 * in session.h. Everything here works on a path or a buffer; the sessions
 * directory and names are session_store.c's, so the fuzzed decoder links
 * without them. */
#include "session.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "atomic_file.h"
#include "bytebuf.h"
#include "session_impl.h"
#include "utf8.h"

static const uint8_t session_magic[8] = { 'L', 'T', 'S', 'E', 'S', 'S', '\r', '\n' };

#define SESSION_HDR 24u
#define SESSION_SEC_HDR 24u
/* More sections than this means a damaged header. */
#define SESSION_MAX_SECTIONS 64u

/* ---- checksums ---- */

/* CRC-32 by nibbles: a 16-entry table is small enough to write down. */
static const uint32_t crc_nibble[16] = {
	0x00000000u, 0x1db71064u, 0x3b6e20c8u, 0x26d930acu, 0x76dc4190u, 0x6b6b51f4u,
	0x4db26158u, 0x5005713cu, 0xedb88320u, 0xf00f9344u, 0xd6d6a3e8u, 0xcb61b38cu,
	0x9b64c2b0u, 0x86d3d2d4u, 0xa00ae278u, 0xbdbdf21cu,
};

uint32_t session_crc32(uint32_t crc, const void *data, size_t len)
{
	const uint8_t *p = data;
	crc = ~crc;
	size_t i = 0;
	/* Long runs (KV rows) go a byte at a time through a 256-entry table
	 * built here from the nibble one: a few hundred operations, repaid
	 * many times over by a save's megabytes. */
	if (len >= 4096) {
		uint32_t t[256];
		for (int b = 0; b < 256; b++) {
			uint32_t c = (uint32_t)b;
			c = (c >> 4) ^ crc_nibble[c & 15];
			c = (c >> 4) ^ crc_nibble[c & 15];
			t[b] = c;
		}
		for (; i < len; i++)
			crc = (crc >> 8) ^ t[(crc ^ p[i]) & 0xff];
	}
	for (; i < len; i++) {
		crc ^= p[i];
		crc = (crc >> 4) ^ crc_nibble[crc & 15];
		crc = (crc >> 4) ^ crc_nibble[crc & 15];
	}
	return ~crc;
}

/* ---- encoding ---- */

/* Starts a section; returns where its header begins. */
static size_t wb_section_begin(struct bytebuf *b, const char tag[4])
{
	size_t at = b->len;
	bytebuf_put(b, tag, 4);
	bytebuf_u32(b, 0);
	bytebuf_u64(b, 0);
	bytebuf_u32(b, 0);
	bytebuf_u32(b, 0);
	return at;
}

/* Fills in the length and checksum of the section begun at `at`. */
static void wb_section_end(struct bytebuf *b, size_t at)
{
	if (b->oom)
		return;
	size_t start = at + SESSION_SEC_HDR;
	uint64_t len = b->len - start;
	bytebuf_patch_u32(b, at + 8, (uint32_t)len);
	bytebuf_patch_u32(b, at + 12, (uint32_t)(len >> 32));
	bytebuf_patch_u32(b, at + 16, session_crc32(0, b->p + start, (size_t)len));
}

void session_encode_samp(struct bytebuf *b, const struct session_data *d)
{
	const struct sampler_params *sp = &d->sampling;
	wb_f32(b, sp->temperature);
	bytebuf_u32(b, (uint32_t)sp->top_k);
	wb_f32(b, sp->top_p);
	wb_f32(b, sp->min_p);
	wb_f32(b, sp->typical_p);
	wb_f32(b, sp->repeat_penalty);
	wb_f32(b, sp->frequency_penalty);
	wb_f32(b, sp->presence_penalty);
	bytebuf_u32(b, (uint32_t)sp->repeat_last_n);
	bytebuf_u32(b, sp->seed);
	wb_str(b, sp->order);
	bytebuf_u32(b, (uint32_t)d->n_predict);
	bytebuf_u32(b, (uint32_t)d->n_stops);
	for (int i = 0; i < d->n_stops; i++)
		wb_str(b, d->stops[i]);
	/* Later fields go at the end: readers that predate them stop before. */
	wb_f32(b, sp->xtc_probability);
	wb_f32(b, sp->xtc_threshold);
}

int session_encode_v1(const struct session_data *d, uint8_t **buf, size_t *len, char *err,
		   size_t errlen)
{
	struct bytebuf b = { 0 };
	bytebuf_put(&b, session_magic, 8);
	bytebuf_u32(&b, 1);
	bytebuf_u32(&b, 7);
	bytebuf_u32(&b, 0);
	bytebuf_u32(&b, 0);
	if (!b.oom)
		bytebuf_patch_u32(&b, 20, session_crc32(0, b.p, 20));

	size_t s = wb_section_begin(&b, "META");
	bytebuf_u64(&b, d->fingerprint);
	bytebuf_u64(&b, d->model_size);
	wb_str(&b, d->model_name);
	wb_str(&b, d->template_name);
	wb_str(&b, d->system);
	wb_str(&b, d->in_prefix);
	wb_str(&b, d->postfix);
	bytebuf_u64(&b, (uint64_t)d->created);
	bytebuf_u64(&b, (uint64_t)d->updated);
	bytebuf_u32(&b, d->n_ctx);
	wb_section_end(&b, s);

	s = wb_section_begin(&b, "SAMP");
	session_encode_samp(&b, d);
	wb_section_end(&b, s);

	s = wb_section_begin(&b, "TURN");
	bytebuf_u32(&b, (uint32_t)d->n_turns);
	for (int i = 0; i < d->n_turns; i++) {
		const struct session_turn *t = &d->turns[i];
		bytebuf_u8(&b, t->role);
		bytebuf_u8(&b, t->flags);
		bytebuf_u16(&b, 0);
		bytebuf_u32(&b, (uint32_t)t->n_tokens);
		bytebuf_u64(&b, (uint64_t)t->t_start);
		bytebuf_u64(&b, (uint64_t)t->t_end);
		wb_str(&b, t->text);
	}
	wb_section_end(&b, s);

	/* Its own section, so files written before it existed still read and
	 * older readers skip it. */
	s = wb_section_begin(&b, "RSNG");
	bytebuf_u32(&b, d->thinking_off ? 1u : 0u);
	bytebuf_u32(&b, (uint32_t)d->n_turns);
	for (int i = 0; i < d->n_turns; i++) {
		const struct session_turn *t = &d->turns[i];
		bytebuf_u32(&b, (uint32_t)t->n_reasoning);
		wb_str(&b, t->reasoning ? t->reasoning : "");
	}
	wb_section_end(&b, s);

	s = wb_section_begin(&b, "CTXT");
	bytebuf_u32(&b, (uint32_t)d->n_head);
	bytebuf_u32(&b, (uint32_t)d->n_ids);
	for (int i = 0; i < d->n_ids; i++)
		bytebuf_u32(&b, (uint32_t)d->ids[i]);
	wb_section_end(&b, s);

	s = wb_section_begin(&b, "SMPS");
	bytebuf_put(&b, d->sampler_state, d->sampler_state_len);
	wb_section_end(&b, s);

	s = wb_section_begin(&b, "KVST");
	bytebuf_put(&b, d->kv, d->kv_len);
	wb_section_end(&b, s);

	if (b.oom) {
		free(b.p);
		return lt_seterr(err, errlen, LT_E_NOMEM, "out of memory encoding the session");
	}
	*buf = b.p;
	*len = b.len;
	return 0;
}

/* ---- decoding ---- */

/* Where the bytes come from: a buffer, or a file read on demand so that
 * listing sessions does not read their KV caches. */
struct src {
	const uint8_t *buf;
	int fd;
	uint64_t size;
};

/* Returns n bytes at off: a pointer into the buffer, or a malloc'd copy
 * in *owned. NULL on a read error or when memory runs out. */
static const uint8_t *src_get(const struct src *s, uint64_t off, size_t n, uint8_t **owned)
{
	*owned = NULL;
	if (s->buf)
		return s->buf + off;
	uint8_t *p = malloc(n ? n : 1);
	if (!p)
		return NULL;
	size_t got = 0;
	while (got < n) {
		ssize_t r = pread(s->fd, p + got, n - got, (off_t)(off + got));
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			free(p);
			return NULL;
		}
		got += (size_t)r;
	}
	*owned = p;
	return p;
}

void session_data_free(struct session_data *d)
{
	if (!d)
		return;
	free(d->model_name);
	free(d->template_name);
	free(d->system);
	free(d->in_prefix);
	free(d->postfix);
	for (int i = 0; i < d->n_stops; i++)
		free(d->stops[i]);
	free(d->stops);
	free(d->model_file);
	free(d->model_type);
	free(d->endpoint);
	for (int i = 0; i < d->n_turns; i++) {
		free(d->turns[i].text);
		free(d->turns[i].reasoning);
	}
	free(d->turns);
	free(d->ids);
	free(d->sampler_state);
	free(d->kv);
	for (int i = 0; i < d->n_spans; i++)
		free(d->spans[i].blob);
	free(d->spans);
	memset(d, 0, sizeof(*d));
}

static bool session_parse_meta(struct rd *r, struct session_data *d)
{
	d->fingerprint = rd_u64(r);
	d->model_size = rd_u64(r);
	d->model_name = rd_str(r);
	d->template_name = rd_str(r);
	d->system = rd_str(r);
	d->in_prefix = rd_str(r);
	d->postfix = rd_str(r);
	d->created = (int64_t)rd_u64(r);
	d->updated = (int64_t)rd_u64(r);
	d->n_ctx = rd_u32(r);
	return !r->bad && r->off == r->len;
}

bool session_ctx_consistent(const struct session_data *d)
{
	uint64_t sum = (uint64_t)d->n_head;
	bool seen_in = false;
	for (int i = 0; i < d->n_turns; i++) {
		bool in = d->turns[i].flags & 2;
		if (seen_in && !in)
			return false;
		seen_in |= in;
		if (in)
			sum += (uint64_t)d->turns[i].n_tokens;
	}
	return sum == (uint64_t)d->n_ids;
}

bool session_parse_samp(struct rd *r, struct session_data *d)
{
	struct sampler_params *sp = &d->sampling;
	*sp = sampler_params_default();
	sp->temperature = rd_f32(r);
	sp->top_k = (int32_t)rd_u32(r);
	sp->top_p = rd_f32(r);
	sp->min_p = rd_f32(r);
	sp->typical_p = rd_f32(r);
	sp->repeat_penalty = rd_f32(r);
	sp->frequency_penalty = rd_f32(r);
	sp->presence_penalty = rd_f32(r);
	sp->repeat_last_n = (int32_t)rd_u32(r);
	sp->seed = rd_u32(r);
	char *order = rd_str(r);
	if (order && strlen(order) <= SAMPLER_MAX_STEPS)
		memcpy(sp->order, order, strlen(order) + 1);
	else
		r->bad = true;
	free(order);
	d->n_predict = (int)rd_u32(r);
	uint32_t n = rd_u32(r);
	if (r->bad || n > (r->len - r->off) / 4)
		return false;
	d->stops = calloc(n ? n : 1, sizeof(char *));
	if (!d->stops)
		return false;
	for (uint32_t i = 0; i < n && !r->bad; i++) {
		d->stops[i] = rd_str(r);
		if (d->stops[i] && !d->stops[i][0])
			r->bad = true;
		d->n_stops = (int)i + 1;
	}
	/* XTC came later: a record without it keeps the defaults. */
	if (!r->bad && r->off < r->len) {
		sp->xtc_probability = rd_f32(r);
		sp->xtc_threshold = rd_f32(r);
	}
	char msg[8];
	return !r->bad && r->off == r->len && sampler_params_check(sp, msg, sizeof(msg)) == 0;
}

static bool session_parse_turns(struct rd *r, struct session_data *d)
{
	uint32_t n = rd_u32(r);
	/* Each turn needs at least 28 bytes, which bounds the allocation. */
	if (r->bad || n > (r->len - r->off) / 28)
		return false;
	d->turns = calloc(n ? n : 1, sizeof(*d->turns));
	if (!d->turns)
		return false;
	for (uint32_t i = 0; i < n && !r->bad; i++) {
		struct session_turn *t = &d->turns[i];
		d->n_turns = (int)i + 1;
		t->role = rd_u8(r);
		t->flags = rd_u8(r);
		rd_u16(r);
		uint32_t nt = rd_u32(r);
		t->t_start = (int64_t)rd_u64(r);
		t->t_end = (int64_t)rd_u64(r);
		t->text = rd_str(r);
		if (t->role > 1 || t->flags > 3 || nt > INT32_MAX)
			r->bad = true;
		t->n_tokens = (int)nt;
	}
	return !r->bad && r->off == r->len;
}

/* The reasoning of each turn, and whether thinking was switched off. */
static bool session_parse_reasoning(struct rd *r, struct session_data *d)
{
	uint32_t flags = rd_u32(r), n = rd_u32(r);
	if (r->bad || flags > 1 || n != (uint32_t)d->n_turns)
		return false;
	d->thinking_off = flags & 1;
	for (uint32_t i = 0; i < n && !r->bad; i++) {
		struct session_turn *t = &d->turns[i];
		uint32_t nr = rd_u32(r);
		free(t->reasoning);
		t->reasoning = rd_str(r);
		if (nr > INT32_MAX)
			r->bad = true;
		t->n_reasoning = (int)nr;
	}
	if (!r->bad && r->off == r->len)
		return true;
	/* A damaged section loses all of the reasoning, not half of it. */
	d->thinking_off = false;
	for (uint32_t i = 0; i < n; i++) {
		free(d->turns[i].reasoning);
		d->turns[i].reasoning = NULL;
		d->turns[i].n_reasoning = 0;
	}
	return false;
}

/* The context ids, checked against the turns they must add up to. */
static bool session_parse_ctx(struct rd *r, struct session_data *d)
{
	uint32_t n_head = rd_u32(r), n = rd_u32(r);
	if (r->bad || n > (r->len - r->off) / 4 || n_head > n || (r->len - r->off) != (size_t)n * 4)
		return false;
	d->ids = malloc((size_t)(n ? n : 1) * sizeof(int32_t));
	if (!d->ids)
		return false;
	for (uint32_t i = 0; i < n; i++) {
		d->ids[i] = (int32_t)rd_u32(r);
		if (d->ids[i] < 0)
			return false;
	}
	d->n_ids = (int)n;
	d->n_head = (int)n_head;
	return session_ctx_consistent(d);
}

/* Copies a payload into a malloc'd buffer. */
static bool session_copy_blob(const uint8_t *p, size_t n, void **out, size_t *out_len)
{
	*out = malloc(n ? n : 1);
	if (!*out)
		return false;
	memcpy(*out, p, n);
	*out_len = n;
	return true;
}

void session_append_warn(char *warn, size_t warnlen, const char *path, const char *what)
{
	if (!warn || !warnlen)
		return;
	size_t used = strlen(warn);
	snprintf(warn + used, warnlen - used, "%s%s: %s", used ? "; " : "", path, what);
}

/* Decodes from a buffer or file. light skips the SMPS and KVST payloads. */
static int session_decode_src(const struct src *s, bool light, const char *path,
			      struct session_data *d, char *warn, size_t warnlen, char *err,
			      size_t errlen)
{
	memset(d, 0, sizeof(*d));
	if (warn && warnlen)
		warn[0] = '\0';
	uint8_t *owned;
	if (s->buf && s->size >= 12 && !memcmp(s->buf, session_magic, 8) &&
	    s->buf[8] == SESSION_VERSION && !s->buf[9] && !s->buf[10] && !s->buf[11])
		return session_journal_decode(s->buf, (size_t)s->size, light, path, d, warn, warnlen,
					      err, errlen);
	if (s->size < SESSION_HDR)
		return lt_seterr(err, errlen, LT_E_FORMAT,
				 "%s: not a session file (only %" PRIu64 " bytes)", path, s->size);
	const uint8_t *h = src_get(s, 0, SESSION_HDR, &owned);
	if (!h)
		return lt_seterr(err, errlen, LT_E_IO, "%s: read failed", path);
	struct rd r = { .p = h, .len = SESSION_HDR };
	uint8_t magic[8];
	rd_take(&r, magic, 8);
	uint32_t version = rd_u32(&r), n_sec = rd_u32(&r);
	rd_u32(&r);
	uint32_t crc = rd_u32(&r);
#ifdef FUZZING_BUILD_MODE_UNSAFE_FOR_PRODUCTION
	/* Fuzzing: mutations reach the parsers behind the checksums. */
	(void)crc;
	bool crc_ok = true;
#else
	bool crc_ok = crc == session_crc32(0, h, 20);
#endif
	free(owned);
	if (memcmp(magic, session_magic, 8) != 0)
		return lt_seterr(err, errlen, LT_E_FORMAT, "%s: not a llamaterm session file (bad magic)",
				 path);
	if (!crc_ok)
		return lt_seterr(err, errlen, LT_E_FORMAT, "%s: header checksum mismatch", path);
	if (version != 1)
		return lt_seterr(err, errlen, LT_E_UNSUPPORTED,
				 "%s: session format version %u (this llamaterm reads 1 and %u)", path,
				 version, SESSION_VERSION);
	if (n_sec > SESSION_MAX_SECTIONS)
		return lt_seterr(err, errlen, LT_E_FORMAT, "%s: %u sections is not plausible", path,
				 n_sec);

	bool have_meta = false, have_samp = false, have_turn = false, have_rsng = false;
	uint64_t off = SESSION_HDR;
	int rc = 0;
	for (uint32_t i = 0; i < n_sec && rc == 0; i++) {
		if (s->size - off < SESSION_SEC_HDR) {
			session_append_warn(warn, warnlen, path, "file is truncated");
			break;
		}
		const uint8_t *sh = src_get(s, off, SESSION_SEC_HDR, &owned);
		if (!sh) {
			rc = lt_seterr(err, errlen, LT_E_IO, "%s: read failed", path);
			break;
		}
		char tag[5] = { 0 };
		memcpy(tag, sh, 4);
		struct rd hr = { .p = sh + 4, .len = SESSION_SEC_HDR - 4 };
		rd_u32(&hr);
		uint64_t len = rd_u64(&hr);
		uint32_t sec_crc = rd_u32(&hr);
		free(owned);
		for (int k = 0; k < 4; k++)
			if (tag[k] < 0x20 || tag[k] > 0x7e)
				tag[k] = '?';
		off += SESSION_SEC_HDR;
		if (len > s->size - off) {
			char what[96];
			snprintf(what, sizeof(what), "section %s is truncated", tag);
			session_append_warn(warn, warnlen, path, what);
			break;
		}
		bool heavy = !strcmp(tag, "SMPS") || !strcmp(tag, "KVST");
		bool known = heavy || !strcmp(tag, "META") || !strcmp(tag, "SAMP") ||
			     !strcmp(tag, "TURN") || !strcmp(tag, "CTXT") || !strcmp(tag, "RSNG");
		if (!known || (light && heavy)) {
			off += len;
			continue;
		}
		const uint8_t *p = src_get(s, off, (size_t)len, &owned);
		if (!p) {
			rc = lt_seterr(err, errlen, LT_E_IO, "%s: cannot read section %s (%" PRIu64
				       " bytes)", path, tag, len);
			break;
		}
		off += len;
#ifdef FUZZING_BUILD_MODE_UNSAFE_FOR_PRODUCTION
		(void)sec_crc;
		bool ok = true;
#else
		bool ok = session_crc32(0, p, (size_t)len) == sec_crc;
#endif
		struct rd pr = { .p = p, .len = (size_t)len };
		if (ok && !strcmp(tag, "META") && !have_meta)
			ok = have_meta = session_parse_meta(&pr, d);
		else if (ok && !strcmp(tag, "SAMP") && !have_samp)
			ok = have_samp = session_parse_samp(&pr, d);
		else if (ok && !strcmp(tag, "TURN") && !have_turn)
			ok = have_turn = session_parse_turns(&pr, d);
		else if (ok && !strcmp(tag, "RSNG") && have_turn && !have_rsng)
			ok = have_rsng = session_parse_reasoning(&pr, d);
		else if (ok && !strcmp(tag, "CTXT") && have_turn && !d->has_ctx)
			ok = d->has_ctx = session_parse_ctx(&pr, d);
		else if (ok && !strcmp(tag, "SMPS") && !d->has_sampler)
			ok = d->has_sampler = session_copy_blob(p, (size_t)len, &d->sampler_state,
								&d->sampler_state_len);
		else if (ok && !strcmp(tag, "KVST") && !d->has_kv)
			ok = d->has_kv = session_copy_blob(p, (size_t)len, &d->kv, &d->kv_len);
		free(owned);
		if (!ok) {
			char what[96];
			snprintf(what, sizeof(what), "section %s is damaged (checksum or contents)", tag);
			if (!strcmp(tag, "META") || !strcmp(tag, "SAMP") || !strcmp(tag, "TURN"))
				rc = lt_seterr(err, errlen, LT_E_FORMAT, "%s: %s", path, what);
			else
				session_append_warn(warn, warnlen, path, what);
		}
	}
	if (rc == 0 && !(have_meta && have_samp && have_turn))
		rc = lt_seterr(err, errlen, LT_E_FORMAT, "%s: truncated or damaged: the %s section is missing",
			       path, !have_meta ? "META" : !have_samp ? "SAMP" : "TURN");
	if (rc) {
		session_data_free(d);
		return rc;
	}
	if (!d->has_ctx) {
		free(d->ids);
		d->ids = NULL;
		d->n_ids = d->n_head = 0;
	}
	d->version = 1;
	d->kv_n = d->n_ids;
	/* Nothing of a version-1 file counts as live: its next save converts it. */
	d->valid_end = s->size;
	d->live_bytes = 0;
	return 0;
}

int session_decode(const uint8_t *buf, size_t len, const char *path, struct session_data *d,
		   char *warn, size_t warnlen, char *err, size_t errlen)
{
	struct src s = { .buf = buf, .fd = -1, .size = len };
	return session_decode_src(&s, false, path, d, warn, warnlen, err, errlen);
}

static int session_read_impl(const char *path, bool light, struct session_data *d, char *warn,
			     size_t warnlen, char *err, size_t errlen)
{
	memset(d, 0, sizeof(*d));
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return lt_seterr(err, errlen, errno == ENOENT ? LT_E_NOTFOUND : LT_E_IO, "%s: %s",
				 path, strerror(errno));
	struct stat st;
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return lt_seterr(err, errlen, LT_E_IO, "%s: not a regular file", path);
	}
	if ((uint64_t)st.st_size > SESSION_MAX_FILE) {
		close(fd);
		return lt_seterr(err, errlen, LT_E_FORMAT, "%s: too large for a session file", path);
	}
	/* Journals are replayed from a mapping (light reads never touch the KV
	 * records' pages); version-1 files are read section by section. */
	struct src s = { .buf = NULL, .fd = fd, .size = (uint64_t)st.st_size };
	void *map = MAP_FAILED;
	if (st.st_size > 0)
		map = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
	if (map != MAP_FAILED)
		s.buf = map;
	int rc = session_decode_src(&s, light, path, d, warn, warnlen, err, errlen);
	if (map != MAP_FAILED)
		munmap(map, (size_t)st.st_size);
	close(fd);
	if (rc == 0)
		d->file_size = (uint64_t)st.st_size;
	return rc;
}

int session_read_file(const char *path, struct session_data *d, char *warn, size_t warnlen,
		      char *err, size_t errlen)
{
	return session_read_impl(path, false, d, warn, warnlen, err, errlen);
}

int session_read_transcript(const char *path, struct session_data *d, char *warn,
			    size_t warnlen, char *err, size_t errlen)
{
	return session_read_impl(path, true, d, warn, warnlen, err, errlen);
}

/* ---- writing ---- */

int session_write_file(const char *path, const struct session_data *d, char *err, size_t errlen)
{
	uint8_t *buf;
	size_t len;
	int rc = session_encode(d, &buf, &len, err, errlen);
	if (rc)
		return rc;
	rc = atomic_file_save(path, 0600, buf, len, err, errlen);
	free(buf);
	return rc;
}


int session_fingerprint(const char *model_path, uint64_t header_len, uint64_t *out, char *err,
			size_t errlen)
{
	int fd = open(model_path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return lt_seterr(err, errlen, LT_E_IO, "%s: %s", model_path, strerror(errno));
	struct stat st;
	if (fstat(fd, &st) != 0) {
		close(fd);
		return lt_seterr(err, errlen, LT_E_IO, "%s: %s", model_path, strerror(errno));
	}
	uint64_t h = 0xcbf29ce484222325ull;
	const uint64_t prime = 0x100000001b3ull;
	uint64_t size = (uint64_t)st.st_size;
	for (int i = 0; i < 8; i++) {
		h ^= (uint8_t)(size >> (8 * i));
		h *= prime;
	}
	uint8_t buf[65536];
	uint64_t left = header_len < size ? header_len : size;
	while (left) {
		ssize_t r = read(fd, buf, left < sizeof(buf) ? (size_t)left : sizeof(buf));
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			close(fd);
			return lt_seterr(err, errlen, LT_E_IO, "%s: read failed", model_path);
		}
		for (ssize_t i = 0; i < r; i++) {
			h ^= buf[i];
			h *= prime;
		}
		left -= (uint64_t)r;
	}
	close(fd);
	*out = h;
	return 0;
}
