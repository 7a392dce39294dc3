/* Opening split models. See gguf_split.h. */
#include "gguf_split.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "errors.h"

/* llama.cpp's part names: PREFIX-%05d-of-%05d.gguf, counted from 1. */
#define SPLIT_SUFFIX_LEN (sizeof("-00001-of-00001.gguf") - 1)

/* The part's number and the count from its name, or 0 when the name has
 * no split suffix; *prefix_len gets the bytes before the suffix. */
static int split_name(const char *path, int *count, size_t *prefix_len)
{
	size_t n = strlen(path);
	if (n <= SPLIT_SUFFIX_LEN)
		return 0;
	const char *s = path + n - SPLIT_SUFFIX_LEN;
	int no = 0, len = 0;
	if (sscanf(s, "-%5d-of-%5d.gguf%n", &no, count, &len) != 2 || (size_t)len != SPLIT_SUFFIX_LEN)
		return 0;
	*prefix_len = n - SPLIT_SUFFIX_LEN;
	return no;
}

/* A split key as an integer, or -1 when absent. */
static int64_t split_key(const struct gguf *g, const char *key)
{
	int64_t v;
	return gguf_get_i64(g, key, &v) == 0 ? v : -1;
}

int gguf_open_split(struct gguf **out, const char *path, int flags, char *err, size_t errlen)
{
	*out = NULL;
	struct gguf *g;
	int rc = gguf_open(&g, path, flags, err, errlen);
	if (rc)
		return rc;
	int64_t count = split_key(g, "split.count"), no = split_key(g, "split.no");
	if (count <= 1) {
		*out = g;
		return 0;
	}
	int name_count = 0;
	size_t prefix = 0;
	int name_no = split_name(path, &name_count, &prefix);
	if (no != 0) {
		rc = lt_seterr(err, errlen, LT_E_INVAL,
			       "%s: part %" PRId64 " of a model split in %" PRId64 "; open the first "
			       "(-00001-of-%05" PRId64 ".gguf)", path, no + 1, count, count);
		goto fail;
	}
	if (name_no != 1 || name_count != count || count > 99999) {
		rc = lt_seterr(err, errlen, LT_E_FORMAT,
			       "%s: the first of %" PRId64 " parts, but its name does not end in "
			       "-00001-of-%05" PRId64 ".gguf, so the others cannot be found", path,
			       count, count);
		goto fail;
	}
	for (int64_t k = 2; k <= count; k++) {
		char *part_path = NULL;
		if (asprintf(&part_path, "%.*s-%05d-of-%05d.gguf", (int)prefix, path, (int)k,
			     (int)count) < 0) {
			rc = lt_seterr(err, errlen, LT_E_NOMEM, "%s: out of memory", path);
			goto fail;
		}
		struct gguf *part;
		char part_err[512];
		rc = gguf_open(&part, part_path, flags, part_err, sizeof(part_err));
		if (rc) {
			rc = lt_seterr(err, errlen, rc, "%s: part %" PRId64 " of %" PRId64 ": %s", path,
				       k, count, part_err);
			free(part_path);
			goto fail;
		}
		if (split_key(part, "split.no") != k - 1 || split_key(part, "split.count") != count) {
			rc = lt_seterr(err, errlen, LT_E_FORMAT,
				       "%s: says it is not part %" PRId64 " of %" PRId64 " (split.no, "
				       "split.count)", part_path, k, count);
			gguf_free(part);
			free(part_path);
			goto fail;
		}
		free(part_path);
		if ((rc = gguf_merge(g, part, err, errlen)) != 0)
			goto fail;
	}
	int64_t want = split_key(g, "split.tensors.count");
	if (want >= 0 && want != gguf_n_tensors(g)) {
		rc = lt_seterr(err, errlen, LT_E_FORMAT,
			       "%s: the %" PRId64 " parts hold %" PRId64 " tensors, split.tensors.count "
			       "says %" PRId64, path, count, gguf_n_tensors(g), want);
		goto fail;
	}
	*out = g;
	return 0;
fail:
	gguf_free(g);
	return rc;
}
