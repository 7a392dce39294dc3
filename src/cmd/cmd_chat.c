/* llamaterm chat: a conversation with a model. The engine runs on the
 * worker thread; this file is the line-mode front end (readline on a
 * terminal, plain lines from a pipe) and the hand-over to the curses UI. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <readline/history.h>
#include <readline/readline.h>

#include "cli.h"
#include "commands.h"
#include "dtype.h"
#include "keys.h"
#include "options.h"
#include "paths.h"
#include "session.h"
#include "session_store.h"
#include "slash.h"
#include "tui.h"
#include "worker.h"

/* The marker line that opens and closes a multi-line message. */
#define CHAT_MULTILINE "\"\"\""

static void chat_usage(FILE *out)
{
	fprintf(out, "usage: llamaterm chat -m MODEL [--template T] [--system TEXT] [--session NAME]\n"
		     "                      [sampling and stop options] [--plain]\n"
		     "       llamaterm chat --remote URL [-m NAME] [--api-key KEY] [options]\n\n"
		     "Chats with a model. Without a terminal (or with --plain) it reads one\n"
		     "message per line from stdin (a line holding only " CHAT_MULTILINE " starts and\n"
		     "ends a multi-line message) and prints each reply on stdout; everything\n"
		     "else (a resumed transcript, notices, /help, /show) goes to stderr.\n\n");
	options_print_help(out, OPTC_CHAT);
	fprintf(out, "\nCommands at the prompt:\n");
	slash_print_help(out);
}

/* Set by SIGINT; the main loop turns it into a stop or a quit question. */
static atomic_int chat_sigint;
/* The handler also writes a byte here, so a poll() waiting for keys wakes
 * up even when the signal lands just before it starts. */
static int chat_sigpipe[2] = { -1, -1 };

static void chat_on_sigint(int sig)
{
	(void)sig;
	int e = errno;
	atomic_fetch_add(&chat_sigint, 1);
	if (chat_sigpipe[1] >= 0 && write(chat_sigpipe[1], "", 1) < 0) {
		/* Full pipe: a wake-up is already pending. */
	}
	errno = e;
}

static void chat_sigpipe_drain(void)
{
	char buf[64];
	while (chat_sigpipe[0] >= 0 && read(chat_sigpipe[0], buf, sizeof(buf)) > 0) {
	}
}

static char *chat_complete_gen(const char *text, int state)
{
	static size_t idx;
	if (!state)
		idx = 0;
	const char *prefix = rl_line_buffer[0] == '/' ? rl_line_buffer + 1 : text;
	const char *m = slash_complete(prefix, idx++);
	if (!m)
		return NULL;
	/* Readline completes the word under the cursor; a command name keeps its slash. */
	size_t n = strlen(m) + 2;
	char *out = malloc(n);
	if (out)
		snprintf(out, n, "%s%s", (text[0] == '/') ? "/" : "", m);
	return out;
}

static char **chat_complete(const char *text, int start, int end)
{
	(void)end;
	rl_attempted_completion_over = 1;
	if (rl_line_buffer[0] != '/' || (start > 0 && strncmp(rl_line_buffer, "/set ", 5) != 0))
		return NULL;
	return rl_completion_matches(text, chat_complete_gen);
}

struct chat {
	struct options o;
	struct worker *w;
	bool tty;           /* stdin and stdout are terminals */
	bool replaying;     /* WORKER_EV_TURN events rebuild the transcript */
	bool print_replay;  /* print that transcript (after a load, not an undo) */
	bool reply_start;   /* the next text piece begins a reply */
	bool fatal;
	bool cut_line;      /* the last Ctrl-C at the prompt discarded typed text */
	bool have_stats;    /* stats of the reply in progress, printed after it */
	bool show_reasoning; /* --reasoning show: reasoning to stderr */
	bool reasoning_open; /* a reasoning block is being written to stderr */
	struct ring_event stats;
	int n_errors;
	char *history;
	char *first;        /* -p TEXT or -f FILE: the first message, sent once loaded */
};

