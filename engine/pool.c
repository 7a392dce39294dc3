#include "pool.h"

#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <time.h>
#include <unistd.h>

/* How long an idle worker spins before it sleeps: longer than the serial
 * work between two loops of a decode step (norms, rope, sampling), so a
 * token's loops find the workers awake, short enough that an idle program
 * does not keep a core busy. */
#define POOL_SPIN_NS 200000
/* Spins of the caller waiting for a chunk another thread holds before it
 * starts yielding its core (to the program that took the other thread's). */
#define POOL_WAIT_SPINS 4000

/* The ticket: one word that names the loop in progress and its next chunk,
 * so that claiming a chunk is a single compare-and-swap and a thread that
 * wakes late cannot take a chunk of a loop that has ended.
 *   bits 0..19  next chunk    bits 20..39  chunks    bits 40..46  threads
 *   bits 47..63 loop counter (only tells a new loop from the last one) */
#define POOL_IDX_BITS 20
#define POOL_MASK ((UINT64_C(1) << POOL_IDX_BITS) - 1)

static uint64_t pool_ticket(uint64_t gen, uint64_t n, uint64_t nth)
{
	return gen << 47 | nth << 40 | n << POOL_IDX_BITS;
}

static int64_t pool_ticket_idx(uint64_t t)
{
	return (int64_t)(t & POOL_MASK);
}

static int64_t pool_ticket_n(uint64_t t)
{
	return (int64_t)(t >> POOL_IDX_BITS & POOL_MASK);
}

static int pool_ticket_nth(uint64_t t)
{
	return (int)(t >> 40 & 0x7f);
}

/* Whether thread id may claim a chunk of the loop in t. */
static bool pool_claimable(uint64_t t, int id)
{
	return pool_ticket_idx(t) < pool_ticket_n(t) && id < pool_ticket_nth(t);
}

struct pool {
	pthread_mutex_t run_lock; /* held by the caller of the loop in progress */
	pthread_mutex_t lock;     /* with wake: sleeping workers */
	pthread_cond_t wake;
	atomic_int sleepers;
	/* The ticket and the count of finished chunks on lines of their own:
	 * every chunk writes both, and a line shared with fields that are only
	 * read would bounce between the cores with them. */
	_Alignas(64) _Atomic uint64_t ticket;
	_Alignas(64) atomic_llong done; /* chunks finished of the loop in progress */
	/* 1 + the CPU each thread last ran on when it joined a loop (the
	 * caller's when it announced one), 0 while unknown. */
	_Alignas(64) atomic_int cpu[POOL_MAX_THREADS];
	/* The loop's function, written before the ticket that announces it and
	 * read only by a thread holding one of its chunks. */
	pool_fn fn;
	void *arg;
	uint64_t gen;
	int n_workers;            /* started so far; worker i has thread id i + 1 */
	bool broken;              /* a thread could not be started: run serially */
};

static struct pool pool_g = {
	.run_lock = PTHREAD_MUTEX_INITIALIZER,
	.lock = PTHREAD_MUTEX_INITIALIZER,
	.wake = PTHREAD_COND_INITIALIZER,
};

static inline void pool_pause(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#elif defined(__aarch64__)
	__asm__ __volatile__("yield");
#endif
}

static int64_t pool_now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

#ifdef __linux__
static void pool_note_cpu(struct pool *p, int id)
{
	const int cpu = sched_getcpu();
	atomic_store_explicit(&p->cpu[id], cpu >= 0 ? cpu + 1 : 0, memory_order_relaxed);
}

/* A worker the OS woke on the CPU of another thread of the loop (most
 * often the caller's: a wakeup is placed near its waker when no CPU is
 * idle) only takes turns with it there, and nothing moves it while both
 * stay busy: each loop then runs at half the speed of one thread. Such a
 * worker moves itself to a CPU the loop's other threads are not on, if it
 * may run on one, and is allowed every CPU it was again once there. Only
 * on waking: checked at every loop, on a machine where many programs
 * compete the moves cost more than they bring (110M prefill 0.7x). */
static void pool_spread(struct pool *p, int id, int nth)
{
	const int here = sched_getcpu();
	if (here < 0)
		return;
	bool shared = false;
	for (int i = 0; i < nth && !shared; i++)
		shared = i != id && atomic_load_explicit(&p->cpu[i], memory_order_relaxed) == here + 1;
	if (!shared) {
		atomic_store_explicit(&p->cpu[id], here + 1, memory_order_relaxed);
		return;
	}
	cpu_set_t allowed, elsewhere;
	if (sched_getaffinity(0, sizeof(allowed), &allowed))
		return;
	elsewhere = allowed;
	for (int i = 0; i < nth; i++) {
		const int c = atomic_load_explicit(&p->cpu[i], memory_order_relaxed) - 1;
		if (i != id && c >= 0 && c < CPU_SETSIZE)
			CPU_CLR(c, &elsewhere);
	}
	CPU_CLR(here, &elsewhere);
	if (CPU_COUNT(&elsewhere) > 0 && !sched_setaffinity(0, sizeof(elsewhere), &elsewhere))
		sched_setaffinity(0, sizeof(allowed), &allowed);
	pool_note_cpu(p, id);
}
#else
static void pool_note_cpu(struct pool *p, int id) { (void)p, (void)id; }
static void pool_spread(struct pool *p, int id, int nth) { (void)p, (void)id, (void)nth; }
#endif

/* Claims and runs chunks of the loop in progress while there are any;
 * returns whether it ran one. */
