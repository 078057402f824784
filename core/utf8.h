/*
 * utf8.h -- incremental UTF-8 validation (RFC 3629), for WebSocket text (RFC 6455 8.1).
 *
 * The state is one uint32_t the caller keeps (0 = between code points), so validation
 * carries across any split of the input: frames, fragments, single bytes. The first
 * byte that can no longer start or continue a valid sequence is reported at once, which
 * is what "fail fast" means for Autobahn 6.4: overlong forms, surrogates (U+D800..DFFF)
 * and values over U+10FFFF are caught at the byte that makes them impossible, not at the
 * end of the sequence. Non-characters (U+FFFE, U+FFFF...) are valid.
 */
#ifndef IOTPRO_CORE_UTF8_H
#define IOTPRO_CORE_UTF8_H

#include <stddef.h>
#include <stdint.h>

#define UTF8_START 0u          /* initial state, and "complete" */
#define UTF8_BAD   0xFFFFFFFFu /* sticky after an invalid byte */

/* Validates p[0..n) continuing from *state. Returns n if every byte is acceptable so
 * far, otherwise the index of the first bad byte (and *state becomes UTF8_BAD). */
size_t utf8_check(uint32_t *state, const uint8_t *p, size_t n);

/* Length (1-4) of the one valid UTF-8 sequence at s[0..n), or 0 if s[0] does not start
 * one (bad lead byte, overlong form, surrogate, above U+10FFFF, or cut short). For
 * encoders that replace invalid bytes one at a time (exporter/expo.c, exporter/log.c). */
size_t utf8_seq_len(const uint8_t *s, size_t n);

/* 1 if state is at a code point boundary (a message may end here), else 0. */
static inline int utf8_complete(uint32_t state)
{
    return state == UTF8_START;
}

#endif
