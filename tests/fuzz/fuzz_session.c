/* libFuzzer target for the session file decoder: any bytes either decode
 * or fail with a message, and whatever decodes survives a re-encode. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "session.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct session_data d, e;
	char warn[512], err[512];
	if (session_decode(data, size, "fuzz.lts", &d, warn, sizeof(warn), err, sizeof(err)) != 0) {
		if (!strstr(err, "fuzz.lts"))
			abort();
		return 0;
	}
	uint8_t *buf;
	size_t len;
	if (session_encode(&d, &buf, &len, err, sizeof(err)) == 0) {
		if (session_decode(buf, len, "again.lts", &e, warn, sizeof(warn), err, sizeof(err)) != 0 ||
		    e.n_turns != d.n_turns)
			abort();
		session_data_free(&e);
		free(buf);
	}
	session_data_free(&d);
	return 0;
}
