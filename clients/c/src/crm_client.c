/*
 * crm_client.c: the CRM wire protocol (proto/README.md) over one TCP connection.
 *
 * Design: the socket is non-blocking (after a blocking connect and, for TLS, a blocking handshake).
 * With TLS every byte goes through OpenSSL's SSL_read/SSL_write on that socket (io_recv/io_send);
 * the rest of the client sees the same byte stream either way. Outgoing frames are appended whole to a write buffer (so a
 * Pong or a Cancel can never land inside another frame) and flushed whenever poll() says the socket
 * is writable; incoming bytes are appended to a read buffer and cut into frames (4-byte big-endian
 * length + Envelope). A blocking call loops on poll() with the time left until its own final
 * Response arrives, dispatching every other frame on the way (Ping -> Pong, GoAway remembered,
 * Responses of other call ids ignored).
 */
#define _POSIX_C_SOURCE 200809L

#include "crm_client.h"

#include "crm/wire/v1/envelope.pb-c.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#define READ_CHUNK 65536u
#define MIN_FRAME_LIMIT 1024u

typedef enum { CALL_UNARY = 1, CALL_STREAM = 2 } call_kind;

struct crm_client {
    int fd;                 /* -1 once the connection is closed */
    SSL_CTX *tls_ctx;       /* TLS only: this client's context and connection (NULL in plaintext) */
    SSL *tls;
    char *authorization;    /* "Bearer <token>", or NULL */
    uint64_t next_call_id;  /* 1, 2, 3, ... never reused */
    uint64_t next_opaque;   /* Ping opaque values */
    uint32_t max_frame;

    uint8_t *rbuf;          /* received bytes not yet consumed: rbuf[rstart..rend) */
    size_t rcap, rstart, rend;
    uint8_t *wbuf;          /* frames not yet written: wbuf[wstart..wend) */
    size_t wcap, wstart, wend;

    int broken;             /* 0, or the CRM_ERR_* that ended the connection */
    int goaway;
    uint64_t goaway_last_call_id;
    char *goaway_reason;
    int conn_status_set;    /* a Response with call_id 0 arrived */
    int conn_status_code;
    char *conn_status_message;

    /* The call being waited for (id 0: none). */
    struct {
        uint64_t id;
        call_kind kind;
        int done;
        int aborted;
        crm_stream_cb on_message;
        void *user;
        crm_status *status;
        uint8_t *payload;
        size_t payload_len;
    } call;

    uint64_t ping_waiting;  /* opaque of the Ping we wait for, 0 if none */
    int pong_seen;

    char err[512];
};

static _Thread_local char connect_error[512];

/* ------------------------------------------------------------------------------------------------ */
/* small helpers */

