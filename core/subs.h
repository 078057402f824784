/*
 * subs.h -- the subscription ledger: every ENTITY_DATA command of one WebSocket
 * connection, from "to send" until its `data` page has arrived, and what to write
 * next. No I/O; the caller passes the time and random bits.
 *
 * Why it exists. ThingsBoard may never answer a subscription: its per-session update
 * limit drops the `data` page like any other message (errorCode 34 is sent once per
 * episode, not per dropped page), its subscription rate limit answers with an id that
 * is not ours and then sends nothing, and a resubscription may leave the socket in
 * hundreds of pieces. So every command is accounted for until its data arrives, and
 * a command whose data does not come within the deadline is unsubscribed and sent
 * again under a fresh cmdId. Nothing is ever waited on for ever.
 *
 * States of one command (one entry per caller tb_cmd, same index):
 *   QUEUED   to be sent (not before `due`); it has no cmdId yet
 *   SENDING  inside a message handed to the socket, not yet known to be written
 *   PENDING  written (subs_written); data awaited until `deadline`
 *   LIVE     its data page arrived
 * A cmdId is assigned when the command is put into a message, so the ids of one
 * connection increase in the order the commands are written. A command that leaves
 * SENDING/PENDING/LIVE for a resend, or a whole resubscription, puts its old cmdId on
 * the unsubscribe queue, which is written before any subscribe. Every command is
 * therefore written exactly once per send, in order, however the socket splits the
 * stream: subs_build_next() only ever reads the ledger, never a list being rebuilt.
 *
 * Timing. The deadline runs from subs_written() (the caller's word that everything
 * handed over so far has left the process), so a server that is slow to read does not
 * burn it; it is timeout for a first send and doubles with each resend of the same
 * command up to 4 x timeout, so a server slower than the deadline is not chased for
 * ever. After a deadline passes the command waits a jittered delay before it is sent
 * again: uniform in [0, min(first * 2^(n-1), timeout)] for the n-th resend, and
 * commands retried together are spaced apart, so that a subscription rate limit is
 * not hit again by the very retry it caused. Once a condition ends, every command has
 * its data within about 5 x timeout (the longest deadline plus the longest delay).
 *
 * Ownership: the caller owns the entry array and the tb_cmd array (subs_set_commands)
 * and keeps both alive and unmoved while the ledger uses them; tb_cmd's cmd_id and
 * kind are ignored (the ledger writes its own copies into the scratch list).
 * Threads: none; the event-loop thread owns it. Readers elsewhere read a copy of
 * subs_stats taken by the loop.
 */
#ifndef IOTPRO_CORE_SUBS_H
#define IOTPRO_CORE_SUBS_H

#include <stdbool.h>
#include <stdint.h>

#include "core/limits.h"
#include "core/tb.h"

#define SUBS_SCRATCH            256u  /* commands considered per message (unsubscribes are tiny) */
#define SUBS_UNSUB_MAX          2048u /* cmdIds waiting to be unsubscribed */
#define SUBS_DEADLINE_DOUBLINGS 2u    /* a resent command's deadline grows to 4x timeout */
#define SUBS_NEVER              UINT64_MAX

enum {
    SUBS_ERR_ARG = -1501,  /* bad arguments to subs_init / subs_set_commands */
    SUBS_ERR_BUILD = -1502 /* tb_build_next failed: see subs_built.tb_err */
};

typedef enum { SUBS_QUEUED = 0, SUBS_SENDING, SUBS_PENDING, SUBS_LIVE } subs_state;

/* Why a command was sent again (a metric label). */
typedef enum {
    SUBS_RESEND_DATA_TIMEOUT = 0, /* no data page within the deadline */
    SUBS_RESEND_TOO_MANY_UPDATES, /* resubscription after an errorCode-34 episode */
    SUBS_RESEND_ASSETS_CHANGED,   /* rediscovery changed the asset set */
    SUBS_RESEND_KEYS_CHANGED,     /* the configured keys changed (reload) */
    SUBS_RESEND__COUNT
} subs_resend;
const char *subs_resend_name(subs_resend r); /* "data_timeout", ... */

typedef struct {
    uint32_t timeout_ms;     /* data deadline after the write (30 000) */
    uint32_t retry_first_ms; /* first resend delay envelope (1 000); grows to timeout */
    uint32_t spacing_ms;     /* gap between commands retried together (250) */
} subs_config;
void subs_config_defaults(subs_config *c);

