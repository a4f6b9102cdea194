/*
 * auditq.c — the audit journal's writer: one thread, one read-write
 * connection, rows written in group commits.
 *
 *   sh__web_auditq_start   open the journal (audit.db) for writing, start
 *                          the thread
 *   sh__web_auditq_put     queue one row (a copy, stamped with its time)
 *   sh__web_auditq_stop    write what is queued, stop, report
 *   sh__web_auditq_stats   rows written, failed commits, rows waiting
 *   (static) writer, rec_new, rec_free
 *
 * Method.  A request that reads dossier content queues its row and
 * answers at once; it no longer opens a connection and waits for a commit
 * (and its fsync) of its own.  The writer sleeps until a row comes, lets
 * more gather for SH__WEB_AUDIT_GATHER_MS (or until BATCH_MAX rows), and
 * writes them in queue order in one transaction (sh_web_audit_rows: the
 * hash chain as before, the last row re-read inside the transaction, so
 * `sohoa user` or another server writing meanwhile keeps it intact).  The
 * connection has synchronous=FULL: a commit is on disk when it returns,
 * so a power loss costs at most the rows of the gather window and of the
 * commit under way.  Each row keeps the time of its request.  The journal
 * is its own file (audit.db): its commits never change the catalog, so
 * the server's pooled catalog connections keep their page caches and
 * search memos.
 *
 * Failures are never silent.  A commit that fails is logged and counted;
 * its rows stay first in the queue and are tried again a second later.
 * While the writer is failing with rows pending, or when QUEUE_MAX rows
 * wait, sh__web_auditq_put refuses new rows, so the caller answers 503
 * instead of serving content that is not journalled (as when each request
 * wrote its own row).  A clean stop (SIGINT/SIGTERM: the daemon first
 * ends its requests) writes every queued row; rows that still cannot be
 * written after STOP_TRIES are counted and logged as lost.
 */
#include "web_int.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define BATCH_MAX 512          /* rows in one commit                     */
#define QUEUE_MAX 100000       /* rows waiting: beyond, refused          */
#define RETRY_MS 1000          /* after a failed commit                  */
#define STOP_TRIES 3           /* commits tried at stop when failing     */

typedef struct rec {
    struct rec *next;
    sh_audit_rec r;            /* strings point into the same block      */
    char when[21];             /* UTC, when queued: the request's time */
} rec;

struct sh__web_auditq {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    pthread_t th;
    sqlite3 *db;
    rec *head, **tail;
    int64_t pending, written, failures, lost;
    int failing, stopping;
};

static void rec_free(rec *x)
{
    free(x);
}

/* One allocation: the record and copies of its strings. */
static rec *rec_new(const sh_audit_rec *r)
{
    const char *src[] = {r->user, r->addr, r->action, r->query, r->dossier,
                         r->detail};
    size_t len[6], total = sizeof(rec);
    for (int i = 0; i < 6; i++) {
        len[i] = src[i] ? strlen(src[i]) + 1 : 0;
        total += len[i];
    }
    rec *x = malloc(total);
    if (!x)
        return NULL;
    memset(x, 0, sizeof *x);
    char *p = (char *)(x + 1);
    const char *dst[6];
    for (int i = 0; i < 6; i++) {
        dst[i] = src[i] ? memcpy(p, src[i], len[i]) : NULL;
        p += len[i];
    }
    x->r = *r;
    x->r.user = dst[0];
    x->r.addr = dst[1];
    x->r.action = dst[2];
    x->r.query = dst[3];
    x->r.dossier = dst[4];
    x->r.detail = dst[5];
    sh_now_iso(x->when);
    return x;
}

static void deadline_in(struct timespec *ts, int ms)
{
    clock_gettime(CLOCK_REALTIME, ts);
    ts->tv_nsec += (long)(ms % 1000) * 1000000L;
    ts->tv_sec += ms / 1000 + ts->tv_nsec / 1000000000L;
    ts->tv_nsec %= 1000000000L;
}

