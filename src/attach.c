/* Attached files. See attach.h. */
#include "attach.h"

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "errors.h"
#include "utf8.h"

/* "~/x" as $HOME/x; anything else as it is. *owned is what to free. */
static const char *attach_expand(const char *path, char **owned)
{
	*owned = NULL;
	const char *home = getenv("HOME");
	if (strncmp(path, "~/", 2) != 0 || !home || !*home)
		return path;
	if (asprintf(owned, "%s/%s", home, path + 2) < 0) {
		*owned = NULL;
		return path;
	}
	return *owned;
}

int attach_read(const char *path, char **block, size_t *n_bytes, size_t *n_bad, char *err,
		size_t errlen)
{
	*block = NULL;
	*n_bytes = *n_bad = 0;
	char *owned;
	const char *p = attach_expand(path, &owned);
	int rc = 0;
	char *data = NULL;
	FILE *f = fopen(p, "rb");
	struct stat st;
	if (!f || fstat(fileno(f), &st) != 0) {
		rc = lt_seterr(err, errlen, LT_E_IO, "%s: %s", p, strerror(errno));
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		rc = lt_seterr(err, errlen, LT_E_FORMAT, "%s: not a regular file", p);
		goto out;
	}
	if ((uint64_t)st.st_size > ATTACH_MAX_BYTES) {
		rc = lt_seterr(err, errlen, LT_E_FULL, "%s: %lld bytes, more than /read takes (%u)", p,
			       (long long)st.st_size, ATTACH_MAX_BYTES);
		goto out;
	}
	size_t size = (size_t)st.st_size;
	data = malloc(size + 1);
	if (!data) {
		rc = lt_seterr(err, errlen, LT_E_NOMEM, "%s: out of memory", p);
		goto out;
	}
	size_t got = fread(data, 1, size, f);
	if (got != size || ferror(f)) {
		rc = lt_seterr(err, errlen, LT_E_IO, "%s: read %zu of %zu bytes", p, got, size);
		goto out;
	}
	if (memchr(data, '\0', size)) {
		rc = lt_seterr(err, errlen, LT_E_FORMAT, "%s: not a text file (it holds NUL bytes)", p);
		goto out;
	}
	char *text = utf8_sanitize(data, size, NULL, n_bad);
	const char *name = strrchr(p, '/') ? strrchr(p, '/') + 1 : p;
	/* A file without a final newline still closes its fence on a line of
	 * its own. */
	bool nl = size == 0 || data[size - 1] == '\n';
	if (!text || asprintf(block, "File %s:\n```\n%s%s```\n", name, text, nl ? "" : "\n") < 0) {
		*block = NULL;
		rc = lt_seterr(err, errlen, LT_E_NOMEM, "%s: out of memory", p);
	}
	free(text);
	*n_bytes = size;
out:
	if (f)
		fclose(f);
	free(data);
	free(owned);
	return rc;
}
