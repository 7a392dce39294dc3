#!/usr/bin/env bash
# The full-screen chat's generation speed against the engine's: for each
# round and each binary given, one reply of N tokens in the full-screen chat
# (in tmux, greedy, fixed seed), whose "tg X tok/s" is read off the status
# bar, then 'llamaterm bench -p 0 -n N -d D', D being the tokens the chat
# had before its reply (its system prompt and the message), so both decode
# over the same lengths of cache. Prints every figure, then per binary the
# medians and the ratio UI/bench of the medians. Binaries alternate within
# each round, so a busy machine slows them alike; each round's UI and bench
# run back to back, so on a busy machine the median of the rounds' ratios is
# steadier than the ratio of the medians.
#
#   tests/bench/ui_tg.sh [-m MODEL] [-n N] [-r ROUNDS] [-t THREADS] BINARY...
#
# Defaults: ~/.cache/llamaterm/bench/110m-Q4_0.gguf (made by 'make bench'),
# 256 tokens, 5 rounds, the binaries' own thread count. Each UI figure comes
# with the UI thread's CPU time and context switches from start to idle, and
# the tmux server's CPU time over the same span (the terminal's cost). Not a
# test: it asserts nothing and takes about 10 s per binary and round.
set -u
MODEL=$HOME/.cache/llamaterm/bench/110m-Q4_0.gguf
N=256
ROUNDS=5
THREADS=
while getopts m:n:r:t: opt; do
	case $opt in
	m) MODEL=$OPTARG ;;
	n) N=$OPTARG ;;
	r) ROUNDS=$OPTARG ;;
	t) THREADS="-t $OPTARG" ;;
	*) exit 2 ;;
	esac
