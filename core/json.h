/*
 * json.h -- helpers over jsmn tokens: find a key, skip a subtree, read strict numbers
 * and booleans, unescape and escape strings.
 *
 * jsmn is configured here, once, for every file of the project: strict mode (only
 * valid JSON literals as primitives) and parent links. Include this header, never
 * jsmn.h directly; core/json.c alone compiles jsmn's implementation.
 *
 * Ownership: tokens are (start, end) offsets into the caller's text; every function
 * here takes that text and the token array and keeps neither. Token indexes are ints
 * because jsmn's are. jsmn only checks the first character of a primitive, so every
 * reader below validates the full grammar of what it reads.
 */
#ifndef IOTPRO_CORE_JSON_H
#define IOTPRO_CORE_JSON_H

#include <stddef.h>
#include <stdint.h>

#define JSMN_STRICT
#define JSMN_PARENT_LINKS
#ifndef JSON_JSMN_IMPLEMENTATION
#define JSMN_HEADER
#endif
#include "jsmn.h"

enum {
    JSON_OK = 0,
    JSON_ERR_SYNTAX = -1,  /* not one well-formed JSON value (or trailing bytes) */
    JSON_ERR_TOKENS = -2,  /* the caller's token array is too small */
    JSON_ERR_PARTIAL = -3, /* the text ends inside a value */
    JSON_ERR_TYPE = -4,    /* the token is not of the type asked for */
    JSON_ERR_RANGE = -5,   /* a number does not fit */
    JSON_ERR_SPACE = -6,   /* the output buffer is too small */
    JSON_ERR_ESCAPE = -7,  /* a bad escape or a lone UTF-16 surrogate */
    JSON_ERR_DEPTH = -8    /* objects/arrays nest deeper than LIM_JSON_DEPTH */
};

/* Tokenizes js[0..len) into tok[0..ntok). Returns the token count (>= 1), or
 * JSON_ERR_SYNTAX / _TOKENS / _PARTIAL / _DEPTH. Only one top-level value is
 * accepted, optionally surrounded by whitespace. Before jsmn runs, one linear pass
 * checks the structure (brackets, commas, colons, strings; not the grammar of
 * numbers and literals) and the nesting depth (at most LIM_JSON_DEPTH): jsmn's
 * closing-bracket search costs up to the length of a parent chain, so deep or
 * structurally broken text would make it quadratic. Valid JSON within the depth
 * limit tokenizes exactly as before; time is linear in len either way. */
int json_parse(const char *js, size_t len, jsmntok_t *tok, unsigned ntok);

/* json_parse, for a caller whose token array holds less than a whole text may need
 * (a WebSocket data page of many entities): when the text needs at most ntok tokens it
 * is tokenized whole (*outlined = 0), exactly as json_parse does. Otherwise its outline
 * is (*outlined = 1): every array that is not inside another array becomes one
 * JSMN_ARRAY token spanning its whole text, with no child tokens (and size 0), and the
 * other tokens are those json_parse would make, in the same order (parent links
 * differ). The elements of such an array are then read with json_next_element and
 * tokenized one at a time with json_parse_element into the same array.
 * The whole text is checked first, as by json_parse, so a text this accepts is one
 * that json_parse accepts given enough tokens, and each element of an outlined array
 * then tokenizes (same grammar, nothing can fail halfway through a list).
 * JSON_ERR_TOKENS when the outline, or any one element of an outlined array, needs
 * more than ntok tokens: it depends on those counts, not on the total. A text too big
 * to tokenize whole costs one jsmn pass that stops after ntok tokens, then the outline. */
int json_parse_bounded(const char *js, size_t len, jsmntok_t *tok, unsigned ntok, int *outlined);

/* Steps through the elements of an array of an outline by text: *pos starts at the
 * array token's start + 1 (just past its '['). Returns 1 with the next element at
 * js[*start..*end) (offsets into js; its first byte tells its type), or 0 after the
 * last. js must be the text json_parse_bounded accepted, unchanged. */
int json_next_element(const char *js, int *pos, int *start, int *end);

/* json_parse for an object, array or string element that json_next_element found
 * (js = its start, len = its length; token offsets count from there): the same tokens
 * and results, without checking the structure again (json_parse_bounded checked the
 * whole text). A primitive element is not tokenized alone (strict jsmn wants a
 * delimiter after one): its text is its value. */
int json_parse_element(const char *js, size_t len, jsmntok_t *tok, unsigned ntok);

/* Index of the first token after the subtree rooted at i (i < n). */
int json_skip(const jsmntok_t *t, int n, int i);

/* Value index of the first member named key (plain ASCII, compared to the raw key
 * text) of object obj, or -1 if obj is not an object or has no such member. */
int json_find(const char *js, const jsmntok_t *t, int n, int obj, const char *key);

/* 1 if token t is a string whose raw text equals s. */
int json_eq(const char *js, const jsmntok_t *t, const char *s);

/* 1 if token t is the literal null. */
int json_is_null(const char *js, const jsmntok_t *t);

/* Strict readers. Return JSON_OK, JSON_ERR_TYPE (wrong token type or bad grammar)
 * or JSON_ERR_RANGE. json_get_i64 accepts JSON integers only ("12", "-3"). */
int json_get_i64(const char *js, const jsmntok_t *t, int64_t *out);
int json_get_bool(const char *js, const jsmntok_t *t, int *out);
int json_get_double(const char *js, const jsmntok_t *t, double *out);

/* Decodes the raw contents of a JSON string (without quotes) into out, which gets
 * a terminating NUL. Returns the decoded length (< cap), JSON_ERR_SPACE or
 * JSON_ERR_ESCAPE. \u escapes become UTF-8; surrogate pairs are joined. */
int json_unescape(const char *s, size_t len, char *out, size_t cap);

/* Same, into out[0..cap) keeping as much as fits on a UTF-8 boundary; *cut is set
 * to 1 when something was left out. Returns the length or JSON_ERR_ESCAPE. */
int json_unescape_cut(const char *s, size_t len, char *out, size_t cap, int *cut);

/* Writes s[0..len) JSON-escaped (no quotes) to out[0..cap). Returns the length
 * written (no NUL added) or JSON_ERR_SPACE. Bytes >= 0x80 pass through unchanged. */
int json_escape(char *out, size_t cap, const char *s, size_t len);

/* Length json_escape would produce. */
size_t json_escaped_len(const char *s, size_t len);

const char *json_strerror(int err);

#endif
