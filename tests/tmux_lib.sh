# Shared set-up of the tmux-driven end-to-end tests. Source it after
# tests/lib.sh with E2E_NAME (the name of a SKIP line) and CHAT_ARGS (options
# 'start' passes to 'llamaterm chat' before its own) set, and WAIT (the
# seconds any single wait may take) by the time it waits. It skips the whole
# script (exit 0) without tmux or the shared models.
#
# tmux runs on a private socket and every XDG directory points into a
# temporary directory, so the tests never touch the user's files.
if ! command -v tmux >/dev/null 2>&1; then
	skip "$E2E_NAME" "tmux not installed"
	exit 0
fi
need_shared "$E2E_NAME" || exit 0

MODEL=$MODELS/stories260K.gguf
SOCK=$TMP/tmux.sock

tm() { tmux -S "$SOCK" "$@"; }
trap 'tm kill-server >/dev/null 2>&1; rm -rf "$TMP"' EXIT

export XDG_DATA_HOME=$TMP/data XDG_STATE_HOME=$TMP/state XDG_CONFIG_HOME=$TMP/config \
	XDG_CACHE_HOME=$TMP/cache

# start_chat NAME ARGS...: runs 'llamaterm chat ARGS' in a 100x30 window;
# when it exits the pane shows "EXITED:<status>".
start_chat() {
	local name=$1
	shift
	tm kill-session -t "$name" >/dev/null 2>&1
	tm new-session -d -s "$name" -x 100 -y 30 \
		"env TERM=xterm-256color XDG_DATA_HOME=$XDG_DATA_HOME XDG_STATE_HOME=$XDG_STATE_HOME \
		 XDG_CONFIG_HOME=$XDG_CONFIG_HOME XDG_CACHE_HOME=$XDG_CACHE_HOME \
		 $LLAMATERM chat $*; echo EXITED:\$?; sleep 60"
}

# start NAME ARGS...: start_chat with '-m MODEL CHAT_ARGS' before ARGS.
start() {
	local name=$1
	shift
	start_chat "$name" -m "$MODEL" $CHAT_ARGS "$@"
}

# screen NAME: what the pane shows (a script may define its own view).
screen() { tm capture-pane -p -t "$1"; }

# poll NAME WHAT SECONDS CMD...: true once CMD succeeds, tried every 0.1 s
# for SECONDS; on a timeout shows the screen of NAME and says what was
# awaited. Waits poll with a deadline instead of sleeping a fixed time.
poll() {
	local name=$1 what=$2 deadline=$((SECONDS + $3))
	shift 3
	while [ $SECONDS -lt $deadline ]; do
		if "$@"; then
			return 0
		fi
		sleep 0.1
	done
	echo "--- timed out waiting for $what on $name; the screen was:"
	screen "$name"
	return 1
}

screen_has() { screen "$1" | grep -Eq -- "$2"; }
screen_lacks() { ! screen_has "$1" "$2"; }

# wait_for NAME REGEX [SECONDS]: true once the screen matches.
wait_for() { poll "$1" "/$2/" "${3:-$WAIT}" screen_has "$1" "$2"; }
# wait_gone NAME REGEX [SECONDS]: true once the screen no longer matches.
wait_gone() { poll "$1" "/$2/ to go" "${3:-$WAIT}" screen_lacks "$1" "$2"; }