static int64_t now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void set_error(crm_client *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void set_error(crm_client *c, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(c->err, sizeof c->err, fmt, ap);
    va_end(ap);
}

/* Ends the connection: later calls fail with CRM_ERR_CLOSED. Returns rc. */
static int break_connection(crm_client *c, int rc, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int break_connection(crm_client *c, int rc, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(c->err, sizeof c->err, fmt, ap);
    va_end(ap);
    if (c->fd >= 0) {
        close(c->fd);
        c->fd = -1;
    }
    if (!c->broken) c->broken = rc;
    c->wstart = c->wend = 0;
    return rc;
}

static char *dup_string(const char *s) {
    if (s == NULL) s = "";
    size_t n = strlen(s) + 1;
    char *d = malloc(n);
    if (d) memcpy(d, s, n);
    return d;
}

static void put_be32(uint8_t *p, uint32_t v) {
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

static uint32_t get_be32(const uint8_t *p) {
    return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | (uint32_t)p[3];
}

/* ------------------------------------------------------------------------------------------------ */
/* transport: plaintext or TLS, with recv/send's contract (bytes, 0 at EOF, -1 and errno) */

/* The first OpenSSL error queued, as text ("" if none); clears the queue. */
static void tls_error_text(char *out, size_t n) {
    unsigned long e = ERR_get_error();
    if (e == 0) snprintf(out, n, "no detail");
    else ERR_error_string_n(e, out, n);
    ERR_clear_error();
}

/* recv() through TLS when the connection has it. A TLS failure sets errno to EPROTO and leaves the
 * reason in c->err. */
static ssize_t io_recv(crm_client *c, void *buf, size_t n) {
    if (!c->tls) return recv(c->fd, buf, n, 0);
    int want = n > INT_MAX ? INT_MAX : (int)n;
    ERR_clear_error();
    int r = SSL_read(c->tls, buf, want);
    if (r > 0) return r;
    switch (SSL_get_error(c->tls, r)) {
    case SSL_ERROR_WANT_READ:
    case SSL_ERROR_WANT_WRITE:
        errno = EAGAIN;
        return -1;
    case SSL_ERROR_ZERO_RETURN:
        return 0;
    case SSL_ERROR_SYSCALL:
        if (errno == 0) return 0; /* the peer closed without close_notify */
        return -1;
    default: {
        char detail[256];
        tls_error_text(detail, sizeof detail);
        set_error(c, "TLS: %s", detail);
        errno = EPROTO;
        return -1;
    }
    }
}

/* send() through TLS when the connection has it (partial writes allowed, see crm_client_connect_tls). */
static ssize_t io_send(crm_client *c, const void *buf, size_t n) {
    if (!c->tls) return send(c->fd, buf, n, MSG_NOSIGNAL);
    int want = n > INT_MAX ? INT_MAX : (int)n;
    ERR_clear_error();
    int r = SSL_write(c->tls, buf, want);
    if (r > 0) return r;
    switch (SSL_get_error(c->tls, r)) {
    case SSL_ERROR_WANT_READ:
    case SSL_ERROR_WANT_WRITE:
        errno = EAGAIN;
        return -1;
    case SSL_ERROR_SYSCALL:
        if (errno == 0) errno = EPIPE;
        return -1;
    default: {
        char detail[256];
        tls_error_text(detail, sizeof detail);
        set_error(c, "TLS: %s", detail);
        errno = EPROTO;
        return -1;
    }
    }
}

/* ------------------------------------------------------------------------------------------------ */
/* status */

void crm_status_init(crm_status *status) {
    if (status) memset(status, 0, sizeof *status);
}

void crm_status_free(crm_status *status) {
    if (!status) return;
    free(status->message);
    for (size_t i = 0; i < status->n_violations; i++) {
        free(status->violations[i].field);
        free(status->violations[i].description);
    }
    free(status->violations);
    memset(status, 0, sizeof *status);
}

void crm_free(void *bytes) { free(bytes); }

static int status_set(crm_status *st, int code, const char *message) {
    crm_status_free(st);
    st->code = code;
    st->message = dup_string(message);
    return st->message ? CRM_OK : CRM_ERR_NOMEM;
}

/* A missing status (NULL) is OK, as is an empty one (proto/README.md §3.3). */
static int status_from_wire(crm_status *st, const Crm__Wire__V1__Status *ws) {
    int rc = status_set(st, ws ? (int)ws->code : CRM_STATUS_OK, ws ? ws->message : "");
    if (rc != CRM_OK || !ws || ws->n_field_violations == 0) return rc;
    st->violations = calloc(ws->n_field_violations, sizeof *st->violations);
    if (!st->violations) return CRM_ERR_NOMEM;
    for (size_t i = 0; i < ws->n_field_violations; i++) {
        const Crm__Wire__V1__FieldViolation *v = ws->field_violations[i];
        st->violations[i].field = dup_string(v ? v->field : "");
        st->violations[i].description = dup_string(v ? v->description : "");
        st->n_violations = i + 1;
        if (!st->violations[i].field || !st->violations[i].description) return CRM_ERR_NOMEM;
    }
    return CRM_OK;
}

const char *crm_status_code_name(int code) {
    static const char *const names[] = {
        "OK", "CANCELLED", "UNKNOWN", "INVALID_ARGUMENT", "DEADLINE_EXCEEDED", "NOT_FOUND",
        "ALREADY_EXISTS", "PERMISSION_DENIED", "RESOURCE_EXHAUSTED", "FAILED_PRECONDITION",
        "ABORTED", "OUT_OF_RANGE", "UNIMPLEMENTED", "INTERNAL", "UNAVAILABLE", "DATA_LOSS",
        "UNAUTHENTICATED"};
    if (code < 0 || code >= (int)(sizeof names / sizeof names[0])) return "UNKNOWN_CODE";
    return names[code];
}

const char *crm_strerror(int rc) {
    switch (rc) {
    case CRM_OK: return "ok";
    case CRM_ERR_INVALID: return "invalid argument";
    case CRM_ERR_IO: return "i/o error";
    case CRM_ERR_TIMEOUT: return "deadline exceeded (client timer)";
    case CRM_ERR_PROTOCOL: return "protocol violation by the server";
    case CRM_ERR_TOO_LARGE: return "frame above the size limit";
    case CRM_ERR_NOMEM: return "out of memory";
    case CRM_ERR_CLOSED: return "connection closed";
    case CRM_ERR_GOAWAY: return "server sent GoAway; reconnect";
    case CRM_ERR_ABORTED: return "stream stopped by the callback";
    default: return "unknown error";
    }
}

/* ------------------------------------------------------------------------------------------------ */
/* connection */

static int start_tls(crm_client *c, const char *host, uint16_t port, const crm_tls_options *tls);

int crm_client_connect(const char *host, uint16_t port, const char *token, crm_client **out) {
    return crm_client_connect_tls(host, port, token, NULL, out);
}

int crm_client_connect_tls(const char *host, uint16_t port, const char *token, const crm_tls_options *tls,
                           crm_client **out) {
    connect_error[0] = '\0';
    if (out) *out = NULL;
    if (!host || !out || (tls && !tls->ca_file) || (tls && !tls->cert_file != !tls->key_file)) {
        snprintf(connect_error, sizeof connect_error,
                 "crm_client_connect: host and out are required (with TLS: ca_file, and cert_file with key_file)");
        return CRM_ERR_INVALID;
    }
    crm_client *c = calloc(1, sizeof *c);
    if (!c) {
        snprintf(connect_error, sizeof connect_error, "out of memory");
        return CRM_ERR_NOMEM;
    }
    c->fd = -1;
    c->next_call_id = 1;
    c->next_opaque = 1;
    c->max_frame = CRM_MAX_FRAME_BYTES;
    if (token && token[0]) {
        size_t n = strlen(token);
        c->authorization = malloc(n + 8);
        if (!c->authorization) {
            free(c);
            snprintf(connect_error, sizeof connect_error, "out of memory");
            return CRM_ERR_NOMEM;
        }
        memcpy(c->authorization, "Bearer ", 7);
        memcpy(c->authorization + 7, token, n + 1);
    }

    char service[8];
    snprintf(service, sizeof service, "%u", (unsigned)port);
    struct addrinfo hints, *res = NULL;
    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    int gai = getaddrinfo(host, service, &hints, &res);
    if (gai != 0) {
        snprintf(connect_error, sizeof connect_error, "cannot resolve %s: %s", host, gai_strerror(gai));
        crm_client_close(c);
        return CRM_ERR_IO;
    }
    int last_errno = 0;
    for (struct addrinfo *ai = res; ai; ai = ai->ai_next) {
        int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
        if (fd < 0) {
            last_errno = errno;
            continue;
        }
        int r;
        do {
            r = connect(fd, ai->ai_addr, ai->ai_addrlen);
        } while (r < 0 && errno == EINTR);
        if (r == 0) {
            c->fd = fd;
            break;
        }
        last_errno = errno;
        close(fd);
    }
    freeaddrinfo(res);
    if (c->fd < 0) {
        snprintf(connect_error, sizeof connect_error, "cannot connect to %s:%u: %s", host, (unsigned)port,
                 strerror(last_errno));
        crm_client_close(c);
        return CRM_ERR_IO;
    }
    int one = 1;
    if (setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one) < 0) {
        snprintf(connect_error, sizeof connect_error, "cannot configure the socket: %s", strerror(errno));
        crm_client_close(c);
        return CRM_ERR_IO;
    }
    if (tls) {
        int rc = start_tls(c, host, port, tls);
        if (rc != CRM_OK) {
            crm_client_close(c);
            return rc;
        }
    }
    int flags = fcntl(c->fd, F_GETFL);
    if (flags < 0 || fcntl(c->fd, F_SETFL, flags | O_NONBLOCK) < 0) {
        snprintf(connect_error, sizeof connect_error, "cannot configure the socket: %s", strerror(errno));
        crm_client_close(c);
        return CRM_ERR_IO;
    }
    *out = c;
    return CRM_OK;
}

/* The TLS handshake on the connected, still blocking socket: TLS 1.3 only, ALPN crm/1, the server's
 * certificate verified against the CA and the expected name. */
static int start_tls(crm_client *c, const char *host, uint16_t port, const crm_tls_options *tls) {
    static const unsigned char alpn[] = {5, 'c', 'r', 'm', '/', '1'};
    const char *name = tls->server_name ? tls->server_name : host;
    char detail[256];
    ERR_clear_error();
    c->tls_ctx = SSL_CTX_new(TLS_client_method());
    if (!c->tls_ctx || !SSL_CTX_set_min_proto_version(c->tls_ctx, TLS1_3_VERSION) ||
        !SSL_CTX_set_max_proto_version(c->tls_ctx, TLS1_3_VERSION)) {
        tls_error_text(detail, sizeof detail);
        snprintf(connect_error, sizeof connect_error, "cannot set up TLS 1.3: %s", detail);
        return CRM_ERR_IO;
    }
    SSL_CTX_set_verify(c->tls_ctx, SSL_VERIFY_PEER, NULL);
    /* A server that closes without close_notify has simply closed: EOF, not an error. */
    SSL_CTX_set_options(c->tls_ctx, SSL_OP_IGNORE_UNEXPECTED_EOF);
    /* Frames are appended to the write buffer whole and flushed as the socket takes them. */
    SSL_CTX_set_mode(c->tls_ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
    if (SSL_CTX_load_verify_locations(c->tls_ctx, tls->ca_file, NULL) != 1) {
        tls_error_text(detail, sizeof detail);
        snprintf(connect_error, sizeof connect_error, "cannot read the CA file %s: %s", tls->ca_file, detail);
        return CRM_ERR_INVALID;
    }
    if (tls->cert_file && (SSL_CTX_use_certificate_chain_file(c->tls_ctx, tls->cert_file) != 1 ||
                           SSL_CTX_use_PrivateKey_file(c->tls_ctx, tls->key_file, SSL_FILETYPE_PEM) != 1 ||
                           SSL_CTX_check_private_key(c->tls_ctx) != 1)) {
        tls_error_text(detail, sizeof detail);
        snprintf(connect_error, sizeof connect_error, "cannot use the client certificate %s with key %s: %s",
                 tls->cert_file, tls->key_file, detail);
        return CRM_ERR_INVALID;
    }
    if (SSL_CTX_set_alpn_protos(c->tls_ctx, alpn, sizeof alpn) != 0 || !(c->tls = SSL_new(c->tls_ctx)) ||
        SSL_set_fd(c->tls, c->fd) != 1) {
        tls_error_text(detail, sizeof detail);
        snprintf(connect_error, sizeof connect_error, "cannot set up TLS: %s", detail);
        return CRM_ERR_IO;
    }
    /* An address is checked against the certificate's IP addresses and never sent as SNI. */
    unsigned char ip[16];
    int is_ip = inet_pton(AF_INET, name, ip) == 1 || inet_pton(AF_INET6, name, ip) == 1;
    int named = is_ip ? X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(c->tls), name)
                      : SSL_set_tlsext_host_name(c->tls, name) == 1 && SSL_set1_host(c->tls, name) == 1;
    if (!named) {
        snprintf(connect_error, sizeof connect_error, "cannot verify the server as '%s'", name);
        return CRM_ERR_INVALID;
    }
    int r;
    do {
        ERR_clear_error();
        r = SSL_connect(c->tls);
    } while (r != 1 && SSL_get_error(c->tls, r) == SSL_ERROR_SYSCALL && errno == EINTR);
    if (r != 1) {
        long verify = SSL_get_verify_result(c->tls);
        if (verify != X509_V_OK)
            snprintf(detail, sizeof detail, "the server's certificate was refused: %s",
                     X509_verify_cert_error_string(verify));
        else if (SSL_get_error(c->tls, r) == SSL_ERROR_SYSCALL && ERR_peek_error() == 0)
            snprintf(detail, sizeof detail, "the connection closed during the handshake%s%s",
                     errno ? ": " : "", errno ? strerror(errno) : "");
        else
            tls_error_text(detail, sizeof detail);
        snprintf(connect_error, sizeof connect_error, "TLS handshake with %s:%u failed: %s", host, (unsigned)port,
                 detail);
        return CRM_ERR_IO;
    }
    return CRM_OK;
}

void crm_client_close(crm_client *c) {
    if (!c) return;
    if (c->tls) {
        if (c->fd >= 0) (void)SSL_shutdown(c->tls); /* close_notify, best effort; no wait for the reply */
        SSL_free(c->tls);
    }
    SSL_CTX_free(c->tls_ctx);
    if (c->fd >= 0) close(c->fd);
    free(c->authorization);
    free(c->rbuf);
    free(c->wbuf);
    free(c->goaway_reason);
    free(c->conn_status_message);
    free(c->call.payload);
    free(c);
}

const char *crm_client_last_error(const crm_client *c) { return c ? c->err : connect_error; }

int crm_client_set_max_frame_bytes(crm_client *c, uint32_t max_frame_bytes) {
    if (!c) return CRM_ERR_INVALID;
    if (max_frame_bytes < MIN_FRAME_LIMIT) {
        set_error(c, "the frame limit must be at least %u bytes", MIN_FRAME_LIMIT);
        return CRM_ERR_INVALID;
    }
    c->max_frame = max_frame_bytes;
    return CRM_OK;
}

int crm_client_goaway_received(const crm_client *c, uint64_t *last_call_id) {
    if (!c || !c->goaway) return 0;
    if (last_call_id) *last_call_id = c->goaway_last_call_id;
    return 1;
}

uint64_t crm_client_next_call_id(const crm_client *c) { return c ? c->next_call_id : 0; }

/* ------------------------------------------------------------------------------------------------ */
/* writing */

/* Appends one frame (prefix + envelope) to the write buffer. The frame limit is checked first. */
static int enqueue(crm_client *c, const Crm__Wire__V1__Envelope *env) {
    size_t n = crm__wire__v1__envelope__get_packed_size(env);
    if (n > c->max_frame) {
        set_error(c, "the request frame would be %zu bytes, above the limit of %u bytes; not sent", n,
                  c->max_frame);
        return CRM_ERR_TOO_LARGE;
    }
    size_t need = 4 + n;
    if (c->wstart == c->wend) c->wstart = c->wend = 0;
    if (c->wcap - c->wend < need) {
        if (c->wstart > 0) {
            memmove(c->wbuf, c->wbuf + c->wstart, c->wend - c->wstart);
            c->wend -= c->wstart;
            c->wstart = 0;
        }
        if (c->wcap - c->wend < need) {
            size_t cap = c->wcap ? c->wcap : 4096;
            while (cap - c->wend < need) cap *= 2;
            uint8_t *nb = realloc(c->wbuf, cap);
            if (!nb) {
                set_error(c, "out of memory for a frame of %zu bytes", n);
                return CRM_ERR_NOMEM;
            }
            c->wbuf = nb;
            c->wcap = cap;
        }
    }
    put_be32(c->wbuf + c->wend, (uint32_t)n);
    crm__wire__v1__envelope__pack(env, c->wbuf + c->wend + 4);
    c->wend += need;
    return CRM_OK;
}

static int process_frames(crm_client *c);

/* Reads whatever has arrived without blocking and dispatches the complete frames. */
static int read_available(crm_client *c) {
    /* Bounded, so that a server that never stops sending cannot starve the deadline check. */
    for (int round = 0; round < 16; round++) {
        if (c->fd < 0) return c->broken ? c->broken : CRM_ERR_CLOSED;
        if (c->rstart == c->rend) c->rstart = c->rend = 0;
        if (c->rcap - c->rend < READ_CHUNK / 4) {
            if (c->rstart > 0) {
                memmove(c->rbuf, c->rbuf + c->rstart, c->rend - c->rstart);
                c->rend -= c->rstart;
                c->rstart = 0;
            }
            if (c->rcap - c->rend < READ_CHUNK / 4) {
                size_t cap = c->rcap ? c->rcap * 2 : READ_CHUNK;
                uint8_t *nb = realloc(c->rbuf, cap);
                if (!nb) return break_connection(c, CRM_ERR_NOMEM, "out of memory for the read buffer");
                c->rbuf = nb;
                c->rcap = cap;
            }
        }
        ssize_t r = io_recv(c, c->rbuf + c->rend, c->rcap - c->rend);
        if (r < 0) {
            if (errno == EINTR) continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK) return CRM_OK;
            if (errno == ECONNRESET)
                return break_connection(c, CRM_ERR_CLOSED, "the server reset the connection");
            if (errno == EPROTO && c->tls) {
                char reason[sizeof c->err];
                memcpy(reason, c->err, sizeof reason);
                return break_connection(c, CRM_ERR_IO, "read error: %s", reason);
            }
            return break_connection(c, CRM_ERR_IO, "read error: %s", strerror(errno));
        }
        if (r == 0) {
            if (c->rend > c->rstart)
                return break_connection(c, CRM_ERR_CLOSED,
                                        "the server closed the connection in the middle of a frame");
            return break_connection(c, CRM_ERR_CLOSED, "the server closed the connection");
        }
        c->rend += (size_t)r;
        int rc = process_frames(c);
        if (rc != CRM_OK) return rc;
    }
    return CRM_OK;
}

/* Writes as much of the write buffer as the socket takes now. */
static int flush_available(crm_client *c) {
    while (c->wstart < c->wend) {
        if (c->fd < 0) return c->broken ? c->broken : CRM_ERR_CLOSED;
        ssize_t w = io_send(c, c->wbuf + c->wstart, c->wend - c->wstart);
        if (w < 0) {
            if (errno == EINTR) continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK) return CRM_OK;
            int e = errno;
            /* The server may have said why before closing (a call_id 0 status): read it first. */
            (void)read_available(c);
            if (c->broken) return c->broken;
            if (e == EPIPE || e == ECONNRESET)
                return break_connection(c, CRM_ERR_CLOSED, "the server closed the connection");
            return break_connection(c, CRM_ERR_IO, "write error: %s", strerror(e));
        }
        c->wstart += (size_t)w;
    }
    c->wstart = c->wend = 0;
    return CRM_OK;
}

