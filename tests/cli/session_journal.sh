# Session journals through the chat: kill -9 at random moments of a turn
# never loses an earlier turn, `sessions` shows sizes and `sessions gc`
# compacts, --session-kv none resumes by evaluating the transcript again
# with the same continuation, and a pipe without --session leaves no file.
. tests/lib.sh
need_shared session_journal || exit 0
M=$MODELS/stories260K.gguf
export XDG_DATA_HOME=$TMP/data XDG_STATE_HOME=$TMP/state XDG_CONFIG_HOME=$TMP/config
SD=$XDG_DATA_HOME/llamaterm/sessions
chat() { "$LLAMATERM" chat -m "$M" --template raw -t 1 --plain "$@"; }
# The transcript of a session without its header line (which has the time).
transcript() { "$LLAMATERM" sessions show "$1" 2>/dev/null | tail -n +2; }

# A pipe without --session: no file at all.
printf 'Once upon a time\n' | chat --temp 0 -n 8 >/dev/null 2>&1
if [ ! -d "$SD" ] || [ -z "$(ls -A "$SD" 2>/dev/null)" ]; then pass journal_pipe_no_file; else fail journal_pipe_no_file "$(ls "$SD")"; fi

# kill -9 after a random delay, many times: every turn of an earlier save
# is still there, in order, and the session always resumes. RANDOM is
# seeded so a failure can be replayed.
RANDOM=${JOURNAL_SEED:-7}
rounds=${JOURNAL_ROUNDS:-30}
prev=""
lost=0 unreadable=0 grew=0 torn=0
for r in $(seq 1 "$rounds"); do
	delay=$((RANDOM % 250))
	# llamaterm itself is the pipeline's last process, so $! is its pid.
	printf 'Once upon a time %d\nThe dog %d\nThe cat %d\n' "$r" "$r" "$r" |
		"$LLAMATERM" chat -m "$M" --template raw -t 1 --plain --temp 0.8 -s "$r" -n 24 \
			-c 1024 --session killed >/dev/null 2>&1 &
	pid=$!
	sleep "$(printf '0.%03d' "$delay")"
	kill -9 "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	[ -f "$SD/killed.lts" ] || continue
	if ! now=$(transcript killed) || ! "$LLAMATERM" sessions show killed >/dev/null 2>&1; then
		unreadable=$((unreadable + 1))
		echo "round $r (delay ${delay}ms): unreadable: $("$LLAMATERM" sessions show killed 2>&1 | head -c 300)"
		continue
	fi
	case $now in
	"$prev"*) ;;
	*) lost=$((lost + 1)); echo "round $r (delay ${delay}ms): an earlier turn changed or went missing" ;;
	esac
	[ "${#now}" -gt "${#prev}" ] && grew=$((grew + 1))
	"$LLAMATERM" sessions show killed 2>&1 >/dev/null | grep -q incomplete && torn=$((torn + 1))
	prev=$now
done
if [ "$unreadable" -eq 0 ] && [ "$lost" -eq 0 ]; then
	pass "journal_kill9 ($rounds rounds: $grew grew the transcript, $torn left a torn save)"
else
	fail journal_kill9 "$lost rounds lost turns, $unreadable left an unreadable file"
fi
# The survivor resumes and saves once more.
out=$(printf 'The end\n' | chat --temp 0 -n 8 --session killed 2>&1 >/dev/null)
now=$(transcript killed)
case $now in
"$prev"*"> The end"*) pass journal_kill9_resume ;;
*) fail journal_kill9_resume "$out" ;;
esac

# The size column, and gc (the kill loop left dead bytes and torn tails).
out=$("$LLAMATERM" sessions list)
if printf '%s\n' "$out" | grep -qE '^NAME +MODEL +TURNS +TOKENS +SIZE +LAST USED' &&
	printf '%s\n' "$out" | grep -qE '^killed +llama +[0-9]+ +[0-9]+ +[0-9.]+[KM]? '; then
	pass journal_list_size
else
	fail journal_list_size "$out"
fi
before=$(stat -c %s "$SD/killed.lts")
out=$("$LLAMATERM" sessions gc)
after=$(stat -c %s "$SD/killed.lts")
if printf '%s\n' "$out" | grep -q '^killed ' && [ "$after" -le "$before" ] && [ "$(transcript killed)" = "$(printf '%s' "$now")" ]; then
	pass journal_gc
else
	fail journal_gc "$before -> $after: $out"
fi

# --session-kv none: a small file that resumes to the same continuation as
# a session that kept its cache.
opts="--temp 0 -n 16"
printf 'Once upon a time\n' | chat $opts --session full >/dev/null 2>&1
printf 'Once upon a time\n' | chat $opts --session-kv none --session bare >/dev/null 2>&1
a=$(printf 'The dog\n' | chat $opts --session full 2>/dev/null | tail -n 1)
b=$(printf 'The dog\n' | chat $opts --session-kv none --session bare 2>/dev/null | tail -n 1)
fs=$(stat -c %s "$SD/full.lts")
bs=$(stat -c %s "$SD/bare.lts")
if [ -n "$a" ] && [ "$a" = "$b" ] && [ "$bs" -lt "$fs" ] && ! grep -q KVSP "$SD/bare.lts"; then
	pass journal_kv_none
else
	fail journal_kv_none "'$a' vs '$b', sizes $fs / $bs"
fi
out=$(chat --session-kv some </dev/null 2>&1)
case $out in *"neither full nor none"*) pass journal_kv_bad ;; *) fail journal_kv_bad "$out" ;; esac

# A session open in one llamaterm is refused by another (its appends would
# land on the first one's).
printf 'Once upon a time\n' | chat --temp 0 -n 4 --session locked >/dev/null 2>&1
sleep 3 | "$LLAMATERM" chat -m "$M" --template raw -t 1 --plain --session locked >/dev/null 2>&1 &
holder=$!
sleep 1
out=$(printf 'The dog\n' | chat --temp 0 -n 4 --session locked 2>&1 >/dev/null)
rc=$?
gc=$("$LLAMATERM" sessions gc 2>&1)
wait "$holder"
case $gc in
*"locked.lts: the session is open in another llamaterm"*) pass journal_gc_skips_open ;;
*) fail journal_gc_skips_open "$gc" ;;
esac
case $out in
*"open in another llamaterm"*) [ $rc -ne 0 ] && pass journal_lock || fail journal_lock "exit $rc" ;;
*) fail journal_lock "$out" ;;
esac
out=$(printf 'The dog\n' | chat --temp 0 -n 4 --session locked 2>&1 >/dev/null)
[ $? -eq 0 ] && pass journal_lock_released || fail journal_lock_released "$out"
