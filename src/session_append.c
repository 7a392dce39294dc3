/* The session journal's writer (session_journal.h): appends what changed
 * since the last save, compacts when dead bytes outweigh live ones. */
#include "session_journal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "atomic_file.h"
#include "session_impl.h"

/* Most bytes of KV rows one KVSP record holds: a turn or a compaction with
 * more goes in several (a record's length is a u32), and a compaction holds
 * no more than one in memory at a time. */
#define SESSION_SPAN_CHUNK ((size_t)256 << 20)

/* What the file holds of a turn: its immutable part as a hash, and the
 * two fields a context shift changes in place (TSET). */
struct jturn {
	uint64_t hash;
	uint8_t flags;
	int n_tokens;
};

/* One KV record of the file: positions p0..p1, of which p0..p_end live. */
struct jkv {
	int p0, p1, p_end;
	uint64_t bytes;
};

struct session_journal {
	char *path;
	int lock_fd;             /* holds the flock on the file, or -1 */
	bool fresh;              /* the next save writes the file whole */
	uint64_t file_size;      /* where the next append goes */
	uint64_t meta_hash, samp_hash, smps_hash;
	bool has_smps;
	struct jturn *turns;
	int n_turns, cap_turns;
	int32_t *ids;            /* the context ids the file holds */
	int n_ids, cap_ids, n_head;
	bool has_ids;
	struct jkv *kv;          /* its KV records, in order */
	int n_kv_items, cap_kv;
	int n_kv;                /* the positions they cover */
	size_t chunk;            /* most bytes of KV rows per KVSP record */
};

/* ---- hashes of what was written ---- */

static uint64_t fnv(uint64_t h, const void *p, size_t n)
{
	const uint8_t *b = p;
	for (size_t i = 0; i < n; i++) {
		h ^= b[i];
		h *= 0x100000001b3ull;
	}
	return h;
}

#define FNV0 0xcbf29ce484222325ull

/* The hash of a record as the encoder writes it. */
static uint64_t rec_hash(void (*enc)(struct bytebuf *, const struct session_data *),
			 const struct session_data *d)
{
	struct bytebuf b = { 0 };
	enc(&b, d);
	uint64_t h = b.oom ? 0 : fnv(FNV0, b.p, b.len);
	free(b.p);
	return h;
}

static uint64_t turn_hash(const struct session_turn *t)
{
	uint64_t h = fnv(FNV0, &t->role, 1);
	h = fnv(h, &t->t_start, sizeof(t->t_start));
	h = fnv(h, &t->t_end, sizeof(t->t_end));
	h = fnv(h, &t->n_reasoning, sizeof(t->n_reasoning));
	h = fnv(h, t->text, t->text ? strlen(t->text) + 1 : 0);
	return fnv(h, t->reasoning ? t->reasoning : "", t->reasoning ? strlen(t->reasoning) + 1 : 1);
}

/* ---- what the file holds ---- */

static bool set_turns(struct session_journal *j, const struct session_data *d)
{
	if (!session_grow((void **)&j->turns, &j->cap_turns, d->n_turns, sizeof(*j->turns)))
		return false;
	for (int i = 0; i < d->n_turns; i++)
		j->turns[i] = (struct jturn){ turn_hash(&d->turns[i]), d->turns[i].flags,
					      d->turns[i].n_tokens };
	j->n_turns = d->n_turns;
	return true;
}

static bool set_ids(struct session_journal *j, const struct session_data *d, bool has)
{
	j->has_ids = has;
	j->n_ids = has ? d->n_ids : 0;
	j->n_head = has ? d->n_head : 0;
	if (!has)
		return true;
	if (!session_grow((void **)&j->ids, &j->cap_ids, d->n_ids, sizeof(int32_t)))
		return false;
	memcpy(j->ids, d->ids, (size_t)d->n_ids * sizeof(int32_t));
	return true;
}

