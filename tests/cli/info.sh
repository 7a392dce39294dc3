# Shell tests of `llamaterm info` (and the top-level --help/--version).
# shellcheck source=../lib.sh
. "$(dirname "$0")/../lib.sh"

LT=$LLAMATERM
STORIES=$MODELS/stories260K.gguf
have_python() { command -v python3 >/dev/null 2>&1; }

# one_line_naming NAME FILE: stderr of the last expect_status is exactly one
# line and contains FILE.
one_line_naming() {
	local lines
	lines=$(wc -l <"$TMP/err")
	if [ "$lines" -eq 1 ] && grep -qF -- "$2" "$TMP/err"; then
		pass "$1"
	else
		fail "$1" "stderr: $(head -c 300 "$TMP/err")"
	fi
}

expect_status "top-level --help" 0 "$LT" --help
expect_status "top-level --version" 0 "$LT" --version
has "--version prints the version" '^llamaterm [0-9]' "$TMP/out"
expect_status "info --help" 0 "$LT" info --help
has "info --help shows usage" '^usage: llamaterm info' "$TMP/out"
expect_status "info -h" 0 "$LT" info -h

expect_status "info unknown option exits 2" 2 "$LT" info --bogus-option x.gguf
has "unknown option is named" "unknown option '--bogus-option'" "$TMP/err"
expect_status "info without a file exits 2" 2 "$LT" info
expect_status "info with two files exits 2" 2 "$LT" info a.gguf b.gguf

expect_status "info on a missing file exits 1" 1 "$LT" info "$TMP/no-such-model.gguf"
one_line_naming "missing file: one-line error naming it" "$TMP/no-such-model.gguf"
expect_status "info on a directory exits 1" 1 "$LT" info "$TMP"
one_line_naming "directory: one-line error naming it" "$TMP"
: >"$TMP/empty.gguf"
expect_status "info on an empty file exits 1" 1 "$LT" info "$TMP/empty.gguf"
one_line_naming "empty file: one-line error naming it" "$TMP/empty.gguf"

if need_shared "info on stories260K"; then
	expect_status "info on stories260K exits 0" 0 "$LT" info "$STORIES"
	cp "$TMP/out" "$TMP/summary"
	has "summary: 292,800 parameters" '^parameters: +292,800 \(292\.8K\)$' "$TMP/summary"
	has "summary: 48 tensors" '^tensors: +48 ' "$TMP/summary"
	has "summary: 5 layers" '^layers: +5$' "$TMP/summary"
	has "summary: 8 heads" '^heads: +8$' "$TMP/summary"
	has "summary: 4 KV heads" '^KV heads: +4$' "$TMP/summary"
	has "summary: head dim 8" '^head dim: +8$' "$TMP/summary"
	has "summary: vocab 512" '^vocab size: +512$' "$TMP/summary"
	has "summary: architecture llama" '^architecture: +llama \(LLaMA' "$TMP/summary"
	has "summary: context 2,048" '^context length: +2,048$' "$TMP/summary"
	has "summary: f32 quantization mix" '^ +f32 +48 +292,800 +1,171,200 +100\.0%$' "$TMP/summary"
	has "summary: BOS token text" '^BOS token: +1 "<s>"$' "$TMP/summary"
	has "summary: EOS token text" '^EOS token: +2 "</s>"$' "$TMP/summary"
	has "summary: missing keys show -" '^RoPE freq base: +-$' "$TMP/summary"
	has "summary: no chat template" '^chat template: +no$' "$TMP/summary"
	# 2 * 5 layers * 4 KV heads * 8 dims * 2 bytes = 640 bytes per token.
	has "summary: f16 KV cache per token" '^KV cache \(f16\): +640 B/token, 1\.25 MiB for 2,048 tokens$' "$TMP/summary"
	has "summary: f32 KV cache per token" '^KV cache \(f32\): +1\.25 KiB/token' "$TMP/summary"

	expect_status "info --no-mmap exits 0" 0 "$LT" info --no-mmap "$STORIES"
	check "info --no-mmap prints the same summary" cmp -s "$TMP/out" "$TMP/summary"

	expect_status "info --kv exits 0" 0 "$LT" info --kv "$STORIES"
	has "--kv: block_count" '^ +[0-9]+ +llama\.block_count +uint32 +5$' "$TMP/out"
	has "--kv: token array" 'tokenizer\.ggml\.tokens +array +\[512 x string\] "<unk>", "<s>", "</s>", .*\(504 more\)$' "$TMP/out"
	has "--kv: float" 'layer_norm_rms_epsilon +float32 +1e-05$' "$TMP/out"
	has "--kv: key count" '^metadata: 19 keys$' "$TMP/out"
	expect_status "info --kv --full exits 0" 0 "$LT" info --kv --full "$STORIES"
	has "--kv --full shows every token" '"<unk>", .*, "<0x00>", .*"ing"' "$TMP/out"

	expect_status "info --tensors exits 0" 0 "$LT" info --tensors "$STORIES"
	rows=$(grep -cE '^ +[0-9]+  [a-z_.0-9]+ +f32 ' "$TMP/out")
	if [ "$rows" -eq 48 ]; then pass "--tensors: 48 rows"; else fail "--tensors: 48 rows" "got $rows"; fi
	has "--tensors: token_embd" '^ +0  token_embd\.weight +f32 +64x512 +32,768 +131,072  0x[0-9a-f]+$' "$TMP/out"

	expect_status "info --json exits 0" 0 "$LT" info --json "$STORIES"
	cp "$TMP/out" "$TMP/stories.json"
	if have_python; then
		check "--json is valid JSON" python3 -m json.tool "$TMP/stories.json" /dev/null
		check "--json has the right counts" python3 - "$TMP/stories.json" <<'EOF'
