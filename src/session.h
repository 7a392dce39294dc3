/* Session files: one file per conversation, holding everything needed to
 * show its transcript and to resume it exactly where it stopped.
 *
 * This header is the format of one file (session.c reads version 1 and
 * dispatches; session_journal.c encodes and replays journals, version 2;
 * session_append.c, session_journal.h, appends to them);
 * session_store.h is the sessions directory: files by name, listing,
 * renaming, export, compaction (session_store.c).
 *
 * Files have mode 0600. A session is a journal: saving a turn appends the
 * records that changed (the new turns, the new context ids, the KV rows of
 * the new positions, the sampler state) and a COMT record, with one
 * fdatasync, so the cost of a save follows what the turn added, not the
 * length of the conversation. Nothing written is rewritten in place: undo,
 * regenerate, edits and context shifts append records that truncate or
 * replace, leaving dead bytes behind. When dead bytes exceed live ones, on
 * a save under a new name, for a version-1 file and on `sessions gc`, the
 * file is compacted: the live state is written into a temporary file that
 * is fsync'd and renamed over the old one (atomic_file.h), so a reader sees
 * the old or the new file, never a mix. A full disk, an exceeded quota or
 * file size limit (ENOSPC, EDQUOT, EFBIG) give LT_E_FULL and one line
 * naming the file; a failed append is cut off again, leaving the file as
 * it was.
 *
 * Journal layout (version 2; all integers little-endian):
 *
 *   header, 16 bytes
 *     0   magic    8 bytes "LTSESS\r\n"
 *     8   version  u32 (SESSION_VERSION, 2)
 *     12  crc      u32 CRC-32 of bytes 0..11
 *   records, each
 *     0   type     4 ASCII bytes
 *     4   length   u32 payload bytes (at most SESSION_MAX_RECORD)
 *     8   payload
 *     8+length crc u32 CRC-32 (IEEE 802.3) of type, length and payload
 *
 * A string is u32 length + bytes (no NUL, valid UTF-8). Records:
 *   META  fingerprint u64, model file size u64, model name str, template
 *         name str, system str, in_prefix str, postfix str, created i64
 *         (ms since the epoch), n_ctx u32, flags u32 (1: thinking off);
 *         then, in later files, model file str, model type str, and
 *         endpoint str (the server URL of a remote chat, "" for a local
 *         one; model name is then the server's name for the model)
 *   SAMP  as version 1's SAMP section below (sampling, n_predict, stops)
 *   TURN  index u32, role u8 (0 user, 1 assistant), flags u8 (1 cut short,
 *         2 in the context), reserved u16, n_tokens u32, t_start i64, t_end
 *         i64, n_reasoning u32, text str, reasoning str. The turns from
 *         index on are replaced by this one
 *   TSET  n u32, n x (index u32, flags u8, reserved u8 x3, n_tokens u32):
 *         turns that left the context (a shift) or changed flags
 *   TTRN  n_turns u32: the turns from n_turns on are gone (undo)
 *   CIDS  keep u32, n_head u32, n u32, n x i32: the context ids are the
 *         first keep ids followed by these n
 *   KVSP  p0 u32, p1 u32, a KV span (ctx_kv_span_save, engine/context.h:
 *         the cache shape and the K and V rows of positions p0..p1-1); the
 *         cache from p0 on is replaced by it. A save writes consecutive
 *         spans of at most 256 MiB each (one when a sliding window's ring
 *         cannot give earlier rows alone)
 *   KVTR  n u32: the cache keeps only its first n positions
 *   KIMG  n u32, a whole-cache image of n positions (ctx_state_save), as
 *         version-1 files hold it; written when one is compacted without a
 *         model loaded (`sessions gc`)
 *   SMPS  the sampler state (sampler_state_save), opaque bytes
 *   COMT  updated i64 (ms since the epoch), n_turns u32: the records since
 *         the previous COMT are one save
 * Replay applies the records in order up to the last COMT: a crash in the
 * middle of an append leaves a torn tail, which loses only the save being
 * written, and the next save cuts it off. A record whose checksum fails in
 * the middle of the file (the next record is intact) is skipped alone and
 * named in the warning; what depended on it is rebuilt (a context that no
 * longer adds up is evaluated again from the transcript). Unknown record
 * types are skipped. With `--session-kv none` no CIDS, KVSP or KVTR records
 * are written and a resume evaluates the transcript again.
 *
 * Version 1 (read, and converted to a journal by the next save):
 *
 *   header, 24 bytes
 *     0   magic      8 bytes "LTSESS\r\n"
 *     8   version    u32  (1)
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
 * Sections, in order:
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
 *         n_reasoning u32 (tokens), reasoning str ("" for none)
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

#define SESSION_VERSION 2u
/* Largest journal record (a KV span of one save). */
#define SESSION_MAX_RECORD (UINT32_C(1) << 31)
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

/* KV rows of positions [p0, p_end) kept in a KVSP record (which holds
 * p0..p1; a later truncation can leave p_end < p1). */
struct session_kv_span {
	int p0, p1, p_end;
	void *blob;               /* the span (ctx_kv_span_load); NULL in light reads */
	size_t len;
};

struct session_data {
	uint64_t fingerprint;     /* session_fingerprint of the model */
	uint64_t model_size;
	char *model_name;
	char *model_file;         /* the model file's base name, or NULL (older files) */
	char *model_type;         /* its weights' main type ("q8_0"), or NULL */
	char *endpoint;           /* a remote chat's server URL (never a key), or NULL */
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
	void *kv;                 /* a whole-cache image (version 1, KIMG), or NULL */
	size_t kv_len;
	int kv_n;                 /* the positions kv holds */
	struct session_kv_span *spans; /* (n_spans) then these, in order */
	int n_spans;

	/* Set by session_read: which optional parts are present and intact. */
	bool has_ctx, has_sampler, has_kv;

	/* Set by the readers: the file's format version, its size, the bytes
	 * of records that make up the state read (the rest are dead, which
	 * compaction drops) and where the last complete save ends. */
	uint32_t version;
	uint64_t file_size, live_bytes, valid_end;
};

/* Frees every member and zeroes d. */
void session_data_free(struct session_data *d);

/* Serialises d as a compacted journal into a malloc'd buffer. */
int session_encode(const struct session_data *d, uint8_t **buf, size_t *len, char *err,
		   size_t errlen);
/* The same in the version-1 format (tests and fixtures only: llamaterm
 * itself writes journals). */
int session_encode_v1(const struct session_data *d, uint8_t **buf, size_t *len, char *err,
		   size_t errlen);

/* Parses a file image. path names the file in messages. Returns 0 with
 * *d filled (has_* tell which optional parts were intact; warn receives
 * a line about damaged ones, "" when none), or a negative lt_error
 * (LT_E_FORMAT, LT_E_UNSUPPORTED for a newer version) when the
 * transcript itself cannot be read; *d is then empty. */
int session_decode(const uint8_t *buf, size_t len, const char *path, struct session_data *d,
		   char *warn, size_t warnlen, char *err, size_t errlen);

/* Atomically writes d to path as a compacted journal (see above). */
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