/* Prints one event. */
static void chat_event(struct chat *c, const struct ring_event *ev)
{
	switch (ev->kind) {
	case WORKER_EV_CLEAR:
		c->replaying = true;
		break;
	case WORKER_EV_TURN:
		/* A resumed transcript is a recap, not this run's reply: stderr,
		 * so stdout holds only the replies of this run. */
		if (c->replaying && c->print_replay) {
			const char *t = ev->data;
			if (ev->a == 1 && t[0] == ' ')
				t++;
			fprintf(stderr, ev->a == 0 ? "> %s\n" : "%s\n", t);
		}
		break;
	case WORKER_EV_REPLY_START:
		c->replaying = false;
		c->reply_start = true;
		break;
	case WORKER_EV_REASONING:
		/* A resumed transcript is shown without its reasoning. */
		if (c->show_reasoning && !c->replaying && ev->x == 0)
			cli_reasoning_write(ev->data, ev->len, &c->reasoning_open);
		break;
	case WORKER_EV_TEXT: {
		const char *t = ev->data;
		size_t n = ev->len;
		cli_reasoning_end(&c->reasoning_open);
		/* The reply's first token usually brings a space; do not print it. */
		if (c->reply_start && n && t[0] == ' ') {
			t++;
			n--;
		}
		if (n)
			c->reply_start = false;
		fwrite(t, 1, n, stdout);
		fflush(stdout);
		break;
	}
	case WORKER_EV_DONE:
		cli_reasoning_end(&c->reasoning_open);
		putchar('\n');
		fflush(stdout);
		if (ev->b == CONV_STOP_USER)
			fprintf(stderr, "[stopped]\n");
		else if (ev->b == CONV_STOP_CTX_FULL)
			fprintf(stderr, "[the reply filled the context]\n");
		/* The speeds come before WORKER_EV_DONE; they go on their own line. */
		if (c->tty && c->have_stats)
			fprintf(stderr, "[%lld prompt tokens, %.1f tok/s | %lld generated, %.1f tok/s]\n",
				(long long)c->stats.a, c->stats.x, (long long)c->stats.b, c->stats.y);
		c->have_stats = false;
		break;
	case WORKER_EV_STATS:
		c->stats = *ev;
		c->have_stats = true;
		break;
	case WORKER_EV_ERROR:
		fprintf(stderr, "llamaterm chat: %s\n", ev->data);
		c->n_errors++;
		if (ev->b)
			c->fatal = true;
		break;
	case WORKER_EV_INFO:
		fprintf(stderr, "%s%s\n", ev->a ? "warning: " : "", ev->data);
		break;
	case WORKER_EV_CTX_SHIFTED:
		fprintf(stderr, "[%s; %lld tokens dropped, %lld kept]\n", ev->data, (long long)ev->a,
			(long long)ev->b);
		break;
	case WORKER_EV_SAVED:
		if (!ev->a)
			fprintf(stderr, "saved session '%s'\n", ev->data);
		break;
	case WORKER_EV_SESSION:
		fprintf(stderr, "%s%s\n", ev->a ? "llamaterm chat: " : "", ev->data);
		break;
	default:
		break;
	}
}

/* While the worker is busy its events are read this often, not as each
 * arrives: being woken for every token would take a core from the
 * engine's threads hundreds of times a second. */
#define CHAT_FRAME_MS 30

/* Shows events until the worker has finished everything queued. Ctrl-C
 * meanwhile stops the reply in progress. */
static void chat_wait(struct chat *c)
{
	struct ring *r = worker_ring(c->w);
	struct ring_event ev;
	for (;;) {
		while (ring_pop(r, &ev) > 0)
			chat_event(c, &ev);
		if (atomic_exchange(&chat_sigint, 0))
			worker_stop(c->w);
		if (!worker_busy(c->w)) {
			while (ring_pop(r, &ev) > 0)
				chat_event(c, &ev);
			break;
		}
		poll(NULL, 0, CHAT_FRAME_MS);
	}
	c->replaying = false;
	c->print_replay = false;
}

/* Where readline's callback puts the finished line. */
static struct {
	bool done;
	char *line;
} chat_rl;

static void chat_rl_done(char *line)
{
	chat_rl.done = true;
	chat_rl.line = line;
	/* No second prompt until the next chat_readline. */
	rl_callback_handler_remove();
}

/* readline() that a Ctrl-C ends at once: plain readline() only sees the
 * signal at the next key, so this drives readline's callback interface
 * from poll() on the terminal and the signal pipe. Returns the line, or
 * NULL at end of input or on Ctrl-C (chat_sigint set; *had_text says
 * whether the line held text, which is then discarded). */
