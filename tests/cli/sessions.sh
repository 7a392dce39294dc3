# llamaterm sessions: list, show, --export, rm, and bad names.
. tests/lib.sh
need_shared sessions || exit 0
M=$MODELS/stories260K.gguf
export XDG_DATA_HOME=$TMP/data XDG_STATE_HOME=$TMP/state XDG_CONFIG_HOME=$TMP/config
S() { "$LLAMATERM" sessions "$@"; }

out=$(S 2>&1)
case $out in *"no sessions"*) pass sessions_empty ;; *) fail sessions_empty "$out" ;; esac

printf 'Once upon a time\nThe dog\n' | "$LLAMATERM" chat -m "$M" --template raw -t 1 --temp 0 -n 8 --session "my story" >/dev/null 2>&1
out=$(S list)
if printf '%s\n' "$out" | grep -q '^my story  *llama  *4 '; then pass sessions_list; else fail sessions_list "$out"; fi

out=$(S show "my story")
if printf '%s\n' "$out" | grep -q '^> Once upon a time$' && printf '%s\n' "$out" | grep -q '^> The dog$'; then
	pass sessions_show
else
	fail sessions_show "$out"
fi

S show "my story" --export "$TMP/story.md"
if grep -q '^## User$' "$TMP/story.md" && grep -q '^Once upon a time$' "$TMP/story.md" && grep -q '^## Assistant' "$TMP/story.md"; then
	pass sessions_export
else
	fail sessions_export "$(cat "$TMP/story.md" 2>&1)"
fi

printf 'garbage' >"$XDG_DATA_HOME/llamaterm/sessions/bad.lts"
out=$(S show bad 2>&1)
rc=$?
case $out in *bad.lts*) [ $rc -eq 1 ] && pass sessions_show_corrupt || fail sessions_show_corrupt "rc $rc" ;; *) fail sessions_show_corrupt "$out" ;; esac
out=$(S list 2>&1)
case $out in *bad*unreadable*) pass sessions_list_corrupt ;; *) fail sessions_list_corrupt "$out" ;; esac

out=$(S rm ../../x 2>&1)
rc=$?
[ $rc -ne 0 ] && pass sessions_rm_bad_name || fail sessions_rm_bad_name "$out"

S rm "my story" && [ ! -e "$XDG_DATA_HOME/llamaterm/sessions/my story.lts" ] && pass sessions_rm || fail sessions_rm
out=$(S rm "my story" 2>&1)
rc=$?
[ $rc -eq 1 ] && pass sessions_rm_missing || fail sessions_rm_missing "$out"
