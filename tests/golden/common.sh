# Settings shared by make.sh (which writes the goldens) and
# tests/cli/archs.sh (which checks against them). Source it.
GOLDEN_SHAPE="--dim 256 --ffn 512 --layers 2 --heads 4 --kv-heads 2 --name synth --seed 7"
GOLDEN_IDS=1,17,42,99,100,7,250,300,12,400,5,77,123,321,222,111
GOLDEN_GREEDY=16
GOLDEN_TYPES="F32 Q8_0 Q4_K_M"
# Models whose F32 file is also checked with a quantized KV cache (llama.cpp
# with flash attention, which quantized caches need, and its Hadamard
# rotation of K and V), as NAME.F32-kvTYPE.
GOLDEN_KV_MODELS="llama qwen3 gemma3 mpt"
GOLDEN_KV_TYPES="q8_0 q4_0"
