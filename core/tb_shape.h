/*
 * tb_shape.h -- the fast path (core/tb_fast.h) with a memory of message layouts.
 *
 * ThingsBoard writes every update of one subscription with the same bytes around the
 * values: the envelope, the member names, the keys, the punctuation. Only the entity
 * id, the timestamps and the value strings change. A shape is one accepted message
 * with those tokens cut out (holes). A message that has the shape's bytes everywhere
 * else, and a token of the same kind in each hole, is read by comparing the bytes
 * and reading the holes, instead of scanning the grammar (GPS updates: ~165 -> ~65
 * ns). Why the result is the one tb_fast_update() gives: see tb_shape.c.
 *
 * Ownership: the shapes are the caller's (one tb_shapes per feed, tb_shapes_reset()
 * before the first use; a shape copies the bytes it needs and keeps no pointer into
 * a message).
 * *out is as tb_fast_update() fills it, views into msg.
 *
 * Threads: none; one tb_shapes is used by one thread at a time.
 */
#ifndef IOTPRO_CORE_TB_SHAPE_H
#define IOTPRO_CORE_TB_SHAPE_H

#include <stdint.h>

#include "core/tb_fast.h"

/* Layouts remembered at once (a feed sees one per set of keys an update carries). */
#define TB_SHAPES 8u
/* Bytes of a layout without its holes; a longer message is not remembered. */
#define TB_SHAPE_TEXT 1024u
/* One entity id, then a ts and a value per value. */
#define TB_SHAPE_HOLES (1u + 2u * TB_FAST_MAX_VALUES)

typedef struct tb_shape_hole {
    uint16_t at;   /* offset in text where the hole's token goes */
    uint8_t kind;  /* TB_SHAPE_ID, TB_SHAPE_TS, TB_SHAPE_STR (tb_shape.c) */
    uint8_t value; /* index in tb_fast_msg.values (TS and STR) */
} tb_shape_hole;

typedef struct tb_shape_key {
    uint16_t at, len; /* the key's raw view, as an offset in text */
    uint8_t holes;    /* holes before it */
    uint8_t type;     /* tb_key_type */
    uint8_t escaped;  /* key_escaped */
} tb_shape_key;

typedef struct tb_shape {
    uint16_t len; /* bytes in text; 0: an empty slot */
    uint8_t nholes, n_values;
    int32_t cmd_id;
    unsigned ntok;
    /* A quick test before the match: 8 literal bytes ending with the first key, which
     * a message of this layout has at probe_at (only fixed-size ids come before
     * them). probe_at 0: no such test. */
    uint32_t probe_at;
    uint64_t probe;
    tb_shape_hole hole[TB_SHAPE_HOLES];
    tb_shape_key key[TB_FAST_MAX_VALUES];
    char text[TB_SHAPE_TEXT];
} tb_shape;

typedef struct tb_shapes {
    tb_shape s[TB_SHAPES];
    uint8_t order[TB_SHAPES]; /* most recently used first */
    int32_t score;            /* recent hits against misses (tb_shape.c) */
    uint32_t idle;            /* messages while the score was not above zero */
    uint64_t hits;            /* messages read by a shape */
} tb_shapes;

/* Empties every slot. */
void tb_shapes_reset(tb_shapes *sh);

/* Same contract as tb_fast_update() (1 handled, *out filled; 0 not handled), trying
 * the remembered shapes first. A message the grammar scan accepts (with errorMsg
 * null) becomes a shape, replacing the least recently used one. When fewer than
 * about one try in three hits (a feed whose updates carry ever different key sets), it
 * tries and records shapes only about twice in 64 messages (the one recorded is tried
 * on the next), so such a feed pays almost nothing for them. */
int tb_shape_update(tb_shapes *sh, const char *msg, size_t len, unsigned max_tok, tb_fast_msg *out);

#endif
