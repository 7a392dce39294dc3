/* llamaterm models: every GGUF model the stores of ollama, the Hugging Face
 * hub, llama.cpp, LM Studio and llamaterm hold, and the current directory's
 * (src/modelstore.h finds and names them), with what each file's header
 * says and whether it fits in the memory available now. Only headers are
 * read (gguf_open maps the file; no weights are touched). */
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "commands.h"
#include "context.h"
#include "errors.h"
#include "gguf.h"
#include "modelinfo.h"
#include "modelstore.h"
#include "options.h"
#include "picker.h"

#define MODELS_UNKNOWN UINT64_MAX

/* One entry of the store with its header's figures. */
struct models_row {
	const struct modelstore_entry *e;
	char *error;         /* why the file cannot be read (it is still listed) */
	char *skipped;       /* why it is not a model (it is left out of the table) */
	char *arch;
	char quant[32];      /* "Q4_K_M" */
	uint64_t n_params, weights;
	int64_t n_ctx;
	uint64_t need;       /* weights + f16 KV cache of the default context */
};

static void models_usage(FILE *out)
{
	fprintf(out, "usage: llamaterm models [--json]\n\n"
		     "Lists the GGUF models found in ollama's store ($OLLAMA_MODELS, ~/.ollama/models,\n"
		     "/usr/share/ollama/.ollama/models), the Hugging Face hub cache ($HF_HUB_CACHE,\n"
		     "$HF_HOME/hub, ~/.cache/huggingface/hub), llama.cpp's cache ($LLAMA_CACHE,\n"
		     "~/.cache/llama.cpp), LM Studio's (~/.lmstudio/models, ~/.cache/lm-studio/models),\n"
		     "$XDG_DATA_HOME/llamaterm/models and the current directory: name (what -m\n"
		     "accepts), store, architecture, parameters, quantization, file size, context\n"
		     "length, and whether the weights and an f16 KV cache of the default context\n"
		     "(the model's, at most %d) fit in the available memory.\n\n",
		CTX_DEFAULT_N_CTX);
	options_print_help(out, OPTC_MODELS);
}

/* MemAvailable of /proc/meminfo in bytes, or MODELS_UNKNOWN. */
static uint64_t models_mem_available(void)
{
	FILE *f = fopen("/proc/meminfo", "r");
	if (!f)
		return MODELS_UNKNOWN;
	char line[256];
	uint64_t out = MODELS_UNKNOWN;
	unsigned long long kb;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "MemAvailable: %llu kB", &kb) == 1) {
			out = (uint64_t)kb * 1024;
			break;
		}
	fclose(f);
	return out;
}

/* The quantization llama.cpp names the file by (general.file_type), or the
 * tensor type holding the most bytes when the file does not say. */
static void models_quant(const struct modelinfo *mi, char *buf, size_t len)
{
	const char *ft = modelinfo_ftype_name(mi->file_type);
	if (ft) {
		const char *us = strchr(ft, '_');
		snprintf(buf, len, "%s", us ? us + 1 : ft);
		return;
	}
	int best = -1;
	for (int t = 0; t < GGML_TYPE_COUNT; t++)
		if (mi->types[t].bytes && (best < 0 || mi->types[t].bytes > mi->types[best].bytes))
			best = t;
	snprintf(buf, len, "%s", best >= 0 ? dtype_name((enum ggml_type)best) : "-");
	for (char *p = buf; *p; p++)
		if (*p >= 'a' && *p <= 'z')
			*p = (char)(*p - 'a' + 'A');
}

/* Why a readable GGUF file is not a model we would list, or NULL: vocabulary
 * files, adapters and vision projectors have no language-model blocks. */
static char *models_not_a_model(const struct gguf *g, const struct modelinfo *mi)
{
	const char *type = NULL;
	char *why = NULL;
	if (gguf_get_str(g, "general.type", &type, NULL) == 0 && strcmp(type, "model") != 0) {
		if (asprintf(&why, "general.type is '%s', not a model", type) < 0)
			why = NULL;
	} else if (gguf_n_tensors(g) == 0) {
		why = strdup("no tensors (a vocabulary-only file)");
	} else if (!mi->arch || mi->n_layer == MODELINFO_NONE) {
		if (asprintf(&why, "no %s.block_count: not a language model",
			     mi->arch ? mi->arch : "general.architecture") < 0)
			why = NULL;
	}
	return why;
}

