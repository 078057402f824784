/* test_config.c -- flags, environment, config file, precedence, errors, secrets. */
#include "exporter/config.h"
#include "tests/harness.h"

#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

static struct cfg C, C2;
static char err[1024];
static char tmpdir[] = "/tmp/test_config.XXXXXX";
static char pwfile[256], conffile[256];

static void write_file(const char *path, const char *text, int mode)
{
    FILE *f = fopen(path, "w");
    fputs(text, f);
    fclose(f);
    chmod(path, (mode_t)mode);
}

#define ARGV(...)       ((char *const[]){ "iotpro_exporter", __VA_ARGS__, NULL })
#define ARGC(...)       ((int)(sizeof((char *[]){ "x", __VA_ARGS__ }) / sizeof(char *)))
#define LOAD(envp, ...) cfg_load(&C, ARGC(__VA_ARGS__), ARGV(__VA_ARGS__), (envp), err, sizeof err)

static char *const env_min[] = { "IOTPRO_USERNAME=alice", "IOTPRO_PASSWORD=s3cret-pass", NULL };

static void test_defaults(void)
{
    CHECK_INT(LOAD(env_min, "--log.level=info"), CFG_OK);
    CHECK_STR(C.url, "https://iotpro.iotsolutions.com.mt");
    CHECK_STR(C.host, "iotpro.iotsolutions.com.mt");
    CHECK_INT(C.port, 443);
    CHECK_INT(C.tls, 1);
    CHECK_STR(C.ws_url, "wss://iotpro.iotsolutions.com.mt/api/ws");
    CHECK_STR(C.ws_path, "/api/ws");
    CHECK_STR(C.username, "alice");
    CHECK_STR(C.password, "s3cret-pass");
    CHECK_INT(cfg_key_count(&C, 0), 3);
    CHECK_STR(cfg_key(&C, 0, 0), "device_id");
    CHECK_STR(cfg_key(&C, 0, 2), "telemetry_param_longitude");
    CHECK_INT(C.page_size, 1000);
    CHECK_INT(C.asset_details, CFG_DETAILS_WS);
    CHECK_INT(C.rediscover_ms, 300000);
    CHECK_INT(C.idle_timeout_ms, 45000);
    CHECK_INT(C.backoff_max_ms, 60000);
    CHECK_STR(C.ca_file, "");
    CHECK_STR(C.listen_address, ":9842");
    CHECK_STR(C.listen_civet, "9842");
    CHECK_STR(C.telemetry_path, "/metrics");
    CHECK_INT(C.max_requests, 40);
    CHECK_INT(C.metrics_ttl_ms, 0);
    CHECK_INT(C.store_max_series, 2000000);
    CHECK_INT(C.shard_index, 0);
    CHECK_INT(C.shard_count, 1);
    CHECK_INT(C.log_level, LOG_INFO);
    CHECK_INT(C.log_format, LOG_FMT_LOGFMT);
    CHECK_INT(C.config_check, 0);
}

