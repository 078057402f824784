/*
 * config_int.h -- shared between config.c and config_parse.c only (not a contract for
 * other modules; use config.h).
 */
#ifndef IOTPRO_EXPORTER_CONFIG_INT_H
#define IOTPRO_EXPORTER_CONFIG_INT_H

#include "exporter/config.h"

/* metric.* lines in one file: every attribute of every mapped key. */
#define CFG_MAP_LINES (LIM_MAP_KEYS * MAPPING_A__COUNT)

enum cfg_opt_id {
    O_URL = 0,
    O_USERNAME,
    O_PASSWORD_FILE,
    O_KEYS,
    O_PAGE_SIZE,
    O_ASSET_DETAILS,
    O_ENTITY_TYPE,
    O_ATTR_KEYS,
    O_PROFILES,
    O_REDISCOVER,
    O_IDLE_TIMEOUT,
    O_BACKOFF_MAX,
    O_SUB_TIMEOUT,
    O_CA_FILE,
    O_LISTEN,
    O_TELEMETRY_PATH,
    O_MAX_REQUESTS,
    O_WEB_CONFIG,
    O_TTL,
    O_TIMESTAMPS,
    O_INFO_FIELDS,
    O_MAX_SERIES,
    O_SHARD,
    O_LOG_LEVEL,
    O_LOG_FORMAT,
    O_CONFIG_FILE,
    O_CONFIG_CHECK,
    O_VERSION,
    O_HELP,
    O__COUNT
};

#define CFG_FLAGONLY 1u /* not from env or file */
#define CFG_NOFILE   2u /* not from the file (config.file itself) */
#define CFG_BOOL     4u /* a flag without a value means true */

struct cfg_opt {
    const char *name, *env, *def;
    unsigned flags;
    const char *help;
};
extern const struct cfg_opt cfg_opts[O__COUNT];

enum { SRC_DEFAULT = 0, SRC_FILE, SRC_ENV, SRC_FLAG };

/* Gathered strings (pass one). Values point into argv, envp or the file buffer. */
struct cfg_sources {
    const char *val[O__COUNT];
    unsigned char kind[O__COUNT];
    unsigned line[O__COUNT];
    const char *fname;
    const char *env_password;
    const char *plist_profile[LIM_CFG_KEY_LISTS], *plist_value[LIM_CFG_KEY_LISTS];
    unsigned plist_line[LIM_CFG_KEY_LISTS];
    unsigned nplists;
    /* metric.<key>.<attr> lines: spec points after "metric." */
    const char *mline_spec[CFG_MAP_LINES], *mline_value[CFG_MAP_LINES];
    unsigned mline_line[CFG_MAP_LINES];
    unsigned nmlines;
};

void cfg_errf(char *err, size_t cap, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
int cfg_find_opt(const char *name, size_t n);
void cfg_where(const struct cfg_sources *s, int o, char *buf, size_t cap);
void cfg_quote(const char *v, char *buf, size_t cap);
int cfg_resolve(struct cfg *c, const struct cfg_sources *s, int full, char *err, size_t cap);

/* config_parse.c */
char *cfg_read_file(const char *path, size_t *n, char *err, size_t cap);
int cfg_scan_text(struct cfg_sources *s, char *text, size_t n, char *err, size_t cap);
int cfg_parse_value(struct cfg *c, int o, const char *v, char *why, size_t cap);
int cfg_profile_lists(struct cfg *c, const struct cfg_sources *s, char *err, size_t cap);
int cfg_mapping(struct cfg *c, const struct cfg_sources *s, char *err, size_t cap);
int cfg_password(struct cfg *c, const struct cfg_sources *s, char *err, size_t cap);

#endif
