/*
 * mapping.h -- per-key metric mapping: config-file lines `metric.<key>.<attr> = value`
 * turned into a checked, plain-data table that renders look keys up in.
 *
 * A mapped telemetry key leaves the generic families (iotpro_telemetry_value,
 * _timestamp_seconds, _info) and gets a family of its own, iotpro_<name> for assets
 * (iotpro_device_<name> for devices), with its HELP text and TYPE gauge or counter.
 * Attributes (each at most once per key):
 *   name         lower-case snake_case, without the iotpro_ prefix; default: the key
 *                sanitised (expo_sanitize_name); a counter's must end in _total
 *   help         HELP text (default: `Telemetry key "<key>".`)
 *   scale        finite number a numeric value is multiplied by (default 1)
 *   type         gauge (default) or counter
 *   map          STR:number,STR:number,...: string values exported as those numbers
 *                (the number after the last ':'; entries trimmed; no ',' in STR)
 *   map-default  finite number for any other string value; without it such a string
 *                stays in iotpro_telemetry_info
 * Numbers and booleans (1/0) are multiplied by scale (mapping_scale); mapped strings
 * are not. A scale that is exactly 1/d for a whole d (0.1, 0.5, 0.001) divides by d
 * instead: the correctly rounded quotient, so 3 x 0.1 reads 0.3, not
 * 0.30000000000000004 (which multiplying by the double nearest 0.1 gives).
 *
 * Use: mapping_init, mapping_set for every line (syntax and values are checked
 * there), then mapping_finish (defaults, names, clashes; builds the look-up index).
 * Errors come back as one line `metric.<key>.<attr>: reason` with the config-file
 * line it belongs to, for the caller to prefix with the file name.
 *
 * The table is plain data (offsets into its own pool, no pointers), so a struct cfg
 * that holds one can be copied. After mapping_finish it is read-only: any number of
 * threads may call the look-ups on one table at once.
 */
#ifndef IOTPRO_EXPORTER_MAPPING_H
#define IOTPRO_EXPORTER_MAPPING_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "core/limits.h"

enum mapping_type { MAPPING_GAUGE = 0, MAPPING_COUNTER = 1 };

/* Attributes, also the index of each one's line in mapping_key.line. */
enum mapping_attr {
    MAPPING_A_NAME = 0,
    MAPPING_A_HELP,
    MAPPING_A_SCALE,
    MAPPING_A_TYPE,
    MAPPING_A_MAP,
    MAPPING_A_DEFAULT,
    MAPPING_A__COUNT
};

struct mapping_val {
    uint32_t off; /* the string, in the pool */
    uint32_t len;
    double num;
};

struct mapping_key {
    uint32_t key_off, name_off, help_off; /* NUL-terminated strings in the pool */
    uint16_t key_len, name_len;
    uint16_t first_val, nvals; /* entries in mapping.v */
    double scale, dflt;
    double divisor; /* > 0: scale is exactly 1/divisor (0.1, 0.001): divide instead */
    uint8_t type;   /* enum mapping_type */
    uint8_t has_default;
    unsigned line[MAPPING_A__COUNT]; /* config-file line of each attribute, 0 = unset */
    unsigned first_line;             /* first line naming this key */
};

struct mapping {
    uint16_t n, nv;
    uint32_t pool_len;
    struct mapping_key k[LIM_MAP_KEYS];
    struct mapping_val v[LIM_MAP_VALUES];
    uint16_t slot[2 * LIM_MAP_KEYS]; /* key-name hash: entry index + 1, 0 = empty */
    char pool[LIM_MAP_POOL_BYTES];
};

/* An empty table (no key mapped). */
void mapping_init(struct mapping *m);
/* dst = src, copying only the entries and pool bytes in use: the arrays are sized for
 * the largest table (~85 KB), and a whole copy would make all of it resident. */
void mapping_copy(struct mapping *dst, const struct mapping *src);

/* One line: spec is what follows "metric." in the option name ("<key>.<attr>"; the
 * key may contain dots, the attribute is after the last one). 0, or -1 with
 * err = "metric.<spec>: reason" (err: the caller's, cap >= 1). Keys are added in the
 * order first seen. */
int mapping_set(struct mapping *m, const char *spec, const char *value, unsigned line, char *err,
                size_t cap);

/* After the last mapping_set: applies defaults, checks names (syntax, suffixes, our
 * own families, two keys on one name) and builds the index. 0, or -1 with *line and
 * err set as for mapping_set. */
int mapping_finish(struct mapping *m, unsigned *line, char *err, size_t cap);

/* Entry index of key[0..n), or -1 when it is not mapped. */
int mapping_find(const struct mapping *m, const char *key, size_t n);

/* The number a string value of entry i exports: 1 and *out set (a map entry or the
 * map-default), or 0 (the string stays in iotpro_telemetry_info). */
int mapping_string_value(const struct mapping *m, int i, const char *s, size_t n, double *out);

/* A number of entry i after its scale. */
static inline double mapping_scale(const struct mapping *m, int i, double v)
{
    const struct mapping_key *k = &m->k[i];
    return k->divisor > 0 ? v / k->divisor : v * k->scale;
}

static inline const char *mapping_str(const struct mapping *m, uint32_t off)
{
    return m->pool + off;
}

/* 1 if iotpro_<name> (name given without the prefix) is, or in OpenMetrics shares
 * its family name with, a family the exporter emits itself (or reserves: telemetry_,
 * asset_, device_, attribute_, exporter_). For tests that keep the list complete. */
int mapping_name_reserved(const char *name, size_t n);

/* Writes the table as config-file lines (for --config.check). */
void mapping_print(const struct mapping *m, FILE *out);

#endif
