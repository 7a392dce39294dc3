/* Tokens as `llamaterm serve` sends them: OpenAI's logprobs entries and
 * rllama's JSONL lines, from a position's logits. */
#ifndef LT_SERVE_TOKENS_H
#define LT_SERVE_TOKENS_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "vocab.h"

/* {"token", "logprob", "bytes", "top_logprobs": [top_k of {"token",
 * "logprob", "bytes"}, most likely first]} for tok among the n logits (log
 * of the softmax of the model's logits). NULL when out of memory. */
json_t *serve_logprob_entry(const struct vocab *v, const float *logits, int n, int32_t tok,
			    int top_k);

/* rllama's line for a sampled token: {"TEXT": {"p": P}} with
 * "is_end_token": true only when end; TEXT is the vocabulary's. */
json_t *serve_rllama_line(const struct vocab *v, int32_t tok, double p, bool end);

/* rllama's line without sampling: every token's probability for the next
 * position (softmax of the logits), end tokens marked. */
json_t *serve_rllama_all(const struct vocab *v, const float *logits, int n);

#endif
