/* Event ring tests: FIFO order and wrap-around on one thread, the full
 * and oversize cases, chunking at UTF-8 boundaries, the wake pipe, and a
 * two-thread stress run of a million records with checksums. */
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "ring.h"

/* The ring carries any record type but 0; these are the tests' own. */
enum { EV_TEXT = 1, EV_DONE, EV_ERROR, EV_INFO };

#define STRESS_RECORDS 1000000
/* Every this many records the stress producer sends a payload larger
 * than the ring, which must arrive split and whole. */
#define STRESS_BIG_EVERY 997
#define STRESS_BIG_LEN 10000
#define STRESS_RING_BYTES 4096
/* Pauses that make each side wait for the other now and then. */
#define STRESS_PAUSE_EVERY 100000
#define STRESS_PAUSE_US 3000

static struct ring *make(size_t cap)
{
	char err[256] = "";
	struct ring *r;
	if (ring_new(&r, cap, err, sizeof(err)) < 0)
		fail_msg("ring_new: %s", err);
	return r;
}

static uint64_t fnv1a(const void *p, size_t n)
{
	const unsigned char *b = p;
	uint64_t h = 0xcbf29ce484222325ull;
	for (size_t i = 0; i < n; i++)
		h = (h ^ b[i]) * 0x100000001b3ull;
	return h;
}

static void fill(char *buf, size_t n, uint64_t seq)
{
	for (size_t i = 0; i < n; i++)
		buf[i] = (char)((seq * 31 + i * 7) & 0xff);
}

