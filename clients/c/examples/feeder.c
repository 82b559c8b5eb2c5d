/*
 * feeder: a trading-system feeder in miniature, using the CRM C client against the profiles service.
 *
 *   feeder HOST PORT [TOKEN]        (TOKEN defaults to $CRM_TOKEN)
 *
 * 1. upserts a small batch of customers (UpsertCustomer, one call each),
 * 2. reads one back with GetCustomer and prints it,
 * 3. streams the customers with StreamCustomers and prints them.
 * Exits 0 when every call succeeded. Roles (dev config): UpsertCustomer and GetCustomer accept the
 * trading system's ingest token; StreamCustomers needs head-office, service or admin, so with
 * dev-ingest-token step 3 fails with PERMISSION_DENIED. scripts/test-c-client.sh uses dev-admin-token.
 */
#define _POSIX_C_SOURCE 200809L

#include "crm_client.h"

#include "crm/profiles/v1/profiles.pb-c.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DEADLINE_MS 5000u

static const char *kind_name(int kind) {
    switch (kind) {
    case CRM__PROFILES__V1__CUSTOMER_KIND__INDIVIDUAL: return "INDIVIDUAL";
    case CRM__PROFILES__V1__CUSTOMER_KIND__INSTITUTION: return "INSTITUTION";
    default: return "UNSPECIFIED";
    }
}

static const char *account_status_name(int status) {
    switch (status) {
    case CRM__PROFILES__V1__ACCOUNT_STATUS__PROSPECT: return "PROSPECT";
    case CRM__PROFILES__V1__ACCOUNT_STATUS__NORMAL: return "NORMAL";
    case CRM__PROFILES__V1__ACCOUNT_STATUS__FROZEN: return "FROZEN";
    case CRM__PROFILES__V1__ACCOUNT_STATUS__REPORTED_LOST: return "REPORTED_LOST";
    case CRM__PROFILES__V1__ACCOUNT_STATUS__CLOSED: return "CLOSED";
    default: return "UNSPECIFIED";
    }
}

static void print_customer(const char *prefix, const Crm__Profiles__V1__Customer *c) {
    printf("%s%s  %-11s %-14s branch=%s manager=%s status=%s", prefix, c->customer_id, kind_name(c->kind),
           c->name, c->branch_id, c->manager_id, account_status_name(c->status));
    if (c->open_date)
        printf(" opened=%04d-%02d-%02d", (int)c->open_date->year, (int)c->open_date->month, (int)c->open_date->day);
    if (c->updated_at) printf(" updated_at=%lld", (long long)c->updated_at->unix_millis);
    printf("\n");
}

/* Prints a failed call: the local error, or the server's status with its field violations. */
static void report(const char *what, int rc, const crm_status *st, crm_client *client) {
    if (rc != CRM_OK)
        fprintf(stderr, "%s: %s (%s)\n", what, crm_strerror(rc), crm_client_last_error(client));
    else
        fprintf(stderr, "%s: %s: %s\n", what, crm_status_code_name(st->code), st->message);
    for (size_t i = 0; i < st->n_violations; i++)
        fprintf(stderr, "  %s: %s\n", st->violations[i].field, st->violations[i].description);
}

struct stream_state {
    int count;
};

static int on_customer(void *user, const uint8_t *msg, size_t len) {
    struct stream_state *state = user;
    Crm__Profiles__V1__Customer *c = crm__profiles__v1__customer__unpack(NULL, len, msg);
    if (!c) {
        fprintf(stderr, "StreamCustomers: a message does not decode as Customer\n");
        return 1; /* stop: the library cancels the call */
    }
    state->count++;
    print_customer("  stream: ", c);
    crm__profiles__v1__customer__free_unpacked(c, NULL);
    return 0;
}

