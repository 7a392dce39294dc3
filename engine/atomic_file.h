/* Atomic file replacement: the new contents go to a hidden temporary file
 * in the destination's directory (".NAME.tmp-PID-N", created exclusively
 * with the given mode bits, less the umask), every write is checked, and
 * commit syncs the file, renames it over the destination and syncs the
 * directory. A reader therefore sees either the old file or the complete
 * new one; on any failure, or after abort, the temporary file is removed.
 *
 * Errors are one line naming the destination. Running out of room (a full
 * disk, an exceeded quota or file size limit: ENOSPC, EDQUOT, EFBIG) gives
 * LT_E_FULL and says which; anything else is LT_E_IO. When a file was at
 * the destination when the write began, the line ends with "; the previous
 * version is intact". Example:
 *   "out.gguf: write failed: no space left on the device; the previous version is intact" */
#ifndef LT_ATOMIC_FILE_H
#define LT_ATOMIC_FILE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "errors.h"

struct atomic_file;

/* Creates the temporary file for path. Returns 0 with *out set, or a
 * negative lt_error with a message. */
int atomic_file_begin(struct atomic_file **out, const char *path, mode_t mode, char *err,
		      size_t errlen);

/* Appends n bytes (buffered). The first failure sticks: later writes do
 * nothing, and atomic_file_error or atomic_file_commit report it. */
void atomic_file_write(struct atomic_file *af, const void *p, size_t n);

/* Bytes handed to atomic_file_write so far. */
uint64_t atomic_file_pos(const struct atomic_file *af);

/* 0 while every write so far succeeded, else the error of the first failed
 * one (LT_E_FULL or LT_E_IO) with its message. */
int atomic_file_error(const struct atomic_file *af, char *err, size_t errlen);

/* Flushes, syncs and closes the file and renames it into place. Always
 * frees af; on failure the temporary file is gone and the error says why. */
int atomic_file_commit(struct atomic_file *af, char *err, size_t errlen);

/* Closes and removes the temporary file and frees af (NULL is fine). */
void atomic_file_abort(struct atomic_file *af);

/* The whole sequence for contents already in memory. */
int atomic_file_save(const char *path, mode_t mode, const void *data, size_t len, char *err,
		     size_t errlen);

#endif
