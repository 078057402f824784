/* fuzz_tb_shape.c -- differential target: messages read by a remembered layout
 * (core/tb_shape.c) against the grammar scan (tb_fast_update), the fast path's own
 * reference. Aborts when the two disagree on acceptance or on any field.
 *
 * The input holds two messages, A and B, split at the first NUL byte (a byte neither
 * path accepts inside a message); without one, B is A with every digit moved on by
 * one, which keeps A's layout and changes its ids, timestamps and numbers. A is read
 * first (and remembered when accepted), then B, then A again, then B without its last
 * byte, B with one more (the first input byte shifted right) and B with one byte
 * replaced (input bytes 1 and 2 say where and by what; A starts at byte 3). When the
 * first byte is odd, A and B are spliced into a hot-shape update as its "latest" object, so the
 * layouts the fuzzer builds are accepted ones. */
#include "core/tb_shape.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NTOK 256u
#define MUST(c)      \
    do {             \
        if (!(c))    \
            abort(); \
    } while (0)

static void both(tb_shapes *sh, const char *msg, size_t len)
{
    static tb_fast_msg a, b;
    int ra = tb_shape_update(sh, msg, len, NTOK, &a);
    int rb = tb_fast_update(msg, len, NTOK, &b);
    MUST(ra == rb);
    if (!ra)
        return;
    MUST(a.cmd_id == b.cmd_id && a.ntok == b.ntok && a.n_values == b.n_values);
    MUST(a.error_msg == b.error_msg && a.error_msg_len == b.error_msg_len);
    MUST(memcmp(a.entity, b.entity, 16) == 0 && a.id_tok == b.id_tok);
    for (unsigned i = 0; i < a.n_values; i++) {
        const tb_ws_value *x = &a.values[i], *y = &b.values[i];
        MUST(x->entity == a.entity && x->type == y->type);
        MUST(x->key == y->key && x->key_len == y->key_len && x->key_escaped == y->key_escaped);
        MUST(x->ts == y->ts && a.ts_tok[i] == b.ts_tok[i]);
        MUST(x->value == y->value && x->value_len == y->value_len);
        MUST(x->value_escaped == y->value_escaped);
    }
}

static const char PRE[] =
    "{\"cmdId\":1,\"errorCode\":0,\"errorMsg\":null,\"data\":null,\"update\":[{"
    "\"entityId\":{\"entityType\":\"ASSET\",\"id\":"
    "\"784f394c-42b6-435a-983c-b7beff2784f9\"},\"readAttrs\":true,\"readTs\":true,\"latest\":";
static const char POST[] = ",\"timeseries\":null,\"aggLatest\":null}],\"allowedEntities\":10000,"
                           "\"cmdUpdateType\":\"ENTITY_DATA\"}";

/* dst = (splice ? PRE src POST : src); returns its length. */
static size_t make(char *dst, const char *src, size_t n, int splice)
{
    size_t o = 0;
    if (splice) {
        memcpy(dst, PRE, sizeof PRE - 1);
        o = sizeof PRE - 1;
    }
    memcpy(dst + o, src, n);
    o += n;
    if (splice) {
        memcpy(dst + o, POST, sizeof POST - 1);
        o += sizeof POST - 1;
    }
    return o;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static tb_shapes sh;
    static char a[8192], b[8192], rot[4096];
    if (size < 3 || size > 4096)
        return 0;
    int splice = data[0] & 1;
    const char *in = (const char *)data + 3;
    size_t n = size - 3;
    const char *nul = memchr(in, 0, n);
    size_t an = nul ? (size_t)(nul - in) : n;
    const char *bsrc = nul ? nul + 1 : rot;
    size_t bn = nul ? n - an - 1 : n;
    if (!nul)
        for (size_t i = 0; i < n; i++)
            rot[i] = in[i] >= '0' && in[i] <= '9' ? (char)('0' + (in[i] - '0' + 1) % 10) : in[i];
    size_t al = make(a, in, an, splice), bl = make(b, bsrc, bn, splice);
    tb_shapes_reset(&sh);
    both(&sh, a, al);
    both(&sh, b, bl);
    both(&sh, a, al);
    both(&sh, b, bl - (bl > 0)); /* B one byte short, and one byte long */
    b[bl] = (char)(data[0] >> 1);
    both(&sh, b, bl + 1);
    if (bl > 0) { /* B with one byte replaced: bytes 1-2 say where and by what */
        b[((size_t)data[1] * 256u + data[2]) % bl] = (char)data[2];
        both(&sh, b, bl);
    }
    return 0;
}
