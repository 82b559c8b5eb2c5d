/*
 * crm_client.h: a small C client for the CRM's protobuf-framed TCP protocol (proto/README.md).
 *
 * One crm_client is one connection to one service: TLS 1.3 with crm_client_connect_tls (what the
 * services speak), plaintext with crm_client_connect (only for services started with --plaintext,
 * on loopback). Calls are blocking: crm_call_unary and
 * crm_call_stream send a Request, then read the connection until that call's final Response, the
 * call's deadline, or a connection failure. While they wait they also answer the server's Pings,
 * ignore Pongs and Responses of other call ids (e.g. late answers to calls abandoned earlier) and
 * remember a GoAway.
 *
 * Threads: a client is NOT thread-safe. Use one client from one thread at a time (one call at a
 * time); use one client per thread for parallel calls. Different clients are independent.
 *
 * Errors: every function returning int returns CRM_OK (0) or a negative CRM_ERR_* code, and
 * crm_client_last_error() describes the last failure. A call that reached the server and got its
 * final Response returns CRM_OK even when the call failed: look at status->code (the server's
 * StatusCode). A negative return means the call failed locally; status is then filled too, with
 * the code a gRPC-style caller expects (see crm_call_unary).
 *
 * Memory: everything the library allocates has a free function: crm_client_close(),
 * crm_free() for response bytes, crm_status_free() for a status.
 */
#ifndef CRM_CLIENT_H
#define CRM_CLIENT_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---- Return codes of the library's functions (local errors are negative) ---- */
enum {
    CRM_OK = 0,
    CRM_ERR_INVALID = -1,   /* bad argument (NULL pointer, empty method, ...) */
    CRM_ERR_IO = -2,        /* socket error: resolve/connect failed, write or read error */
    CRM_ERR_TIMEOUT = -3,   /* the call's deadline passed locally; status DEADLINE_EXCEEDED */
    CRM_ERR_PROTOCOL = -4,  /* the server sent something the protocol forbids; connection closed */
    CRM_ERR_TOO_LARGE = -5, /* a frame above the frame limit (ours: not sent; theirs: connection closed) */
    CRM_ERR_NOMEM = -6,     /* out of memory */
    CRM_ERR_CLOSED = -7,    /* the connection is closed (by the server, or after an earlier fatal error) */
    CRM_ERR_GOAWAY = -8,    /* the server sent GoAway: no new calls on this connection; reconnect */
    CRM_ERR_ABORTED = -9    /* a stream callback asked to stop; the call was cancelled */
};

/* ---- Server status codes (crm.wire.v1.StatusCode, the gRPC numbering) ---- */
enum {
    CRM_STATUS_OK = 0,
    CRM_STATUS_CANCELLED = 1,
    CRM_STATUS_UNKNOWN = 2,
    CRM_STATUS_INVALID_ARGUMENT = 3,
    CRM_STATUS_DEADLINE_EXCEEDED = 4,
    CRM_STATUS_NOT_FOUND = 5,
    CRM_STATUS_ALREADY_EXISTS = 6,
    CRM_STATUS_PERMISSION_DENIED = 7,
    CRM_STATUS_RESOURCE_EXHAUSTED = 8,
    CRM_STATUS_FAILED_PRECONDITION = 9,
    CRM_STATUS_ABORTED = 10,
    CRM_STATUS_OUT_OF_RANGE = 11,
    CRM_STATUS_UNIMPLEMENTED = 12,
    CRM_STATUS_INTERNAL = 13,
    CRM_STATUS_UNAVAILABLE = 14,
    CRM_STATUS_DATA_LOSS = 15,
    CRM_STATUS_UNAUTHENTICATED = 16
};

/* The default (and the protocol's default) largest frame body: 4 MiB. */
#define CRM_MAX_FRAME_BYTES 4194304u

typedef struct crm_client crm_client;

typedef struct crm_field_violation {
    char *field;       /* path in the request, e.g. "customer.name"; never NULL */
    char *description; /* never NULL */
} crm_field_violation;

/*
 * How a call ended. Zero-initialise it before first use (crm_status st = {0}; or crm_status_init);
 * each call frees what the struct held before filling it, so one struct can be reused across calls.
 * Release it with crm_status_free.
 */
typedef struct crm_status {
    int code;                        /* a CRM_STATUS_* value; unknown numbers are kept as sent */
    char *message;                   /* never NULL after a call ("" when the server sent none) */
    size_t n_violations;
    crm_field_violation *violations; /* n_violations entries */
} crm_status;

/*
 * Per-message callback of a server-streaming call: one encoded response message (len may be 0:
 * that is a message whose fields are all default). The bytes are valid only during the callback.
 * Return 0 to go on, non-zero to stop: the call is then cancelled (a Cancel is sent) and
 * crm_call_stream returns CRM_ERR_ABORTED. Do not call into the same client from the callback.
 */
typedef int (*crm_stream_cb)(void *user, const uint8_t *msg, size_t len);

/* TLS settings of crm_client_connect_tls (proto/README.md §1.1). */
typedef struct crm_tls_options {
    const char *ca_file;     /* PEM CA certificates the server's certificate must chain to; required */
    const char *cert_file;   /* PEM client certificate (mutual TLS), or NULL for none */
    const char *key_file;    /* its PEM private key (NULL with cert_file NULL) */
    const char *server_name; /* the name the server's certificate must carry; NULL = host (an IP
                                address is checked against the certificate's IP addresses) */
} crm_tls_options;

