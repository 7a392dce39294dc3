/* What ops.c and ops_attn.c share: the scratch alignment and how many
 * threads a piece of work is worth. Internal to the engine's ops. */
#ifndef LT_OPS_IMPL_H
#define LT_OPS_IMPL_H

#include <stddef.h>

/* Rows of converted activations start on cache lines so that neighbouring
 * rows written by different threads never share one. */
#define OPS_ROW_ALIGN 64

/* Multiply-adds below which one more thread costs more than it saves:
 * waking it and waiting for its chunks take about a microsecond on an idle
 * machine (pool.c's threads spin between loops). 128K multiply-adds take some 10 us: tiny
 * models such as stories260K still run most of their decode on one thread. */
#define OPS_MIN_WORK_PER_THREAD (128 * 1024)
/* A matrix-vector product waits on memory, not arithmetic: count it as this
 * many tokens' work so decode still splits medium matrices. */
#define OPS_DECODE_WEIGHT 4

/* Threads worth using for work multiply-adds, at most n_threads. */
static inline int ops_threads_for(int n_threads, double work)
{
	double useful = work / OPS_MIN_WORK_PER_THREAD;
	if (useful < 1)
		return 1;
	return useful < n_threads ? (int)useful : n_threads;
}

static inline size_t ops_round_up(size_t n, size_t to)
{
	return (n + to - 1) / to * to;
}

#endif
