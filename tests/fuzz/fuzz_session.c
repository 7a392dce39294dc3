/* libFuzzer target for the session file decoders (journals and version-1
 * files): any bytes either decode or fail with a message naming the file,
 * the transcript-only replay agrees with the full one, and whatever decodes
 * survives a re-encode (a compacted journal) with the same turns.
 *
 * The fuzz build defines FUZZING_BUILD_MODE_UNSAFE_FOR_PRODUCTION, which
 * makes the decoders skip their checksum comparisons, so mutations reach
 * every record parser; the seeds (tests/fuzz/seeds/session/) are journals
 * written by the tests: several turns, undo, a context shift, KV records,
 * torn tails, a version-1 file. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "session.h"
#include "session_impl.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct session_data d, e;
	char warn[512], err[512];
	if (session_decode(data, size, "fuzz.lts", &d, warn, sizeof(warn), err, sizeof(err)) != 0) {
		if (!strstr(err, "fuzz.lts"))
			abort();
		return 0;
	}
	if (d.version == SESSION_VERSION) {
		if (session_journal_decode(data, size, true, "light.lts", &e, warn, sizeof(warn), err,
					   sizeof(err)) != 0 ||
		    e.n_turns != d.n_turns || e.n_ids != d.n_ids || e.n_spans != d.n_spans)
			abort();
		session_data_free(&e);
	}
	uint8_t *buf;
	size_t len;
	if (session_encode(&d, &buf, &len, err, sizeof(err)) == 0) {
		int rc = session_decode(buf, len, "again.lts", &e, warn, sizeof(warn), err, sizeof(err));
		if (rc != 0 || e.n_turns != d.n_turns || warn[0]) {
			fprintf(stderr, "re-encoded: rc %d, %d turns (was %d), warning '%s', error '%s'\n",
				rc, rc ? -1 : e.n_turns, d.n_turns, warn, rc ? err : "");
			abort();
		}
		for (int i = 0; i < d.n_turns; i++)
			if (strcmp(e.turns[i].text, d.turns[i].text))
				abort();
		session_data_free(&e);
		free(buf);
	}
	session_data_free(&d);
	return 0;
}