static int send_cancel(crm_client *c, uint64_t call_id) {
    Crm__Wire__V1__Cancel cancel = CRM__WIRE__V1__CANCEL__INIT;
    Crm__Wire__V1__Envelope env = CRM__WIRE__V1__ENVELOPE__INIT;
    cancel.call_id = call_id;
    env.kind_case = CRM__WIRE__V1__ENVELOPE__KIND_CANCEL;
    env.cancel = &cancel;
    int rc = enqueue(c, &env);
    if (rc == CRM_OK && c->fd >= 0) rc = flush_available(c);
    return rc;
}

/* ------------------------------------------------------------------------------------------------ */
/* reading */

static void forget_call(crm_client *c) {
    c->call.id = 0;
    c->call.on_message = NULL;
    c->call.user = NULL;
    c->call.status = NULL;
}

static int dispatch_response(crm_client *c, const Crm__Wire__V1__Response *r) {
    if (r->call_id == 0) {
        /* Connection-level status: the server is about to close; every open call is lost. */
        c->conn_status_set = 1;
        c->conn_status_code = r->status ? (int)r->status->code : CRM_STATUS_UNKNOWN;
        free(c->conn_status_message);
        c->conn_status_message = dup_string(r->status ? r->status->message : "");
        return break_connection(c, CRM_ERR_CLOSED, "the server is closing the connection: %s: %s",
                                crm_status_code_name(c->conn_status_code),
                                c->conn_status_message ? c->conn_status_message : "");
    }
    if (r->call_id != c->call.id) return CRM_OK; /* not ours (abandoned or unknown): ignore */
    if (!r->end_of_stream) {
        if (c->call.kind != CALL_STREAM) return CRM_OK; /* a unary call ignores non-final frames */
        if (c->call.on_message(c->call.user, r->payload.data, r->payload.len) != 0) {
            c->call.aborted = 1;
            c->call.id = 0; /* its remaining frames will be ignored */
        }
        return CRM_OK;
    }
    int rc = status_from_wire(c->call.status, r->status);
    if (rc == CRM_OK && c->call.kind == CALL_UNARY && c->call.status->code == CRM_STATUS_OK) {
        c->call.payload = malloc(r->payload.len ? r->payload.len : 1);
        if (!c->call.payload) rc = CRM_ERR_NOMEM;
        else {
            if (r->payload.len) memcpy(c->call.payload, r->payload.data, r->payload.len);
            c->call.payload_len = r->payload.len;
        }
    }
    c->call.done = 1;
    forget_call(c);
    if (rc != CRM_OK) set_error(c, "out of memory decoding the final response");
    return rc;
}

