/*
 * test_subs.c -- the subscription ledger (core/subs.h): every command written exactly
 * once and in order whatever the socket accepts, a resubscription in the middle of a
 * send, the data deadline and its resend under a fresh cmdId, spacing of retries, id
 * reuse after a wrap, and the counts health is built on.
 *
 * The "socket" here is a byte pipe: whole messages go into a bounded queue (as
 * ws_send does: a message that does not fit waits), and the reader takes 1-13 bytes
 * at a time. A small "server" replays the stream: ENTITY_DATA adds a cmdId, ENTITY_
 * DATA_UNSUBSCRIBE removes it, so the test sees what ThingsBoard would hold.
 */
#include "core/subs.h"
#include "tests/harness.h"

#include <stdlib.h>

#define NCMD 60
#define PER  100

static uint8_t ids[NCMD * PER][16];
static const char *keys[] = { "temperature", "battery" };
static tb_cmd cmds[NCMD];
static subs_entry ent[NCMD];

static void make_cmds(uint32_t n)
{
    for (uint32_t i = 0; i < n * PER; i++) {
        memset(ids[i], 0, 16);
        ids[i][0] = (uint8_t)(i / PER); /* first byte names the command */
        ids[i][15] = (uint8_t)i;
    }
    for (uint32_t i = 0; i < n; i++) {
        memset(&cmds[i], 0, sizeof cmds[i]);
        cmds[i].assets = (const uint8_t(*)[16])ids[i * PER];
        cmds[i].n_assets = PER;
        cmds[i].keys = keys;
        cmds[i].n_keys = 2;
    }
}

/* ---- the pipe and the server ----------------------------------------------------- */
typedef struct {
    char q[40000]; /* the codec's output queue */
    size_t qlen;
    char *wire; /* what the server read */
    size_t wlen, wcap;
    uint32_t rng;
    int auth_seen;
    /* server view: cmdId -> command index + 1 (0 = not subscribed) */
    int32_t live[LIM_TB_CMDS];
    int nlive;
    int dup_subscribe, unknown_unsubscribe;
    /* order of subscribes seen: command index */
    int order[4096];
    int norder;
    size_t parsed; /* wire bytes already replayed */
} pipe_t;

static pipe_t P;
static char msg[LIM_TB_OUT_MESSAGE];
static int pending_len; /* built, not yet queued */

static uint32_t rnd(uint32_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 17;
    *s ^= *s << 5;
    return *s;
}

/* Replays complete messages on the wire through the server view. */
static void server_replay(void)
{
    for (;;) {
        size_t start = P.parsed;
        /* messages are {"authCmd"..} or {"cmds":[..]} back to back; find the end by
         * bracket depth (no brackets occur inside our strings) */
        int depth = 0;
        size_t i = start;
        for (; i < P.wlen; i++) {
            if (P.wire[i] == '{' || P.wire[i] == '[')
                depth++;
            else if (P.wire[i] == '}' || P.wire[i] == ']') {
                if (--depth == 0)
                    break;
            }
        }
        if (i >= P.wlen)
            return;
        size_t end = i + 1;
        if (strncmp(P.wire + start, "{\"authCmd\"", 10) == 0)
            P.auth_seen++;
        const char *p = P.wire + start;
        while ((p = strstr(p, "{\"cmdId\":")) && p < P.wire + end) {
            long id = strtol(p + 9, NULL, 10);
            if (id == 0) { /* the authCmd */
                p += 9;
                continue;
            }
            const char *t = strstr(p, "\"type\":\"");
            if (strncmp(t + 8, "ENTITY_DATA_UNSUBSCRIBE", 23) == 0) {
                if (P.live[id] == 0)
                    P.unknown_unsubscribe++;
                else
                    P.nlive--;
                P.live[id] = 0;
            } else {
                const char *a = strstr(t, "\"entityList\":[\"");
                int idx = (int)strtol(a + 15, NULL, 16) >> 24; /* first byte of the uuid */
                if (P.live[id] != 0)
                    P.dup_subscribe++;
                else
                    P.nlive++;
                P.live[id] = idx + 1;
                if (P.norder < 4096)
                    P.order[P.norder++] = idx;
            }
            p += 9;
        }
        P.parsed = end;
    }
}

