# Shell tests of `llamaterm models` and of -m taking a model's name: fake
# stores of ollama, the Hugging Face hub, llama.cpp, LM Studio and llamaterm
# in a temporary HOME, holding copies of stories260K and lt-synth models.
# shellcheck source=../lib.sh
. "$(dirname "$0")/../lib.sh"

LT=$LLAMATERM
STORIES=$MODELS/stories260K.gguf
SYNTH=${BUILD:+$BUILD/lt-synth}

expect_status "models --help" 0 "$LT" models --help
has "models --help names ollama's store" 'ollama' "$TMP/out"
expect_status "models with an argument exits 2" 2 "$LT" models extra

if [ -z "$SYNTH" ] || [ ! -x "$SYNTH" ]; then
	skip "model stores" "lt-synth not built (BUILD unset)"
	exit 0
fi
need_shared "model stores" || exit 0

# Only the fake stores: every variable that could point elsewhere is unset,
# and the current directory holds one model of its own.
H=$TMP/home
mkdir -p "$H" "$TMP/cwd"
export HOME=$H
unset OLLAMA_MODELS HF_HOME HF_HUB_CACHE LLAMA_CACHE XDG_DATA_HOME
cd "$TMP/cwd" || exit 1

expect_status "models with empty stores" 0 "$LT" models
has "empty stores: says so" '^no models found; looked in:$' "$TMP/out"
has "empty stores: names ollama's default" "^  ollama +$H/\\.ollama/models$" "$TMP/out"

# ollama: llama3.2:1b and qwen3:0.6b are stories260K (no qwen3:latest), a
# manifest that is not JSON, and one whose blob is missing.
O=$H/.ollama/models
sha=$(sha256sum "$STORIES" | cut -d' ' -f1)
mkdir -p "$O/blobs" "$O/manifests/registry.ollama.ai/library/llama3.2" \
	"$O/manifests/registry.ollama.ai/library/qwen3" "$O/manifests/registry.ollama.ai/library/broken" \
	"$O/manifests/registry.ollama.ai/library/gone"
cp "$STORIES" "$O/blobs/sha256-$sha"
manifest() { # DIGEST
	printf '{"schemaVersion":2,"mediaType":"application/vnd.docker.distribution.manifest.v2+json",'
	printf '"config":{"mediaType":"application/vnd.docker.container.image.v1+json","digest":"sha256:%s","size":1},' "$(printf '%064d' 1)"
	printf '"layers":[{"mediaType":"application/vnd.ollama.image.template","digest":"sha256:%s","size":2},' "$(printf '%064d' 2)"
	printf '{"mediaType":"application/vnd.ollama.image.model","digest":"sha256:%s","size":3}]}\n' "$1"
}
manifest "$sha" >"$O/manifests/registry.ollama.ai/library/llama3.2/1b"
manifest "$sha" >"$O/manifests/registry.ollama.ai/library/qwen3/0.6b"
printf '{"layers": [' >"$O/manifests/registry.ollama.ai/library/broken/latest"
manifest "$(printf '%064d' 9)" >"$O/manifests/registry.ollama.ai/library/gone/latest"

# The hub: Org/Tiny-GGUF has a Q8_0 file (stories260K) and an F32 one (a
# synthetic model), symlinks from the snapshot into ../../blobs.
R=$H/.cache/huggingface/hub/models--Org--Tiny-GGUF
mkdir -p "$R/blobs" "$R/snapshots/abc123" "$R/refs"
echo abc123 >"$R/refs/main"
cp "$STORIES" "$R/blobs/b1"
"$SYNTH" -o "$R/blobs/b2" >/dev/null 2>&1
ln -s ../../blobs/b1 "$R/snapshots/abc123/tiny-Q8_0.gguf"
ln -s ../../blobs/b2 "$R/snapshots/abc123/tiny-f32.gguf"

