/* Templates of the newer model families: detection from excerpts of the
 * models' real tokenizer.chat_template strings, the exact text their Jinja
 * templates produce for a two-turn chat whose first reply carried
 * reasoning (which Qwen3 and DeepSeek-R1 drop), thinking switched off, and
 * the reasoning keys' parse rules. The goldens of the plain two-turn chat
 * are in test_template.c with the other shipped templates. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "template.h"
#include "template_util.h"

#define ERR_LEN 512

#define SYS "You are a helpful assistant"
/* The first reply as the model wrote it: the splitter keeps the answer as
 * the text and the reasoning beside it. */
static const struct template_msg chat[] = {
	{ TEMPLATE_ROLE_USER, "Hello", NULL },
	{ TEMPLATE_ROLE_ASSISTANT, "Hi there", "The user greets me. I greet back." },
	{ TEMPLATE_ROLE_USER, "How are you?", NULL },
};

/* What apply_chat_template gives for chat (with the reply's content
 * "<think>\n...\n</think>\n\nHi there"), written out by hand from each
 * model's Jinja template; BOS is the tokenizer's. */
static void test_reasoning_goldens(void **state)
{
	(void)state;
	static const struct {
		const char *name, *system;
		unsigned flags;
		const char *expected;
	} cases[] = {
		/* Qwen3: the reply before the last question loses its block;
		 * enable_thinking unset leaves the reply prompt bare. */
		{ "qwen3", SYS, 0,
		  "<|im_start|>system\n" SYS "<|im_end|>\n<|im_start|>user\nHello<|im_end|>\n"
		  "<|im_start|>assistant\nHi there<|im_end|>\n"
		  "<|im_start|>user\nHow are you?<|im_end|>\n<|im_start|>assistant\n" },
		/* enable_thinking=false: an empty block after the reply prompt. */
		{ "qwen3", NULL, TEMPLATE_THINK_OFF,
		  "<|im_start|>user\nHello<|im_end|>\n<|im_start|>assistant\nHi there<|im_end|>\n"
		  "<|im_start|>user\nHow are you?<|im_end|>\n"
		  "<|im_start|>assistant\n<think>\n\n</think>\n\n" },
		/* R1 distills: content.split('</think>')[-1], then <think>\n opens
		 * the next reply. */
		{ "deepseek-r1", NULL, 0,
		  "<｜User｜>Hello<｜Assistant｜>Hi there<｜end▁of▁sentence｜>"
		  "<｜User｜>How are you?<｜Assistant｜><think>\n" },
		/* The same switch has no effect on a model that always reasons. */
		{ "deepseek-r1", NULL, TEMPLATE_THINK_OFF,
		  "<｜User｜>Hello<｜Assistant｜>Hi there<｜end▁of▁sentence｜>"
		  "<｜User｜>How are you?<｜Assistant｜>" },
		{ "qwen3-thinking", NULL, 0,
		  "<|im_start|>user\nHello<|im_end|>\n<|im_start|>assistant\nHi there<|im_end|>\n"
		  "<|im_start|>user\nHow are you?<|im_end|>\n<|im_start|>assistant\n<think>\n" },
		/* A template without reasoning keys ignores the reasoning. */
		{ "chatml", "", 0,
		  "<|im_start|>user\nHello<|im_end|>\n<|im_start|>assistant\nHi there<|im_end|>\n"
		  "<|im_start|>user\nHow are you?<|im_end|>\n<|im_start|>assistant\n" },
		/* Gemma 2/3: system folded into the first user turn, 'model' role. */
		{ "gemma", SYS, 0,
		  "<start_of_turn>user\n" SYS "\n\nHello<end_of_turn>\n<start_of_turn>model\n"
		  "Hi there<end_of_turn>\n<start_of_turn>user\nHow are you?<end_of_turn>\n"
		  "<start_of_turn>model\n" },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct template *t = tu_load_shipped(cases[i].name);
		char *out = tu_render(t, cases[i].system, chat, 3, cases[i].flags);
		if (strcmp(out, cases[i].expected) != 0)
			fail_msg("%s (flags %u) renders\n[%s]\nexpected\n[%s]", cases[i].name,
				 cases[i].flags, out, cases[i].expected);
		free(out);
		template_free(t);
	}
}

static void test_reasoning_keys(void **state)
{
	(void)state;
	struct template *t = tu_load_shipped("qwen3");
	assert_string_equal(template_reasoning_start(t), "<think>");
	assert_string_equal(template_reasoning_end(t), "</think>");
	assert_true(template_strip_reasoning(t));
	assert_true(template_can_switch_thinking(t));
	assert_string_equal(template_prefill(t, false), "<think>\n\n</think>\n\n");
	assert_string_equal(template_prefill(t, true), "");
	template_free(t);
	t = tu_load_shipped("deepseek-r1");
	assert_false(template_can_switch_thinking(t));
	assert_string_equal(template_prefill(t, true), "<think>\n");
	template_free(t);
	t = tu_load_shipped("llama3");
	assert_string_equal(template_reasoning_start(t), "");
	assert_false(template_strip_reasoning(t));
	assert_false(template_can_switch_thinking(t));
	template_free(t);
}