static void test_every_flag(void)
{
    CHECK_INT(LOAD(NULL, "--iotpro.url=http://tb.local:8080/tb/", "--iotpro.username", "bob",
                   "--iotpro.password-file", pwfile, "--iotpro.keys=a, b ,c,a",
                   "--iotpro.page-size=50", "--iotpro.asset-details=rest",
                   "--iotpro.rediscover-interval=1h30m", "--iotpro.idle-timeout=10s",
                   "--tls.ca-file", pwfile, "--web.listen-address=127.0.0.1:9999",
                   "--web.telemetry-path=/x/metrics", "--web.max-requests=3",
                   "--web.config.file=/w.yml", "--metrics.ttl=2h", "--store.max-series=10",
                   "--shard=2/3", "--log.level=debug", "--log.format=json", "--config.check"),
              CFG_OK);
    CHECK_STR(err, "");
    CHECK_STR(C.host, "tb.local");
    CHECK_INT(C.port, 8080);
    CHECK_INT(C.tls, 0);
    CHECK_STR(C.base_path, "/tb");
    CHECK_STR(C.ws_url, "ws://tb.local:8080/tb/api/ws");
    CHECK_STR(C.username, "bob");
    CHECK_STR(C.password, "filepass");
    CHECK_INT(cfg_key_count(&C, 0), 3); /* duplicate "a" dropped, spaces trimmed */
    CHECK_STR(cfg_key(&C, 0, 1), "b");
    CHECK_INT(C.page_size, 50);
    CHECK_INT(C.asset_details, CFG_DETAILS_REST);
    CHECK_INT(C.rediscover_ms, 5400000);
    CHECK_INT(C.idle_timeout_ms, 10000);
    CHECK_STR(C.ca_file, pwfile);
    CHECK_STR(C.listen_civet, "127.0.0.1:9999");
    CHECK_STR(C.telemetry_path, "/x/metrics");
    CHECK_INT(C.max_requests, 3);
    CHECK_STR(C.web_config_file, "/w.yml");
    CHECK_INT(C.metrics_ttl_ms, 7200000);
    CHECK_INT(C.store_max_series, 10);
    CHECK_INT(C.shard_index, 2);
    CHECK_INT(C.shard_count, 3);
    CHECK_INT(C.log_level, LOG_DEBUG);
    CHECK_INT(C.log_format, LOG_FMT_JSON);
    CHECK_INT(C.config_check, 1);
    CHECK_INT(C.password_file_insecure, 0);
}

static void test_env_names(void)
{
    char *const env[] = {
        "IOTPRO_URL=https://[::1]:8443",
        "IOTPRO_USERNAME=carol",
        "IOTPRO_PASSWORD_FILE=",
        "IOTPRO_PASSWORD=envpass!",
        "IOTPRO_KEYS=x",
        "IOTPRO_PAGE_SIZE=7",
        "IOTPRO_ASSET_DETAILS=off",
        "IOTPRO_REDISCOVER_INTERVAL=0",
        "IOTPRO_IDLE_TIMEOUT=1m",
        "IOTPRO_BACKOFF_MAX=2m",
        "IOTPRO_WEB_LISTEN_ADDRESS=[::1]:0",
        "IOTPRO_WEB_TELEMETRY_PATH=/m",
        "IOTPRO_WEB_MAX_REQUESTS=9",
        "IOTPRO_WEB_CONFIG_FILE=/etc/web.yml",
        "IOTPRO_METRICS_TTL=1d",
        "IOTPRO_STORE_MAX_SERIES=99",
        "IOTPRO_SHARD=0/2",
        "IOTPRO_LOG_LEVEL=warn",
        "IOTPRO_LOG_FORMAT=json",
        "OTHER=ignored",
        NULL,
    };
    CHECK_INT(cfg_load(&C, 1, ARGV(NULL), env, err, sizeof err), CFG_OK);
    CHECK_STR(err, "");
    CHECK_STR(C.host, "::1");
    CHECK_INT(C.port, 8443);
    CHECK_STR(C.ws_url, "wss://[::1]:8443/api/ws");
    CHECK_STR(C.password, "envpass!");
    CHECK_STR(C.password_file, "");
    CHECK_INT(C.page_size, 7);
    CHECK_INT(C.asset_details, CFG_DETAILS_OFF);
    CHECK_INT(C.rediscover_ms, 0);
    CHECK_INT(C.idle_timeout_ms, 60000);
    CHECK_INT(C.backoff_max_ms, 120000);
    CHECK_STR(C.listen_civet, "[::1]:0");
    CHECK_STR(C.telemetry_path, "/m");
    CHECK_INT(C.max_requests, 9);
    CHECK_STR(C.web_config_file, "/etc/web.yml");
    CHECK_INT(C.metrics_ttl_ms, 86400000);
    CHECK_INT(C.store_max_series, 99);
    CHECK_INT(C.shard_count, 2);
    CHECK_INT(C.log_level, LOG_WARN);
}

