#include "ring.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* Longest single sleep while an abort flag is being watched. */
#define ABORT_POLL_MS 50

/* Records start on 8-byte boundaries, so the space left before the end of
 * the buffer is always 0 or at least one padding header's first 8 bytes. */
#define REC_ALIGN 8
#define KIND_PAD 0

/* The fixed part of a record, followed by the payload and padding. */
struct rec_hdr {
	uint32_t size;  /* whole record in bytes, a multiple of REC_ALIGN */
	uint16_t kind;  /* KIND_PAD fills the rest of the buffer before a wrap */
	uint16_t flags;
	uint32_t len;   /* payload bytes */
	uint32_t unused;
	int64_t a, b;
	double x, y;
};

#define CACHE_LINE 64

struct ring {
	/* Written by the producer only. */
	_Alignas(CACHE_LINE) _Atomic uint64_t head;  /* bytes ever published */
	atomic_size_t want_space;                    /* free bytes a waiting producer wants; 0 none */
	_Atomic uint64_t n_wakeups;

	/* Written by the consumer only. */
	_Alignas(CACHE_LINE) _Atomic uint64_t tail;  /* bytes ever freed */
	atomic_int want_wake;                        /* consumer sleeps on wake_fd[0] */
	_Atomic uint64_t n_space_wakeups;
	char *scratch;                               /* (max_chunk + 1) popped payload */

	_Alignas(CACHE_LINE) unsigned char *buf;     /* (cap) */
	size_t cap, mask, max_chunk;
	int wake_fd[2];                              /* producer -> consumer */
	int space_fd[2];                             /* consumer -> producer */
};

static size_t round_up(size_t n)
{
	return (n + REC_ALIGN - 1) & ~(size_t)(REC_ALIGN - 1);
}