/* A template that keeps reasoning writes the block back in the models'
 * layout; one that strips it leaves it out. */
static void test_keep_reasoning(void **state)
{
	(void)state;
	static const char text[] = "user_prefix = U:\\s\nuser_suffix = \\n\n"
				   "assistant_prefix = A:\\s\nassistant_suffix = \\n\n"
				   "reasoning_start = <think>\nreasoning_end = </think>\n";
	struct template *t = NULL;
	char err[ERR_LEN];
	assert_int_equal(template_parse(&t, "keep.tmpl", text, strlen(text), err, sizeof(err)), 0);
	char *out = tu_render(t, NULL, chat, 3, 0);
	assert_string_equal(out, "U: Hello\nA: <think>\nThe user greets me. I greet back.\n</think>\n\n"
				 "Hi there\nU: How are you?\nA:");
	free(out);
	template_free(t);
}

static void test_reasoning_parse_errors(void **state)
{
	(void)state;
	static const struct {
		const char *text, *msg;
	} cases[] = {
		{ "reasoning_start = <think>\n", "reasoning_start and reasoning_end go together" },
		{ "reasoning_end = </think>\n", "reasoning_start and reasoning_end go together" },
		{ "strip_reasoning = true\n", "need reasoning_start and reasoning_end" },
		{ "no_thinking_prefill = <think></think>\n", "need reasoning_start and reasoning_end" },
		{ "reasoning_start = <a>\nreasoning_end = </a>\nstrip_reasoning = maybe\n",
		  "3: bad boolean 'maybe' for strip_reasoning" },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct template *t = NULL;
		char err[ERR_LEN] = "";
		int rc = template_parse(&t, "r.tmpl", cases[i].text, strlen(cases[i].text), err,
					sizeof(err));
		assert_int_equal(rc, LT_E_FORMAT);
		assert_null(t);
		if (!strstr(err, cases[i].msg) || strncmp(err, "r.tmpl", 6) != 0)
			fail_msg("'%s': error '%s' lacks '%s'", cases[i].text, err, cases[i].msg);
	}
}

/* Excerpts of real tokenizer.chat_template strings: enough of each for
 * the markers, with the Jinja escapes as the files store them. */