/* The loop's pump: build, queue while it fits, then let the reader take a little. */
static void pump(subs *s, uint64_t now)
{
    for (;;) {
        if (pending_len == 0) {
            subs_built b;
            int n = subs_build_next(s, "tok.en.x", 8, msg, sizeof msg, now, &b);
            CHECK(n >= 0);
            if (n <= 0)
                return;
            pending_len = n;
        }
        if (P.qlen + (size_t)pending_len > sizeof P.q)
            return; /* WOULD_BLOCK */
        memcpy(P.q + P.qlen, msg, (size_t)pending_len);
        P.qlen += (size_t)pending_len;
        pending_len = 0;
    }
}

/* The socket accepts 1-13 bytes. Returns bytes moved. */
static size_t drain_some(void)
{
    size_t k = 1 + rnd(&P.rng) % 13;
    if (k > P.qlen)
        k = P.qlen;
    if (P.wlen + k > P.wcap) {
        P.wcap = (P.wlen + k) * 2;
        P.wire = realloc(P.wire, P.wcap + 1);
    }
    memcpy(P.wire + P.wlen, P.q, k);
    P.wlen += k;
    P.wire[P.wlen] = 0; /* strstr stops here */
    memmove(P.q, P.q + k, P.qlen - k);
    P.qlen -= k;
    return k;
}

static void pipe_reset(uint32_t seed)
{
    free(P.wire);
    memset(&P, 0, sizeof P);
    P.rng = seed;
    pending_len = 0;
}

/* Runs until everything built has been read; marks it written. */
static void run_to_quiet(subs *s, uint64_t now)
{
    for (int guard = 0; guard < 10000000; guard++) {
        pump(s, now);
        if (P.qlen == 0 && pending_len == 0)
            break;
        drain_some();
    }
    server_replay();
    subs_written(s, now);
}

/* Every command of the ledger is subscribed on the server exactly once, under the id
 * the ledger holds, and nothing else is. */
static void check_server_matches(const subs *s, uint32_t n)
{
    CHECK_INT(P.dup_subscribe, 0);
    CHECK_INT(P.unknown_unsubscribe, 0);
    CHECK_INT(P.nlive, (int)n);
    for (uint32_t i = 0; i < n; i++) {
        CHECK_CTX("command %u", i);
        CHECK(s->e[i].cmd_id > 0);
        CHECK_INT(P.live[s->e[i].cmd_id], (int)i + 1);
    }
    CHECK_CTX("%s", "");
}

static void setup_cfg(subs *s, uint32_t n, uint32_t seed, const subs_config *cfg)
{
    make_cmds(n);
    pipe_reset(seed);
    CHECK_INT(subs_init(s, ent, NCMD, cfg), 0);
    CHECK_INT(subs_set_commands(s, cmds, n, 0, SUBS_RESEND_ASSETS_CHANGED), 0);
}

static void setup(subs *s, uint32_t n, uint32_t seed)
{
    setup_cfg(s, n, seed, NULL);
}

/* ---- tests ----------------------------------------------------------------------- */

static void test_first_send_in_order(void)
{
    for (uint32_t seed = 1; seed <= 5; seed++) {
        subs s;
        setup(&s, NCMD, seed);
        subs_connect(&s, 1000);
        run_to_quiet(&s, 1000);
        CHECK_INT(P.auth_seen, 1);
        CHECK(strncmp(P.wire, "{\"authCmd\":{\"cmdId\":0,\"token\":\"tok.en.x\"}", 41) == 0);
        CHECK_INT(P.norder, NCMD);
        for (int i = 0; i < P.norder; i++)
            CHECK_INT(P.order[i], i);
        for (uint32_t i = 0; i < NCMD; i++)
            CHECK_INT(s.e[i].cmd_id, (int32_t)i + 1); /* ids in write order from 1 */
        check_server_matches(&s, NCMD);
        subs_counts c = subs_count(&s, 1000);
        CHECK_INT(c.pending, NCMD);
        CHECK_INT(c.overdue, 0);
        CHECK(!subs_all_live(&s));
        CHECK_INT(subs_get_stats(&s)->commands_sent, NCMD);
    }
}

/* The defect this ledger replaces: a resubscription while the first send is still in
 * the socket left most commands unsent. Resubscribe at every kind of moment. */