static char *chat_readline(const char *prompt, bool *had_text)
{
	*had_text = false;
	chat_rl.done = false;
	chat_rl.line = NULL;
	rl_callback_handler_install(prompt, chat_rl_done);
	while (!chat_rl.done) {
		if (atomic_load(&chat_sigint)) {
			*had_text = rl_end > 0;
			rl_free_line_state();
			rl_callback_sigcleanup();
			/* Leave the prompt line as typed, marked, and start a fresh one. */
			rl_point = rl_end;
			rl_redisplay();
			fputs("^C", rl_outstream ? rl_outstream : stdout);
			rl_crlf();
			rl_replace_line("", 0);
			rl_callback_handler_remove();
			return NULL;
		}
		struct pollfd pf[2] = { { .fd = STDIN_FILENO, .events = POLLIN },
					{ .fd = chat_sigpipe[0], .events = POLLIN } };
		int n = poll(pf, chat_sigpipe[0] >= 0 ? 2 : 1, -1);
		if (n < 0 && errno != EINTR) {
			rl_callback_handler_remove();
			return NULL;
		}
		if (n > 0 && (pf[1].revents & POLLIN))
			chat_sigpipe_drain();
		if (n > 0 && (pf[0].revents & (POLLIN | POLLHUP | POLLERR)))
			rl_callback_read_char();
	}
	return chat_rl.line;
}

/* Reads one line (without its newline); NULL at end of input or on Ctrl-C
 * (see chat_readline). */
static char *chat_read_line(struct chat *c, const char *prompt)
{
	if (c->tty)
		return chat_readline(prompt, &c->cut_line);
	char *line = NULL;
	size_t cap = 0;
	errno = 0;
	ssize_t n = getline(&line, &cap, stdin);
	if (n < 0) {
		free(line);
		return NULL;
	}
	if (n > 0 && line[n - 1] == '\n')
		line[--n] = '\0';
	if (n > 0 && line[n - 1] == '\r')
		line[--n] = '\0';
	return line;
}

/* Reads the lines of a multi-line message up to the closing marker. */
static char *chat_read_multiline(struct chat *c)
{
	size_t len = 0;
	char *text = strdup("");
	for (;;) {
		char *line = chat_read_line(c, "... ");
		if (!line || !strcmp(line, CHAT_MULTILINE) || !text) {
			free(line);
			return text;
		}
		size_t n = strlen(line);
		char *g = realloc(text, len + n + 2);
		if (!g) {
			free(line);
			return text;
		}
		text = g;
		if (len)
			text[len++] = '\n';
		memcpy(text + len, line, n + 1);
		len += n;
		free(line);
	}
}

/* A Ctrl-C at the prompt. With text typed it only clears the line (as in
 * a shell); at an empty prompt it asks, and a second Ctrl-C or end of input
 * at the question means yes. Without a terminal it quits. Returns true when
 * the user wants to quit. */
static bool chat_sigint_at_prompt(struct chat *c)
{
	atomic_store(&chat_sigint, 0);
	if (!c->tty)
		return true;
	if (c->cut_line)
		return false;
	bool had_text;
	char *ans = chat_readline("Quit? [y/N] ", &had_text);
	bool yes = !ans || ans[0] == 'y' || ans[0] == 'Y';
	free(ans);
	atomic_store(&chat_sigint, 0);
	return yes;
}

/* The line-mode conversation loop. Returns the exit status. */
static int chat_plain(struct chat *c)
{
	c->print_replay = true; /* a resumed session shows its transcript */
	chat_wait(c);
	if (c->fatal)
		return 1;
	if (c->first) {
		worker_post(c->w, WORKER_CMD_SEND, c->first, NULL);
		chat_wait(c);
	}
	if (c->tty)
		fprintf(stderr, "Type a message, /help for commands, /quit to leave "
				"(Ctrl-C stops a reply).\n");
	for (;;) {
		char *line = chat_read_line(c, "> ");
		if (atomic_load(&chat_sigint)) {
			free(line);
			if (chat_sigint_at_prompt(c))
				break;
			continue;
		}
		if (!line)
			break;
		if (!strcmp(line, CHAT_MULTILINE)) {
			free(line);
			line = chat_read_multiline(c);
			if (!line)
				break;
		} else if (!line[0]) {
			free(line);
			continue;
		}
		if (c->tty && line[0])
			add_history(line);
		char err[512];
		if (slash_is_command(line)) {
			struct slash_call call;
			if (slash_parse(line, &call, err, sizeof(err)) != 0) {
				fprintf(stderr, "%s\n", err);
			} else if (call.def->id == SLASH_QUIT) {
				free(line);
				break;
			} else if (call.def->id == SLASH_HELP) {
				slash_print_help(stderr);
			} else {
				c->print_replay = call.def->id == SLASH_LOAD;
				struct worker_call wc;
				int rc = slash_command(&call, &wc, err, sizeof(err));
				if (rc == 0 && (rc = worker_post(c->w, wc.cmd, wc.arg1, wc.arg2)) != 0)
					snprintf(err, sizeof(err), "/%s: %s", call.def->name,
						 lt_strerror(rc));
				if (rc != 0)
					fprintf(stderr, "%s\n", err);
			}
		} else {
			/* "//text" sends "/text". */
			const char *text = line[0] == '/' ? line + 1 : line;
			worker_post(c->w, WORKER_CMD_SEND, text, NULL);
		}
		free(line);
		chat_wait(c);
	}
	if (c->tty)
		putchar('\n');
	return 0;
}

