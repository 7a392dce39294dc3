#!/usr/bin/env bash
# Every architecture chats with its family's template and survives save and
# resume: a two-message chat in one process and the same chat split over two
# processes that resume the session (KV cache, sliding-window rings
# included) must give identical greedy replies. The replies of random
# weights are gibberish; only their equality matters.
. "$(dirname "$0")/../lib.sh"
LT=$LLAMATERM
GOLDEN=$(cd "$(dirname "$0")/../golden" && pwd)
. "$GOLDEN/common.sh"

need_synth "architecture chats" || exit 0
export XDG_DATA_HOME=$TMP/data XDG_STATE_HOME=$TMP/state XDG_CONFIG_HOME=$TMP/config

template_of() {
	case $1 in
	qwen2) echo chatml ;;
	qwen3) echo qwen3 ;;
	gemma2 | gemma3) echo gemma ;;
	phi3) echo phi3 ;;
	granite) echo granite ;;
	olmo2) echo olmo2 ;;
	llama) echo llama3 ;;
	*) echo plain ;;
	esac
}

chat() {
	"$LT" chat --plain -m "$1" --template "$2" --temp 0 -n 12 -t 1 -c 512 "${@:3}" 2>"$TMP/err" |
		tr -d "\\000"
}

while read -r name args; do
	case $name in '' | '#'* | -*) continue ;; esac
	m=$TMP/$name.gguf
	# shellcheck disable=SC2086
	if ! "$SYNTH" $GOLDEN_SHAPE $args -o "$m" >/dev/null 2>"$TMP/err"; then
		fail "$name chat: lt-synth" "$(head -c 300 "$TMP/err")"
		continue
	fi
	arch=$(echo "$args" | sed 's/.*--arch \([a-z0-9]*\).*/\1/')
	t=$(template_of "$arch")
	whole=$(printf 'Hello there\nTell me more\n' | chat "$m" "$t")
	first=$(printf 'Hello there\n' | chat "$m" "$t" --session "s-$name")
	second=$(printf 'Tell me more\n' | chat "$m" "$t" --session "s-$name")
	# The resumed chat first prints the transcript so far, then the new reply.
	tail=${whole#"$first"$'\n'}
	if [ -n "$first" ] && [ "$tail" != "$whole" ] && [ -n "$tail" ] && [ "${second%"$tail"}" != "$second" ]; then
		pass "$name chats with the $t template and resumes its session exactly"
	else
		fail "$name chats with the $t template and resumes its session exactly" \
			"whole [$whole] split [$first] [$second] $(head -c 200 "$TMP/err")"
	fi
	rm -f "$m"
done <"$GOLDEN/archs.txt"
