/* Session journals (format version 2, documented in session.h): the record
 * encoders, the whole-file encoder that compaction writes, and the replay
 * that reads a journal back into a session_data. The appending writer is
 * session_append.c. Nothing here needs a model: the KV payloads are opaque
 * blobs the engine checks when they are loaded. */
#include <inttypes.h>
#include <stdio.h>

#include "session_impl.h"

static const uint8_t journal_magic[8] = { 'L', 'T', 'S', 'E', 'S', 'S', '\r', '\n' };

/* ---- record encoding ---- */

size_t jrec_begin(struct bytebuf *b, const char type[4])
{
	size_t at = b->len;
	bytebuf_put(b, type, 4);
	bytebuf_u32(b, 0);
	return at;
}

void jrec_end(struct bytebuf *b, size_t at)
{
	if (b->oom)
		return;
	bytebuf_patch_u32(b, at + 4, (uint32_t)(b->len - at - SESSION_REC_HDR));
	bytebuf_u32(b, session_crc32(0, b->p + at, b->len - at));
}

void journal_header(struct bytebuf *b)
{
	bytebuf_put(b, journal_magic, 8);
	bytebuf_u32(b, SESSION_VERSION);
	if (!b->oom)
		bytebuf_u32(b, session_crc32(0, b->p + b->len - 12, 12));
}

void jenc_meta(struct bytebuf *b, const struct session_data *d)
{
	size_t at = jrec_begin(b, "META");
	bytebuf_u64(b, d->fingerprint);
	bytebuf_u64(b, d->model_size);
	wb_str(b, d->model_name);
	wb_str(b, d->template_name);
	wb_str(b, d->system);
	wb_str(b, d->in_prefix);
	wb_str(b, d->postfix);
	bytebuf_u64(b, (uint64_t)d->created);
	bytebuf_u32(b, d->n_ctx);
	bytebuf_u32(b, d->thinking_off ? 1u : 0u);
	/* Later fields go at the end: readers that predate them stop before. */
	wb_str(b, d->model_file);
	wb_str(b, d->model_type);
	/* Only a remote chat writes the endpoint: local files stay as they were. */
	if (d->endpoint && d->endpoint[0])
		wb_str(b, d->endpoint);
	jrec_end(b, at);
}

void jenc_samp(struct bytebuf *b, const struct session_data *d)
{
	size_t at = jrec_begin(b, "SAMP");
	session_encode_samp(b, d);
	jrec_end(b, at);
}

void jenc_turn(struct bytebuf *b, const struct session_data *d, int i)
{
	const struct session_turn *t = &d->turns[i];
	size_t at = jrec_begin(b, "TURN");
	bytebuf_u32(b, (uint32_t)i);
	bytebuf_u8(b, t->role);
	bytebuf_u8(b, t->flags);
	bytebuf_u16(b, 0);
	bytebuf_u32(b, (uint32_t)t->n_tokens);
	bytebuf_u64(b, (uint64_t)t->t_start);
	bytebuf_u64(b, (uint64_t)t->t_end);
	bytebuf_u32(b, (uint32_t)t->n_reasoning);
	wb_str(b, t->text);
	wb_str(b, t->reasoning ? t->reasoning : "");
	jrec_end(b, at);
}

void jenc_u32(struct bytebuf *b, const char type[4], uint32_t v)
{
	size_t at = jrec_begin(b, type);
	bytebuf_u32(b, v);
	jrec_end(b, at);
}

void jenc_ids(struct bytebuf *b, int keep, int n_head, const int32_t *ids, int n)
{
	size_t at = jrec_begin(b, "CIDS");
	bytebuf_u32(b, (uint32_t)keep);
	bytebuf_u32(b, (uint32_t)n_head);
	bytebuf_u32(b, (uint32_t)n);
	for (int i = 0; i < n; i++)
		bytebuf_u32(b, (uint32_t)ids[i]);
	jrec_end(b, at);
}

void jenc_span(struct bytebuf *b, int p0, int p1, const void *blob, size_t len)
{
	size_t at = jrec_begin(b, "KVSP");
	bytebuf_u32(b, (uint32_t)p0);
	bytebuf_u32(b, (uint32_t)p1);
	bytebuf_put(b, blob, len);
	jrec_end(b, at);
}

