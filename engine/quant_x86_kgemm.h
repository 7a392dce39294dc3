/* The gemm of the eight-row k-quant panels (struct x86_kpanel_block) on
 * 256 bits, written once for the variants that share that layout:
 * quant_x86_kpanel.c (avx2, maddubs) and quant_x86_vnni_kpanel.c
 * (avx-vnni, vpdpbusd) include this file, each time defining
 *   X86_TARGET         the function attribute of the variant
 *   X86_FN(x)          the variant's name for x
 *   X86_KRUN(w, aq, sc0, sc1, kind)
 *                      the exact integer sum of one 32-position run of the
 *                      eight rows against one token's 32 activations at aq,
 *                      each 16- or 32-element sub-block times its scale
 *   X86_KSCALE(v)      the panel's scales (sc, in both 16-bit halves) as
 *                      X86_KRUN takes them
 * Never include it anywhere else.
 *
 * Tokens go in passes of X86_PANEL_TOKENS; within a pass, each run of a
 * super-block is loaded once for all of them, their integer sums wait on
 * the stack, and the float steps come once per super-block and token. */

X86_TARGET static inline __attribute__((always_inline)) void
X86_FN(kpanel_gemm)(int64_t n, const void *panel, const void *act, size_t a_stride, int n_tok,
		    float *y, size_t ldy, int n_rows, int kind)
{
	const struct x86_kact_layout l = x86_kact_layout(kind);
	const struct x86_kpanel_block *p = panel;
	for (int t0 = 0; t0 < n_tok; t0 += X86_PANEL_TOKENS) {
		const int nt = n_tok - t0 < X86_PANEL_TOKENS ? n_tok - t0 : X86_PANEL_TOKENS;
		__m256 acc[X86_PANEL_TOKENS];
		__m256i isum[X86_PANEL_TOKENS];
		for (int t = 0; t < nt; t++)
			acc[t] = _mm256_setzero_ps();
		const uint8_t *a0 = (const uint8_t *)act + (size_t)t0 * a_stride;
		for (int64_t b = 0; b < n / QK_K; b++) {
			const struct x86_kpanel_block *pb = p + b;
			const uint8_t *ab = a0 + (size_t)b * l.bytes;
			const __m256i start = l.shifted ? _mm256_sub_epi32(_mm256_setzero_si256(),
									   x86_load(pb->bias))
							: _mm256_setzero_si256();
			for (int t = 0; t < nt; t++)
				isum[t] = start;
			for (int u = 0; u < 8; u++) {
				__m256i w[8];
#pragma GCC unroll 8
				for (int g = 0; g < 8; g++)
					w[g] = x86_load(pb->qs + 32 * (8 * u + g));
				const __m256i sc0 = X86_KSCALE(x86_load(pb->sc[l.k16 ? 2 * u : u]));
				const __m256i sc1 =
					l.k16 ? X86_KSCALE(x86_load(pb->sc[2 * u + 1])) : sc0;
				const uint8_t *aq = ab + l.qs + 32 * u;
				for (int t = 0; t < nt; t++, aq += a_stride)
					isum[t] = _mm256_add_epi32(isum[t],
								   X86_KRUN(w, aq, sc0, sc1, kind));
			}
			const __m256 d = _mm256_loadu_ps(pb->d), dmin = _mm256_loadu_ps(pb->dmin);
			const uint8_t *at = ab;
			for (int t = 0; t < nt; t++, at += a_stride) {
				float ad;
				memcpy(&ad, at, sizeof(ad)); /* every format starts with d */
				const __m256 vad = _mm256_set1_ps(ad);
				/* The reference vec_dot's steps, each rounded (no
				 * fused multiply-add): the same sums in the same
				 * order give the same bits, so an f16 KV cache or
				 * the next 8-bit activation rounds as it does. */
				__m256 part = x86_rounded(_mm256_mul_ps(_mm256_mul_ps(d, vad),
									_mm256_cvtepi32_ps(isum[t])));
				if (!l.shifted) {
					const __m256i m = x86_kpanel_mins(pb, (const int8_t *)at + l.sums,
									  kind == X86_K2 ? 8 : 4);
					part = _mm256_sub_ps(part, x86_rounded(_mm256_mul_ps(
						_mm256_mul_ps(dmin, vad), _mm256_cvtepi32_ps(m))));
				}
				acc[t] = _mm256_add_ps(acc[t], part);
			}
		}
		for (int t = 0; t < nt; t++)
			x86_panel_store8(y + (size_t)(t0 + t) * ldy, acc[t], n_rows);
	}
}