# llama.cpp's cache: a model split in two parts, and a vocabulary-only file.
L=$H/.cache/llama.cpp
mkdir -p "$L"
"$SYNTH" --name split -o "$L/big-00001-of-00002.gguf" >/dev/null 2>&1
"$SYNTH" --seed 2 -o "$L/big-00002-of-00002.gguf" >/dev/null 2>&1
vocab=$(ls "$MODELS"/vocab/ggml-vocab-*.gguf 2>/dev/null | head -n 1)
[ -n "$vocab" ] && cp "$vocab" "$L/vocab-only.gguf"

# LM Studio, llamaterm's own folder (a corrupt file) and the current directory.
mkdir -p "$H/.lmstudio/models/pub/Small-GGUF" "$H/.local/share/llamaterm/models"
"$SYNTH" -o "$H/.lmstudio/models/pub/Small-GGUF/small-Q4_0.gguf" >/dev/null 2>&1
head -c 4096 "$STORIES" >"$H/.local/share/llamaterm/models/broken.gguf"
cp "$STORIES" "$TMP/cwd/here.gguf"

expect_status "models lists the stores" 0 "$LT" models
cp "$TMP/out" "$TMP/list"
has "header line" '^NAME +STORE +ARCH +PARAMS +QUANT +SIZE +CONTEXT +FITS$' "$TMP/list"
has "ollama model by name" '^llama3\.2:1b +ollama +llama +292\.8K +F32 +1\.1[0-9] MiB +2,048 +(yes|no)$' "$TMP/list"
has "ollama second model" '^qwen3:0\.6b +ollama ' "$TMP/list"
has "ollama bad manifest: one-line reason" '^broken:latest +ollama +error: manifest .*broken/latest' "$TMP/list"
has "ollama missing blob: one-line reason" '^gone:latest +ollama +error: blob .* is missing' "$TMP/list"
has "hub model named by its quantization" '^Org/Tiny-GGUF:Q8_0 +hf +llama ' "$TMP/list"
has "hub second file" '^Org/Tiny-GGUF:F32 +hf ' "$TMP/list"
has "split model listed by its first part" '^big-00001-of-00002\.gguf +llama\.cpp +llama ' "$TMP/list"
if grep -q 'big-00002' "$TMP/list"; then fail "second part not listed"; else pass "second part not listed"; fi
has "lmstudio model" '^pub/Small-GGUF:Q4_0 +lmstudio +llama ' "$TMP/list"
has "corrupt file: one-line reason" '^broken\.gguf +llamaterm +error: .*broken\.gguf' "$TMP/list"
has "current directory" '^here\.gguf +cwd +llama ' "$TMP/list"
if [ -n "$vocab" ]; then
	has "vocabulary-only file skipped" '^skipped .*vocab-only\.gguf: ' "$TMP/list"
	if grep -qE '^vocab-only' "$TMP/list"; then fail "vocabulary-only file not in the table"; else pass "vocabulary-only file not in the table"; fi
fi
has "memory footnote" '^FITS: .* available$' "$TMP/list"

# A split model's size is the sum of its parts.
p1=$(stat -c %s "$L/big-00001-of-00002.gguf")
p2=$(stat -c %s "$L/big-00002-of-00002.gguf")
expect_status "models --json" 0 "$LT" models --json
if command -v python3 >/dev/null 2>&1; then
	if python3 - "$TMP/out" "$((p1 + p2))" "$O/blobs/sha256-$sha" <<'EOF'; then pass "models --json: valid, fields right"; else fail "models --json: valid, fields right"; fi
import json, sys
d = json.load(open(sys.argv[1]))
m = {x["name"]: x for x in d["models"]}
a = m["llama3.2:1b"]
assert a["store"] == "ollama" and a["path"] == sys.argv[3], a
assert a["architecture"] == "llama" and a["parameters"] == 292800, a
assert a["context_length"] == 2048 and a["quantization"] == "F32", a
assert a["memory_needed"] > 1171200 and isinstance(a["fits"], bool), a
b = m["big-00001-of-00002.gguf"]
assert b["parts"] == 2 and b["size"] == int(sys.argv[2]), b
assert "error" in m["broken.gguf"] and "error" in m["broken:latest"]
assert isinstance(d["memory_available"], int) and d["default_context"] == 4096
assert all("vocab" not in x["name"] for x in d["models"])
EOF
else
	skip "models --json" "python3 not found"
