/* The F1 help pane: the key bindings (from the key table) and the slash
 * commands (from the slash table), in a list made when first shown. */
#include "pane.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "errors.h"
#include "keys.h"
#include "slash.h"

static void help_line(void *ud, const char *text)
{
	struct listview *lv = ud;
	/* Headings are the lines that do not start with a space. */
	enum listview_style st = text[0] && text[0] != ' ' ? LISTVIEW_HEADING : LISTVIEW_TEXT;
	listview_add(lv, st, -1, text);
}

static int help_new(struct listview **out)
{
	struct listview *lv;
	int rc = listview_new(&lv);
	*out = lv;
	if (rc < 0)
		return rc;
	keys_help(help_line, lv);
	listview_add(lv, LISTVIEW_TEXT, -1, "");
	listview_add(lv, LISTVIEW_HEADING, -1, "Slash commands");
	char *buf = NULL;
	size_t len = 0;
	FILE *m = open_memstream(&buf, &len);
	if (m) {
		slash_print_help(m);
		fclose(m);
		for (char *line = buf, *nl; line && *line; line = nl ? nl + 1 : NULL) {
			nl = strchr(line, '\n');
			if (nl)
				*nl = '\0';
			listview_addf(lv, LISTVIEW_TEXT, -1, "  %s", line);
		}
		free(buf);
	}
	return LT_OK;
}

static int help_open(void **state, const struct pane_env *env)
{
	/* The text never changes, so it is made once and kept. */
	if (*state)
		return 0;
	struct listview *lv;
	int rc = help_new(&lv);
	*state = lv;
	return rc;
}

static void help_free(void *state)
{
	listview_free(state);
}

static int help_draw(void *state, WINDOW *win, bool focused)
{
	return listview_draw(state, win, " Help (F1)  Esc closes", NULL, focused);
}

static struct listview *help_list(void *state)
{
	return state;
}

const struct pane_ops pane_help = {
	.name = "help",
	.focus = KEYS_FOCUS_HELP,
	.toggle = KA_HELP,
	.open = help_open,
	.free = help_free,
	.draw = help_draw,
	.list = help_list,
};
