/* Finding GGUF models where other tools keep them, and naming them.
 *
 * modelstore_new scans these stores, in this order (each directory once,
 * even when two variables name it):
 *   ollama     $OLLAMA_MODELS, ~/.ollama/models, /usr/share/ollama/.ollama/models:
 *              manifests/HOST/NAMESPACE/NAME/TAG (JSON) name a blob by the
 *              digest of their application/vnd.ollama.image.model layer,
 *              stored as blobs/sha256-HEX
 *   hf         $HF_HUB_CACHE, $HF_HOME/hub, ~/.cache/huggingface/hub:
 *              models--ORG--NAME/snapshots/REV/[DIR/]FILE.gguf (symlinks
 *              into ../../blobs)
 *   llama.cpp  $LLAMA_CACHE, ~/.cache/llama.cpp: FILE.gguf
 *   lmstudio   ~/.lmstudio/models, ~/.cache/lm-studio/models:
 *              PUBLISHER/REPO/FILE.gguf
 *   llamaterm  $XDG_DATA_HOME/llamaterm/models (~/.local/share/...)
 *   cwd        the current directory's *.gguf
 * A split model (NAME-00001-of-0000N.gguf) is one entry: the first part,
 * with the size of all parts; vision projectors (mmproj-*) are left out. Nothing here opens a GGUF file; `models`
 * reads the headers.
 *
 * Each entry has the name -m accepts (modelstore_resolve):
 *   ollama     llama3.2:1b (registry.ollama.ai/library/ left out),
 *              NAMESPACE/NAME:TAG, or HOST/NAMESPACE/NAME:TAG
 *   hf, lmstudio  ORG/REPO:QUANT, QUANT being the file name's quantization
 *              tag (Q4_K_M, IQ4_XS, BF16...), or ORG/REPO/FILE without one
 *   others     the file name (relative to the store) */
#ifndef LT_MODELSTORE_H
#define LT_MODELSTORE_H

#include <stddef.h>
#include <stdint.h>

enum modelstore_kind {
	MODELSTORE_OLLAMA,
	MODELSTORE_HF,
	MODELSTORE_LLAMACPP,
	MODELSTORE_LMSTUDIO,
	MODELSTORE_LLAMATERM,
	MODELSTORE_CWD,
};

struct modelstore_entry {
	enum modelstore_kind kind;
	const char *name;    /* what -m accepts (see above) */
	const char *path;    /* the file; of a split model, the first part */
	const char **parts;  /* every part's path (parts[0] == path) */
	int n_parts;
	uint64_t size;       /* bytes of every part that exists */
	const char *problem; /* NULL, or why the file cannot be used (a manifest
			      * without a model layer, a missing blob or part) */
};

struct modelstore;

/* Scans every store. Missing or unreadable directories are skipped; only
 * running out of memory fails (LT_E_NOMEM). */
int modelstore_new(struct modelstore **out, char *err, size_t errlen);
void modelstore_free(struct modelstore *s);

size_t modelstore_count(const struct modelstore *s);
const struct modelstore_entry *modelstore_get(const struct modelstore *s, size_t i);

/* The directories looked in (whether they exist or not), for messages. */
size_t modelstore_n_roots(const struct modelstore *s);
const char *modelstore_root(const struct modelstore *s, size_t i, enum modelstore_kind *kind);

/* "ollama", "hf", "llama.cpp", "lmstudio", "llamaterm", "cwd". */
const char *modelstore_kind_name(enum modelstore_kind kind);

/* Resolves a model name (see above; an ollama name without a tag means
 * :latest, NAME alone means library/NAME, an ORG/REPO without :QUANT is
 * fine when the repository has one model, names compare without case, and
 * a plain file name may leave out .gguf) to the entry's path, which lives
 * as long as s. Returns 0, LT_E_NOTFOUND with a message that lists the
 * candidates of the same repository or else the directories looked in,
 * LT_E_INVAL when several entries match (the message lists them), or the
 * problem of the one that matched (LT_E_IO). */
int modelstore_resolve(const struct modelstore *s, const char *ref, const char **path, char *err,
		       size_t errlen);

/* The quantization tag of a GGUF file name ("Qwen3-0.6B-Q4_K_M.gguf" ->
 * "Q4_K_M"): the last '-' or '.' separated word of the name without .gguf
 * and a split suffix that reads as one (F16, BF16, F32, Q8_0, IQ4_XS...).
 * Returns its length and sets *tag into name, or 0. */
size_t modelstore_quant_tag(const char *name, const char **tag);

#endif