static void *writer(void *arg)
{
    sh__web_auditq *q = arg;
    sh_audit_rec *batch = malloc(BATCH_MAX * sizeof *batch);
    const char **times = malloc(BATCH_MAX * sizeof *times);
    rec *taken[BATCH_MAX];
    int stop_tries = 0;
    pthread_mutex_lock(&q->mu);
    for (;;) {
        while (!q->head && !q->stopping)
            pthread_cond_wait(&q->cv, &q->mu);
        if (!q->head)
            break;
        /* let a group gather (not when stopping: write at once) */
        struct timespec ts;
        deadline_in(&ts, SH__WEB_AUDIT_GATHER_MS);
        while (!q->stopping && q->pending < BATCH_MAX &&
               pthread_cond_timedwait(&q->cv, &q->mu, &ts) != ETIMEDOUT)
            ;
        int n = 0;
        for (rec *x = q->head; x && n < BATCH_MAX; x = x->next)
            taken[n++] = x;
        pthread_mutex_unlock(&q->mu);

        sh_err err = {0};
        int rc = SH_ENOMEM;
        if (batch && times) {
            for (int i = 0; i < n; i++) {
                batch[i] = taken[i]->r;
                times[i] = taken[i]->when;
            }
            rc = sh_web_audit_rows(q->db, batch, times, n, &err);
        } else {
            sh_errf(&err, SH_ENOMEM, "out of memory");
        }

        pthread_mutex_lock(&q->mu);
        if (!rc) {
            /* only the writer removes rows: the first n are those taken */
            for (int i = 0; i < n; i++) {
                q->head = taken[i]->next;
                rec_free(taken[i]);
            }
            if (!q->head)
                q->tail = &q->head;
            q->pending -= n;
            q->written += n;
            if (q->failing)
                sh_log(SH_LOG_INFO, "audit: journal written again (%" PRId64
                       " rows waiting)", q->pending);
            q->failing = 0;
            continue;
        }
        q->failures++;
        q->failing = 1;
        sh_log(SH_LOG_ERROR, "audit: cannot write %d journal row%s (%" PRId64
               " waiting, failure %" PRId64 "): %s; searches and views are "
               "refused until it is written", n, n == 1 ? "" : "s",
               q->pending, q->failures, err.msg);
        if (q->stopping && ++stop_tries >= STOP_TRIES) {
            q->lost = q->pending;
            sh_log(SH_LOG_ERROR, "audit: stopping with %" PRId64 " journal "
                   "row%s NOT written", q->lost, q->lost == 1 ? "" : "s");
            while (q->head) {
                rec *x = q->head;
                q->head = x->next;
                rec_free(x);
            }
            q->tail = &q->head;
            q->pending = 0;
            break;
        }
        deadline_in(&ts, RETRY_MS);
        while (!q->stopping &&
               pthread_cond_timedwait(&q->cv, &q->mu, &ts) != ETIMEDOUT)
            ;
    }
    pthread_mutex_unlock(&q->mu);
    free(batch);
    free(times);
    return NULL;
}

sh__web_auditq *sh__web_auditq_start(const char *warehouse)
{
    sh__web_auditq *q = calloc(1, sizeof *q);
    if (!q) {
        sh_log(SH_LOG_ERROR, "audit: out of memory");
        return NULL;
    }
    sh_err err = {0};
    /* WAL, synchronous=FULL; made (or moved from the catalog) if new */
    if (sh_web_audit_open(warehouse, 0, &q->db, &err)) {
        sh_log(SH_LOG_ERROR, "audit: cannot open the journal for writing: "
               "%s", err.msg);
        free(q);
        return NULL;
    }
    pthread_mutex_init(&q->mu, NULL);
    pthread_cond_init(&q->cv, NULL);
    q->tail = &q->head;
    if (pthread_create(&q->th, NULL, writer, q)) {
        sh_log(SH_LOG_ERROR, "audit: cannot start the writer thread");
        sqlite3_close(q->db);
        free(q);
        return NULL;
    }
    return q;
}

int sh__web_auditq_put(sh__web_auditq *q, const sh_audit_rec *r)
{
    if (!q)
        return SH_EINDEX;
    rec *x = rec_new(r);
    if (!x) {
        sh_log(SH_LOG_ERROR, "audit: out of memory: row not queued");
        return SH_ENOMEM;
    }
    pthread_mutex_lock(&q->mu);
    int refuse = q->stopping || (q->failing && q->pending) ||
                 q->pending >= QUEUE_MAX;
    if (!refuse) {
        *q->tail = x;
        q->tail = &x->next;
        q->pending++;
        /* wake the writer for the first row, and when a batch is full */
        if (q->pending == 1 || q->pending == BATCH_MAX)
            pthread_cond_signal(&q->cv);
    }
    int64_t pending = q->pending;
    pthread_mutex_unlock(&q->mu);
    if (refuse) {
        rec_free(x);
        sh_log(SH_LOG_ERROR, "audit: journal not writable (%" PRId64 " rows "
               "waiting): %s refused", pending, r->action ? r->action : "?");
        return SH_EINDEX;
    }
    return SH_OK;
}

void sh__web_auditq_stats(sh__web_auditq *q, int64_t *written,
                          int64_t *failures, int64_t *pending)
{
    pthread_mutex_lock(&q->mu);
    if (written)
        *written = q->written;
    if (failures)
        *failures = q->failures;
    if (pending)
        *pending = q->pending;
    pthread_mutex_unlock(&q->mu);
}

int64_t sh__web_auditq_stop(sh__web_auditq **qp)
{
    sh__web_auditq *q = qp ? *qp : NULL;
    if (!q)
        return 0;
    pthread_mutex_lock(&q->mu);
    q->stopping = 1;
    pthread_cond_broadcast(&q->cv);
    pthread_mutex_unlock(&q->mu);
    pthread_join(q->th, NULL);
    int64_t lost = q->lost;
    sh_log(lost ? SH_LOG_ERROR : SH_LOG_INFO, "audit: %" PRId64 " journal "
           "row%s written, %" PRId64 " failed commit%s, %" PRId64 " lost",
           q->written, q->written == 1 ? "" : "s", q->failures,
           q->failures == 1 ? "" : "s", lost);
    sqlite3_close(q->db);
    pthread_mutex_destroy(&q->mu);
    pthread_cond_destroy(&q->cv);
    free(q);
    *qp = NULL;
    return lost;
}
