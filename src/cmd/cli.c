#include "cli.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "errors.h"
#include "gguf.h"
#include "modelinfo.h"
#include "modelstore.h"
#include "utf8.h"
#include "vocab.h"

int cli_read_file(const char *path, char **text, size_t *len, char *err, size_t errlen)
{
	*text = NULL;
	*len = 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return lt_seterr(err, errlen, LT_E_IO, "%s: cannot open: %s", path, strerror(errno));
	struct stat st;
	if (fstat(fd, &st) != 0 || S_ISDIR(st.st_mode)) {
		int e = S_ISDIR(st.st_mode) ? EISDIR : errno;
		close(fd);
		return lt_seterr(err, errlen, LT_E_IO, "%s: cannot read: %s", path, strerror(e));
	}
	size_t cap = st.st_size > 0 ? (size_t)st.st_size + 1 : 4096, n = 0;
	char *buf = malloc(cap);
	if (!buf) {
		close(fd);
		return lt_seterr(err, errlen, LT_E_NOMEM, "%s: out of memory", path);
	}
	for (;;) {
		if (n + 1 >= cap) {
			char *bigger = realloc(buf, cap * 2);
			if (!bigger) {
				free(buf);
				close(fd);
				return lt_seterr(err, errlen, LT_E_NOMEM, "%s: out of memory", path);
			}
			buf = bigger;
			cap *= 2;
		}
		ssize_t got = read(fd, buf + n, cap - 1 - n);
		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0) {
			int e = errno;
			free(buf);
			close(fd);
			return lt_seterr(err, errlen, LT_E_IO, "%s: read failed: %s", path, strerror(e));
		}
		if (got == 0)
			break;
		n += (size_t)got;
	}
	close(fd);
	buf[n] = 0;
	*text = buf;
	*len = n;
	return 0;
}

int cli_model_path(const char *ref, const char *cmd, char **path)
{
	*path = NULL;
	/* A file that exists, or a path spelled as one, is used as it is (a
	 * missing one gets model_open's error naming it). */
	struct stat st;
	if (stat(ref, &st) == 0 || ref[0] == '/' || strncmp(ref, "./", 2) == 0 ||
	    strncmp(ref, "../", 3) == 0)
		return 0;
	char err[2048];
	struct modelstore *s;
	const char *found;
	if (modelstore_new(&s, err, sizeof(err)) ||
	    modelstore_resolve(s, ref, &found, err, sizeof(err))) {
		fprintf(stderr, "llamaterm %s: %s\n", cmd, err);
		modelstore_free(s);
		return 1;
	}
	*path = strdup(found);
	modelstore_free(s);
	if (!*path) {
		fprintf(stderr, "llamaterm %s: out of memory\n", cmd);
		return 1;
	}
	return 0;
}

/* Replaces -m's argument in argv with the path its name resolves to, so
 * the path lives as long as the other arguments (o->model points into
 * argv either way) and is not a leak at exit: argv stays reachable. */
static int cli_resolve_model(struct options *o, int argc, char **argv, const char *cmd)
{
	char *path;
	if (cli_model_path(o->model, cmd, &path))
		return 1;
	if (!path)
		return 0;
	for (int i = 1; i < argc; i++) {
		const char *eq = strchr(argv[i], '=');
		if (argv[i] == o->model || (eq && eq + 1 == o->model)) {
			argv[i] = path;
			o->model = path;
			return 0;
		}
	}
	free(path); /* not from argv (a test's own options): leave it alone */
	return 0;
}

int cli_parse(struct options *o, int argc, char **argv, unsigned mask, const char *cmd,
	      void (*usage)(FILE *), unsigned checks)
{
	int rc = options_parse(o, argc, argv, mask);
	if (rc)
		return rc;
	if (o->help) {
		usage(stdout);
		return 0;
	}
	if ((checks & CLI_NO_ARGS) && o->n_positional) {
		fprintf(stderr, "llamaterm %s: unexpected argument '%s'\n", cmd, o->positional[0]);
		return 2;
	}
	/* With --remote, -m is the name the server knows the model by. */
	if (o->remote)
		return -1;
	if ((checks & CLI_NEED_MODEL) && !o->model) {
		fprintf(stderr, "llamaterm %s: a model is required (-m FILE)\n", cmd);
		return 2;
	}
	if (o->model && cli_resolve_model(o, argc, argv, cmd))
		return 1;
	return -1;
}

