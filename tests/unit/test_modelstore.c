/* Tests of the model stores: quantization tags from file names, split
 * models counted once, ollama manifests that must not point outside
 * blobs/, and name resolution (tags, :latest, case, ambiguity) over a fake
 * HOME. No GGUF file is opened, so the files hold a few bytes each. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "errors.h"
#include "modelstore.h"
#include "paths.h"

static void test_quant_tags(void **state)
{
	(void)state;
	static const struct {
		const char *file, *tag;
	} cases[] = {
		{ "Qwen3-0.6B-Q4_K_M.gguf", "Q4_K_M" },
		{ "qwen3-0.6b-q8_0.gguf", "q8_0" },
		{ "Llama-3.2-1B-Instruct-IQ4_XS.gguf", "IQ4_XS" },
		{ "model.BF16.gguf", "BF16" },
		{ "model-f16-00001-of-00003.gguf", "f16" },
		{ "sub/Phi-4-Q5_K_M-imat.gguf", "Q5_K_M" },
		{ "stories260K.gguf", NULL },
		{ "Qwen2.5-7B.gguf", NULL },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const char *tag;
		size_t n = modelstore_quant_tag(cases[i].file, &tag);
		if (!cases[i].tag) {
			assert_int_equal(n, 0);
			continue;
		}
		assert_int_equal(n, strlen(cases[i].tag));
		assert_memory_equal(tag, cases[i].tag, n);
	}
}

static void put(const char *dir, const char *name, const char *text)
{
	char *path = paths_join(dir, name);
	char *slash = strrchr(path, '/');
	*slash = 0;
	assert_int_equal(paths_mkdir_p(path, 0700, NULL, 0), 0);
	*slash = '/';
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
	free(path);
}

static const char *manifest_fmt =
	"{\"layers\":[{\"mediaType\":\"application/vnd.ollama.image.model\",\"digest\":\"%s\"}]}";

static void put_manifest(const char *home, const char *name_tag, const char *digest)
{
	char *rel, *text;
	assert_true(asprintf(&rel, ".ollama/models/manifests/registry.ollama.ai/library/%s", name_tag) > 0);
	assert_true(asprintf(&text, manifest_fmt, digest) > 0);
	put(home, rel, text);
	free(rel);
	free(text);
}

static const struct modelstore_entry *find(const struct modelstore *s, const char *name)
{
	for (size_t i = 0; i < modelstore_count(s); i++)
		if (strcmp(modelstore_get(s, i)->name, name) == 0)
			return modelstore_get(s, i);
	return NULL;
}

static void test_stores(void **state)
{
	(void)state;
	char home[] = "/tmp/lt_modelstore_XXXXXX";
	assert_non_null(mkdtemp(home));
	char *cwd = getcwd(NULL, 0);
	assert_int_equal(chdir(home), 0);
	setenv("HOME", home, 1);
	unsetenv("OLLAMA_MODELS");
	unsetenv("HF_HOME");
	unsetenv("HF_HUB_CACHE");
	unsetenv("LLAMA_CACHE");
	unsetenv("XDG_DATA_HOME");

	put(home, ".ollama/models/blobs/sha256-abc", "x");
	put_manifest(home, "tiny/1b", "sha256:abc");
	put_manifest(home, "tiny/2b", "sha256:abc");
	put_manifest(home, "evil/latest", "sha256:../../../etc/passwd");
	const char *hub = ".cache/huggingface/hub/models--Org--Repo-GGUF/snapshots/r1/";
	char *f1, *f2;
	assert_true(asprintf(&f1, "%sRepo-Q4_K_M.gguf", hub) > 0);
	assert_true(asprintf(&f2, "%sRepo-Q8_0.gguf", hub) > 0);
	put(home, f1, "x");
	put(home, f2, "xy");
	free(f1);
	assert_true(asprintf(&f1, "%smmproj-F16.gguf", hub) > 0);
	put(home, f1, "x");
	free(f1);
	free(f2);
	put(home, ".cache/llama.cpp/big-00001-of-00003.gguf", "abc");
	put(home, ".cache/llama.cpp/big-00002-of-00003.gguf", "abcd");
	put(home, ".cache/llama.cpp/big-00003-of-00003.gguf", "abcde");
	put(home, ".local/share/llamaterm/models/mine.gguf", "x");

	struct modelstore *s;
	char err[2048];
	assert_int_equal(modelstore_new(&s, err, sizeof(err)), 0);
	assert_non_null(find(s, "tiny:1b"));
	assert_non_null(find(s, "Org/Repo-GGUF:Q4_K_M"));
	assert_null(find(s, "Org/Repo-GGUF:F16")); /* the vision projector */
	const struct modelstore_entry *evil = find(s, "evil:latest");
	assert_non_null(evil);
	assert_non_null(evil->problem);
	assert_non_null(strstr(evil->problem, "unusable digest"));
	const struct modelstore_entry *big = find(s, "big-00001-of-00003.gguf");
	assert_non_null(big);
	assert_int_equal(big->n_parts, 3);
	assert_int_equal(big->size, 12);
	assert_null(big->problem);
	assert_null(find(s, "big-00002-of-00003.gguf"));

	const char *path;
	assert_int_equal(modelstore_resolve(s, "tiny:1b", &path, err, sizeof(err)), 0);
	assert_non_null(strstr(path, "/blobs/sha256-abc"));
	assert_int_equal(modelstore_resolve(s, "library/TINY:2B", &path, err, sizeof(err)), 0);
	assert_int_equal(modelstore_resolve(s, "org/repo-gguf:q8_0", &path, err, sizeof(err)), 0);
	assert_non_null(strstr(path, "Repo-Q8_0.gguf"));
	assert_int_equal(modelstore_resolve(s, "mine", &path, err, sizeof(err)), 0);
	assert_int_equal(modelstore_resolve(s, "Org/Repo-GGUF", &path, err, sizeof(err)), LT_E_INVAL);
	assert_non_null(strstr(err, "2 candidates"));
	/* tiny has no :latest; its tags are offered. */
	assert_int_equal(modelstore_resolve(s, "tiny", &path, err, sizeof(err)), LT_E_NOTFOUND);
	assert_non_null(strstr(err, "candidates: tiny:1b, tiny:2b"));
	assert_int_equal(modelstore_resolve(s, "evil", &path, err, sizeof(err)), LT_E_IO);
	assert_int_equal(modelstore_resolve(s, "nothing", &path, err, sizeof(err)), LT_E_NOTFOUND);
	assert_non_null(strstr(err, "looked in ollama"));
	assert_null(strchr(err, '\n'));
	modelstore_free(s);

	assert_int_equal(chdir(cwd), 0);
	free(cwd);
	char *cmd;
	assert_true(asprintf(&cmd, "rm -rf '%s'", home) > 0);
	assert_int_equal(system(cmd), 0);
	free(cmd);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_quant_tags),
		cmocka_unit_test(test_stores),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