void jenc_blob(struct bytebuf *b, const char type[4], const void *blob, size_t len)
{
	size_t at = jrec_begin(b, type);
	bytebuf_put(b, blob, len);
	jrec_end(b, at);
}

void jenc_commit(struct bytebuf *b, const struct session_data *d)
{
	size_t at = jrec_begin(b, "COMT");
	bytebuf_u64(b, (uint64_t)d->updated);
	bytebuf_u32(b, (uint32_t)d->n_turns);
	jrec_end(b, at);
}

/* ---- sizes, for the live-byte count ---- */

static uint64_t str_bytes(const char *s)
{
	return 4 + (s ? strlen(s) : 0);
}

uint64_t journal_turn_bytes(const struct session_turn *t)
{
	return SESSION_REC_OVERHEAD + 32 + str_bytes(t->text) + str_bytes(t->reasoning);
}

uint64_t journal_live_bytes(const struct session_data *d, bool with_ids)
{
	uint64_t n = SESSION_JOURNAL_HDR;
	n += SESSION_REC_OVERHEAD + 28 + str_bytes(d->model_name) + str_bytes(d->template_name) +
	     str_bytes(d->system) + str_bytes(d->in_prefix) + str_bytes(d->postfix);
	n += SESSION_REC_OVERHEAD + 48 + str_bytes(d->sampling.order);
	for (int i = 0; i < d->n_stops; i++)
		n += str_bytes(d->stops[i]);
	for (int i = 0; i < d->n_turns; i++)
		n += journal_turn_bytes(&d->turns[i]);
	if (with_ids)
		n += SESSION_REC_OVERHEAD + 12 + 4 * (uint64_t)d->n_ids;
	if (d->has_sampler)
		n += SESSION_REC_OVERHEAD + d->sampler_state_len;
	return n + SESSION_REC_OVERHEAD + 12;
}

uint64_t journal_span_live(int p0, int p1, int p_end, uint64_t rec_bytes)
{
	if (p_end <= p0 || p1 <= p0)
		return 0;
	return rec_bytes * (uint64_t)(p_end - p0) / (uint64_t)(p1 - p0);
}

/* ---- the whole file ---- */

int session_encode(const struct session_data *d, uint8_t **buf, size_t *len, char *err,
		   size_t errlen)
{
	for (int i = 0; d->has_kv && i < d->n_spans; i++)
		if (!d->spans[i].blob)
			return lt_seterr(err, errlen, LT_E_INVAL,
					 "a transcript-only read cannot be written back");
	struct bytebuf b = { 0 };
	journal_header(&b);
	jenc_meta(&b, d);
	jenc_samp(&b, d);
	for (int i = 0; i < d->n_turns; i++)
		jenc_turn(&b, d, i);
	if (d->has_ctx)
		jenc_ids(&b, 0, d->n_head, d->ids, d->n_ids);
	if (d->has_ctx && d->has_kv) {
		int end = 0;
		if (d->kv) {
			size_t at = jrec_begin(&b, "KIMG");
			bytebuf_u32(&b, (uint32_t)d->kv_n);
			bytebuf_put(&b, d->kv, d->kv_len);
			jrec_end(&b, at);
			end = d->kv_n;
		}
		for (int i = 0; i < d->n_spans; i++) {
			const struct session_kv_span *s = &d->spans[i];
			jenc_span(&b, s->p0, s->p1, s->blob, s->len);
			end = s->p1;
		}
		if (end != d->n_ids)
			jenc_u32(&b, "KVTR", (uint32_t)d->n_ids);
	}
	if (d->has_sampler)
		jenc_blob(&b, "SMPS", d->sampler_state, d->sampler_state_len);
	jenc_commit(&b, d);
	if (b.oom) {
		free(b.p);
		return lt_seterr(err, errlen, LT_E_NOMEM, "out of memory encoding the session");
	}
	*buf = b.p;
	*len = b.len;
	return 0;
}

/* ---- replay ---- */

static const char journal_types[][5] = { "META", "SAMP", "TURN", "TSET", "TTRN", "CIDS",
					 "KVSP", "KVTR", "KIMG", "SMPS", "COMT" };

static bool journal_known(const uint8_t *t)
{
	for (size_t i = 0; i < sizeof(journal_types) / sizeof(journal_types[0]); i++)
		if (!memcmp(t, journal_types[i], 4))
			return true;
	return false;
}