/* Fills everything but the context parameters, which cmd_chat checks first. */
static void chat_config(const struct options *o, struct worker_config *cfg)
{
	cfg->model_path = o->remote ? NULL : o->model;
	cfg->remote_url = o->remote;
	cfg->remote_model = o->remote ? o->model : NULL;
	/* Also kept for a remote session that /load or F3 opens. */
	cfg->api_key = o->api_key ? o->api_key : getenv("LLAMATERM_API_KEY");
	cfg->model = cli_model_params(o);
	cfg->gen = o->gen;
	cfg->gen_given = o->gen_given;
	cfg->template_name = o->template_name;
	cfg->system = o->system;
	cfg->in_prefix = o->in_prefix;
	cfg->postfix = o->in_suffix;
	cfg->stops = o->stops;
	cfg->n_stops = o->n_stops;
	cfg->session = o->session;
	cfg->autosave = !o->no_autosave;
	cfg->verbose_prompt = o->verbose_prompt;
	cfg->session_kv_none = o->session_kv && !strcmp(o->session_kv, "none");
	cfg->thinking_off = o->think && !strcmp(o->think, "off");
}

/* Writes s for a POSIX shell: as it is when it is safe, else in single
 * quotes. */
static void chat_shell_word(FILE *out, const char *s)
{
	if (s[0] && strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
			      "_-./:+@%=,") == strlen(s)) {
		fputs(s, out);
		return;
	}
	fputc('\'', out);
	for (; *s; s++)
		if (*s == '\'')
			fputs("'\\''", out);
		else
			fputc(*s, out);
	fputc('\'', out);
}

/* After an interactive chat: where the conversation is and how to come
 * back to it, so quitting never leaves the user wondering. */
static void chat_say_resume(struct worker *w, const char *model)
{
	struct worker_status st;
	worker_status(w, &st);
	if (!st.session[0] || !session_exists(st.session))
		return;
	char *path = NULL, err[256];
	if (session_path(&path, st.session, err, sizeof(err)) == 0)
		fprintf(stderr, "session saved: %s (%s)\n", st.session, path);
	free(path);
	/* A remote chat's session names its server itself. */
	fputs("resume with: llamaterm chat", stderr);
	if (!st.server[0]) {
		fputs(" -m ", stderr);
		chat_shell_word(stderr, model ? model : "MODEL");
	}
	fputs(" --session ", stderr);
	chat_shell_word(stderr, st.session);
	fputc('\n', stderr);
}

/* The server and model name a remote chat's session was saved with. */
static int chat_session_endpoint(const char *name, const char **endpoint, const char **model)
{
	/* They live as long as the options that point at them. */
	static char url[2048], mname[256];
	struct session_data d;
	char *path = NULL, warn[256], err[256];
	int rc = session_path(&path, name, err, sizeof(err));
	if (rc == 0)
		rc = session_read_transcript(path, &d, warn, sizeof(warn), err, sizeof(err));
	free(path);
	if (rc)
		return rc;
	rc = d.endpoint && d.endpoint[0] ? 0 : LT_E_NOTFOUND;
	if (rc == 0) {
		snprintf(url, sizeof(url), "%s", d.endpoint);
		snprintf(mname, sizeof(mname), "%s", d.model_name ? d.model_name : "");
		*endpoint = url;
		*model = mname[0] ? mname : NULL;
	}
	session_data_free(&d);
	return rc;
}

