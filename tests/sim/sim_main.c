/*
 * iotpro-sim -- a simulated IoT Pro (ThingsBoard Professional Edition) backend for the
 * demo, the tests and the benchmarks. It follows ../shared/reference/thingsboard-
 * protocol.md (the wire protocol as ThingsBoard really speaks it), not our client.
 *
 * USAGE
 *   iotpro-sim [flags]
 *     --listen ADDR          API address (default 127.0.0.1)
 *     --port N               API port, 0 = pick one (default 0)
 *     --control-port N       control endpoint port on 127.0.0.1, 0 = pick one
 *     --port-file FILE       write "api_port=N" and "control_port=N" lines once listening
 *     --certs DIR            use DIR/server.pem and DIR/server.key (tests/mkcerts.sh)
 *     --cert FILE --key FILE certificate chain (PEM) and key (PKCS#8, SEC1 or PKCS#1 PEM)
 *     --plain                no TLS (debugging): http:// and ws://
 *     --assets N             number of assets (default 1000; 1,000,000+ is fine)
 *     --devices N            number of devices (default 0)
 *     --inactivity-timeout S devices with no activity for S seconds become inactive (600)
 *     --keys K               telemetry keys per asset (default 7; extra keys metric_N)
 *     --seed S               seed for names, ids and values (default 1)
 *     --rate R               steady updates per second over live subscriptions (10)
 *     --flood                replay pre-rendered updates as fast as the socket takes them
 *     --flood-shape S        keys per flood update: one (default), all (every subscribed
 *                            key of the asset), mix (a varying half of them, >= 2)
 *     --nmea                 latitude/longitude as a GPS fleet reports them: degrees +
 *                            minutes / 60, 15-17 significant digits ("35.81026666666667")
 *     --username U --password P   the one user (tenant@thingsboard.org / tenant)
 *     --customer             the user is a CUSTOMER_USER (default TENANT_ADMIN)
 *     --mfa verify|configure login answers {"token","scope"} (2FA), no refresh token
 *     --token-lifetime S     access token lifetime (9000)
 *     --refresh-lifetime S   refresh token lifetime (604800)
 *     --auth-timeout S       authCmd deadline (10)       --ping-interval S   (10)
 *     --pong-timeout S       close 4500 after (30)       --send-timeout S    (5)
 *     --dynamic-interval S   dynamic page link refresh (60)
 *     --ws-update-limit SPEC per-session limiter on every text message, "N:S[,N:S]"
 *                            (intervally refilled; a bare N is N:1); off by default
 *     --ws-queue-limit N     session queue: messages waiting behind the one in flight
 *                            before 1008 "Max pending updates limit reached!" (1000)
 *     --sub-limit SPEC[/tenant|/user]  subscription rate limit (greedy refill), off
 *     --reorder              premature, missed and swapped updates
 *     --edition ce|pe        REST endpoints of Community or Professional Edition (pe)
 *   Durations accept fractions ("0.5") so tests can run the keep-alive rules fast.
 *
 * API (TLS unless --plain): see sim_rest.c (REST) and sim_ws.c / sim_cmd.c (/api/ws).
 *
 * CONTROL ENDPOINT (plain HTTP, 127.0.0.1:control-port; GET or POST, query parameters;
 * faults on sessions apply to all open sessions, or to ?session=<id> from /sessions):
 *   /stats                          counters, "name value" lines
 *   /sessions                       "session <id> <state> [stalled]
 *                                   cmd=<cmdId>:<entities>:<data|nodata> queued=<n>"
 *   /truth[?scope=subscribed][&id=][&type=ASSET|DEVICE]
 *                                   ground truth: "id\tkey\tts\tvalue" lines for every
 *                                   existing (or subscribed) asset and device and present
 *                                   key; value as on the data page (compare numbers
 *                                   numerically; \t \n \\ escaped); assetDetails as is,
 *                                   the other attributes as "attr:<key>"
 *   /fault/close?code=C&reason=R    close WebSockets with C/R
 *   /fault/stall[?off=1]            half-open: read nothing, send nothing, no pings
 *   /fault/expire-tokens[?lifetime=S][&refresh=1][&clear=1]
 *                                   every token issued so far is expired (refresh tokens
 *                                   too with refresh=1); until clear=1, new access tokens
 *                                   live S seconds
 *   /fault/reject-refresh?on=1|0    /api/auth/token answers 401 "Token is outdated" (10)
 *   /fault/fail-rest?n=N&status=S   the next N REST calls fail (429 errorCode 33, 500/503
 *                                   errorCode 2, ThingsBoard JSON bodies)
 *   /fault/delay-rest?ms=M          hold every REST reply M ms (0 = off)
 *   /fault/drop-mid-frame           send half of the next message, then drop TCP
 *   /fault/drop-mid-record          write half of the next TLS record, then drop TCP
 *   /fault/send?what=oversize[&size=B] | bad-utf8 | bad-json | bad-values | error34
 *   /fault/refuse?seconds=S         close the API listener for S seconds
 *   /fault/update-limit?spec=N:S[,N:S] | ?off=1     per-session update limiter
 *   /fault/queue-limit?n=N          session queue limit (0 = none)
 *   /fault/sub-limit?spec=N:S&scope=tenant|user | ?off=1   subscription limiter
 *   /fault/no-read?seconds=S | ?off=1   keep sending, read no client input
 *   /fault/reorder?on=1|0           premature, missed and swapped updates
 *   /fault/edition?ce=1|0           CE REST endpoints (/api/user/assets|devices: 400)
 *   /fault/quiet?id=ID[&off=1] | ?fraction=F | ?off=1   entities that send no telemetry
 *   /fault/set-attr?id=ID&key=firmware|capacity|assetDetails[&value=V]  save and push
 *   /reset                          clear all faults (flow control: back to the flags)
 *   /rate?n=R                       change the steady update rate
 *   /assets/add?n=N[&type=T]        new assets (their ids are returned, one a line)
 *   /assets/remove?id=ID            /assets/rename?id=ID&name=NAME
 *   /update?id=ID&key=K[&value=V]   save a new value now (generated, or V) and push it
 *   /delete?id=ID&key=K             delete a value: pushed as {"ts":0,"value":""}
 *
 * The simulator prints "iotpro-sim: api https://127.0.0.1:N control http://127.0.0.1:M"
 * once it is listening. SIGINT/SIGTERM stop it.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "tests/sim/sim.h"

struct sim_state sim;
static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
    (void)sig;
    stop = 1;
}

static int listen_on(const char *addr, int port)
{
    struct sockaddr_in sa;
    memset(&sa, 0, sizeof sa);
    sa.sin_family = AF_INET;
    sa.sin_port = htons((uint16_t)port);
    if (inet_pton(AF_INET, addr, &sa.sin_addr) != 1) {
        sim_log("bad listen address %s (IPv4 only)", addr);
        return -1;
    }
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (bind(fd, (struct sockaddr *)&sa, sizeof sa) != 0 || listen(fd, 128) != 0) {
        sim_log("cannot listen on %s:%d: %s", addr, port, strerror(errno));
        close(fd);
        return -1;
    }
    return fd;
}

static int bound_port(int fd)
{
    struct sockaddr_in sa;
    socklen_t l = sizeof sa;
    getsockname(fd, (struct sockaddr *)&sa, &l);
    return ntohs(sa.sin_port);
}

static void accept_all(int lfd, sim_conn_kind kind)
{
    for (;;) {
        int fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0)
            return;
        int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        sim_conn *c = sim_conn_new(fd, kind, kind == SIM_CK_API && !sim.plain);
        c->next = sim.conns;
        sim.conns = c;
    }
}

static int64_t secs(const char *v)
{
    return (int64_t)(strtod(v, NULL) * 1000.0 + 0.5);
}

static void usage(void)
{
    fputs("usage: iotpro-sim [--port N] [--control-port N] [--certs DIR | --cert F --key F |"
          " --plain]\n  [--assets N] [--keys K] [--seed S] [--rate R] [--flood] [--port-file F]\n"
          "  see the comment at the top of tests/sim/sim_main.c and tests/sim/README.md\n",
          stderr);
}

int main(int argc, char **argv)
{
    const char *listen_addr = "127.0.0.1", *cert = NULL, *key = NULL, *port_file = NULL;
    char certbuf[1024], keybuf[1024];
    int port = 0, cport = 0;
    uint32_t nassets = 1000, ndevices = 0, nkeys = 7;
    snprintf(sim.username, sizeof sim.username, "tenant@thingsboard.org");
    snprintf(sim.password, sizeof sim.password, "tenant");
    snprintf(sim.authority, sizeof sim.authority, "TENANT_ADMIN");
    sim.token_lifetime = 9000;
    sim.refresh_lifetime = 604800;
    sim.auth_timeout_ms = 10000;
    sim.ping_interval_ms = 10000;
    sim.pong_timeout_ms = 30000;
    sim.send_timeout_ms = 5000;
    sim.dynamic_ms = 60000;
    sim.rate = 10;
    sim.seed = 1;
    sim.inactivity_ms = 600000; /* ThingsBoard's state.defaultInactivityTimeoutInSec */
    sim.queue_limit = 1000;     /* ThingsBoard's server.ws.max_queue_messages_per_session */
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
#define ARG(name) (!strcmp(a, name) && v && (i++, 1))
        if (ARG("--listen"))
            listen_addr = v;
        else if (ARG("--port"))
            port = atoi(v);
        else if (ARG("--control-port"))
            cport = atoi(v);
        else if (ARG("--port-file"))
            port_file = v;
        else if (ARG("--cert"))
            cert = v;
        else if (ARG("--key"))
            key = v;
        else if (ARG("--certs")) {
            snprintf(certbuf, sizeof certbuf, "%s/server.pem", v);
            snprintf(keybuf, sizeof keybuf, "%s/server.key", v);
            cert = certbuf;
            key = keybuf;
        } else if (!strcmp(a, "--plain"))
            sim.plain = 1;
        else if (ARG("--assets"))
            nassets = (uint32_t)strtoul(v, NULL, 10);
        else if (ARG("--devices"))
            ndevices = (uint32_t)strtoul(v, NULL, 10);
        else if (ARG("--inactivity-timeout"))
            sim.inactivity_ms = secs(v);
        else if (ARG("--keys"))
            nkeys = (uint32_t)strtoul(v, NULL, 10);
        else if (ARG("--seed"))
            sim.seed = strtoull(v, NULL, 10);
        else if (ARG("--rate"))
            sim.rate = strtod(v, NULL);
        else if (!strcmp(a, "--flood"))
            sim.flood = 1;
        else if (ARG("--flood-shape"))
            sim.flood_shape = !strcmp(v, "all")   ? SIM_FLOOD_ALL
                              : !strcmp(v, "mix") ? SIM_FLOOD_MIX
                                                  : SIM_FLOOD_ONE;
        else if (!strcmp(a, "--nmea"))
            sim.nmea = 1;
        else if (ARG("--username"))
            snprintf(sim.username, sizeof sim.username, "%s", v);
        else if (ARG("--password"))
            snprintf(sim.password, sizeof sim.password, "%s", v);
        else if (!strcmp(a, "--customer"))
            snprintf(sim.authority, sizeof sim.authority, "CUSTOMER_USER");
        else if (ARG("--mfa"))
            sim.mfa_scope = !strcmp(v, "configure") ? "MFA_CONFIGURATION_TOKEN"
                                                    : "PRE_VERIFICATION_TOKEN";
        else if (ARG("--token-lifetime"))
            sim.token_lifetime = atoll(v);
        else if (ARG("--refresh-lifetime"))
            sim.refresh_lifetime = atoll(v);
        else if (ARG("--auth-timeout"))
            sim.auth_timeout_ms = secs(v);
        else if (ARG("--ping-interval"))
            sim.ping_interval_ms = secs(v);
        else if (ARG("--pong-timeout"))
            sim.pong_timeout_ms = secs(v);
        else if (ARG("--send-timeout"))
            sim.send_timeout_ms = secs(v);
        else if (ARG("--dynamic-interval"))
            sim.dynamic_ms = secs(v);
        else if (ARG("--ws-update-limit")) {
            if (strcmp(v, "0") != 0 && sim_upd_limit_set(v) != 0) {
                sim_log("--ws-update-limit wants N:S[,N:S...] or N");
                return 2;
            }
        } else if (ARG("--ws-queue-limit"))
            sim.queue_limit = strtoul(v, NULL, 10);
        else if (ARG("--sub-limit")) {
            if (sim_sub_limit_set(v, 0) != 0) {
                sim_log("--sub-limit wants N:S[,N:S...][/tenant|/user]");
                return 2;
            }
        } else if (!strcmp(a, "--reorder"))
            sim.reorder = 1;
        else if (ARG("--edition")) {
            if (strcmp(v, "ce") && strcmp(v, "pe")) {
                sim_log("--edition wants ce or pe");
                return 2;
            }
            sim.edition_ce = !strcmp(v, "ce");
        } else {
            usage();
            return 2;
        }