/* Reads the headers of every part of an entry into r. */
static int models_read(struct models_row *r)
{
	const struct modelstore_entry *e = r->e;
	char err[1024];
	r->n_params = r->weights = 0;
	r->need = MODELS_UNKNOWN;
	r->n_ctx = MODELINFO_NONE;
	if (e->problem)
		return (r->error = strdup(e->problem)) ? 0 : LT_E_NOMEM;
	for (int k = 0; k < e->n_parts; k++) {
		struct gguf *g;
		if (gguf_open(&g, e->parts[k], 0, err, sizeof(err)))
			return (r->error = strdup(err)) ? 0 : LT_E_NOMEM;
		struct modelinfo mi;
		modelinfo_fill(&mi, g);
		r->n_params += mi.n_params;
		r->weights += mi.tensor_bytes;
		if (k == 0) {
			r->skipped = models_not_a_model(g, &mi);
			r->arch = strdup(mi.arch ? mi.arch : "-");
			models_quant(&mi, r->quant, sizeof(r->quant));
			r->n_ctx = mi.n_ctx;
			/* The KV cache as ctx_new sizes it when -c is not given. */
			int64_t n_ctx = mi.n_ctx > 0 && mi.n_ctx < CTX_DEFAULT_N_CTX ? mi.n_ctx
										   : CTX_DEFAULT_N_CTX;
			if (mi.kv_f16)
				r->need = mi.kv_f16 * (uint64_t)n_ctx + mi.kv_f16_window;
		}
		gguf_free(g);
		if (!r->arch)
			return LT_E_NOMEM;
	}
	if (r->need != MODELS_UNKNOWN)
		r->need += r->weights;
	return 0;
}

/* 292800 -> "292.8K", 1235814400 -> "1.24B". */
static struct modelinfo_num models_count(uint64_t n)
{
	struct modelinfo_num s;
	if (n >= 1000000000)
		snprintf(s.s, sizeof(s.s), "%.2fB", n / 1e9);
	else if (n >= 1000000)
		snprintf(s.s, sizeof(s.s), "%.1fM", n / 1e6);
	else
		snprintf(s.s, sizeof(s.s), "%.1fK", n / 1e3);
	return s;
}

static const char *models_fits(const struct models_row *r, uint64_t avail)
{
	if (r->need == MODELS_UNKNOWN || avail == MODELS_UNKNOWN)
		return "?";
	return r->need <= avail ? "yes" : "no";
}

/* A name or file string, escaped so it cannot drive the terminal, padded
 * to width columns. */
static void models_cell(const char *s, int width)
{
	size_t cols = modelinfo_escape(stdout, s, strlen(s), 200, false);
	printf("%*s", width > (int)cols ? width - (int)cols : 0, "");
}

static void models_text(const struct modelstore *s, const struct models_row *rows, size_t n,
			uint64_t avail)
{
	int wname = 4, warch = 4;
	size_t n_listed = 0;
	for (size_t i = 0; i < n; i++) {
		if (rows[i].skipped)
			continue;
		n_listed++;
		if ((int)strlen(rows[i].e->name) > wname)
			wname = (int)strlen(rows[i].e->name);
		if (rows[i].arch && (int)strlen(rows[i].arch) > warch)
			warch = (int)strlen(rows[i].arch);
	}
	if (n_listed == 0) {
		/* The first run's likely answer: say where a model would be found. */
		printf("no models found; looked in:\n");
		enum modelstore_kind kind;
		for (size_t i = 0; i < modelstore_n_roots(s); i++) {
			const char *root = modelstore_root(s, i, &kind);
			printf("  %-9s  ", modelstore_kind_name(kind));
			models_cell(root, 0);
			putchar('\n');
		}
	} else
		printf("%-*s  %-9s  %-*s  %8s  %-8s  %10s  %7s  %s\n", wname, "NAME", "STORE", warch,
		       "ARCH", "PARAMS", "QUANT", "SIZE", "CONTEXT", "FITS");
	for (size_t i = 0; i < n; i++) {
		const struct models_row *r = &rows[i];
		if (r->skipped)
			continue;
		models_cell(r->e->name, wname);
		printf("  %-9s  ", modelstore_kind_name(r->e->kind));
		if (r->error) {
			fputs("error: ", stdout);
			models_cell(r->error, 0);
			putchar('\n');
			continue;
		}
		models_cell(r->arch, warch);
		printf("  %8s  %-8s  %10s  %7s  %s\n", models_count(r->n_params).s, r->quant,
		       modelinfo_bytes(r->e->size).s,
		       r->n_ctx > 0 ? modelinfo_thousands((uint64_t)r->n_ctx).s : "-",
		       models_fits(r, avail));
	}
	for (size_t i = 0; i < n; i++)
		if (rows[i].skipped) {
			fputs("skipped ", stdout);
			models_cell(rows[i].e->path, 0);
			printf(": %s\n", rows[i].skipped);
		}
	if (n_listed)
		printf("FITS: the weights and an f16 KV cache of the model's context (at most %d) "
		       "against %s available\n", CTX_DEFAULT_N_CTX,
		       avail == MODELS_UNKNOWN ? "unknown memory" : modelinfo_bytes(avail).s);
}

