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

#define PROBE_MIB 512
#define PROBE_PASSES 7

static double probe_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec * 1e-9;
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
#ifdef _OPENMP
#pragma omp parallel for num_threads(n_threads) reduction(+ : sum) schedule(static)
#endif
		for (size_t i = 0; i < n; i++)
			sum += buf[i];
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