static void kv_truncate(struct session_journal *j, int n)
{
	while (j->n_kv_items && j->kv[j->n_kv_items - 1].p0 >= n)
		j->n_kv_items--;
	if (j->n_kv_items && j->kv[j->n_kv_items - 1].p_end > n)
		j->kv[j->n_kv_items - 1].p_end = n;
	if (j->n_kv > n)
		j->n_kv = n;
}

static bool kv_push(struct session_journal *j, int p0, int p1, uint64_t bytes)
{
	kv_truncate(j, p0);
	if (!session_grow((void **)&j->kv, &j->cap_kv, j->n_kv_items + 1, sizeof(*j->kv)))
		return false;
	j->kv[j->n_kv_items++] = (struct jkv){ p0, p1, p1, bytes };
	j->n_kv = p1;
	return true;
}

/* Takes d (as read from the file, or as just written whole) as the file's
 * state. */
static int journal_take(struct session_journal *j, const struct session_data *d)
{
	j->meta_hash = rec_hash(jenc_meta, d);
	j->samp_hash = rec_hash(jenc_samp, d);
	j->has_smps = d->has_sampler && d->sampler_state;
	j->smps_hash = j->has_smps ? fnv(FNV0, d->sampler_state, d->sampler_state_len) : 0;
	j->n_kv_items = 0;
	j->n_kv = 0;
	bool ok = set_turns(j, d) && set_ids(j, d, d->has_ctx);
	if (ok && d->has_kv) {
		if (d->kv)
			ok = kv_push(j, 0, d->kv_n, d->kv_len + 16);
		for (int i = 0; ok && i < d->n_spans; i++) {
			const struct session_kv_span *s = &d->spans[i];
			ok = kv_push(j, s->p0, s->p1, s->blob ? s->len + 20 : s->len);
			j->kv[j->n_kv_items - 1].p_end = s->p_end;
			j->n_kv = s->p_end;
		}
		kv_truncate(j, d->n_ids);
	}
	j->file_size = d->valid_end;
	return ok ? 0 : LT_E_NOMEM;
}

static uint64_t journal_live(const struct session_journal *j, const struct session_data *d)
{
	uint64_t live = journal_live_bytes(d, j->has_ids);
	for (int i = 0; i < j->n_kv_items; i++)
		live += journal_span_live(j->kv[i].p0, j->kv[i].p1, j->kv[i].p_end, j->kv[i].bytes);
	return live;
}

/* Takes an exclusive flock on the file, so a second llamaterm cannot
 * append to a session this one has open (its appends would land on ours).
 * Taken again on the new file after each compaction, which replaces the
 * inode. A file system without locks goes without. */
static int journal_lock(struct session_journal *j, char *err, size_t errlen)
{
	int fd = open(j->path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT ? 0 : lt_seterr(err, errlen, LT_E_IO, "%s: %s", j->path,
						       strerror(errno));
	if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
		int e = errno;
		close(fd);
		if (e == EWOULDBLOCK)
			return lt_seterr(err, errlen, LT_E_IO,
					 "%s: the session is open in another llamaterm", j->path);
		return 0;
	}
	if (j->lock_fd >= 0)
		close(j->lock_fd);
	j->lock_fd = fd;
	return 0;
}

int session_journal_reset(struct session_journal *j, const struct session_data *on_disk)
{
	j->fresh = !on_disk || on_disk->version != SESSION_VERSION;
	if (!j->fresh && journal_take(j, on_disk) != 0) {
		j->fresh = true;
		return LT_E_NOMEM;
	}
	return 0;
}

int session_journal_new(struct session_journal **out, const char *path,
			const struct session_data *on_disk, char *err, size_t errlen)
{
	*out = NULL;
	struct session_journal *j = calloc(1, sizeof(*j));
	if (!j || !(j->path = strdup(path))) {
		free(j);
		return lt_seterr(err, errlen, LT_E_NOMEM, "out of memory");
	}
	j->lock_fd = -1;
	j->chunk = SESSION_SPAN_CHUNK;
	int rc = journal_lock(j, err, errlen);
	if (rc == 0 && session_journal_reset(j, on_disk) != 0)
		rc = lt_seterr(err, errlen, LT_E_NOMEM, "out of memory");
	if (rc) {
		session_journal_free(j);
		return rc;
	}
	*out = j;
	return 0;
}