static bool journal_heavy(const uint8_t *t)
{
	return !memcmp(t, "KVSP", 4) || !memcmp(t, "KIMG", 4) || !memcmp(t, "SMPS", 4);
}

static uint32_t le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* Whether a whole, intact record starts at off. Light reads take the KV
 * and sampler payloads on trust (their checksums would read every page).
 * Fuzzing builds skip the checksum so mutations reach every parser. */
static bool journal_record_ok(const uint8_t *buf, size_t len, size_t off, bool light,
			      bool need_known)
{
	if (len - off < SESSION_REC_OVERHEAD)
		return false;
	for (int k = 0; k < 4; k++)
		if (buf[off + k] < 0x20 || buf[off + k] > 0x7e)
			return false;
	if (need_known && !journal_known(buf + off))
		return false;
	uint32_t n = le32(buf + off + 4);
	if (n > SESSION_MAX_RECORD || n > len - off - SESSION_REC_OVERHEAD)
		return false;
#ifdef FUZZING_BUILD_MODE_UNSAFE_FOR_PRODUCTION
	(void)light;
	return true;
#else
	if (light && journal_heavy(buf + off))
		return true;
	return session_crc32(0, buf + off, SESSION_REC_HDR + n) ==
	       le32(buf + off + SESSION_REC_HDR + n);
#endif
}

struct replay {
	struct session_data *d;
	bool light;
	int cap_turns, cap_ids, cap_spans;
	int n_kv;          /* positions the KV records cover */
	bool ids_bad;      /* a CIDS record was lost: ids are unknown until one restarts them */
	bool kv_bad;       /* the same for the KV records */
	bool have_meta, have_samp;
	uint64_t img_bytes; /* the KIMG record, for the live count */
	int img_n;
	bool oom;
};

static void replay_drop_turns(struct session_data *d, int n)
{
	while (d->n_turns > n) {
		struct session_turn *t = &d->turns[--d->n_turns];
		free(t->text);
		free(t->reasoning);
	}
}

/* The KV records keep only their first n positions. */
static void replay_kv_truncate(struct replay *r, int n)
{
	struct session_data *d = r->d;
	while (d->n_spans && d->spans[d->n_spans - 1].p0 >= n) {
		struct session_kv_span *s = &d->spans[--d->n_spans];
		free(s->blob);
	}
	if (d->n_spans && d->spans[d->n_spans - 1].p_end > n)
		d->spans[d->n_spans - 1].p_end = n;
	if (d->kv_n > n)
		d->kv_n = n;
	if (n == 0 && (d->kv || r->img_n)) {
		free(d->kv);
		d->kv = NULL;
		d->kv_len = 0;
		r->img_n = 0;
		r->img_bytes = 0;
	}
	if (r->n_kv > n)
		r->n_kv = n;
}

static bool replay_meta(struct replay *r, struct rd *p)
{
	struct session_data t = { 0 };
	t.fingerprint = rd_u64(p);
	t.model_size = rd_u64(p);
	t.model_name = rd_str(p);
	t.template_name = rd_str(p);
	t.system = rd_str(p);
	t.in_prefix = rd_str(p);
	t.postfix = rd_str(p);
	t.created = (int64_t)rd_u64(p);
	t.n_ctx = rd_u32(p);
	uint32_t flags = rd_u32(p);
	/* The model file's name and type came later; records without them
	 * end here. */
	if (!p->bad && p->off < p->len) {
		t.model_file = rd_str(p);
		t.model_type = rd_str(p);
	}
	if (!p->bad && p->off < p->len)
		t.endpoint = rd_str(p);
	if (p->bad || p->off != p->len || flags > 1) {
		session_data_free(&t);
		return false;
	}
	struct session_data *d = r->d;
	free(d->model_name);
	free(d->template_name);
	free(d->system);
	free(d->in_prefix);
	free(d->postfix);
	d->fingerprint = t.fingerprint;
	d->model_size = t.model_size;
	d->model_name = t.model_name;
	free(d->model_file);
	free(d->model_type);
	d->model_file = t.model_file;
	d->model_type = t.model_type;
	free(d->endpoint);
	d->endpoint = t.endpoint;
	d->template_name = t.template_name;
	d->system = t.system;
	d->in_prefix = t.in_prefix;
	d->postfix = t.postfix;
	d->created = t.created;
	d->n_ctx = t.n_ctx;
	d->thinking_off = flags & 1;
	return r->have_meta = true;
}

