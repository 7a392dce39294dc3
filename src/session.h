/* Session files: one file per conversation, holding everything needed to
 * show its transcript and to resume it exactly where it stopped.
 *
 * This header is the format of one file (session.c); session_store.h is
 * the sessions directory: files by name, listing, renaming, export
 * (session_store.c).
 *
 * Files have mode 0600. Writes are atomic (atomic_file.h): a temporary
 * file in the same directory is written (every write checked), fsync'd,
 * renamed over the old file, and the directory is fsync'd; on any failure
 * the temporary file is removed and the previous version stays intact. A
 * full disk, an exceeded quota or file size limit (ENOSPC, EDQUOT, EFBIG)
 * give LT_E_FULL and one line naming the file and saying which.
 *
 * Layout (all integers little-endian):
 *
 *   header, 24 bytes
 *     0   magic      8 bytes "LTSESS\r\n"
 *     8   version    u32  (SESSION_VERSION)
 *     12  n_sections u32
 *     16  flags      u32  (0)
 *     20  crc        u32  CRC-32 of bytes 0..19
 *   n_sections sections, each a 24-byte header and a payload:
 *     0   tag        4 ASCII bytes
 *     4   flags      u32  (0)
 *     8   length     u64  payload bytes
 *     16  crc        u32  CRC-32 (IEEE 802.3) of the payload
 *     20  reserved   u32  (0)
 *     24  payload
 *
 * A string is u32 length + bytes (no NUL, valid UTF-8). Sections, in order:
 *   META  fingerprint u64, model file size u64, model name str,
 *         template name str, system str, in_prefix str, postfix str,
 *         created i64, updated i64 (ms since the epoch), n_ctx u32
 *   SAMP  temperature f32, top_k i32, top_p f32, min_p f32, typical_p f32,
 *         repeat_penalty f32, frequency_penalty f32, presence_penalty f32,
 *         repeat_last_n i32, seed u32, order str, n_predict i32,
 *         n_stops u32, n_stops x str (the user's stop strings)
 *   TURN  n_turns u32, then per turn: role u8 (0 user, 1 assistant),
 *         flags u8 (1 cut short, 2 in the context), reserved u16,
 *         n_tokens u32, t_start i64, t_end i64, text str
 *   RSNG  flags u32 (1: thinking switched off), n_turns u32, then per turn:
 *         n_reasoning u32 (tokens), reasoning str ("" for none). Written
 *         since reasoning models; a file without it reads as having no
 *         reasoning, and a damaged one only loses the reasoning
 *   CTXT  n_head u32 (tokens before the first turn), n_ids u32, n_ids x i32
 *   SMPS  the sampler state (sampler_state_save), opaque bytes
 *   KVST  the KV cache of the filled positions (ctx_state_save), opaque
 * Readers skip unknown tags. META, SAMP and TURN make the transcript; when
 * CTXT, SMPS or KVST is damaged the transcript still loads and the caller
 * rebuilds the context from it. */
#ifndef LT_SESSION_H
#define LT_SESSION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "errors.h"
#include "sampler.h"

#define SESSION_VERSION 1u
/* Largest session file read (the KV cache of a long context is large). */
#define SESSION_MAX_FILE (UINT64_C(1) << 36)

struct session_turn {
	uint8_t role;      /* enum conv_role */
	uint8_t flags;     /* CONV_TURN_* */
	int n_tokens;
	int64_t t_start, t_end;
	char *text;
	char *reasoning;   /* a reply's reasoning; NULL or "" when none */
	int n_reasoning;   /* the tokens it took */
};

struct session_data {
	uint64_t fingerprint;     /* session_fingerprint of the model */
	uint64_t model_size;
	char *model_name;
	char *template_name;
	char *system;
	char *in_prefix;
	char *postfix;
	int64_t created, updated;
	uint32_t n_ctx;

	struct sampler_params sampling;
	int n_predict;
	char **stops;             /* (n_stops) the user's stop strings */
	int n_stops;

	struct session_turn *turns; /* (n_turns) */
	int n_turns;
	bool thinking_off;        /* /think off was in effect */

	int n_head;               /* context ids before the first turn */
	int32_t *ids;             /* (n_ids) the context */
	int n_ids;
	void *sampler_state;
	size_t sampler_state_len;
	void *kv;
	size_t kv_len;

	/* Set by session_read: which optional parts are present and intact. */
	bool has_ctx, has_sampler, has_kv;
};

/* Frees every member and zeroes d. */
void session_data_free(struct session_data *d);

/* Serialises d into a malloc'd buffer. */
int session_encode(const struct session_data *d, uint8_t **buf, size_t *len, char *err,
		   size_t errlen);

/* Parses a file image. path names the file in messages. Returns 0 with
 * *d filled (has_* tell which optional parts were intact; warn receives
 * a line about damaged ones, "" when none), or a negative lt_error
 * (LT_E_FORMAT, LT_E_UNSUPPORTED for a newer version) when the
 * transcript itself cannot be read; *d is then empty. */
int session_decode(const uint8_t *buf, size_t len, const char *path, struct session_data *d,
		   char *warn, size_t warnlen, char *err, size_t errlen);

/* Atomically writes d to path (see above). */
int session_write_file(const char *path, const struct session_data *d, char *err,
		       size_t errlen);
/* Reads and decodes path. */
int session_read_file(const char *path, struct session_data *d, char *warn, size_t warnlen,
		      char *err, size_t errlen);
/* The same without the SMPS and KVST payloads (listing, showing). */
int session_read_transcript(const char *path, struct session_data *d, char *warn,
			    size_t warnlen, char *err, size_t errlen);

/* A model fingerprint: FNV-1a (64-bit) over the file's first header_len
 * bytes (GGUF header, metadata and tensor table, i.e. gguf_data_offset)
 * mixed with the file size. */
int session_fingerprint(const char *model_path, uint64_t header_len, uint64_t *out, char *err,
			size_t errlen);

/* CRC-32 (IEEE 802.3, as zlib) of len bytes, continuing from crc (0 to start). */
uint32_t session_crc32(uint32_t crc, const void *data, size_t len);

/* The directory side lives with the code that implements it; included
 * here so a caller of either needs only this header. */
#include "session_store.h"

#endif
