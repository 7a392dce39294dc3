/* The readline input pane. See pane_input.h.
 *
 * Readline is used only through its callback interface: the terminal
 * belongs to curses, so readline's terminal preparation is disabled, it
 * reads keys from a small queue this file fills (rl_getc_function and
 * rl_input_available_hook), its output stream is /dev/null, and its
 * redisplay function just marks the pane dirty; input_draw then paints
 * rl_display_prompt and rl_line_buffer with the cursor at rl_point. */
#include "pane_input.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <readline/history.h>
#include <readline/readline.h>

#include "draw.h"
#include "errors.h"
#include "keys.h"
#include "paths.h"
#include "session.h"
#include "slash.h"
#include "template.h"
#include "wrap.h"

#define INPUT_PROMPT "> "
#define INPUT_QUEUE 64
#define INPUT_HISTORY_MAX 1000
#define INPUT_MSG_MAX 512

struct input {
	unsigned char q[INPUT_QUEUE]; /* bytes waiting for readline */
	size_t qh, qt;                /* read and write positions, qh <= qt */
	char *line;                   /* an accepted line not yet taken */
	char *history_path;
	FILE *devnull;                /* readline's output stream */
	bool dirty;
	char msg[INPUT_MSG_MAX];
	/* Session names offered by completion, read when it starts. */
	struct session_info *sessions;
	size_t n_sessions;
	/* Template names, likewise. */
	struct template_info *templates;
	size_t n_templates;
};

/* Readline has no user pointer in its hooks; this is the one pane they
 * act on (the UI runs one at a time). */
static struct input *input_active;

static int input_getc(FILE *f)
{
	(void)f;
	struct input *in = input_active;
	if (!in || in->qh == in->qt)
		return 0; /* never EOF: readline would end the line */
	return in->q[in->qh++];
}

static int input_available(void)
{
	return input_active && input_active->qh < input_active->qt;
}

static void input_redisplay(void)
{
	if (input_active)
		input_active->dirty = true;
}

static void input_prep_noop(int meta)
{
	(void)meta;
}

static void input_deprep_noop(void)
{
}

static void input_on_line(char *line)
{
	struct input *in = input_active;
	if (!in) {
		free(line);
		return;
	}
	if (!line)
		return; /* end of file never comes from our queue */
	if (line[0])
		add_history(line);
	free(in->line);
	in->line = line;
	in->dirty = true;
}

/* ---- completion ---- */

/* Readline's generators keep their position between calls in statics;
 * its interface has no other place for it. */
static char *input_gen_command(const char *text, int state)
{
	static size_t i;
	if (!state)
		i = 0;
	const char *name = slash_complete(text[0] == '/' ? text + 1 : text, i++);
	if (!name)
		return NULL;
	size_t n = strlen(name) + 2;
	char *out = malloc(n);
	if (out)
		snprintf(out, n, "/%s", name);
	return out;
}

static char *input_gen_param(const char *text, int state)
{
	static size_t i;
	if (!state)
		i = 0;
	char prefix[256];
	snprintf(prefix, sizeof(prefix), "set %s", text);
	const char *name = slash_complete(prefix, i++);
	return name ? strdup(name) : NULL;
}

/* Readline's generator protocol over a list the input keeps: at state 0
 * reload refreshes the list, then each call returns the next name that
 * starts with text (a copy readline frees), NULL at the end. name_at gives
 * entry k's name, NULL past the last. One position serves every list, as
 * readline runs one generator at a time and starts each at state 0. */
static char *input_gen_listed(const char *text, int state, void (*reload)(struct input *in),
			      const char *(*name_at)(const struct input *in, size_t k))
{
	static size_t i;
	struct input *in = input_active;
	if (!in)
		return NULL;
	if (!state) {
		i = 0;
		reload(in);
	}
	size_t len = strlen(text);
	for (const char *name; (name = name_at(in, i)) != NULL;) {
		i++;
		if (!strncmp(name, text, len))
			return strdup(name);
	}
	return NULL;
}

static void input_load_sessions(struct input *in)
{
	session_list_free(in->sessions, in->n_sessions);
	in->sessions = NULL, in->n_sessions = 0;
	if (session_list(&in->sessions, &in->n_sessions, NULL, 0) < 0)
		in->sessions = NULL, in->n_sessions = 0;
}

static const char *input_session_name(const struct input *in, size_t k)
{
	return k < in->n_sessions ? in->sessions[k].name : NULL;
}

static char *input_gen_session(const char *text, int state)
{
	return input_gen_listed(text, state, input_load_sessions, input_session_name);
}

static void input_load_templates(struct input *in)
{
	template_list_free(in->templates, in->n_templates);
	in->templates = NULL, in->n_templates = 0;
	char **dirs = NULL;
	size_t n_dirs = 0;
	if (paths_template_dirs(&dirs, &n_dirs) == 0) {
		if (template_list(&in->templates, &in->n_templates, dirs, n_dirs, NULL, 0) < 0)
			in->templates = NULL, in->n_templates = 0;
		paths_list_free(dirs, n_dirs);
	}
}