/*
 * Opens a TLS 1.3 connection to host:port: TCP connect, then the handshake (ALPN "crm/1"), blocking.
 * The server's certificate must chain to tls->ca_file and name tls->server_name (or host); any
 * failure (untrusted, expired, wrong name, not TLS) returns CRM_ERR_IO with the reason in
 * crm_client_last_error(NULL). With tls->cert_file the client presents that certificate: calls
 * sent without a token then run as the principal the server maps it to. token as in
 * crm_client_connect. The TLS context is the client's own: no global state to set up or free.
 */
int crm_client_connect_tls(const char *host, uint16_t port, const char *token, const crm_tls_options *tls,
                           crm_client **out);

/*
 * Opens a plaintext TCP connection to host:port (blocking connect, TCP_NODELAY). token is sent on every call
 * as "authorization: Bearer <token>"; NULL or "" sends no authorization (enough for Health).
 * On failure *out is NULL and crm_client_last_error(NULL) tells why (per thread).
 */
int crm_client_connect(const char *host, uint16_t port, const char *token, crm_client **out);

/* Closes the connection and frees the client (NULL is fine). Calls in flight on the server are
 * cancelled by the server when it sees the connection close. */
void crm_client_close(crm_client *client);

/* The last error of this client, or with NULL the last failed crm_client_connect of this thread.
 * Never NULL; "" if nothing failed. Valid until the next call on the client. */
const char *crm_client_last_error(const crm_client *client);

/* Largest frame body accepted and sent (default CRM_MAX_FRAME_BYTES; at least 1024). Use the
 * server's --max-frame-bytes when it was changed. */
int crm_client_set_max_frame_bytes(crm_client *client, uint32_t max_frame_bytes);

/*
 * A unary call. method is the full name, e.g. "/crm.profiles.v1.Profiles/GetCustomer"; request is
 * the encoded request message (request_len may be 0, request then may be NULL). deadline_ms > 0 is
 * sent to the server and enforced locally too; 0 means no deadline (wait for ever).
 *
 * Returns CRM_OK when the final Response arrived: status is the server's. When status->code is OK,
 * *response (malloc'd, never NULL, free with crm_free) and *response_len hold the encoded response
 * message, possibly 0 bytes long (decode it anyway). Otherwise *response is NULL and *response_len 0.
 *
 * Local failures (status filled as shown, *response NULL):
 *   CRM_ERR_TIMEOUT    DEADLINE_EXCEEDED: no answer in time; a Cancel was sent, the call is
 *                      forgotten (a late answer is ignored). The connection stays usable.
 *   CRM_ERR_TOO_LARGE  RESOURCE_EXHAUSTED: the request frame exceeds the limit; nothing was sent,
 *                      the connection stays usable. (Or the server sent an oversized frame: the
 *                      connection is then closed.)
 *   CRM_ERR_GOAWAY     UNAVAILABLE: the server sent GoAway earlier; nothing was sent. Reconnect.
 *   CRM_ERR_CLOSED     UNAVAILABLE, or the connection-level status the server sent with call_id 0
 *                      before closing (e.g. RESOURCE_EXHAUSTED). Outcome unknown. Reconnect.
 *   CRM_ERR_IO, CRM_ERR_PROTOCOL  UNAVAILABLE / INTERNAL; the connection is closed. Reconnect.
 *   CRM_ERR_NOMEM, CRM_ERR_INVALID  RESOURCE_EXHAUSTED / INVALID_ARGUMENT.
 * status is required (CRM_ERR_INVALID when NULL): a server error is reported only there.
 */
int crm_call_unary(crm_client *client, const char *method,
                   const uint8_t *request, size_t request_len, uint32_t deadline_ms,
                   uint8_t **response, size_t *response_len, crm_status *status);

/*
 * A server-streaming call: on_message is called once per streamed message, in order, then the
 * call returns with the final status as crm_call_unary does (CRM_OK and status->code, or a local
 * error). The deadline covers the whole stream. A stream may deliver messages and still end with a
 * non-OK status. CRM_ERR_ABORTED (status CANCELLED) when on_message returned non-zero.
 */
int crm_call_stream(crm_client *client, const char *method,
                    const uint8_t *request, size_t request_len, uint32_t deadline_ms,
                    crm_stream_cb on_message, void *user, crm_status *status);

/* Sends a Ping and waits (at most timeout_ms, 0 = for ever) for its Pong. */
int crm_client_ping(crm_client *client, uint32_t timeout_ms);

/* 1 if the server sent GoAway on this connection (then *last_call_id, if not NULL, is its
 * last_call_id: calls with a higher id were not executed), else 0. */
int crm_client_goaway_received(const crm_client *client, uint64_t *last_call_id);

/* The call_id the next call will use (1, 2, 3, ... per connection, never reused). */
uint64_t crm_client_next_call_id(const crm_client *client);

void crm_status_init(crm_status *status);
void crm_status_free(crm_status *status); /* frees the content and zeroes it; NULL is fine */
void crm_free(void *bytes);               /* frees response bytes */

/* "OK", "NOT_FOUND", ...; "UNKNOWN_CODE" for numbers outside 0..16. */
const char *crm_status_code_name(int code);
/* "ok", "i/o error", ... for a CRM_OK / CRM_ERR_* return code. */
const char *crm_strerror(int rc);

#ifdef __cplusplus
}
#endif

#endif /* CRM_CLIENT_H */