static void test_resubscribe_mid_send(void)
{
    for (uint32_t cut = 1; cut < 400000; cut = cut * 3 + 7) {
        subs s;
        setup(&s, NCMD, cut);
        subs_connect(&s, 0);
        size_t moved = 0;
        while (moved < cut) {
            pump(&s, 0);
            size_t k = drain_some();
            moved += k;
            if (k == 0)
                break;
        }
        subs_resubscribe(&s, 5, SUBS_RESEND_TOO_MANY_UPDATES);
        /* and once more, before the first resubscription got out */
        pump(&s, 5);
        drain_some();
        subs_resubscribe(&s, 6, SUBS_RESEND_TOO_MANY_UPDATES);
        int before = P.norder;
        run_to_quiet(&s, 6);
        CHECK_CTX("cut %u", cut);
        check_server_matches(&s, NCMD);
        /* the last round went out whole and in order */
        int last = P.norder - NCMD;
        CHECK(last >= 0);
        for (int i = 0; i < NCMD && last >= 0; i++)
            CHECK_INT(P.order[last + i], i);
        (void)before;
        CHECK_INT(subs_get_stats(&s)->resends[SUBS_RESEND_TOO_MANY_UPDATES], 2 * NCMD);
    }
    CHECK_CTX("%s", "");
}

static void test_data_completes(void)
{
    subs s;
    setup(&s, 3, 9);
    subs_connect(&s, 0);
    run_to_quiet(&s, 0);
    CHECK(subs_on_data(&s, 1));
    CHECK(!subs_on_data(&s, 1));   /* twice: not a completion */
    CHECK(!subs_on_data(&s, 999)); /* not ours (e.g. a rate-limit reply's id) */
    CHECK(subs_on_data(&s, 2));
    CHECK(!subs_all_live(&s));
    CHECK(subs_on_data(&s, 3));
    CHECK(subs_all_live(&s));
    subs_counts c = subs_count(&s, 0);
    CHECK_INT(c.live, 3);
    CHECK_INT(subs_next_deadline(&s), SUBS_NEVER);
    subs_disconnect(&s);
    CHECK(!subs_all_live(&s));
    CHECK(!subs_on_data(&s, 1));
}

/* A command whose data does not come in time is unsubscribed and sent again with a
 * fresh id, later and later; its data then completes it. */
static void test_deadline_resend(void)
{
    subs s;
    subs_config cfg;
    subs_config_defaults(&cfg);
    cfg.timeout_ms = 30000;
    cfg.retry_first_ms = 1000;
    cfg.spacing_ms = 0;
    setup_cfg(&s, 2, 3, &cfg);
    subs_connect(&s, 0);
    run_to_quiet(&s, 100);
    CHECK(subs_on_data(&s, 1));
    CHECK_INT(subs_next_deadline(&s), 30100);
    CHECK_INT(subs_expire(&s, 30099, 1), 0);
    subs_counts c = subs_count(&s, 30100);
    CHECK_INT(c.overdue, 1);
    uint64_t now = 30100;
    int32_t prev = 2;
    for (int round = 1; round <= 8; round++) {
        CHECK_CTX("round %d", round);
        CHECK_INT(subs_expire(&s, now, 0x12345u * (uint32_t)round), 1);
        CHECK_INT(s.e[1].state, SUBS_QUEUED);
        uint64_t env = 1000u << (round - 1);
        if (env > 30000)
            env = 30000;
        CHECK(s.e[1].at >= now && s.e[1].at <= now + env);
        CHECK_INT(subs_next_deadline(&s), 0); /* the unsubscribe is due now */
        now = s.e[1].at;
        run_to_quiet(&s, now);
        CHECK(s.e[1].cmd_id > prev);
        prev = s.e[1].cmd_id;
        check_server_matches(&s, 2);
        uint64_t dl = 30000u << (round < 2 ? round : 2); /* doubles per resend, to 4x */
        CHECK_INT(subs_next_deadline(&s), now + dl);
        now += dl;
    }
    CHECK_CTX("%s", "");
    CHECK_INT(subs_get_stats(&s)->resends[SUBS_RESEND_DATA_TIMEOUT], 8);
    CHECK(subs_on_data(&s, prev));
    CHECK(subs_all_live(&s));
    CHECK_INT(s.e[1].resends, 0);
}

/* Commands retried together go out spaced, so a subscription rate limit that refused
 * them is not hit again all at once. */
