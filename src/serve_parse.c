/* Request bodies of `llamaterm serve` (see serve_parse.h). */
#include "serve_parse.h"

#include <stdio.h>
#include <string.h>

static int bad(char *msg, size_t msglen, const char *text, const char *key)
{
	snprintf(msg, msglen, text, key);
	return 400;
}

/* Reads a number field into *v (absent or null: unchanged); 0 or 400. */
static int get_number(json_t *j, const char *key, double lo, double hi, double *v, char *msg,
		      size_t msglen)
{
	json_t *f = json_object_get(j, key);
	if (!f || json_is_null(f))
		return 0;
	if (!json_is_number(f))
		return bad(msg, msglen, "'%s' must be a number", key);
	double x = json_number_value(f);
	if (!(x >= lo && x <= hi)) {
		snprintf(msg, msglen, "'%s' must be between %g and %g", key, lo, hi);
		return 400;
	}
	*v = x;
	return 0;
}

static int get_float(json_t *j, const char *key, double lo, double hi, float *v, char *msg,
		     size_t msglen)
{
	double x = *v;
	int rc = get_number(j, key, lo, hi, &x, msg, msglen);
	*v = (float)x;
	return rc;
}

static int get_int(json_t *j, const char *key, double lo, double hi, int *v, char *msg,
		   size_t msglen)
{
	json_t *f = json_object_get(j, key);
	if (f && !json_is_null(f) && !json_is_integer(f))
		return bad(msg, msglen, "'%s' must be an integer", key);
	double x = *v;
	int rc = get_number(j, key, lo, hi, &x, msg, msglen);
	*v = (int)x;
	return rc;
}

static int get_bool(json_t *j, const char *key, bool *v, char *msg, size_t msglen)
{
	json_t *f = json_object_get(j, key);
	if (!f || json_is_null(f))
		return 0;
	if (!json_is_boolean(f))
		return bad(msg, msglen, "'%s' must be true or false", key);
	*v = json_is_true(f);
	return 0;
}

/* The OpenAI fields both completion endpoints share. */
static int parse_openai(json_t *j, struct serve_req *q, char *msg, size_t msglen)
{
	struct sampler_params *sp = &q->sampling;
	double seed = sp->seed;
	int rc;
	if ((rc = get_float(j, "temperature", 0, 100, &sp->temperature, msg, msglen)) ||
	    (rc = get_float(j, "top_p", 0, 1, &sp->top_p, msg, msglen)) ||
	    (rc = get_float(j, "min_p", 0, 1, &sp->min_p, msg, msglen)) ||
	    (rc = get_float(j, "frequency_penalty", -2, 2, &sp->frequency_penalty, msg, msglen)) ||
	    (rc = get_float(j, "presence_penalty", -2, 2, &sp->presence_penalty, msg, msglen)) ||
	    (rc = get_int(j, "top_k", 0, 1e9, &sp->top_k, msg, msglen)) ||
	    (rc = get_int(j, "max_tokens", -1, 1e9, &q->n_predict, msg, msglen)) ||
	    (rc = get_bool(j, "stream", &q->stream, msg, msglen)))
		return rc;
	/* The newer OpenAI name of max_tokens for chats. */
	if (q->kind == SERVE_CHAT &&
	    (rc = get_int(j, "max_completion_tokens", -1, 1e9, &q->n_predict, msg, msglen)))
		return rc;
	json_t *f = json_object_get(j, "seed");
	if (f && !json_is_null(f) && !json_is_integer(f))
		return bad(msg, msglen, "'%s' must be an integer", "seed");
	if ((rc = get_number(j, "seed", 0, 4294967295.0, &seed, msg, msglen)))
		return rc;
	sp->seed = (uint32_t)seed;
	json_t *stop = json_object_get(j, "stop");
	if (json_is_string(stop)) {
		q->stops[q->n_stops++] = json_string_value(stop);
	} else if (json_is_array(stop)) {
		size_t i;
		json_t *e;
		json_array_foreach(stop, i, e) {
			if (!json_is_string(e) || q->n_stops == SERVE_MAX_STOPS)
				return bad(msg, msglen, "'stop' must be a string or a list of at most 16 strings", "");
			q->stops[q->n_stops++] = json_string_value(e);
		}
	} else if (stop && !json_is_null(stop)) {
		return bad(msg, msglen, "'stop' must be a string or a list of strings", "");
	}
	if (q->kind != SERVE_CHAT)
		return 0;
	if ((rc = get_bool(j, "logprobs", &q->logprobs, msg, msglen)) ||
	    (rc = get_int(j, "top_logprobs", 0, SERVE_MAX_TOP_LOGPROBS, &q->top_logprobs, msg,
			  msglen)))
		return rc;
	if (q->top_logprobs && !q->logprobs)
		return bad(msg, msglen, "'top_logprobs' needs 'logprobs': true", "");
	return 0;
}

