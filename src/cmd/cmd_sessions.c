/* llamaterm sessions: list, show, export and remove saved conversations. */
#include <stdio.h>
#include <unistd.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "commands.h"
#include "options.h"
#include "session.h"
#include "session_journal.h"

static void sessions_usage(FILE *out)
{
	fprintf(out, "usage: llamaterm sessions [list]\n"
		     "       llamaterm sessions show NAME [--export FILE|-]\n"
		     "       llamaterm sessions rm NAME\n"
		     "       llamaterm sessions gc\n\n"
		     "Lists the saved conversations (name, model, turns, tokens, size on disk,\n"
		     "last used), prints one's transcript or writes it as Markdown, deletes one,\n"
		     "or compacts every session file (drops what undo, regenerate and context\n"
		     "shifts left dead; converts version-1 files).\n\n");
	options_print_help(out, OPTC_SESSIONS);
}

static int sessions_list(void)
{
	struct session_info *list;
	size_t n;
	char err[512];
	if (session_list(&list, &n, err, sizeof(err)) != 0) {
		fprintf(stderr, "llamaterm sessions: %s\n", err);
		return 1;
	}
	if (n == 0) {
		char *dir;
		if (session_dir(&dir, false, err, sizeof(err)) == 0) {
			printf("no sessions in %s\n", dir);
			free(dir);
		}
		return 0;
	}
	printf("%-24s %-24s %6s %7s %8s  %s\n", "NAME", "MODEL", "TURNS", "TOKENS", "SIZE",
	       "LAST USED");
	for (size_t i = 0; i < n; i++) {
		char when[32], size[32];
		session_when(list[i].updated, when, sizeof(when));
		session_size_text(list[i].size, size, sizeof(size));
		if (list[i].error)
			printf("%-24s %-24s %6s %7s %8s  %s  (unreadable: %s)\n", list[i].name, "?", "-",
			       "-", size, when, list[i].error);
		else
			printf("%-24s %-24s %6d %7d %8s  %s\n", list[i].name, list[i].model_name,
			       list[i].n_turns, list[i].n_tokens, size, when);
	}
	session_list_free(list, n);
	return 0;
}

/* --export -: the Markdown on stdout. session_export_markdown writes to a
 * path, and reopening /dev/stdout would truncate a file opened for append,
 * so the export goes to a temporary file that is then copied out. */
static int sessions_export_stdout(const struct session_data *d, const char *name, char *err,
				  size_t errlen)
{
	const char *tmpdir = getenv("TMPDIR");
	char *path = NULL;
	if (asprintf(&path, "%s/llamaterm-export-XXXXXX", tmpdir && tmpdir[0] ? tmpdir : "/tmp") < 0)
		return lt_seterr(err, errlen, LT_E_NOMEM, "out of memory");
	int fd = mkstemp(path);
	if (fd < 0) {
		int rc = lt_seterr(err, errlen, LT_E_IO, "%s: cannot create a temporary file", path);
		free(path);
		return rc;
	}
	int rc = session_export_markdown(d, name, path, err, errlen);
	FILE *f = rc ? NULL : fdopen(fd, "r");
	if (!rc && !f)
		rc = lt_seterr(err, errlen, LT_E_IO, "%s: cannot read it back", path);
	char buf[8192];
	size_t n;
	while (f && (n = fread(buf, 1, sizeof(buf), f)) > 0)
		if (fwrite(buf, 1, n, stdout) != n)
			break;
	if (!rc && (fflush(stdout) != 0 || ferror(stdout)))
		rc = lt_seterr(err, errlen, LT_E_IO, "stdout: write failed");
	if (f)
		fclose(f);
	else
		close(fd);
	unlink(path);
	free(path);
	return rc;
}

