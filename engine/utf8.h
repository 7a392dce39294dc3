/* Strict UTF-8 decoding and validation, the one definition the program
 * uses for "valid UTF-8" (file names, session and template files, stop
 * strings, the screen): overlong forms, surrogates, values past U+10FFFF
 * and truncated sequences are all invalid. (The tokenizers decode the way
 * llama.cpp does instead; see vocab.c.) */
#ifndef LT_UTF8_H
#define LT_UTF8_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define UTF8_REPLACEMENT_CP 0xFFFDu

/* Length of the sequence the byte c starts (1..4), or 0 when c cannot
 * start one (a continuation byte, 0xC0, 0xC1 or 0xF5..0xFF). */
size_t utf8_lead_len(unsigned char c);

/* Decodes the character at s (n > 0 bytes available). Returns its length
 * (1..4) with the code point in *cp, or 0 with U+FFFD in *cp when the bytes
 * there are not valid UTF-8. */
size_t utf8_decode(const char *s, size_t n, uint32_t *cp);

/* True when all n bytes at s are valid UTF-8. */
bool utf8_valid(const char *s, size_t n);

/* A malloc'd, NUL-terminated copy of the n bytes at s (which may hold
 * NULs) in which every invalid sequence (a stray byte, or a lead byte with
 * the continuation bytes it claims) is one U+FFFD; what the user types
 * goes through this before it is tokenized or stored. *out_len (may be
 * NULL) gets its length, *n_bad the number of replacements. NULL when out
 * of memory. */
char *utf8_sanitize(const char *s, size_t n, size_t *out_len, size_t *n_bad);

#endif
