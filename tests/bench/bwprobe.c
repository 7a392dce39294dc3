/* Memory read bandwidth probe for `make bench`: sums a buffer far larger
 * than the caches with every thread OpenMP offers (or -t N) and prints the
 * best of several passes as "bandwidth: N.NN GB/s". Decode reads every
 * weight once per token, so weight bytes / this figure bounds tokens/s. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#ifdef _OPENMP
#include <omp.h>
#endif
#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#endif

#define PROBE_MIB 512
#define PROBE_PASSES 7

static double probe_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* Four independent sums so the adds never wait on each other: a single
 * chain of scalar adds is slower than the memory it is meant to measure. */
static uint64_t probe_sum_plain(const uint64_t *p, size_t n)
{
	uint64_t a = 0, b = 0, c = 0, d = 0;
	size_t i = 0;
	for (; i + 4 <= n; i += 4) {
		a += p[i];
		b += p[i + 1];
		c += p[i + 2];
		d += p[i + 3];
	}
	for (; i < n; i++)
		a += p[i];
	return a + b + c + d;
}

#if defined(__x86_64__) || defined(__i386__)
/* The decode kernels read with 32-byte loads; so does the probe. */
__attribute__((target("avx2"))) static uint64_t probe_sum_avx2(const uint64_t *p, size_t n)
{
	__m256i a = _mm256_setzero_si256(), b = a, c = a, d = a;
	size_t i = 0;
	for (; i + 16 <= n; i += 16) {
		a = _mm256_add_epi64(a, _mm256_loadu_si256((const __m256i *)(p + i)));
		b = _mm256_add_epi64(b, _mm256_loadu_si256((const __m256i *)(p + i + 4)));
		c = _mm256_add_epi64(c, _mm256_loadu_si256((const __m256i *)(p + i + 8)));
		d = _mm256_add_epi64(d, _mm256_loadu_si256((const __m256i *)(p + i + 12)));
	}
	uint64_t lanes[4];
	_mm256_storeu_si256((__m256i *)lanes, _mm256_add_epi64(_mm256_add_epi64(a, b),
							       _mm256_add_epi64(c, d)));
	uint64_t sum = lanes[0] + lanes[1] + lanes[2] + lanes[3];
	for (; i < n; i++)
		sum += p[i];
	return sum;
}
#endif

/* Not inlined: with the buffer size known at the call, GCC 12 warns about
 * the loops' far iterations (-Waggressive-loop-optimizations). */
__attribute__((noipa)) static uint64_t probe_sum(const uint64_t *p, size_t n)
{
#if defined(__x86_64__) || defined(__i386__)
	if (__builtin_cpu_supports("avx2"))
		return probe_sum_avx2(p, n);
#endif
	return probe_sum_plain(p, n);
}

int main(int argc, char **argv)
{
	int n_threads = 0;
	if (argc == 3 && strcmp(argv[1], "-t") == 0)
		n_threads = atoi(argv[2]);
#ifdef _OPENMP
	if (n_threads <= 0)
		n_threads = omp_get_max_threads();
#else
	n_threads = 1;
#endif
	const size_t n = (size_t)PROBE_MIB << 20 >> 3;
	uint64_t *buf = malloc(n * sizeof(*buf));
	if (!buf) {
		fprintf(stderr, "bwprobe: out of memory for a %d MiB buffer\n", PROBE_MIB);
		return 1;
	}
	/* Touch every page first so the timed passes read, not fault. */
	for (size_t i = 0; i < n; i++)
		buf[i] = i;
	double best = 0;
	uint64_t total = 0;
	for (int pass = 0; pass < PROBE_PASSES; pass++) {
		uint64_t sum = 0;
		double t0 = probe_now();
		/* Each thread sums one contiguous share, as decode threads take runs. */
#ifdef _OPENMP
#pragma omp parallel num_threads(n_threads) reduction(+ : sum)
		{
			const int t = omp_get_thread_num(), nt = omp_get_num_threads();
			const size_t share = n / (size_t)nt, lo = share * (size_t)t;
			sum += probe_sum(buf + lo, t == nt - 1 ? n - lo : share);
		}
#else
		sum = probe_sum(buf, n);
#endif
		double dt = probe_now() - t0;
		total += sum;
		double gbs = n * sizeof(*buf) / dt / 1e9;
		if (gbs > best)
			best = gbs;
	}
	/* The checksum keeps the reads from being optimized away. */
	printf("bandwidth: %.2f GB/s (threads %d, checksum %llu)\n", best, n_threads,
	       (unsigned long long)(total & 0xffff));
	free(buf);
	return 0;
}