typedef struct {
    int32_t cmd_id;  /* 0 while QUEUED */
    uint8_t state;   /* subs_state */
    uint8_t resends; /* sends since data last arrived, minus one */
    uint64_t at;     /* QUEUED: not before; PENDING: deadline */
} subs_entry;

typedef struct {
    uint64_t resends[SUBS_RESEND__COUNT];
    uint64_t commands_sent; /* subscribe commands written (first sends included) */
    uint64_t unsubscribes_sent;
    uint64_t data_received; /* data pages that completed a command */
} subs_stats;

/* What the last subs_build_next() put into its message: the commands in order, with
 * their cmdIds (kind SUBSCRIBE: expect its data; UNSUBSCRIBE: forget the id). Valid
 * until the next call. */
typedef struct {
    const tb_cmd *cmds;
    uint32_t n;
    int tb_err; /* with SUBS_ERR_BUILD */
} subs_built;

typedef struct {
    subs_config cfg;
    subs_entry *e; /* caller's, cap entries */
    uint32_t cap, n;
    const tb_cmd *tmpl;            /* caller's commands, n of them */
    int32_t unsub[SUBS_UNSUB_MAX]; /* cmdIds to unsubscribe, oldest first */
    uint32_t unsub_n;
    uint32_t unsub_dropped; /* ids that did not fit: the server keeps them; harmless */
    int32_t next_id;        /* next cmdId to hand out */
    bool wrapped;           /* ids went past LIM_TB_CMDS-1: skip ids still held */
    bool auth_pending;      /* the first message must carry authCmd */
    bool open;              /* a connection is open (subs_connect .. subs_disconnect) */
    tb_cmd scratch[SUBS_SCRATCH];
    uint32_t scratch_entry[SUBS_SCRATCH]; /* entry index, or UINT32_MAX for an unsub */
    subs_stats st;
} subs;

/* Empty ledger over the caller's entry array (cap entries). cfg NULL = defaults. */
int subs_init(subs *s, subs_entry *entries, uint32_t cap, const subs_config *cfg);

/* The commands of the current asset table (n <= cap). On an open connection every
 * old cmdId is unsubscribed and the new commands queued (why is counted per command
 * that was sent before); closed, they are simply kept for the next subs_connect(). */
int subs_set_commands(subs *s, const tb_cmd *cmds, uint32_t n, uint64_t now, subs_resend why);

/* A new connection is open: authCmd first, then every command with fresh cmdIds from
 * 1. subs_disconnect(): the connection is gone (the server forgot everything). */
void subs_connect(subs *s, uint64_t now);
void subs_disconnect(subs *s);

/* Unsubscribe every command sent so far and send all of them again (fresh data). */
void subs_resubscribe(subs *s, uint64_t now, subs_resend why);

/* Builds the next message into out[0..cap): unsubscribes first, then QUEUED commands
 * that are due, as many whole ones as fit (tb_build_next). token (raw JWT) is used only
 * for the connection's first message. Returns the length, 0 when nothing is due now,
 * or SUBS_ERR_BUILD. The commands in it become SENDING: hand the message to the
 * socket before the next call (a message not sent must not be built). */
int subs_build_next(subs *s, const char *token, size_t token_len, char *out, size_t cap,
                    uint64_t now, subs_built *b);

/* Everything handed over so far has been written: SENDING commands become PENDING
 * with their deadline. */
void subs_written(subs *s, uint64_t now);

/* A data page for cmd_id arrived. Returns true when it completed a command of ours. */
bool subs_on_data(subs *s, int32_t cmd_id);

/* Moves PENDING commands past their deadline back to QUEUED (counted as
 * data_timeout), spaced and jittered with rnd. Returns how many. */
uint32_t subs_expire(subs *s, uint64_t now, uint32_t rnd);

/* Earliest time subs_expire() or subs_build_next() has something to do, or
 * SUBS_NEVER. A time in the past means "now" (something is due to be sent). */
uint64_t subs_next_deadline(const subs *s);

/* Counts by state (open connection only; all zero when closed). */
typedef struct {
    uint32_t queued, sending, pending, live, overdue; /* overdue: PENDING past deadline */
} subs_counts;
subs_counts subs_count(const subs *s, uint64_t now);

/* True while every command has its data (and there are no writes left to do). */
bool subs_all_live(const subs *s);

const subs_stats *subs_get_stats(const subs *s);

#endif
