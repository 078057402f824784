/*
 * sim_outq.c -- the message boundaries of a connection's output, which model
 * ThingsBoard's per-session send queue and make /stats exact.
 *
 * ThingsBoard sends a session's messages one at a time: one is in flight (an async
 * write), the others wait in a queue, and a message that arrives while the queue
 * already holds max_queue_messages_per_session (1000) closes the session with 1008
 * "Max pending updates limit reached!". Here a message is "in flight" once it is the
 * oldest one not yet handed in full to the socket (plain) or the TLS engine; the ones
 * behind it are the queue. The kernel's socket buffers sit below that line, as they
 * sit below Tomcat's write in ThingsBoard.
 *
 * A message counts as sent (msgs_sent, bytes_sent, values_sent, updates_sent, data_pages) when
 * its last byte is handed over, so a message dropped with the connection before that
 * is never counted, and a client that has received a message can rely on /stats
 * already counting it. Bytes that are not whole text messages (pings, close frames,
 * flood frames, injected partial frames) pass through without being counted here.
 */
#include <stdlib.h>

#include "tests/sim/sim.h"

void sim_outq_push(sim_conn *c, sim_msg_kind kind, size_t len, unsigned values)
{
    if (c->q_len == c->q_cap) {
        /* grow the ring, unrolled to start at 0 */
        size_t cap = c->q_cap ? c->q_cap * 2 : 64;
        struct sim_outmsg *q = malloc(cap * sizeof *q);
        for (size_t i = 0; i < c->q_len; i++)
            q[i] = c->q[(c->q_head + i) % c->q_cap];
        free(c->q);
        c->q = q;
        c->q_cap = cap;
        c->q_head = 0;
    }
    struct sim_outmsg *m = &c->q[(c->q_head + c->q_len) % c->q_cap];
    m->end = c->out_done + c->out.len;
    m->len = (uint32_t)len;
    m->values = values;
    m->kind = (uint8_t)kind;
    c->q_len++;
}

void sim_outq_done(sim_conn *c, size_t n)
{
    c->out_done += n;
    while (c->q_len && c->q[c->q_head].end <= c->out_done) {
        const struct sim_outmsg *m = &c->q[c->q_head];
        sim.st.msgs_sent++;
        sim.st.bytes_sent += m->len;
        sim.st.values_sent += m->values;
        if (m->kind == SIM_MSG_UPDATE || m->kind == SIM_MSG_ATTR_UPDATE)
            sim.st.updates_sent++;
        if (m->kind == SIM_MSG_ATTR_UPDATE)
            sim.st.attr_updates_sent++;
        else if (m->kind == SIM_MSG_DATA)
            sim.st.data_pages++;
        else if (m->kind == SIM_MSG_NOTICE)
            sim.st.notices_34++;
        c->q_head = (c->q_head + 1) % c->q_cap;
        c->q_len--;
    }
}

size_t sim_outq_waiting(const sim_conn *c)
{
    return c->q_len ? c->q_len - 1 : 0;
}

void sim_outq_free(sim_conn *c)
{
    free(c->q);
    c->q = NULL;
    c->q_len = c->q_cap = c->q_head = 0;
}
