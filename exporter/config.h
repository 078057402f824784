/*
 * config.h -- iotpro_exporter configuration: flags, IOTPRO_* environment, config file.
 *
 * Every option has one name used three ways:
 *   flag         --iotpro.page-size=500   or   --iotpro.page-size 500
 *   environment  IOTPRO_PAGE_SIZE=500     (IOTPRO_ + name without a leading "iotpro.",
 *                                          upper case, '.' and '-' as '_')
 *   config file  iotpro.page-size = 500   (--config.file; `key = value` lines, '#'
 *                                          comments, blank lines ignored)
 * Precedence: flag > environment > config file > built-in default. An empty
 * environment variable counts as unset.
 *
 * Secrets: no flag takes a password (--iotpro.password is rejected with a pointer to
 * the alternatives). The password comes from --iotpro.password-file (flag, env
 * IOTPRO_PASSWORD_FILE or the file) or from IOTPRO_PASSWORD. It is held in
 * cfg.password only; cfg_wipe() clears it. Error messages never quote a password, and
 * quote other values only truncated.
 *
 * Errors: cfg_load() returns CFG_ERR_INVALID and a one-line message naming the option
 * and where its value came from; main prints it and exits with CFG_EXIT_USAGE (2).
 *
 * Reload (SIGHUP): call cfg_load() again with the same argv/envp into a new struct;
 * if it fails keep the old one. cfg_changes() says what differs, so main restarts only
 * what it must.
 *
 * A struct cfg is plain data (no pointers), about 150 KiB: copy it freely, but prefer
 * static or heap storage to the stack of a small thread.
 *
 * Metric mapping (config file only: `metric.<key>.<attr> = value`, exporter/mapping.h)
 * is checked here like any option; a bad line is an error naming that line.
 */
#ifndef IOTPRO_EXPORTER_CONFIG_H
#define IOTPRO_EXPORTER_CONFIG_H

#include "core/limits.h"
#include "exporter/log.h"
#include "exporter/mapping.h"

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define CFG_OK          0
#define CFG_ERR_INVALID (-1)
#define CFG_EXIT_USAGE  2 /* process exit status for an invalid configuration */

#define CFG_DEFAULT_URL    "https://iotpro.iotsolutions.com.mt"
#define CFG_DEFAULT_KEYS   "device_id,telemetry_param_latitude,telemetry_param_longitude"
#define CFG_DEFAULT_PORT   9842
#define CFG_DEFAULT_LISTEN ":9842"

#define CFG_PATH_BYTES       512u
#define CFG_HOST_BYTES       256u
#define CFG_KEY_POOL_BYTES   (32u * 1024u)
#define CFG_INFO_FIELD_BYTES 64u /* one --metrics.asset-info-fields name, with the NUL */

enum cfg_details { CFG_DETAILS_WS = 0, CFG_DETAILS_REST, CFG_DETAILS_OFF };

/* --iotpro.entity-type: which entities are listed and subscribed (a bit set). */
#define CFG_ENT_ASSET  1u
#define CFG_ENT_DEVICE 2u

/* A short list of names (--iotpro.attribute-keys, --iotpro.profiles), in order, no
 * duplicates, each NUL-terminated in pool. */
#define CFG_NAMES_MAX 32u
struct cfg_names {
    char pool[4096];
    uint16_t off[CFG_NAMES_MAX];
    uint16_t n;
};
static inline const char *cfg_name(const struct cfg_names *l, size_t i)
{
    return l->pool + l->off[i];
}

/* One list of telemetry keys: the default list (index 0) or a profile's. */
struct cfg_keylist {
    uint32_t profile_off; /* offset of the profile name in the pool (list 0: unused) */
    uint16_t first;       /* first index into key_off */
    uint16_t count;
};

struct cfg {
    /* --iotpro.url and what is derived from it */
    char url[LIM_CFG_VALUE_BYTES];
    int tls;                   /* 1 for https (→ wss) */
    char host[CFG_HOST_BYTES]; /* no brackets for IPv6 literals */
    uint16_t port;
    char base_path[CFG_PATH_BYTES];        /* "" or "/prefix", no trailing slash */
    char ws_url[LIM_CFG_VALUE_BYTES + 16]; /* wss://host[:port]/prefix/api/ws */
    char ws_path[CFG_PATH_BYTES + 8];      /* /prefix/api/ws */

    char username[LIM_NAME_BYTES];
    char password[LIM_PASSWORD_BYTES];  /* SECRET: never log; cfg_wipe() */
    char password_file[CFG_PATH_BYTES]; /* "" when IOTPRO_PASSWORD was used */
    int password_file_insecure;         /* readable by group/others: main warns */

