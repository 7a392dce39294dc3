// dump_logits: the reference side of tests/golden. Evaluates token ids with
// llama.cpp (linked as a library, built outside this repository) and writes
// every position's logits as text, then the greedy continuation.
// usage: dump_logits MODEL.gguf ID1,ID2,... OUT.txt [--greedy N] [--kv f32|f16|q8_0|q4_0]
//        [--threads T] [--fa on|off|auto] [-v]
#include "llama.h"
#include "ggml.h"

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

static void usage(const char * p) {
    fprintf(stderr, "usage: %s MODEL.gguf ID1,ID2,...,IDn OUT.txt [--greedy N] [--kv f32|f16|q8_0|q4_0] [--threads T] [--fa on|off|auto] [-v]\n", p);
}

static void quiet_log(enum ggml_log_level level, const char * text, void *) {
    if (level >= GGML_LOG_LEVEL_WARN) fputs(text, stderr);
}

int main(int argc, char ** argv) {
    if (argc < 4) { usage(argv[0]); return 2; }
    const char * model_path = argv[1];
    const char * ids_str    = argv[2];
    const char * out_path   = argv[3];
    int n_greedy = 0;
    int n_threads = 2;
    ggml_type kv_type = GGML_TYPE_F16;
    llama_flash_attn_type fa = LLAMA_FLASH_ATTN_TYPE_AUTO;
    for (int i = 4; i < argc; i++) {
        std::string a = argv[i];
        if (a == "--greedy" && i + 1 < argc) {
            n_greedy = atoi(argv[++i]);
            if (n_greedy < 0) { fprintf(stderr, "bad --greedy\n"); return 2; }
        } else if (a == "--threads" && i + 1 < argc) {
            n_threads = atoi(argv[++i]);
            if (n_threads < 1) { fprintf(stderr, "bad --threads\n"); return 2; }
        } else if (a == "--kv" && i + 1 < argc) {
            std::string k = argv[++i];
            if      (k == "f32")  kv_type = GGML_TYPE_F32;
            else if (k == "f16")  kv_type = GGML_TYPE_F16;
            else if (k == "q8_0") kv_type = GGML_TYPE_Q8_0;
            else if (k == "q4_0") kv_type = GGML_TYPE_Q4_0;
            else { fprintf(stderr, "bad --kv %s\n", k.c_str()); return 2; }
        } else if (a == "--fa" && i + 1 < argc) {
            std::string k = argv[++i];
            if      (k == "on")   fa = LLAMA_FLASH_ATTN_TYPE_ENABLED;
            else if (k == "off")  fa = LLAMA_FLASH_ATTN_TYPE_DISABLED;
            else if (k == "auto") fa = LLAMA_FLASH_ATTN_TYPE_AUTO;
            else { fprintf(stderr, "bad --fa %s\n", k.c_str()); return 2; }
        } else if (a == "-v") {
            // verbose: keep default logging
        } else {
            usage(argv[0]); return 2;
        }
    }
    bool verbose = false;
    for (int i = 4; i < argc; i++) if (!strcmp(argv[i], "-v")) verbose = true;
    if (!verbose) llama_log_set(quiet_log, nullptr);

    // parse ids
    std::vector<llama_token> ids;
    {
        const char * p = ids_str;
        while (*p) {
            char * end = nullptr;
            long v = strtol(p, &end, 10);
            if (end == p) { fprintf(stderr, "bad id list: %s\n", ids_str); return 2; }
            ids.push_back((llama_token) v);
            p = end;
            if (*p == ',') p++;
            else if (*p) { fprintf(stderr, "bad id list: %s\n", ids_str); return 2; }
        }
    }
    if (ids.empty()) { fprintf(stderr, "no ids\n"); return 2; }
    const int n_ctx = 512;
    if ((int) ids.size() + n_greedy > n_ctx) { fprintf(stderr, "too many tokens for n_ctx=%d\n", n_ctx); return 2; }

    llama_backend_init();

    llama_model_params mp = llama_model_default_params();
    mp.n_gpu_layers = 0;
    llama_model * model = llama_model_load_from_file(model_path, mp);
    if (!model) { fprintf(stderr, "failed to load model %s\n", model_path); return 1; }
    const llama_vocab * vocab = llama_model_get_vocab(model);
    const int n_vocab = llama_vocab_n_tokens(vocab);
    for (llama_token t : ids) {
        if (t < 0 || t >= n_vocab) { fprintf(stderr, "id %d out of range (n_vocab=%d)\n", t, n_vocab); return 1; }
    }

    llama_context_params cp = llama_context_default_params();
    cp.n_ctx = n_ctx;
    cp.n_batch = 512;
    cp.n_ubatch = 512;
    cp.n_seq_max = 1;
    cp.n_threads = n_threads;
    cp.n_threads_batch = n_threads;
    cp.type_k = kv_type;
    cp.type_v = kv_type;
    cp.no_perf = true;
    cp.flash_attn_type = fa;
    llama_context * ctx = llama_init_from_model(model, cp);
    if (!ctx) { fprintf(stderr, "failed to create context\n"); return 1; }

    const int n_pos = (int) ids.size();
    llama_batch batch = llama_batch_init(n_pos, 0, 1);
    for (int i = 0; i < n_pos; i++) {
        batch.token[i] = ids[i];
        batch.pos[i] = i;
        batch.n_seq_id[i] = 1;
        batch.seq_id[i][0] = 0;
        batch.logits[i] = 1;
    }
    batch.n_tokens = n_pos;
    if (llama_decode(ctx, batch) != 0) { fprintf(stderr, "llama_decode failed\n"); return 1; }

    FILE * f = fopen(out_path, "w");
    if (!f) { fprintf(stderr, "cannot open %s\n", out_path); return 1; }
    fprintf(f, "%d %d\n", n_pos, n_vocab);
    std::vector<float> last(n_vocab);
    for (int i = 0; i < n_pos; i++) {
        const float * lg = llama_get_logits_ith(ctx, i);
        if (!lg) { fprintf(stderr, "no logits for position %d\n", i); fclose(f); return 1; }
        for (int j = 0; j < n_vocab; j++) {
            fprintf(f, j ? " %.9g" : "%.9g", lg[j]);
        }
        fputc('\n', f);
        if (i == n_pos - 1) memcpy(last.data(), lg, sizeof(float) * n_vocab);
    }
    llama_batch_free(batch);

    if (n_greedy > 0) {
        std::vector<llama_token> out;
        std::vector<float> gaps;
        llama_batch b1 = llama_batch_init(1, 0, 1);
        int pos = n_pos;
        for (int s = 0; s < n_greedy; s++) {
            int best = 0;
            for (int j = 1; j < n_vocab; j++) if (last[j] > last[best]) best = j;
            float second = -INFINITY;
            for (int j = 0; j < n_vocab; j++) if (j != best && last[j] > second) second = last[j];
            out.push_back(best);
            gaps.push_back(last[best] - second);
            if (s == n_greedy - 1) break;
            b1.token[0] = best;
            b1.pos[0] = pos++;
            b1.n_seq_id[0] = 1;
            b1.seq_id[0][0] = 0;
            b1.logits[0] = 1;
            b1.n_tokens = 1;
            if (llama_decode(ctx, b1) != 0) { fprintf(stderr, "llama_decode failed (greedy step %d)\n", s); fclose(f); return 1; }
            const float * lg = llama_get_logits_ith(ctx, -1);
            if (!lg) { fprintf(stderr, "no logits (greedy step %d)\n", s); fclose(f); return 1; }
            memcpy(last.data(), lg, sizeof(float) * n_vocab);
        }
        llama_batch_free(b1);
        fprintf(f, "greedy:");
        for (llama_token t : out) fprintf(f, " %d", t);
        fputc('\n', f);
        // how far each pick was ahead of the runner-up: a near tie may go either way
        fprintf(f, "gaps:");
        for (float g : gaps) fprintf(f, " %.6g", g);
        fputc('\n', f);
        // also show the decoded text on stderr for convenience
        std::string txt;
        for (llama_token t : out) {
            char buf[256];
            int n = llama_token_to_piece(vocab, t, buf, sizeof(buf), 0, true);
            if (n > 0) txt.append(buf, n);
        }
        fprintf(stderr, "greedy text: %s\n", txt.c_str());
    }

    if (fclose(f) != 0) { fprintf(stderr, "write error on %s\n", out_path); return 1; }
    llama_free(ctx);
    llama_model_free(model);
    llama_backend_free();
    return 0;
}
