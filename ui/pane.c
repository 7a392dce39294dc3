/* The table of side panes. See pane.h. */
#include "pane.h"

/* One row per pane; the UI finds a pane by its toggle action. */
static const struct pane_ops *const pane_rows[] = {
	&pane_help,
	&pane_meta,
	&pane_sessions,
};

_Static_assert(sizeof(pane_rows) / sizeof(pane_rows[0]) <= PANE_MAX, "raise PANE_MAX");

const struct pane_ops *const *pane_table(size_t *n)
{
	*n = sizeof(pane_rows) / sizeof(pane_rows[0]);
	return pane_rows;
}
