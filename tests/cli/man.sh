# The man page renders without warnings.
. tests/lib.sh
if ! command -v groff >/dev/null; then
	skip man_page_renders "groff not installed"
	exit 0
fi
out=$(groff -man -ww -z man/llamaterm.1 2>&1)
if [ -z "$out" ]; then pass man_page_renders; else fail man_page_renders "$out"; fi
