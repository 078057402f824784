/*
 * json.c -- the one place jsmn's implementation is compiled, plus the small readers
 * every ThingsBoard parser shares. Walking is done by offsets rather than by jsmn's
 * size fields, so malformed-but-accepted input (jsmn is lenient in places) can only
 * make a lookup fail, never read outside the token array.
 */
#define JSON_JSMN_IMPLEMENTATION
#include "core/json.h"
#include "core/limits.h"
#include "core/num.h"

#include <string.h>

_Static_assert(LIM_JSON_DEPTH >= 1 && LIM_JSON_DEPTH <= 64,
               "json_structure keeps one bit per nesting level in a uint64_t");

static int json_ws(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

static int json_is_hex(char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

/* Where strict jsmn ends an unquoted run (a ':' does not end it). */
static int json_run_end(char c)
{
    return json_ws(c) || c == ',' || c == ']' || c == '}';
}

/* Bytes that end the plain run inside a string. */
static const uint8_t json_str_stop[256] = { [0] = 1, ['"'] = 1, ['\\'] = 1 };

/* A string starting at js[*pos] == '"', delimited exactly as jsmn delimits it (same
 * escape checks, stops at a NUL). On success *pos is past the closing quote. */
static int json_scan_string(const char *js, size_t len, size_t *pos)
{
    size_t i = *pos + 1;
    for (;;) {
        while (i < len && !json_str_stop[(unsigned char)js[i]])
            i++;
        if (i >= len || !js[i])
            return JSON_ERR_PARTIAL;
        if (js[i] == '"') {
            *pos = i + 1;
            return 0;
        }
        if (i + 1 >= len)
            return JSON_ERR_PARTIAL; /* a final backslash: jsmn reads on and runs out */
        switch (js[++i]) {
        case '"':
        case '/':
        case '\\':
        case 'b':
        case 'f':
        case 'r':
        case 'n':
        case 't': i++; break;
        case 'u':
            i++;
            for (int k = 0; k < 4 && i < len && js[i]; k++, i++)
                if (!json_is_hex(js[i]))
                    return JSON_ERR_SYNTAX;
            break;
        default: return JSON_ERR_SYNTAX;
        }
    }
}

/* What json_structure expects next. */
enum { JS_VALUE, JS_VALUE_OR_CLOSE, JS_KEY, JS_KEY_OR_CLOSE, JS_COLON, JS_NEXT, JS_DONE };

/* The pass before jsmn (see json.h). jsmn closes a bracket by walking parent links up
 * from the newest token; on 100,000 nested arrays that is ~5e9 steps (~20 s), and
 * misplaced ':' or ']' can build long parent chains at any depth. This pass lexes as
 * jsmn does (stops at a NUL; strings as json_scan_string; an unquoted run ends where
 * json_run_end says), so up to jsmn's first error both see the same tokens; it then
 * requires them to form one JSON value nested at most LIM_JSON_DEPTH deep, which
 * bounds every parent chain jsmn builds to 2 * LIM_JSON_DEPTH + 1 links. It accepts
 * all such valid JSON. Returns 0 (jsmn decides the rest) or JSON_ERR_SYNTAX /
 * _PARTIAL / _DEPTH, matching what json_parse reported before wherever it can. */
static int json_structure(const char *js, size_t len)
{
    uint64_t is_obj = 0; /* bit d: level d + 1 is an object */
    unsigned depth = 0;
    int st = JS_VALUE;
    size_t i = 0;
    while (i < len && js[i]) {
        char c = js[i];
        if (json_ws(c)) {
            i++;
            continue;
        }
        int value_ok = st == JS_VALUE || st == JS_VALUE_OR_CLOSE;
        switch (c) {
        case '{':
        case '[':
            if (!value_ok)
                return JSON_ERR_SYNTAX;
            if (depth >= LIM_JSON_DEPTH)
                return JSON_ERR_DEPTH;
            if (c == '{')
                is_obj |= (uint64_t)1 << depth;
            else
                is_obj &= ~((uint64_t)1 << depth);
            depth++;
            st = c == '{' ? JS_KEY_OR_CLOSE : JS_VALUE_OR_CLOSE;
            i++;
            continue;
        case '}':
        case ']': {
            unsigned obj = c == '}';
            if (depth == 0 || ((is_obj >> (depth - 1)) & 1u) != obj)
                return JSON_ERR_SYNTAX;
            if (st != JS_NEXT && st != (obj ? JS_KEY_OR_CLOSE : JS_VALUE_OR_CLOSE))
                return JSON_ERR_SYNTAX;
            depth--;
            st = depth ? JS_NEXT : JS_DONE;
            i++;
            continue;
        }
        case ',':
            if (st != JS_NEXT)
                return JSON_ERR_SYNTAX;
            st = (is_obj >> (depth - 1)) & 1u ? JS_KEY : JS_VALUE;
            i++;
            continue;
        case ':':
            if (st != JS_COLON)
                return JSON_ERR_SYNTAX;
            st = JS_VALUE;
            i++;
            continue;
        case '"': {
            int r = json_scan_string(js, len, &i);
            if (r < 0)
                return r;
            if (st == JS_KEY || st == JS_KEY_OR_CLOSE)
                st = JS_COLON;
            else if (value_ok)
                st = depth ? JS_NEXT : JS_DONE;
            else
                return JSON_ERR_SYNTAX;
            continue;
        }
        default:
            /* strict jsmn's primitive: these first bytes, then printable ASCII */
            if (!value_ok || !memchr("-0123456789tfn", c, 14))
                return JSON_ERR_SYNTAX;
            for (i++; i < len && js[i] && !json_run_end(js[i]); i++)
                if ((unsigned char)js[i] < 0x20 || (unsigned char)js[i] >= 0x7f)
                    return JSON_ERR_SYNTAX;
            if (i >= len || !js[i])
                return JSON_ERR_PARTIAL; /* strict jsmn wants a delimiter after one */
            st = depth ? JS_NEXT : JS_DONE;
            continue;
        }
    }
    if (st == JS_DONE)
        return i < len ? JSON_ERR_SYNTAX : 0; /* a NUL after the value is not whitespace */
    return st == JS_VALUE && depth == 0 ? JSON_ERR_SYNTAX : JSON_ERR_PARTIAL;
}

/* What json_parse checks after jsmn returned r: jsmn stops at a NUL and happily reads
 * several top-level values. */
static int json_finish(const char *js, size_t len, const jsmntok_t *tok, int r)
{
    if (r == JSMN_ERROR_NOMEM)
        return JSON_ERR_TOKENS;
    if (r == JSMN_ERROR_PART)
        return JSON_ERR_PARTIAL;
    if (r < 1)
        return JSON_ERR_SYNTAX;
    for (int i = 1; i < r; i++)
        if (tok[i].start >= tok[0].end)
            return JSON_ERR_SYNTAX;
    size_t end = (size_t)tok[0].end + (tok[0].type == JSMN_STRING ? 1u : 0u);
    for (size_t k = end; k < len; k++)
        if (!json_ws(js[k]))
            return JSON_ERR_SYNTAX;
    for (int k = 0; k < tok[0].start - (tok[0].type == JSMN_STRING ? 1 : 0); k++)
        if (!json_ws(js[k]))
            return JSON_ERR_SYNTAX;
    return r;
}

int json_parse(const char *js, size_t len, jsmntok_t *tok, unsigned ntok)
{
    jsmn_parser p;
    if (len > (size_t)INT32_MAX)
        return JSON_ERR_TOKENS;
    int st = json_structure(js, len);
    if (st < 0)
        return st;
    jsmn_init(&p);
    return json_finish(js, len, tok, jsmn_parse(&p, js, len, tok, ntok));
}

/* The token after the one starting at js[i] of a text json_structure accepted: past a
 * string's closing quote, to the end of an unquoted run, or past a bracket. Lexes as
 * jsmn does: a run ends only where json_run_end says, so a '[' or '"' inside one (which
 * strict jsmn lets through) is not mistaken for a token of its own. */
static size_t json_lex_next(const char *js, size_t i)
{
    char ch = js[i];
    if (ch == '"') {
        for (i++;;) {
            while (!json_str_stop[(unsigned char)js[i]])
                i++;
            if (js[i] == '"')
                return i + 1;
            i += 2; /* a backslash and the byte it escapes, never the closing quote */
        }
    }
    if ((ch >= '0' && ch <= '9') || ch == '-' || ch == 't' || ch == 'f' || ch == 'n') {
        while (!json_run_end(js[i]))
            i++;
        return i;
    }
    return i + 1;
}

/* Where the value starting at js[i] ends (one past it), in an accepted text. */
static size_t json_value_end(const char *js, size_t i)
{
    unsigned depth = 0;
    do {
        char ch = js[i];
        if (ch == '{' || ch == '[')
            depth++;
        else if (ch == '}' || ch == ']')
            depth--;
        i = json_lex_next(js, i);
    } while (depth);
    return i;
}

/* Skips the array at js[i] == '[' of an accepted text: returns one past its ']', and
 * raises *element to the tokens of its largest element (one per string, unquoted run,
 * '{' and '[', as jsmn allocates them). */
static size_t json_skip_array(const char *js, size_t i, unsigned *element)
{
    unsigned depth = 0, elem = 0;
    do {
        char ch = js[i];
        if (ch == '{' || ch == '[') {
            elem += depth++ > 0;
        } else if (ch == '}' || ch == ']' || ch == ',') {
            depth -= ch != ',';
            if (depth <= 1 && ch != '}') { /* an element ends: at a ',', or at the ']' of an
                                              * element that is an array, or of the array */
                if (elem > *element)
                    *element = elem;
                elem = 0;
            }
        } else if (!json_ws(ch) && ch != ':') {
            elem++;
        }
        i = json_lex_next(js, i);
    } while (depth);
    return i;
}

/* The outline (json.h): jsmn runs up to and including the '[' of each outermost array,
 * which leaves that array's token open as the newest one; the parser then resumes at
 * the matching ']' (jsmn_parse continues from parser.pos, the way it takes a text in
 * pieces), which closes it with no children. Brackets inside arrays are skipped with
 * the array, so every '[' met between two arrays is an outermost one. */
static int json_outline(const char *js, size_t len, jsmntok_t *tok, unsigned ntok)
{
    jsmn_parser p;
    size_t i = 0;
    unsigned element = 0;
    jsmn_init(&p);
    for (;;) {
        while (i < len && js[i] && js[i] != '[')
            i = json_ws(js[i]) ? i + 1 : json_lex_next(js, i);
        if (i >= len || !js[i])
            break;
        int r = jsmn_parse(&p, js, i + 1, tok, ntok);
        if (r != JSMN_ERROR_PART) /* an open array must be what stopped it */
            return r == JSMN_ERROR_NOMEM ? JSON_ERR_TOKENS : JSON_ERR_SYNTAX;
        i = json_skip_array(js, i, &element);
        if (element > ntok)
            return JSON_ERR_TOKENS;
        p.pos = (unsigned)(i - 1);
    }
    return json_finish(js, len, tok, jsmn_parse(&p, js, len, tok, ntok));
}

int json_parse_bounded(const char *js, size_t len, jsmntok_t *tok, unsigned ntok, int *outlined)
{
    int r = json_parse(js, len, tok, ntok);
    *outlined = 0;
    if (r != JSON_ERR_TOKENS || len > (size_t)INT32_MAX)
        return r;
    /* Too big to tokenize whole (jsmn stopped after ntok tokens): outline it. */
    r = json_outline(js, len, tok, ntok);
    *outlined = r > 0;
    return r;
}

int json_parse_element(const char *js, size_t len, jsmntok_t *tok, unsigned ntok)
{
    jsmn_parser p;
    jsmn_init(&p); /* json_structure checked this text with the whole one */
    return json_finish(js, len, tok, jsmn_parse(&p, js, len, tok, ntok));
}

int json_next_element(const char *js, int *pos, int *start, int *end)
{
    size_t i = (size_t)*pos;
    while (json_ws(js[i]) || js[i] == ',')
        i++;
    if (js[i] == ']') {
        *pos = (int)i;
        return 0;
    }
    *start = (int)i;
    i = json_value_end(js, i);
    *end = *pos = (int)i;
    return 1;
}

int json_skip(const jsmntok_t *t, int n, int i)
{
    int end = t[i].end;
    int j = i + 1;
    while (j < n && t[j].start < end)
        j++;
    return j;
}

int json_eq(const char *js, const jsmntok_t *t, const char *s)
{
    size_t n = strlen(s);
    return t->type == JSMN_STRING && (size_t)(t->end - t->start) == n &&
           memcmp(js + t->start, s, n) == 0;
}

int json_find(const char *js, const jsmntok_t *t, int n, int obj, const char *key)
{
    if (obj < 0 || obj >= n || t[obj].type != JSMN_OBJECT)
        return -1;
    int end = t[obj].end;
    int i = obj + 1;
    while (i + 1 < n && t[i].start < end && t[i + 1].start < end) {
        if (json_eq(js, &t[i], key))
            return i + 1;
        i = json_skip(t, n, i + 1);
    }
    return -1;
}

int json_is_null(const char *js, const jsmntok_t *t)
{
    return t->type == JSMN_PRIMITIVE && t->end - t->start == 4 &&
           memcmp(js + t->start, "null", 4) == 0;
}

int json_get_bool(const char *js, const jsmntok_t *t, int *out)
{
    if (t->type != JSMN_PRIMITIVE)
        return JSON_ERR_TYPE;
    int n = t->end - t->start;
    if (n == 4 && memcmp(js + t->start, "true", 4) == 0)
        *out = 1;
    else if (n == 5 && memcmp(js + t->start, "false", 5) == 0)
        *out = 0;
    else
        return JSON_ERR_TYPE;
    return JSON_OK;
}

int json_get_i64(const char *js, const jsmntok_t *t, int64_t *out)
{
    if (t->type != JSMN_PRIMITIVE)
        return JSON_ERR_TYPE;
    const char *s = js + t->start;
    int n = t->end - t->start, i = 0;
    int neg = n > 0 && s[0] == '-';
    i = neg;
    if (i >= n || (s[i] == '0' && n - i > 1))
        return JSON_ERR_TYPE;
    uint64_t v = 0, lim = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
    for (; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return JSON_ERR_TYPE;
        unsigned d = (unsigned)(s[i] - '0');
        if (v > (lim - d) / 10)
            return JSON_ERR_RANGE;
        v = v * 10 + d;
    }
    *out = neg ? (int64_t)(0 - v) : (int64_t)v;
    return JSON_OK;
}

/* JSON's number grammar, stricter than num_parse (no "+1", ".5", "NaN"). */
static int json_number_ok(const char *s, int n)
{
    int i = 0;
    if (i < n && s[i] == '-')
        i++;
    if (i >= n)
        return 0;
    if (s[i] == '0')
        i++;
    else if (s[i] >= '1' && s[i] <= '9')
        while (i < n && s[i] >= '0' && s[i] <= '9')
            i++;
    else
        return 0;
    if (i < n && s[i] == '.') {
        int d = ++i;
        while (i < n && s[i] >= '0' && s[i] <= '9')
            i++;
        if (i == d)
            return 0;
    }
    if (i < n && (s[i] == 'e' || s[i] == 'E')) {
        i++;
        if (i < n && (s[i] == '+' || s[i] == '-'))
            i++;
        int d = i;
        while (i < n && s[i] >= '0' && s[i] <= '9')
            i++;
        if (i == d)
            return 0;
    }
    return i == n;
}

int json_get_double(const char *js, const jsmntok_t *t, double *out)
{
    if (t->type != JSMN_PRIMITIVE || !json_number_ok(js + t->start, t->end - t->start))
        return JSON_ERR_TYPE;
    return num_parse(js + t->start, (size_t)(t->end - t->start), out) == 0 ? JSON_OK
                                                                           : JSON_ERR_RANGE;
}

static int json_hex4(const char *s, unsigned *out)
{
    unsigned v = 0;
    for (int i = 0; i < 4; i++) {
        char c = s[i];
        v <<= 4;
        if (c >= '0' && c <= '9')
            v |= (unsigned)(c - '0');
        else if (c >= 'a' && c <= 'f')
            v |= (unsigned)(c - 'a' + 10);
        else if (c >= 'A' && c <= 'F')
            v |= (unsigned)(c - 'A' + 10);
        else
            return -1;
    }
    *out = v;
    return 0;
}

/* Decodes one escape at s[i] == '\\' into buf; returns bytes consumed or < 0. */
static int json_one_escape(const char *s, size_t len, size_t i, char *buf, int *blen)
{
    if (i + 1 >= len)
        return JSON_ERR_ESCAPE;
    char c = s[i + 1];
    const char *map = "\"\"\\\\//b\bf\fn\nr\rt\t";
    for (const char *m = map; *m; m += 2)
        if (*m == c) {
            buf[0] = m[1];
            *blen = 1;
            return 2;
        }
    if (c != 'u' || i + 6 > len)
        return JSON_ERR_ESCAPE;
    unsigned cp, lo;
    if (json_hex4(s + i + 2, &cp) < 0 || cp == 0)
        return JSON_ERR_ESCAPE;
    int used = 6;
    if (cp >= 0xDC00 && cp <= 0xDFFF)
        return JSON_ERR_ESCAPE;
    if (cp >= 0xD800 && cp <= 0xDBFF) {
        if (i + 12 > len || s[i + 6] != '\\' || s[i + 7] != 'u' || json_hex4(s + i + 8, &lo) < 0 ||
            lo < 0xDC00 || lo > 0xDFFF)
            return JSON_ERR_ESCAPE;
        cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
        used = 12;
    }
    if (cp < 0x80) {
        buf[0] = (char)cp;
        *blen = 1;
    } else if (cp < 0x800) {
        buf[0] = (char)(0xC0 | (cp >> 6));
        buf[1] = (char)(0x80 | (cp & 0x3F));
        *blen = 2;
    } else if (cp < 0x10000) {
        buf[0] = (char)(0xE0 | (cp >> 12));
        buf[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        buf[2] = (char)(0x80 | (cp & 0x3F));
        *blen = 3;
    } else {
        buf[0] = (char)(0xF0 | (cp >> 18));
        buf[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
        buf[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
        buf[3] = (char)(0x80 | (cp & 0x3F));
        *blen = 4;
    }
    return used;
}

static int json_unescape_impl(const char *s, size_t len, char *out, size_t cap, int *cut)
{
    size_t o = 0, i = 0;
    if (cap == 0)
        return JSON_ERR_SPACE;
    while (i < len) {
        char tmp[4];
        const char *src = s + i;
        int blen = 1, used = 1;
        if (s[i] == '\\') {
            used = json_one_escape(s, len, i, tmp, &blen);
            if (used < 0)
                return used;
            src = tmp;
        } else if ((unsigned char)s[i] >= 0xC0) {
            /* keep a multi-byte UTF-8 sequence whole when cutting */
            unsigned char c = (unsigned char)s[i];
            blen = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : 2;
            if (i + (size_t)blen > len)
                blen = (int)(len - i);
            used = blen;
        }
        if (o + (size_t)blen >= cap) {
            if (!cut)
                return JSON_ERR_SPACE;
            *cut = 1;
            /* validate the rest so a cut string is never accepted when malformed */
            for (i += (size_t)used; i < len;) {
                if (s[i] == '\\') {
                    int r = json_one_escape(s, len, i, tmp, &blen);
                    if (r < 0)
                        return r;
                    i += (size_t)r;
                } else {
                    i++;
                }
            }
            break;
        }
        memcpy(out + o, src, (size_t)blen);
        o += (size_t)blen;
        i += (size_t)used;
    }
    out[o] = 0;
    return (int)o;
}

int json_unescape(const char *s, size_t len, char *out, size_t cap)
{
    return json_unescape_impl(s, len, out, cap, NULL);
}

int json_unescape_cut(const char *s, size_t len, char *out, size_t cap, int *cut)
{
    *cut = 0;
    return json_unescape_impl(s, len, out, cap, cut);
}

size_t json_escaped_len(const char *s, size_t len)
{
    size_t n = 0;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '"' || c == '\\' || c == '\n' || c == '\r' || c == '\t' || c == '\b' || c == '\f')
            n += 2;
        else if (c < 0x20)
            n += 6;
        else
            n += 1;
    }
    return n;
}

int json_escape(char *out, size_t cap, const char *s, size_t len)
{
    static const char hex[] = "0123456789abcdef";
    size_t o = 0;
    if (json_escaped_len(s, len) > cap || cap > (size_t)INT32_MAX)
        return JSON_ERR_SPACE;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        char e = 0;
        switch (c) {
        case '"': e = '"'; break;
        case '\\': e = '\\'; break;
        case '\n': e = 'n'; break;
        case '\r': e = 'r'; break;
        case '\t': e = 't'; break;
        case '\b': e = 'b'; break;
        case '\f': e = 'f'; break;
        default: break;
        }
        if (e) {
            out[o++] = '\\';
            out[o++] = e;
        } else if (c < 0x20) {
            memcpy(out + o, "\\u00", 4);
            out[o + 4] = hex[c >> 4];
            out[o + 5] = hex[c & 15];
            o += 6;
        } else {
            out[o++] = (char)c;
        }
    }
    return (int)o;
}

const char *json_strerror(int err)
{
    switch (err) {
    case JSON_OK: return "ok";
    case JSON_ERR_SYNTAX: return "malformed JSON";
    case JSON_ERR_TOKENS: return "JSON has more tokens than the token buffer holds";
    case JSON_ERR_PARTIAL: return "JSON text is truncated";
    case JSON_ERR_TYPE: return "JSON value has the wrong type";
    case JSON_ERR_RANGE: return "JSON number out of range";
    case JSON_ERR_SPACE: return "output buffer too small";
    case JSON_ERR_ESCAPE: return "bad JSON string escape";
    case JSON_ERR_DEPTH: return "JSON nests objects/arrays too deeply";
    default: return "unknown JSON error";
    }
}
