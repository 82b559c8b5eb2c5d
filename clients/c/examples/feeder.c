/*
 * feeder: a trading-system feeder in miniature, using the CRM C client against the profiles service:
 * it sends a batch of trades to profiles and reads one customer's 360° view back.
 *
 *   feeder HOST PORT [TOKEN]        (TOKEN defaults to $CRM_TOKEN)
 *
 * It speaks TLS 1.3, trusting the CA in $CRM_TLS_CA (default data/certs/ca.crt, what
 * scripts/dev-certs.sh makes); CRM_TLS_CA=none connects in plaintext, to a service run with --plaintext.
 *
 * 1. upserts its customers, all NORMAL with an open date (UpsertCustomer, one call each): trades are
 *    refused for unknown customers and for accounts that are not NORMAL;
 * 2. sends one IngestTrades batch of N_TRADES trades spread over those customers and the last 28 days,
 *    then the very same batch again, which must come back as all duplicates (idempotency keys);
 * 3. sends the read-back customer's end-of-day position (cash + one holding) with IngestDailyPositions;
 * 4. reads that customer's 360° view with GetCustomer360 and prints it. The service computes the
 *    dimensions asynchronously, a few milliseconds after ingestion, so the view is polled (at most
 *    POLL_ATTEMPTS times, POLL_INTERVAL_MS apart) until trade_count_30d counts the trades sent and
 *    total_assets shows the position;
 * 5. streams the customers with StreamCustomers and prints them.
 * Exits 0 when every call succeeded and every check held, 1 otherwise.
 *
 * Trade idempotency keys include the run's start time, so every run sends new trades; the expected
 * trade_count_30d is the value read before the batch plus the trades sent (on a fresh store: the
 * trades sent). The position's key names the customer and the day: a second run on the same day
 * sends a duplicate.
 *
 * Roles (dev config): UpsertCustomer, IngestTrades and IngestDailyPositions accept the trading
 * system's ingest token; GetCustomer360 needs manager, head-office, service or admin and
 * StreamCustomers head-office, service or admin, so with dev-ingest-token steps 1-3 succeed and step 4
 * fails with PERMISSION_DENIED (the feeder stops there). scripts/test-c-client.sh uses dev-admin-token.
 */
#define _POSIX_C_SOURCE 200809L

#include "crm_client.h"

#include "crm/profiles/v1/profiles.pb-c.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define DEADLINE_MS 5000u
#define PROFILES "/crm.profiles.v1.Profiles/"

#define N_CUSTOMERS 4
#define TRADES_PER_CUSTOMER 60
#define N_TRADES (N_CUSTOMERS * TRADES_PER_CUSTOMER)
#define READ_BACK 0 /* index of the customer whose position is sent and whose 360° view is read */
#define RECENT_LIMIT 5u
#define POLL_ATTEMPTS 50
#define POLL_INTERVAL_MS 100

#define MILLIS_PER_DAY INT64_C(86400000)
#define CST_OFFSET_MILLIS INT64_C(28800000) /* UTC+8: the exchanges' trading days */

typedef Crm__Profiles__V1__GetCustomer360Response View360;

static const struct {
    const char *id, *name, *branch, *manager, *channel;
    int kind, year, month, day;
} customers[N_CUSTOMERS] = {
    {"FEED-0001", "Li Wei", "B01", "M0001", "branch", CRM__PROFILES__V1__CUSTOMER_KIND__INDIVIDUAL, 2021, 3, 15},
    {"FEED-0002", "Zhang Min", "B01", "M0001", "app", CRM__PROFILES__V1__CUSTOMER_KIND__INDIVIDUAL, 2022, 11, 2},
    {"FEED-0003", "Huaxia Capital", "B02", "", "branch", CRM__PROFILES__V1__CUSTOMER_KIND__INSTITUTION, 2019, 7, 30},
    {"FEED-0004", "Chen Jing", "B02", "", "website", CRM__PROFILES__V1__CUSTOMER_KIND__INDIVIDUAL, 2023, 5, 20},
};