static bool replay_samp(struct replay *r, struct rd *p)
{
	struct session_data t = { 0 };
	bool ok = session_parse_samp(p, &t);
	if (!ok) {
		session_data_free(&t);
		return false;
	}
	struct session_data *d = r->d;
	for (int i = 0; i < d->n_stops; i++)
		free(d->stops[i]);
	free(d->stops);
	d->sampling = t.sampling;
	d->n_predict = t.n_predict;
	d->stops = t.stops;
	d->n_stops = t.n_stops;
	return r->have_samp = true;
}

static bool replay_turn(struct replay *r, struct rd *p)
{
	struct session_data *d = r->d;
	struct session_turn t = { 0 };
	uint32_t index = rd_u32(p);
	t.role = rd_u8(p);
	t.flags = rd_u8(p);
	rd_u16(p);
	uint32_t nt = rd_u32(p);
	t.t_start = (int64_t)rd_u64(p);
	t.t_end = (int64_t)rd_u64(p);
	uint32_t nr = rd_u32(p);
	t.text = rd_str(p);
	t.reasoning = rd_str(p);
	if (p->bad || p->off != p->len || t.role > 1 || t.flags > 3 || nt > INT32_MAX ||
	    nr > INT32_MAX || !session_grow((void **)&d->turns, &r->cap_turns, d->n_turns + 1, sizeof(t))) {
		free(t.text);
		free(t.reasoning);
		return false;
	}
	t.n_tokens = (int)nt;
	t.n_reasoning = (int)nr;
	/* A gap (a lost TURN record) keeps the turns there are: the new one
	 * follows them, and the context no longer adds up, so it is rebuilt. */
	if (index < (uint32_t)d->n_turns)
		replay_drop_turns(d, (int)index);
	d->turns[d->n_turns++] = t;
	return true;
}

static bool replay_tset(struct replay *r, struct rd *p)
{
	struct session_data *d = r->d;
	uint32_t n = rd_u32(p);
	if (p->bad || n > (p->len - p->off) / 12 || p->len - p->off != (size_t)n * 12)
		return false;
	for (uint32_t i = 0; i < n; i++) {
		uint32_t index = rd_u32(p);
		uint8_t flags = rd_u8(p);
		rd_u8(p);
		rd_u16(p);
		uint32_t nt = rd_u32(p);
		if (flags > 3 || nt > INT32_MAX)
			return false;
		if (index < (uint32_t)d->n_turns) {
			d->turns[index].flags = flags;
			d->turns[index].n_tokens = (int)nt;
		}
	}
	return true;
}

static bool replay_ids(struct replay *r, struct rd *p)
{
	struct session_data *d = r->d;
	uint32_t keep = rd_u32(p), n_head = rd_u32(p), n = rd_u32(p);
	if (p->bad || n > (p->len - p->off) / 4 || p->len - p->off != (size_t)n * 4 ||
	    (uint64_t)keep + n > INT32_MAX || n_head > keep + n)
		return false;
	if (keep > (uint32_t)d->n_ids || (r->ids_bad && keep > 0)) {
		r->ids_bad = true;
		return true;
	}
	if (!session_grow((void **)&d->ids, &r->cap_ids, (int)(keep + n), sizeof(int32_t)))
		return false;
	for (uint32_t i = 0; i < n; i++) {
		int32_t id = (int32_t)rd_u32(p);
		if (id < 0)
			return false;
		d->ids[keep + i] = id;
	}
	d->n_ids = (int)(keep + n);
	d->n_head = (int)n_head;
	r->ids_bad = false;
	return true;
}

static bool replay_span(struct replay *r, struct rd *p, uint64_t rec_bytes)
{
	struct session_data *d = r->d;
	uint32_t p0 = rd_u32(p), p1 = rd_u32(p);
	if (p->bad || p0 > p1 || p1 > INT32_MAX)
		return false;
	if (p0 > (uint32_t)r->n_kv || (r->kv_bad && p0 > 0)) {
		r->kv_bad = true;
		return true;
	}
	replay_kv_truncate(r, (int)p0);
	if (!session_grow((void **)&d->spans, &r->cap_spans, d->n_spans + 1, sizeof(*d->spans)))
		return false;
	struct session_kv_span s = { .p0 = (int)p0, .p1 = (int)p1, .p_end = (int)p1,
				     .len = (size_t)rec_bytes };
	if (!r->light) {
		s.len = p->len - p->off;
		s.blob = malloc(s.len ? s.len : 1);
		if (!s.blob) {
			r->oom = true;
			return false;
		}
		memcpy(s.blob, p->p + p->off, s.len);
	}
	d->spans[d->n_spans++] = s;
	r->n_kv = (int)p1;
	r->kv_bad = false;
	return true;
}