static void test_file_and_precedence(void)
{
    char text[1024];
    snprintf(text, sizeof text,
             "# comment\n"
             "\n"
             "iotpro.username = fileuser\n"
             "iotpro.password-file = %s\n"
             "iotpro.page-size = 11   # trailing comment\n"
             "iotpro.keys = k1,k2\n"
             "iotpro.keys.Tracker Profile = lat, lon\n"
             "keys.pump = pressure\n"
             "web.max-requests = 5\n"
             "web.config.file = /srv/web config.yml\n"
             "log.level = error\r\n"
             "web.telemetry-path = \"/quoted\"\n",
             pwfile);
    write_file(conffile, text, 0600);
    char *const env[] = { "IOTPRO_PAGE_SIZE=22", "IOTPRO_WEB_MAX_REQUESTS=6", NULL };
    CHECK_INT(LOAD(env, "--config.file", conffile, "--web.max-requests=7"), CFG_OK);
    CHECK_STR(err, "");
    CHECK_STR(C.username, "fileuser"); /* file only */
    CHECK_STR(C.password, "filepass");
    CHECK_INT(C.page_size, 22);   /* env beats file */
    CHECK_INT(C.max_requests, 7); /* flag beats env and file */
    CHECK_INT(C.log_level, LOG_ERROR);
    CHECK_STR(C.telemetry_path, "/quoted");
    CHECK_STR(C.web_config_file, "/srv/web config.yml"); /* read by websec, also on SIGHUP */
    CHECK_STR(C.config_file, conffile);
    CHECK_INT(cfg_key_count(&C, 0), 2);
    size_t l = cfg_keys_for(&C, "Tracker Profile", 15);
    CHECK(l != 0);
    CHECK_STR(cfg_list_profile(&C, l), "Tracker Profile");
    CHECK_INT(cfg_key_count(&C, l), 2);
    CHECK_STR(cfg_key(&C, l, 1), "lon");
    l = cfg_keys_for(&C, "pump", 4);
    CHECK_STR(cfg_key(&C, l, 0), "pressure");
    CHECK_INT(cfg_keys_for(&C, "other", 5), 0);
    CHECK(cfg_key(&C, 99, 0) == NULL);

    /* IOTPRO_CONFIG_FILE names the file too */
    char envf[300];
    snprintf(envf, sizeof envf, "IOTPRO_CONFIG_FILE=%s", conffile);
    char *const env2[] = { envf, NULL };
    CHECK_INT(cfg_load(&C, 1, ARGV(NULL), env2, err, sizeof err), CFG_OK);
    CHECK_INT(C.page_size, 11);
}

struct bad_case {
    char *arg;        /* literal; argv wants char * */
    const char *want; /* err must contain want */
};