void session_journal_free(struct session_journal *j)
{
	if (!j)
		return;
	if (j->lock_fd >= 0)
		close(j->lock_fd);
	free(j->path);
	free(j->turns);
	free(j->ids);
	free(j->kv);
	free(j);
}

void session_journal_set_chunk(struct session_journal *j, size_t bytes)
{
	j->chunk = bytes ? bytes : SESSION_SPAN_CHUNK;
}

const char *session_journal_path(const struct session_journal *j)
{
	return j->path;
}

/* ---- writing ---- */

/* Takes the span of positions [q0, q1) (the engine's blob, len bytes). */
typedef int (*span_sink)(void *ud, int q0, int q1, const void *blob, size_t len);

/* Hands the KV rows of [p0, n_past) of ctx to sink, cut into spans of at
 * most chunk bytes; in one span when the cache cannot give earlier rows
 * alone (the ring of a sliding-window layer). */
static int each_span(const struct ctx *ctx, int p0, size_t chunk, span_sink sink, void *ud)
{
	const int n = ctx_n_past(ctx);
	int step = n - p0;
	size_t all = ctx_kv_span_size(ctx, p0, n);
	if (all > chunk) {
		step = (int)(chunk / (all / (size_t)(n - p0) + 1));
		if (step < 1)
			step = 1;
		if (ctx_kv_span_size(ctx, p0, p0 + step) == 0)
			step = n - p0;
	}
	void *blob = NULL;
	size_t cap = 0;
	int rc = 0;
	for (int q = p0; rc == 0 && q < n; q += step) {
		int q1 = n - q > step ? q + step : n;
		size_t len = ctx_kv_span_size(ctx, q, q1);
		if (len == 0 || len > SESSION_MAX_RECORD - 8) {
			rc = LT_E_RANGE;
			break;
		}
		if (len > cap) {
			free(blob);
			cap = len;
			if (!(blob = malloc(cap))) {
				rc = LT_E_NOMEM;
				break;
			}
		}
		rc = ctx_kv_span_save(ctx, q, q1, blob, len);
		if (rc == 0)
			rc = sink(ud, q, q1, blob, len);
	}
	free(blob);
	return rc;
}

static int sink_buf(void *ud, int q0, int q1, const void *blob, size_t len)
{
	struct bytebuf *b = ud;
	jenc_span(b, q0, q1, blob, len);
	return b->oom ? LT_E_NOMEM : 0;
}

static bool want_kv(const struct session_data *d, const struct ctx *ctx, enum session_kv_mode kv)
{
	return kv == SESSION_KV_FULL && d->has_ctx && ctx && ctx_n_past(ctx) == d->n_ids;
}

/* A compaction streams into the temporary file and remembers its spans. */
struct compact_out {
	struct atomic_file *af;
	struct session_kv_span *spans;
	int n_spans, cap_spans;
};

static int sink_file(void *ud, int q0, int q1, const void *blob, size_t len)
{
	struct compact_out *o = ud;
	struct bytebuf h = { 0 };
	bytebuf_put(&h, "KVSP", 4);
	bytebuf_u32(&h, (uint32_t)(len + 8));
	bytebuf_u32(&h, (uint32_t)q0);
	bytebuf_u32(&h, (uint32_t)q1);
	if (h.oom || !session_grow((void **)&o->spans, &o->cap_spans, o->n_spans + 1, sizeof(*o->spans))) {
		free(h.p);
		return LT_E_NOMEM;
	}
	uint32_t crc = session_crc32(session_crc32(0, h.p, h.len), blob, len);
	uint8_t c[4] = { (uint8_t)crc, (uint8_t)(crc >> 8), (uint8_t)(crc >> 16),
			 (uint8_t)(crc >> 24) };
	atomic_file_write(o->af, h.p, h.len);
	atomic_file_write(o->af, blob, len);
	atomic_file_write(o->af, c, 4);
	free(h.p);
	/* No blob: len counts the whole record (journal_take's convention). */
	o->spans[o->n_spans++] = (struct session_kv_span){ .p0 = q0, .p1 = q1, .p_end = q1,
							   .len = len + 8 + SESSION_REC_OVERHEAD };
	return 0;
}