static int64_t now_ms(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (int64_t)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

static void fd_drain(int fd)
{
	char tmp[64];
	while (read(fd, tmp, sizeof(tmp)) > 0)
		;
}

/* One byte is enough; a full pipe (EAGAIN) is already readable. */
static void fd_poke(int fd)
{
	ssize_t rc;
	do
		rc = write(fd, "", 1);
	while (rc < 0 && errno == EINTR);
}

int ring_new(struct ring **out, size_t capacity, char *err, size_t errlen)
{
	*out = NULL;
	if (capacity > RING_MAX_CAPACITY)
		return lt_seterr(err, errlen, LT_E_INVAL,
				 "ring: capacity %zu is above the limit of %u bytes", capacity,
				 RING_MAX_CAPACITY);
	size_t cap = RING_MIN_CAPACITY;
	while (cap < capacity)
		cap *= 2;
	/* The cache-line members make sizeof a multiple of the alignment. */
	struct ring *r = aligned_alloc(CACHE_LINE, sizeof(*r));
	if (!r)
		return lt_seterr(err, errlen, LT_E_NOMEM, "ring: out of memory");
	memset(r, 0, sizeof(*r));
	atomic_init(&r->head, 0);
	atomic_init(&r->tail, 0);
	atomic_init(&r->want_space, 0);
	atomic_init(&r->want_wake, 0);
	atomic_init(&r->n_wakeups, 0);
	atomic_init(&r->n_space_wakeups, 0);
	r->wake_fd[0] = r->wake_fd[1] = r->space_fd[0] = r->space_fd[1] = -1;
	r->cap = cap;
	r->mask = cap - 1;
	/* At most half the buffer per record: then a record fits in an empty
	 * ring wherever the head stands, before the end or after a wrap. */
	r->max_chunk = cap / 2 - sizeof(struct rec_hdr);
	r->buf = aligned_alloc(CACHE_LINE, cap);
	r->scratch = malloc(r->max_chunk + 1);
	if (!r->buf || !r->scratch) {
		ring_free(r);
		return lt_seterr(err, errlen, LT_E_NOMEM, "ring: out of memory for %zu bytes", cap);
	}
	if (pipe2(r->wake_fd, O_CLOEXEC | O_NONBLOCK) < 0 ||
	    pipe2(r->space_fd, O_CLOEXEC | O_NONBLOCK) < 0) {
		int rc = lt_seterr(err, errlen, LT_E_IO, "ring: cannot create a wake-up pipe: %s",
				   strerror(errno));
		ring_free(r);
		return rc;
	}
	*out = r;
	return LT_OK;
}

void ring_free(struct ring *r)
{
	if (!r)
		return;
	for (int i = 0; i < 2; i++) {
		if (r->wake_fd[i] >= 0)
			close(r->wake_fd[i]);
		if (r->space_fd[i] >= 0)
			close(r->space_fd[i]);
	}
	free(r->buf);
	free(r->scratch);
	free(r);
}

size_t ring_capacity(const struct ring *r)
{
	return r ? r->cap : 0;
}

size_t ring_max_chunk(const struct ring *r)
{
	return r ? r->max_chunk : 0;
}

int ring_wake_fd(const struct ring *r)
{
	return r ? r->wake_fd[0] : -1;
}

uint64_t ring_wakeups(const struct ring *r)
{
	return r ? atomic_load_explicit(&r->n_wakeups, memory_order_relaxed) : 0;
}

uint64_t ring_space_wakeups(const struct ring *r)
{
	return r ? atomic_load_explicit(&r->n_space_wakeups, memory_order_relaxed) : 0;
}

/* ---- producer ---- */

/* Payload bytes of the chunk starting at off: as many as a record holds,
 * cut back to a UTF-8 character boundary (at most 3 bytes back). */
static size_t chunk_len(const struct ring *r, const struct ring_event *ev, size_t off)
{
	size_t n = ev->len - off;
	if (n <= r->max_chunk)
		return n;
	n = r->max_chunk;
	const unsigned char *p = (const unsigned char *)ev->data + off;
	for (int back = 0; back < 3 && n > 1 && (p[n] & 0xC0) == 0x80; back++)
		n--;
	return n;
}

/* Bytes the records for ev's payload from off onwards take when written at
 * head, wrap padding included. */
static size_t plan_bytes(const struct ring *r, const struct ring_event *ev, size_t off,
			 uint64_t head)
{
	uint64_t pos = head;
	do {
		size_t c = chunk_len(r, ev, off);
		size_t rec = sizeof(struct rec_hdr) + round_up(c);
		size_t room = r->cap - (size_t)(pos & r->mask);
		if (room < rec)
			pos += room;
		pos += rec;
		off += c;
	} while (off < ev->len);
	return (size_t)(pos - head);
}

static void write_at(struct ring *r, uint64_t pos, const void *src, size_t n)
{
	memcpy(r->buf + (pos & r->mask), src, n);
}

/* The producer's half of the wake-up protocol, after the seq_cst store of
 * the head: a seq_cst load of the flag. */
static void wake_consumer(struct ring *r)
{
	if (atomic_load_explicit(&r->want_wake, memory_order_seq_cst) &&
	    atomic_exchange_explicit(&r->want_wake, 0, memory_order_relaxed)) {
		atomic_fetch_add_explicit(&r->n_wakeups, 1, memory_order_relaxed);
		fd_poke(r->wake_fd[1]);
	}
}

/* Writes the chunks of ev from *off on while they fit and publishes them
 * with one release store. Returns how many records were written. */
static int write_chunks(struct ring *r, const struct ring_event *ev, size_t *off)
{
	uint64_t head = atomic_load_explicit(&r->head, memory_order_relaxed);
	uint64_t tail = atomic_load_explicit(&r->tail, memory_order_acquire);
	size_t free_bytes = r->cap - (size_t)(head - tail);
	uint64_t pos = head;
	int n = 0;
	do {
		size_t c = chunk_len(r, ev, *off);
		size_t rec = sizeof(struct rec_hdr) + round_up(c);
		size_t room = r->cap - (size_t)(pos & r->mask);
		size_t pad = room < rec ? room : 0;
		if ((size_t)(pos - head) + pad + rec > free_bytes)
			break;
		if (pad) {
			struct rec_hdr ph = { .size = (uint32_t)pad, .kind = KIND_PAD };
			/* The gap is at least 8 bytes; only size and kind are read. */
			write_at(r, pos, &ph, 8);
			pos += pad;
		}
		struct rec_hdr h = {
			.size = (uint32_t)rec,
			.kind = ev->kind,
			.flags = *off + c < ev->len ? RING_F_MORE : 0,
			.len = (uint32_t)c,
			.a = ev->a,
			.b = ev->b,
			.x = ev->x,
			.y = ev->y,
		};
		write_at(r, pos, &h, sizeof(h));
		if (c)
			write_at(r, pos + sizeof(h), ev->data + *off, c);
		pos += rec;
		*off += c;
		n++;
	} while (*off < ev->len);
	if (n > 0) {
		/* seq_cst rather than release: it is also the store half of the
		 * wake-up handshake (see ring.h). */
		atomic_store_explicit(&r->head, pos, memory_order_seq_cst);
		wake_consumer(r);
	}
	return n;
}

static int check_event(const struct ring *r, const struct ring_event *ev)
{
	if (!r || !ev || ev->kind == KIND_PAD || (!ev->data && ev->len > 0))
		return LT_E_INVAL;
	return LT_OK;
}

int ring_push(struct ring *r, const struct ring_event *ev)
{
	int rc = check_event(r, ev);
	if (rc < 0)
		return rc;
	uint64_t head = atomic_load_explicit(&r->head, memory_order_relaxed);
	uint64_t tail = atomic_load_explicit(&r->tail, memory_order_acquire);
	size_t need = plan_bytes(r, ev, 0, head);
	if (need > r->cap)
		return LT_E_RANGE;
	if (need > r->cap - (size_t)(head - tail))
		return LT_E_FULL;
	size_t off = 0;
	write_chunks(r, ev, &off);
	return LT_OK;
}

/* The tail load is seq_cst because the producer's wait uses it as the load
 * half of the space handshake. */
static size_t free_bytes(const struct ring *r)
{
	uint64_t head = atomic_load_explicit(&r->head, memory_order_relaxed);
	uint64_t tail = atomic_load_explicit(&r->tail, memory_order_seq_cst);
	return r->cap - (size_t)(head - tail);
}

/* Waits until need bytes are free; the producer's half of the space
 * protocol mirrors the consumer's ring_prepare_sleep. */
static int wait_bytes(struct ring *r, size_t need, int timeout_ms, const atomic_int *abort_flag)
{
	int64_t deadline = timeout_ms >= 0 ? now_ms() + timeout_ms : 0;
	for (;;) {
		if (abort_flag && atomic_load_explicit(abort_flag, memory_order_relaxed)) {
			atomic_store_explicit(&r->want_space, 0, memory_order_relaxed);
			return LT_E_ABORTED;
		}
		if (free_bytes(r) >= need) {
			atomic_store_explicit(&r->want_space, 0, memory_order_relaxed);
			return LT_OK;
		}
		fd_drain(r->space_fd[0]);
		/* Asking for half the ring at least lets the consumer free a batch
		 * of records per wake-up instead of ping-ponging one at a time. */
		atomic_store_explicit(&r->want_space, need > r->cap / 2 ? need : r->cap / 2,
				      memory_order_seq_cst);
		if (free_bytes(r) >= need) {
			atomic_store_explicit(&r->want_space, 0, memory_order_relaxed);
			return LT_OK;
		}
		int wait = -1;
		if (timeout_ms >= 0) {
			int64_t left = deadline - now_ms();
			if (left <= 0) {
				atomic_store_explicit(&r->want_space, 0, memory_order_relaxed);
				return LT_E_FULL;
			}
			wait = (int)left;
		}
		if (abort_flag && (wait < 0 || wait > ABORT_POLL_MS))
			wait = ABORT_POLL_MS;
		struct pollfd pfd = { .fd = r->space_fd[0], .events = POLLIN };
		poll(&pfd, 1, wait);
	}
}

int ring_wait_space(struct ring *r, size_t len, int timeout_ms, const atomic_int *abort_flag)
{
	if (!r)
		return LT_E_INVAL;
	/* Without the payload, assume full-size chunks. Text cut back to UTF-8
	 * boundaries may need a few bytes more; a push that still finds no
	 * room then simply waits again. */
	uint64_t head = atomic_load_explicit(&r->head, memory_order_relaxed);
	uint64_t pos = head;
	size_t left = len;
	do {
		size_t c = left < r->max_chunk ? left : r->max_chunk;
		size_t rec = sizeof(struct rec_hdr) + round_up(c);
		size_t room = r->cap - (size_t)(pos & r->mask);
		if (room < rec)
			pos += room;
		pos += rec;
		left -= c;
	} while (left > 0);
	size_t need = (size_t)(pos - head);
	return wait_bytes(r, need < r->cap ? need : r->cap, timeout_ms, abort_flag);
}

int ring_push_wait(struct ring *r, const struct ring_event *ev, int timeout_ms,
		   const atomic_int *abort_flag)
{
	int rc = check_event(r, ev);
	if (rc < 0)
		return rc;
	/* Whole events that fit go in at once, so the consumer never sees a
	 * half event unless it is larger than the ring. */
	rc = ring_push(r, ev);
	if (rc != LT_E_FULL && rc != LT_E_RANGE)
		return rc;
	if (rc == LT_E_FULL) {
		uint64_t head = atomic_load_explicit(&r->head, memory_order_relaxed);
		rc = wait_bytes(r, plan_bytes(r, ev, 0, head), timeout_ms, abort_flag);
		if (rc < 0)
			return rc;
		return ring_push(r, ev);
	}
	size_t off = 0;
	for (;;) {
		write_chunks(r, ev, &off);
		if (off >= ev->len)
			return LT_OK;
		uint64_t head = atomic_load_explicit(&r->head, memory_order_relaxed);
		struct ring_event next = *ev;
		next.data += off;
		next.len -= off;
		/* Room for the next chunk only, so data keeps flowing. */
		size_t c = chunk_len(r, &next, 0);
		size_t rec = sizeof(struct rec_hdr) + round_up(c);
		size_t room = r->cap - (size_t)(head & r->mask);
		rc = wait_bytes(r, rec + (room < rec ? room : 0), timeout_ms, abort_flag);
		if (rc < 0)
			return rc;
	}
}

/* ---- consumer ---- */

/* Pokes the producer once the free space it asked for is there. Since the
 * ring ends up empty when the consumer drains it, and an empty ring has
 * every byte free, a producer that asked for at most the capacity is
 * always woken. */
static void wake_producer(struct ring *r)
{
	size_t want = atomic_load_explicit(&r->want_space, memory_order_seq_cst);
	if (want && free_bytes(r) >= want &&
	    atomic_exchange_explicit(&r->want_space, 0, memory_order_relaxed)) {
		atomic_fetch_add_explicit(&r->n_space_wakeups, 1, memory_order_relaxed);
		fd_poke(r->space_fd[1]);
	}
}

int ring_pop(struct ring *r, struct ring_event *ev)
{
	if (!r || !ev)
		return LT_E_INVAL;
	uint64_t tail = atomic_load_explicit(&r->tail, memory_order_relaxed);
	uint64_t head = atomic_load_explicit(&r->head, memory_order_acquire);
	while (tail != head) {
		struct rec_hdr h;
		const unsigned char *p = r->buf + (tail & r->mask);
		memcpy(&h.size, p, sizeof(h.size));
		memcpy(&h.kind, p + offsetof(struct rec_hdr, kind), sizeof(h.kind));
		if (h.kind == KIND_PAD) {
			tail += h.size;
			continue;
		}
		memcpy(&h, p, sizeof(h));
		memcpy(r->scratch, p + sizeof(h), h.len);
		r->scratch[h.len] = '\0';
		*ev = (struct ring_event){
			.kind = h.kind,
			.flags = h.flags,
			.a = h.a,
			.b = h.b,
			.x = h.x,
			.y = h.y,
			.data = r->scratch,
			.len = h.len,
		};
		atomic_store_explicit(&r->tail, tail + h.size, memory_order_seq_cst);
		wake_producer(r);
		return 1;
	}
	/* Only padding was left: free it too. */
	if (tail != atomic_load_explicit(&r->tail, memory_order_relaxed)) {
		atomic_store_explicit(&r->tail, tail, memory_order_seq_cst);
		wake_producer(r);
	}
	return 0;
}

bool ring_prepare_sleep(struct ring *r)
{
	if (!r)
		return false;
	fd_drain(r->wake_fd[0]);
	atomic_store_explicit(&r->want_wake, 1, memory_order_seq_cst);
	if (atomic_load_explicit(&r->head, memory_order_seq_cst) !=
	    atomic_load_explicit(&r->tail, memory_order_relaxed)) {
		atomic_store_explicit(&r->want_wake, 0, memory_order_relaxed);
		return false;
	}
	return true;
}

int ring_pop_wait(struct ring *r, struct ring_event *ev, int timeout_ms)
{
	int64_t deadline = timeout_ms >= 0 ? now_ms() + timeout_ms : 0;
	for (;;) {
		int rc = ring_pop(r, ev);
		if (rc != 0)
			return rc;
		if (!ring_prepare_sleep(r))
			continue;
		int wait = -1;
		if (timeout_ms >= 0) {
			int64_t left = deadline - now_ms();
			if (left <= 0)
				return 0;
			wait = (int)left;
		}
		struct pollfd pfd = { .fd = r->wake_fd[0], .events = POLLIN };
		poll(&pfd, 1, wait);
	}
}