import json, sys
d = json.load(open(sys.argv[1]))
s = d["summary"]
assert d["tensor_count"] == 48 and len(d["tensors"]) == 48, d["tensor_count"]
assert s["parameters"] == 292800, s["parameters"]
assert sum(t["elements"] for t in d["tensors"]) == 292800
assert s["block_count"] == 5 and s["head_count"] == 8 and s["head_count_kv"] == 4
assert s["vocab_size"] == 512 and s["context_length"] == 2048
assert s["kv_cache_bytes_per_token_f16"] == 640, s["kv_cache_bytes_per_token_f16"]
assert s["rope_freq_base"] is None and s["file_type"] is None
assert s["bos_token"] == {"id": 1, "text": "<s>"}
assert d["metadata_count"] == 19 == len(d["metadata"])
tok = d["metadata"]["tokenizer.ggml.tokens"]
assert tok["type"] == "array" and tok["element_type"] == "string" and len(tok["value"]) == 512
assert d["metadata"]["llama.block_count"] == {"type": "uint32", "value": 5}
t0 = d["tensors"][0]
assert t0["name"] == "token_embd.weight" and t0["shape"] == [64, 512] and t0["type"] == "f32"
assert t0["file_offset"] == d["data_offset"] + t0["offset"]
EOF
	else
		skip "--json is valid JSON" "python3 not found"
	fi

	# Truncated copies: one-line errors naming the file, exit 1.
	for n in 3 100 5000 14000 600000; do
		head -c "$n" "$STORIES" >"$TMP/cut-$n.gguf"
		expect_status "truncated at $n exits 1" 1 "$LT" info "$TMP/cut-$n.gguf"
		one_line_naming "truncated at $n: one-line error naming it" "$TMP/cut-$n.gguf"
	done

	# Every shared vocab and legacy file.
	for f in "$MODELS"/vocab/*.gguf "$MODELS"/legacy/*; do
		[ -f "$f" ] || continue
		b=$(basename "$f")
		expect_status "info $b exits 0" 0 "$LT" info --kv --tensors "$f"
		if have_python; then
			"$LT" info --json "$f" >"$TMP/vocab.json" 2>/dev/null
			check "info --json $b is valid JSON" python3 -m json.tool "$TMP/vocab.json" /dev/null
		fi
	done
	if [ -f "$MODELS/vocab/ggml-vocab-phi-3.gguf" ]; then
		"$LT" info "$MODELS/vocab/ggml-vocab-phi-3.gguf" >"$TMP/phi3" 2>&1
		has "phi-3: chat template found" '^chat template: +yes \([0-9,]+ bytes\)$' "$TMP/phi3"
		has "phi-3: file type named" '^file type: +1 \(MOSTLY_F16\)$' "$TMP/phi3"
		has "phi-3: vocab-only, no tensors" '^tensors: +0 ' "$TMP/phi3"
	fi
	if [ -f "$MODELS/legacy/ggml-vocab-llama.gguf-v1" ]; then
		"$LT" info "$MODELS/legacy/ggml-vocab-llama.gguf-v1" >"$TMP/v1" 2>&1
		has "v1 file: version 1" '^GGUF version: +1$' "$TMP/v1"
	fi
fi

# A hostile file: control characters, invalid UTF-8, NaN and infinities.
if have_python; then
	python3 - "$TMP/hostile.gguf" <<'EOF'
import struct, sys
def s(x): return struct.pack("<Q", len(x)) + x
def kv(k, t, v): return s(k) + struct.pack("<I", t) + v
kvs = [
    kv(b"general.architecture", 8, s(b"llama")),
    kv(b"general.name", 8, s(b"evil\x1b[31mred\x07\n\r\t\"q\\ \xff\xfe \xc0\xaf \xed\xa0\x80 \xc2\x9b end")),
    kv(b"t.nan", 6, struct.pack("<f", float("nan"))),
    kv(b"t.inf", 12, struct.pack("<d", float("inf"))),
    kv(b"t.\x1bkey\xff", 4, struct.pack("<I", 7)),
    kv(b"llama.rope.freq_base", 6, struct.pack("<f", float("-inf"))),
    kv(b"t.floats", 9, struct.pack("<IQ", 6, 3) + struct.pack("<3f", 1.5, float("nan"), float("inf"))),
    kv(b"t.nested", 9, struct.pack("<IQ", 9, 2) + struct.pack("<IQ", 8, 1) + s(b"\x00\x01\xff")
       + struct.pack("<IQ", 7, 2) + b"\x01\x00"),
    kv(b"tokenizer.ggml.tokens", 9, struct.pack("<IQ", 8, 3) + s(b"<s>") + s(b"\x1b]0;pwned\x07") + s(b"\xff")),
    kv(b"tokenizer.ggml.bos_token_id", 4, struct.pack("<I", 1)),
    kv(b"tokenizer.ggml.eos_token_id", 4, struct.pack("<I", 99)),
]
data = b"GGUF" + struct.pack("<IQQ", 3, 1, len(kvs)) + b"".join(kvs)
data += s(b"w\x1b\xff") + struct.pack("<IQQIQ", 2, 2, 2, 0, 0)
data += b"\0" * (-len(data) % 32) + b"\0" * 16
open(sys.argv[1], "wb").write(data)
EOF
	expect_status "hostile file: info --kv --tensors --full exits 0" 0 \
		"$LT" info --kv --tensors --full "$TMP/hostile.gguf"
	if LC_ALL=C grep -q $'[\x01-\x08\x0b-\x1f\x7f]' "$TMP/out"; then
		fail "hostile file: no raw control characters in text output"
	else
		pass "hostile file: no raw control characters in text output"
	fi
	has "hostile file: escapes shown" 'evil\\x1b\[31mred\\x07\\n\\r\\t"q\\\\ \\xff\\xfe' "$TMP/out"
	expect_status "hostile file: info --json exits 0" 0 "$LT" info --json "$TMP/hostile.gguf"
	check "hostile file: --json is valid JSON" python3 - "$TMP/out" <<'EOF'
import json, sys
raw = open(sys.argv[1], "rb").read()
raw.decode("utf-8")  # strict: invalid bytes must have become U+FFFD
d = json.loads(raw, parse_constant=lambda c: (_ for _ in ()).throw(ValueError(c)))
m = d["metadata"]
assert m["t.nan"]["value"] is None and m["t.inf"]["value"] is None
assert m["t.floats"]["value"] == [1.5, None, None]
assert m["general.name"]["value"].startswith("evil\x1b[31mred\x07\n\r\t\"q\\ \ufffd\ufffd")
assert m["t.nested"]["value"] == [["\x00\x01\ufffd"], [True, False]]
assert d["summary"]["rope_freq_base"] is None
assert d["summary"]["eos_token"] == {"id": 99, "text": None}
assert d["tensors"][0]["name"] == "w\x1b\ufffd"
EOF
	# A corrupt file whose key name carries terminal escapes and a newline.
	python3 -c 'import struct, sys; k = b"bad\n\x1b[2Jkey"
open(sys.argv[1], "wb").write(b"GGUF" + struct.pack("<IQQQ", 3, 0, 1, len(k)) + k + struct.pack("<I", 99))' \
		"$TMP/badkey.gguf"
	expect_status "corrupt key name: exits 1" 1 "$LT" info "$TMP/badkey.gguf"
	one_line_naming "corrupt key name: one-line error naming the file" "$TMP/badkey.gguf"
	if LC_ALL=C grep -q $'\x1b' "$TMP/err"; then
		fail "corrupt key name: no escape character in the error"
	else
		pass "corrupt key name: no escape character in the error"
	fi
else
	skip "hostile file" "python3 not found"
fi
