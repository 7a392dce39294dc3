# The KEY BINDINGS section of the man page (between the '.\" BEGIN KEYS'
# and '.\" END KEYS' lines) is exactly what the key table generates, so
# the page cannot drift from the keys the UI really reads.
. tests/lib.sh
page=man/llamaterm.1
if ! gen=$("$LLAMATERM" chat --print-keys-roff 2>/dev/null); then
	skip man_key_bindings "this build has no 'chat --print-keys-roff' (test_keys checks the section)"
	exit 0
fi
section=$(sed -n '/^\.\\" BEGIN KEYS$/,/^\.\\" END KEYS$/p' "$page" | sed '1d;$d')
if [ -z "$section" ]; then
	fail man_key_bindings "$page has no BEGIN KEYS/END KEYS section"
elif [ "$section" = "$gen" ]; then
	pass man_key_bindings
else
	fail man_key_bindings "$page differs from 'llamaterm chat --print-keys-roff'; regenerate the section"
	diff <(echo "$section") <(echo "$gen") | head -n 20
fi
