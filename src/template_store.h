/* Where templates come from: NAME.tmpl files in a list of directories,
 * earlier directories hiding later ones. Loading by name, listing them for
 * 'llamaterm templates', and recognising a model's tokenizer.chat_template
 * by the detect markers of each file. */
#ifndef LT_TEMPLATE_STORE_H
#define LT_TEMPLATE_STORE_H

#include <stdbool.h>
#include <stddef.h>

struct template;

/* The template used when nothing else is chosen. */
#define TEMPLATE_FALLBACK "dialogue"

/* Loads a template by name (NAME.tmpl in the first of dirs that has it) or
 * by path (anything containing '/' or ending in .tmpl, or an existing file
 * when no directory has the name). LT_E_NOTFOUND names where it looked. */
int template_load(struct template **out, const char *name_or_path, char *const *dirs,
		  size_t n_dirs, char *err, size_t errlen);

/* One available template, as 'llamaterm templates' lists it. */
struct template_info {
	char *name;        /* the file name without .tmpl: what --template takes */
	char *description; /* "" when none or when the file does not parse */
	char *path;
	size_t dir_index;  /* which of dirs it came from */
	bool overrides;    /* hides a file of the same name in a later directory */
	char *error;       /* NULL, or the parse error of a broken file */
};

/* Every NAME.tmpl in dirs, earlier directories hiding later ones, sorted by
 * name. Unreadable directories are skipped; broken files are listed with
 * their error. */
int template_list(struct template_info **out, size_t *n, char *const *dirs, size_t n_dirs,
		  char *err, size_t errlen);
void template_list_free(struct template_info *list, size_t n);

/* Recognises a model's tokenizer.chat_template among the templates in dirs
 * (by their detect markers, or the exact name of one). Returns 0 with a
 * malloc'd name in *name, or with *name NULL when none matches. */
int template_detect(const char *chat_template, char *const *dirs, size_t n_dirs, char **name,
		    char *err, size_t errlen);

/* The automatic choice: requested (--template NAME|FILE) when given; else
 * the template recognised from chat_template (may be NULL); else
 * TEMPLATE_FALLBACK. note receives one line saying what was chosen and
 * why (e.g. "model chat template not recognised; using 'dialogue'"). */
int template_choose(struct template **out, const char *requested, const char *chat_template,
		    char *const *dirs, size_t n_dirs, char *note, size_t notelen, char *err,
		    size_t errlen);

/* The built-in "dialogue" template (User:/AI: turns), for when no template
 * file can be found at all. */
int template_builtin(struct template **out, char *err, size_t errlen);

#endif
