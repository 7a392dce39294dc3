/* The engine's worker threads: parallel loops over chunks of work, without
 * OpenMP and without waiting for a thread that is not running.
 *
 * pool_run hands out chunks 0..n_chunks-1 one at a time to whichever thread
 * asks first, the caller included, and returns once every chunk is done. A
 * thread the OS has descheduled (another program is busy on its core) holds
 * up only a chunk it has started: the chunks it never reached are done by
 * the others, and nobody waits for it at a barrier. Idle workers spin for a
 * short while (the next loop of a decode step follows within microseconds)
 * and then sleep on a condition variable. A worker the OS wakes on the CPU
 * of another thread of the loop moves itself to one they are not on.
 *
 * The threads are process-wide, like OpenMP's, started on first use and
 * kept until exit. One loop runs at a time: a caller that finds another
 * loop in progress (a second context on another thread) runs its chunks on
 * its own thread, so the results are the same either way. */
#ifndef LT_POOL_H
#define LT_POOL_H

#include <stdint.h>

/* Most threads a loop can use, the caller included. */
#define POOL_MAX_THREADS 64
/* Most chunks in one loop. */
#define POOL_MAX_CHUNKS ((1 << 20) - 1024)

/* Called once per chunk; thread is 0 for the caller and 1..nth-1 for the
 * workers, so per-thread scratch can be indexed by it. */
typedef void (*pool_fn)(void *arg, int64_t chunk, int thread);

/* Runs fn(arg, i, thread) for every i < n_chunks on up to nth threads
 * (clamped to 1..POOL_MAX_THREADS; n_chunks to POOL_MAX_CHUNKS per call,
 * larger loops are run in pieces). Serial on the caller when nth <= 1, when
 * there is one chunk, or when the threads cannot be started. */
void pool_run(int nth, int64_t n_chunks, pool_fn fn, void *arg);

/* Online CPUs (at least 1): the default thread count. */
int pool_default_threads(void);

#endif