done
shift $((OPTIND - 1))
[ $# -ge 1 ] || set -- build/rel/llamaterm
command -v tmux >/dev/null || { echo "ui_tg.sh: tmux is needed" >&2; exit 2; }
[ -f "$MODEL" ] || { echo "ui_tg.sh: no $MODEL (make bench makes it)" >&2; exit 2; }

TMP=$(mktemp -d)
SOCK=$TMP/tmux.sock
tm() { tmux -S "$SOCK" "$@"; }
trap 'tm kill-server >/dev/null 2>&1; rm -rf "$TMP"' EXIT
# A session that outlives the chats keeps the server up between them (a
# new session could reach a server that is exiting with the last one).
mkfifo "$TMP/nap"
exec {NAP}<>"$TMP/nap"
tm new-session -d -s keep -x 80 -y 10 "sleep 100000"

# cpu_ticks PID: sets TICKS to the process's user and system CPU time in
# clock ticks (0 if it is gone), with builtins only, so that polling it
# forks nothing. The fields are counted after the command name, which may
# hold spaces ("tmux: server").
cpu_ticks() {
	local line f
	TICKS=0
	read -r line 2>/dev/null <"/proc/$1/stat" || return
	read -r -a f <<<"${line##*) }"
	TICKS=$((f[11] + f[12]))
}

# ui_thread PID: the UI thread's CPU time and context switches so far (the
# chat process's main thread is the UI's), then the tmux server's CPU time
# since the reply's session started; printed after the speed and the depth.
ui_thread() {
	local pid=$1
	[ -n "$pid" ] && [ -r "/proc/$pid/task/$pid/schedstat" ] || { echo; return; }
	awk '{ printf " %.0f", $1 / 1e6 }' "/proc/$pid/task/$pid/schedstat"
	awk '/voluntary_ctxt_switches/ { n += $2 } END { printf " %d", n }' "/proc/$pid/task/$pid/status"
	# The tmux server renders the pane on the same cores: its CPU time
	# since the previous reply is what the terminal cost.
	cpu_ticks "$(tm display-message -p '#{pid}')"
	echo " $(( (TICKS - ${TMUX_TICKS:-0}) * 1000 / $(getconf CLK_TCK) ))"
}

# ui_once BIN: the status bar's tg of one reply, or nothing on a timeout.
ui_once() {
	local bin=$1 scr i
	tm kill-session -t u >/dev/null 2>&1
	cpu_ticks "$(tm display-message -p '#{pid}')"
	TMUX_TICKS=$TICKS
	rm -rf "$TMP/xdg" "$TMP/pid"
	mkdir -p "$TMP/xdg"
	# The pane's shell writes its pid, which exec hands on to the chat.
	tm new-session -d -s u -x 120 -y 30 \
		"echo \$\$ >$TMP/pid; exec env TERM=xterm-256color XDG_DATA_HOME=$TMP/xdg/data \
		 XDG_STATE_HOME=$TMP/xdg/state XDG_CONFIG_HOME=$TMP/xdg/config \
		 XDG_CACHE_HOME=$TMP/xdg/cache \
		 $bin chat -m $MODEL $THREADS -n $N --temp 0 -s 1 --no-autosave \
		 -p 'Tell me a long story about a dragon.'"
	# Polling the pane forks a tmux client and greps, about 9 ms of CPU
	# each: every 0.1 s that would take 9% of a core from the reply being
	# measured, and finding the chat's process with pgrep while it
	# replied cost it 6%. So the wait forks nothing while the chat's
	# process keeps using CPU (a builtin read on a FIFO sleeps, the pid
	# comes from a file, /proc gives the CPU time), and only looks at the
	# pane once it has gone quiet.
	local pid= ticks last=-1 quiet=0
	for ((i = 0; i < 300 && !pid; i++)); do
		read -r -t 0.05 -u "$NAP" _
		[ -s "$TMP/pid" ] && read -r pid <"$TMP/pid"
	done
	[ -n "$pid" ] || return
	for ((i = 0; i < 2400; i++)); do
		read -r -t 0.25 -u "$NAP" _
		[ -e "/proc/$pid" ] || break
		cpu_ticks "$pid"
		ticks=$TICKS
		if ((ticks - last > 2)); then
			last=$ticks quiet=0
			continue
		fi
		((++quiet < 2)) && continue
		scr=$(tm capture-pane -p -t u)
		# The speed shows while the reply streams; idle means it is final.
		if grep -q ' idle │' <<<"$scr" && grep -Eq 'tg [0-9.]+ tok/s' <<<"$scr"; then
			grep -Eo 'tg [0-9.]+ tok/s' <<<"$scr" | tail -1 | awk '{ printf "%s", $2 }'
			# The tokens before the reply (bench measures from that
			# depth): the context used less the reply, at least 0, or
			# 0 when the bar has no room for the gauge.
			grep -Eo 'ctx [0-9]+/' <<<"$scr" | tail -1 | tr -d 'ctx/' |
				awk -v n="$N" '{ d = $1 - n } END { printf " %d", (NR && d > 0 ? d : 0) }'
			ui_thread "$pid"
			break
		fi
	done
	tm kill-session -t u >/dev/null 2>&1
}

bench_once() {
	"$1" bench -m "$MODEL" $THREADS -p 0 -n "$N" -d "${2:-0}" -r 3 2>/dev/null |
		awk -v n="tg$N" '$1 == n ":" || $1 == n { print $(NF - 3) }'
}

median() { sort -g | awk '{ v[NR] = $1 } END { if (NR) print (NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2) }'; }

echo "model $MODEL, $N tokens, $ROUNDS rounds; tok/s (busy machines vary: compare within one run)"
for ((r = 1; r <= ROUNDS; r++)); do
	b=0
	for bin in "$@"; do
		b=$((b + 1))
		read -r u depth ms sw srv < <(ui_once "$bin")
		g=$(bench_once "$bin" "${depth:-0}")
		ratio=$(awk -v u="${u:-0}" -v g="${g:-0}" 'BEGIN { if (u > 0 && g > 0) printf "%.3f", u / g }')
		echo "round $r  $bin  ui ${u:-?}  bench ${g:-?}  ui/bench ${ratio:-?}  (depth ${depth:-?}; ui thread: ${ms:-?} ms cpu, ${sw:-?} switches; tmux server: ${srv:-?} ms cpu)"
		echo "${u:-}" >>"$TMP/ui.$b"
		echo "${g:-}" >>"$TMP/bench.$b"
		echo "${ratio:-}" >>"$TMP/ratio.$b"
	done
done
b=0
for bin in "$@"; do
	b=$((b + 1))
	mu=$(grep . "$TMP/ui.$b" | median)
	mb=$(grep . "$TMP/bench.$b" | median)
	mr=$(grep . "$TMP/ratio.$b" | median)
	awk -v bin="$bin" -v u="${mu:-0}" -v g="${mb:-0}" -v r="${mr:-0}" 'BEGIN {
		printf "%s: median ui tg %.1f, bench tg %.1f (ratio %.0f%%); median of the rounds\x27 ui/bench %.0f%%\n",
			bin, u, g, (g > 0 ? 100 * u / g : 0), 100 * r }'
done