static int dispatch(crm_client *c, const uint8_t *body, uint32_t n) {
    Crm__Wire__V1__Envelope *env = crm__wire__v1__envelope__unpack(NULL, n, body);
    if (!env)
        return break_connection(c, CRM_ERR_PROTOCOL,
                                "the server sent a frame of %u bytes that does not decode as crm.wire.v1.Envelope", n);
    int rc = CRM_OK;
    switch (env->kind_case) {
    case CRM__WIRE__V1__ENVELOPE__KIND_RESPONSE:
        rc = dispatch_response(c, env->response);
        break;
    case CRM__WIRE__V1__ENVELOPE__KIND_PING: {
        Crm__Wire__V1__Pong pong = CRM__WIRE__V1__PONG__INIT;
        Crm__Wire__V1__Envelope out = CRM__WIRE__V1__ENVELOPE__INIT;
        pong.opaque = env->ping->opaque;
        out.kind_case = CRM__WIRE__V1__ENVELOPE__KIND_PONG;
        out.pong = &pong;
        rc = enqueue(c, &out); /* flushed by the wait loop */
        break;
    }
    case CRM__WIRE__V1__ENVELOPE__KIND_PONG:
        if (c->ping_waiting != 0 && env->pong->opaque == c->ping_waiting) c->pong_seen = 1;
        break;
    case CRM__WIRE__V1__ENVELOPE__KIND_GO_AWAY:
        c->goaway = 1;
        c->goaway_last_call_id = env->go_away->last_call_id;
        free(c->goaway_reason);
        c->goaway_reason = dup_string(env->go_away->reason);
        break;
    case CRM__WIRE__V1__ENVELOPE__KIND_REQUEST:
    case CRM__WIRE__V1__ENVELOPE__KIND_CANCEL:
        rc = break_connection(c, CRM_ERR_PROTOCOL, "the server sent a %s, which only clients send",
                              env->kind_case == CRM__WIRE__V1__ENVELOPE__KIND_REQUEST ? "Request" : "Cancel");
        break;
    default:
        rc = break_connection(c, CRM_ERR_PROTOCOL, "the server sent an envelope with no (known) kind");
        break;
    }
    crm__wire__v1__envelope__free_unpacked(env, NULL);
    return rc;
}