#undef ARG
    }
    if (nassets > 0x0fffffffu - 65536u || ndevices > 0x0fffffffu) {
        sim_log("--assets is limited to %u, --devices to %u", 0x0fffffffu - 65536u, 0x0fffffffu);
        return 2;
    }
    if (sim.inactivity_ms < 1) {
        sim_log("--inactivity-timeout wants a positive number of seconds");
        return 2;
    }
    if (!sim.plain) {
        if (!cert || !key) {
            sim_log("TLS needs --certs DIR or --cert/--key (or --plain)");
            return 2;
        }
        if (sim_tls_load(cert, key) != 0)
            return 2;
    }
    /* sigaction without SA_RESTART: poll() returns EINTR and the loop sees `stop` */
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = SIG_IGN;
    sigaction(SIGPIPE, &sa, NULL);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    sim.start_ms = sim_now_ms();
    sim_ctl_flow_save_start();
    sim_model_init(nassets, ndevices, nkeys, sim.seed);
    sim_device_init();
    sim_jwt_init(sim.seed);
    snprintf(sim.api_addr, sizeof sim.api_addr, "%s", listen_addr);
    sim.api_fd = listen_on(listen_addr, port);
    sim.ctl_fd = listen_on("127.0.0.1", cport);
    if (sim.api_fd < 0 || sim.ctl_fd < 0)
        return 1;
    sim.api_port = bound_port(sim.api_fd);
    cport = bound_port(sim.ctl_fd);
    if (port_file) {
        FILE *f = fopen(port_file, "w");
        if (f) {
            fprintf(f, "api_port=%d\ncontrol_port=%d\n", sim.api_port, cport);
            fclose(f);
        }
    }
    sim_log("api %s://%s:%d control http://127.0.0.1:%d (%u assets, %u devices, %u keys, %s)",
            sim.plain ? "http" : "https", listen_addr, sim.api_port, cport, nassets, ndevices,
            sim.nkeys, sim.flood ? "flood" : "steady");

    struct pollfd *pfd = NULL;
    sim_conn **pc = NULL;
    size_t pcap = 0;
    int64_t last = sim_mono_ms();
    double gen_acc = 0;
    while (!stop) {
        int64_t now = sim_mono_ms();
        if (sim.api_fd < 0 && now >= sim.refuse_until) {
            sim.api_fd = listen_on(listen_addr, sim.api_port);
            if (sim.api_fd < 0)
                sim.refuse_until = now + 100;
        }
        gen_acc += sim.rate * (double)(now - last) / 1000.0;
        last = now;
        if (gen_acc >= 1) {
            unsigned n = gen_acc > 100000 ? 100000 : (unsigned)gen_acc;
            gen_acc -= n;
            sim_gen_tick(n);
        }
        sim_device_timers(now);
        for (sim_session *s = sim.sessions, *nx; s; s = nx) {
            nx = s->next;
            sim_ws_timers(s, now);
        }
        int flooding = 0;
        size_t n = 0, count = 2;
        for (sim_conn *c = sim.conns; c; c = c->next)
            count++;
        if (count > pcap) {
            pcap = count * 2;
            pfd = realloc(pfd, pcap * sizeof *pfd);
            pc = realloc(pc, pcap * sizeof *pc);
        }
        for (sim_conn **pp = &sim.conns; *pp;) {
            sim_conn *c = *pp;
            if (c->delay_until && now >= c->delay_until) {
                c->delay_until = 0;
                sim_buf_put(&c->out, c->delayed.p, c->delayed.len);
                c->delayed.len = 0;
                sim_conn_pump(c, 0, 1);
            }
            if (c->state == SIM_CS_DEAD) {
                *pp = c->next;
                sim_conn_free(c);
                continue;
            }
            short ev = sim_conn_events(c);
            flooding |= c->ws && c->ws->flood && !c->stalled;
            pfd[n].fd = c->fd;
            pfd[n].events = ev;
            pfd[n].revents = 0;
            pc[n++] = c;
            pp = &c->next;
        }
        size_t nconn = n;
        int api_at = -1, ctl_at = (int)n;
        pfd[n].fd = sim.ctl_fd;
        pfd[n++].events = POLLIN;
        if (sim.api_fd >= 0) {
            api_at = (int)n;
            pfd[n].fd = sim.api_fd;
            pfd[n++].events = POLLIN;
        }
        /* flooding sockets ask for POLLOUT, so poll wakes when they take more */
        int timeout = sim.rate > 0 || flooding ? 5 : 50;
        if (poll(pfd, n, timeout) < 0 && errno != EINTR)
            break;
        for (size_t i = 0; i < nconn; i++) {
            short r = pfd[i].revents;
            if (r || pc[i]->out.len)
                sim_conn_pump(pc[i], (r & (POLLIN | POLLHUP | POLLERR)) != 0,
                              (r & (POLLOUT | POLLERR)) != 0);
        }
        if (pfd[ctl_at].revents)
            accept_all(sim.ctl_fd, SIM_CK_CONTROL);
        if (api_at >= 0 && pfd[api_at].revents && sim.api_fd >= 0)
            accept_all(sim.api_fd, SIM_CK_API);
    }
    sim_log("stopping");
    while (sim.conns) {
        sim_conn *c = sim.conns;
        sim.conns = c->next;
        sim_conn_free(c);
    }
    free(pfd);
    free(pc);
    return 0;
}
