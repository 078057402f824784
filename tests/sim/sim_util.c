/*
 * sim_util.c -- small helpers of iotpro-sim: growable buffers, clocks, logging and the
 * seeded hash every generated name, id and value derives from (so a million assets
 * cost no memory until something about them changes).
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "tests/sim/sim.h"

void sim_buf_reserve(sim_buf *b, size_t extra)
{
    if (b->len + extra <= b->cap)
        return;
    if (b->skip) { /* reclaim the consumed prefix first */
        memmove(b->p - b->skip, b->p, b->len);
        b->p -= b->skip;
        b->cap += b->skip;
        b->skip = 0;
        if (b->len + extra <= b->cap)
            return;
    }
    size_t cap = b->cap ? b->cap : 256;
    while (cap < b->len + extra)
        cap *= 2;
    char *p = realloc(b->p, cap);
    if (!p) {
        fprintf(stderr, "iotpro-sim: out of memory\n");
        exit(2);
    }
    b->p = p;
    b->cap = cap;
}

void sim_buf_put(sim_buf *b, const void *p, size_t n)
{
    if (n == 0)
        return;
    sim_buf_reserve(b, n);
    memcpy(b->p + b->len, p, n);
    b->len += n;
}

void sim_buf_puts(sim_buf *b, const char *s)
{
    sim_buf_put(b, s, strlen(s));
}

void sim_buf_printf(sim_buf *b, const char *fmt, ...)
{
    va_list ap;
    /* One formatting pass when the text fits the room left (almost always: the room is
     * topped up to 256 bytes first); a second, sized pass only for longer texts. */
    sim_buf_reserve(b, 256);
    size_t room = b->cap - b->len;
    va_start(ap, fmt);
    int n = vsnprintf(b->p + b->len, room, fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    if ((size_t)n >= room) {
        sim_buf_reserve(b, (size_t)n + 1);
        va_start(ap, fmt);
        vsnprintf(b->p + b->len, (size_t)n + 1, fmt, ap);
        va_end(ap);
    }
    b->len += (size_t)n;
}

void sim_buf_hex(sim_buf *b, uint64_t v, int digits)
{
    static const char xd[] = "0123456789abcdef";
    sim_buf_reserve(b, (size_t)digits);
    for (int i = digits - 1; i >= 0; i--, v >>= 4)
        b->p[b->len + (size_t)i] = xd[v & 15];
    b->len += (size_t)digits;
}

void sim_buf_i64(sim_buf *b, int64_t v)
{
    char tmp[24];
    int n = 0;
    uint64_t u = v < 0 ? 0 - (uint64_t)v : (uint64_t)v;
    do {
        tmp[n++] = (char)('0' + u % 10);
        u /= 10;
    } while (u);
    sim_buf_reserve(b, (size_t)n + 1);
    if (v < 0)
        b->p[b->len++] = '-';
    while (n)
        b->p[b->len++] = tmp[--n];
}

/* JSON string escaping the way Jackson writes it: the two mandatory escapes, short
 * forms for \n \r \t \b \f, \u00XX for other controls, UTF-8 passed through. */
void sim_buf_json_str(sim_buf *b, const char *s, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    sim_buf_reserve(b, n * 6 + 2);
    char *o = b->p + b->len;
    *o++ = '"';
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)s[i];
        switch (ch) {
        case '"':
            *o++ = '\\';
            *o++ = '"';
            break;
        case '\\':
            *o++ = '\\';
            *o++ = '\\';
            break;
        case '\n':
            *o++ = '\\';
            *o++ = 'n';
            break;
        case '\r':
            *o++ = '\\';
            *o++ = 'r';
            break;
        case '\t':
            *o++ = '\\';
            *o++ = 't';
            break;
        case '\b':
            *o++ = '\\';
            *o++ = 'b';
            break;
        case '\f':
            *o++ = '\\';
            *o++ = 'f';
            break;
        default:
            if (ch < 0x20) {
                memcpy(o, "\\u00", 4);
                o[4] = hex[ch >> 4];
                o[5] = hex[ch & 15];
                o += 6;
            } else {
                *o++ = (char)ch;
            }
        }
    }
    *o++ = '"';
    b->len = (size_t)(o - b->p);
}

void sim_buf_consume(sim_buf *b, size_t n)
{
    if (n >= b->len) {
        b->p -= b->skip;
        b->cap += b->skip;
        b->skip = 0;
        b->len = 0;
        return;
    }
    b->p += n;
    b->cap -= n;
    b->skip += n;
    b->len -= n;
}

void sim_buf_free(sim_buf *b)
{
    free(b->p ? b->p - b->skip : NULL);
    b->p = NULL;
    b->len = b->cap = b->skip = 0;
}

int64_t sim_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t sim_mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void sim_log(const char *fmt, ...)
{
    char line[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    fprintf(stderr, "iotpro-sim: %s\n", line);
}

/* splitmix64 finaliser over a combined input: cheap, well mixed, deterministic. */
uint64_t sim_hash(uint64_t a, uint64_t b)
{
    uint64_t z = a * 0x9e3779b97f4a7c15ull ^ (b + 0x632be59bd9b4e019ull + (a << 6) + (a >> 2));
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}
