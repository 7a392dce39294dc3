# llamaterm sessions show NAME --export -: the Markdown goes to stdout, and
# no file called '-' appears.
. tests/lib.sh
need_shared sessions_export || exit 0
M=$MODELS/stories260K.gguf
export XDG_DATA_HOME=$TMP/data XDG_STATE_HOME=$TMP/state XDG_CONFIG_HOME=$TMP/config
printf 'Once upon a time\n' | "$LLAMATERM" chat -m "$M" --template raw -t 1 --temp 0 -n 4 --session ex >/dev/null 2>&1
cd "$TMP" || exit 1
"$LLAMATERM" sessions show ex --export - >"$TMP/md" 2>"$TMP/md.err"
if grep -q '^## User$' "$TMP/md" && grep -q '^Once upon a time$' "$TMP/md"; then
	pass sessions_export_stdout
else
	fail sessions_export_stdout "$(head -c 300 "$TMP/md" "$TMP/md.err")"
fi
[ ! -e "$TMP/-" ] && pass sessions_export_no_dash_file || fail sessions_export_no_dash_file
# Appending keeps what the file held.
echo first >"$TMP/log.md"
"$LLAMATERM" sessions show ex --export - >>"$TMP/log.md" 2>/dev/null
if [ "$(head -n 1 "$TMP/log.md")" = first ] && grep -q '^## User$' "$TMP/log.md"; then
	pass sessions_export_append
else
	fail sessions_export_append "$(head -c 300 "$TMP/log.md")"
fi