static int64_t now_ms(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (int64_t)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

static void test_sizes(void **state)
{
	(void)state;
	struct ring *r = make(1);
	assert_int_equal(ring_capacity(r), RING_MIN_CAPACITY);
	assert_true(ring_max_chunk(r) > 0 && ring_max_chunk(r) < RING_MIN_CAPACITY / 2);
	ring_free(r);
	r = make(5000);
	assert_int_equal(ring_capacity(r), 8192);
	ring_free(r);
	char err[128];
	assert_int_equal(ring_new(&r, (size_t)RING_MAX_CAPACITY + 1, err, sizeof(err)), LT_E_INVAL);
	assert_null(r);
	assert_non_null(strstr(err, "capacity"));
	ring_free(NULL);
}

static void test_fifo(void **state)
{
	(void)state;
	struct ring *r = make(1024);
	struct ring_event ev;
	assert_int_equal(ring_pop(r, &ev), 0);
	const char *words[] = { "", "a", "hello", "a somewhat longer piece of text" };
	for (int i = 0; i < 4; i++) {
		struct ring_event in = { .kind = EV_TEXT, .a = i, .b = -i, .x = i * 0.5, .y = 1.0 / (i + 1),
					 .data = words[i], .len = strlen(words[i]) };
		assert_int_equal(ring_push(r, &in), LT_OK);
	}
	struct ring_event done = { .kind = EV_DONE, .a = 42 };
	assert_int_equal(ring_push(r, &done), LT_OK);
	for (int i = 0; i < 4; i++) {
		assert_int_equal(ring_pop(r, &ev), 1);
		assert_int_equal(ev.kind, EV_TEXT);
		assert_int_equal(ev.flags, 0);
		assert_int_equal(ev.a, i);
		assert_int_equal(ev.b, -i);
		assert_float_equal(ev.x, i * 0.5, 0);
		assert_float_equal(ev.y, 1.0 / (i + 1), 0);
		assert_int_equal(ev.len, strlen(words[i]));
		assert_string_equal(ev.data, words[i]);
	}
	assert_int_equal(ring_pop(r, &ev), 1);
	assert_int_equal(ev.kind, EV_DONE);
	assert_int_equal(ev.a, 42);
	assert_int_equal(ev.len, 0);
	assert_int_equal(ring_pop(r, &ev), 0);

	struct ring_event bad = { .kind = 0 };
	assert_int_equal(ring_push(r, &bad), LT_E_INVAL);
	bad = (struct ring_event){ .kind = EV_TEXT, .data = NULL, .len = 3 };
	assert_int_equal(ring_push(r, &bad), LT_E_INVAL);
	ring_free(r);
}

/* Varying sizes walk the head around a small buffer many times. */
static void test_wrap_around(void **state)
{
	(void)state;
	struct ring *r = make(256);
	size_t maxc = ring_max_chunk(r);
	char in[256], want[4][256];
	size_t want_len[4];
	uint64_t pushed = 0, popped = 0;
	for (int round = 0; round < 5000; round++) {
		int batch = 1 + round % 3;
		int n = 0;
		for (int k = 0; k < batch; k++) {
			size_t len = (size_t)(round * 13 + k * 29) % (maxc + 1);
			fill(in, len, pushed);
			struct ring_event ev = { .kind = EV_TEXT, .a = (int64_t)pushed, .data = in, .len = len };
			int rc = ring_push(r, &ev);
			if (rc == LT_E_FULL)
				break;
			assert_int_equal(rc, LT_OK);
			memcpy(want[n], in, len);
			want_len[n++] = len;
			pushed++;
		}
		for (int k = 0; k < n; k++) {
			struct ring_event ev;
			assert_int_equal(ring_pop(r, &ev), 1);
			assert_int_equal(ev.a, (int64_t)popped);
			assert_int_equal(ev.len, want_len[k]);
			if (want_len[k])
				assert_memory_equal(ev.data, want[k], want_len[k]);
			popped++;
		}
		struct ring_event ev;
		assert_int_equal(ring_pop(r, &ev), 0);
	}
	assert_true(pushed > 5000);
	ring_free(r);
}

static void test_full(void **state)
{
	(void)state;
	struct ring *r = make(1024);
	char payload[80];
	memset(payload, 'x', sizeof(payload));
	struct ring_event ev = { .kind = EV_TEXT, .data = payload, .len = sizeof(payload) };
	int n = 0, rc;
	while ((rc = ring_push(r, &ev)) == LT_OK) {
		ev.a = ++n;
		assert_true(n < 100);
	}
	assert_int_equal(rc, LT_E_FULL);
	/* 48-byte header + 80 bytes: 8 records fill all 1024 bytes. */
	assert_int_equal(n, 8);
	/* A full ring rejects even an empty record, and nothing was written. */
	struct ring_event small = { .kind = EV_DONE };
	assert_int_equal(ring_push(r, &small), LT_E_FULL);
	struct ring_event out;
	assert_int_equal(ring_pop(r, &out), 1);
	assert_int_equal(out.a, 0);
	assert_int_equal(ring_push(r, &small), LT_OK);
	for (int i = 1; i < n; i++) {
		assert_int_equal(ring_pop(r, &out), 1);
		assert_int_equal(out.a, i);
	}
	assert_int_equal(ring_pop(r, &out), 1);
	assert_int_equal(out.kind, EV_DONE);
	assert_int_equal(ring_pop(r, &out), 0);

	/* Waiting on a full ring times out or aborts. */
	while (ring_push(r, &ev) == LT_OK)
		;
	int64_t t0 = now_ms();
	assert_int_equal(ring_wait_space(r, sizeof(payload), 60, NULL), LT_E_FULL);
	assert_true(now_ms() - t0 >= 55);
	atomic_int abort_flag = 1;
	assert_int_equal(ring_wait_space(r, sizeof(payload), -1, &abort_flag), LT_E_ABORTED);
	assert_int_equal(ring_push_wait(r, &ev, -1, &abort_flag), LT_E_ABORTED);
	assert_int_equal(ring_pop(r, &out), 1);
	assert_int_equal(ring_wait_space(r, sizeof(payload), 0, NULL), LT_OK);
	ring_free(r);
}

static void test_chunks_in_one_push(void **state)
{
	(void)state;
	struct ring *r = make(256);
	size_t maxc = ring_max_chunk(r);
	char big[300];
	fill(big, sizeof(big), 5);
	/* Bigger than one record but the two records fit in the empty ring. */
	struct ring_event ev = { .kind = EV_ERROR, .a = -3, .data = big, .len = maxc + 20 };
	assert_int_equal(ring_push(r, &ev), LT_OK);
	struct ring_event out;
	assert_int_equal(ring_pop(r, &out), 1);
	assert_int_equal(out.flags, RING_F_MORE);
	assert_int_equal(out.a, -3);
	size_t first = out.len;
	assert_memory_equal(out.data, big, first);
	assert_int_equal(ring_pop(r, &out), 1);
	assert_int_equal(out.flags, 0);
	assert_int_equal(out.kind, EV_ERROR);
	assert_int_equal(first + out.len, maxc + 20);
	assert_memory_equal(out.data, big + first, out.len);
	/* More than the whole ring needs ring_push_wait. */
	ev.len = sizeof(big);
	assert_int_equal(ring_push(r, &ev), LT_E_RANGE);
	ring_free(r);
}

struct drain_arg {
	struct ring *r;
	char *got;
	size_t len, cap;
	int records;
	int bad_cuts;
	int errors;
};

/* Collects TEXT records until DONE, checking that no chunk ends inside a
 * 3-byte character. cmocka's asserts must stay on the main thread, so
 * problems are counted instead. */
static void *drain_text(void *p)
{
	struct drain_arg *d = p;
	struct ring_event ev;
	for (;;) {
		if (ring_pop_wait(d->r, &ev, 10000) != 1) {
			d->errors++;
			return NULL;
		}
		if (ev.kind == EV_DONE)
			return NULL;
		if (ev.len % 3 != 0)
			d->bad_cuts++;
		if (d->len + ev.len > d->cap) {
			d->errors++;
			return NULL;
		}
		memcpy(d->got + d->len, ev.data, ev.len);
		d->len += ev.len;
		d->records++;
	}
}

static void test_oversize_utf8(void **state)
{
	(void)state;
	struct ring *r = make(256);
	enum { N_EURO = 2000 };
	char *text = malloc(3 * N_EURO);
	assert_non_null(text);
	for (int i = 0; i < N_EURO; i++)
		memcpy(text + 3 * i, "\xE2\x82\xAC", 3);
	struct drain_arg d = { .r = r, .got = malloc(3 * N_EURO), .cap = 3 * N_EURO };
	assert_non_null(d.got);
	pthread_t th;
	assert_int_equal(pthread_create(&th, NULL, drain_text, &d), 0);
	struct ring_event ev = { .kind = EV_TEXT, .data = text, .len = 3 * N_EURO };
	assert_int_equal(ring_push_wait(r, &ev, 5000, NULL), LT_OK);
	struct ring_event done = { .kind = EV_DONE };
	assert_int_equal(ring_push_wait(r, &done, 5000, NULL), LT_OK);
	pthread_join(th, NULL);
	assert_int_equal(d.errors, 0);
	assert_int_equal(d.len, 3 * N_EURO);
	assert_memory_equal(d.got, text, 3 * N_EURO);
	assert_int_equal(d.bad_cuts, 0);
	assert_true(d.records >= (int)(3 * N_EURO / ring_max_chunk(r)));
	free(d.got);
	free(text);
	ring_free(r);
}

static void test_wake_pipe(void **state)
{
	(void)state;
	struct ring *r = make(1024);
	struct pollfd pfd = { .fd = ring_wake_fd(r), .events = POLLIN };
	struct ring_event ev = { .kind = EV_INFO, .data = "x", .len = 1 }, out;
	/* Not armed: pushes write nothing. */
	assert_int_equal(ring_push(r, &ev), LT_OK);
	assert_int_equal(ring_wakeups(r), 0);
	assert_int_equal(poll(&pfd, 1, 0), 0);
	/* Records pending: the consumer must not sleep. */
	assert_false(ring_prepare_sleep(r));
	assert_int_equal(ring_pop(r, &out), 1);
	assert_int_equal(ring_pop(r, &out), 0);
	assert_true(ring_prepare_sleep(r));
	assert_int_equal(poll(&pfd, 1, 0), 0);
	/* Armed: the first push wakes, the next ones do not. */
	assert_int_equal(ring_push(r, &ev), LT_OK);
	assert_int_equal(poll(&pfd, 1, 0), 1);
	assert_int_equal(ring_push(r, &ev), LT_OK);
	assert_int_equal(ring_wakeups(r), 1);
	/* Draining and re-arming empties the pipe. */
	while (ring_pop(r, &out) == 1)
		;
	assert_true(ring_prepare_sleep(r));
	assert_int_equal(poll(&pfd, 1, 0), 0);
	/* A timed pop on an empty ring returns 0 after the timeout. */
	int64_t t0 = now_ms();
	assert_int_equal(ring_pop_wait(r, &out, 30), 0);
	assert_true(now_ms() - t0 >= 25);
	ring_free(r);
}

struct stress {
	struct ring *r;
	uint64_t received;
	uint64_t errors;
	uint64_t big_received;
};

static void *stress_consumer(void *p)
{
	struct stress *s = p;
	char *msg = malloc(STRESS_BIG_LEN);
	char *want = malloc(STRESS_BIG_LEN);
	size_t msg_len = 0;
	uint64_t seq = 0;
	struct ring_event ev;
	if (!msg || !want)
		abort();
	while (seq < STRESS_RECORDS) {
		if (ring_pop_wait(s->r, &ev, 10000) != 1) {
			s->errors++;
			break;
		}
		if (ev.a != (int64_t)seq || ev.kind != EV_TEXT || msg_len + ev.len > STRESS_BIG_LEN) {
			s->errors++;
			break;
		}
		memcpy(msg + msg_len, ev.data, ev.len);
		msg_len += ev.len;
		if (ev.flags & RING_F_MORE)
			continue;
		fill(want, msg_len, seq);
		if ((uint64_t)ev.b != fnv1a(msg, msg_len) || ev.x != (double)seq * 0.25 ||
		    memcmp(msg, want, msg_len) != 0) {
			s->errors++;
			break;
		}
		if (msg_len == STRESS_BIG_LEN)
			s->big_received++;
		msg_len = 0;
		seq++;
		if (seq % STRESS_PAUSE_EVERY == STRESS_PAUSE_EVERY / 2)
			usleep(STRESS_PAUSE_US); /* let the producer fill the ring and block */
	}
	s->received = seq;
	free(msg);
	free(want);
	return NULL;
}

static void test_stress_two_threads(void **state)
{
	(void)state;
	struct stress s = { .r = make(STRESS_RING_BYTES) };
	char *buf = malloc(STRESS_BIG_LEN);
	assert_non_null(buf);
	pthread_t th;
	assert_int_equal(pthread_create(&th, NULL, stress_consumer, &s), 0);
	uint32_t x = 1;
	for (uint64_t seq = 0; seq < STRESS_RECORDS; seq++) {
		x = x * 1664525u + 1013904223u;
		size_t len = seq % STRESS_BIG_EVERY == 0 ? STRESS_BIG_LEN : (x >> 16) % 300;
		fill(buf, len, seq);
		struct ring_event ev = { .kind = EV_TEXT, .a = (int64_t)seq, .b = (int64_t)fnv1a(buf, len),
					 .x = (double)seq * 0.25, .data = buf, .len = len };
		if (len > ring_max_chunk(s.r) || seq % 2) {
			assert_int_equal(ring_push_wait(s.r, &ev, 10000, NULL), LT_OK);
		} else {
			int rc;
			while ((rc = ring_push(s.r, &ev)) == LT_E_FULL)
				assert_int_equal(ring_wait_space(s.r, len, 10000, NULL), LT_OK);
			assert_int_equal(rc, LT_OK);
		}
		if (seq % STRESS_PAUSE_EVERY == 0)
			usleep(STRESS_PAUSE_US); /* let the consumer run dry and sleep */
	}
	pthread_join(th, NULL);
	assert_int_equal(s.errors, 0);
	assert_int_equal(s.received, STRESS_RECORDS);
	assert_int_equal(s.big_received, (STRESS_RECORDS + STRESS_BIG_EVERY - 1) / STRESS_BIG_EVERY);
	/* Both sides slept and were woken through their pipes, but far less
	 * often than once per record. */
	uint64_t w = ring_wakeups(s.r), sw = ring_space_wakeups(s.r);
	printf("stress: %d records, %llu consumer wake-ups, %llu producer wake-ups\n",
	       STRESS_RECORDS, (unsigned long long)w, (unsigned long long)sw);
	assert_true(w > 0);
	assert_true(sw > 0);
	assert_true(w < STRESS_RECORDS / 2);
	free(buf);
	ring_free(s.r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sizes),
		cmocka_unit_test(test_fifo),
		cmocka_unit_test(test_wrap_around),
		cmocka_unit_test(test_full),
		cmocka_unit_test(test_chunks_in_one_push),
		cmocka_unit_test(test_oversize_utf8),
		cmocka_unit_test(test_wake_pipe),
		cmocka_unit_test(test_stress_two_threads),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
