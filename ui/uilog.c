/* The UI's log file. See uilog.h. */
#include "uilog.h"

#include <fcntl.h>
#include <stdarg.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "paths.h"

void uilog_printf(struct uilog *l, const char *fmt, ...)
{
	if (!l->f)
		return;
	char stamp[32];
	time_t now = time(NULL);
	struct tm tm;
	localtime_r(&now, &tm);
	strftime(stamp, sizeof(stamp), "%Y-%m-%d %H:%M:%S", &tm);
	fprintf(l->f, "%s ", stamp);
	va_list ap;
	va_start(ap, fmt);
	vfprintf(l->f, fmt, ap);
	va_end(ap);
	fputc('\n', l->f);
	/* Flushed per line so the log is complete when the chat is killed. */
	fflush(l->f);
}

void uilog_open(struct uilog *l, bool verbose)
{
	l->saved_stderr = -1;
	l->verbose = verbose;
	char err[256];
	char *dir = NULL;
	if (paths_ensure_dir(PATHS_STATE, &dir, err, sizeof(err)) < 0)
		return;
	char *path = paths_join(dir, "llamaterm.log");
	free(dir);
	if (!path)
		return;
	/* What the user typed is nobody else's business: 0600, as sessions and
	 * the history are, also for a log an older version left readable. */
	int fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
	free(path);
	if (fd < 0)
		return;
	struct stat st;
	if (fstat(fd, &st) == 0 && (st.st_mode & 077))
		fchmod(fd, st.st_mode & 0700);
	l->f = fdopen(fd, "a");
	if (!l->f) {
		close(fd);
		return;
	}
	l->saved_stderr = dup(STDERR_FILENO);
	if (l->saved_stderr >= 0)
		dup2(fileno(l->f), STDERR_FILENO);
}

void uilog_close(struct uilog *l)
{
	if (l->saved_stderr >= 0) {
		fflush(stderr);
		dup2(l->saved_stderr, STDERR_FILENO);
		close(l->saved_stderr);
		l->saved_stderr = -1;
	}
	if (l->f)
		fclose(l->f);
	l->f = NULL;
}
