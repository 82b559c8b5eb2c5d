/*
 * Tests of the CRM C client.
 *
 *   test_client PORT CERTS OTHER_CA
 *
 * PORT is a running profiles service speaking TLS (scripts/test-c-client.sh starts one with the dev
 * config, an empty store and the certificates of scripts/dev-certs.sh in the folder CERTS); OTHER_CA
 * is a CA that signed none of them. Every case speaks TLS 1.3. The cases marked "fake server" run
 * against a TLS server in a thread of this program (OpenSSL, profiles' certificate), scripted frame
 * by frame, for what the real service never does on its own (never answer, interleave foreign
 * frames, GoAway, call_id 0 statuses, oversized or garbage frames).
 *
 * Prints one line per case and finally "N passed, M failed"; exits 1 if any case failed.
 */
#define _POSIX_C_SOURCE 200809L

#include "crm_client.h"

#include "crm/profiles/v1/profiles.pb-c.h"
#include "crm/rpc/v1/health.pb-c.h"
#include "crm/wire/v1/envelope.pb-c.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#define TOKEN "dev-admin-token"
#define DEADLINE 10000u
#define M_UPSERT "/crm.profiles.v1.Profiles/UpsertCustomer"
#define M_GET "/crm.profiles.v1.Profiles/GetCustomer"
#define M_STREAM "/crm.profiles.v1.Profiles/StreamCustomers"
#define M_HEALTH "/crm.rpc.v1.Health/Check"

static uint16_t g_port;
static int g_passed, g_failed, g_case_failed;
static char g_ca[512], g_ops_cert[512], g_ops_key[512], g_server_cert[512], g_server_key[512], g_other_ca[512];
static crm_tls_options g_tls;