static int process_frames(crm_client *c) {
    while (c->fd >= 0 && c->rend - c->rstart >= 4) {
        const uint8_t *p = c->rbuf + c->rstart;
        uint32_t n = get_be32(p);
        if (n > c->max_frame)
            return break_connection(c, CRM_ERR_TOO_LARGE,
                                    "the server announced a frame of %u bytes, above the limit of %u bytes; "
                                    "connection closed", n, c->max_frame);
        size_t total = 4 + (size_t)n;
        if (c->rend - c->rstart < total) {
            /* Incomplete: make sure the whole frame will fit in the buffer. */
            if (c->rcap - c->rstart < total) {
                memmove(c->rbuf, p, c->rend - c->rstart);
                c->rend -= c->rstart;
                c->rstart = 0;
                if (c->rcap < total + READ_CHUNK / 4) {
                    uint8_t *nb = realloc(c->rbuf, total + READ_CHUNK / 4);
                    if (!nb) return break_connection(c, CRM_ERR_NOMEM, "out of memory for a frame of %u bytes", n);
                    c->rbuf = nb;
                    c->rcap = total + READ_CHUNK / 4;
                }
            }
            return CRM_OK;
        }
        c->rstart += total;
        int rc = dispatch(c, p + 4, n); /* p stays valid: dispatch never touches rbuf */
        if (rc != CRM_OK) return rc;
    }
    return CRM_OK;
}

