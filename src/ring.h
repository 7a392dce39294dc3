/* Single-producer, single-consumer ring of typed records, carrying the
 * engine thread's events to the UI thread. The ring only moves records:
 * what a kind and its numbers mean is the producer's business (for the
 * worker, enum worker_event in worker.h).
 *
 * Records have variable size and live in one byte buffer; the producer
 * publishes them with a release store of the head, the consumer frees them
 * with a release store of the tail, and neither side ever takes a lock.
 * Exactly one thread may push and exactly one (other) thread may pop.
 *
 * Payloads longer than ring_max_chunk() are split into several records of
 * the same kind and numbers; every record but the last carries RING_F_MORE.
 * Splits never fall inside a UTF-8 character, so text chunks can be shown
 * as they come. ring_push never drops or truncates: it writes the whole
 * event or nothing.
 *
 * Waking the consumer: the ring owns a pipe whose read end the UI polls
 * (ring_wake_fd). The producer writes one byte only when the consumer has
 * announced that it is about to sleep, so a UI that keeps draining costs
 * no system calls. The consumer's side of the protocol:
 *
 *     for (;;) {
 *             while (ring_pop(r, &ev) > 0)
 *                     handle(&ev);
 *             if (ring_prepare_sleep(r))
 *                     poll({ ring_wake_fd(r), terminal, ... }, -1);
 *     }
 *
 * ring_prepare_sleep empties the pipe, raises the "wake me" flag and then
 * looks at the head once more; the producer stores the head and then reads
 * the flag. All four accesses are sequentially consistent, so they fall in
 * one total order and at least one side sees the other's store: either the
 * consumer finds the new record and does not sleep, or the producer finds
 * the flag and writes the byte that ends the poll. No wake-up can be lost,
 * and a spurious one only costs an empty pass through the loop.
 *
 * The producer waits for room the same way through a second pipe that the
 * consumer writes to after a pop, only when the producer asked and only
 * once half the ring (or what the producer needs, if more) is free; an
 * emptied ring always satisfies that, so draining consumers always wake
 * a waiting producer. */
#ifndef LT_RING_H
#define LT_RING_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "errors.h"

/* Record flags. */
#define RING_F_MORE 0x1u /* the payload continues in the next record */

/* Smallest and largest ring_new capacity (rounded up to a power of two). */
#define RING_MIN_CAPACITY 256u
#define RING_MAX_CAPACITY (1u << 30)

struct ring_event {
	uint16_t kind;    /* the producer's record type (the worker's: enum worker_event);
			   * any value but 0, which the ring keeps for its padding */
	uint16_t flags;   /* RING_F_*; set by the ring on pop, ignored on push */
	int64_t a, b;
	double x, y;
	const char *data; /* push: the payload; pop: ring-owned, NUL-terminated, valid until the next pop */
	size_t len;
};

struct ring;

/* Creates a ring of at least capacity bytes with its two pipes into *out.
 * Returns 0, or a negative lt_error with a message in err (and *out NULL). */
int ring_new(struct ring **out, size_t capacity, char *err, size_t errlen);
void ring_free(struct ring *r);

size_t ring_capacity(const struct ring *r);
/* Largest payload carried in one record. */
size_t ring_max_chunk(const struct ring *r);

/* ---- producer side ---- */

/* Pushes the whole event or nothing. Returns 0, LT_E_FULL when there is no
 * room now, LT_E_RANGE when the event needs more than the whole ring (use
 * ring_push_wait), or LT_E_INVAL. */
int ring_push(struct ring *r, const struct ring_event *ev);

/* Blocks until an event with a payload of len bytes fits (or, for events
 * larger than the ring, until the ring is empty). timeout_ms < 0 waits
 * forever. abort_flag (may be NULL) is checked at least every 50 ms.
 * Returns 0, LT_E_FULL on timeout, or LT_E_ABORTED. */
int ring_wait_space(struct ring *r, size_t len, int timeout_ms, const atomic_int *abort_flag);

/* Pushes an event of any size, waiting for room as needed; big payloads
 * flow through chunk by chunk while the consumer drains. The timeout
 * applies to each wait. On LT_E_FULL or LT_E_ABORTED some leading chunks
 * may have been delivered (the last of them with RING_F_MORE set). */
int ring_push_wait(struct ring *r, const struct ring_event *ev, int timeout_ms,
		   const atomic_int *abort_flag);

/* ---- consumer side ---- */

/* Takes the oldest record. Returns 1 and fills ev, or 0 when empty. */
int ring_pop(struct ring *r, struct ring_event *ev);

/* The fd to poll for POLLIN; readable when the producer woke us. */
int ring_wake_fd(const struct ring *r);

/* Call when ring_pop returned 0, right before polling ring_wake_fd.
 * Returns true when it is safe to sleep, false when records arrived in the
 * meantime (pop again). See the protocol at the top of this file. */
bool ring_prepare_sleep(struct ring *r);

/* ring_pop that sleeps on the wake pipe until a record arrives or
 * timeout_ms passes (< 0 forever). Returns 1 or 0 as ring_pop does. */
int ring_pop_wait(struct ring *r, struct ring_event *ev, int timeout_ms);

/* How many wake-up bytes the producer and consumer wrote so far. */
uint64_t ring_wakeups(const struct ring *r);
uint64_t ring_space_wakeups(const struct ring *r);

#endif
