/* Where llamaterm keeps its files, following the XDG base directory rules,
 * and where it looks for prompt templates.
 *
 * Each directory is $XDG_<KIND>_HOME/llamaterm when that variable holds an
 * absolute path (the specification says relative values are ignored), else
 * the standard fallback under $HOME (or the password database's home):
 *   data    ~/.local/share/llamaterm
 *   state   ~/.local/state/llamaterm   (sessions, history)
 *   config  ~/.config/llamaterm        (user prompt templates in prompts/)
 *   cache   ~/.cache/llamaterm
 * Every returned string is malloc'd and owned by the caller. */
#ifndef LT_PATHS_H
#define LT_PATHS_H

#include <stddef.h>
#include <sys/types.h>

enum paths_kind {
	PATHS_DATA,
	PATHS_STATE,
	PATHS_CONFIG,
	PATHS_CACHE,
};

/* The user's home: $HOME when it is an absolute path, else the password
 * database entry, so a service started without HOME still finds it. NULL
 * when neither is known. */
char *paths_home(void);

/* The llamaterm directory of one kind, or NULL when no home directory is
 * known (or memory ran out). The directory is not created. */
char *paths_dir(enum paths_kind kind);

/* Like paths_dir, then creates it (and its parents) with mode 0700. Returns 0
 * and the path in *out, or a negative lt_error with a one-line message. */
int paths_ensure_dir(enum paths_kind kind, char **out, char *err, size_t errlen);

/* mkdir -p: creates path and its missing parents with mode; existing
 * directories are fine. Returns 0 or a negative lt_error naming the part
 * that failed. */
int paths_mkdir_p(const char *path, mode_t mode, char *err, size_t errlen);

/* Joins a directory and a name with one '/' between them (malloc'd). */
char *paths_join(const char *dir, const char *name);

/* The directory holding the running executable (from /proc/self/exe), or
 * NULL when it cannot be read. */
char *paths_exe_dir(void);

/* The list of directories searched for prompt templates, in priority order
 * (a file in an earlier directory overrides one of the same name later):
 *   1. <config>/prompts                      the user's own templates
 *   2. <tree>/prompts                        the source tree, when the binary
 *                                            runs from it (next to the
 *                                            executable, one level up, or
 *                                            the root of a build/NAME/...
 *                                            layout)
 *   3. LLAMATERM_PREFIX/share/llamaterm/prompts   where make install puts them
 *   4. <exe_dir>/../share/llamaterm/prompts  a relocated installation
 * Only existing directories are listed, each once. Returns 0 and a
 * malloc'd array of malloc'd strings (free with paths_list_free), or
 * LT_E_NOMEM. An empty list is not an error. */
int paths_template_dirs(char ***dirs, size_t *n);

void paths_list_free(char **list, size_t n);

#endif