static const char *input_template_name(const struct input *in, size_t k)
{
	return k < in->n_templates ? in->templates[k].name : NULL;
}

static char *input_gen_template(const char *text, int state)
{
	return input_gen_listed(text, state, input_load_templates, input_template_name);
}

/* Whether the first word of the line abbreviates the command name. */
static bool input_word_is(const char *word, size_t wlen, const char *name)
{
	return wlen >= 2 && wlen <= strlen(name) && !strncmp(word, name, wlen);
}

static char **input_complete(const char *text, int start, int end)
{
	(void)end;
	rl_attempted_completion_over = 1; /* never file names */
	if (rl_line_buffer[0] != '/')
		return NULL;
	if (start == 0)
		return rl_completion_matches(text, input_gen_command);
	const char *word = rl_line_buffer + 1;
	size_t wlen = strcspn(word, " ");
	if (input_word_is(word, wlen, "set"))
		return rl_completion_matches(text, input_gen_param);
	if (input_word_is(word, wlen, "load") || input_word_is(word, wlen, "save"))
		return rl_completion_matches(text, input_gen_session);
	if (input_word_is(word, wlen, "template"))
		return rl_completion_matches(text, input_gen_template);
	return NULL;
}

static void input_show_matches(char **matches, int num, int max_len)
{
	(void)max_len;
	struct input *in = input_active;
	if (!in)
		return;
	size_t pos = 0;
	in->msg[0] = '\0';
	for (int i = 1; i <= num && pos < sizeof(in->msg); i++) {
		int k = snprintf(in->msg + pos, sizeof(in->msg) - pos, "%s%s", i > 1 ? "  " : "",
				 matches[i]);
		if (k < 0)
			break;
		pos += (size_t)k;
	}
	in->dirty = true;
}

/* ---- life cycle ---- */

int input_new(struct input **out, const char *history_path)
{
	*out = NULL;
	if (input_active)
		return LT_E_INVAL;
	struct input *in = calloc(1, sizeof(*in));
	if (!in)
		return LT_E_NOMEM;
	if (history_path && !(in->history_path = strdup(history_path))) {
		free(in);
		return LT_E_NOMEM;
	}
	in->devnull = fopen("/dev/null", "w");
	input_active = in;

	rl_readline_name = "llamaterm";
	rl_catch_signals = 0;
	rl_catch_sigwinch = 0;
	rl_change_environment = 0;
	rl_prep_term_function = input_prep_noop;
	rl_deprep_term_function = input_deprep_noop;
	rl_getc_function = input_getc;
	rl_input_available_hook = input_available;
	rl_redisplay_function = input_redisplay;
	rl_attempted_completion_function = input_complete;
	rl_completion_display_matches_hook = input_show_matches;
	if (in->devnull)
		rl_outstream = in->devnull;
	using_history();
	stifle_history(INPUT_HISTORY_MAX);
	if (in->history_path)
		read_history(in->history_path);
	rl_callback_handler_install(INPUT_PROMPT, input_on_line);
	/* The bell would go to stderr, which is the log file here. */
	rl_variable_bind("bell-style", "none");
	in->dirty = true;
	*out = in;
	return LT_OK;
}

void input_free(struct input *in)
{
	if (!in)
		return;
	rl_callback_handler_remove();
	if (in->history_path) {
		write_history(in->history_path);
		history_truncate_file(in->history_path, INPUT_HISTORY_MAX);
	}
	rl_getc_function = rl_getc;
	rl_input_available_hook = NULL;
	rl_redisplay_function = rl_redisplay;
	rl_prep_term_function = rl_prep_terminal;
	rl_deprep_term_function = rl_deprep_terminal;
	rl_attempted_completion_function = NULL;
	rl_completion_display_matches_hook = NULL;
	rl_outstream = NULL;
	if (in->devnull)
		fclose(in->devnull);
	session_list_free(in->sessions, in->n_sessions);
	template_list_free(in->templates, in->n_templates);
	free(in->line);
	free(in->history_path);
	input_active = NULL;
	free(in);
}

/* ---- keys ---- */

static void input_push(struct input *in, const char *bytes, size_t n)
{
	if (in->qh == in->qt)
		in->qh = in->qt = 0;
	if (n > INPUT_QUEUE - in->qt)
		return; /* never happens for one key */
	memcpy(in->q + in->qt, bytes, n);
	in->qt += n;
}

