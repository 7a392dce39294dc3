# /template takes the new template's default system prompt, unless the user
# chose one (--system or /system), which carries over.
. tests/lib.sh
need_shared chat_template_system || exit 0
M=$MODELS/stories260K.gguf
export XDG_DATA_HOME=$TMP/data XDG_STATE_HOME=$TMP/state XDG_CONFIG_HOME=$TMP/config
chat() { "$LLAMATERM" chat -m "$M" -t 1 --plain --no-autosave "$@"; }

printf '/template chatml\n/show\n' | chat --template dialogue >/dev/null 2>"$TMP/err"
has template_system_default_follows '^system: You are a helpful assistant\.$' "$TMP/err"

printf '/template chatml\n/show\n' | chat --template dialogue --system 'Mine.' >/dev/null 2>"$TMP/err"
has template_system_flag_kept '^system: Mine\.$' "$TMP/err"

printf '/system Typed.\n/template chatml\n/show\n' | chat --template dialogue >/dev/null 2>"$TMP/err"
has template_system_slash_kept '^system: Typed\.$' "$TMP/err"

printf '/system\n/template chatml\n/show\n' | chat --template dialogue >/dev/null 2>"$TMP/err"
has template_system_cleared_kept '^system: \(none\)$' "$TMP/err"