static void json_key_str(const char *key, const char *value, bool comma)
{
	printf("\"%s\": ", key);
	if (value)
		cli_json_string(stdout, value);
	else
		fputs("null", stdout);
	if (comma)
		fputs(", ", stdout);
}

static void json_key_u64(const char *key, uint64_t value, bool comma)
{
	if (value == MODELS_UNKNOWN)
		printf("\"%s\": null%s", key, comma ? ", " : "");
	else
		printf("\"%s\": %" PRIu64 "%s", key, value, comma ? ", " : "");
}

static void models_json(const struct models_row *rows, size_t n, uint64_t avail)
{
	printf("{\"memory_available\": ");
	if (avail == MODELS_UNKNOWN)
		fputs("null", stdout);
	else
		printf("%" PRIu64, avail);
	printf(", \"default_context\": %d, \"models\": [", CTX_DEFAULT_N_CTX);
	bool first = true;
	for (size_t i = 0; i < n; i++) {
		const struct models_row *r = &rows[i];
		if (r->skipped)
			continue;
		printf("%s\n  {", first ? "" : ",");
		first = false;
		json_key_str("name", r->e->name, true);
		json_key_str("store", modelstore_kind_name(r->e->kind), true);
		json_key_str("path", r->e->path, true);
		printf("\"parts\": %d, ", r->e->n_parts);
		json_key_u64("size", r->e->size, true);
		if (r->error) {
			json_key_str("error", r->error, false);
			putchar('}');
			continue;
		}
		json_key_str("architecture", r->arch, true);
		json_key_u64("parameters", r->n_params, true);
		json_key_str("quantization", r->quant, true);
		json_key_u64("context_length", r->n_ctx > 0 ? (uint64_t)r->n_ctx : MODELS_UNKNOWN, true);
		json_key_u64("memory_needed", r->need, true);
		const char *fits = models_fits(r, avail);
		printf("\"fits\": %s}", fits[0] == 'y' ? "true" : fits[0] == 'n' ? "false" : "null");
	}
	printf("%s], \"skipped\": [", first ? "" : "\n");
	first = true;
	for (size_t i = 0; i < n; i++)
		if (rows[i].skipped) {
			printf("%s\n  {", first ? "" : ",");
			first = false;
			json_key_str("path", rows[i].e->path, true);
			json_key_str("reason", rows[i].skipped, false);
			putchar('}');
		}
	printf("%s]}\n", first ? "" : "\n");
}

/* Scans the stores and reads every entry's headers into *rows. */
static int models_scan(struct modelstore **s, struct models_row **rows, size_t *n, char *err,
		       size_t errlen)
{
	*rows = NULL;
	*n = 0;
	int rc = modelstore_new(s, err, errlen);
	if (rc)
		return rc;
	*n = modelstore_count(*s);
	*rows = calloc(*n ? *n : 1, sizeof(**rows));
	if (!*rows)
		return lt_seterr(err, errlen, LT_E_NOMEM, "out of memory");
	for (size_t i = 0; i < *n; i++) {
		(*rows)[i].e = modelstore_get(*s, i);
		if ((rc = models_read(&(*rows)[i])) != 0)
			return lt_seterr(err, errlen, rc, "out of memory");
	}
	return 0;
}

static void models_scan_free(struct modelstore *s, struct models_row *rows, size_t n)
{
	for (size_t i = 0; rows && i < n; i++) {
		free(rows[i].error);
		free(rows[i].skipped);
		free(rows[i].arch);
	}
	free(rows);
	modelstore_free(s);
}

int cmd_models(int argc, char **argv)
{
	struct options o;
	options_defaults(&o);
	int rc = cli_parse(&o, argc, argv, OPTC_MODELS, "models", models_usage, CLI_NO_ARGS);
	if (rc >= 0)
		return rc;
	char err[512];
	struct modelstore *s = NULL;
	struct models_row *rows;
	size_t n;
	rc = models_scan(&s, &rows, &n, err, sizeof(err));
	if (rc)
		fprintf(stderr, "llamaterm models: %s\n", err);
	else if (o.json)
		models_json(rows, n, models_mem_available());
	else
		models_text(s, rows, n, models_mem_available());
	models_scan_free(s, rows, n);
	return rc ? 1 : 0;
}

