/* libFuzzer harness for the prompt template parser: parses the input as a
 * template file and, when it is accepted, reads every getter and renders a
 * conversation in every mode, checking that segments are well formed; the
 * input is also used as a model chat template for detection markers. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "template.h"

/* Keeps the reads from being optimised away. */
static volatile size_t fuzz_sink;

static void fuzz_check_segs(const struct template_segs *s)
{
	for (size_t i = 0; i < s->n; i++) {
		if (s->seg[i].len == 0 || strlen(s->seg[i].text) > s->seg[i].len)
			abort();
		/* Neighbours of the same kind must have been merged. */
		if (i > 0 && s->seg[i].kind == s->seg[i - 1].kind)
			abort();
	}
	size_t len = 0;
	char *all = template_segs_join(s, &len);
	if (all)
		fuzz_sink += len + (unsigned char)all[0];
	free(all);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct template *t = NULL;
	char err[256];
	if (template_parse(&t, "fuzz.tmpl", (const char *)data, size, err, sizeof(err)) != 0) {
		/* Every error names the file and, past the first line, the line. */
		if (strncmp(err, "fuzz.tmpl", 9) != 0)
			abort();
		return 0;
	}
	size_t h = strlen(template_name(t)) + strlen(template_description(t)) +
		   strlen(template_default_system(t)) + (size_t)template_priority(t) +
		   template_bos(t) + template_system_in_user(t);
	for (int p = 0; p < TEMPLATE_N_PARTS; p++)
		h += strlen(template_part(t, (enum template_part)p));
	for (size_t i = 0; i < template_n_stops(t); i++)
		h += strlen(template_stop(t, i));
	for (size_t i = 0; i < template_n_detect(t); i++)
		h += strlen(template_detect_marker(t, i));
	fuzz_sink += h;

	static const struct template_msg msgs[] = {
		{ TEMPLATE_ROLE_USER, "Hello <|im_end|>", NULL },
		{ TEMPLATE_ROLE_ASSISTANT, " Hi", "why <think>" },
		{ TEMPLATE_ROLE_USER, "", NULL },
		{ TEMPLATE_ROLE_ASSISTANT, "x", NULL },
	};
	for (size_t n = 0; n <= 4; n++) {
		for (unsigned flags = 0; flags < 4; flags++) {
			struct template_segs s = { 0 };
			if (template_render_conversation(t, n & 1 ? "sys" : NULL, msgs, n, flags, &s) == 0)
				fuzz_check_segs(&s);
			template_segs_free(&s);
		}
	}
	struct template_segs s = { 0 };
	if (template_render_system(t, "sys", &s) == 0 &&
	    template_render_user(t, "u", "sys", true, &s) == 0 &&
	    template_render_assistant_end(t, &s) == 0)
		fuzz_check_segs(&s);
	template_segs_free(&s);

	/* The input as a model's chat template. */
	char *ct = malloc(size + 1);
	if (ct) {
		memcpy(ct, data, size);
		ct[size] = '\0';
		fuzz_sink += template_matches(t, ct);
		free(ct);
	}
	template_free(t);
	return 0;
}
