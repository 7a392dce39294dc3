/* The context's memory made present before its first use: the KV cache
 * ahead of the positions written, a batch's activation rows and work as
 * batches grow. Shared with context.c through context_impl.h. */
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include "context_impl.h"

/* Positions of cache made present ahead of the ones being written. A
 * calloc'ed cache gets its pages at their first write, one fault each: on
 * the virtual machines this runs on a fault costs ~10 us (a 110M model's
 * decode step writes 9 new pages), where asking the kernel for a range of
 * pages costs ~0.6 us a page. With the activations and work made present
 * the same way, a fresh 110M context's 513-token prompt faulted 1,800
 * pages instead of 17,700 and ran 1.2 times as fast. */
#define CTX_KV_AHEAD 256

int ctx_row_buffers(struct ctx *c, struct ctx_rows *out)
{
	const struct model_hparams *hp = c->hp;
	const size_t e = (size_t)hp->n_embd, ff = (size_t)hp->n_ff;
	const size_t q = (size_t)hp->n_head * hp->head_dim, kv = (size_t)hp->n_head_kv * hp->head_dim;
	bool fused_qkv = false;
	for (int il = 0; il < hp->n_layer; il++)
		fused_qkv |= c->w->layers[il].wqkv.data != NULL;
	int n = 0;
	out[n++] = (struct ctx_rows){ &c->x, e };
	out[n++] = (struct ctx_rows){ &c->xb, e };
	out[n++] = (struct ctx_rows){ &c->xb2, e };
	out[n++] = (struct ctx_rows){ &c->ao, e };
	out[n++] = (struct ctx_rows){ &c->fo, e };
	if (fused_qkv)
		out[n++] = (struct ctx_rows){ &c->qkv, q + 2 * kv };
	out[n++] = (struct ctx_rows){ &c->q, q };
	out[n++] = (struct ctx_rows){ &c->k, kv };
	out[n++] = (struct ctx_rows){ &c->v, kv };
	out[n++] = (struct ctx_rows){ &c->att, q };
	out[n++] = (struct ctx_rows){ &c->hb, ff };
	out[n++] = (struct ctx_rows){ &c->hb2, ff * (hp->arch->ffn_up_fused ? 2 : 1) };
	out[n++] = (struct ctx_rows){ &c->rope_cs, (size_t)hp->rope.n_rot };
	out[n++] = (struct ctx_rows){ &c->rope_cs_swa, (size_t)hp->rope.n_rot };
	return n;
}

/* Makes the pages holding bytes from..to of buf present and writable in one
 * call. Without MADV_POPULATE_WRITE (Linux 5.14) the pages are left to
 * fault in as they are written, which is only slower. */
static void ctx_populate(uint8_t *buf, size_t from, size_t to)
{
#ifdef MADV_POPULATE_WRITE
	const uintptr_t page = (uintptr_t)sysconf(_SC_PAGESIZE);
	/* The pages a range of the buffer touches are all mapped, its first
	 * and last included. */
	const uintptr_t lo = ((uintptr_t)buf + from) & ~(page - 1);
	const uintptr_t hi = ((uintptr_t)buf + to + page - 1) & ~(page - 1);
	if (to > from)
		(void)madvise((void *)lo, hi - lo, MADV_POPULATE_WRITE);
#else
	(void)buf, (void)from, (void)to;
#endif
}

/* Makes present what a batch of n tokens writes to first (see CTX_KV_AHEAD):
 * its rows of the activations, and the part of work its products and its
 * attention over the positions made present so far take. */
void ctx_populate_scratch(struct ctx *c, int n)
{
	if (n > c->rows_ready) {
		struct ctx_rows rows[CTX_ROW_BUFFERS];
		const int n_rows = ctx_row_buffers(c, rows);
		for (int i = 0; i < n_rows; i++)
			ctx_populate((uint8_t *)*rows[i].buf,
				     (size_t)c->rows_ready * rows[i].width * sizeof(float),
				     (size_t)n * rows[i].width * sizeof(float));
		c->rows_ready = n;
	} else if (c->work_kv == c->kv_ready) {
		return;
	}
	c->work_kv = c->kv_ready;
	size_t need = ctx_matmul_work(c->w, c->hp->n_layer, c->rows_ready, c->n_threads);
	const size_t attn = ops_attention_work_size(&c->attn, c->kv_ready, c->n_threads);
	if (attn > need)
		need = attn;
	if (need > c->work_bytes)
		need = c->work_bytes;
	if (need > c->work_ready) {
		ctx_populate(c->work, c->work_ready, need);
		c->work_ready = need;
	}
}

void ctx_kv_populate(struct ctx *c, int upto)
{
	if (upto <= c->kv_ready)
		return;
	const int to = upto < c->n_ctx - CTX_KV_AHEAD ? upto + CTX_KV_AHEAD : c->n_ctx;
	const size_t row = c->attn.kv_row_bytes;
	for (int il = 0; il < c->hp->n_layer; il++) {
		const bool ring = ctx_layer_ring(c, il);
		if (ring && c->kv_ready > 0)
			continue;
		const size_t from = ring ? 0 : (size_t)c->kv_ready * row;
		const size_t end = (size_t)(ring ? c->ring_rows : to) * row;
		ctx_populate(c->k_cache + c->layer_off[il], from, end);
		ctx_populate(c->v_cache + c->layer_off[il], from, end);
	}
	c->kv_ready = to;
}
