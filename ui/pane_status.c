/* The status bar. See pane_status.h. */
#include "pane_status.h"

#include <stdio.h>
#include <string.h>

#include "draw.h"
#include "wrap.h"

/* Context use (percent) from which the gauge turns yellow, then red. */
#define STATUS_GAUGE_MID 60
#define STATUS_GAUGE_HIGH 85

/* Names longer than this many columns are shortened (with an ellipsis)
 * before any field is dropped. */
#define STATUS_NAME_SHORT 14

enum status_slot { SLOT_STATE, SLOT_CTX, SLOT_SPEED, SLOT_SESSION, SLOT_MODEL, SLOT_TEMPLATE,
		   SLOT_THINK, N_SLOTS };

struct status_field {
	char text[256];
	attr_t attr;
	bool shown;
};

/* The width a field takes in the bar: " text │". */
static int status_field_cols(const struct status_field *f)
{
	return f->shown ? wrap_width(f->text, strlen(f->text)) + 3 : 0;
}

static int status_total(const struct status_field *f)
{
	int total = 0;
	for (int i = 0; i < N_SLOTS; i++)
		total += status_field_cols(&f[i]);
	return total;
}

/* Cuts a name to STATUS_NAME_SHORT columns with an ellipsis. */
static void status_shorten(struct status_field *f)
{
	size_t len = strlen(f->text);
	if (wrap_width(f->text, len) <= STATUS_NAME_SHORT)
		return;
	size_t keep = wrap_fit(f->text, len, STATUS_NAME_SHORT - 1);
	snprintf(f->text + keep, sizeof(f->text) - keep, "\xe2\x80\xa6");
}

/* Makes the fields fit w columns: first the long forms give way (the
 * speeds keep only generation's, names are shortened), then whole fields
 * go, least wanted first. The state, the context gauge and the template
 * stay longest: they are what a glance at the bar is for. */
static void status_fit(struct status_field *f, int w, double tg_tps)
{
	static const enum status_slot drop_order[] = { SLOT_THINK, SLOT_SPEED, SLOT_SESSION,
						       SLOT_MODEL, SLOT_TEMPLATE, SLOT_CTX };
	if (status_total(f) > w && f[SLOT_SPEED].shown)
		snprintf(f[SLOT_SPEED].text, sizeof(f[SLOT_SPEED].text), "tg %.1f tok/s", tg_tps);
	if (status_total(f) > w)
		status_shorten(&f[SLOT_MODEL]);
	if (status_total(f) > w)
		status_shorten(&f[SLOT_SESSION]);
	if (status_total(f) > w)
		status_shorten(&f[SLOT_TEMPLATE]);
	for (size_t i = 0; i < sizeof(drop_order) / sizeof(drop_order[0]) && status_total(f) > w; i++)
		f[drop_order[i]].shown = false;
}

static const char status_spinner[] = "|/-\\";

void status_draw(WINDOW *win, const struct status_view *v)
{
	int h, w;
	getmaxyx(win, h, w);
	(void)h;
	attr_t base = draw_attr(DRAW_STATUS);
	wattrset(win, base);
	wmove(win, 0, 0);
	for (int i = 0; i < w; i++)
		waddch(win, ' ');
	if (v->question) {
		wattrset(win, draw_attr(DRAW_GAUGE_HIGH) | A_BOLD);
		mvwaddch(win, 0, 0, ' ');
		draw_text(win, v->question, strlen(v->question), w - 1);
		wattrset(win, A_NORMAL);
		return;
	}
	const struct worker_status *st = v->st;
	struct status_field f[N_SLOTS];
	for (int i = 0; i < N_SLOTS; i++)
		f[i] = (struct status_field){ .text = "", .attr = base, .shown = false };

	struct status_field *state = &f[SLOT_STATE];
	switch (st->state) {
	case WORKER_STATE_LOADING:
		snprintf(state->text, sizeof(state->text), "%c loading %d%%",
			 status_spinner[v->tick % 4], (int)(v->load_frac * 100 + 0.5));
		break;
	case WORKER_STATE_GENERATING:
		snprintf(state->text, sizeof(state->text), "%c generating", status_spinner[v->tick % 4]);
		break;
	default:
		snprintf(state->text, sizeof(state->text), "%s", worker_state_name(st->state));
		break;
	}
	state->attr = st->state == WORKER_STATE_FAILED ? draw_attr(DRAW_GAUGE_HIGH) : base | A_BOLD;
	state->shown = true;
	if (st->n_ctx_max > 0) {
		int pct = (int)((long long)st->n_ctx_used * 100 / st->n_ctx_max);
		enum draw_pair gp = pct >= STATUS_GAUGE_HIGH ? DRAW_GAUGE_HIGH
				    : pct >= STATUS_GAUGE_MID ? DRAW_GAUGE_MID : DRAW_GAUGE_LOW;
		snprintf(f[SLOT_CTX].text, sizeof(f[SLOT_CTX].text), "ctx %d/%d %d%%", st->n_ctx_used,
			 st->n_ctx_max, pct);
		f[SLOT_CTX].attr = draw_attr(gp);
		f[SLOT_CTX].shown = true;
	}
	if (st->tg_tps > 0 || st->pp_tps > 0) {
		snprintf(f[SLOT_SPEED].text, sizeof(f[SLOT_SPEED].text), "pp %.1f tok/s  tg %.1f tok/s",
			 st->pp_tps, st->tg_tps);
		f[SLOT_SPEED].shown = true;
	}
	if (st->session[0]) {
		snprintf(f[SLOT_SESSION].text, sizeof(f[SLOT_SESSION].text), "%s%s", st->session,
			 st->saved ? "" : " *");
		f[SLOT_SESSION].shown = true;
	}
	/* A remote model: its name and the server's host:port. */
	snprintf(f[SLOT_MODEL].text, sizeof(f[SLOT_MODEL].text), "%.120s%s%.120s", st->model,
		 st->server[0] ? " @ " : "", st->server);
	f[SLOT_MODEL].shown = st->model[0] != '\0';
	snprintf(f[SLOT_TEMPLATE].text, sizeof(f[SLOT_TEMPLATE].text), "%s", st->template_name);
	f[SLOT_TEMPLATE].shown = st->template_name[0] != '\0';
	/* Only worth a field when it differs from the model's default. */
	snprintf(f[SLOT_THINK].text, sizeof(f[SLOT_THINK].text), "think off");
	f[SLOT_THINK].shown = st->can_switch_thinking && !st->thinking;

	/* A message takes the room of the model and template names. */
	bool message = v->message != NULL;
	if (message)
		f[SLOT_MODEL].shown = f[SLOT_TEMPLATE].shown = f[SLOT_THINK].shown = false;
	status_fit(f, message ? w / 2 : w, st->tg_tps);

	int x = 0;
	for (int i = 0; i < N_SLOTS; i++) {
		if (!f[i].shown)
			continue;
		int tw = wrap_width(f[i].text, strlen(f[i].text));
		wattrset(win, base);
		mvwaddch(win, 0, x, ' ');
		wattrset(win, f[i].attr);
		draw_text(win, f[i].text, strlen(f[i].text), tw);
		wattrset(win, base);
		waddstr(win, " \xe2\x94\x82");
		x += tw + 3;
	}
	if (message && x + 4 < w) {
		wattrset(win, v->message_error ? draw_attr(DRAW_GAUGE_HIGH) : base);
		mvwaddch(win, 0, x, ' ');
		draw_text(win, v->message, strlen(v->message), w - x - 1);
	}
	wattrset(win, A_NORMAL);
}