int cli_read_prompt(const struct options *o, const char *cmd, char **text, size_t *len)
{
	if (o->prompt && o->prompt_file) {
		fprintf(stderr, "llamaterm %s: give either -p or -f, not both\n", cmd);
		return 2;
	}
	if (o->prompt) {
		*len = strlen(o->prompt);
		*text = strdup(o->prompt);
		if (!*text) {
			fprintf(stderr, "llamaterm %s: out of memory\n", cmd);
			return 1;
		}
		return cli_valid_text(cmd, "-p", text, len);
	}
	if (!o->prompt_file) {
		fprintf(stderr, "llamaterm %s: a prompt is required (-p TEXT or -f FILE)\n", cmd);
		return 2;
	}
	char err[512];
	if (cli_read_file(o->prompt_file, text, len, err, sizeof(err))) {
		fprintf(stderr, "llamaterm %s: %s\n", cmd, err);
		return 1;
	}
	return cli_valid_text(cmd, o->prompt_file, text, len);
}

int cli_valid_text(const char *cmd, const char *what, char **text, size_t *len)
{
	size_t bad;
	char *v = utf8_sanitize(*text, *len, len, &bad);
	if (!v) {
		fprintf(stderr, "llamaterm %s: out of memory\n", cmd);
		return 1;
	}
	if (bad)
		fprintf(stderr, "llamaterm %s: %s: not valid UTF-8: %zu invalid byte sequence%s replaced "
			"with U+FFFD\n", cmd, what, bad, bad == 1 ? "" : "s");
	free(*text);
	*text = v;
	return 0;
}

int cli_open_vocab(const char *path, int gguf_flags, const char *cmd, struct gguf **g,
		   struct vocab **v)
{
	char err[512];
	*g = NULL;
	*v = NULL;
	if (gguf_open(g, path, gguf_flags, err, sizeof(err)) ||
	    vocab_open(v, *g, err, sizeof(err))) {
		fprintf(stderr, "llamaterm %s: %s\n", cmd, err);
		gguf_free(*g);
		*g = NULL;
		return 1;
	}
	return 0;
}

struct model_params cli_model_params(const struct options *o)
{
	struct model_params mp = model_params_default();
	mp.use_mmap = !o->no_mmap;
	mp.use_mlock = o->mlock;
	return mp;
}

int cli_open_model(const struct options *o, const char *cmd, struct model **m, struct vocab **v)
{
	char err[512];
	struct model_params mp = cli_model_params(o);
	*m = NULL;
	if (v)
		*v = NULL;
	if (model_open(m, o->model, &mp, err, sizeof(err)) ||
	    (v && vocab_open(v, model_gguf(*m), err, sizeof(err)))) {
		fprintf(stderr, "llamaterm %s: %s\n", cmd, err);
		model_free(*m);
		*m = NULL;
		return 1;
	}
	return 0;
}

int cli_ctx_params(const struct options *o, const char *cmd, int n_ctx, int n_batch,
		   struct ctx_params *cp)
{
	*cp = ctx_params_default();
	cp->n_ctx = n_ctx;
	cp->n_batch = n_batch;
	cp->n_threads = o->n_threads > 0 ? o->n_threads : cli_physical_cores();
	cp->kv_type = dtype_from_name(o->kv_type);
	if (cp->kv_type != GGML_TYPE_F16 && cp->kv_type != GGML_TYPE_F32 &&
	    cp->kv_type != GGML_TYPE_Q8_0 && cp->kv_type != GGML_TYPE_Q4_0) {
		fprintf(stderr, "llamaterm %s: --kv-type must be f32, f16, q8_0 or q4_0\n", cmd);
		return 2;
	}
	return 0;
}

