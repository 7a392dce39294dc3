/* Split models: llama.cpp's gguf-split writes a model as several GGUF files
 * NAME-00001-of-0000N.gguf .. NAME-0000N-of-0000N.gguf, each with the keys
 * split.no (0-based), split.count and split.tensors.count, the metadata in
 * the first and the tensors spread over all of them. */
#ifndef LT_GGUF_SPLIT_H
#define LT_GGUF_SPLIT_H

#include <stddef.h>

#include "gguf.h"

/* Opens path as gguf_open does; when it is the first file of a split model,
 * opens the others beside it too and lists their tensors in *out as its own
 * (gguf_merge), so the model loads as one. Returns 0, or a negative
 * lt_error with one line naming the file and what is wrong (a later part
 * given, a part missing or of another split, a tensor count that does not
 * add up). */
int gguf_open_split(struct gguf **out, const char *path, int flags, char *err, size_t errlen);

#endif