/* Runs the connection until done(c) holds, the connection breaks, or the absolute deadline
 * (CLOCK_MONOTONIC ns; < 0 = none) passes (CRM_ERR_TIMEOUT). */
static int run_until(crm_client *c, int64_t deadline, int (*done)(const crm_client *)) {
    for (;;) {
        if (done(c)) return CRM_OK;
        if (c->broken || c->fd < 0) return c->broken ? c->broken : CRM_ERR_CLOSED;
        int timeout = -1;
        if (deadline >= 0) {
            int64_t left = deadline - now_ns();
            if (left <= 0) return CRM_ERR_TIMEOUT;
            int64_t ms = (left + 999999) / 1000000;
            timeout = ms > INT_MAX ? INT_MAX : (int)ms;
        }
        struct pollfd pfd = {.fd = c->fd, .events = POLLIN, .revents = 0};
        if (c->wstart < c->wend) pfd.events |= POLLOUT;
        /* Bytes OpenSSL already took off the socket are not seen by poll: read them first. */
        if (c->tls && SSL_has_pending(c->tls)) timeout = 0;
        int n = poll(&pfd, 1, timeout);
        if (n < 0) {
            if (errno == EINTR) continue;
            return break_connection(c, CRM_ERR_IO, "poll: %s", strerror(errno));
        }
        if (c->tls && SSL_has_pending(c->tls)) pfd.revents |= POLLIN;
        if (n == 0 && !(pfd.revents & POLLIN)) continue;
        int rc = CRM_OK;
        if (pfd.revents & (POLLIN | POLLHUP | POLLERR)) rc = read_available(c);
        if (rc == CRM_OK && c->fd >= 0 && (pfd.revents & POLLOUT)) rc = flush_available(c);
        if (rc != CRM_OK) return done(c) ? CRM_OK : rc;
    }
}