    /* telemetry keys (--iotpro.keys, iotpro.keys.<profile> in the file) */
    char key_pool[CFG_KEY_POOL_BYTES];
    uint32_t key_pool_len;
    uint32_t key_off[LIM_CFG_KEYS];
    uint16_t nkeys;
    struct cfg_keylist lists[1 + LIM_CFG_KEY_LISTS];
    uint16_t nlists; /* >= 1 */

    unsigned page_size;
    enum cfg_details asset_details;
    unsigned entity_types;      /* CFG_ENT_* */
    struct cfg_names attr_keys; /* extra SERVER_SCOPE attributes (at most 16) */
    struct cfg_names profiles;  /* listed profiles; none = all */
    uint64_t rediscover_ms;     /* 0 = never rediscover */
    uint64_t idle_timeout_ms;
    uint64_t backoff_max_ms;      /* session backoff cap (WebSocket and REST) */
    uint64_t sub_timeout_ms;      /* data deadline of one subscription command */
    char ca_file[CFG_PATH_BYTES]; /* "" = the system bundle */

    char listen_address[LIM_CFG_VALUE_BYTES]; /* as given, e.g. ":9842" */
    char listen_civet[LIM_CFG_VALUE_BYTES];   /* civetweb listening_ports form */
    char telemetry_path[CFG_PATH_BYTES];
    unsigned max_requests;
    char web_config_file[CFG_PATH_BYTES]; /* "" = plain HTTP, no auth */

    uint64_t metrics_ttl_ms; /* 0 = keep series until their asset disappears */
    int metrics_timestamps;  /* --metrics.timestamps: iotpro_telemetry_timestamp_seconds */
    /* --metrics.asset-info-fields: "*" every scalar assetDetails field (info_fields_all),
     * "-" none (ninfo_fields 0), else these sanitised label names */
    int info_fields_all;
    unsigned ninfo_fields;
    char info_fields[LIM_INFO_FIELDS][CFG_INFO_FIELD_BYTES];
    struct mapping map; /* metric.<key>.* lines; finished (look-ups work) */
    uint64_t store_max_series;
    unsigned shard_index, shard_count; /* 0-based index, 1 <= count */

    enum log_level log_level;
    enum log_format log_format;

    char config_file[CFG_PATH_BYTES];
    int config_check, show_version, show_help;
};

/* Builds the configuration from defaults, the config file, envp (NULL-terminated
 * "NAME=value" strings, usually main's third argument or environ) and argv. When
 * --help or --version is given, only the flags are checked and the result has
 * show_help/show_version set. Returns CFG_OK or CFG_ERR_INVALID with err filled. */
int cfg_load(struct cfg *out, int argc, char *const argv[], char *const envp[], char *err,
             size_t errcap);

/* Applies only defaults and config-file text (no flags, env or required-option check);
 * for the fuzzer and tests. fname names the file in messages. */
int cfg_load_text(struct cfg *out, const char *text, size_t n, const char *fname, char *err,
                  size_t errcap);

/* Key lists. cfg_keys_for() returns the index of the list for a profile (0, the
 * default list, when the profile has none of its own). */
size_t cfg_keys_for(const struct cfg *c, const char *profile, size_t plen);
size_t cfg_key_count(const struct cfg *c, size_t list);
const char *cfg_key(const struct cfg *c, size_t list, size_t i);
const char *cfg_list_profile(const struct cfg *c, size_t list); /* NULL for list 0 */

/* What differs between two configurations (bit set of CFG_CHANGED_*). Entity types and
 * profiles count as KEYS: a resubscription now, a different listing from the next one on. */
#define CFG_CHANGED_UPSTREAM 1u  /* url, username, password, ca file: log in again */
#define CFG_CHANGED_KEYS     2u  /* key lists, page size, details, shard, entities: resubscribe */
#define CFG_CHANGED_WEB      4u  /* listen address, telemetry path, max requests */
#define CFG_CHANGED_LOG      8u  /* level or format: call log_init again */
#define CFG_CHANGED_TIMERS   16u /* rediscover, idle timeout, ttl, max series */
unsigned cfg_changes(const struct cfg *a, const struct cfg *b);

/* Writes --help text (options, defaults, env names, precedence, file format). */
void cfg_print_help(FILE *out);
/* Writes the effective configuration as a config file (password shown as <set>). */
void cfg_print(const struct cfg *c, FILE *out);

/* Clears the password from memory. */
void cfg_wipe(struct cfg *c);

/* Value parsers, exposed for tests. Durations: "0", or a sequence of <n><unit> with
 * units ms, s, m, h, d, w ("1h30m"). 0 on success, -1 otherwise. */
int cfg_parse_duration(const char *s, uint64_t *ms);

#endif