static void test_errors_name_the_option(void)
{
    static const struct bad_case t[] = {
        { "--iotpro.page-size=abc", "flag --iotpro.page-size" },
        { "--iotpro.page-size=0", "between 1 and 10000" },
        { "--iotpro.page-size=25000", "between 1 and 10000" },
        { "--iotpro.backoff-max=500ms", "between 1s and 3600s" },
        { "--iotpro.backoff-max=2h", "between 1s and 3600s" },
        { "--iotpro.url=ftp://x", "flag --iotpro.url" },
        { "--iotpro.url=https://user:pw@host", "user:password@" },
        { "--iotpro.url=https://host/?q=1", "query" },
        { "--iotpro.url=https://ho st", "host name" },
        { "--iotpro.url=https://host:99999", "--iotpro.url" },
        { "--iotpro.keys=a,,b", "empty key" },
        { "--iotpro.keys=", "--iotpro.keys" },
        { "--iotpro.asset-details=both", "ws, rest or off" },
        { "--iotpro.rediscover-interval=5", "duration" },
        { "--iotpro.rediscover-interval=1s", "--iotpro.rediscover-interval" },
        { "--iotpro.idle-timeout=2h", "--iotpro.idle-timeout" },
        { "--tls.ca-file=/nonexistent/ca.pem", "--tls.ca-file" },
        { "--web.listen-address=example.com:80", "--web.listen-address" },
        { "--web.listen-address=:70000", "--web.listen-address" },
        { "--web.telemetry-path=metrics", "--web.telemetry-path" },
        { "--web.telemetry-path=/a/../b", "normalised" },
        { "--web.telemetry-path=/-/ready", "built-in" },
        { "--web.max-requests=0", "--web.max-requests" },
        { "--metrics.ttl=forever", "--metrics.ttl" },
        { "--store.max-series=-1", "--store.max-series" },
        { "--shard=3/3", "0..n-1" },
        { "--iotpro.entity-type=SENSOR", "ASSET, DEVICE or ASSET,DEVICE" },
        { "--iotpro.entity-type=", "ASSET, DEVICE or ASSET,DEVICE" },
        { "--iotpro.entity-type=asset", "--iotpro.entity-type" },
        { "--iotpro.attribute-keys=a,,b", "empty name" },
        { "--iotpro.attribute-keys=assetDetails", "--iotpro.asset-details" },
        { "--iotpro.attribute-keys=a,b,c,d,e,f,g,h,i,j,k,l,m,n,o,p,q", "more than 16" },
        { "--iotpro.profiles=Tracker,", "empty name" },
        { "--shard=1", "--shard" },
        { "--log.level=verbose", "--log.level" },
        { "--log.format=xml", "--log.format" },
        { "--config.check=maybe", "--config.check" },
        { "--no.such.flag=1", "unknown flag --no.such.flag" },
        { "positional", "unexpected argument" },
        { "--config.file=/nonexistent/x.conf", "--config.file" },
    };
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
        CHECK_CTX("row %zu: %s", i, t[i].arg);
        err[0] = 0;
        CHECK_INT(LOAD(env_min, t[i].arg), CFG_ERR_INVALID);
        CHECK(strstr(err, t[i].want) != NULL);
        if (!strstr(err, t[i].want))
            printf("#   got: %s\n", err);
        CHECK(strstr(err, "s3cret-pass") == NULL);
    }
    CHECK_INT(CFG_EXIT_USAGE, 2);
    /* a flag that needs a value at the end of argv */
    CHECK_INT(LOAD(env_min, "--iotpro.page-size"), CFG_ERR_INVALID);
    CHECK(strstr(err, "needs a value") != NULL);
}

static void test_env_and_file_errors(void)
{
    char *const env[] = { "IOTPRO_USERNAME=a", "IOTPRO_PASSWORD=s3cret-pass",
                          "IOTPRO_WEB_MAX_REQUESTS=lots", NULL };
    CHECK_INT(cfg_load(&C, 1, ARGV(NULL), env, err, sizeof err), CFG_ERR_INVALID);
    CHECK(strstr(err, "environment variable IOTPRO_WEB_MAX_REQUESTS") != NULL);

    static const struct bad_case f[] = {
        { "iotpro.page-size = x\n", "line 1: iotpro.page-size" },
        { "\n\nbogus line\n", "line 3: expected" },
        { "what.is.this = 1\n", "unknown option what.is.this" },
        { "iotpro.page-size = 1\niotpro.page-size = 2\n", "set twice" },
        { "config.file = /x\n", "can only be given as a flag" },
        { "version = true\n", "can only be given as a flag" },
        { "iotpro.keys. = a\n", "profile name missing" },
        { "iotpro.keys.p = a\nkeys.p = b\n", "set twice" },
        { "iotpro.keys.p = ,\n", "iotpro.keys.p" },
    };
    for (size_t i = 0; i < sizeof f / sizeof f[0]; i++) {
        CHECK_CTX("file row %zu", i);
        write_file(conffile, f[i].arg, 0600);
        CHECK_INT(LOAD(env_min, "--config.file", conffile), CFG_ERR_INVALID);
        CHECK(strstr(err, f[i].want) != NULL);
        if (!strstr(err, f[i].want))
            printf("#   got: %s\n", err);
    }
    /* An invalid file value that a flag overrides is not an error. */
    write_file(conffile, "iotpro.page-size = nonsense\n", 0600);
    CHECK_INT(LOAD(env_min, "--config.file", conffile, "--iotpro.page-size=5"), CFG_OK);
    CHECK_INT(C.page_size, 5);
}