static bool replay_image(struct replay *r, struct rd *p, uint64_t rec_bytes)
{
	struct session_data *d = r->d;
	uint32_t n = rd_u32(p);
	if (p->bad || n > INT32_MAX)
		return false;
	replay_kv_truncate(r, 0);
	if (!r->light) {
		d->kv_len = p->len - p->off;
		d->kv = malloc(d->kv_len ? d->kv_len : 1);
		if (!d->kv) {
			r->oom = true;
			return false;
		}
		memcpy(d->kv, p->p + p->off, d->kv_len);
	}
	d->kv_n = r->img_n = r->n_kv = (int)n;
	r->img_bytes = rec_bytes;
	r->kv_bad = false;
	return true;
}

static bool replay_blob(struct replay *r, struct rd *p)
{
	struct session_data *d = r->d;
	free(d->sampler_state);
	d->sampler_state = NULL;
	d->sampler_state_len = p->len;
	d->has_sampler = true;
	if (r->light)
		return true;
	d->sampler_state = malloc(p->len ? p->len : 1);
	if (!d->sampler_state) {
		r->oom = true;
		d->has_sampler = false;
		return false;
	}
	memcpy(d->sampler_state, p->p, p->len);
	return true;
}

/* Applies one intact record; false when its contents are not valid. */
static bool replay_record(struct replay *r, const uint8_t *type, const uint8_t *payload,
			  uint32_t n)
{
	struct rd p = { .p = payload, .len = n };
	uint64_t rec = (uint64_t)n + SESSION_REC_OVERHEAD;
	if (!memcmp(type, "META", 4))
		return replay_meta(r, &p);
	if (!memcmp(type, "SAMP", 4))
		return replay_samp(r, &p);
	if (!memcmp(type, "TURN", 4))
		return replay_turn(r, &p);
	if (!memcmp(type, "TSET", 4))
		return replay_tset(r, &p);
	if (!memcmp(type, "TTRN", 4)) {
		uint32_t k = rd_u32(&p);
		if (p.bad || p.off != p.len)
			return false;
		if (k < (uint32_t)r->d->n_turns)
			replay_drop_turns(r->d, (int)k);
		return true;
	}
	if (!memcmp(type, "CIDS", 4))
		return replay_ids(r, &p);
	if (!memcmp(type, "KVSP", 4))
		return replay_span(r, &p, rec);
	if (!memcmp(type, "KVTR", 4)) {
		uint32_t k = rd_u32(&p);
		if (p.bad || p.off != p.len)
			return false;
		if (k <= (uint32_t)r->n_kv)
			replay_kv_truncate(r, (int)k);
		else
			r->kv_bad = true;
		return true;
	}
	if (!memcmp(type, "KIMG", 4))
		return replay_image(r, &p, rec);
	if (!memcmp(type, "SMPS", 4))
		return replay_blob(r, &p);
	if (!memcmp(type, "COMT", 4)) {
		r->d->updated = (int64_t)rd_u64(&p);
		rd_u32(&p);
		return !p.bad && p.off == p.len;
	}
	return true; /* a newer record type: skipped */
}