static void test_retries_spaced(void)
{
    subs s;
    subs_config cfg;
    subs_config_defaults(&cfg);
    cfg.spacing_ms = 250;
    setup_cfg(&s, 10, 4, &cfg);
    subs_connect(&s, 0);
    run_to_quiet(&s, 0);
    CHECK_INT(subs_expire(&s, 30000, 77), 10);
    for (uint32_t i = 0; i < 10; i++) {
        CHECK(s.e[i].at >= 30000 + i * 250u);
        CHECK(s.e[i].at <= 30000 + i * 250u + 1000u);
    }
    /* nothing is sent before it is due */
    subs_built b;
    char out[LIM_TB_OUT_MESSAGE];
    int n = subs_build_next(&s, NULL, 0, out, sizeof out, 30000, &b);
    CHECK(n > 0);
    uint32_t subs_in = 0;
    for (uint32_t j = 0; j < b.n; j++)
        subs_in += b.cmds[j].kind == TB_CMD_SUBSCRIBE;
    CHECK(subs_in <= 1); /* only the first one may be due at once */
}

/* Changing the command set on an open connection unsubscribes every old id. */
static void test_set_commands_open(void)
{
    subs s;
    setup(&s, 5, 11);
    subs_connect(&s, 0);
    run_to_quiet(&s, 0);
    for (int32_t id = 1; id <= 5; id++)
        subs_on_data(&s, id);
    CHECK_INT(subs_set_commands(&s, cmds, 3, 10, SUBS_RESEND_ASSETS_CHANGED), 0);
    CHECK(!subs_all_live(&s));
    run_to_quiet(&s, 10);
    check_server_matches(&s, 3);
    CHECK_INT(subs_get_stats(&s)->unsubscribes_sent, 5);
    CHECK_INT(subs_get_stats(&s)->resends[SUBS_RESEND_ASSETS_CHANGED], 3);
    CHECK_INT(subs_set_commands(&s, cmds, NCMD + 1, 10, SUBS_RESEND_ASSETS_CHANGED), SUBS_ERR_ARG);
}

/* A new connection starts from id 1 with authCmd; ids past the range wrap to 1 and
 * skip the ones still held. */
static void test_connect_and_wrap(void)
{
    subs s;
    setup(&s, 4, 12);
    subs_connect(&s, 0);
    run_to_quiet(&s, 0);
    subs_on_data(&s, 1);
    subs_on_data(&s, 2);
    s.next_id = (int32_t)LIM_TB_CMDS - 2;
    subs_expire(&s, 30000, 5); /* commands 3 and 4 (ids 3, 4) go again */
    s.e[2].at = s.e[3].at = 30000;
    run_to_quiet(&s, 30000);
    CHECK_INT(s.e[2].cmd_id, (int32_t)LIM_TB_CMDS - 2);
    CHECK_INT(s.e[3].cmd_id, (int32_t)LIM_TB_CMDS - 1);
    CHECK_INT(subs_expire(&s, 90000, 5), 2); /* the resend's deadline: 2 x 30 s */
    s.e[2].at = s.e[3].at = 90000;
    run_to_quiet(&s, 90000);
    /* 1 and 2 are still live: the wrap skips them */
    CHECK_INT(s.e[2].cmd_id, 3);
    CHECK_INT(s.e[3].cmd_id, 4);
    check_server_matches(&s, 4);
    /* reconnect: the server forgot everything; ids from 1, authCmd again */
    pipe_reset(13);
    subs_disconnect(&s);
    CHECK_INT(subs_next_deadline(&s), SUBS_NEVER);
    subs_connect(&s, 100000);
    run_to_quiet(&s, 100000);
    CHECK_INT(P.auth_seen, 1);
    for (uint32_t i = 0; i < 4; i++)
        CHECK_INT(s.e[i].cmd_id, (int32_t)i + 1);
    check_server_matches(&s, 4);
}

/* Zero commands: the authCmd still goes out, and the ledger is then complete. */
static void test_no_commands(void)
{
    subs s;
    setup(&s, 0, 14);
    subs_connect(&s, 0);
    CHECK(!subs_all_live(&s));
    CHECK_INT(subs_next_deadline(&s), 0);
    run_to_quiet(&s, 0);
    CHECK_INT(P.auth_seen, 1);
    CHECK(subs_all_live(&s));
    CHECK_INT(subs_next_deadline(&s), SUBS_NEVER);
}

int main(void)
{
    RUN(test_first_send_in_order);
    RUN(test_resubscribe_mid_send);
    RUN(test_data_completes);
    RUN(test_deadline_resend);
    RUN(test_retries_spaced);
    RUN(test_set_commands_open);
    RUN(test_connect_and_wrap);
    RUN(test_no_commands);
    free(P.wire);
    return harness_done();
}