static void test_no_password_flag(void)
{
    CHECK_INT(LOAD(env_min, "--iotpro.password=hunter2hunter2"), CFG_ERR_INVALID);
    CHECK(strstr(err, "--iotpro.password") != NULL);
    CHECK(strstr(err, "password-file") != NULL);
    CHECK(strstr(err, "hunter2") == NULL);
    CHECK_INT(LOAD(env_min, "--iotpro.password", "hunter2hunter2"), CFG_ERR_INVALID);
    CHECK(strstr(err, "hunter2") == NULL);
    CHECK_INT(LOAD(env_min, "--password=hunter2hunter2"), CFG_ERR_INVALID);
    CHECK(strstr(err, "hunter2") == NULL);
    /* nor in the file */
    write_file(conffile, "iotpro.password = hunter2hunter2\n", 0600);
    CHECK_INT(LOAD(env_min, "--config.file", conffile), CFG_ERR_INVALID);
    CHECK(strstr(err, "iotpro.password-file") != NULL);
    CHECK(strstr(err, "hunter2") == NULL);
    /* a mistyped flag with a secret-looking value does not echo it */
    CHECK_INT(LOAD(env_min, "--iotpro.pasword=hunter2hunter2"), CFG_ERR_INVALID);
    CHECK(strstr(err, "hunter2") == NULL);
}

static void test_password_sources(void)
{
    /* missing */
    char *const env_user[] = { "IOTPRO_USERNAME=a", NULL };
    CHECK_INT(cfg_load(&C, 1, ARGV(NULL), env_user, err, sizeof err), CFG_ERR_INVALID);
    CHECK(strstr(err, "IOTPRO_PASSWORD") != NULL);
    /* missing username */
    char *const env_pw[] = { "IOTPRO_PASSWORD=abcdefgh", NULL };
    CHECK_INT(cfg_load(&C, 1, ARGV(NULL), env_pw, err, sizeof err), CFG_ERR_INVALID);
    CHECK(strstr(err, "--iotpro.username") != NULL);
    /* both env forms */
    char pf[300];
    snprintf(pf, sizeof pf, "IOTPRO_PASSWORD_FILE=%s", pwfile);
    char *const env_both[] = { "IOTPRO_USERNAME=a", "IOTPRO_PASSWORD=abcdefgh", pf, NULL };
    CHECK_INT(cfg_load(&C, 1, ARGV(NULL), env_both, err, sizeof err), CFG_ERR_INVALID);
    CHECK(strstr(err, "both set") != NULL);
    CHECK(strstr(err, "abcdefgh") == NULL);
    /* the flag wins over IOTPRO_PASSWORD */
    char *const env_p[] = { "IOTPRO_USERNAME=a", "IOTPRO_PASSWORD=abcdefgh", NULL };
    CHECK_INT(cfg_load(&C, 3, ARGV("--iotpro.password-file", pwfile), env_p, err, sizeof err),
              CFG_OK);
    CHECK_STR(C.password, "filepass");
    /* IOTPRO_PASSWORD wins over the config file's password-file */
    char text[400];
    snprintf(text, sizeof text, "iotpro.password-file = %s\n", pwfile);
    write_file(conffile, text, 0600);
    CHECK_INT(cfg_load(&C, 3, ARGV("--config.file", conffile), env_p, err, sizeof err), CFG_OK);
    CHECK_STR(C.password, "abcdefgh");
    /* empty file, insecure mode, CRLF */
    char p2[300];
    snprintf(p2, sizeof p2, "%s/pw2", tmpdir);
    write_file(p2, "\n", 0600);
    CHECK_INT(LOAD(env_user, "--iotpro.password-file", p2), CFG_ERR_INVALID);
    CHECK(strstr(err, "--iotpro.password-file") != NULL);
    write_file(p2, "crlfpass\r\n", 0644);
    CHECK_INT(LOAD(env_user, "--iotpro.password-file", p2), CFG_OK);
    CHECK_STR(C.password, "crlfpass");
    CHECK_INT(C.password_file_insecure, 1);
    cfg_wipe(&C);
    CHECK_STR(C.password, "");
}

