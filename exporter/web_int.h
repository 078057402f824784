/*
 * web_int.h -- what exporter/web.c and exporter/web_metrics.c share; not a public
 * contract (that is web.h). struct web is created and freed by web.c; its fields are
 * written only by web_start and web_reload (sec under sec_mu), and read by civetweb's
 * worker threads, which call everything declared here.
 */
#ifndef IOTPRO_EXPORTER_WEB_INT_H
#define IOTPRO_EXPORTER_WEB_INT_H

#include "exporter/web.h"

/* Must match how vendor/civetweb is compiled (Makefile CIVET_DEFS): this macro adds a
 * member to struct mg_callbacks, so without it our struct is smaller than the one
 * mg_start2 copies (found by ASan). */
#ifndef MG_EXPERIMENTAL_INTERFACES
#define MG_EXPERIMENTAL_INTERFACES
#endif
#include "civetweb.h"

#include <pthread.h>
#include <stdatomic.h>

#define WEB_PATH_MAX 160 /* telemetry path, with the NUL (config allows 128) */

/* Room framed around the encoder's buffer for one chunk: "<hex length>\r\n" before
 * (16 bytes hold 13 hex digits, CRLF and snprintf's NUL: any buffer below 2^52), CRLF
 * after. */
#define WEB_CHUNK_HEAD 16
#define WEB_CHUNK_TAIL 2
/* The deadline is checked between writes of at most this much (see web_send): small
 * enough that one slice to a trickling reader ends soon after the deadline, large
 * enough that the extra write calls cost nothing measurable (~10k per 163 MB). */
#define WEB_SLICE (16u * 1024u)

struct web {
    struct mg_context *ctx;
    struct web_callbacks cb;
    char tpath[WEB_PATH_MAX];
    char version[64];
    unsigned max_requests, timeout_ms;
    size_t max_body, stream_buf;
    unsigned deadline_ms;
    struct health *health;
    atomic_int in_flight;
    pthread_mutex_t sec_mu;  /* guards sec (the pointer; the snapshot is immutable) */
    struct websec *sec;      /* web config in force: TLS, users, headers */
    struct tls_front *front; /* the HTTPS port, when sec has TLS */
    char sockdir[256];       /* private directory of civetweb's socket behind front */
};

/* The headers every answer carries (web.c). */
void web_common_headers(struct mg_connection *conn, int html);
/* A whole answer with Content-Length; xname/xvalue: one more header or NULL. Counts
 * the status in health. Returns status. */
int web_reply(struct web *w, struct mg_connection *conn, int status, const char *ctype,
              const char *body, size_t len, int head_only, const char *xname, const char *xvalue);
/* A text/plain answer; allow: the Allow header's value or NULL. Returns status. */
int web_text(struct web *w, struct mg_connection *conn, int status, const char *msg, int head_only,
             const char *allow);

/* GET or HEAD /metrics (web_metrics.c): streamed for HTTP/1.1, whole for HTTP/1.0,
 * 503 past max_requests. Returns the status sent. */
int web_metrics(struct web *w, struct mg_connection *conn, int head);

#endif
