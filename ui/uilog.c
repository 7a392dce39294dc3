/* The UI's log file. See uilog.h. */
#include "uilog.h"

#include <stdarg.h>
#include <stdlib.h>
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

void uilog_open(struct uilog *l)
{
	l->saved_stderr = -1;
	char err[256];
	char *dir = NULL;
	if (paths_ensure_dir(PATHS_STATE, &dir, err, sizeof(err)) < 0)
		return;
	char *path = paths_join(dir, "llamaterm.log");
	free(dir);
	if (!path)
		return;
	l->f = fopen(path, "a");
	free(path);
	if (!l->f)
		return;
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
