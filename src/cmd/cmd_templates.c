/* llamaterm templates: list the prompt templates, print one, show how one
 * lays out a sample chat, or tell which one a model would get. */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "commands.h"
#include "gguf.h"
#include "paths.h"
#include "template.h"

#define ERR_LEN 512

static void templates_usage(FILE *out)
{
	fprintf(out,
		"usage: llamaterm templates [list]\n"
		"       llamaterm templates show NAME|FILE\n"
		"       llamaterm templates render NAME|FILE [--system TEXT]\n"
		"       llamaterm templates detect MODEL.gguf\n\n"
		"Prompt templates lay a chat out as text for one model family.\n\n"
		"  list     every template: name, description and file; user files in\n"
		"           $XDG_CONFIG_HOME/llamaterm/prompts override shipped ones\n"
		"  show     print a template file\n"
		"  render   print a sample two-turn chat as the template lays it out\n"
		"  detect   which template chat would pick for a model, and why\n");
}

static void templates_print_dirs(FILE *out, char **dirs, size_t n)
{
	fprintf(out, "Searched (earlier directories override later ones):\n");
	if (n == 0)
		fprintf(out, "  (no template directory exists)\n");
	for (size_t i = 0; i < n; i++)
		fprintf(out, "  %s\n", dirs[i]);
}

static int templates_list(char **dirs, size_t n_dirs)
{
	struct template_info *list;
	size_t n;
	char err[ERR_LEN];
	if (template_list(&list, &n, dirs, n_dirs, err, sizeof(err)) < 0) {
		fprintf(stderr, "llamaterm templates: %s\n", err);
		return 1;
	}
	/* The user's directory, canonical as the search list holds it. */
	char *config = paths_dir(PATHS_CONFIG);
	char *user_prompts = config ? paths_join(config, "prompts") : NULL;
	char *user_dir = user_prompts ? realpath(user_prompts, NULL) : NULL;
	free(config);
	free(user_prompts);
	int width = 4;
	for (size_t i = 0; i < n; i++)
		if ((int)strlen(list[i].name) > width)
			width = (int)strlen(list[i].name);
	for (size_t i = 0; i < n; i++) {
		const struct template_info *e = &list[i];
		bool user = user_dir && strcmp(dirs[e->dir_index], user_dir) == 0;
		const char *mark = "";
		if (user && e->overrides)
			mark = "  (user file, overrides the shipped one)";
		else if (user)
			mark = "  (user file)";
		else if (e->overrides)
			mark = "  (overrides one of the same name below)";
		printf("%-*s  %s\n%-*s  %s%s\n", width, e->name,
		       e->error ? "(broken file, see below)" : e->description, width, "", e->path,
		       mark);
	}
	int broken = 0;
	for (size_t i = 0; i < n; i++) {
		if (list[i].error) {
			fprintf(stderr, "llamaterm templates: %s\n", list[i].error);
			broken = 1;
		}
	}
	if (n == 0)
		printf("No templates found.\n");
	printf("\n");
	templates_print_dirs(stdout, dirs, n_dirs);
	template_list_free(list, n);
	free(user_dir);
	return broken;
}

static int templates_show(const char *name, char **dirs, size_t n_dirs)
{
	struct template *t;
	char err[ERR_LEN];
	if (template_load(&t, name, dirs, n_dirs, err, sizeof(err)) < 0) {
		fprintf(stderr, "llamaterm templates: %s\n", err);
		return 1;
	}
	FILE *f = fopen(template_path(t), "rb");
	if (!f) {
		fprintf(stderr, "llamaterm templates: %s: cannot open\n", template_path(t));
		template_free(t);
		return 1;
	}
	char buf[4096];
	size_t got;
	while ((got = fread(buf, 1, sizeof(buf), f)) > 0)
		fwrite(buf, 1, got, stdout);
	fclose(f);
	template_free(t);
	return 0;
}

