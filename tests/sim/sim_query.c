/*
 * sim_query.c -- selecting assets or devices for a page: by type, by name substring, by
 * explicit list, in index order (which is also createdTime and id order, see
 * sim_model.c). Shared by the REST listings and the WebSocket entity data query.
 */
#include <stdlib.h>
#include <string.h>

#include "tests/sim/sim.h"

static int icase_contains(const char *hay, size_t hn, const char *needle)
{
    size_t nn = strlen(needle);
    if (nn == 0)
        return 1;
    for (size_t i = 0; i + nn <= hn; i++) {
        size_t k = 0;
        for (; k < nn; k++) {
            char a = hay[i + k], b = needle[k];
            if (a >= 'A' && a <= 'Z')
                a = (char)(a + 32);
            if (b >= 'A' && b <= 'Z')
                b = (char)(b + 32);
            if (a != b)
                break;
        }
        if (k == nn)
            return 1;
    }
    return 0;
}

/* ThingsBoard's name filter of the type filters: `name ilike pattern`, where a pattern
 * without a '%' at either end gets one appended (a prefix match). Only '%' at the ends
 * is modelled. */
static int name_like(const char *name, size_t n, const char *pat)
{
    size_t pl = strlen(pat);
    int lead = pl && pat[0] == '%', trail = pl && pat[pl - 1] == '%';
    char core[256];
    size_t cl = pl - (size_t)lead - (size_t)(trail && pl > 1);
    if (cl >= sizeof core)
        cl = sizeof core - 1;
    memcpy(core, pat + lead, cl);
    core[cl] = 0;
    if (lead && trail)
        return icase_contains(name, n, core);
    if (lead) /* a suffix */
        return n >= cl && icase_contains(name + n - cl, cl, core);
    return icase_contains(name, n < cl ? n : cl, core); /* a prefix */
}

static int matches(const sim_filter *f, uint32_t idx)
{
    if (!sim_asset_exists(idx) || sim_is_device(idx) != (f->devices != 0))
        return 0;
    if (f->ntypes) {
        const char *t = sim_asset_type(idx);
        int ok = 0;
        for (int i = 0; i < f->ntypes && !ok; i++)
            ok = strcmp(t, f->types[i]) == 0;
        if (!ok)
            return 0;
    }
    if ((f->text && *f->text) || (f->name_like && *f->name_like)) {
        char name[SIM_TEXT_MAX];
        size_t n = sim_asset_name(idx, name, sizeof name);
        if (f->text && *f->text && !icase_contains(name, n, f->text))
            return 0;
        if (f->name_like && *f->name_like && !name_like(name, n, f->name_like))
            return 0;
    }
    return 1;
}

static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return x < y ? -1 : x > y;
}

size_t sim_select(const sim_filter *f, uint32_t page, uint32_t size, uint32_t *out, uint64_t *total)
{
    uint64_t first = (uint64_t)page * size, seen = 0;
    size_t n = 0;
    if (f->list) {
        /* entity lists are small; sort a copy so the order is stable */
        uint32_t *tmp = malloc((f->nlist ? f->nlist : 1) * sizeof *tmp);
        memcpy(tmp, f->list, f->nlist * sizeof *tmp);
        qsort(tmp, f->nlist, sizeof *tmp, cmp_u32);
        for (size_t j = 0; j < f->nlist; j++) {
            uint32_t idx = tmp[f->desc ? f->nlist - 1 - j : j];
            if (j && tmp[f->desc ? f->nlist - j : j - 1] == idx)
                continue; /* duplicate id in the list */
            if (!matches(f, idx))
                continue;
            if (seen >= first && n < size)
                out[n++] = idx;
            seen++;
        }
        free(tmp);
        *total = seen;
        return n;
    }
    uint32_t base = f->devices ? sim_device_base() : 0;
    uint32_t count = f->devices ? sim_device_count() : sim_model_count();
    if (!f->ntypes && !(f->text && *f->text) && !(f->name_like && *f->name_like) &&
        (f->devices || sim_model_removed() == 0)) {
        /* Nothing filters and nothing is missing: the page is a range of indices, so a
         * 100k-asset listing in pages does not scan every asset for every page. */
        for (uint64_t j = first; j < count && n < size; j++)
            out[n++] = base + (f->desc ? count - 1 - (uint32_t)j : (uint32_t)j);
        *total = count;
        return n;
    }
    for (uint32_t j = 0; j < count; j++) {
        uint32_t idx = base + (f->desc ? count - 1 - j : j);
        if (!matches(f, idx))
            continue;
        if (seen >= first && n < size)
            out[n++] = idx;
        seen++;
    }
    *total = seen;
    return n;
}