static void test_help_version(void)
{
    /* --help works even when the rest would be invalid */
    char *const env_bad[] = { "IOTPRO_PAGE_SIZE=bad", NULL };
    CHECK_INT(cfg_load(&C, 2, ARGV("--help"), env_bad, err, sizeof err), CFG_OK);
    CHECK_INT(C.show_help, 1);
    CHECK_INT(cfg_load(&C, 2, ARGV("-h"), NULL, err, sizeof err), CFG_OK);
    CHECK_INT(C.show_help, 1);
    CHECK_INT(cfg_load(&C, 2, ARGV("--version"), NULL, err, sizeof err), CFG_OK);
    CHECK_INT(C.show_version, 1);
    char *buf = NULL;
    size_t n = 0;
    FILE *f = open_memstream(&buf, &n);
    cfg_print_help(f);
    fclose(f);
    static const char *const must[] = {
        "flag > environment > config file > default",
        "--iotpro.url",
        "IOTPRO_USERNAME",
        "--iotpro.password-file",
        "IOTPRO_PASSWORD",
        "--iotpro.keys",
        "--iotpro.page-size",
        "--iotpro.asset-details",
        "--iotpro.rediscover-interval",
        "--iotpro.idle-timeout",
        "--tls.ca-file",
        "--web.listen-address",
        "9842",
        "--web.telemetry-path",
        "--web.max-requests",
        "--metrics.ttl",
        "--store.max-series",
        "--shard",
        "--log.level",
        "--log.format",
        "--config.file",
        "--config.check",
        "--version",
        "--help",
    };
    for (size_t i = 0; i < sizeof must / sizeof must[0]; i++) {
        CHECK_CTX("%s", must[i]);
        CHECK(strstr(buf, must[i]) != NULL);
    }
    free(buf);
}

static void test_print_hides_password(void)
{
    CHECK_INT(LOAD(env_min, "--iotpro.keys=a,b"), CFG_OK);
    char *buf = NULL;
    size_t n = 0;
    FILE *f = open_memstream(&buf, &n);
    cfg_print(&C, f);
    fclose(f);
    CHECK(strstr(buf, "s3cret-pass") == NULL);
    CHECK(strstr(buf, "iotpro.keys = a,b") != NULL);
    CHECK(strstr(buf, "<set") != NULL);
    /* what cfg_print writes loads back to the same settings */
    write_file(conffile, buf, 0600);
    free(buf);
    CHECK_INT(LOAD(env_min, "--config.file", conffile), CFG_OK);
    CHECK_INT(cfg_key_count(&C, 0), 2);
}

static void test_changes_reload(void)
{
    CHECK_INT(LOAD(env_min, "--iotpro.page-size=5"), CFG_OK);
    C2 = C;
    CHECK_INT(cfg_changes(&C, &C2), 0);
    CHECK_INT(LOAD(env_min, "--iotpro.page-size=6", "--log.level=debug", "--web.max-requests=2"),
              CFG_OK);
    CHECK_INT(cfg_changes(&C2, &C), CFG_CHANGED_KEYS | CFG_CHANGED_LOG | CFG_CHANGED_WEB);
    char *const env2[] = { "IOTPRO_USERNAME=alice", "IOTPRO_PASSWORD=other-pass", NULL };
    CHECK_INT(cfg_load(&C, 2, ARGV("--iotpro.page-size=5"), env2, err, sizeof err), CFG_OK);
    CHECK_INT(cfg_changes(&C2, &C), CFG_CHANGED_UPSTREAM);
    CHECK_INT(LOAD(env_min, "--iotpro.page-size=5", "--metrics.ttl=1m"), CFG_OK);
    CHECK_INT(cfg_changes(&C2, &C), CFG_CHANGED_TIMERS);
}

static void test_devices_options(void)
{
    CHECK_INT(LOAD(env_min, "--log.level=info"), CFG_OK);
    CHECK_INT((int)C.entity_types, CFG_ENT_ASSET);
    CHECK_INT(C.attr_keys.n, 0);
    CHECK_INT(C.profiles.n, 0);
    C2 = C;
    CHECK_INT(LOAD(env_min, "--iotpro.entity-type= DEVICE , ASSET",
                   "--iotpro.attribute-keys=firmware, capacity,firmware",
                   "--iotpro.profiles=Tracker,Weather station"),
              CFG_OK);
    CHECK_INT((int)C.entity_types, CFG_ENT_ASSET | CFG_ENT_DEVICE);
    CHECK_INT(C.attr_keys.n, 2); /* duplicates kept once */
    CHECK_STR(cfg_name(&C.attr_keys, 1), "capacity");
    CHECK_INT(C.profiles.n, 2);
    CHECK_STR(cfg_name(&C.profiles, 1), "Weather station");
    CHECK_INT(cfg_changes(&C2, &C), CFG_CHANGED_KEYS);
    char *const env[] = { "IOTPRO_USERNAME=alice", "IOTPRO_PASSWORD=p", "IOTPRO_ENTITY_TYPE=DEVICE",
                          NULL };
    CHECK_INT(cfg_load(&C, 1, (char *const[]){ "iotpro_exporter", NULL }, env, err, sizeof err),
              CFG_OK);
    CHECK_INT((int)C.entity_types, CFG_ENT_DEVICE);
}