static const struct tu_detect_case detect_cases[] = {
	{ "Qwen3-8B",
	  "{%- for message in messages %}{%- if (message.role == \"user\") %}"
	  "{{- '<|im_start|>' + message.role + '\\n' + message.content + '<|im_end|>' + '\\n' }}"
	  "{%- elif message.role == \"assistant\" %}{%- if '</think>' in message.content %}"
	  "{%- set content = message.content.split('</think>')[-1].lstrip('\\n') %}{%- endif %}"
	  "{%- endif %}{%- endfor %}{%- if add_generation_prompt %}"
	  "{{- '<|im_start|>assistant\\n' }}{%- if enable_thinking is defined and enable_thinking "
	  "is false %}{{- '<think>\\n\\n</think>\\n\\n' }}{%- endif %}{%- endif %}",
	  "qwen3" },
	{ "QwQ-32B",
	  "{%- set content = message.content.split('</think>')[-1].lstrip('\\n') %}"
	  "{{- '<|im_start|>' + message.role + '\\n' + content + '<|im_end|>' + '\\n' }}"
	  "{%- if add_generation_prompt %}{{- '<|im_start|>assistant\\n<think>\\n' }}{%- endif %}",
	  "qwen3-thinking" },
	{ "Qwen2.5-7B-Instruct (no reasoning)",
	  "{%- if messages[0]['role'] == 'system' %}{{- '<|im_start|>system\\n' + "
	  "messages[0]['content'] + '<|im_end|>\\n' }}{%- else %}{{- '<|im_start|>system\\nYou are "
	  "Qwen, created by Alibaba Cloud. You are a helpful assistant.<|im_end|>\\n' }}{%- endif %}",
	  "chatml" },
	{ "DeepSeek-R1-Distill-Qwen-7B",
	  "{{bos_token}}{{ns.system_prompt}}{%- for message in messages %}{%- if message['role'] == "
	  "'user' %}{%- set ns.is_tool = false -%}{{'<｜User｜>' + message['content']}}{%- endif %}"
	  "{% if '</think>' in content %}{% set content = content.split('</think>')[-1] %}{% endif %}"
	  "{{'<｜Assistant｜>' + content + '<｜end▁of▁sentence｜>'}}{%- endfor -%}"
	  "{% if add_generation_prompt and not ns.is_tool %}{{'<｜Assistant｜><think>\\n'}}{% endif %}",
	  "deepseek-r1" },
	{ "phi-4",
	  "{% for message in messages %}{% if (message['role'] == 'system') %}"
	  "{{'<|im_start|>system<|im_sep|>' + message['content'] + '<|im_end|>'}}"
	  "{% elif (message['role'] == 'user') %}{{'<|im_start|>user<|im_sep|>' + "
	  "message['content'] + '<|im_end|>'}}{% endif %}{% endfor %}{% if add_generation_prompt %}"
	  "{{ '<|im_start|>assistant<|im_sep|>' }}{% endif %}",
	  "phi4" },
	{ "Phi-4-mini-instruct",
	  "{% for message in messages %}{% if message['role'] == 'system' and 'tools' in message "
	  "and message['tools'] is not none %}{{ '<|' + message['role'] + '|>' + message['content'] "
	  "+ '<|tool|>' + message['tools'] + '<|/tool|>' + '<|end|>' }}{% else %}{{ '<|' + "
	  "message['role'] + '|>' + message['content'] + '<|end|>' }}{% endif %}{% endfor %}"
	  "{% if add_generation_prompt %}{{ '<|assistant|>' }}{% else %}{{ eos_token }}{% endif %}",
	  "phi4-mini" },
	{ "Phi-3.5-mini-instruct",
	  "{% for message in messages %}{% if message['role'] == 'system' and message['content'] %}"
	  "{{'<|system|>\\n' + message['content'] + '<|end|>\\n'}}{% elif message['role'] == 'user' %}"
	  "{{'<|user|>\\n' + message['content'] + '<|end|>\\n'}}{% elif message['role'] == "
	  "'assistant' %}{{'<|assistant|>\\n' + message['content'] + '<|end|>\\n'}}{% endif %}"
	  "{% endfor %}{% if add_generation_prompt %}{{ '<|assistant|>\\n' }}{% else %}"
	  "{{ eos_token }}{% endif %}",
	  "phi3" },
	{ "granite-3.3-2b-instruct",
	  " {{- '<|start_of_role|>system<|end_of_role|>' + system_message + '<|end_of_text|>\\n' }}\n"
	  " {%- for message in loop_messages %}\n     {{- '<|start_of_role|>' + message['role'] + "
	  "'<|end_of_role|>' + message['content'] + '<|end_of_text|>\\n' }}\n"
	  "     {%- if loop.last and add_generation_prompt %}\n"
	  "         {{- '<|start_of_role|>assistant' }}",
	  "granite" },
	{ "OLMo-2-1124-7B-Instruct",
	  "{{ bos_token }}{% for message in messages %}{% if message['role'] == 'system' %}"
	  "{{ '<|system|>\\n' + message['content'] + '\\n' }}{% elif message['role'] == 'user' %}"
	  "{{ '<|user|>\\n' + message['content'] + '\\n' }}{% elif message['role'] == 'assistant' %}"
	  "{% if not loop.last %}{{ '<|assistant|>\\n'  + message['content'] + eos_token + '\\n' }}"
	  "{% else %}{{ '<|assistant|>\\n'  + message['content'] + eos_token }}{% endif %}{% endif %}"
	  "{% if loop.last and add_generation_prompt %}{{ '<|assistant|>\\n' }}{% endif %}{% endfor %}",
	  "olmo2" },
	{ "gemma-3-4b-it",
	  "{{ bos_token }}\n{%- if messages[0]['role'] == 'system' -%}\n"
	  "    {%- set first_user_prefix = messages[0]['content'] + '\\n\\n' -%}\n"
	  "{%- endif -%}\n{{ '<start_of_turn>' + role + '\\n' + (first_user_prefix if loop.first "
	  "else \"\") }}\n{{ '<end_of_turn>\\n' }}\n{%- if add_generation_prompt -%}\n"
	  "    {{'<start_of_turn>model\\n'}}\n{%- endif -%}\n",
	  "gemma" },
	{ "gemma-2-2b-it",
	  "{{ bos_token }}{% if messages[0]['role'] == 'system' %}{{ raise_exception('System role "
	  "not supported') }}{% endif %}{{ '<start_of_turn>' + role + '\\n' + message['content'] | "
	  "trim + '<end_of_turn>\\n' }}{% endfor %}{% if add_generation_prompt %}"
	  "{{'<start_of_turn>model\\n'}}{% endif %}",
	  "gemma" },
};

static void test_detect_families(void **state)
{
	(void)state;
	tu_check_detect(detect_cases, sizeof(detect_cases) / sizeof(detect_cases[0]));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_reasoning_goldens),
		cmocka_unit_test(test_reasoning_keys),
		cmocka_unit_test(test_keep_reasoning),
		cmocka_unit_test(test_reasoning_parse_errors),
		cmocka_unit_test(test_detect_families),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