/* Every message a {role, content} pair of strings with a known role, the
 * last one the user's. */
static int check_messages(json_t *messages, char *msg, size_t msglen)
{
	if (!json_is_array(messages) || !json_array_size(messages))
		return bad(msg, msglen, "'messages' must be a non-empty list", "");
	if (json_array_size(messages) > SERVE_MAX_MESSAGES) {
		snprintf(msg, msglen, "'messages' has %zu entries, at most %d are taken",
			 json_array_size(messages), SERVE_MAX_MESSAGES);
		return 400;
	}
	size_t i;
	json_t *m;
	const char *role = NULL;
	json_array_foreach(messages, i, m) {
		role = json_string_value(json_object_get(m, "role"));
		if (!role || !json_is_string(json_object_get(m, "content"))) {
			snprintf(msg, msglen, "messages[%zu] needs a string 'role' and 'content'", i);
			return 400;
		}
		if (strcmp(role, "system") && strcmp(role, "developer") && strcmp(role, "user") &&
		    strcmp(role, "assistant")) {
			snprintf(msg, msglen, "messages[%zu]: unknown role '%.40s'", i, role);
			return 400;
		}
	}
	if (strcmp(role, "user"))
		return bad(msg, msglen, "'messages' must end with a user message", "");
	return 0;
}

/* rllama's fields and defaults (its inference server's, not its README's
 * 1024 for max_new_tokens: the code says 20). */
static int parse_rllama(json_t *j, const struct serve_parse_env *env, struct serve_req *q,
			char *msg, size_t msglen)
{
	struct sampler_params *sp = &q->sampling;
	*sp = sampler_params_default();
	sp->n_ctx = env->n_ctx;
	sp->temperature = 1.0f;
	sp->top_k = 20;
	sp->top_p = 1.0f;
	sp->min_p = 0;
	sp->repeat_penalty = 1.0f;
	sp->repeat_last_n = -1; /* rllama counts every token so far */
	q->n_predict = 20;
	q->max_seq_len = env->n_ctx;
	q->stop_at_end_token = true;
	double seed = sp->seed;
	int rc;
	if ((rc = get_float(j, "temperature", 0, 100, &sp->temperature, msg, msglen)) ||
	    (rc = get_int(j, "top_k", 1, 1e9, &sp->top_k, msg, msglen)) ||
	    (rc = get_float(j, "top_p", 0, 1, &sp->top_p, msg, msglen)) ||
	    (rc = get_float(j, "repetition_penalty", 0, 100, &sp->repeat_penalty, msg, msglen)) ||
	    (rc = get_int(j, "max_seq_len", 1, 1e9, &q->max_seq_len, msg, msglen)) ||
	    (rc = get_int(j, "max_new_tokens", 0, 1e9, &q->n_predict, msg, msglen)) ||
	    (rc = get_bool(j, "stop_at_end_token", &q->stop_at_end_token, msg, msglen)) ||
	    (rc = get_bool(j, "no_token_sampling", &q->no_token_sampling, msg, msglen)) ||
	    (rc = get_number(j, "seed", 0, 4294967295.0, &seed, msg, msglen)))
		return rc;
	sp->seed = (uint32_t)seed;
	if (q->max_seq_len > env->n_ctx)
		q->max_seq_len = env->n_ctx;
	q->stream = true;
	return 0;
}

int serve_parse(enum serve_kind kind, const char *body, size_t len,
		const struct serve_parse_env *env, struct serve_req *q, char *msg, size_t msglen)
{
	memset(q, 0, sizeof(*q));
	q->kind = kind;
	q->sampling = env->defaults.sampling;
	q->sampling.n_ctx = env->n_ctx;
	q->n_predict = env->defaults.n_predict;
	json_error_t jerr;
	q->root = json_loadb(body, len, 0, &jerr);
	if (!json_is_object(q->root)) {
		snprintf(msg, msglen, q->root ? "the body must be a JSON object" :
			 "the body is not valid JSON: %s", jerr.text);
		return 400;
	}
	int rc = kind == SERVE_RLLAMA ? parse_rllama(q->root, env, q, msg, msglen) :
		 parse_openai(q->root, q, msg, msglen);
	if (rc)
		return rc;
	/* More than the context can never be generated. */
	if (q->n_predict < 0 || q->n_predict > env->n_ctx)
		q->n_predict = env->n_ctx;
	if (kind == SERVE_CHAT) {
		q->messages = json_object_get(q->root, "messages");
		return check_messages(q->messages, msg, msglen);
	}
	q->prompt = json_string_value(json_object_get(q->root, "prompt"));
	if (!q->prompt)
		return bad(msg, msglen, "'prompt' must be a string", "");
	return 0;
}

void serve_req_free(struct serve_req *q)
{
	json_decref(q->root);
	q->root = NULL;
}
