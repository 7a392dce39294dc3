# The man page renders without warnings, and its generated sections
# (options, slash commands, key bindings, architectures) match the program's tables.
. tests/lib.sh
page=man/llamaterm.1
if command -v groff >/dev/null; then
	out=$(groff -man -ww -z "$page" 2>&1)
	if [ -z "$out" ]; then pass man_page_renders; else fail man_page_renders "$out"; fi
else
	skip man_page_renders "groff not installed"
fi
for section in OPTIONS SLASH KEYS ARCHS; do
	grep -q "^\.\\\\\" BEGIN $section\$" "$page" && pass "man page has a $section section" ||
		fail "man page has a $section section"
done
if bash tests/gen_man.sh "$LLAMATERM" "$page" "$TMP/page.1"; then
	if cmp -s "$page" "$TMP/page.1"; then
		pass "man page sections match the tables"
	else
		fail "man page sections match the tables" "run 'make man' to regenerate"
		diff "$page" "$TMP/page.1" | head -n 20
	fi
else
	fail "man page sections can be generated"
fi

# README's model list names exactly the architectures of the table.
archs=$("$LLAMATERM" --print-man archs | sed -n 's/^\.B //p')
readme=$(sed -n '/^## Models that run/,/^## /p' README.md | grep -o '^| `[a-z0-9]*`' | tr -d '|` ')
if [ -n "$archs" ] && [ "$(echo "$archs" | sort)" = "$(echo "$readme" | sort)" ]; then
	pass "README lists exactly the supported architectures"
else
	fail "README lists exactly the supported architectures" "table: $(echo $archs) README: $(echo $readme)"
fi