int cli_tokenize(const struct vocab *v, const char *text, size_t len, int add_special,
		 int parse_special, const char *cmd, int32_t **ids, int *n)
{
	/* Every byte becomes at most one token, plus BOS and EOS. */
	size_t cap = len + 2;
	if (cap > 0x7fffffff) {
		fprintf(stderr, "llamaterm %s: text too long (%zu bytes)\n", cmd, len);
		return 1;
	}
	int32_t *buf = malloc(cap * sizeof(*buf));
	if (!buf) {
		fprintf(stderr, "llamaterm %s: out of memory\n", cmd);
		return 1;
	}
	int got = vocab_tokenize(v, text, len, add_special, parse_special, buf, (int)cap);
	if (got < 0 || (size_t)got > cap) {
		fprintf(stderr, "llamaterm %s: tokenization failed: %s\n", cmd,
			got < 0 ? lt_strerror(got) : "more tokens than bytes");
		free(buf);
		return 1;
	}
	*ids = buf;
	*n = got;
	return 0;
}

void cli_print_prompt(FILE *out, const struct vocab *v, const int32_t *ids, int n)
{
	fprintf(out, "prompt: %d tokens\n", n);
	for (int i = 0; i < n; i++) {
		char piece[256];
		int len = vocab_token_to_piece(v, ids[i], piece, sizeof(piece), true);
		fprintf(out, "%8d -> '", (int)ids[i]);
		modelinfo_escape(out, piece, len > 0 && (size_t)len <= sizeof(piece) ? (size_t)len : 0,
				 sizeof(piece), false);
		fputs("'\n", out);
	}
}

int cli_physical_cores(void)
{
	/* Count distinct (package, core) pairs; hyper-threads repeat a pair. */
	FILE *f = fopen("/proc/cpuinfo", "r");
	long online = sysconf(_SC_NPROCESSORS_ONLN);
	if (online < 1)
		online = 1;
	if (!f)
		return (int)online;
	enum { MAX_CORES = 1024 };
	static const int unset = -1;
	int pkg = unset, n = 0;
	long seen[MAX_CORES];
	char line[256];
	while (fgets(line, sizeof(line), f)) {
		int v;
		if (sscanf(line, "physical id : %d", &v) == 1)
			pkg = v;
		else if (sscanf(line, "core id : %d", &v) == 1 && pkg != unset) {
			long key = (long)pkg << 20 | v;
			bool dup = false;
			for (int i = 0; i < n && !dup; i++)
				dup = seen[i] == key;
			if (!dup && n < MAX_CORES)
				seen[n++] = key;
		}
	}
	fclose(f);
	return n > 0 && n <= online ? n : (int)online;
}

double cli_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

void cli_json_string(FILE *out, const char *s)
{
	fputc('"', out);
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if (*p == '"' || *p == '\\')
			fprintf(out, "\\%c", *p);
		else if (*p < 0x20)
			fprintf(out, "\\u%04x", *p);
		else
			fputc(*p, out);
	}
	fputc('"', out);
}

/* Reads a "Key:   123 kB" line of /proc/self/status, in bytes (0 if absent). */
uint64_t cli_proc_status_bytes(const char *key)
{
	FILE *f = fopen("/proc/self/status", "r");
	if (!f)
		return 0;
	char line[256];
	uint64_t kb = 0;
	size_t klen = strlen(key);
	while (fgets(line, sizeof(line), f))
		if (strncmp(line, key, klen) == 0 && line[klen] == ':') {
			kb = strtoull(line + klen + 1, NULL, 10);
			break;
		}
	fclose(f);
	return kb * 1024;
}

void cli_reasoning_write(const char *text, size_t len, bool *open)
{
	if (!len)
		return;
	if (!*open && isatty(STDERR_FILENO))
		fputs("\x1b[2m", stderr);
	*open = true;
	fwrite(text, 1, len, stderr);
	fflush(stderr);
}

void cli_reasoning_end(bool *open)
{
	if (!*open)
		return;
	fputs(isatty(STDERR_FILENO) ? "\x1b[0m\n" : "\n", stderr);
	fflush(stderr);
	*open = false;
}

int cli_reasoning_option(const struct options *o, const char *cmd, bool *show)
{
	*show = true;
	if (!o->reasoning || !strcmp(o->reasoning, "show"))
		return 0;
	if (!strcmp(o->reasoning, "hide")) {
		*show = false;
		return 0;
	}
	fprintf(stderr, "llamaterm %s: --reasoning: '%s' is neither show nor hide\n", cmd, o->reasoning);
	return 2;
}