/* What the trades are in; prices in thousandths of a yuan. */
static const struct {
    const char *code, *sector;
    Crm__Profiles__V1__InstrumentType type;
    int64_t price_milli, lot;
} instruments[] = {
    {"600519", "liquor", CRM__PROFILES__V1__INSTRUMENT_TYPE__STOCK, 1650000, 100},
    {"601398", "banking", CRM__PROFILES__V1__INSTRUMENT_TYPE__STOCK, 5870, 1000},
    {"000001", "banking", CRM__PROFILES__V1__INSTRUMENT_TYPE__STOCK, 10950, 500},
    {"300750", "batteries", CRM__PROFILES__V1__INSTRUMENT_TYPE__STOCK, 185400, 100},
    {"510300", "broad-market", CRM__PROFILES__V1__INSTRUMENT_TYPE__ETF, 3512, 2000},
    {"161725", "liquor", CRM__PROFILES__V1__INSTRUMENT_TYPE__FUND, 1023, 10000},
    {"019666", "government", CRM__PROFILES__V1__INSTRUMENT_TYPE__BOND, 100250, 10},
};
#define N_INSTRUMENTS (sizeof instruments / sizeof instruments[0])

/* The read-back customer's end-of-day position: cash and one holding (fen). */
#define POSITION_CASH_FEN INT64_C(35000000)          /*   350,000.00 yuan */
#define POSITION_HOLDING_QTY INT64_C(1000)           /* 1000 x 600519 at 1650.000 */
#define POSITION_VALUE_FEN INT64_C(165000000)        /* 1,650,000.00 yuan */
#define POSITION_COST_FEN INT64_C(150000000)         /* 1,500,000.00 yuan */

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

static const char *kind_name(int kind) {
    switch (kind) {
    case CRM__PROFILES__V1__CUSTOMER_KIND__INDIVIDUAL: return "INDIVIDUAL";
    case CRM__PROFILES__V1__CUSTOMER_KIND__INSTITUTION: return "INSTITUTION";
    default: return "UNSPECIFIED";
    }
}

static const char *instrument_type_name(int type) {
    const ProtobufCEnumValue *v =
        protobuf_c_enum_descriptor_get_value(&crm__profiles__v1__instrument_type__descriptor, type);
    return v ? v->name : "?";
}

/* Fen as yuan with two decimals, e.g. -1234 -> "-12.34". */
static const char *yuan(char buf[32], int64_t fen) {
    uint64_t magnitude = fen < 0 ? (uint64_t)0 - (uint64_t)fen : (uint64_t)fen;
    snprintf(buf, 32, "%s%" PRIu64 ".%02" PRIu64, fen < 0 ? "-" : "", magnitude / 100, magnitude % 100);
    return buf;
}

static int64_t money_fen(const Crm__Common__V1__Money *m) { return m ? m->minor_units : 0; }

static int64_t now_millis(void) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void sleep_millis(long ms) {
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0) {
    }
}