/* The picker's lines when nothing was found: where it looked, and the
 * commands that get a model where it will look next time. */
static char **models_empty_lines(const struct modelstore *s, size_t *n_out)
{
	static const char *const how[] = {
		"",
		"To get one (then run llamaterm again):",
		"  ollama pull llama3.2:1b",
		"  huggingface-cli download Qwen/Qwen3-0.6B-GGUF --include '*Q8_0.gguf'",
		"  curl -LO https://huggingface.co/Qwen/Qwen3-0.6B-GGUF/resolve/main/Qwen3-0.6B-Q8_0.gguf",
		"  (the last one into the current directory or ~/.local/share/llamaterm/models)",
		"",
		"Any key leaves; llamaterm chat -m FILE.gguf opens a file anywhere.",
	};
	size_t n_how = sizeof(how) / sizeof(how[0]), n_roots = modelstore_n_roots(s);
	char **lines = calloc(n_roots + n_how + 1, sizeof(char *));
	size_t n = 0;
	if (!lines)
		return NULL;
	lines[n++] = strdup("No GGUF models found on this machine. Looked in:");
	for (size_t i = 0; i < n_roots; i++) {
		enum modelstore_kind kind;
		const char *root = modelstore_root(s, i, &kind);
		if (asprintf(&lines[n], "  %-9s  %s", modelstore_kind_name(kind), root) < 0)
			lines[n] = NULL;
		n++;
	}
	for (size_t i = 0; i < n_how; i++)
		lines[n++] = strdup(how[i]);
	for (size_t i = 0; i < n; i++)
		if (!lines[i])
			lines[i] = strdup("");
	*n_out = n;
	return lines;
}

int models_pick(char **path)
{
	*path = NULL;
	char err[512];
	struct modelstore *s = NULL;
	struct models_row *rows;
	size_t n;
	int rc = models_scan(&s, &rows, &n, err, sizeof(err));
	uint64_t avail = models_mem_available();
	struct picker_item *items = calloc(n ? n : 1, sizeof(*items));
	char **labels = calloc(n ? n : 1, sizeof(char *));
	size_t *index = calloc(n ? n : 1, sizeof(size_t));
	size_t n_items = 0;
	if (!rc && (!items || !labels || !index))
		rc = lt_seterr(err, sizeof(err), LT_E_NOMEM, "out of memory");
	int wname = 4;
	for (size_t i = 0; !rc && i < n; i++)
		if (!rows[i].skipped && (int)strlen(rows[i].e->name) > wname)
			wname = (int)strlen(rows[i].e->name);
	for (size_t i = 0; !rc && i < n; i++) {
		const struct models_row *r = &rows[i];
		if (r->skipped)
			continue;
		int k;
		if (r->error)
			k = asprintf(&labels[n_items], "%-*s  %-9s  error: %s", wname, r->e->name,
				     modelstore_kind_name(r->e->kind), r->error);
		else
			k = asprintf(&labels[n_items], "%-*s  %-9s  %s %s %s %s  fits: %s", wname,
				     r->e->name, modelstore_kind_name(r->e->kind), r->arch,
				     models_count(r->n_params).s, r->quant,
				     modelinfo_bytes(r->e->size).s, models_fits(r, avail));
		if (k < 0) {
			labels[n_items] = NULL;
			rc = lt_seterr(err, sizeof(err), LT_E_NOMEM, "out of memory");
			break;
		}
		items[n_items] = (struct picker_item){ .label = labels[n_items], .usable = !r->error };
		index[n_items++] = i;
	}
	size_t n_empty = 0;
	char **empty = !rc && n_items == 0 ? models_empty_lines(s, &n_empty) : NULL;
	size_t chosen = 0;
	if (!rc) {
		rc = picker_run(" llamaterm: pick a model to chat with", items, n_items,
				(const char *const *)empty, n_empty, &chosen);
		if (rc < 0)
			snprintf(err, sizeof(err), "cannot set up the terminal");
	}
	if (rc == 1 && !(*path = strdup(rows[index[chosen]].e->path)))
		rc = lt_seterr(err, sizeof(err), LT_E_NOMEM, "out of memory");
	if (rc < 0)
		fprintf(stderr, "llamaterm: %s\n", err);
	for (size_t i = 0; i < n_empty; i++)
		free(empty[i]);
	free(empty);
	for (size_t i = 0; i < n_items; i++)
		free(labels[i]);
	free(labels);
	free(items);
	free(index);
	models_scan_free(s, rows, n);
	return rc;
}
