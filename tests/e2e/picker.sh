# End-to-end test of `llamaterm` alone on a terminal, through tmux: with
# models in a fake ollama store and llamaterm's own folder it lists them
# with the fit estimate, / filters, Enter opens the chat on the one picked;
# with none it says where it looked and how to get one, and a key leaves.
# Off a terminal it is still a usage error.
. tests/lib.sh

E2E_NAME=picker_e2e
CHAT_ARGS=
WAIT=${TUI_WAIT:-20}
. tests/tmux_lib.sh

# A home with three models: stories260K as an ollama blob named by a
# manifest, in the Hugging Face hub cache (a snapshot's symlink into blobs),
# and a copy in llamaterm's folder.
H=$TMP/home
mkdir -p "$H/.ollama/models/blobs" "$H/.ollama/models/manifests/registry.ollama.ai/library/tiny" \
	"$H/.local/share/llamaterm/models" "$TMP/empty"
DIGEST=$(sha256sum "$MODEL" | cut -d' ' -f1)
cp "$MODEL" "$H/.ollama/models/blobs/sha256-$DIGEST"
cat >"$H/.ollama/models/manifests/registry.ollama.ai/library/tiny/story" <<EOF
{"schemaVersion":2,"layers":[{"mediaType":"application/vnd.ollama.image.model",
 "digest":"sha256:$DIGEST","size":$(stat -c %s "$MODEL")}]}
EOF
cp "$MODEL" "$H/.local/share/llamaterm/models/local-stories.gguf"
HUB=$H/.cache/huggingface/hub/models--testorg--tiny-GGUF
mkdir -p "$HUB/blobs" "$HUB/snapshots/abc123" "$HUB/refs"
cp "$MODEL" "$HUB/blobs/$DIGEST"
ln -s "../../blobs/$DIGEST" "$HUB/snapshots/abc123/tiny-F32.gguf"
echo abc123 >"$HUB/refs/main"

# picker NAME HOME: runs llamaterm alone, from an empty directory.
picker() {
	tm new-session -d -s "$1" -x 100 -y 24 \
		"cd $TMP/empty && env -i PATH=$PATH HOME=$2 LANG=C.UTF-8 TERM=xterm-256color \
		 XDG_STATE_HOME=$XDG_STATE_HOME $LLAMATERM; echo EXITED:\$?; sleep 60"
}

picker k1 "$H"
if wait_for k1 'pick a model' && wait_for k1 '^ tiny:story +ollama +llama 292.8K F32 .*fits: yes' &&
	wait_for k1 '^ local-stories.gguf +llamaterm' && wait_for k1 '^ testorg/tiny-GGUF:F32 +hf'; then
	pass picker_lists_stores
else
	fail picker_lists_stores "the three models were not listed with their figures"
fi
tm send-keys -t k1 / && tm send-keys -t k1 'local'
if wait_for k1 'filter: local_' && ! screen k1 | grep -q '^ tiny:story'; then
	pass picker_filters
else
	fail picker_filters "/local did not leave only the local model"
fi
tm send-keys -t k1 Enter
if wait_for k1 ' idle │' && wait_for k1 '│ dialogue │'; then
	pass picker_enter_chats
else
	fail picker_enter_chats "Enter did not open the chat"
fi
tm send-keys -t k1 F10
sleep 0.3
tm send-keys -t k1 y
wait_for k1 'EXITED:0' >/dev/null || fail picker_chat_quits "the chat did not end"

picker k2 "$TMP/empty"
if wait_for k2 'No GGUF models found' && wait_for k2 "llamaterm +$TMP/empty/.local/share/llamaterm/models" &&
	wait_for k2 'ollama pull'; then
	pass picker_empty_says_where
else
	fail picker_empty_says_where "the empty screen does not say where it looked or what to do"
fi
tm send-keys -t k2 x
if wait_for k2 'EXITED:0'; then pass picker_empty_leaves; else fail picker_empty_leaves; fi

# Not a terminal: the usage, as before.
expect_status picker_not_a_tty 2 "$LLAMATERM" </dev/null
exit 0