/* Writes the whole state into a fresh file that replaces path, streaming
 * the KV rows a span at a time. */
static int journal_compact(struct session_journal *j, const struct session_data *d,
			   const struct ctx *ctx, enum session_kv_mode kv,
			   struct session_save_stats *st, char *err, size_t errlen)
{
	struct session_data w = *d;
	w.kv = NULL;
	w.kv_n = 0;
	w.spans = NULL;
	w.n_spans = 0;
	w.has_ctx = kv == SESSION_KV_FULL && d->has_ctx;
	w.has_kv = want_kv(d, ctx, kv) && d->n_ids > 0;
	struct compact_out o = { 0 };
	int rc = atomic_file_begin(&o.af, j->path, 0600, err, errlen);
	if (rc)
		return rc;
	struct bytebuf b = { 0 };
	journal_header(&b);
	jenc_meta(&b, &w);
	jenc_samp(&b, &w);
	for (int i = 0; i < w.n_turns; i++)
		jenc_turn(&b, &w, i);
	if (w.has_ctx)
		jenc_ids(&b, 0, w.n_head, w.ids, w.n_ids);
	atomic_file_write(o.af, b.p, b.len);
	rc = b.oom ? LT_E_NOMEM : 0;
	b.len = 0;
	if (rc == 0 && w.has_kv)
		rc = each_span(ctx, 0, j->chunk, sink_file, &o);
	if (w.has_sampler && w.sampler_state)
		jenc_blob(&b, "SMPS", w.sampler_state, w.sampler_state_len);
	jenc_commit(&b, &w);
	atomic_file_write(o.af, b.p, b.len);
	if (rc == 0 && b.oom)
		rc = LT_E_NOMEM;
	free(b.p);
	uint64_t len = atomic_file_pos(o.af);
	if (rc) {
		atomic_file_abort(o.af);
		free(o.spans);
		return lt_seterr(err, errlen, rc, "%s: cannot write the KV cache (%s)", j->path,
				 lt_strerror(rc));
	}
	rc = atomic_file_commit(o.af, err, errlen);
	if (rc == 0) {
		char lerr[8];
		/* The new file: nobody else can have opened it yet. */
		(void)journal_lock(j, lerr, sizeof(lerr));
		w.spans = o.spans;
		w.n_spans = o.n_spans;
		w.valid_end = len;
		w.version = SESSION_VERSION;
		rc = journal_take(j, &w);
		j->fresh = rc != 0;
		if (st)
			*st = (struct session_save_stats){ .bytes_written = len, .compacted = true,
							   .file_size = len,
							   .live_bytes = journal_live(j, d) };
	}
	free(o.spans);
	return rc;
}

static int write_all(int fd, const uint8_t *p, size_t n, off_t off)
{
	while (n) {
		ssize_t w = pwrite(fd, p, n, off);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return w == 0 ? ENOSPC : errno;
		p += w;
		n -= (size_t)w;
		off += w;
	}
	return 0;
}

static int append_error(const char *path, int e, char *err, size_t errlen)
{
	const char *why = e == ENOSPC ? "no space left on the device"
			  : e == EFBIG ? "file size limit exceeded (ulimit -f)"
#ifdef EDQUOT
			  : e == EDQUOT ? "disk quota exceeded"
#endif
			  : NULL;
	return lt_seterr(err, errlen, why ? LT_E_FULL : LT_E_IO,
			 "%s: append failed: %s; the previous save is intact", path,
			 why ? why : strerror(e));
}

/* Appends b at the end of the last save, with one fdatasync. A failure
 * cuts the file back. */