static int templates_render(const char *name, const char *system, char **dirs, size_t n_dirs)
{
	struct template *t;
	char err[ERR_LEN];
	if (template_load(&t, name, dirs, n_dirs, err, sizeof(err)) < 0) {
		fprintf(stderr, "llamaterm templates: %s\n", err);
		return 1;
	}
	static const struct template_msg sample[] = {
		{ TEMPLATE_ROLE_USER, "Hello", NULL },
		/* Reasoning templates show what they do with a past reply's. */
		{ TEMPLATE_ROLE_ASSISTANT, "Hi there", "The user greets me." },
		{ TEMPLATE_ROLE_USER, "How are you?", NULL },
	};
	if (!system)
		system = template_default_system(t);
	struct template_segs s = { 0 };
	int rc = template_render_conversation(t, system, sample, 3, 0, &s);
	char *out = rc == 0 ? template_segs_join(&s, NULL) : NULL;
	if (!out) {
		fprintf(stderr, "llamaterm templates: out of memory\n");
		template_segs_free(&s);
		template_free(t);
		return 1;
	}
	printf("%s%s\n", template_bos(t) ? "[BOS]" : "", out);
	free(out);
	template_segs_free(&s);
	template_free(t);
	return 0;
}

static int templates_detect(const char *model, char **dirs, size_t n_dirs)
{
	struct gguf *g;
	char err[ERR_LEN];
	char *resolved; /* a model's name from a store works as with -m */
	if (cli_model_path(model, "templates", &resolved))
		return 1;
	int orc = gguf_open(&g, resolved ? resolved : model, 0, err, sizeof(err));
	free(resolved);
	if (orc < 0) {
		fprintf(stderr, "llamaterm templates: %s\n", err);
		return 1;
	}
	const char *ct = NULL;
	if (gguf_get_str(g, "tokenizer.chat_template", &ct, NULL) < 0)
		ct = NULL;
	struct template *t;
	char note[512];
	int rc = template_choose(&t, NULL, ct, dirs, n_dirs, note, sizeof(note), err, sizeof(err));
	gguf_free(g);
	if (rc < 0) {
		fprintf(stderr, "llamaterm templates: %s\n", err);
		return 1;
	}
	printf("%s\t%s\n%s\n", template_name(t), template_path(t), note);
	template_free(t);
	return 0;
}

int cmd_templates(int argc, char **argv)
{
	const char *words[3] = { 0 };
	int n_words = 0;
	const char *system = NULL;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
			templates_usage(stdout);
			return 0;
		}
		if (strcmp(a, "--system") == 0) {
			if (i + 1 >= argc) {
				fprintf(stderr, "llamaterm templates: --system needs an argument\n");
				return 2;
			}
			system = argv[++i];
			continue;
		}
		if (a[0] == '-' && a[1]) {
			fprintf(stderr, "llamaterm templates: unknown option '%s' (try --help)\n", a);
			return 2;
		}
		if (n_words == 3) {
			fprintf(stderr, "llamaterm templates: unexpected argument '%s'\n", a);
			return 2;
		}
		words[n_words++] = a;
	}
	const char *verb = n_words ? words[0] : "list";
	int want = strcmp(verb, "list") == 0 ? 1 : 2;
	if (strcmp(verb, "list") != 0 && strcmp(verb, "show") != 0 && strcmp(verb, "render") != 0 &&
	    strcmp(verb, "detect") != 0) {
		fprintf(stderr, "llamaterm templates: unknown action '%s' (list, show, render or detect)\n",
			verb);
		return 2;
	}
	if (n_words > want || (want == 2 && n_words < 2)) {
		fprintf(stderr, "llamaterm templates: '%s' takes %s\n", verb,
			want == 1 ? "no argument" :
			strcmp(verb, "detect") == 0 ? "one model file" : "one template name or file");
		return 2;
	}
	if (system && strcmp(verb, "render") != 0) {
		fprintf(stderr, "llamaterm templates: --system only applies to 'render'\n");
		return 2;
	}
	char **dirs;
	size_t n_dirs;
	if (paths_template_dirs(&dirs, &n_dirs) < 0) {
		fprintf(stderr, "llamaterm templates: out of memory\n");
		return 1;
	}
	int rc;
	if (strcmp(verb, "list") == 0)
		rc = templates_list(dirs, n_dirs);
	else if (strcmp(verb, "show") == 0)
		rc = templates_show(words[1], dirs, n_dirs);
	else if (strcmp(verb, "render") == 0)
		rc = templates_render(words[1], system, dirs, n_dirs);
	else
		rc = templates_detect(words[1], dirs, n_dirs);
	paths_list_free(dirs, n_dirs);
	return rc;
}
