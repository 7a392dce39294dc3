/* The ring-to-transcript mapping: each worker event the loop pops becomes
 * an entry or more text in the transcript, a figure in the status bar, a
 * log line, or news for a side pane. Long texts arrive in several records
 * marked RING_F_MORE, so a record after one of those continues it. */
#include <stdio.h>

#include "tui_impl.h"
#include "worker.h"

/* A note: an error, a plain message (a == 0) or a warning. */
static unsigned feed_note(struct tui *t, const struct ring_event *ev, bool cont, const char *d)
{
	enum transcript_kind k = ev->kind == WORKER_EV_ERROR ? TRANSCRIPT_ERROR
				 : ev->kind == WORKER_EV_INFO && ev->a == 0 ? TRANSCRIPT_INFO
				 : TRANSCRIPT_WARNING;
	if (cont)
		transcript_append(t->tr, d, ev->len);
	else
		transcript_add(t->tr, k, d, ev->len);
	if (ev->kind == WORKER_EV_ERROR) {
		uilog_printf(&t->log, "worker error %lld%s: %s", (long long)ev->a,
			     ev->b ? " (fatal)" : "", d);
		/* The engine cannot start: leave the full screen so the message
		 * stays readable on the terminal, as in line mode. */
		if (ev->b) {
			snprintf(t->fatal, sizeof(t->fatal), "%s", d);
			return TUI_QUIT;
		}
	}
	return TUI_REDRAW;
}

/* Every pane made so far hears of the event, shown or not, so a hidden
 * list is current when it comes back. */
static void feed_panes(struct tui *t, const struct ring_event *ev)
{
	for (size_t i = 0; i < t->n_panes; i++)
		if (t->pane_state[i] && t->panes[i]->event)
			t->panes[i]->event(t->pane_state[i], ev);
}

unsigned feed_event(struct tui *t, const struct ring_event *ev)
{
	bool cont = t->more;
	t->more = (ev->flags & RING_F_MORE) != 0;
	const char *d = ev->data ? ev->data : "";
	switch ((enum worker_event)ev->kind) {
	case WORKER_EV_STATE:
		if (ev->a == WORKER_STATE_IDLE || ev->a == WORKER_STATE_FAILED)
			t->load_frac = 1;
		return TUI_REDRAW;
	case WORKER_EV_LOAD_PROGRESS:
		t->load_frac = ev->x;
		snprintf(t->load_what, sizeof(t->load_what), "%s", d);
		return TUI_REDRAW;
	case WORKER_EV_CLEAR:
		transcript_clear(t->tr);
		return TUI_REDRAW;
	case WORKER_EV_TURN:
		if (cont) {
			transcript_append(t->tr, d, ev->len);
		} else {
			transcript_add(t->tr, ev->a == 0 ? TRANSCRIPT_USER : TRANSCRIPT_ASSISTANT, d,
				       ev->len);
			if (ev->x == 1)
				transcript_mark_partial(t->tr);
		}
		return TUI_REDRAW;
	case WORKER_EV_REPLY_START:
		transcript_add(t->tr, TRANSCRIPT_ASSISTANT, "", 0);
		return TUI_REDRAW;
	case WORKER_EV_TEXT:
		transcript_append(t->tr, d, ev->len);
		return TUI_REDRAW;
	case WORKER_EV_REASONING:
		transcript_append_reasoning(t->tr, d, ev->len, (int)ev->a);
		return TUI_REDRAW;
	case WORKER_EV_DONE:
		if (ev->x > 0) /* the final count of the reasoning's tokens */
			transcript_append_reasoning(t->tr, "", 0, (int)ev->x);
		if (ev->b == CONV_STOP_USER || ev->b == CONV_STOP_LIMIT ||
		    ev->b == CONV_STOP_CTX_FULL)
			transcript_mark_partial(t->tr);
		uilog_printf(&t->log, "reply done: %lld tokens, %s", (long long)ev->a,
			     conv_stop_reason_name((enum conv_stop_reason)ev->b));
		return TUI_REDRAW;
	case WORKER_EV_STATS:
		uilog_printf(&t->log, "stats: prompt %lld tok %.1f tok/s, gen %lld tok %.1f tok/s",
			     (long long)ev->a, ev->x, (long long)ev->b, ev->y);
		return TUI_REDRAW;
	case WORKER_EV_CTX_SHIFTED:
	case WORKER_EV_INFO:
	case WORKER_EV_ERROR:
		return feed_note(t, ev, cont, d);
	case WORKER_EV_SAVED:
		if (ev->a == 0)
			tui_message(t, false, "saved session %s", d);
		feed_panes(t, ev);
		return TUI_REDRAW;
	case WORKER_EV_SESSION:
		tui_message(t, ev->a != 0, "%s", d);
		feed_panes(t, ev);
		return TUI_REDRAW;
	case WORKER_EV_COUNT:
		break;
	}
	return 0;
}