static int call_finished(const crm_client *c) { return c->call.done || c->call.aborted; }
static int pong_arrived(const crm_client *c) { return c->pong_seen; }

/* ------------------------------------------------------------------------------------------------ */
/* calls */

/* Fills the status of a call that failed locally and returns rc. */
static int fail_call(crm_client *c, crm_status *st, int rc) {
    int code;
    const char *msg = c->err;
    switch (rc) {
    case CRM_ERR_TIMEOUT: code = CRM_STATUS_DEADLINE_EXCEEDED; break;
    case CRM_ERR_TOO_LARGE: code = CRM_STATUS_RESOURCE_EXHAUSTED; break;
    case CRM_ERR_NOMEM: code = CRM_STATUS_RESOURCE_EXHAUSTED; break;
    case CRM_ERR_INVALID: code = CRM_STATUS_INVALID_ARGUMENT; break;
    case CRM_ERR_ABORTED: code = CRM_STATUS_CANCELLED; break;
    case CRM_ERR_PROTOCOL: code = CRM_STATUS_INTERNAL; break;
    default: code = CRM_STATUS_UNAVAILABLE; break;
    }
    if (c->conn_status_set && (rc == CRM_ERR_CLOSED || rc == CRM_ERR_IO)) {
        code = c->conn_status_code;
        msg = c->conn_status_message ? c->conn_status_message : c->err;
    }
    (void)status_set(st, code, msg);
    return rc;
}

