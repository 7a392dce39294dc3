/* Subcommands of the llamaterm binary. Each takes the arguments after its
 * name (argv[0] is the subcommand name) and returns the process exit status:
 * 0 on success, 1 on a runtime error (bad file, failed load), 2 on a usage
 * error (unknown option, missing argument). */
#ifndef LT_COMMANDS_H
#define LT_COMMANDS_H

int cmd_info(int argc, char **argv);
int cmd_tokenize(int argc, char **argv);
int cmd_run(int argc, char **argv);
int cmd_logits(int argc, char **argv);
int cmd_perplexity(int argc, char **argv);
int cmd_bench(int argc, char **argv);
int cmd_quantize(int argc, char **argv);
int cmd_templates(int argc, char **argv);
int cmd_chat(int argc, char **argv);
int cmd_sessions(int argc, char **argv);
int cmd_models(int argc, char **argv);
int cmd_serve(int argc, char **argv);

/* `llamaterm` alone on a terminal: the models found (cmd_models.c) in a
 * full-screen picker. Returns 1 with *path (to free) when one was picked,
 * 0 when the user left, or a negative lt_error (already reported). */
int models_pick(char **path);

#endif