static int journal_append(struct session_journal *j, const struct bytebuf *b, char *err,
			  size_t errlen)
{
	int fd = open(j->path, O_WRONLY | O_CLOEXEC);
	if (fd < 0 && errno == ENOENT)
		return LT_E_NOTFOUND;
	if (fd < 0)
		return append_error(j->path, errno, err, errlen);
	struct stat st;
	int e = 0;
	/* A torn tail from a crash goes before anything is appended. */
	if (fstat(fd, &st) != 0)
		e = errno;
	else if ((uint64_t)st.st_size < j->file_size) {
		/* Shorter than what we wrote: replaced since (sessions gc). */
		close(fd);
		return LT_E_NOTFOUND;
	}
	else if ((uint64_t)st.st_size > j->file_size && ftruncate(fd, (off_t)j->file_size) != 0)
		e = errno;
	if (!e)
		e = write_all(fd, b->p, b->len, (off_t)j->file_size);
	if (!e && fdatasync(fd) != 0)
		e = errno;
	if (e) {
		if (ftruncate(fd, (off_t)j->file_size) == 0)
			(void)fdatasync(fd);
		close(fd);
		return append_error(j->path, e, err, errlen);
	}
	close(fd);
	j->file_size += b->len;
	return 0;
}

int session_journal_save(struct session_journal *j, const struct session_data *d,
			 const struct ctx *ctx, enum session_kv_mode kv,
			 struct session_save_stats *st, char *err, size_t errlen)
{
	if (j->fresh)
		return journal_compact(j, d, ctx, kv, st, err, errlen);
	struct bytebuf b = { 0 };
	uint64_t meta = rec_hash(jenc_meta, d), samp = rec_hash(jenc_samp, d);
	if (meta != j->meta_hash)
		jenc_meta(&b, d);
	if (samp != j->samp_hash)
		jenc_samp(&b, d);

	/* Turns: the unchanged prefix stays; changed flags of kept turns are
	 * set in place; the rest is replaced. */
	int common = 0;
	while (common < j->n_turns && common < d->n_turns &&
	       j->turns[common].hash == turn_hash(&d->turns[common]))
		common++;
	int n_set = 0;
	for (int i = 0; i < common; i++)
		n_set += j->turns[i].flags != d->turns[i].flags ||
			 j->turns[i].n_tokens != d->turns[i].n_tokens;
	if (n_set) {
		size_t at = jrec_begin(&b, "TSET");
		bytebuf_u32(&b, (uint32_t)n_set);
		for (int i = 0; i < common; i++) {
			if (j->turns[i].flags == d->turns[i].flags &&
			    j->turns[i].n_tokens == d->turns[i].n_tokens)
				continue;
			bytebuf_u32(&b, (uint32_t)i);
			bytebuf_u8(&b, d->turns[i].flags);
			bytebuf_u8(&b, 0);
			bytebuf_u16(&b, 0);
			bytebuf_u32(&b, (uint32_t)d->turns[i].n_tokens);
		}
		jrec_end(&b, at);
	}
	if (common < j->n_turns && common == d->n_turns)
		jenc_u32(&b, "TTRN", (uint32_t)common);
	for (int i = common; i < d->n_turns; i++)
		jenc_turn(&b, d, i);