static void print_customer(const char *prefix, const Crm__Profiles__V1__Customer *c) {
    printf("%s%s  %-11s %-14s branch=%s manager=%s status=%s", prefix, c->customer_id, kind_name(c->kind),
           c->name, c->branch_id, c->manager_id, account_status_name(c->status));
    if (c->open_date)
        printf(" opened=%04d-%02d-%02d", (int)c->open_date->year, (int)c->open_date->month, (int)c->open_date->day);
    if (c->updated_at) printf(" updated_at=%" PRId64, c->updated_at->unix_millis);
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

/*
 * One unary call of the profiles service: encodes request, calls PROFILES + method, reports a
 * failure on stderr. Returns CRM_OK with *resp (free with crm_free) when the status is OK; else a
 * negative CRM_ERR_* (local failure) or 1 (the server's status, in *st).
 */
static int profiles_call(crm_client *client, const char *method, const ProtobufCMessage *request, uint8_t **resp,
                         size_t *resp_len, crm_status *st) {
    char full[96];
    snprintf(full, sizeof full, PROFILES "%s", method);
    size_t len = protobuf_c_message_get_packed_size(request);
    uint8_t *buf = malloc(len ? len : 1);
    if (!buf) {
        fprintf(stderr, "%s: out of memory\n", method);
        return CRM_ERR_NOMEM;
    }
    protobuf_c_message_pack(request, buf);
    *resp = NULL;
    *resp_len = 0;
    int rc = crm_call_unary(client, full, buf, len, DEADLINE_MS, resp, resp_len, st);
    free(buf);
    if (rc != CRM_OK || st->code != CRM_STATUS_OK) {
        report(method, rc, st, client);
        return rc != CRM_OK ? rc : 1;
    }
    return CRM_OK;
}

/* GetCustomer360 for id; NULL (reported) when the call fails or the answer has no view. */
static View360 *get_360(crm_client *client, const char *id, crm_status *st) {
    Crm__Profiles__V1__GetCustomer360Request req = CRM__PROFILES__V1__GET_CUSTOMER360_REQUEST__INIT;
    req.customer_id = (char *)id;
    req.recent_limit = RECENT_LIMIT;
    uint8_t *resp;
    size_t resp_len;
    if (profiles_call(client, "GetCustomer360", &req.base, &resp, &resp_len, st) != CRM_OK) return NULL;
    View360 *r = crm__profiles__v1__get_customer360_response__unpack(NULL, resp_len, resp);
    crm_free(resp);
    if (r && r->view && r->view->customer) return r;
    fprintf(stderr, "GetCustomer360: the response does not decode or has no view\n");
    if (r) crm__profiles__v1__get_customer360_response__free_unpacked(r, NULL);
    return NULL;
}

/* A numeric dimension of the view: 1 and *value when present. */
static int dimension(const Crm__Profiles__V1__Customer360 *view, const char *name, double *value) {
    const Crm__Profiles__V1__CustomerDimensions *d = view->dimensions;
    for (size_t i = 0; d && i < d->n_numbers; i++)
        if (strcmp(d->numbers[i]->key, name) == 0) {
            *value = d->numbers[i]->value;
            return 1;
        }
    return 0;
}

/* A class of the view ("(none)" when the scheme gave none). */
static const char *class_of(const Crm__Profiles__V1__Customer360 *view, const char *scheme) {
    const Crm__Profiles__V1__CustomerDimensions *d = view->dimensions;
    for (size_t i = 0; d && i < d->n_classes; i++)
        if (strcmp(d->classes[i]->key, scheme) == 0) return d->classes[i]->value;
    return "(none)";
}

/* The batch of trades, in one allocation: the events point into the arrays next to them. */
struct trade_batch {
    Crm__Profiles__V1__TradeEvent events[N_TRADES];
    Crm__Profiles__V1__TradeEvent *pointers[N_TRADES];
    Crm__Common__V1__Money amount[N_TRADES], commission[N_TRADES], fees[N_TRADES];
    Crm__Common__V1__Timestamp traded_at[N_TRADES];
    char keys[N_TRADES][48];
    char prices[N_TRADES][24];
    int per_customer[N_CUSTOMERS];
};

/*
 * Fills b with N_TRADES trades, customers in turn, each customer's trades spread from 27 days ago to
 * a few minutes ago (never in the future, all inside a 30-day window ending today). run_id makes the
 * idempotency keys unique to this run.
 */
static void build_trades(struct trade_batch *b, int64_t now_ms, int64_t run_id) {
    for (int i = 0; i < N_TRADES; i++) {
        int c = i % N_CUSTOMERS, k = i / N_CUSTOMERS;
        size_t which = (size_t)(i * 3 + c) % N_INSTRUMENTS;
        Crm__Profiles__V1__TradeEvent *t = &b->events[i];
        *t = (Crm__Profiles__V1__TradeEvent)CRM__PROFILES__V1__TRADE_EVENT__INIT;

        int sell = k % 3 == 2;
        int64_t quantity = instruments[which].lot * (1 + k % 5);
        int64_t price = instruments[which].price_milli;
        int64_t amount = price * quantity / 10; /* thousandths of a yuan x units -> fen */
        int64_t commission = amount * 25 / 100000 > 500 ? amount * 25 / 100000 : 500; /* 0.025%, at least 5 yuan */
        int64_t fees = amount * 2 / 100000 + (sell ? amount / 2000 : 0);            /* transfer fee, stamp duty */
        int64_t days_ago = 27 - (int64_t)k * 28 / TRADES_PER_CUSTOMER;                /* 27 .. 0 */
        int64_t minutes_ago = 5 + (int64_t)(k * 37 % 600);

        snprintf(b->keys[i], sizeof b->keys[i], "FEED-T-%" PRId64 "-%04d", run_id, i + 1);
        snprintf(b->prices[i], sizeof b->prices[i], "%" PRId64 ".%03" PRId64, price / 1000, price % 1000);
        b->amount[i] = (Crm__Common__V1__Money)CRM__COMMON__V1__MONEY__INIT;
        b->commission[i] = (Crm__Common__V1__Money)CRM__COMMON__V1__MONEY__INIT;
        b->fees[i] = (Crm__Common__V1__Money)CRM__COMMON__V1__MONEY__INIT;
        b->traded_at[i] = (Crm__Common__V1__Timestamp)CRM__COMMON__V1__TIMESTAMP__INIT;
        b->amount[i].minor_units = amount;
        b->commission[i].minor_units = commission;
        b->fees[i].minor_units = fees;
        b->traded_at[i].unix_millis = now_ms - days_ago * MILLIS_PER_DAY - minutes_ago * 60000;

        t->idempotency_key = b->keys[i];
        t->customer_id = (char *)customers[c].id;
        t->account = k % 4 == 3 ? CRM__PROFILES__V1__ACCOUNT_TYPE__MARGIN : CRM__PROFILES__V1__ACCOUNT_TYPE__CASH;
        t->side = sell ? CRM__PROFILES__V1__TRADE_SIDE__SELL : CRM__PROFILES__V1__TRADE_SIDE__BUY;
        t->instrument = (char *)instruments[which].code;
        t->instrument_type = instruments[which].type;
        t->sector = (char *)instruments[which].sector;
        t->quantity = quantity;
        t->price = b->prices[i];
        t->amount = &b->amount[i];
        t->commission = &b->commission[i];
        t->fees = &b->fees[i];
        t->traded_at = &b->traded_at[i];
        b->pointers[i] = t;
        b->per_customer[c]++;
    }
}

/* IngestTrades with the packed batch; 0 and the counts, or the profiles_call error. */
static int ingest(crm_client *client, const char *method, const ProtobufCMessage *request, uint32_t *accepted,
                  uint32_t *duplicates, crm_status *st) {
    uint8_t *resp;
    size_t resp_len;
    int rc = profiles_call(client, method, request, &resp, &resp_len, st);
    if (rc != CRM_OK) return rc;
    Crm__Profiles__V1__IngestResponse *r = crm__profiles__v1__ingest_response__unpack(NULL, resp_len, resp);
    crm_free(resp);
    if (!r) {
        fprintf(stderr, "%s: the response does not decode\n", method);
        return 1;
    }
    *accepted = r->accepted;
    *duplicates = r->duplicates;
    crm__profiles__v1__ingest_response__free_unpacked(r, NULL);
    return CRM_OK;
}

static void print_360(const Crm__Profiles__V1__Customer360 *v, int sent) {
    char a[32], b[32];
    printf("360 view of %s: %s, %s\n", v->customer->customer_id, v->customer->name,
           account_status_name(v->customer->status));
    printf("  cash %s yuan, total assets %s yuan\n", yuan(a, money_fen(v->cash)), yuan(b, money_fen(v->total_assets)));
    printf("  recent trades: %zu shown (limit %u) of %d sent\n", v->n_recent_trades, RECENT_LIMIT, sent);
    if (v->n_recent_trades > 0) {
        const Crm__Profiles__V1__TradeEvent *t = v->recent_trades[0];
        printf("  first: %s %s %s %s %s x%" PRId64 " @ %s = %s yuan, traded_at=%" PRId64 "\n", t->idempotency_key,
               t->side == CRM__PROFILES__V1__TRADE_SIDE__SELL ? "SELL" : "BUY",
               t->account == CRM__PROFILES__V1__ACCOUNT_TYPE__MARGIN ? "MARGIN" : "CASH", t->instrument,
               instrument_type_name(t->instrument_type), t->quantity, t->price, yuan(a, money_fen(t->amount)),
               t->traded_at ? t->traded_at->unix_millis : 0);
    }
    double count = 0, assets = 0, ratio = 0;
    dimension(v, "trade_count_30d", &count);
    dimension(v, "total_assets", &assets);
    dimension(v, "position_ratio", &ratio);
    const Crm__Common__V1__Date *as_of = v->dimensions->as_of;
    printf("  dimensions as of %04d-%02d-%02d: trade_count_30d=%.0f total_assets=%s yuan position_ratio=%.3f\n",
           as_of ? (int)as_of->year : 0, as_of ? (int)as_of->month : 0, as_of ? (int)as_of->day : 0, count,
           yuan(a, (int64_t)assets), ratio);
    printf("  classes: asset_tier=%s lifecycle_stage=%s trading_style=%s\n", class_of(v, "asset_tier"),
           class_of(v, "lifecycle_stage"), class_of(v, "trading_style"));
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

    const char *ca = getenv("CRM_TLS_CA");
    if (!ca || !ca[0]) ca = "data/certs/ca.crt";
    crm_tls_options tls = {.ca_file = ca, .cert_file = NULL, .key_file = NULL, .server_name = NULL};
    crm_client *client = NULL;
    int rc = strcmp(ca, "none") == 0 ? crm_client_connect(host, (uint16_t)port, token, &client)
                                     : crm_client_connect_tls(host, (uint16_t)port, token, &tls, &client);
    if (rc != CRM_OK) {
        fprintf(stderr, "connect: %s\n", crm_client_last_error(NULL));
        return 1;
    }
    int failures = 0;
    crm_status st = {0};
    const int64_t start_ms = now_millis();
    const char *read_back = customers[READ_BACK].id;

    /* 1. The customers: NORMAL accounts with an open date, so that they may trade. */
    for (size_t i = 0; i < N_CUSTOMERS; i++) {
        Crm__Common__V1__Date open_date = CRM__COMMON__V1__DATE__INIT;
        Crm__Profiles__V1__Customer customer = CRM__PROFILES__V1__CUSTOMER__INIT;
        Crm__Profiles__V1__UpsertCustomerRequest req = CRM__PROFILES__V1__UPSERT_CUSTOMER_REQUEST__INIT;
        customer.customer_id = (char *)customers[i].id;
        customer.name = (char *)customers[i].name;
        customer.branch_id = (char *)customers[i].branch;
        customer.manager_id = (char *)customers[i].manager;
        customer.channel = (char *)customers[i].channel;
        customer.kind = customers[i].kind;
        customer.status = CRM__PROFILES__V1__ACCOUNT_STATUS__NORMAL;
        open_date.year = customers[i].year;
        open_date.month = customers[i].month;
        open_date.day = customers[i].day;
        customer.open_date = &open_date;
        req.customer = &customer;
        req.reason = "account opened";
        uint8_t *resp;
        size_t resp_len;
        rc = profiles_call(client, "UpsertCustomer", &req.base, &resp, &resp_len, &st);
        if (rc != CRM_OK) {
            failures++;
            if (rc < 0 && rc != CRM_ERR_TIMEOUT && rc != CRM_ERR_TOO_LARGE) break; /* connection gone */
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
        printf("upserted %s (%s)\n", customers[i].id, r->created ? "created" : "updated");
        crm__profiles__v1__upsert_customer_response__free_unpacked(r, NULL);
    }

    /* The read-back customer's trade_count_30d before the batch (0 on a fresh store). A failure
     * here (e.g. PERMISSION_DENIED for an ingest token) does not stop the ingestion. */
    double count_before = 0;
    if (failures == 0) {
        View360 *before = get_360(client, read_back, &st);
        if (before) {
            dimension(before->view, "trade_count_30d", &count_before);
            crm__profiles__v1__get_customer360_response__free_unpacked(before, NULL);
        } else {
            fprintf(stderr, "(could not read %s before the batch; expecting no earlier trades)\n", read_back);
        }
    }

    /* 2. One batch of trades, then the same batch again: every event must be a duplicate. */
    struct trade_batch *batch = calloc(1, sizeof *batch);
    if (!batch) {
        fprintf(stderr, "out of memory\n");
        failures++;
    }
    if (failures == 0) {
        build_trades(batch, start_ms, start_ms);
        Crm__Profiles__V1__IngestTradesRequest req = CRM__PROFILES__V1__INGEST_TRADES_REQUEST__INIT;
        req.n_events = N_TRADES;
        req.events = batch->pointers;
        uint32_t accepted = 0, duplicates = 0;
        if (ingest(client, "IngestTrades", &req.base, &accepted, &duplicates, &st) != CRM_OK) {
            failures++;
        } else {
            printf("IngestTrades: %d trades sent, accepted=%" PRIu32 " duplicates=%" PRIu32 "\n", N_TRADES, accepted,
                   duplicates);
            if (accepted != N_TRADES) {
                fprintf(stderr, "IngestTrades: expected all %d new trades to be accepted\n", N_TRADES);
                failures++;
            }
        }
        if (failures == 0) {
            if (ingest(client, "IngestTrades", &req.base, &accepted, &duplicates, &st) != CRM_OK) {
                failures++;
            } else {
                printf("IngestTrades again (same batch): accepted=%" PRIu32 " duplicates=%" PRIu32 "\n", accepted,
                       duplicates);
                if (accepted != 0 || duplicates != N_TRADES) {
                    fprintf(stderr, "IngestTrades is not idempotent: expected accepted=0 duplicates=%d\n", N_TRADES);
                    failures++;
                }
            }
        }
    }

    /* 3. The read-back customer's end-of-day position for today (in UTC+8, the exchanges' day). */
    if (failures == 0) {
        time_t cst = (time_t)((start_ms + CST_OFFSET_MILLIS) / 1000);
        struct tm day;
        gmtime_r(&cst, &day);
        char key[64];
        snprintf(key, sizeof key, "FEED-P-%s-%04d%02d%02d", read_back, day.tm_year + 1900, day.tm_mon + 1,
                 day.tm_mday);
        Crm__Common__V1__Date trading_day = CRM__COMMON__V1__DATE__INIT;
        trading_day.year = day.tm_year + 1900;
        trading_day.month = day.tm_mon + 1;
        trading_day.day = day.tm_mday;
        Crm__Common__V1__Money cash = CRM__COMMON__V1__MONEY__INIT, value = CRM__COMMON__V1__MONEY__INIT,
                               cost = CRM__COMMON__V1__MONEY__INIT;
        cash.minor_units = POSITION_CASH_FEN;
        value.minor_units = POSITION_VALUE_FEN;
        cost.minor_units = POSITION_COST_FEN;
        Crm__Profiles__V1__PositionHolding holding = CRM__PROFILES__V1__POSITION_HOLDING__INIT;
        Crm__Profiles__V1__PositionHolding *holdings[1] = {&holding};
        holding.instrument = "600519";
        holding.instrument_type = CRM__PROFILES__V1__INSTRUMENT_TYPE__STOCK;
        holding.sector = "liquor";
        holding.quantity = POSITION_HOLDING_QTY;
        holding.market_value = &value;
        holding.cost = &cost;
        Crm__Profiles__V1__DailyPositionEvent event = CRM__PROFILES__V1__DAILY_POSITION_EVENT__INIT;
        Crm__Profiles__V1__DailyPositionEvent *events[1] = {&event};
        event.idempotency_key = key;
        event.customer_id = (char *)read_back;
        event.trading_day = &trading_day;
        event.cash = &cash;
        event.n_holdings = 1;
        event.holdings = holdings;
        Crm__Profiles__V1__IngestDailyPositionsRequest req = CRM__PROFILES__V1__INGEST_DAILY_POSITIONS_REQUEST__INIT;
        req.n_events = 1;
        req.events = events;
        uint32_t accepted = 0, duplicates = 0;
        if (ingest(client, "IngestDailyPositions", &req.base, &accepted, &duplicates, &st) != CRM_OK) failures++;
        else
            printf("IngestDailyPositions: %s for %04d-%02d-%02d, accepted=%" PRIu32 " duplicates=%" PRIu32 "\n",
                   read_back, trading_day.year, trading_day.month, trading_day.day, accepted, duplicates);
    }

    /* 4. The 360° view, once the service has folded the batch into the dimensions. */
    if (failures == 0) {
        const int sent = batch->per_customer[READ_BACK];
        const double want_count = count_before + sent;
        const int64_t want_assets = POSITION_CASH_FEN + POSITION_VALUE_FEN;
        View360 *r = NULL;
        int attempt = 0, ready = 0;
        while (!ready && attempt < POLL_ATTEMPTS) {
            if (attempt++ > 0) sleep_millis(POLL_INTERVAL_MS);
            if (r) crm__profiles__v1__get_customer360_response__free_unpacked(r, NULL);
            r = get_360(client, read_back, &st);
            if (!r) break;
            double count = -1;
            ready = dimension(r->view, "trade_count_30d", &count) && count == want_count &&
                    money_fen(r->view->total_assets) == want_assets;
        }
        if (!r) {
            failures++;
        } else if (!ready) {
            double count = -1;
            int has = dimension(r->view, "trade_count_30d", &count);
            fprintf(stderr,
                    "GetCustomer360: after %d reads %d ms apart, %s's dimensions do not show the batch: "
                    "trade_count_30d=%s%.0f (want %.0f), total_assets=%" PRId64 " fen (want %" PRId64 ")\n",
                    attempt, POLL_INTERVAL_MS, read_back, has ? "" : "missing/", has ? count : 0.0, want_count,
                    money_fen(r->view->total_assets), want_assets);
            failures++;
        } else {
            printf("GetCustomer360: dimensions up to date after %d read(s)\n", attempt);
            print_360(r->view, sent);
        }
        if (r) crm__profiles__v1__get_customer360_response__free_unpacked(r, NULL);
    }
    free(batch);

    /* 5. Stream the customers (ids after "FEED-", at most as many as we upserted). */
    if (failures == 0) {
        Crm__Profiles__V1__StreamCustomersRequest req = CRM__PROFILES__V1__STREAM_CUSTOMERS_REQUEST__INIT;
        req.after_customer_id = "FEED-";
        req.limit = N_CUSTOMERS;
        uint8_t buf[64];
        size_t len = crm__profiles__v1__stream_customers_request__pack(&req, buf);
        struct stream_state state = {0};
        printf("StreamCustomers after \"FEED-\":\n");
        rc = crm_call_stream(client, PROFILES "StreamCustomers", buf, len, DEADLINE_MS, on_customer, &state, &st);
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