static void test_durations(void)
{
    static const struct {
        const char *s;
        long long ms;
    } t[] = {
        { "0", 0 },           { "45s", 45000 },
        { "5m", 300000 },     { "1h", 3600000 },
        { "1h30m", 5400000 }, { "500ms", 500 },
        { "2d", 172800000 },  { "1w", 604800000 },
        { "1m1s1ms", 61001 }, { "", -1 },
        { "5", -1 },          { "s", -1 },
        { "5x", -1 },         { "-5s", -1 },
        { "1.5h", -1 },       { "99999999999999999999s", -1 },
        { "5s ", -1 },
    };
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
        CHECK_CTX("%s", t[i].s);
        uint64_t ms = 12345;
        int rc = cfg_parse_duration(t[i].s, &ms);
        if (t[i].ms < 0)
            CHECK_INT(rc, -1);
        else {
            CHECK_INT(rc, 0);
            CHECK_INT(ms, t[i].ms);
        }
    }
}

static void test_load_text(void)
{
    const char *t = "iotpro.keys.p1 = a,b\nlog.format = json\n";
    CHECK_INT(cfg_load_text(&C, t, strlen(t), "mem", err, sizeof err), CFG_OK);
    CHECK_INT(C.log_format, LOG_FMT_JSON);
    CHECK_INT(cfg_key_count(&C, cfg_keys_for(&C, "p1", 2)), 2);
    const char nul[] = "log.level = info\0x\n";
    CHECK_INT(cfg_load_text(&C, nul, sizeof nul - 1, "mem", err, sizeof err), CFG_ERR_INVALID);
    CHECK(strstr(err, "NUL") != NULL);
}

/* The shipped example must stay loadable (documentation that works). */
static void test_example_file(void)
{
    FILE *f = fopen("deploy/iotpro_exporter.conf.example", "r");
    if (!f)
        SKIP("deploy/iotpro_exporter.conf.example not found (run from the top directory)");
    static char text[16384];
    size_t n = fread(text, 1, sizeof text, f);
    fclose(f);
    CHECK_INT(cfg_load_text(&C, text, n, "example", err, sizeof err), CFG_OK);
    CHECK_STR(err, "");
    CHECK_STR(C.listen_civet, "9842");
    CHECK_STR(C.password_file, "/etc/iotpro_exporter/password");
    CHECK_INT(cfg_key_count(&C, 0), 3);
}

int main(void)
{
    if (!mkdtemp(tmpdir)) {
        printf("not ok - mkdtemp\n");
        return 1;
    }
    snprintf(pwfile, sizeof pwfile, "%s/password", tmpdir);
    snprintf(conffile, sizeof conffile, "%s/exporter.conf", tmpdir);
    write_file(pwfile, "filepass\n", 0600);
    RUN(test_defaults);
    RUN(test_every_flag);
    RUN(test_env_names);
    RUN(test_file_and_precedence);
    RUN(test_errors_name_the_option);
    RUN(test_env_and_file_errors);
    RUN(test_no_password_flag);
    RUN(test_password_sources);
    RUN(test_help_version);
    RUN(test_print_hides_password);
    RUN(test_changes_reload);
    RUN(test_durations);
    RUN(test_devices_options);
    RUN(test_load_text);
    RUN(test_example_file);
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    if (system(cmd) != 0)
        printf("# could not remove %s\n", tmpdir);
    return harness_done();
}