	/* Context ids and KV rows: the common prefix stays. */
	bool ids = kv == SESSION_KV_FULL && d->has_ctx;
	int lcp = 0;
	if (j->has_ids)
		while (lcp < j->n_ids && lcp < d->n_ids && j->ids[lcp] == d->ids[lcp])
			lcp++;
	if (ids && (!j->has_ids || lcp < j->n_ids || lcp < d->n_ids || j->n_head != d->n_head))
		jenc_ids(&b, lcp, d->n_head, d->ids + lcp, d->n_ids - lcp);
	else if (!ids && j->has_ids)
		jenc_ids(&b, 0, 0, NULL, 0);
	int p0 = 0, krc = 0;
	bool with_kv = want_kv(d, ctx, kv);
	if (with_kv) {
		p0 = lcp < j->n_kv ? lcp : j->n_kv;
		if (p0 < d->n_ids) {
			krc = each_span(ctx, p0, j->chunk, sink_buf, &b);
		} else if (p0 < j->n_kv) {
			jenc_u32(&b, "KVTR", (uint32_t)p0);
		}
	} else if (j->n_kv > 0) {
		jenc_u32(&b, "KVTR", 0);
	}
	bool smps = d->has_sampler && d->sampler_state;
	uint64_t smps_hash = smps ? fnv(FNV0, d->sampler_state, d->sampler_state_len) : 0;
	if (smps && (!j->has_smps || smps_hash != j->smps_hash))
		jenc_blob(&b, "SMPS", d->sampler_state, d->sampler_state_len);
	jenc_commit(&b, d);
	if (krc && krc != LT_E_NOMEM) {
		free(b.p);
		return lt_seterr(err, errlen, krc, "%s: cannot save the KV cache rows (%s)", j->path,
				 lt_strerror(krc));
	}
	if (b.oom || krc) {
		free(b.p);
		return lt_seterr(err, errlen, LT_E_NOMEM, "%s: out of memory encoding the save",
				 j->path);
	}
	int rc = journal_append(j, &b, err, errlen);
	size_t written = b.len;
	free(b.p);
	if (rc == LT_E_NOTFOUND) /* removed or replaced since: written whole again */
		return journal_compact(j, d, ctx, kv, st, err, errlen);
	if (rc) {
		j->fresh = true;
		return rc;
	}

	/* The file now holds d. */
	j->meta_hash = meta;
	j->samp_hash = samp;
	if (smps) {
		j->has_smps = true;
		j->smps_hash = smps_hash;
	}
	bool ok = set_turns(j, d) && set_ids(j, d, ids);
	if (with_kv) {
		/* One item for the spans of this save: the live count only needs
		 * their bytes per position. */
		if (p0 < d->n_ids)
			ok = ok && kv_push(j, p0, d->n_ids,
					   ctx_kv_span_size(ctx, p0, d->n_ids) + 8 + SESSION_REC_OVERHEAD);
		else
			kv_truncate(j, p0);
	} else {
		kv_truncate(j, 0);
	}
	if (!ok) {
		j->fresh = true;
		return lt_seterr(err, errlen, LT_E_NOMEM, "out of memory");
	}
	uint64_t live = journal_live(j, d);
	if (st)
		*st = (struct session_save_stats){ .bytes_written = written, .file_size = j->file_size,
						   .live_bytes = live };
	if (j->file_size - live > live) {
		struct session_save_stats cst;
		rc = journal_compact(j, d, ctx, kv, &cst, err, errlen);
		if (rc == 0 && st) {
			st->bytes_written += cst.bytes_written;
			st->compacted = true;
			st->file_size = cst.file_size;
			st->live_bytes = cst.live_bytes;
		}
		return rc;
	}
	return 0;
}

int session_journal_compact_file(const char *path, uint64_t *before, uint64_t *after, char *err,
				 size_t errlen)
{
	/* Not under a chat that has the session open (our rename would
	 * take its file away); the lock holds until the new file is in place. */
	struct session_journal lock = { .path = (char *)path, .lock_fd = -1 };
	int rc = journal_lock(&lock, err, errlen);
	if (rc)
		return rc;
	struct session_data d;
	char warn[512];
	rc = session_read_file(path, &d, warn, sizeof(warn), err, errlen);
	if (rc) {
		if (lock.lock_fd >= 0)
			close(lock.lock_fd);
		return rc;
	}
	*before = *after = d.file_size;
	uint8_t *buf = NULL;
	size_t len = 0;
	if (d.version != SESSION_VERSION || d.valid_end != d.file_size ||
	    d.file_size - d.live_bytes > d.live_bytes / 64 || warn[0]) {
		rc = session_encode(&d, &buf, &len, err, errlen);
		if (rc == 0)
			rc = atomic_file_save(path, 0600, buf, len, err, errlen);
		if (rc == 0)
			*after = len;
		free(buf);
	}
	session_data_free(&d);
	if (lock.lock_fd >= 0)
		close(lock.lock_fd);
	return rc;
}