static int do_call(crm_client *c, call_kind kind, const char *method, const uint8_t *request,
                   size_t request_len, uint32_t deadline_ms, uint8_t **response, size_t *response_len,
                   crm_stream_cb on_message, void *user, crm_status *st) {
    if (response) *response = NULL;
    if (response_len) *response_len = 0;
    if (!c) return CRM_ERR_INVALID;
    if (!st) {
        set_error(c, "invalid argument: status is required");
        return CRM_ERR_INVALID;
    }
    crm_status_free(st);
    if (!method || !method[0] || (request_len > 0 && !request) ||
        (kind == CALL_UNARY && (!response || !response_len)) || (kind == CALL_STREAM && !on_message)) {
        set_error(c, "invalid argument: method, request (when request_len > 0), %s and status are required",
                  kind == CALL_UNARY ? "response, response_len" : "on_message");
        return fail_call(c, st, CRM_ERR_INVALID);
    }
    if (c->broken || c->fd < 0) {
        if (c->broken != CRM_ERR_CLOSED || !c->conn_status_set)
            set_error(c, "the connection is closed (%s); open a new one", crm_strerror(c->broken));
        return fail_call(c, st, CRM_ERR_CLOSED);
    }
    if (c->goaway) {
        set_error(c, "the server sent GoAway (%s, last_call_id %llu): no new calls on this connection; "
                  "open a new one", c->goaway_reason ? c->goaway_reason : "",
                  (unsigned long long)c->goaway_last_call_id);
        return fail_call(c, st, CRM_ERR_GOAWAY);
    }

    int64_t deadline = deadline_ms ? now_ns() + (int64_t)deadline_ms * 1000000 : -1;
    uint64_t id = c->next_call_id;

    Crm__Wire__V1__MetadataEntry auth = CRM__WIRE__V1__METADATA_ENTRY__INIT;
    Crm__Wire__V1__MetadataEntry *md[1] = {&auth};
    Crm__Wire__V1__Request req = CRM__WIRE__V1__REQUEST__INIT;
    Crm__Wire__V1__Envelope env = CRM__WIRE__V1__ENVELOPE__INIT;
    req.call_id = id;
    req.method = (char *)method;
    req.deadline_ms = deadline_ms;
    if (c->authorization) {
        auth.key = "authorization";
        auth.value = c->authorization;
        req.n_metadata = 1;
        req.metadata = md;
    }
    req.payload.data = (uint8_t *)request;
    req.payload.len = request_len;
    env.kind_case = CRM__WIRE__V1__ENVELOPE__KIND_REQUEST;
    env.request = &req;
    int rc = enqueue(c, &env);
    if (rc != CRM_OK) return fail_call(c, st, rc); /* nothing sent; the id stays free */
    c->next_call_id++;

    free(c->call.payload);
    memset(&c->call, 0, sizeof c->call);
    c->call.id = id;
    c->call.kind = kind;
    c->call.on_message = on_message;
    c->call.user = user;
    c->call.status = st;

    rc = flush_available(c);
    if (rc == CRM_OK) rc = run_until(c, deadline, call_finished);

    if (c->call.done) {
        /* The final Response arrived (possibly just before the connection broke). */
        forget_call(c);
        if (rc == CRM_OK && kind == CALL_UNARY && st->code == CRM_STATUS_OK) {
            *response = c->call.payload;
            *response_len = c->call.payload_len;
            c->call.payload = NULL;
        }
        return rc == CRM_OK ? CRM_OK : fail_call(c, st, rc);
    }
    if (c->call.aborted) {
        forget_call(c);
        set_error(c, "call %llu to %s stopped by the stream callback; cancelled", (unsigned long long)id, method);
        if (c->fd >= 0) (void)send_cancel(c, id);
        return fail_call(c, st, CRM_ERR_ABORTED);
    }
    forget_call(c);
    if (rc == CRM_ERR_TIMEOUT) {
        set_error(c, "deadline of %u ms exceeded (client timer) for call %llu to %s; cancelled", deadline_ms,
                  (unsigned long long)id, method);
        if (c->fd >= 0) {
            char saved[sizeof c->err];
            memcpy(saved, c->err, sizeof saved);
            int crc = send_cancel(c, id);
            if (crc == CRM_OK || !c->broken) memcpy(c->err, saved, sizeof saved);
        }
        return fail_call(c, st, CRM_ERR_TIMEOUT);
    }
    return fail_call(c, st, rc);
}

int crm_call_unary(crm_client *client, const char *method, const uint8_t *request, size_t request_len,
                   uint32_t deadline_ms, uint8_t **response, size_t *response_len, crm_status *status) {
    return do_call(client, CALL_UNARY, method, request, request_len, deadline_ms, response, response_len, NULL,
                   NULL, status);
}

int crm_call_stream(crm_client *client, const char *method, const uint8_t *request, size_t request_len,
                    uint32_t deadline_ms, crm_stream_cb on_message, void *user, crm_status *status) {
    return do_call(client, CALL_STREAM, method, request, request_len, deadline_ms, NULL, NULL, on_message, user,
                   status);
}

int crm_client_ping(crm_client *c, uint32_t timeout_ms) {
    if (!c) return CRM_ERR_INVALID;
    if (c->broken || c->fd < 0) {
        set_error(c, "the connection is closed (%s); open a new one", crm_strerror(c->broken));
        return CRM_ERR_CLOSED;
    }
    Crm__Wire__V1__Ping ping = CRM__WIRE__V1__PING__INIT;
    Crm__Wire__V1__Envelope env = CRM__WIRE__V1__ENVELOPE__INIT;
    ping.opaque = c->next_opaque++;
    env.kind_case = CRM__WIRE__V1__ENVELOPE__KIND_PING;
    env.ping = &ping;
    int rc = enqueue(c, &env);
    if (rc != CRM_OK) return rc;
    c->ping_waiting = ping.opaque;
    c->pong_seen = 0;
    int64_t deadline = timeout_ms ? now_ns() + (int64_t)timeout_ms * 1000000 : -1;
    rc = flush_available(c);
    if (rc == CRM_OK) rc = run_until(c, deadline, pong_arrived);
    c->ping_waiting = 0;
    if (rc == CRM_ERR_TIMEOUT) set_error(c, "no Pong within %u ms", timeout_ms);
    return rc;
}
