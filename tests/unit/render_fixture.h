/* render_fixture.h -- shared by test_render.c and test_mapping.c: the loop's shared
 * state a render reads, and two asset ids with their text form. */
#ifndef IOTPRO_TESTS_RENDER_FIXTURE_H
#define IOTPRO_TESTS_RENDER_FIXTURE_H

#include "exporter/render.h"

static struct cfg g_cfg;
static struct loop_shared g_sh;
static struct health g_h;

static const uint8_t ID1[16] = { 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x11, 0xee,
                                 0x80, 0x00, 0,    0,    0,    0,    0,    1 };
static const uint8_t ID2[16] = { 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x11, 0xee,
                                 0x80, 0x00, 0,    0,    0,    0,    0,    2 };
#define U1 "11223344-5566-11ee-8000-000000000001"
#define U2 "11223344-5566-11ee-8000-000000000002"

#endif
