/* Tokens as `llamaterm serve` sends them (see serve_tokens.h). */
#include "serve_tokens.h"

#include <math.h>
#include <stdlib.h>

#include "serve_parse.h"
#include "utf8.h"

/* A JSON string of a token's piece (invalid UTF-8 of a partial character
 * replaced; the bytes field keeps the exact ones). */
static json_t *piece_string(const char *p, size_t n)
{
	if (utf8_valid(p, n))
		return json_stringn(p, n);
	size_t len, bad;
	char *fixed = utf8_sanitize(p, n, &len, &bad);
	json_t *j = fixed ? json_stringn(fixed, len) : NULL;
	free(fixed);
	return j;
}

/* {"token", "logprob", "bytes"} of id. */
static json_t *logprob_entry(const struct vocab *v, int32_t id, double logprob)
{
	char buf[256];
	int n = vocab_token_to_piece(v, id, buf, sizeof(buf), false);
	if (n < 0 || n > (int)sizeof(buf))
		n = 0;
	json_t *bytes = json_array();
	for (int i = 0; i < n; i++)
		json_array_append_new(bytes, json_integer((unsigned char)buf[i]));
	return json_pack("{s:o,s:f,s:o}", "token", piece_string(buf, (size_t)n), "logprob", logprob,
			 "bytes", bytes);
}

/* log(sum(exp(logits))) and the maximum, for log-probabilities. */
static double log_norm(const float *logits, int n)
{
	float mx = -INFINITY;
	for (int i = 0; i < n; i++)
		if (logits[i] > mx)
			mx = logits[i];
	double sum = 0;
	for (int i = 0; i < n; i++)
		sum += exp((double)logits[i] - mx);
	return mx + log(sum);
}

json_t *serve_logprob_entry(const struct vocab *v, const float *logits, int n, int32_t tok,
			    int k)
{
	double norm = log_norm(logits, n);
	json_t *e = logprob_entry(v, tok, (double)logits[tok] - norm);
	json_t *top = json_array();
	int best[SERVE_MAX_TOP_LOGPROBS];
	int nb = 0;
	if (k > SERVE_MAX_TOP_LOGPROBS)
		k = SERVE_MAX_TOP_LOGPROBS;
	/* The k largest by insertion: k is at most 20. */
	for (int i = 0; i < n && k > 0; i++) {
		if (nb == k && logits[i] <= logits[best[nb - 1]])
			continue;
		int j = nb < k ? nb++ : nb - 1;
		while (j > 0 && logits[best[j - 1]] < logits[i]) {
			best[j] = best[j - 1];
			j--;
		}
		best[j] = i;
	}
	for (int i = 0; i < nb; i++)
		json_array_append_new(top, logprob_entry(v, best[i], (double)logits[best[i]] - norm));
	if (!e || !top || json_object_set_new(e, "top_logprobs", top)) {
		json_decref(e);
		return NULL;
	}
	return e;
}

/* rllama's line for a token: {"piece": {"p": P, "is_end_token": true}}
 * (is_end_token only when true), keyed by the vocabulary's text. */
static void rllama_add(const struct vocab *v, json_t *line, int32_t id, double p, bool end)
{
	size_t len;
	const char *text = vocab_get_text(v, id, &len);
	json_t *e = json_pack("{s:f}", "p", p);
	if (end)
		json_object_set_new(e, "is_end_token", json_true());
	json_t *key = piece_string(text ? text : "", text ? len : 0);
	if (key && e)
		json_object_set_new(line, json_string_value(key), e);
	else
		json_decref(e);
	json_decref(key);
}

json_t *serve_rllama_line(const struct vocab *v, int32_t tok, double p, bool end)
{
	json_t *line = json_object();
	if (line)
		rllama_add(v, line, tok, p, end);
	return line;
}

/* rllama without its sampling: every token's probability (the softmax
 * of the model's logits) for the next position. */
json_t *serve_rllama_all(const struct vocab *v, const float *logits, int n)
{
	double norm = log_norm(logits, n);
	json_t *line = json_object();
	for (int i = 0; line && i < n; i++)
		rllama_add(v, line, i, exp((double)logits[i] - norm), vocab_is_eog(v, i));
	return line;
}