int cmd_chat(int argc, char **argv)
{
	struct chat c;
	memset(&c, 0, sizeof(c));
	options_defaults(&c.o);
	/* Hidden: the key bindings as roff, for the man page (tests/gen_man.sh). */
	if (argc == 2 && strcmp(argv[1], "--print-keys-roff") == 0) {
		keys_print_roff(stdout);
		return 0;
	}
	int rc = cli_parse(&c.o, argc, argv, OPTC_CHAT, "chat", chat_usage, CLI_NO_ARGS);
	if (rc >= 0)
		return rc;
	/* A remote chat's session knows its server: --session alone reopens it. */
	const char *endpoint = NULL, *remote_name = NULL;
	if (!c.o.model && !c.o.remote && c.o.session && session_exists(c.o.session) &&
	    chat_session_endpoint(c.o.session, &endpoint, &remote_name) == 0) {
		c.o.remote = endpoint;
		c.o.model = remote_name;
	}
	if (!c.o.model && !c.o.remote) {
		fprintf(stderr, "llamaterm chat: a model is required (-m FILE, or --remote URL)\n");
		return 2;
	}
	struct worker_config cfg = worker_config_default();
	if (cli_ctx_params(&c.o, "chat", c.o.gen.n_ctx, c.o.n_batch, &cfg.ctx))
		return 2;
	if (cli_reasoning_option(&c.o, "chat", &c.show_reasoning))
		return 2;
	if (c.o.think && strcmp(c.o.think, "on") && strcmp(c.o.think, "off")) {
		fprintf(stderr, "llamaterm chat: --think: '%s' is neither on nor off\n", c.o.think);
		return 2;
	}
	char err[512];
	if (c.o.session && session_name_check(c.o.session, err, sizeof(err)) != 0) {
		fprintf(stderr, "llamaterm chat: --session: %s\n", err);
		return 2;
	}
	if (c.o.session_kv && strcmp(c.o.session_kv, "full") && strcmp(c.o.session_kv, "none")) {
		fprintf(stderr, "llamaterm chat: --session-kv: '%s' is neither full nor none\n",
			c.o.session_kv);
		return 2;
	}
	c.tty = isatty(STDIN_FILENO) && isatty(STDOUT_FILENO);
	bool use_tui = c.tty && !c.o.plain;
	/* llama-cli's -p and -f: the first message of the chat. */
	if (c.o.prompt || c.o.prompt_file) {
		size_t len;
		if ((rc = cli_read_prompt(&c.o, "chat", &c.first, &len)) != 0)
			return rc;
	}
	char *state_dir = NULL;
	if (paths_ensure_dir(PATHS_STATE, &state_dir, err, sizeof(err)) == 0) {
		c.history = paths_join(state_dir, "history");
		free(state_dir);
	}
	chat_config(&c.o, &cfg);
	/* A pipe leaves a session file behind only when asked to (--session). */
	if (!c.tty && !c.o.session)
		cfg.autosave = false;
	if (worker_start(&c.w, &cfg, err, sizeof(err)) != 0) {
		fprintf(stderr, "llamaterm chat: %s\n", err);
		free(c.history);
		free(c.first);
		return 1;
	}
	if (pipe2(chat_sigpipe, O_CLOEXEC | O_NONBLOCK) != 0)
		chat_sigpipe[0] = chat_sigpipe[1] = -1;
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = chat_on_sigint;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	if (use_tui) {
		struct tui_args ta = { .opts = &c.o, .history_path = c.history };
		if (c.first)
			worker_post(c.w, WORKER_CMD_SEND, c.first, NULL);
		rc = tui_run(c.w, &ta);
	} else {
		if (c.tty) {
			rl_catch_signals = 0;
			rl_attempted_completion_function = chat_complete;
			using_history();
			if (c.history)
				read_history(c.history);
		}
		rc = chat_plain(&c);
		/* Let the last commands finish and be shown, then quit (which saves). */
		worker_post(c.w, WORKER_CMD_QUIT, NULL, NULL);
		chat_wait(&c);
		if (c.tty && c.history) {
			write_history(c.history);
			history_truncate_file(c.history, 1000);
		}
		if (rc == 0 && (c.fatal || (!c.tty && c.n_errors)))
			rc = 1;
	}
	signal(SIGINT, SIG_DFL);
	for (int i = 0; i < 2; i++) {
		if (chat_sigpipe[i] >= 0)
			close(chat_sigpipe[i]);
		chat_sigpipe[i] = -1;
	}
	worker_finish(c.w);
	if (c.tty)
		chat_say_resume(c.w, c.o.model);
	worker_free(c.w);
	free(c.history);
	free(c.first);
	return rc;
}
