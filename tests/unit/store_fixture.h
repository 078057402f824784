/* store_fixture.h -- shared by test_store.c and test_store_grow.c: compiles store.c and
 * store_read.c into the test program (white-box: first, so their parameter names
 * cannot shadow the fixture's globals), with hashes that start at 16 slots instead of
 * 1024 so that small tables grow too; one store in a fresh aligned block per setup().
 * Include it once, before anything else. */
#ifndef IOTPRO_TESTS_STORE_FIXTURE_H
#define IOTPRO_TESTS_STORE_FIXTURE_H

#define STORE_HASH_MIN 16u
#include "core/store.c"
#include "core/store_read.c"
#include "tests/harness.h"

#include <stdlib.h>

static void *mem;
static store st;

static void setup(uint32_t series, uint32_t ents, uint32_t strs)
{
    store_config c = { series, ents, strs };
    size_t need = store_mem_needed(&c);
    free(mem);
    mem = aligned_alloc(8, (need + 7) & ~(size_t)7);
    CHECK_INT(store_init(&st, mem, need, &c), 0);
}

/* Asset UUID number i (bytes 4..7), the rest zero. */
static void id_of(uint32_t i, uint8_t id[16])
{
    memset(id, 0, 16);
    memcpy(id + 4, &i, 4);
}

#define S(x) x, strlen(x)

#endif
