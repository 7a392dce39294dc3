#!/usr/bin/env bash
# Regenerates the sections of man/llamaterm.1 that come from the program's
# own tables (options, slash commands, key bindings, architectures), between the lines
# '.\" BEGIN NAME' and '.\" END NAME'. Usage: gen_man.sh LLAMATERM [PAGE [OUT]]
set -euo pipefail
bin=$1
page=${2:-man/llamaterm.1}
out=${3:-$page}
tmp=$(mktemp)
trap 'rm -f "$tmp" "$tmp".*' EXIT
"$bin" --print-man options >"$tmp.OPTIONS"
"$bin" --print-man slash >"$tmp.SLASH"
"$bin" --print-man archs >"$tmp.ARCHS"
"$bin" chat --print-keys-roff >"$tmp.KEYS"
awk -v base="$tmp" '
	/^\.\\" BEGIN [A-Z]+$/ {
		print
		name = $3
		file = base "." name
		while ((getline line < file) > 0)
			print line
		close(file)
		skipping = 1
		next
	}
	/^\.\\" END [A-Z]+$/ { skipping = 0 }
	!skipping { print }
' "$page" >"$tmp"
cp "$tmp" "$out"