/* Compacts every session file; unreadable ones are named and left alone. */
static int sessions_gc(void)
{
	struct session_info *list;
	size_t n;
	char err[512];
	if (session_list(&list, &n, err, sizeof(err)) != 0) {
		fprintf(stderr, "llamaterm sessions: %s\n", err);
		return 1;
	}
	int status = 0;
	uint64_t total_before = 0, total_after = 0;
	for (size_t i = 0; i < n; i++) {
		char *path;
		uint64_t before = list[i].size, after = list[i].size;
		int rc = session_path(&path, list[i].name, err, sizeof(err));
		if (rc == 0) {
			rc = session_journal_compact_file(path, &before, &after, err, sizeof(err));
			free(path);
		}
		if (rc) {
			fprintf(stderr, "llamaterm sessions gc: %s\n", err);
			status = 1;
			continue;
		}
		char b[32], a[32];
		session_size_text(before, b, sizeof(b));
		session_size_text(after, a, sizeof(a));
		printf("%-24s %8s -> %8s\n", list[i].name, b, a);
		total_before += before;
		total_after += after;
	}
	char b[32], a[32];
	session_size_text(total_before, b, sizeof(b));
	session_size_text(total_after, a, sizeof(a));
	printf("%zu session%s: %s -> %s\n", n, n == 1 ? "" : "s", b, a);
	session_list_free(list, n);
	return status;
}

static int sessions_show(const char *name, const char *export_path)
{
	char err[512], warn[512];
	char *path;
	if (session_path(&path, name, err, sizeof(err))) {
		fprintf(stderr, "llamaterm sessions: %s\n", err);
		return 1;
	}
	struct session_data d;
	int rc = session_read_transcript(path, &d, warn, sizeof(warn), err, sizeof(err));
	free(path);
	if (rc) {
		fprintf(stderr, "llamaterm sessions: %s\n", err);
		return 1;
	}
	if (warn[0])
		fprintf(stderr, "warning: %s\n", warn);
	if (export_path) {
		rc = !strcmp(export_path, "-")
			     ? sessions_export_stdout(&d, name, err, sizeof(err))
			     : session_export_markdown(&d, name, export_path, err, sizeof(err));
		if (rc)
			fprintf(stderr, "llamaterm sessions: %s\n", err);
		session_data_free(&d);
		return rc ? 1 : 0;
	}
	char when[32];
	session_when(d.updated, when, sizeof(when));
	printf("# %s: %s, template %s, %d turns, %d tokens in context, last used %s\n", name,
	       d.model_name, d.template_name, d.n_turns, d.n_ids, when);
	if (d.system && d.system[0])
		printf("# system: %s\n", d.system);
	for (int i = 0; i < d.n_turns; i++) {
		const char *t = d.turns[i].text;
		if (d.turns[i].role == 1 && t[0] == ' ')
			t++;
		printf(d.turns[i].role == 0 ? "> %s\n" : "%s%s\n", t,
		       (d.turns[i].flags & 1) ? " [cut short]" : "");
	}
	session_data_free(&d);
	return 0;
}

int cmd_sessions(int argc, char **argv)
{
	struct options o;
	options_defaults(&o);
	int rc = cli_parse(&o, argc, argv, OPTC_SESSIONS, "sessions", sessions_usage, 0);
	if (rc >= 0)
		return rc;
	const char *verb = o.n_positional ? o.positional[0] : "list";
	if (!strcmp(verb, "list") && o.n_positional <= 1 && !o.export_path)
		return sessions_list();
	if (!strcmp(verb, "gc") && o.n_positional == 1 && !o.export_path)
		return sessions_gc();
	if (!strcmp(verb, "show") && o.n_positional == 2)
		return sessions_show(o.positional[1], o.export_path);
	if (!strcmp(verb, "rm") && o.n_positional == 2 && !o.export_path) {
		char err[512];
		if (session_remove(o.positional[1], err, sizeof(err)) != 0) {
			fprintf(stderr, "llamaterm sessions: %s\n", err);
			return 1;
		}
		return 0;
	}
	fprintf(stderr, "llamaterm sessions: usage: sessions [list] | show NAME [--export FILE] | rm NAME | gc\n");
	return 2;
}
