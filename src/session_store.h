/* The sessions directory: session files by name. Files live in
 * $XDG_DATA_HOME/llamaterm/sessions/NAME.lts (paths.h); how one is written
 * and read is session.h's.
 *
 * Names: 1..SESSION_NAME_MAX bytes of valid UTF-8, no '/', no NUL, no
 * control characters, not starting with '.', so a name can never leave
 * the sessions directory. */
#ifndef LT_SESSION_STORE_H
#define LT_SESSION_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct session_data;

#define SESSION_EXT ".lts"
#define SESSION_NAME_MAX 128

/* 0 when name is acceptable, else LT_E_INVAL with a message saying why. */
int session_name_check(const char *name, char *err, size_t errlen);

/* The sessions directory (created with mode 0700 when create). */
int session_dir(char **out, bool create, char *err, size_t errlen);

/* DIR/NAME.lts for a valid name, malloc'd into *out; LT_E_INVAL for a bad
 * name, or what session_dir gave. */
int session_path(char **out, const char *name, char *err, size_t errlen);

/* A name from the local time: "2024-05-01_14-03-59". */
void session_name_now(char *buf, size_t size);

/* The same by session name, in the sessions directory. */
int session_save(const char *name, const struct session_data *d, char *err, size_t errlen);
int session_load(const char *name, struct session_data *d, char *warn, size_t warnlen,
		 char *err, size_t errlen);
int session_remove(const char *name, char *err, size_t errlen);
/* Renames session from to to; LT_E_INVAL when to exists (it is never
 * replaced), LT_E_NOTFOUND when from does not. */
int session_rename(const char *from, const char *to, char *err, size_t errlen);
bool session_exists(const char *name);

/* One entry of session_list. */
struct session_info {
	char *name;
	char *model_name;   /* "?" when the file cannot be read */
	int n_turns;
	int n_tokens;
	int64_t updated;    /* ms since the epoch (the file's mtime when unreadable) */
	uint64_t size;      /* bytes on disk */
	uint64_t live;      /* of which the state read takes (the rest compaction drops) */
	char *error;        /* NULL, or why the file cannot be read */
};

/* Every NAME.lts in the sessions directory, most recently used first. */
int session_list(struct session_info **out, size_t *n, char *err, size_t errlen);
void session_list_free(struct session_info *list, size_t n);
/* A list's "last used" column: local "YYYY-MM-DD HH:MM" of ms since the
 * epoch, "?" when it cannot be shown. */
void session_when(int64_t ms, char *buf, size_t size);

/* "17.1K", "2.0M", "512": a file size for a listing. */
void session_size_text(uint64_t bytes, char *buf, size_t size);

/* Writes the transcript as Markdown. */
int session_export_markdown(const struct session_data *d, const char *name, const char *path,
			    char *err, size_t errlen);

#endif
