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

#endif
