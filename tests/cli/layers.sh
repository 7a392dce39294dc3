# The include arrows point one way: ui/ -> src/ -> engine/, and src/cmd/
# (main and the subcommands) above both. The Makefile gives each folder
# only the -I paths it may use, but a quoted include is first looked up
# next to the including file, so "cmd/cli.h" or "../ui/tui.h" from src/
# would still compile; and a header that only a higher layer includes is
# never compiled with its own folder's paths. So this reads what the
# compiler really opened (the -MMD dependency files of $BUILD) and, for
# every source and header, where each quoted include resolves, and fails
# on any arrow that points up. It first checks itself on a tree with a
# wrong include, so a checker that sees nothing cannot pass.
. tests/lib.sh

# Prints "FILE includes DEP" for every include against the arrows.
#   deps: dependency files (.d) to read; tree: check every quoted include.
# Runs in the current directory (the tree's root).
layers_awk='
function layer(p) {
	if (p ~ /^engine\//) return "engine"
	if (p ~ /^src\/cmd\//) return "cmd"
	if (p ~ /^src\//) return "src"
	if (p ~ /^ui\//) return "ui"
	return ""
}
# What each layer may include besides itself.
function allowed(from, to) {
	if (from == "" || to == "" || from == to || from == "cmd") return 1
	if (from == "src") return to == "engine"
	if (from == "ui") return to == "engine" || to == "src"
	return 0
}
# Resolves "." and ".." lexically, as the compiler names the file.
function norm(p,    n, i, k, out, part) {
	n = split(p, part, "/")
	k = 0
	for (i = 1; i <= n; i++) {
		if (part[i] == "" || part[i] == ".") continue
		if (part[i] == ".." && k > 0 && stack[k] != "..") { k--; continue }
		stack[++k] = part[i]
	}
	out = ""
	for (i = 1; i <= k; i++) out = out (i > 1 ? "/" : "") stack[i]
	return out
}
function check(src, dep) {
	if (dep ~ /^\//) {
		if (index(dep, root "/") != 1) return
		dep = substr(dep, length(root) + 2)
	}
	dep = norm(dep)
	if (!allowed(layer(src), layer(dep)))
		print src " includes " dep
}
'

# From dependency files: the first prerequisite of each object is its
# source; the rest is every header the compiler opened for it.
layers_from_deps() { # DEP_FILES...
	[ "$#" -gt 0 ] || return 0
	awk -v root="$(pwd)" "$layers_awk"'
	FNR == 1 { in_rule = 1; src = "" }
	in_rule {
		line = $0
		more = sub(/\\$/, "", line)
		n = split(line, w, /[ \t]+/)
		for (i = 1; i <= n; i++) {
			if (w[i] == "" || w[i] ~ /:$/) continue
			if (src == "") {
				src = norm(w[i])
				# A file left by a source that has moved is not this tree.
				if (system("test -f \"" src "\"") != 0) src = "-"
			} else if (src != "-") {
				check(src, w[i])
			}
		}
		if (!more) in_rule = 0
	}' "$@"
}

# From the sources: each quoted include resolves next to the file first,
# then in whichever folder holds that name.
layers_from_includes() {
	local f
	find engine src ui -name '*.[ch]' 2>/dev/null | sort | while read -r f; do
		sed -n 's/^[[:space:]]*#[[:space:]]*include[[:space:]]*"\([^"]*\)".*/\1/p' "$f" |
			while read -r inc; do
				local d found=""
				for d in "$(dirname "$f")" engine src ui src/cmd; do
					if [ -f "$d/$inc" ]; then found="$d/$inc"; break; fi
				done
				[ -n "$found" ] && echo "$f $found"
			done
	done | awk -v root="$(pwd)" "$layers_awk"'{ check($1, $2) }'
}

# layers_report NAME OUTPUT: passes when OUTPUT is empty.
layers_report() {
	if [ -z "$2" ]; then
		pass "$1"
	else
		fail "$1" "includes against ui/ -> src/ -> engine/ (src/cmd/ above both)"
		echo "$2" | head -n 20
	fi
}

# The checker on a tree where src/ reaches into ui/ and src/cmd/, ui/
# into src/cmd/, and engine/ into src/: it must see all four.
mkdir -p "$TMP/bad/engine" "$TMP/bad/src/cmd" "$TMP/bad/ui" "$TMP/bad/build/src"
touch "$TMP/bad/ui/tui.h" "$TMP/bad/src/cmd/cli.h" "$TMP/bad/src/worker.h"
printf '#include "worker.h"\n#include "../ui/tui.h"\n' >"$TMP/bad/src/slash.c"
printf '#include "cli.h"\n' >"$TMP/bad/ui/keys.c"
printf '#include "../src/worker.h"\n' >"$TMP/bad/engine/gguf.h"
printf 'build/src/slash.o: src/slash.c src/worker.h src/../ui/tui.h \\\n src/cmd/cli.h\nsrc/worker.h:\n' \
	>"$TMP/bad/build/src/slash.d"
# A dependency file left behind by a source that moved away is ignored.
printf 'build/src/gone.o: src/gone.c ui/tui.h\n' >"$TMP/bad/build/src/gone.d"
got=$(cd "$TMP/bad" && layers_from_deps build/src/*.d; layers_from_includes)
want="src/slash.c includes ui/tui.h
src/slash.c includes src/cmd/cli.h
engine/gguf.h includes src/worker.h
src/slash.c includes ui/tui.h
ui/keys.c includes src/cmd/cli.h"
if [ "$got" = "$want" ]; then
	pass layers_checker_sees_wrong_includes
else
	fail layers_checker_sees_wrong_includes "got: $(echo "$got" | tr '\n' ';')"
fi

# The real tree: what the last build compiled, then every include.
deps=()
if [ -n "${BUILD:-}" ] && [ -d "$BUILD" ]; then
	while IFS= read -r f; do deps+=("$f"); done < <(find "$BUILD" -name '*.d' \
		\( -path "$BUILD/engine/*" -o -path "$BUILD/src/*" -o -path "$BUILD/ui/*" \) | sort)
fi
if [ "${#deps[@]}" -eq 0 ]; then
	skip layers_compiled_includes "no dependency files in \$BUILD (build first)"
else
	layers_report layers_compiled_includes "$(layers_from_deps "${deps[@]}")"
fi
layers_report layers_source_includes "$(layers_from_includes)"