static bool pool_work(struct pool *p, int id)
{
	long long ran = 0;
	uint64_t t = atomic_load_explicit(&p->ticket, memory_order_acquire);
	while (pool_claimable(t, id)) {
		if (!atomic_compare_exchange_weak_explicit(&p->ticket, &t, t + 1, memory_order_acq_rel,
							   memory_order_acquire))
			continue;
		p->fn(p->arg, pool_ticket_idx(t), id);
		ran++;
		t = atomic_load_explicit(&p->ticket, memory_order_acquire);
	}
	/* Counted once the thread finds nothing left to claim rather than
	 * chunk by chunk: the caller waits for the last chunk either way, and
	 * the count's line then moves between cores once per thread. */
	if (ran)
		atomic_fetch_add_explicit(&p->done, ran, memory_order_release);
	return ran > 0;
}

static void *pool_worker(void *arg)
{
	struct pool *p = &pool_g;
	const int id = (int)(intptr_t)arg;
	int64_t idle_since = pool_now_ns();
	for (unsigned spins = 0;; spins++) {
		if (pool_work(p, id)) {
			idle_since = pool_now_ns();
			spins = 0;
			continue;
		}
		pool_pause();
		if (spins % 64 || pool_now_ns() - idle_since < POOL_SPIN_NS)
			continue;
		/* Sleep until a loop this thread may join is announced. The
		 * announcer stores the ticket, then looks for sleepers; this
		 * thread counts itself a sleeper, then looks at the ticket: one
		 * of the two sees the other (both sequentially consistent). */
		pthread_mutex_lock(&p->lock);
		atomic_fetch_add(&p->sleepers, 1);
		while (!pool_claimable(atomic_load(&p->ticket), id))
			pthread_cond_wait(&p->wake, &p->lock);
		atomic_fetch_sub(&p->sleepers, 1);
		pthread_mutex_unlock(&p->lock);
		pool_spread(p, id, pool_ticket_nth(atomic_load(&p->ticket)));
		idle_since = pool_now_ns();
	}
	return NULL;
}

/* Starts workers until there are n (run_lock held). */
static bool pool_grow(struct pool *p, int n)
{
	while (!p->broken && p->n_workers < n) {
		pthread_t th;
		pthread_attr_t attr;
		pthread_attr_init(&attr);
		pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
		if (pthread_create(&th, &attr, pool_worker, (void *)(intptr_t)(p->n_workers + 1)))
			p->broken = true;
		else
			p->n_workers++;
		pthread_attr_destroy(&attr);
	}
	return p->n_workers >= n;
}

static void pool_serial(int64_t n_chunks, pool_fn fn, void *arg)
{
	for (int64_t i = 0; i < n_chunks; i++)
		fn(arg, i, 0);
}

/* A loop longer than a ticket can count, run in pieces. */
struct pool_piece {
	pool_fn fn;
	void *arg;
	int64_t first;
};

static void pool_piece_fn(void *arg, int64_t chunk, int thread)
{
	const struct pool_piece *pc = arg;
	pc->fn(pc->arg, pc->first + chunk, thread);
}

void pool_run(int nth, int64_t n_chunks, pool_fn fn, void *arg)
{
	struct pool *p = &pool_g;
	if (nth > POOL_MAX_THREADS)
		nth = POOL_MAX_THREADS;
	if (nth > n_chunks)
		nth = (int)n_chunks;
	if (nth <= 1) {
		pool_serial(n_chunks, fn, arg);
		return;
	}
	if (n_chunks > POOL_MAX_CHUNKS) {
		for (int64_t first = 0; first < n_chunks; first += POOL_MAX_CHUNKS) {
			struct pool_piece pc = { fn, arg, first };
			int64_t n = n_chunks - first < POOL_MAX_CHUNKS ? n_chunks - first : POOL_MAX_CHUNKS;
			pool_run(nth, n, pool_piece_fn, &pc);
		}
		return;
	}
	if (pthread_mutex_trylock(&p->run_lock)) {
		pool_serial(n_chunks, fn, arg);
		return;
	}
	if (!pool_grow(p, nth - 1))
		nth = p->n_workers + 1;
	if (nth <= 1) {
		pthread_mutex_unlock(&p->run_lock);
		pool_serial(n_chunks, fn, arg);
		return;
	}
	/* The previous loop is over: every chunk is done and no thread can
	 * claim one of it, so its fields are free to change. */
	p->fn = fn;
	p->arg = arg;
	pool_note_cpu(p, 0);
	atomic_store_explicit(&p->done, 0, memory_order_relaxed);
	p->gen = (p->gen + 1) & 0x1ffff;
	atomic_store(&p->ticket, pool_ticket(p->gen, (uint64_t)n_chunks, (uint64_t)nth));
	if (atomic_load(&p->sleepers) > 0) {
		pthread_mutex_lock(&p->lock);
		pthread_cond_broadcast(&p->wake);
		pthread_mutex_unlock(&p->lock);
	}
	pool_work(p, 0);
	/* Only chunks another thread has started are left: wait for those. */
	for (unsigned spins = 0; atomic_load_explicit(&p->done, memory_order_acquire) < n_chunks;
	     spins++) {
		if (spins < POOL_WAIT_SPINS)
			pool_pause();
		else
			sched_yield();
	}
	pthread_mutex_unlock(&p->run_lock);
}

int pool_default_threads(void)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);
	if (n < 1)
		return 1;
	return n > POOL_MAX_THREADS ? POOL_MAX_THREADS : (int)n;
}
