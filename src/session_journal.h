/* Appending to a session journal (the format is session.h's): the worker
 * keeps one writer per open session, which remembers what the file holds
 * and appends only what changed since, with one fdatasync per save.
 *
 * The first save through a writer made without a file state (a new name),
 * a version-1 file, a save after a failed one, and any save after which
 * dead bytes exceed live ones compact instead: the whole state is written
 * into a fresh file that replaces the old one atomically. */
#ifndef LT_SESSION_JOURNAL_H
#define LT_SESSION_JOURNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "context.h"
#include "session.h"

struct session_journal;

/* What a save writes of the KV cache: the rows of new positions, or none
 * (the transcript only; a resume evaluates it again). */
enum session_kv_mode {
	SESSION_KV_FULL = 0,
	SESSION_KV_NONE,
};

/* What one save did. */
struct session_save_stats {
	uint64_t bytes_written;   /* appended, or the whole file when compacted */
	bool compacted;
	uint64_t file_size, live_bytes;
};

/* A writer for path. on_disk is what reading path gave (session_read_file
 * or session_read_transcript; its valid_end is where appends go, and a torn
 * tail after it is cut off at the first save), or NULL when the first save
 * is to write the file whole. The writer holds an exclusive flock on the
 * file while it exists: when another llamaterm holds it, LT_E_IO with
 * "the session is open in another llamaterm". */
int session_journal_new(struct session_journal **out, const char *path,
			const struct session_data *on_disk, char *err, size_t errlen);
/* Takes on_disk (as for session_journal_new) as what the file holds now
 * (after the writer was made, with the lock, before the file was read). */
int session_journal_reset(struct session_journal *j, const struct session_data *on_disk);
void session_journal_free(struct session_journal *j);
const char *session_journal_path(const struct session_journal *j);

/* Saves d: its transcript and settings, and, when d->has_ctx says the
 * cache holds exactly d->ids, the ids, the sampler state and the KV rows,
 * read from ctx (NULL: no KV records). d->kv and d->spans are not used. On
 * failure the file is cut back to the last save and the next save
 * compacts. st may be NULL. */
int session_journal_save(struct session_journal *j, const struct session_data *d,
			 const struct ctx *ctx, enum session_kv_mode kv,
			 struct session_save_stats *st, char *err, size_t errlen);

/* KV rows go in KVSP records of at most this many bytes (default, and 0:
 * 256 MiB), so a long turn or a compaction of a large cache never needs a
 * record past SESSION_MAX_RECORD nor more than one in memory. For tests. */
void session_journal_set_chunk(struct session_journal *j, size_t bytes);

/* Compacts the file at path without a model (`sessions gc`): its live
 * records are written into a fresh file that replaces it. *before and
 * *after receive the sizes (equal when nothing was dead). */
int session_journal_compact_file(const char *path, uint64_t *before, uint64_t *after, char *err,
				 size_t errlen);

#endif
