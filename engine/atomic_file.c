/* Atomic file replacement (see atomic_file.h). */
#include "atomic_file.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Small writes are gathered into a buffer this large; larger ones go
 * straight to the file. */
#define AF_BUF_BYTES ((size_t)1 << 20)
/* Names tried before giving up on creating a temporary file. */
#define AF_MAX_ATTEMPTS 100

struct atomic_file {
	int fd;
	char *path;      /* the destination */
	char *tmp;       /* the temporary file next to it */
	bool existed;    /* a file was at path when the write began */
	uint8_t *buf;    /* (AF_BUF_BYTES) pending bytes, allocated on first use */
	size_t len;
	uint64_t pos;
	int errnum;      /* errno of the first failed write, 0 if none */
};

/* One line for a failure of the write of path, in words a user acts on: a
 * full disk, a quota or a file size limit all mean "no room" (LT_E_FULL),
 * anything else is an I/O error. */
static int af_fail(const char *path, bool existed, int e, const char *what, char *err,
		   size_t errlen)
{
	const char *why;
	switch (e) {
	case ENOSPC: why = "no space left on the device"; break;
#ifdef EDQUOT
	case EDQUOT: why = "disk quota exceeded"; break;
#endif
	case EFBIG: why = "file size limit exceeded (ulimit -f)"; break;
	default: why = NULL; break;
	}
	return lt_seterr(err, errlen, why ? LT_E_FULL : LT_E_IO, "%s: %s: %s%s", path, what,
			 why ? why : strerror(e), existed ? "; the previous version is intact" : "");
}

/* Writes all n bytes; returns 0 or an errno value. */
static int af_write_all(int fd, const uint8_t *p, size_t n)
{
	while (n) {
		ssize_t w = write(fd, p, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return errno ? errno : EIO;
		if (w == 0)
			return ENOSPC;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

static void af_flush(struct atomic_file *af)
{
	if (!af->errnum && af->len)
		af->errnum = af_write_all(af->fd, af->buf, af->len);
	af->len = 0;
}

static void af_free(struct atomic_file *af)
{
	free(af->path);
	free(af->tmp);
	free(af->buf);
	free(af);
}

/* Makes the rename itself durable; a failure here is not reported because
 * the data already is in place. */
static void af_sync_dir(const char *path)
{
	const char *slash = strrchr(path, '/');
	char *dir = slash ? strndup(path, slash == path ? 1 : (size_t)(slash - path)) : strdup(".");
	if (!dir)
		return;
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd >= 0) {
		fsync(fd);
		close(fd);
	}
	free(dir);
}

int atomic_file_begin(struct atomic_file **out, const char *path, mode_t mode, char *err,
		      size_t errlen)
{
	*out = NULL;
	struct atomic_file *af = calloc(1, sizeof(*af));
	size_t n = strlen(path) + 48;
	if (af) {
		af->path = strdup(path);
		af->tmp = malloc(n);
	}
	if (!af || !af->path || !af->tmp) {
		if (af)
			af_free(af);
		return lt_seterr(err, errlen, LT_E_NOMEM, "%s: out of memory", path);
	}
	struct stat st;
	af->existed = stat(path, &st) == 0;
	/* The name starts with '.' so listings of the directory skip it, and
	 * O_EXCL keeps two writers (or a stale leftover) from sharing one. */
	const char *slash = strrchr(path, '/');
	int dlen = slash ? (int)(slash - path + 1) : 0;
	for (int attempt = 0; attempt < AF_MAX_ATTEMPTS; attempt++) {
		snprintf(af->tmp, n, "%.*s.%s.tmp-%ld-%d", dlen, path, path + dlen, (long)getpid(),
			 attempt);
		af->fd = open(af->tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
		if (af->fd >= 0) {
			*out = af;
			return 0;
		}
		if (errno != EEXIST)
			break;
	}
	int rc = af_fail(path, af->existed, errno, "cannot create a temporary file", err, errlen);
	af_free(af);
	return rc;
}

void atomic_file_write(struct atomic_file *af, const void *p, size_t n)
{
	if (af->errnum || n == 0)
		return;
	af->pos += n;
	if (!af->buf && n < AF_BUF_BYTES)
		af->buf = malloc(AF_BUF_BYTES);
	if (af->buf && af->len + n > AF_BUF_BYTES)
		af_flush(af);
	if (af->errnum)
		return;
	if (af->buf && n < AF_BUF_BYTES) {
		memcpy(af->buf + af->len, p, n);
		af->len += n;
	} else {
		af->errnum = af_write_all(af->fd, p, n);
	}
}

uint64_t atomic_file_pos(const struct atomic_file *af)
{
	return af->pos;
}

int atomic_file_error(const struct atomic_file *af, char *err, size_t errlen)
{
	if (!af->errnum)
		return 0;
	return af_fail(af->path, af->existed, af->errnum, "write failed", err, errlen);
}

int atomic_file_commit(struct atomic_file *af, char *err, size_t errlen)
{
	af_flush(af);
	if (!af->errnum && fsync(af->fd) != 0)
		af->errnum = errno;
	/* Some file systems report a full disk only when the file is closed. */
	if (close(af->fd) != 0 && !af->errnum)
		af->errnum = errno;
	af->fd = -1;
	int rc = atomic_file_error(af, err, errlen);
	if (!rc && rename(af->tmp, af->path) != 0)
		rc = af_fail(af->path, af->existed, errno, "cannot replace the file", err, errlen);
	if (rc)
		unlink(af->tmp);
	else
		af_sync_dir(af->path);
	af_free(af);
	return rc;
}

void atomic_file_abort(struct atomic_file *af)
{
	if (!af)
		return;
	if (af->fd >= 0)
		close(af->fd);
	unlink(af->tmp);
	af_free(af);
}

int atomic_file_save(const char *path, mode_t mode, const void *data, size_t len, char *err,
		     size_t errlen)
{
	struct atomic_file *af;
	int rc = atomic_file_begin(&af, path, mode, err, errlen);
	if (rc)
		return rc;
	atomic_file_write(af, data, len);
	return atomic_file_commit(af, err, errlen);
}
