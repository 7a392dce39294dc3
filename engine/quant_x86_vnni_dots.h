/* The integer kernels of quant_x86_vnni.c, written once for both VNNI
 * variants. quant_x86_vnni.c includes this file twice, each time defining
 *   X86_TARGET           the function attribute of the variant
 *   X86_FN(x)            the variant's name for kernel x
 *   X86_DPBUSD(s, u, v)  s + the sums of four products of unsigned bytes u
 *                        and signed bytes v, in eight 32-bit lanes
 * Never include it anywhere else. vpdpbusd does in one instruction what
 * avx2 does with maddubs and madd, and it sums into 32 bits at once, so no
 * 16-bit pair sum can saturate: the panels need no sign trick and no
 * widening per group. Both variants compute the same exact integer sums and
 * the same float steps, so their results agree bit for bit. */

/* ---------------------------------------------------------------- vec_dot */

/* The sign of x moves onto y, as in avx2's x86_dot_i8. */
X86_TARGET static inline __m256i X86_FN(q8_0_isum)(const struct block_q8_0 *x,
						   const struct block_q8_0 *y)
{
	const __m256i qx = _mm256_loadu_si256((const __m256i *)x->qs);
	const __m256i qy = _mm256_loadu_si256((const __m256i *)y->qs);
	return X86_DPBUSD(_mm256_setzero_si256(), _mm256_sign_epi8(qx, qx),
			  _mm256_sign_epi8(qy, qx));
}

/* Unsigned nibbles against y, starting from -8 * y's sums. */
X86_TARGET static inline __m256i X86_FN(q4_0_isum)(const struct block_q4_0 *x,
						   const struct block_q8_0 *y)
{
	const __m256i yq = _mm256_loadu_si256((const __m256i *)y->qs);
	const __m256i bias = X86_DPBUSD(_mm256_setzero_si256(), _mm256_set1_epi8(8), yq);
	return X86_DPBUSD(_mm256_sub_epi32(_mm256_setzero_si256(), bias), x86_nibbles(x->qs), yq);
}

X86_DEFINE_PAIRED_DOT(X86_FN(q8_0_vec_dot), X86_TARGET, struct block_q8_0, X86_FN(q8_0_isum))
X86_DEFINE_PAIRED_DOT(X86_FN(q4_0_vec_dot), X86_TARGET, struct block_q4_0, X86_FN(q4_0_isum))

/* ---------------------------------------------------------------- panels */

/* Eight rows' block sums against one token: the weights are unsigned with
 * an offset (q4_0 nibbles 8, q8_0 quants moved up by 128), which the sum
 * starts by taking off. */
X86_TARGET static inline __m256i X86_FN(panel_isum)(const __m256i w[8],
						    const struct x86_panel_act *a)
{
	/* Two chains: one would wait out eight latencies per token. */
	__m256i s[2] = { _mm256_set1_epi32(-a->bsum), _mm256_setzero_si256() };
#pragma GCC unroll 8
	for (int g = 0; g < 8; g++)
		s[g & 1] = X86_DPBUSD(s[g & 1], w[g], x86_bcast4(a->qs + 4 * g));
	return _mm256_add_epi32(s[0], s[1]);
}

X86_DEFINE_PANEL_GEMM(X86_FN(panel_gemm), X86_TARGET, struct x86_panel_act, X86_FN(panel_isum))
X86_DEFINE_PANEL_GEMV(X86_FN(q4_0_panel_gemv), X86_TARGET, struct block_q4_0, x86_q4_0_rowq,
		      struct x86_panel_act, X86_FN(panel_isum))
X86_DEFINE_PANEL_GEMV(X86_FN(q8_0_panel_gemv), X86_TARGET, struct block_q8_0, x86_q8_0_rowq_u,
		      struct x86_panel_act, X86_FN(panel_isum))