int session_journal_decode(const uint8_t *buf, size_t len, bool light, const char *path,
			   struct session_data *d, char *warn, size_t warnlen, char *err,
			   size_t errlen)
{
	memset(d, 0, sizeof(*d));
	if (warn && warnlen)
		warn[0] = '\0';
	if (len < SESSION_JOURNAL_HDR || memcmp(buf, journal_magic, 8) ||
	    le32(buf + 8) != SESSION_VERSION)
		return lt_seterr(err, errlen, LT_E_FORMAT, "%s: not a session journal", path);
#ifndef FUZZING_BUILD_MODE_UNSAFE_FOR_PRODUCTION
	if (le32(buf + 12) != session_crc32(0, buf, 12))
		return lt_seterr(err, errlen, LT_E_FORMAT, "%s: header checksum mismatch", path);
#endif
	/* Pass 1: the intact records and where the last complete save ends. */
	size_t *offs = NULL;
	int n_recs = 0, cap_recs = 0, n_done = 0;
	size_t off = SESSION_JOURNAL_HDR, valid_end = SESSION_JOURNAL_HDR;
	size_t damaged = 0, first_damaged = 0;
	while (off < len) {
		if (!journal_record_ok(buf, len, off, light, false)) {
			/* A damaged record in the middle is skipped when an intact one
			 * follows it; otherwise this is the torn end of the file. */
			size_t q = off + 1;
			/* Candidates are checked in full even in light reads: KV
			 * rows could hold a record type's four bytes. */
			while (q < len && !journal_record_ok(buf, len, q, false, true))
				q++;
			if (q >= len)
				break;
			if (!damaged++)
				first_damaged = off;
			off = q;
			continue;
		}
		if (!session_grow((void **)&offs, &cap_recs, n_recs + 1, sizeof(*offs))) {
			free(offs);
			return lt_seterr(err, errlen, LT_E_NOMEM, "%s: out of memory", path);
		}
		offs[n_recs++] = off;
		off += SESSION_REC_OVERHEAD + le32(buf + off + 4);
		if (!memcmp(buf + offs[n_recs - 1], "COMT", 4)) {
			n_done = n_recs;
			valid_end = off;
		}
	}
	if (n_done == 0) {
		free(offs);
		return lt_seterr(err, errlen, LT_E_FORMAT, "%s: truncated or damaged: no complete save",
				 path);
	}
	/* Pass 2: the records of the complete saves, in order. */
	struct replay r = { .d = d, .light = light };
	int bad_contents = 0;
	for (int i = 0; i < n_done && !r.oom; i++) {
		const uint8_t *rec = buf + offs[i];
		uint32_t n = le32(rec + 4);
		if (!replay_record(&r, rec, rec + SESSION_REC_HDR, n)) {
			if (!bad_contents++ && !damaged)
				first_damaged = offs[i];
			if (!memcmp(rec, "CIDS", 4))
				r.ids_bad = true;
			if (!memcmp(rec, "KVSP", 4) || !memcmp(rec, "KIMG", 4))
				r.kv_bad = true;
		}
	}
	free(offs);
	if (r.oom) {
		session_data_free(d);
		return lt_seterr(err, errlen, LT_E_NOMEM, "%s: out of memory", path);
	}
	if (!r.have_meta || !r.have_samp) {
		session_data_free(d);
		return lt_seterr(err, errlen, LT_E_FORMAT,
				 "%s: truncated or damaged: the %s record is missing", path,
				 !r.have_meta ? "META" : "SAMP");
	}
	if (damaged || bad_contents) {
		char what[160];
		snprintf(what, sizeof(what), "%zu damaged record%s skipped (the first at byte %zu)",
			 damaged + (size_t)bad_contents, damaged + (size_t)bad_contents == 1 ? "" : "s",
			 first_damaged);
		session_append_warn(warn, warnlen, path, what);
	}
	if (valid_end < len) {
		char what[160];
		snprintf(what, sizeof(what),
			 "the last save was incomplete (%zu bytes at the end ignored)",
			 len - valid_end);
		session_append_warn(warn, warnlen, path, what);
	}
	d->has_ctx = !r.ids_bad && d->n_ids > 0 && session_ctx_consistent(d);
	if (!d->has_ctx) {
		free(d->ids);
		d->ids = NULL;
		d->n_ids = d->n_head = 0;
	}
	d->has_kv = d->has_ctx && !r.kv_bad && r.n_kv == d->n_ids && (d->kv || d->n_spans);
	d->version = SESSION_VERSION;
	d->valid_end = valid_end;
	uint64_t live = journal_live_bytes(d, d->has_ctx);
	if (d->has_kv) {
		live += journal_span_live(0, r.img_n, d->kv_n, r.img_bytes);
		for (int i = 0; i < d->n_spans; i++) {
			const struct session_kv_span *s = &d->spans[i];
			uint64_t rec = light ? s->len : s->len + 8 + SESSION_REC_OVERHEAD;
			live += journal_span_live(s->p0, s->p1, s->p_end, rec);
		}
	}
	d->live_bytes = live < valid_end ? live : valid_end;
	return 0;
}
