/* The status bar. See pane_status.h. */
#include "pane_status.h"

#include <stdio.h>
#include <string.h>

#include "draw.h"
#include "wrap.h"

/* Context use (percent) from which the gauge turns yellow, then red. */
#define STATUS_GAUGE_MID 60
#define STATUS_GAUGE_HIGH 85

/* Appends a field " text │" and returns the new column, or -1 when it
 * does not fit in w columns. */
static int status_field(WINDOW *win, int x, int w, const char *text, attr_t a)
{
	int tw = wrap_width(text, strlen(text));
	if (x + tw + 3 > w)
		return -1;
	wattrset(win, draw_attr(DRAW_STATUS));
	mvwaddch(win, 0, x, ' ');
	wattrset(win, a);
	draw_text(win, text, strlen(text), tw);
	wattrset(win, draw_attr(DRAW_STATUS));
	waddstr(win, " \xe2\x94\x82");
	return x + tw + 3;
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
	char buf[256];
	int x = 0, nx;

	/* The state first: it matters most and must survive a narrow bar. */
	switch (st->state) {
	case WORKER_STATE_LOADING:
		snprintf(buf, sizeof(buf), "%c loading %d%%", status_spinner[v->tick % 4],
			 (int)(v->load_frac * 100 + 0.5));
		break;
	case WORKER_STATE_GENERATING:
		snprintf(buf, sizeof(buf), "%c generating", status_spinner[v->tick % 4]);
		break;
	default:
		snprintf(buf, sizeof(buf), "%s", worker_state_name(st->state));
		break;
	}
	attr_t sa = st->state == WORKER_STATE_FAILED ? draw_attr(DRAW_GAUGE_HIGH) : base | A_BOLD;
	if ((nx = status_field(win, x, w, buf, sa)) >= 0)
		x = nx;

	if (st->n_ctx_max > 0) {
		int pct = (int)((long long)st->n_ctx_used * 100 / st->n_ctx_max);
		enum draw_pair gp = pct >= STATUS_GAUGE_HIGH ? DRAW_GAUGE_HIGH
				    : pct >= STATUS_GAUGE_MID ? DRAW_GAUGE_MID : DRAW_GAUGE_LOW;
		snprintf(buf, sizeof(buf), "ctx %d/%d %d%%", st->n_ctx_used, st->n_ctx_max, pct);
		if ((nx = status_field(win, x, w, buf, draw_attr(gp))) >= 0)
			x = nx;
	}
	if (st->tg_tps > 0 || st->pp_tps > 0) {
		snprintf(buf, sizeof(buf), "pp %.1f tok/s  tg %.1f tok/s", st->pp_tps, st->tg_tps);
		if ((nx = status_field(win, x, w, buf, base)) >= 0)
			x = nx;
	}
	if (st->session[0]) {
		snprintf(buf, sizeof(buf), "%s%s", st->session, st->saved ? "" : " *");
		if ((nx = status_field(win, x, w, buf, base)) >= 0)
			x = nx;
	}
	/* A message takes the room of the model and template names. */
	if (v->message && x + 4 < w) {
		wattrset(win, v->message_error ? draw_attr(DRAW_GAUGE_HIGH) : base);
		mvwaddch(win, 0, x, ' ');
		draw_text(win, v->message, strlen(v->message), w - x - 1);
		wattrset(win, A_NORMAL);
		return;
	}
	if (st->model[0] && (nx = status_field(win, x, w, st->model, base)) >= 0)
		x = nx;
	if (st->template_name[0] && (nx = status_field(win, x, w, st->template_name, base)) >= 0)
		x = nx;
	/* Only worth a field when it differs from the model's default. */
	if (st->can_switch_thinking && !st->thinking &&
	    (nx = status_field(win, x, w, "think off", base)) >= 0)
		x = nx;
	wattrset(win, A_NORMAL);
}
