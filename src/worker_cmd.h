/* The commands the worker (worker.h) runs, as plain data. A line typed at
 * the prompt is parsed on the UI thread (slash.c) and run on the engine
 * thread (worker.c); this header is all the two sides share, so the parser
 * never includes the worker and the worker never includes the parser. */
#ifndef LT_WORKER_CMD_H
#define LT_WORKER_CMD_H

enum worker_cmd {
	WORKER_CMD_SEND = 1,      /* arg1: user text. Streams the reply. */
	WORKER_CMD_REGEN,         /* replace the last reply with a new one */
	WORKER_CMD_UNDO,          /* drop the last exchange (user turn + reply) */
	WORKER_CMD_SAVE,          /* arg1: session name or NULL for the current/dated one */
	WORKER_CMD_LOAD,          /* arg1: session name */
	WORKER_CMD_NEW,           /* start an empty conversation (a new dated session) */
	WORKER_CMD_SET_PARAM,     /* arg1: parameter name (params.h), arg2: value */
	WORKER_CMD_SET_SYSTEM,    /* arg1: the new system prompt ("" for none) */
	WORKER_CMD_SET_TEMPLATE,  /* arg1: template name or file */
	WORKER_CMD_STOP_ADD,      /* arg1: stop string */
	WORKER_CMD_STOP_RM,       /* arg1: stop string */
	WORKER_CMD_STOP_LIST,     /* answered with WORKER_EV_INFO lines */
	WORKER_CMD_POSTFIX,       /* arg1: text appended to each user turn ("" for none) */
	WORKER_CMD_SHOW,          /* arg1: NULL (all), "parameters", "system" or "template";
				   * settings as WORKER_EV_INFO lines */
	WORKER_CMD_ATTACH,        /* arg1: a text file whose contents go with the next SEND */
	WORKER_CMD_INFO,          /* model and context as WORKER_EV_INFO lines */
	WORKER_CMD_THINK,         /* arg1: "on", "off", or NULL to report it */
	WORKER_CMD_SESSION_RENAME, /* arg1: a saved session, arg2: its new name */
	WORKER_CMD_SESSION_DELETE, /* arg1: a saved session */
	WORKER_CMD_QUIT,          /* autosave and end the thread */
};

/* One command and its arguments (NULL where unused). */
struct worker_call {
	enum worker_cmd cmd;
	const char *arg1;
	const char *arg2;
};

#endif
