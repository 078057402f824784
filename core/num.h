/*
 * num.h -- telemetry value classification: ThingsBoard sends every value as a string.
 *
 * Numbers come in Java Double.toString form ("25.0", "1.2345E7", "NaN", "Infinity"),
 * in SQL-cast form ("25", "1e+20", "-0.5") or typed by hand ("+5", ".5", "5.").
 * "true"/"false" are booleans. Anything else is a string.
 *
 * Accepted, exactly: [+-]?(Infinity | D+ .? D* | . D+)([eE][+-]?D+)?, and "NaN" (no
 * sign), at most 400 bytes. No whitespace, hex, lower-case inf/nan or "nan(...)".
 *
 * The value is the correctly rounded double (ties to even), bit for bit what a
 * correct strtod gives, for every accepted input: subnormals, overflow to infinity,
 * "-0.0" (negative zero), integers past 2^53. No libc conversion is used (so no
 * locale), nothing is allocated (the rare exact path uses ~1 KiB of stack).
 * Inputs are (pointer, length) views, not NUL-terminated; nothing is retained.
 * Any thread may call these; they keep no state.
 */
#ifndef IOTPRO_CORE_NUM_H
#define IOTPRO_CORE_NUM_H

#include <stddef.h>

/* Result of num_classify(). */
typedef enum {
    NUM_STRING = 0, /* not a number or boolean: keep it as a string */
    NUM_NUMBER = 1, /* *out holds the value (may be NaN or +-Inf) */
    NUM_BOOL = 2    /* *out is 1.0 for "true", 0.0 for "false" */
} num_kind;

/* Parses s[0..len) as a whole number; 0 on success with *out set, -1 otherwise
 * (empty, trailing garbage, whitespace, hex, or longer than 400 bytes). */
int num_parse(const char *s, size_t len, double *out);

/* Number, boolean or string; *out is written only for NUM_NUMBER and NUM_BOOL. */
num_kind num_classify(const char *s, size_t len, double *out);

#endif
