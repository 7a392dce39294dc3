#include "arch.h"

#include <string.h>

/* Fields left out are 0: ARCH_NO, ARCH_NORM_RMS, ARCH_POS_ROPE, OPS_ROPE_NORM,
 * ARCH_FFN_SWIGLU, ARCH_RESID_SEQ, no sliding window, no scales. Each row
 * follows llama.cpp's graph for the architecture (src/models/NAME.cpp). */
static const struct arch_info arch_table[] = {
	{
		.name = "llama", .family = "LLaMA, Mistral, TinyLlama, DeepSeek-R1 distills (Llama)",
		.attn_norm = ARCH_REQ, .ffn_norm = ARCH_REQ, .rope_factors = true,
		.qkv_fused = ARCH_OPT, .qkv_bias = ARCH_OPT, .out_bias = ARCH_OPT,
		.ffn_bias = ARCH_OPT, .output = ARCH_OPT,
	},
	{
		.name = "qwen2", .family = "Qwen 2 / 2.5, DeepSeek-R1 distills (Qwen)",
		.attn_norm = ARCH_REQ, .ffn_norm = ARCH_REQ, .rope_mode = OPS_ROPE_NEOX,
		.qkv_fused = ARCH_OPT, .qkv_bias = ARCH_REQ, .output = ARCH_OPT,
	},
	{
		.name = "qwen3", .family = "Qwen 3",
		.attn_norm = ARCH_REQ, .ffn_norm = ARCH_REQ, .rope_mode = OPS_ROPE_NEOX,
		.qkv_fused = ARCH_OPT, .qkv_bias = ARCH_OPT, .out_bias = ARCH_OPT,
		.qk_norm = ARCH_QK_NORM_HEAD, .output = ARCH_OPT,
	},
	{
		.name = "gemma3", .family = "Gemma 3",
		.attn_norm = ARCH_REQ, .ffn_norm = ARCH_REQ, .post_norms = true,
		.rope_mode = OPS_ROPE_NEOX, .qkv_fused = ARCH_OPT, .qkv_bias = ARCH_OPT,
		.qk_norm = ARCH_QK_NORM_HEAD, .ffn = ARCH_FFN_GEGLU, .output = ARCH_OPT,
		.embd_scale_sqrt = true, .q_prescale = true, .query_scale_embd_layers = 62,
		.swa_period = 6, .swa_rope = ARCH_SWA_ROPE_OWN,
		.keys = ARCH_KEY_FINAL_SOFTCAP | ARCH_KEY_SWA,
	},
	{
		.name = "gemma2", .family = "Gemma 2",
		.attn_norm = ARCH_REQ, .ffn_norm = ARCH_REQ, .post_norms = true,
		.rope_mode = OPS_ROPE_NEOX, .qkv_fused = ARCH_OPT, .qkv_bias = ARCH_OPT,
		.ffn = ARCH_FFN_GEGLU, .output = ARCH_NO,
		.embd_scale_sqrt = true, .q_prescale = true, .query_scale_embd_layers = 46,
		.swa_period = 2, .swa_window_default = 4096,
		.attn_softcap_default = true, .final_softcap_default = true,
		.keys = ARCH_KEY_ATTN_SOFTCAP | ARCH_KEY_FINAL_SOFTCAP | ARCH_KEY_SWA,
	},
	{
		.name = "phi3", .family = "Phi-3, Phi-3.5, Phi-4",
		.attn_norm = ARCH_REQ, .ffn_norm = ARCH_REQ, .rope_mode = OPS_ROPE_NEOX,
		.rope_factors = true, .qkv_fused = ARCH_OPT, .qkv_bias = ARCH_OPT,
		.ffn_up_fused = true, .q_prescale = true, .output = ARCH_OPT,
	},
	{
		.name = "granite", .family = "Granite 3",
		.attn_norm = ARCH_REQ, .ffn_norm = ARCH_REQ, .rope_factors = true,
		.qkv_fused = ARCH_OPT, .qkv_bias = ARCH_OPT, .out_bias = ARCH_OPT,
		.ffn_bias = ARCH_OPT, .output = ARCH_OPT, .keys = ARCH_KEY_GRANITE,
	},
	{
		.name = "olmo2", .family = "OLMo 2",
		.post_norms = true, .rope_mode = OPS_ROPE_NEOX,
		.qkv_fused = ARCH_OPT, .qkv_bias = ARCH_OPT,
		.qk_norm = ARCH_QK_NORM_FULL, .output = ARCH_REQ,
		.swa_period = 4, .swa_rope = ARCH_SWA_ROPE_UNSCALED, .keys = ARCH_KEY_SWA,
	},
	{
		.name = "gpt2", .family = "GPT-2",
		.norm = ARCH_NORM_LAYER, .norm_bias = ARCH_REQ, .attn_norm = ARCH_REQ,
		.ffn_norm = ARCH_REQ, .pos = ARCH_POS_NONE, .pos_embd = ARCH_REQ,
		.qkv_fused = ARCH_REQ, .qkv_bias = ARCH_REQ, .out_bias = ARCH_REQ,
		.ffn_bias = ARCH_REQ, .ffn = ARCH_FFN_GELU, .output = ARCH_OPT,
	},
	{
		.name = "gptneox", .family = "GPT-NeoX, Pythia, StableLM-alpha, RedPajama, Dolly 2",
		.norm = ARCH_NORM_LAYER, .norm_bias = ARCH_REQ, .attn_norm = ARCH_REQ,
		.ffn_norm = ARCH_REQ, .rope_mode = OPS_ROPE_NEOX,
		.qkv_fused = ARCH_REQ, .qkv_bias = ARCH_REQ, .out_bias = ARCH_REQ,
		.ffn_bias = ARCH_REQ, .ffn = ARCH_FFN_GELU, .resid = ARCH_RESID_BY_KEY,
		.output = ARCH_REQ,
	},
	{
		.name = "falcon", .family = "Falcon 7B/40B",
		.norm = ARCH_NORM_LAYER, .norm_bias = ARCH_REQ, .attn_norm = ARCH_REQ,
		.attn_norm_2 = ARCH_OPT, .rope_mode = OPS_ROPE_NEOX,
		.qkv_fused = ARCH_REQ, .ffn = ARCH_FFN_GELU, .resid = ARCH_RESID_PAR_SHARED,
		.output = ARCH_OPT,
	},
	{
		.name = "mpt", .family = "MPT",
		.norm = ARCH_NORM_LAYER, .norm_bias = ARCH_OPT, .attn_norm = ARCH_REQ,
		.ffn_norm = ARCH_REQ, .pos = ARCH_POS_NONE, .pos_embd = ARCH_OPT,
		.qkv_fused = ARCH_REQ, .qkv_bias = ARCH_OPT, .out_bias = ARCH_OPT,
		.ffn_bias = ARCH_OPT, .ffn = ARCH_FFN_GELU, .output = ARCH_OPT,
		.keys = ARCH_KEY_CLAMP_KQV | ARCH_KEY_ALIBI_BIAS,
	},
	{
		.name = "bloom", .family = "BLOOM",
		.norm = ARCH_NORM_LAYER, .norm_bias = ARCH_REQ, .attn_norm = ARCH_REQ,
		.ffn_norm = ARCH_REQ, .embd_norm = true, .pos = ARCH_POS_NONE,
		.max_alibi_bias_default = 8.0f,
		.qkv_fused = ARCH_REQ, .qkv_bias = ARCH_REQ, .out_bias = ARCH_REQ,
		.ffn_bias = ARCH_REQ, .ffn = ARCH_FFN_GELU, .output = ARCH_OPT,
	},
	{
		.name = "starcoder", .family = "StarCoder, SantaCoder",
		.norm = ARCH_NORM_LAYER, .norm_bias = ARCH_REQ, .attn_norm = ARCH_REQ,
		.ffn_norm = ARCH_REQ, .pos = ARCH_POS_NONE, .pos_embd = ARCH_REQ,
		.qkv_fused = ARCH_REQ, .qkv_bias = ARCH_REQ, .out_bias = ARCH_REQ,
		.ffn_bias = ARCH_REQ, .ffn = ARCH_FFN_GELU, .output = ARCH_OPT,
	},
	{
		.name = "starcoder2", .family = "StarCoder 2",
		.norm = ARCH_NORM_LAYER, .norm_bias = ARCH_REQ, .attn_norm = ARCH_REQ,
		.ffn_norm = ARCH_REQ, .rope_mode = OPS_ROPE_NEOX,
		.qkv_fused = ARCH_OPT, .qkv_bias = ARCH_OPT, .out_bias = ARCH_REQ,
		.ffn_bias = ARCH_REQ, .ffn = ARCH_FFN_GELU, .output = ARCH_OPT,
	},
};

#define ARCH_COUNT (sizeof(arch_table) / sizeof(arch_table[0]))

const struct arch_info *arch_find(const char *name)
{
	for (size_t i = 0; name && i < ARCH_COUNT; i++)
		if (strcmp(arch_table[i].name, name) == 0)
			return &arch_table[i];
	return NULL;
}

const struct arch_info *arch_list(size_t *n)
{
	*n = ARCH_COUNT;
	return arch_table;
}

const char *arch_names(void)
{
	/* Spelled out so it needs no buffer; test_model checks it against the table. */
	return "llama, qwen2, qwen3, gemma3, gemma2, phi3, granite, olmo2, gpt2, gptneox, falcon, "
	       "mpt, bloom, starcoder, starcoder2";
}