static size_t input_utf8(uint32_t cp, char *out)
{
	if (cp < 0x80) {
		out[0] = (char)cp;
		return 1;
	}
	if (cp < 0x800) {
		out[0] = (char)(0xC0 | (cp >> 6));
		out[1] = (char)(0x80 | (cp & 0x3F));
		return 2;
	}
	if (cp < 0x10000) {
		out[0] = (char)(0xE0 | (cp >> 12));
		out[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
		out[2] = (char)(0x80 | (cp & 0x3F));
		return 3;
	}
	out[0] = (char)(0xF0 | (cp >> 18));
	out[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
	out[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
	out[3] = (char)(0x80 | (cp & 0x3F));
	return 4;
}

/* The escape sequence readline's default bindings know for a curses key. */
static const char *input_fn_seq(int k)
{
	switch (k) {
	case KEY_LEFT: return "\033[D";
	case KEY_RIGHT: return "\033[C";
	case KEY_UP: return "\033[A";
	case KEY_DOWN: return "\033[B";
	case KEY_HOME: return "\033[H";
	case KEY_END: return "\033[F";
	case KEY_DC: return "\033[3~";
	case KEY_BACKSPACE: return "\177";
	case KEY_ENTER: return "\r";
	default: return NULL;
	}
}

bool input_key(struct input *in, int key)
{
	char buf[8];
	size_t n = 0;
	in->msg[0] = '\0';
	if (key & 0x1000000) {
		const char *seq = input_fn_seq(key & 0xFFFFFF);
		if (!seq)
			return false;
		n = strlen(seq);
		memcpy(buf, seq, n);
	} else if (key & 0x2000000) {
		buf[0] = KEYS_ESC;
		n = 1 + input_utf8((uint32_t)(key & 0x1FFFFF), buf + 1);
	} else if (key >= 0 && key <= 0x10FFFF) {
		n = input_utf8((uint32_t)key, buf);
	}
	if (!n)
		return false;
	input_push(in, buf, n);
	while (in->qh < in->qt)
		rl_callback_read_char();
	return true;
}

void input_insert(struct input *in, const char *text)
{
	rl_insert_text(text);
	in->dirty = true;
}

char *input_take_line(struct input *in)
{
	char *l = in->line;
	in->line = NULL;
	return l;
}

bool input_is_empty(const struct input *in)
{
	(void)in;
	return rl_end == 0;
}

bool input_is_command(const struct input *in)
{
	(void)in;
	return rl_line_buffer && rl_end > 0 && rl_line_buffer[0] == '/';
}

void input_clear(struct input *in)
{
	rl_replace_line("", 1);
	rl_point = rl_end = 0;
	in->dirty = true;
}

const char *input_message(const struct input *in)
{
	return in->msg[0] ? in->msg : NULL;
}

bool input_dirty(const struct input *in)
{
	return in->dirty;
}

/* ---- drawing ---- */

/* The prompt and the line as one string (malloc'd); *cursor gets the
 * byte offset of the cursor in it. */
static char *input_text(size_t *len, size_t *cursor)
{
	const char *p = rl_display_prompt ? rl_display_prompt : INPUT_PROMPT;
	size_t pl = strlen(p), ll = rl_line_buffer ? (size_t)rl_end : 0;
	char *s = malloc(pl + ll + 1);
	if (!s)
		return NULL;
	memcpy(s, p, pl);
	if (ll)
		memcpy(s + pl, rl_line_buffer, ll);
	s[pl + ll] = '\0';
	*len = pl + ll;
	*cursor = pl + (rl_point >= 0 && (size_t)rl_point <= ll ? (size_t)rl_point : ll);
	return s;
}

int input_rows(struct input *in, int cols, int max_rows)
{
	(void)in;
	size_t len, cur;
	char *s = input_text(&len, &cur);
	if (!s)
		return 1;
	int n = (int)wrap_text(s, len, cols - 1, WRAP_CHAR, NULL, 0);
	free(s);
	if (n < 1)
		n = 1;
	return n > max_rows ? max_rows : n;
}

void input_draw(struct input *in, WINDOW *win, int *cy, int *cx)
{
	int h, w;
	getmaxyx(win, h, w);
	werase(win);
	in->dirty = false;
	*cy = 0, *cx = 0;
	size_t len, cur;
	char *s = input_text(&len, &cur);
	if (!s)
		return;
	/* One column stays free so the cursor fits after a full line. */
	struct wrap_line *lines = NULL;
	size_t n = wrap_text_alloc(s, len, w - 1, WRAP_CHAR, &lines);
	size_t crow = 0;
	for (size_t i = 0; i < n; i++)
		if (lines[i].off <= cur)
			crow = i;
	int top = (int)crow >= h ? (int)crow - h + 1 : 0;
	for (int y = 0; y < h && (size_t)(top + y) < n; y++) {
		const struct wrap_line *l = &lines[top + y];
		wmove(win, y, 0);
		draw_text(win, s + l->off, l->len, w - 1);
	}
	if (n) {
		*cy = (int)crow - top;
		*cx = wrap_width(s + lines[crow].off, cur - lines[crow].off);
		if (*cx > w - 1)
			*cx = w - 1;
	}
	free(lines);
	free(s);
}