#define CHECK(cond, ...)                                                                                         \
    do {                                                                                                         \
        if (!(cond)) {                                                                                           \
            g_case_failed = 1;                                                                                   \
            printf("    check failed at line %d: %s: ", __LINE__, #cond);                                       \
            printf(__VA_ARGS__);                                                                                 \
            printf("\n");                                                                                        \
        }                                                                                                        \
    } while (0)

static void run_case(const char *name, void (*fn)(void)) {
    g_case_failed = 0;
    fn();
    if (g_case_failed) g_failed++;
    else g_passed++;
    printf("%s %s\n", g_case_failed ? "FAIL" : "ok  ", name);
    fflush(stdout);
}

static int64_t now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static crm_client *connect_to(uint16_t port, const char *token) {
    crm_client *c = NULL;
    int rc = crm_client_connect_tls("127.0.0.1", port, token, &g_tls, &c);
    CHECK(rc == CRM_OK && c != NULL, "connect to %u: %s", (unsigned)port, crm_client_last_error(NULL));
    return c;
}

/* Packs any generated message into a malloc'd buffer. */
static uint8_t *pack(const ProtobufCMessage *m, size_t *len) {
    *len = protobuf_c_message_get_packed_size(m);
    uint8_t *buf = malloc(*len ? *len : 1);
    if (!buf) abort();
    protobuf_c_message_pack(m, buf);
    return buf;
}

static int has_violation(const crm_status *st, const char *field) {
    for (size_t i = 0; i < st->n_violations; i++)
        if (strcmp(st->violations[i].field, field) == 0) return 1;
    return 0;
}

typedef struct {
    const char *id, *name;
    int kind, status;
    int year, month, day; /* 0: no open date */
    const char *branch, *phone, *email;
} customer_spec;

/* UpsertCustomer; returns the call's rc, st holds the status, *created the flag when OK. */
static int upsert(crm_client *c, const customer_spec *s, crm_status *st, int *created) {
    Crm__Common__V1__Date date = CRM__COMMON__V1__DATE__INIT;
    Crm__Profiles__V1__Customer cu = CRM__PROFILES__V1__CUSTOMER__INIT;
    Crm__Profiles__V1__UpsertCustomerRequest req = CRM__PROFILES__V1__UPSERT_CUSTOMER_REQUEST__INIT;
    cu.customer_id = (char *)s->id;
    cu.name = (char *)s->name;
    cu.kind = s->kind;
    cu.status = s->status;
    cu.branch_id = (char *)(s->branch ? s->branch : "");
    cu.phone = (char *)(s->phone ? s->phone : "");
    cu.email = (char *)(s->email ? s->email : "");
    if (s->year) {
        date.year = s->year;
        date.month = s->month;
        date.day = s->day;
        cu.open_date = &date;
    }
    req.customer = &cu;
    size_t len;
    uint8_t *buf = pack(&req.base, &len);
    uint8_t *resp = NULL;
    size_t resp_len = 0;
    int rc = crm_call_unary(c, M_UPSERT, buf, len, DEADLINE, &resp, &resp_len, st);
    free(buf);
    if (rc == CRM_OK && st->code == CRM_STATUS_OK) {
        Crm__Profiles__V1__UpsertCustomerResponse *r =
            crm__profiles__v1__upsert_customer_response__unpack(NULL, resp_len, resp);
        CHECK(r != NULL, "UpsertCustomerResponse does not decode");
        if (r && created) *created = r->created;
        if (r) crm__profiles__v1__upsert_customer_response__free_unpacked(r, NULL);
    }
    crm_free(resp);
    return rc;
}

static customer_spec simple_customer(const char *id) {
    customer_spec s = {id, "Test Customer", CRM__PROFILES__V1__CUSTOMER_KIND__INDIVIDUAL,
                       CRM__PROFILES__V1__ACCOUNT_STATUS__NORMAL, 2024, 1, 2, "B01", NULL, NULL};
    return s;
}

/* GetCustomer; returns the decoded response (or NULL) and leaves the status in st. */
static Crm__Profiles__V1__GetCustomerResponse *get_customer(crm_client *c, const char *id, crm_status *st,
                                                            int *rc_out) {
    Crm__Profiles__V1__GetCustomerRequest req = CRM__PROFILES__V1__GET_CUSTOMER_REQUEST__INIT;
    req.customer_id = (char *)id;
    size_t len;
    uint8_t *buf = pack(&req.base, &len);
    uint8_t *resp = NULL;
    size_t resp_len = 0;
    int rc = crm_call_unary(c, M_GET, buf, len, DEADLINE, &resp, &resp_len, st);
    free(buf);
    if (rc_out) *rc_out = rc;
    Crm__Profiles__V1__GetCustomerResponse *r = NULL;
    if (rc == CRM_OK && st->code == CRM_STATUS_OK) {
        r = crm__profiles__v1__get_customer_response__unpack(NULL, resp_len, resp);
        CHECK(r != NULL, "GetCustomerResponse does not decode");
    } else {
        CHECK(resp == NULL && resp_len == 0, "no response bytes on failure");
    }
    crm_free(resp);
    return r;
}

/* Collects streamed customers' ids. */
typedef struct {
    char **ids;
    size_t n, cap;
    int bad;
    size_t stop_after; /* 0: never stop */
} collected;

static int collect(void *user, const uint8_t *msg, size_t len) {
    collected *col = user;
    Crm__Profiles__V1__Customer *cu = crm__profiles__v1__customer__unpack(NULL, len, msg);
    if (!cu) {
        col->bad++;
        return 0;
    }
    if (col->n == col->cap) {
        col->cap = col->cap ? col->cap * 2 : 64;
        col->ids = realloc(col->ids, col->cap * sizeof *col->ids);
        if (!col->ids) abort();
    }
    col->ids[col->n] = strdup(cu->customer_id);
    col->n++;
    crm__profiles__v1__customer__free_unpacked(cu, NULL);
    return (col->stop_after && col->n >= col->stop_after) ? 1 : 0;
}

static void collected_free(collected *col) {
    for (size_t i = 0; i < col->n; i++) free(col->ids[i]);
    free(col->ids);
    memset(col, 0, sizeof *col);
}

static int stream_customers(crm_client *c, const char *after, uint32_t limit, uint32_t deadline_ms, collected *col,
                            crm_status *st) {
    Crm__Profiles__V1__StreamCustomersRequest req = CRM__PROFILES__V1__STREAM_CUSTOMERS_REQUEST__INIT;
    req.after_customer_id = (char *)after;
    req.limit = limit;
    size_t len;
    uint8_t *buf = pack(&req.base, &len);
    int rc = crm_call_stream(c, M_STREAM, buf, len, deadline_ms, collect, col, st);
    free(buf);
    return rc;
}

/* ============================================================================================== */
/* Cases against the real profiles service */

static void test_health_without_token(void) {
    crm_client *c = connect_to(g_port, NULL);
    if (!c) return;
    crm_status st = {0};
    uint8_t *resp = NULL;
    size_t len = 0;
    int rc = crm_call_unary(c, M_HEALTH, NULL, 0, DEADLINE, &resp, &len, &st);
    CHECK(rc == CRM_OK && st.code == CRM_STATUS_OK, "rc %d code %d %s", rc, st.code, crm_client_last_error(c));
    CHECK(crm_client_next_call_id(c) == 2, "the first call used id 1");
    if (rc == CRM_OK && st.code == 0) {
        Crm__Rpc__V1__HealthCheckResponse *h = crm__rpc__v1__health_check_response__unpack(NULL, len, resp);
        CHECK(h != NULL, "HealthCheckResponse decodes");
        if (h) {
            CHECK(h->status == CRM__RPC__V1__HEALTH_CHECK_RESPONSE__SERVING_STATUS__SERVING, "status %d", h->status);
            CHECK(strcmp(h->service, "profiles") == 0, "service %s", h->service);
            crm__rpc__v1__health_check_response__free_unpacked(h, NULL);
        }
    }
    crm_free(resp);
    crm_status_free(&st);
    crm_client_close(c);
}

static void test_ping(void) {
    crm_client *c = connect_to(g_port, TOKEN);
    if (!c) return;
    for (int i = 0; i < 3; i++) {
        int rc = crm_client_ping(c, 5000);
        CHECK(rc == CRM_OK, "ping %d: %s", i, crm_client_last_error(c));
    }
    crm_client_close(c);
}

static void test_unary_round_trip(void) {
    crm_client *c = connect_to(g_port, TOKEN);
    if (!c) return;
    crm_status st = {0};
    customer_spec s = {"RT-0001", "Wang Fang", CRM__PROFILES__V1__CUSTOMER_KIND__INDIVIDUAL,
                       CRM__PROFILES__V1__ACCOUNT_STATUS__NORMAL, 2023, 6, 30, "B01", "13800000000",
                       "wang.fang@example.com"};
    int created = -1;
    int rc = upsert(c, &s, &st, &created);
    CHECK(rc == CRM_OK && st.code == CRM_STATUS_OK, "upsert: rc %d code %d %s", rc, st.code, st.message);
    CHECK(created == 1, "first upsert creates (%d)", created);
    created = -1;
    rc = upsert(c, &s, &st, &created);
    CHECK(rc == CRM_OK && st.code == CRM_STATUS_OK && created == 0, "second upsert updates (rc %d created %d)", rc,
          created);

    Crm__Profiles__V1__GetCustomerResponse *r = get_customer(c, "RT-0001", &st, &rc);
    CHECK(rc == CRM_OK && st.code == CRM_STATUS_OK, "get: rc %d code %d %s", rc, st.code, st.message);
    CHECK(st.message && st.message[0] == '\0' && st.n_violations == 0, "OK status is empty");
    if (r) {
        const Crm__Profiles__V1__Customer *cu = r->customer;
        CHECK(cu != NULL, "customer present");
        if (cu) {
            CHECK(strcmp(cu->customer_id, "RT-0001") == 0, "id %s", cu->customer_id);
            CHECK(strcmp(cu->name, "Wang Fang") == 0, "name %s", cu->name);
            CHECK(cu->kind == CRM__PROFILES__V1__CUSTOMER_KIND__INDIVIDUAL, "kind %d", cu->kind);
            CHECK(cu->status == CRM__PROFILES__V1__ACCOUNT_STATUS__NORMAL, "status %d", cu->status);
            CHECK(strcmp(cu->branch_id, "B01") == 0, "branch %s", cu->branch_id);
            CHECK(strcmp(cu->phone, "13800000000") == 0, "phone %s", cu->phone);
            CHECK(strcmp(cu->email, "wang.fang@example.com") == 0, "email %s", cu->email);
            CHECK(cu->open_date && cu->open_date->year == 2023 && cu->open_date->month == 6 &&
                      cu->open_date->day == 30,
                  "open date");
            CHECK(cu->updated_at && cu->updated_at->unix_millis > 1600000000000LL, "updated_at set by the service");
        }
        crm__profiles__v1__get_customer_response__free_unpacked(r, NULL);
    }
    CHECK(crm_client_next_call_id(c) == 4, "three calls used ids 1..3 (next %llu)",
          (unsigned long long)crm_client_next_call_id(c));
    crm_status_free(&st);
    crm_client_close(c);
}

static void test_stream_in_order(void) {
    crm_client *c = connect_to(g_port, TOKEN);
    if (!c) return;
    crm_status st = {0};
    static const char *const ids[] = {"S-0003", "S-0001", "S-0005", "S-0002", "S-0004"};
    for (size_t i = 0; i < 5; i++) {
        customer_spec s = simple_customer(ids[i]);
        int rc = upsert(c, &s, &st, NULL);
        CHECK(rc == CRM_OK && st.code == CRM_STATUS_OK, "upsert %s: %d %d %s", ids[i], rc, st.code, st.message);
    }
    collected col = {0};
    int rc = stream_customers(c, "S-", 0, DEADLINE, &col, &st);
    CHECK(rc == CRM_OK && st.code == CRM_STATUS_OK, "stream: rc %d code %d %s / %s", rc, st.code, st.message,
          crm_client_last_error(c));
    CHECK(col.bad == 0, "every message decodes as Customer");
    size_t n_s = 0;
    for (size_t i = 0; i < col.n; i++) {
        if (strncmp(col.ids[i], "S-", 2) == 0) n_s++;
        if (i > 0) CHECK(strcmp(col.ids[i - 1], col.ids[i]) < 0, "order: %s then %s", col.ids[i - 1], col.ids[i]);
    }
    CHECK(n_s == 5 && col.n >= 5, "5 S- customers streamed (%zu of %zu)", n_s, col.n);
    for (size_t i = 0; i < 5 && i < col.n; i++) {
        char want[16];
        snprintf(want, sizeof want, "S-%04zu", i + 1);
        CHECK(strcmp(col.ids[i], want) == 0, "message %zu is %s, want %s", i, col.ids[i], want);
    }
    collected_free(&col);

    /* limit and an empty stream */
    rc = stream_customers(c, "S-", 2, DEADLINE, &col, &st);
    CHECK(rc == CRM_OK && st.code == 0 && col.n == 2, "limit 2 gives 2 (%zu)", col.n);
    collected_free(&col);
    rc = stream_customers(c, "\x7f", 0, DEADLINE, &col, &st);
    CHECK(rc == CRM_OK && st.code == 0 && col.n == 0, "nothing after DEL: empty stream, OK (%zu)", col.n);
    collected_free(&col);
    crm_status_free(&st);
    crm_client_close(c);
}

#define BULK 2000

static void test_deadline(void) {
    crm_client *c = connect_to(g_port, TOKEN);
    if (!c) return;
    crm_status st = {0};
    int64_t t0 = now_ms();
    for (int i = 0; i < BULK; i++) {
        char id[16];
        snprintf(id, sizeof id, "D-%05d", i);
        customer_spec s = simple_customer(id);
        int rc = upsert(c, &s, &st, NULL);
        if (rc != CRM_OK || st.code != CRM_STATUS_OK) {
            CHECK(0, "bulk upsert %s: rc %d code %d %s", id, rc, st.code, st.message);
            break;
        }
    }
    printf("    %d upserts in %lld ms\n", BULK, (long long)(now_ms() - t0));

    /* The whole stream, no deadline: all in order. */
    collected col = {0};
    int rc = stream_customers(c, "D-", BULK, 0, &col, &st);
    CHECK(rc == CRM_OK && st.code == CRM_STATUS_OK && col.n == BULK, "full stream: rc %d code %d n %zu", rc,
          st.code, col.n);
    for (size_t i = 1; i < col.n; i++)
        if (strcmp(col.ids[i - 1], col.ids[i]) >= 0) {
            CHECK(0, "order at %zu", i);
            break;
        }
    collected_free(&col);

    /* 1 ms for 2000 customers: DEADLINE_EXCEEDED (ours or the server's), never a hang. */
    int seen_local = 0, seen_server = 0, seen_ok = 0;
    for (int attempt = 0; attempt < 5; attempt++) {
        t0 = now_ms();
        rc = stream_customers(c, "D-", BULK, 1, &col, &st);
        int64_t took = now_ms() - t0;
        CHECK(took < 3000, "a 1 ms deadline returned after %lld ms", (long long)took);
        if (rc == CRM_ERR_TIMEOUT) {
            seen_local++;
            CHECK(st.code == CRM_STATUS_DEADLINE_EXCEEDED, "local timeout status %d", st.code);
        } else if (rc == CRM_OK && st.code == CRM_STATUS_DEADLINE_EXCEEDED) {
            seen_server++;
        } else if (rc == CRM_OK && st.code == CRM_STATUS_OK) {
            seen_ok++;
            CHECK(col.n == BULK, "OK means complete (%zu)", col.n);
        } else {
            CHECK(0, "unexpected rc %d code %d %s", rc, st.code, crm_client_last_error(c));
        }
        collected_free(&col);
        /* The connection goes on: the rest of the abandoned stream is ignored by call id. */
        Crm__Profiles__V1__GetCustomerResponse *r = get_customer(c, "D-00007", &st, &rc);
        CHECK(rc == CRM_OK && st.code == CRM_STATUS_OK && r && r->customer &&
                  strcmp(r->customer->customer_id, "D-00007") == 0,
              "a call after the deadline works: rc %d code %d", rc, st.code);
        if (r) crm__profiles__v1__get_customer_response__free_unpacked(r, NULL);
    }
    printf("    1 ms deadline: %d local timer, %d server DEADLINE_EXCEEDED, %d completed\n", seen_local, seen_server,
           seen_ok);
    crm_status_free(&st);
    crm_client_close(c);
}

static void test_stream_stopped_by_callback(void) {
    crm_client *c = connect_to(g_port, TOKEN);
    if (!c) return;
    crm_status st = {0};
    collected col = {0};
    col.stop_after = 10;
    int rc = stream_customers(c, "D-", 0, DEADLINE, &col, &st);
    CHECK(rc == CRM_ERR_ABORTED && st.code == CRM_STATUS_CANCELLED, "rc %d code %d", rc, st.code);
    CHECK(col.n == 10, "exactly 10 messages delivered (%zu)", col.n);
    collected_free(&col);
    int rc2 = crm_client_ping(c, 5000);
    CHECK(rc2 == CRM_OK, "ping after the cancel: %s", crm_client_last_error(c));
    Crm__Profiles__V1__GetCustomerResponse *r = get_customer(c, "S-0001", &st, &rc);
    CHECK(rc == CRM_OK && st.code == CRM_STATUS_OK && r, "call after the cancel: %d %d", rc, st.code);
    if (r) crm__profiles__v1__get_customer_response__free_unpacked(r, NULL);
    crm_status_free(&st);
    crm_client_close(c);
}

static void test_not_found(void) {
    crm_client *c = connect_to(g_port, TOKEN);
    if (!c) return;
    crm_status st = {0};
    int rc;
    Crm__Profiles__V1__GetCustomerResponse *r = get_customer(c, "NO-SUCH-CUSTOMER", &st, &rc);
    CHECK(r == NULL, "no response message");
    CHECK(rc == CRM_OK && st.code == CRM_STATUS_NOT_FOUND, "rc %d code %d (%s)", rc, st.code, st.message);
    CHECK(st.message && st.message[0], "a message comes with NOT_FOUND");
    crm_status_free(&st);
    crm_client_close(c);
}

static void test_unauthenticated_and_denied(void) {
    static const char *const tokens[] = {NULL, "not-a-configured-token"};
    crm_status st = {0};
    for (int i = 0; i < 2; i++) {
        crm_client *c = connect_to(g_port, tokens[i]);
        if (!c) return;
        int rc;
        Crm__Profiles__V1__GetCustomerResponse *r = get_customer(c, "RT-0001", &st, &rc);
        CHECK(r == NULL && rc == CRM_OK && st.code == CRM_STATUS_UNAUTHENTICATED, "token %s: rc %d code %d (%s)",
              tokens[i] ? tokens[i] : "(none)", rc, st.code, st.message);
        crm_client_close(c);
    }
    /* A valid token without an allowed role. */
    crm_client *c = connect_to(g_port, "dev-hr-token");
    if (!c) return;
    collected col = {0};
    int rc = stream_customers(c, "", 1, DEADLINE, &col, &st);
    CHECK(rc == CRM_OK && st.code == CRM_STATUS_PERMISSION_DENIED && col.n == 0, "hr streams: rc %d code %d (%s)",
          rc, st.code, st.message);
    collected_free(&col);
    crm_status_free(&st);
    crm_client_close(c);
}

static void test_unimplemented(void) {
    crm_client *c = connect_to(g_port, TOKEN);
    if (!c) return;
    crm_status st = {0};
    uint8_t *resp = NULL;
    size_t len = 0;
    int rc = crm_call_unary(c, "/crm.profiles.v1.Profiles/NoSuchMethod", NULL, 0, DEADLINE, &resp, &len, &st);
    CHECK(rc == CRM_OK && st.code == CRM_STATUS_UNIMPLEMENTED && resp == NULL, "rc %d code %d (%s)", rc, st.code,
          st.message);
    rc = crm_call_unary(c, "/crm.profiles.v1.profiles/GetCustomer", NULL, 0, DEADLINE, &resp, &len, &st);
    CHECK(rc == CRM_OK && st.code == CRM_STATUS_UNIMPLEMENTED, "method names are case-sensitive: %d", st.code);
    crm_status_free(&st);
    crm_client_close(c);
}

static void test_invalid_argument(void) {
    crm_client *c = connect_to(g_port, TOKEN);
    if (!c) return;
    crm_status st = {0};
    customer_spec s = simple_customer("BAD-0001");
    s.name = "";
    int rc = upsert(c, &s, &st, NULL);
    CHECK(rc == CRM_OK && st.code == CRM_STATUS_INVALID_ARGUMENT, "empty name: rc %d code %d (%s)", rc, st.code,
          st.message);
    CHECK(has_violation(&st, "customer.name"), "a violation names customer.name (%zu violations, first %s)",
          st.n_violations, st.n_violations ? st.violations[0].field : "-");
    for (size_t i = 0; i < st.n_violations; i++)
        CHECK(st.violations[i].description[0], "violation %s has a description", st.violations[i].field);

    /* Several problems at once: every one is reported. */
    customer_spec bad = {"", "", 0, 0, 0, 0, 0, NULL, NULL, NULL};
    rc = upsert(c, &bad, &st, NULL);
    CHECK(rc == CRM_OK && st.code == CRM_STATUS_INVALID_ARGUMENT && st.n_violations >= 2,
          "empty customer: code %d, %zu violations", st.code, st.n_violations);
    CHECK(has_violation(&st, "customer.customer_id") && has_violation(&st, "customer.name"),
          "customer_id and name both named");

    /* Not a protobuf at all: field 1, length 5, only 2 bytes follow. */
    static const uint8_t garbage[] = {0x0a, 0x05, 'a', 'b'};
    uint8_t *resp = NULL;
    size_t len = 0;
    rc = crm_call_unary(c, M_UPSERT, garbage, sizeof garbage, DEADLINE, &resp, &len, &st);
    CHECK(rc == CRM_OK && st.code == CRM_STATUS_INVALID_ARGUMENT, "garbage: rc %d code %d (%s)", rc, st.code,
          st.message);
    CHECK(st.n_violations == 1 && has_violation(&st, "payload"), "one violation naming payload (%zu)",
          st.n_violations);
    /* The connection keeps serving. */
    Crm__Profiles__V1__GetCustomerResponse *r = get_customer(c, "RT-0001", &st, &rc);
    CHECK(r && rc == CRM_OK && st.code == CRM_STATUS_OK, "connection still serves: %d %d", rc, st.code);
    if (r) crm__profiles__v1__get_customer_response__free_unpacked(r, NULL);
    crm_status_free(&st);
    crm_client_close(c);
}

static void test_frame_limit(void) {
    crm_client *c = connect_to(g_port, TOKEN);
    if (!c) return;
    crm_status st = {0};
    uint8_t *big = calloc(1, CRM_MAX_FRAME_BYTES);
    uint8_t *resp = NULL;
    size_t len = 0;
    uint64_t next = crm_client_next_call_id(c);
    /* The payload alone is the limit: the envelope around it is larger, so nothing is sent. */
    int rc = crm_call_unary(c, M_GET, big, CRM_MAX_FRAME_BYTES, DEADLINE, &resp, &len, &st);
    CHECK(rc == CRM_ERR_TOO_LARGE && st.code == CRM_STATUS_RESOURCE_EXHAUSTED, "rc %d code %d", rc, st.code);
    CHECK(strstr(crm_client_last_error(c), "limit") != NULL, "error says why: %s", crm_client_last_error(c));
    CHECK(crm_client_next_call_id(c) == next, "no call id used for a request never sent");

    /* Just under the limit: sent, and answered by the server (a customer id of ~4 MiB is refused
     * or not found, but the frame itself is accepted). */
    Crm__Profiles__V1__GetCustomerRequest req = CRM__PROFILES__V1__GET_CUSTOMER_REQUEST__INIT;
    size_t id_len = CRM_MAX_FRAME_BYTES - 200;
    char *id = malloc(id_len + 1);
    memset(id, 'X', id_len);
    id[id_len] = '\0';
    req.customer_id = id;
    size_t plen;
    uint8_t *payload = pack(&req.base, &plen);
    rc = crm_call_unary(c, M_GET, payload, plen, DEADLINE, &resp, &len, &st);
    CHECK(rc == CRM_OK && st.code != CRM_STATUS_OK && st.code != CRM_STATUS_RESOURCE_EXHAUSTED,
          "near-limit frame answered: rc %d code %d (%s) %s", rc, st.code, st.message ? st.message : "",
          crm_client_last_error(c));
    crm_free(resp);
    resp = NULL;
    rc = crm_call_unary(c, M_HEALTH, NULL, 0, DEADLINE, &resp, &len, &st);
    CHECK(rc == CRM_OK && st.code == CRM_STATUS_OK, "the connection still works: %d %d", rc, st.code);
    crm_free(resp);
    free(payload);
    free(id);
    free(big);
    crm_status_free(&st);
    crm_client_close(c);
}

static void test_bad_arguments_and_refused_connect(void) {
    crm_client *c = NULL;
    /* A port nobody listens on: bind one, close it, connect. */
    int s = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {0};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t al = sizeof a;
    CHECK(bind(s, (struct sockaddr *)&a, sizeof a) == 0 && getsockname(s, (struct sockaddr *)&a, &al) == 0, "bind");
    close(s);
    int rc = crm_client_connect("127.0.0.1", ntohs(a.sin_port), TOKEN, &c);
    CHECK(rc == CRM_ERR_IO && c == NULL, "refused: rc %d", rc);
    CHECK(strstr(crm_client_last_error(NULL), "cannot connect") != NULL, "message: %s", crm_client_last_error(NULL));
    rc = crm_client_connect("no-such-host.invalid", 1, TOKEN, &c);
    CHECK(rc == CRM_ERR_IO && c == NULL, "unresolvable: rc %d (%s)", rc, crm_client_last_error(NULL));

    c = connect_to(g_port, TOKEN);
    if (!c) return;
    crm_status st = {0};
    uint8_t *resp = NULL;
    size_t len = 0;
    rc = crm_call_unary(c, "", NULL, 0, 0, &resp, &len, &st);
    CHECK(rc == CRM_ERR_INVALID && st.code == CRM_STATUS_INVALID_ARGUMENT, "empty method: %d", rc);
    rc = crm_call_unary(c, M_HEALTH, NULL, 0, 0, &resp, &len, NULL);
    CHECK(rc == CRM_ERR_INVALID, "status is required: %d", rc);
    rc = crm_call_stream(c, M_STREAM, NULL, 0, 0, NULL, NULL, &st);
    CHECK(rc == CRM_ERR_INVALID, "callback is required: %d", rc);
    CHECK(crm_client_set_max_frame_bytes(c, 10) == CRM_ERR_INVALID, "frame limit below 1024 refused");
    rc = crm_call_unary(c, M_HEALTH, NULL, 0, 0, &resp, &len, &st);
    CHECK(rc == CRM_OK && st.code == CRM_STATUS_OK, "still usable (deadline 0 = none): %d", rc);
    crm_free(resp);
    crm_status_free(&st);
    crm_client_close(c);
}

/* ---- TLS: refusals, mutual TLS ---- */

static void test_tls_refusals(void) {
    crm_client *c = NULL;
    /* A CA that did not sign the server's certificate. */
    crm_tls_options other = g_tls;
    other.ca_file = g_other_ca;
    int rc = crm_client_connect_tls("127.0.0.1", g_port, TOKEN, &other, &c);
    CHECK(rc == CRM_ERR_IO && c == NULL, "untrusted: rc %d", rc);
    CHECK(strstr(crm_client_last_error(NULL), "unable to get local issuer certificate") != NULL, "untrusted: %s",
          crm_client_last_error(NULL));
    /* A name the certificate does not carry. */
    crm_tls_options elsewhere = g_tls;
    elsewhere.server_name = "elsewhere.example";
    rc = crm_client_connect_tls("127.0.0.1", g_port, TOKEN, &elsewhere, &c);
    CHECK(rc == CRM_ERR_IO && c == NULL, "wrong name: rc %d", rc);
    CHECK(strstr(crm_client_last_error(NULL), "hostname mismatch") != NULL, "wrong name: %s", crm_client_last_error(NULL));
    /* The name it does carry. */
    crm_tls_options localhost = g_tls;
    localhost.server_name = "localhost";
    rc = crm_client_connect_tls("127.0.0.1", g_port, TOKEN, &localhost, &c);
    CHECK(rc == CRM_OK, "localhost: %s", crm_client_last_error(NULL));
    crm_client_close(c);
    c = NULL;
    /* Plaintext to a TLS port: the server closes without an answer. */
    rc = crm_client_connect("127.0.0.1", g_port, TOKEN, &c);
    CHECK(rc == CRM_OK, "plaintext TCP connect: %s", crm_client_last_error(NULL));
    if (c) {
        crm_status st = {0};
        uint8_t *resp = NULL;
        size_t len = 0;
        rc = crm_call_unary(c, M_HEALTH, NULL, 0, DEADLINE, &resp, &len, &st);
        CHECK(rc == CRM_ERR_CLOSED && st.code == CRM_STATUS_UNAVAILABLE, "plaintext call: rc %d code %d", rc, st.code);
        crm_status_free(&st);
        crm_client_close(c);
    }
    /* Bad TLS arguments. */
    crm_tls_options half = g_tls;
    half.cert_file = g_ops_cert;
    CHECK(crm_client_connect_tls("127.0.0.1", g_port, TOKEN, &half, &c) == CRM_ERR_INVALID, "a certificate needs its key");
    crm_tls_options missing = g_tls;
    missing.ca_file = "/nonexistent/ca.crt";
    CHECK(crm_client_connect_tls("127.0.0.1", g_port, TOKEN, &missing, &c) == CRM_ERR_INVALID, "an unreadable CA file");
}

static void test_mutual_tls(void) {
    /* The ops certificate (URI:spiffe://brokerage-crm/ops) maps to the admin principal ops: no token. */
    crm_tls_options ops = g_tls;
    ops.cert_file = g_ops_cert;
    ops.key_file = g_ops_key;
    crm_client *c = NULL;
    int rc = crm_client_connect_tls("127.0.0.1", g_port, NULL, &ops, &c);
    CHECK(rc == CRM_OK, "connect with the ops certificate: %s", crm_client_last_error(NULL));
    if (!c) return;
    crm_status st = {0};
    int call_rc;
    Crm__Profiles__V1__GetCustomerResponse *r = get_customer(c, "NO-SUCH-ONE", &st, &call_rc);
    CHECK(r == NULL && call_rc == CRM_OK && st.code == CRM_STATUS_NOT_FOUND, "as ops: rc %d code %d (%s)", call_rc, st.code,
          st.message);
    crm_status_free(&st);
    crm_client_close(c);
    /* A token wins over the certificate: an unknown one is refused. */
    rc = crm_client_connect_tls("127.0.0.1", g_port, "not-a-configured-token", &ops, &c);
    CHECK(rc == CRM_OK, "connect: %s", crm_client_last_error(NULL));
    if (!c) return;
    r = get_customer(c, "NO-SUCH-ONE", &st, &call_rc);
    CHECK(r == NULL && call_rc == CRM_OK && st.code == CRM_STATUS_UNAUTHENTICATED, "bad token: code %d", st.code);
    crm_status_free(&st);
    crm_client_close(c);
}

/* ============================================================================================== */
/* The fake server: a TLS server in a thread, scripted per case. */

typedef enum {
    FAKE_SILENT,
    FAKE_CHATTY,
    FAKE_CONN_STATUS,
    FAKE_OVERSIZE,
    FAKE_EMPTY_FRAME,
    FAKE_GARBAGE,
    FAKE_WORKED_EXAMPLE
} fake_script;

/* proto/README.md §14.2 and §14.3, "One line" hex of each frame. */
static const char WORKED_REQUEST_HEX[] =
    "000000620a60080112252f63726d2e70726f66696c65732e76312e50726f66696c65732f476574437573746f6d657218d00f"
    "22270a0d617574686f72697a6174696f6e1216426561726572206465762d61646d696e2d746f6b656e2a090a0743303030303031";
static const char WORKED_RESPONSE_HEX[] =
    "0000002912270801121f0a1d0a074330303030303110011a0957616e672046616e672203423031400218012200";

static size_t from_hex(const char *hex, uint8_t *out) {
    size_t n = strlen(hex) / 2;
    for (size_t i = 0; i < n; i++) {
        unsigned v;
        sscanf(hex + 2 * i, "%2x", &v);
        out[i] = (uint8_t)v;
    }
    return n;
}

typedef struct {
    fake_script script;
    int listen_fd;
    uint16_t port;
    pthread_t thread;
    /* observations */
    uint64_t request_ids[8];
    int n_requests;
    uint64_t cancelled_id;
    int pong42;
    uint32_t first_deadline_ms;
    char first_auth[64];
    char first_method[64];
    int extra_frames_after_goaway;
    uint8_t raw_first[256]; /* FAKE_WORKED_EXAMPLE: the first frame as received */
    size_t raw_first_len;
    char error[256];
} fake_server;

static void fake_fail(fake_server *f, const char *fmt, ...) {
    if (f->error[0]) return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(f->error, sizeof f->error, fmt, ap);
    va_end(ap);
}

/* The fake server's side of one connection: TLS over an accepted socket (blocking). */
typedef struct {
    int fd;
    SSL *ssl;
} fake_conn;

static SSL_CTX *g_fake_ctx; /* the fake server's TLS context: profiles' certificate, TLS 1.3 */

static int read_exact(fake_conn *fc, uint8_t *buf, size_t n, int timeout_ms) {
    size_t got = 0;
    while (got < n) {
        if (!SSL_has_pending(fc->ssl)) {
            struct pollfd p = {fc->fd, POLLIN, 0};
            int r = poll(&p, 1, timeout_ms);
            if (r <= 0) return -2; /* timeout */
        }
        int k = SSL_read(fc->ssl, buf + got, (int)(n - got));
        if (k <= 0) {
            int e = SSL_get_error(fc->ssl, k);
            if (e == SSL_ERROR_WANT_READ || (e == SSL_ERROR_SYSCALL && errno == EINTR)) continue;
            return -1; /* EOF / error */
        }
        got += (size_t)k;
    }
    return 0;
}

/* Reads one Envelope (NULL on EOF/timeout; *eof set on EOF). */
static Crm__Wire__V1__Envelope *fake_read(fake_conn *fd, int timeout_ms, int *eof) {
    uint8_t pre[4];
    if (eof) *eof = 0;
    int r = read_exact(fd, pre, 4, timeout_ms);
    if (r != 0) {
        if (eof && r == -1) *eof = 1;
        return NULL;
    }
    uint32_t n = ((uint32_t)pre[0] << 24) | ((uint32_t)pre[1] << 16) | ((uint32_t)pre[2] << 8) | pre[3];
    uint8_t *body = malloc(n ? n : 1);
    if (read_exact(fd, body, n, timeout_ms) != 0) {
        free(body);
        return NULL;
    }
    Crm__Wire__V1__Envelope *env = crm__wire__v1__envelope__unpack(NULL, n, body);
    free(body);
    return env;
}

static void write_all(fake_conn *fc, const uint8_t *p, size_t n) {
    while (n > 0) {
        int k = SSL_write(fc->ssl, p, (int)n);
        if (k <= 0) {
            if (SSL_get_error(fc->ssl, k) == SSL_ERROR_SYSCALL && errno == EINTR) continue;
            return;
        }
        p += k;
        n -= (size_t)k;
    }
}

/* Appends a frame to out (a growing buffer). */
typedef struct {
    uint8_t *data;
    size_t len;
} bytes;

static void append_frame(bytes *out, const Crm__Wire__V1__Envelope *env) {
    size_t n = crm__wire__v1__envelope__get_packed_size(env);
    out->data = realloc(out->data, out->len + 4 + n);
    uint8_t *p = out->data + out->len;
    p[0] = (uint8_t)(n >> 24);
    p[1] = (uint8_t)(n >> 16);
    p[2] = (uint8_t)(n >> 8);
    p[3] = (uint8_t)n;
    crm__wire__v1__envelope__pack(env, p + 4);
    out->len += 4 + n;
}

static void append_response(bytes *out, uint64_t id, const char *payload, int eos, int with_status, int code,
                            const char *message) {
    Crm__Wire__V1__Status status = CRM__WIRE__V1__STATUS__INIT;
    Crm__Wire__V1__Response r = CRM__WIRE__V1__RESPONSE__INIT;
    Crm__Wire__V1__Envelope env = CRM__WIRE__V1__ENVELOPE__INIT;
    status.code = code;
    status.message = (char *)(message ? message : "");
    r.call_id = id;
    if (payload) {
        r.payload.data = (uint8_t *)payload;
        r.payload.len = strlen(payload);
    }
    r.end_of_stream = eos;
    if (with_status) r.status = &status;
    env.kind_case = CRM__WIRE__V1__ENVELOPE__KIND_RESPONSE;
    env.response = &r;
    append_frame(out, &env);
}

static void append_ping_pong(bytes *out, int ping, uint64_t opaque) {
    Crm__Wire__V1__Ping p = CRM__WIRE__V1__PING__INIT;
    Crm__Wire__V1__Pong q = CRM__WIRE__V1__PONG__INIT;
    Crm__Wire__V1__Envelope env = CRM__WIRE__V1__ENVELOPE__INIT;
    p.opaque = q.opaque = opaque;
    if (ping) {
        env.kind_case = CRM__WIRE__V1__ENVELOPE__KIND_PING;
        env.ping = &p;
    } else {
        env.kind_case = CRM__WIRE__V1__ENVELOPE__KIND_PONG;
        env.pong = &q;
    }
    append_frame(out, &env);
}

static void flush_bytes(fake_conn *fd, bytes *b) {
    write_all(fd, b->data, b->len);
    free(b->data);
    b->data = NULL;
    b->len = 0;
}

/* Reads the next Request, recording it; returns its call id or 0. */
static uint64_t expect_request(fake_server *f, fake_conn *fd) {
    Crm__Wire__V1__Envelope *env = fake_read(fd, 10000, NULL);
    if (!env || env->kind_case != CRM__WIRE__V1__ENVELOPE__KIND_REQUEST) {
        fake_fail(f, "expected a Request, got %s", env ? "another kind" : "nothing");
        if (env) crm__wire__v1__envelope__free_unpacked(env, NULL);
        return 0;
    }
    uint64_t id = env->request->call_id;
    if (f->n_requests == 0) {
        f->first_deadline_ms = env->request->deadline_ms;
        snprintf(f->first_method, sizeof f->first_method, "%s", env->request->method);
        for (size_t i = 0; i < env->request->n_metadata; i++)
            if (strcmp(env->request->metadata[i]->key, "authorization") == 0 && !f->first_auth[0])
                snprintf(f->first_auth, sizeof f->first_auth, "%s", env->request->metadata[i]->value);
    }
    if (f->n_requests < 8) f->request_ids[f->n_requests] = id;
    f->n_requests++;
    crm__wire__v1__envelope__free_unpacked(env, NULL);
    return id;
}

/* Reads until the client closes; counts frames. */
static int read_until_eof(fake_conn *fd) {
    int frames = 0, eof = 0;
    for (;;) {
        Crm__Wire__V1__Envelope *env = fake_read(fd, 10000, &eof);
        if (!env) break;
        frames++;
        crm__wire__v1__envelope__free_unpacked(env, NULL);
    }
    return frames;
}

static void *fake_main(void *arg) {
    fake_server *f = arg;
    struct pollfd p = {f->listen_fd, POLLIN, 0};
    if (poll(&p, 1, 10000) <= 0) {
        fake_fail(f, "no connection");
        return NULL;
    }
    fake_conn conn = {accept(f->listen_fd, NULL, NULL), NULL};
    if (conn.fd < 0) {
        fake_fail(f, "accept: %s", strerror(errno));
        return NULL;
    }
    conn.ssl = SSL_new(g_fake_ctx);
    if (!conn.ssl || SSL_set_fd(conn.ssl, conn.fd) != 1 || SSL_accept(conn.ssl) != 1) {
        fake_fail(f, "TLS handshake with the client failed");
        if (conn.ssl) SSL_free(conn.ssl);
        close(conn.fd);
        ERR_clear_error();
        return NULL;
    }
    fake_conn *fd = &conn;
    bytes out = {0};
    uint64_t id;
    switch (f->script) {
    case FAKE_SILENT: {
        id = expect_request(f, fd); /* and never answer it ... */
        for (;;) {                  /* ... until the client cancels it */
            Crm__Wire__V1__Envelope *env = fake_read(fd, 10000, NULL);
            if (!env) {
                fake_fail(f, "no Cancel");
                break;
            }
            int is_cancel = env->kind_case == CRM__WIRE__V1__ENVELOPE__KIND_CANCEL;
            if (is_cancel) f->cancelled_id = env->cancel->call_id;
            crm__wire__v1__envelope__free_unpacked(env, NULL);
            if (is_cancel) break;
        }
        /* A late answer crossing the Cancel: the client must not take it for the next call's. */
        append_response(&out, id, "late", 1, 1, 0, NULL);
        flush_bytes(fd, &out);
        id = expect_request(f, fd);
        append_response(&out, id, "two", 1, 1, 0, NULL);
        flush_bytes(fd, &out);
        read_until_eof(fd);
        break;
    }
    case FAKE_CHATTY: {
        id = expect_request(f, fd);
        append_ping_pong(&out, 0, 777);                   /* a Pong nobody asked for */
        append_response(&out, id + 100, "x", 1, 1, 5, "not yours"); /* an unknown call id */
        append_response(&out, id, "junk", 0, 0, 0, NULL); /* non-final frame to a unary call: ignored */
        append_ping_pong(&out, 1, 42);                    /* must be answered while the call waits */
        flush_bytes(fd, &out);
        for (;;) {
            Crm__Wire__V1__Envelope *env = fake_read(fd, 5000, NULL);
            if (!env) {
                fake_fail(f, "no Pong to Ping 42");
                break;
            }
            int ok = env->kind_case == CRM__WIRE__V1__ENVELOPE__KIND_PONG && env->pong->opaque == 42;
            crm__wire__v1__envelope__free_unpacked(env, NULL);
            if (ok) {
                f->pong42 = 1;
                break;
            }
        }
        /* The answer, in three pieces: a prefix split in two, then the rest. */
        append_response(&out, id, "hello", 1, 1, 0, NULL);
        struct timespec pause = {0, 50 * 1000000};
        write_all(fd, out.data, 3);
        nanosleep(&pause, NULL);
        write_all(fd, out.data + 3, 5);
        nanosleep(&pause, NULL);
        write_all(fd, out.data + 8, out.len - 8);
        free(out.data);
        out.data = NULL;
        out.len = 0;

        id = expect_request(f, fd); /* the stream */
        append_response(&out, id, "m1", 0, 0, 0, NULL);
        append_response(&out, id, "", 0, 0, 0, NULL); /* an all-default message: empty bytes */
        {
            Crm__Wire__V1__GoAway g = CRM__WIRE__V1__GO_AWAY__INIT;
            Crm__Wire__V1__Envelope env = CRM__WIRE__V1__ENVELOPE__INIT;
            g.last_call_id = id;
            g.reason = "server shutting down";
            env.kind_case = CRM__WIRE__V1__ENVELOPE__KIND_GO_AWAY;
            env.go_away = &g;
            append_frame(&out, &env);
        }
        append_response(&out, id, NULL, 1, 0, 0, NULL); /* final, with no status field: OK */
        flush_bytes(fd, &out);
        f->extra_frames_after_goaway = read_until_eof(fd);
        break;
    }
    case FAKE_CONN_STATUS:
        expect_request(f, fd);
        append_response(&out, 0, NULL, 1, 1, CRM_STATUS_RESOURCE_EXHAUSTED,
                        "frame of 99999999 bytes exceeds the limit of 4194304 bytes");
        flush_bytes(fd, &out);
        break;
    case FAKE_OVERSIZE: {
        expect_request(f, fd);
        static const uint8_t prefix[] = {0x00, 0x40, 0x00, 0x01, 0x12, 0x00}; /* 4 MiB + 1 */
        write_all(fd, prefix, sizeof prefix);
        read_until_eof(fd);
        break;
    }
    case FAKE_EMPTY_FRAME: {
        expect_request(f, fd);
        static const uint8_t empty[] = {0, 0, 0, 0};
        write_all(fd, empty, sizeof empty);
        read_until_eof(fd);
        break;
    }
    case FAKE_WORKED_EXAMPLE: {
        uint8_t pre[4];
        if (read_exact(fd, pre, 4, 10000) != 0) {
            fake_fail(f, "no request");
            break;
        }
        uint32_t n = ((uint32_t)pre[0] << 24) | ((uint32_t)pre[1] << 16) | ((uint32_t)pre[2] << 8) | pre[3];
        if (n + 4 > sizeof f->raw_first || read_exact(fd, f->raw_first + 4, n, 10000) != 0) {
            fake_fail(f, "request frame of %u bytes", n);
            break;
        }
        memcpy(f->raw_first, pre, 4);
        f->raw_first_len = n + 4;
        uint8_t resp[64];
        size_t len = from_hex(WORKED_RESPONSE_HEX, resp);
        write_all(fd, resp, len);
        read_until_eof(fd);
        break;
    }
    case FAKE_GARBAGE: {
        expect_request(f, fd);
        static const uint8_t garbage[] = {0, 0, 0, 3, 0xff, 0xff, 0xff};
        write_all(fd, garbage, sizeof garbage);
        read_until_eof(fd);
        break;
    }
    }
    (void)SSL_shutdown(conn.ssl);
    SSL_free(conn.ssl);
    close(conn.fd);
    ERR_clear_error();
    return NULL;
}

static int fake_start(fake_server *f, fake_script script) {
    memset(f, 0, sizeof *f);
    f->script = script;
    f->listen_fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {0};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t al = sizeof a;
    if (f->listen_fd < 0 || bind(f->listen_fd, (struct sockaddr *)&a, sizeof a) != 0 ||
        listen(f->listen_fd, 4) != 0 || getsockname(f->listen_fd, (struct sockaddr *)&a, &al) != 0) {
        CHECK(0, "fake server socket: %s", strerror(errno));
        return -1;
    }
    f->port = ntohs(a.sin_port);
    if (pthread_create(&f->thread, NULL, fake_main, f) != 0) {
        CHECK(0, "pthread_create");
        close(f->listen_fd);
        return -1;
    }
    return 0;
}

static void fake_stop(fake_server *f) {
    pthread_join(f->thread, NULL);
    close(f->listen_fd);
    CHECK(f->error[0] == '\0', "fake server: %s", f->error);
}

static int append_message(void *user, const uint8_t *msg, size_t len) {
    bytes *b = user;
    b->data = realloc(b->data, b->len + len + 1);
    memcpy(b->data + b->len, msg, len);
    b->len += len;
    b->data[b->len++] = '|';
    return 0;
}

static void test_fake_local_deadline(void) {
    fake_server f;
    if (fake_start(&f, FAKE_SILENT) != 0) return;
    crm_client *c = connect_to(f.port, "fake-token");
    if (c) {
        crm_status st = {0};
        uint8_t *resp = NULL;
        size_t len = 0;
        int64_t t0 = now_ms();
        int rc = crm_call_unary(c, "/test.v1.Fake/Silent", (const uint8_t *)"q", 1, 300, &resp, &len, &st);
        int64_t took = now_ms() - t0;
        CHECK(rc == CRM_ERR_TIMEOUT && st.code == CRM_STATUS_DEADLINE_EXCEEDED, "rc %d code %d", rc, st.code);
        CHECK(resp == NULL, "no response");
        CHECK(took >= 290 && took < 3000, "timed out after %lld ms, deadline 300", (long long)took);
        CHECK(strstr(st.message, "deadline") != NULL, "message: %s", st.message);
        /* The next call gets its own answer, not the late one of call 1. */
        rc = crm_call_unary(c, "/test.v1.Fake/Second", NULL, 0, 5000, &resp, &len, &st);
        CHECK(rc == CRM_OK && st.code == CRM_STATUS_OK && len == 3 && memcmp(resp, "two", 3) == 0,
              "second call: rc %d code %d len %zu", rc, st.code, len);
        crm_free(resp);
        crm_status_free(&st);
        crm_client_close(c);
    }
    fake_stop(&f);
    CHECK(f.first_deadline_ms == 300, "deadline_ms sent: %u", f.first_deadline_ms);
    CHECK(f.cancelled_id == 1 && f.request_ids[0] == 1, "Cancel for call 1 (got %llu)",
          (unsigned long long)f.cancelled_id);
    CHECK(f.n_requests == 2 && f.request_ids[1] == 2, "second call has id 2");
}

static void test_fake_interleaved_frames_and_goaway(void) {
    fake_server f;
    if (fake_start(&f, FAKE_CHATTY) != 0) return;
    crm_client *c = connect_to(f.port, "fake-token");
    if (c) {
        crm_status st = {0};
        uint8_t *resp = NULL;
        size_t len = 0;
        int rc = crm_call_unary(c, "/test.v1.Fake/Unary", NULL, 0, 5000, &resp, &len, &st);
        CHECK(rc == CRM_OK && st.code == CRM_STATUS_OK, "rc %d code %d %s", rc, st.code, crm_client_last_error(c));
        CHECK(len == 5 && resp && memcmp(resp, "hello", 5) == 0, "payload is the final frame's (%zu)", len);
        crm_free(resp);

        bytes got = {0};
        rc = crm_call_stream(c, "/test.v1.Fake/Stream", NULL, 0, 5000, append_message, &got, &st);
        CHECK(rc == CRM_OK && st.code == CRM_STATUS_OK, "stream: rc %d code %d %s", rc, st.code,
              crm_client_last_error(c));
        CHECK(got.len == 4 && memcmp(got.data, "m1||", 4) == 0, "two messages, the second empty (%zu)", got.len);
        free(got.data);
        uint64_t last = 0;
        CHECK(crm_client_goaway_received(c, &last) == 1 && last == 2, "GoAway remembered (last %llu)",
              (unsigned long long)last);
        rc = crm_call_unary(c, "/test.v1.Fake/AfterGoAway", NULL, 0, 5000, &resp, &len, &st);
        CHECK(rc == CRM_ERR_GOAWAY && st.code == CRM_STATUS_UNAVAILABLE, "after GoAway: rc %d code %d", rc, st.code);
        CHECK(strstr(crm_client_last_error(c), "GoAway") != NULL, "%s", crm_client_last_error(c));
        crm_status_free(&st);
        crm_client_close(c);
    }
    fake_stop(&f);
    CHECK(f.pong42 == 1, "the client answered Ping 42 with Pong 42 during the call");
    CHECK(strcmp(f.first_auth, "Bearer fake-token") == 0, "authorization: '%s'", f.first_auth);
    CHECK(strcmp(f.first_method, "/test.v1.Fake/Unary") == 0, "method: %s", f.first_method);
    CHECK(f.n_requests == 2 && f.request_ids[0] == 1 && f.request_ids[1] == 2, "ids 1, 2");
    CHECK(f.extra_frames_after_goaway == 0, "no request sent after GoAway (%d frames)", f.extra_frames_after_goaway);
}

static void test_fake_connection_status(void) {
    fake_server f;
    if (fake_start(&f, FAKE_CONN_STATUS) != 0) return;
    crm_client *c = connect_to(f.port, "fake-token");
    if (c) {
        crm_status st = {0};
        uint8_t *resp = NULL;
        size_t len = 0;
        int rc = crm_call_unary(c, "/test.v1.Fake/Any", NULL, 0, 5000, &resp, &len, &st);
        CHECK(rc == CRM_ERR_CLOSED && st.code == CRM_STATUS_RESOURCE_EXHAUSTED, "rc %d code %d", rc, st.code);
        CHECK(strstr(st.message, "exceeds the limit") != NULL, "the server's message: %s", st.message);
        int64_t t0 = now_ms();
        rc = crm_call_unary(c, "/test.v1.Fake/Any", NULL, 0, 5000, &resp, &len, &st);
        CHECK(rc == CRM_ERR_CLOSED && now_ms() - t0 < 1000, "later calls fail at once: %d", rc);
        CHECK(crm_client_ping(c, 1000) == CRM_ERR_CLOSED, "ping on a closed connection");
        crm_status_free(&st);
        crm_client_close(c);
    }
    fake_stop(&f);
}

static void test_fake_bad_frames(void) {
    static const struct {
        fake_script script;
        int want_rc, want_code;
        const char *what;
    } cases[] = {
        {FAKE_OVERSIZE, CRM_ERR_TOO_LARGE, CRM_STATUS_RESOURCE_EXHAUSTED, "prefix of 4 MiB + 1"},
        {FAKE_EMPTY_FRAME, CRM_ERR_PROTOCOL, CRM_STATUS_INTERNAL, "empty envelope"},
        {FAKE_GARBAGE, CRM_ERR_PROTOCOL, CRM_STATUS_INTERNAL, "body not an Envelope"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        fake_server f;
        if (fake_start(&f, cases[i].script) != 0) return;
        crm_client *c = connect_to(f.port, "fake-token");
        if (c) {
            crm_status st = {0};
            uint8_t *resp = NULL;
            size_t len = 0;
            int64_t t0 = now_ms();
            int rc = crm_call_unary(c, "/test.v1.Fake/Any", NULL, 0, 5000, &resp, &len, &st);
            CHECK(rc == cases[i].want_rc && st.code == cases[i].want_code, "%s: rc %d code %d (%s)", cases[i].what,
                  rc, st.code, crm_client_last_error(c));
            CHECK(now_ms() - t0 < 2000, "%s: detected at once, not at the deadline", cases[i].what);
            rc = crm_call_unary(c, "/test.v1.Fake/Any", NULL, 0, 5000, &resp, &len, &st);
            CHECK(rc == CRM_ERR_CLOSED, "%s: the connection is closed afterwards (%d)", cases[i].what, rc);
            crm_status_free(&st);
            crm_client_close(c);
        }
        fake_stop(&f);
    }
}

static void test_fake_worked_example(void) {
    fake_server f;
    if (fake_start(&f, FAKE_WORKED_EXAMPLE) != 0) return;
    crm_client *c = connect_to(f.port, "dev-admin-token");
    if (c) {
        crm_status st = {0};
        static const uint8_t payload[] = {0x0a, 0x07, 'C', '0', '0', '0', '0', '0', '1'};
        uint8_t *resp = NULL;
        size_t len = 0;
        int rc = crm_call_unary(c, M_GET, payload, sizeof payload, 2000, &resp, &len, &st);
        CHECK(rc == CRM_OK && st.code == CRM_STATUS_OK, "rc %d code %d %s", rc, st.code, crm_client_last_error(c));
        if (rc == CRM_OK && st.code == CRM_STATUS_OK) {
            Crm__Profiles__V1__GetCustomerResponse *r = crm__profiles__v1__get_customer_response__unpack(NULL, len, resp);
            CHECK(r && r->customer && strcmp(r->customer->name, "Wang Fang") == 0 &&
                      r->customer->status == CRM__PROFILES__V1__ACCOUNT_STATUS__NORMAL,
                  "decodes the §14.3 customer");
            if (r) crm__profiles__v1__get_customer_response__free_unpacked(r, NULL);
        }
        crm_free(resp);
        crm_status_free(&st);
        crm_client_close(c);
    }
    fake_stop(&f);
    uint8_t want[128];
    size_t want_len = from_hex(WORKED_REQUEST_HEX, want);
    CHECK(f.raw_first_len == want_len && memcmp(f.raw_first, want, want_len) == 0,
          "the request frame is byte for byte §14.2 (%zu vs %zu bytes)", f.raw_first_len, want_len);
}

int main(int argc, char **argv) {
    if (argc != 4 || atoi(argv[1]) <= 0 || atoi(argv[1]) > 65535) {
        fprintf(stderr, "usage: %s PORT CERTS OTHER_CA   (a running profiles service, its certificates' folder, a foreign CA)\n",
                argv[0]);
        return 2;
    }
    g_port = (uint16_t)atoi(argv[1]);
    snprintf(g_ca, sizeof g_ca, "%s/ca.crt", argv[2]);
    snprintf(g_ops_cert, sizeof g_ops_cert, "%s/ops.crt", argv[2]);
    snprintf(g_ops_key, sizeof g_ops_key, "%s/ops.key", argv[2]);
    snprintf(g_server_cert, sizeof g_server_cert, "%s/profiles.crt", argv[2]);
    snprintf(g_server_key, sizeof g_server_key, "%s/profiles.key", argv[2]);
    snprintf(g_other_ca, sizeof g_other_ca, "%s", argv[3]);
    g_tls.ca_file = g_ca;
    g_fake_ctx = SSL_CTX_new(TLS_server_method());
    if (!g_fake_ctx || !SSL_CTX_set_min_proto_version(g_fake_ctx, TLS1_3_VERSION) ||
        SSL_CTX_use_certificate_chain_file(g_fake_ctx, g_server_cert) != 1 ||
        SSL_CTX_use_PrivateKey_file(g_fake_ctx, g_server_key, SSL_FILETYPE_PEM) != 1) {
        fprintf(stderr, "cannot set up the fake server's TLS with %s\n", g_server_cert);
        return 2;
    }
    setvbuf(stdout, NULL, _IOLBF, 0);
    signal(SIGPIPE, SIG_IGN); /* the fake server may write to a client that already left */

    run_case("health check without a token", test_health_without_token);
    run_case("ping / pong", test_ping);
    run_case("unary: UpsertCustomer then GetCustomer round trip", test_unary_round_trip);
    run_case("server streaming: StreamCustomers in id order, then OK", test_stream_in_order);
    run_case("deadline: 1 ms on a 2,000-customer stream never hangs", test_deadline);
    run_case("stream stopped by the callback is cancelled", test_stream_stopped_by_callback);
    run_case("error status: NOT_FOUND", test_not_found);
    run_case("error status: UNAUTHENTICATED, PERMISSION_DENIED", test_unauthenticated_and_denied);
    run_case("error status: UNIMPLEMENTED", test_unimplemented);
    run_case("bad input: INVALID_ARGUMENT with field violations", test_invalid_argument);
    run_case("frame limit: oversized request refused locally", test_frame_limit);
    run_case("bad arguments, refused connect", test_bad_arguments_and_refused_connect);
    run_case("TLS: untrusted CA and wrong name refused, plaintext on the TLS port closed", test_tls_refusals);
    run_case("mutual TLS: the ops certificate runs as ops without a token; a token wins", test_mutual_tls);
    run_case("fake server: local deadline, Cancel, late answer ignored", test_fake_local_deadline);
    run_case("fake server: foreign frames, Ping answered, split frame, GoAway", test_fake_interleaved_frames_and_goaway);
    run_case("fake server: connection-level status (call_id 0)", test_fake_connection_status);
    run_case("fake server: oversized, empty and garbage frames", test_fake_bad_frames);
    run_case("fake server: the bytes of proto/README.md §14 (worked example)", test_fake_worked_example);

    SSL_CTX_free(g_fake_ctx);
    printf("%d passed, %d failed\n", g_passed, g_failed);
    return g_failed ? 1 : 0;
}
