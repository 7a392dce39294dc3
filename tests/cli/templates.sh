# Shell tests of `llamaterm templates`: the shipped list, show, render and
# detect, user overrides through $XDG_CONFIG_HOME, and an installed layout
# (binary in PREFIX/bin, templates in PREFIX/share/llamaterm/prompts).
# shellcheck source=../lib.sh
. "$(dirname "$0")/../lib.sh"

LT=$LLAMATERM
SHIPPED="alpaca chatml deepseek-r1 dialogue gemma granite llama2 llama3 mistral olmo2 phi3 phi4 phi4-mini plain qwen3 qwen3-thinking raw vicuna zephyr"
# Keep the user's own templates out of the results.
export XDG_CONFIG_HOME="$TMP/config"

expect_status "templates --help" 0 "$LT" templates --help
has "templates --help shows usage" '^usage: llamaterm templates' "$TMP/out"

expect_status "templates lists" 0 "$LT" templates
missing=""
for n in $SHIPPED; do
	grep -qE "^$n " "$TMP/out" || missing="$missing $n"
done
if [ -z "$missing" ]; then pass "templates lists all shipped"; else fail "templates lists all shipped" "missing:$missing"; fi
has "templates list shows the tree's files" 'prompts/chatml\.tmpl$' "$TMP/out"
expect_status "templates list (explicit)" 0 "$LT" templates list

expect_status "templates show" 0 "$LT" templates show llama3
has "templates show prints the file" '^assistant_prefix = <\|start_header_id\|>assistant' "$TMP/out"
expect_status "templates show missing" 1 "$LT" templates show no-such-name
has "templates show missing names it" "template 'no-such-name' not found" "$TMP/err"
expect_status "templates show without name" 2 "$LT" templates show
expect_status "templates unknown action" 2 "$LT" templates frobnicate
expect_status "templates unknown option" 2 "$LT" templates --bogus

expect_status "templates render" 0 "$LT" templates render chatml --system "Be brief."
want=$(printf '%s\n' '[BOS]<|im_start|>system' 'Be brief.<|im_end|>' '<|im_start|>user' \
	'Hello<|im_end|>' '<|im_start|>assistant' 'Hi there<|im_end|>' '<|im_start|>user' \
	'How are you?<|im_end|>' '<|im_start|>assistant' '')
if [ "$(cat "$TMP/out")" = "$want" ]; then pass "templates render output"; else fail "templates render output" "$(head -c 300 "$TMP/out")"; fi

# A broken file's error names the file and line.
printf 'name = bad\nbos = perhaps\n' >"$TMP/bad.tmpl"
expect_status "templates render broken file" 1 "$LT" templates render "$TMP/bad.tmpl"
has "broken file error names file:line" "bad\.tmpl:2: bad boolean 'perhaps' for bos" "$TMP/err"

# User overrides.
mkdir -p "$XDG_CONFIG_HOME/llamaterm/prompts"
printf 'description = my own chatml\nuser_prefix = ME:\\s\nuser_suffix = \\n\n' >"$XDG_CONFIG_HOME/llamaterm/prompts/chatml.tmpl"
printf 'description = a private one\n' >"$XDG_CONFIG_HOME/llamaterm/prompts/private.tmpl"
expect_status "templates with user files" 0 "$LT" templates
has "user file overrides shipped" '^chatml +my own chatml' "$TMP/out"
has "override is marked" 'config/llamaterm/prompts/chatml\.tmpl +\(user file, overrides the shipped one\)' "$TMP/out"
has "user-only template listed" '^private +a private one' "$TMP/out"
expect_status "templates render user override" 0 "$LT" templates render chatml
has "render uses the user file" 'ME: How are you\?' "$TMP/out"
rm -rf "$XDG_CONFIG_HOME/llamaterm"

# Detection from a model file.
if need_shared "templates detect phi-3"; then
	expect_status "templates detect phi-3" 0 "$LT" templates detect "$MODELS/vocab/ggml-vocab-phi-3.gguf"
	has "phi-3 vocab detected as phi3" '^phi3	' "$TMP/out"
	expect_status "templates detect no template" 0 "$LT" templates detect "$MODELS/stories260K.gguf"
	has "no chat template falls back to dialogue" "model has no chat template; using 'dialogue'" "$TMP/out"
fi
expect_status "templates detect missing file" 1 "$LT" templates detect "$TMP/none.gguf"
has "detect error names the file" 'none\.gguf' "$TMP/err"

# An installed layout, away from the source tree: PREFIX/bin next to
# PREFIX/share/llamaterm/prompts.
mkdir -p "$TMP/inst/bin" "$TMP/inst/share/llamaterm/prompts"
cp "$LT" "$TMP/inst/bin/llamaterm"
cp prompts/*.tmpl "$TMP/inst/share/llamaterm/prompts/"
expect_status "installed layout lists" 0 "$TMP/inst/bin/llamaterm" templates
has "installed templates found under share" 'inst/share/llamaterm/prompts/gemma\.tmpl$' "$TMP/out"