int main(int argc, char **argv) {
    if (argc < 3 || argc > 4) {
        fprintf(stderr, "usage: %s HOST PORT [TOKEN]   (TOKEN defaults to $CRM_TOKEN)\n", argv[0]);
        return 2;
    }
    const char *host = argv[1];
    long port = strtol(argv[2], NULL, 10);
    const char *token = argc == 4 ? argv[3] : getenv("CRM_TOKEN");
    if (port <= 0 || port > 65535) {
        fprintf(stderr, "bad port %s\n", argv[2]);
        return 2;
    }
    if (!token || !token[0]) {
        fprintf(stderr, "no token: pass one as the third argument or set CRM_TOKEN\n");
        return 2;
    }

    crm_client *client = NULL;
    int rc = crm_client_connect(host, (uint16_t)port, token, &client);
    if (rc != CRM_OK) {
        fprintf(stderr, "connect: %s\n", crm_client_last_error(NULL));
        return 1;
    }
    int failures = 0;
    crm_status st = {0};

    /* 1. The batch. TODO(batched ingestion): switch to the batched trade-ingestion RPC of the
     * profiles service once it exists (a later issue); until then one UpsertCustomer per customer. */
    static const struct {
        const char *id, *name, *branch, *manager, *channel;
        int kind, status, year, month, day;
    } batch[] = {
        {"FEED-0001", "Li Wei", "B01", "M0001", "branch", CRM__PROFILES__V1__CUSTOMER_KIND__INDIVIDUAL,
         CRM__PROFILES__V1__ACCOUNT_STATUS__NORMAL, 2021, 3, 15},
        {"FEED-0002", "Zhang Min", "B01", "M0001", "app", CRM__PROFILES__V1__CUSTOMER_KIND__INDIVIDUAL,
         CRM__PROFILES__V1__ACCOUNT_STATUS__NORMAL, 2022, 11, 2},
        {"FEED-0003", "Huaxia Capital", "B02", "", "branch", CRM__PROFILES__V1__CUSTOMER_KIND__INSTITUTION,
         CRM__PROFILES__V1__ACCOUNT_STATUS__FROZEN, 2019, 7, 30},
        {"FEED-0004", "Chen Jing", "B02", "", "website", CRM__PROFILES__V1__CUSTOMER_KIND__INDIVIDUAL,
         CRM__PROFILES__V1__ACCOUNT_STATUS__PROSPECT, 0, 0, 0},
    };
    const size_t n_batch = sizeof batch / sizeof batch[0];
    for (size_t i = 0; i < n_batch; i++) {
        Crm__Common__V1__Date open_date = CRM__COMMON__V1__DATE__INIT;
        Crm__Profiles__V1__Customer customer = CRM__PROFILES__V1__CUSTOMER__INIT;
        Crm__Profiles__V1__UpsertCustomerRequest req = CRM__PROFILES__V1__UPSERT_CUSTOMER_REQUEST__INIT;
        customer.customer_id = (char *)batch[i].id;
        customer.name = (char *)batch[i].name;
        customer.branch_id = (char *)batch[i].branch;
        customer.manager_id = (char *)batch[i].manager;
        customer.channel = (char *)batch[i].channel;
        customer.kind = batch[i].kind;
        customer.status = batch[i].status;
        if (batch[i].year) { /* a prospect has no open date */
            open_date.year = batch[i].year;
            open_date.month = batch[i].month;
            open_date.day = batch[i].day;
            customer.open_date = &open_date;
        }
        req.customer = &customer;
        uint8_t buf[512];
        size_t len = crm__profiles__v1__upsert_customer_request__get_packed_size(&req);
        if (len > sizeof buf) {
            fprintf(stderr, "customer %s too large\n", batch[i].id);
            failures++;
            continue;
        }
        crm__profiles__v1__upsert_customer_request__pack(&req, buf);
        uint8_t *resp = NULL;
        size_t resp_len = 0;
        rc = crm_call_unary(client, "/crm.profiles.v1.Profiles/UpsertCustomer", buf, len, DEADLINE_MS, &resp,
                            &resp_len, &st);
        if (rc != CRM_OK || st.code != CRM_STATUS_OK) {
            report("UpsertCustomer", rc, &st, client);
            failures++;
            if (rc != CRM_OK && rc != CRM_ERR_TIMEOUT && rc != CRM_ERR_TOO_LARGE) break; /* connection gone */
            continue;
        }
        Crm__Profiles__V1__UpsertCustomerResponse *r =
            crm__profiles__v1__upsert_customer_response__unpack(NULL, resp_len, resp);
        crm_free(resp);
        if (!r) {
            fprintf(stderr, "UpsertCustomer: the response does not decode\n");
            failures++;
            continue;
        }
        printf("upserted %s (%s)\n", batch[i].id, r->created ? "created" : "updated");
        crm__profiles__v1__upsert_customer_response__free_unpacked(r, NULL);
    }

    /* 2. Read one back. */
    if (failures == 0) {
        Crm__Profiles__V1__GetCustomerRequest req = CRM__PROFILES__V1__GET_CUSTOMER_REQUEST__INIT;
        req.customer_id = (char *)batch[0].id;
        uint8_t buf[128];
        size_t len = crm__profiles__v1__get_customer_request__pack(&req, buf);
        uint8_t *resp = NULL;
        size_t resp_len = 0;
        rc = crm_call_unary(client, "/crm.profiles.v1.Profiles/GetCustomer", buf, len, DEADLINE_MS, &resp,
                            &resp_len, &st);
        if (rc != CRM_OK || st.code != CRM_STATUS_OK) {
            report("GetCustomer", rc, &st, client);
            failures++;
        } else {
            Crm__Profiles__V1__GetCustomerResponse *r =
                crm__profiles__v1__get_customer_response__unpack(NULL, resp_len, resp);
            if (r && r->customer) print_customer("read back: ", r->customer);
            else {
                fprintf(stderr, "GetCustomer: the response does not decode or has no customer\n");
                failures++;
            }
            if (r) crm__profiles__v1__get_customer_response__free_unpacked(r, NULL);
        }
        crm_free(resp);
    }

    /* 3. Stream the batch (ids after "FEED-", at most as many as we sent). */
    if (failures == 0) {
        Crm__Profiles__V1__StreamCustomersRequest req = CRM__PROFILES__V1__STREAM_CUSTOMERS_REQUEST__INIT;
        req.after_customer_id = "FEED-";
        req.limit = (uint32_t)n_batch;
        uint8_t buf[64];
        size_t len = crm__profiles__v1__stream_customers_request__pack(&req, buf);
        struct stream_state state = {0};
        printf("StreamCustomers after \"FEED-\":\n");
        rc = crm_call_stream(client, "/crm.profiles.v1.Profiles/StreamCustomers", buf, len, DEADLINE_MS,
                             on_customer, &state, &st);
        if (rc != CRM_OK || st.code != CRM_STATUS_OK) {
            report("StreamCustomers", rc, &st, client);
            failures++;
        } else {
            printf("streamed %d customers, status %s\n", state.count, crm_status_code_name(st.code));
        }
    }

    crm_status_free(&st);
    crm_client_close(client);
    if (failures) fprintf(stderr, "feeder: %d failure(s)\n", failures);
    return failures ? 1 : 0;
}
