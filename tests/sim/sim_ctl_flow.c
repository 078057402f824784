/*
 * sim_ctl_flow.c -- control routes for ThingsBoard's flow control and delivery order:
 *
 *   /fault/update-limit?spec=N:S[,N:S] | ?off=1   per-session update limiter
 *   /fault/queue-limit?n=N                         session queue (0 = none)
 *   /fault/sub-limit?spec=N:S[&scope=tenant|user] | ?off=1
 *   /fault/no-read?seconds=S | ?off=1 [&session=]  keep sending, read nothing
 *   /fault/reorder?on=1|0                          premature / missed / swapped updates
 *   /fault/edition?ce=1|0                          Community Edition REST endpoints
 *
 * Each one starts from its command-line flag (sim_main.c); /reset goes back there.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/sim/sim.h"

static struct {
    sim_bucket upd[SIM_MAX_BUCKETS], sub[SIM_MAX_BUCKETS];
    int nupd, nsub, sub_user, reorder, ce;
    unsigned long queue_limit;
} start;

int sim_upd_limit_set(const char *spec)
{
    sim_bucket b[SIM_MAX_BUCKETS] = { { 0, 0 } };
    int n = spec ? sim_limit_parse(spec, b) : 0;
    if (n < 0)
        return -1;
    memcpy(sim.upd_spec, b, sizeof b);
    sim.upd_nspec = n;
    sim.upd_gen++; /* every session starts full buckets at its next message */
    for (sim_session *s = sim.sessions; s; s = s->next)
        s->blacklisted = 0;
    return 0;
}

int sim_sub_limit_set(const char *spec, int scope_user)
{
    char buf[256];
    sim_bucket b[SIM_MAX_BUCKETS] = { { 0, 0 } };
    int n = 0;
    if (spec) {
        /* the flag form may carry the scope: "N:S/tenant" or "N:S/user" */
        snprintf(buf, sizeof buf, "%s", spec);
        char *slash = strchr(buf, '/');
        if (slash) {
            if (strcmp(slash + 1, "user") && strcmp(slash + 1, "tenant"))
                return -1;
            scope_user = !strcmp(slash + 1, "user");
            *slash = 0;
        }
        if ((n = sim_limit_parse(buf, b)) < 0)
            return -1;
    }
    memcpy(sim.sub_spec, b, sizeof b);
    sim.sub_nspec = n;
    sim.sub_scope_user = scope_user;
    for (int i = 0; i < n; i++)
        sim.sub_tokens[i] = (double)b[i].n; /* a fresh limiter starts full */
    sim.sub_last = sim_mono_ms();
    return 0;
}

void sim_ctl_flow_save_start(void)
{
    memcpy(start.upd, sim.upd_spec, sizeof start.upd);
    memcpy(start.sub, sim.sub_spec, sizeof start.sub);
    start.nupd = sim.upd_nspec;
    start.nsub = sim.sub_nspec;
    start.sub_user = sim.sub_scope_user;
    start.reorder = sim.reorder;
    start.ce = sim.edition_ce;
    start.queue_limit = sim.queue_limit;
}

static void reorder_set(int on)
{
    sim.reorder = on;
    if (!on)
        for (sim_session *s = sim.sessions; s; s = s->next)
            sim_reorder_flush(s, 0, 1);
}

void sim_ctl_flow_reset(void)
{
    memcpy(sim.upd_spec, start.upd, sizeof start.upd);
    sim.upd_nspec = start.nupd;
    sim.upd_gen++;
    memcpy(sim.sub_spec, start.sub, sizeof start.sub);
    sim.sub_nspec = start.nsub;
    sim.sub_scope_user = start.sub_user;
    for (int i = 0; i < start.nsub; i++)
        sim.sub_tokens[i] = (double)start.sub[i].n;
    sim.sub_last = sim_mono_ms();
    sim.queue_limit = start.queue_limit;
    sim.edition_ce = start.ce;
    reorder_set(start.reorder);
    for (sim_session *s = sim.sessions; s; s = s->next) {
        s->blacklisted = 0;
        s->sublim_reply_at[0] = s->sublim_reply_at[1] = 0;
        s->conn->no_read_until = 0;
    }
}

int sim_ctl_flow(sim_conn *c, const sim_req *req, sim_buf *reply)
{
    (void)c;
    const char *p = req->path;
    char v[256], desc[256];
    int off = sim_ctl_num(req, "off", 0) != 0, n = 0;
    if (!strcmp(p, "/fault/update-limit")) {
        int have = sim_query_param(req->query, "spec", v, sizeof v) > 0;
        if ((!off && !have) || sim_upd_limit_set(off ? NULL : v) != 0) {
            sim_ctl_say(reply, 400, "spec=N:S[,N:S...] or off=1\n");
            return 1;
        }
        sim_limit_spec_str(sim.upd_spec, sim.upd_nspec, desc, sizeof desc);
        sim_ctl_say(reply, 200, "update limit %s\n", desc);
    } else if (!strcmp(p, "/fault/queue-limit")) {
        long q = sim_ctl_num(req, "n", -1);
        if (q < 0) {
            sim_ctl_say(reply, 400, "n=N (0 = no limit)\n");
            return 1;
        }
        sim.queue_limit = (unsigned long)q;
        sim_ctl_say(reply, 200, "queue limit %lu messages\n", sim.queue_limit);
    } else if (!strcmp(p, "/fault/sub-limit")) {
        int have = sim_query_param(req->query, "spec", v, sizeof v) > 0;
        char scope[16] = "tenant";
        sim_query_param(req->query, "scope", scope, sizeof scope);
        int user = !strcmp(scope, "user");
        if ((!off && !have) || (!user && strcmp(scope, "tenant")) ||
            sim_sub_limit_set(off ? NULL : v, user) != 0) {
            sim_ctl_say(reply, 400, "spec=N:S[,N:S...][&scope=tenant|user] or off=1\n");
            return 1;
        }
        sim_limit_spec_str(sim.sub_spec, sim.sub_nspec, desc, sizeof desc);
        sim_ctl_say(reply, 200, "subscription limit %s per %s\n", desc,
                    sim.sub_scope_user ? "user" : "tenant");
    } else if (!strcmp(p, "/fault/no-read")) {
        double secs = 5;
        if (sim_query_param(req->query, "seconds", v, sizeof v) > 0)
            secs = strtod(v, NULL);
        int64_t until = off ? 0 : sim_mono_ms() + (int64_t)(secs * 1000.0 + 0.5);
        SIM_FOR_SESSIONS(req, s)
        {
            s->conn->no_read_until = until;
            n++;
        }
        if (off)
            sim_ctl_say(reply, 200, "reading again on %d sessions\n", n);
        else
            sim_ctl_say(reply, 200, "%d sessions read nothing for %g s\n", n, secs);
    } else if (!strcmp(p, "/fault/reorder")) {
        reorder_set(sim_ctl_num(req, "on", 1) != 0);
        sim_ctl_say(reply, 200, "reorder %d\n", sim.reorder);
    } else if (!strcmp(p, "/fault/edition")) {
        sim.edition_ce = sim_ctl_num(req, "ce", 1) != 0;
        sim_ctl_say(reply, 200, "edition %s\n", sim.edition_ce ? "ce" : "pe");
    } else {
        return 0;
    }
    return 1;
}