fi

# -m by name gives the same greedy text as the file's path.
gen() { "$LT" run -m "$1" -p "Once upon a time" -n 16 --temp 0 2>"$TMP/err"; }
want=$(gen "$STORIES")
for name in llama3.2:1b library/llama3.2:1b registry.ollama.ai/library/llama3.2:1b LLAMA3.2:1B \
	Org/Tiny-GGUF:Q8_0 org/tiny-gguf:q8_0 here here.gguf; do
	got=$(gen "$name")
	if [ -n "$want" ] && [ "$got" = "$want" ]; then
		pass "run -m $name: same output as the path"
	else
		fail "run -m $name: same output as the path" "$(head -c 300 "$TMP/err")"
	fi
done
expect_status "info NAME" 0 "$LT" info Org/Tiny-GGUF:Q8_0
has "info NAME reads that model" '^parameters: +292,800 ' "$TMP/out"
expect_status "templates detect NAME" 0 "$LT" templates detect llama3.2:1b
expect_status "tokenize -m NAME" 0 "$LT" tokenize -m llama3.2:1b -p "Hello"
expect_status "bench -m NAME" 0 "$LT" bench -m llama3.2:1b -p 4 -n 4 -r 1
expect_status "run --model=NAME" 0 "$LT" run --model=llama3.2:1b -p "Once" -n 2 --temp 0

# one_line NAME REGEX: the last command's stderr is one line matching REGEX.
one_line() {
	if [ "$(wc -l <"$TMP/err")" -eq 1 ] && grep -qE -- "$2" "$TMP/err"; then
		pass "$1"
	else
		fail "$1" "stderr: $(head -c 400 "$TMP/err")"
	fi
}
expect_status "ambiguous hub name exits 1" 1 "$LT" run -m Org/Tiny-GGUF -p x
one_line "ambiguous: one line listing the candidates" \
	"ambiguous: 2 candidates: Org/Tiny-GGUF:(F32 .*Org/Tiny-GGUF:Q8_0|Q8_0 .*Org/Tiny-GGUF:F32)"
expect_status "ollama name without :latest exits 1" 1 "$LT" run -m qwen3 -p x
one_line "no :latest: one line listing the tags" "model 'qwen3' not found; candidates: qwen3:0\.6b$"
expect_status "unknown name exits 1" 1 "$LT" run -m no-such-model -p x
one_line "not found: says where it looked" "model 'no-such-model' not found.*ollama $H/\.ollama/models.*hf $H/\.cache/huggingface/hub.*cwd $TMP/cwd"
expect_status "store entry with a problem exits 1" 1 "$LT" run -m gone -p x
one_line "problem entry: one line naming the blob" "model 'gone': blob .* is missing"

# OLLAMA_MODELS and HF_HUB_CACHE point elsewhere.
mkdir -p "$TMP/o2/blobs" "$TMP/o2/manifests/registry.ollama.ai/library/other"
cp "$O/blobs/sha256-$sha" "$TMP/o2/blobs/"
manifest "$sha" >"$TMP/o2/manifests/registry.ollama.ai/library/other/latest"
OLLAMA_MODELS=$TMP/o2 expect_status "OLLAMA_MODELS is searched" 0 "$LT" models
has "OLLAMA_MODELS: its model is listed" '^other:latest +ollama ' "$TMP/out"
got=$(OLLAMA_MODELS=$TMP/o2 gen other)
if [ "$got" = "$want" ]; then pass "run -m other (no tag: :latest)"; else fail "run -m other (no tag: :latest)"; fi
