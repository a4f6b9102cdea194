/*
 * merge.c — `sohoa merge`: shard warehouses brought into one.
 *
 *   sh_cmd_merge      options, target lock, each shard, --expect, exit code
 *
 * Method.  A night's batch can be split over machines with `sohoa run
 * --shard K/N --warehouse SHARD_K`; each shard warehouse then holds exactly
 * its dossiers.  The merge takes the target's lock (DIR/.lock, the flock a
 * run takes), opens each shard catalog read-only, and for every dossier in
 * state 'done' checks its done marker against the files before anything
 * enters the target:
 *   - the PDF is found in SHARD/pdf/ (as given on the command line) and its
 *     SHA-256, computed now while it is copied, equals dossier.pdf_sha256;
 *   - the placed pages are exactly 1..dossier.pages;
 *   - the text checksum (SHA-256 of the placed pages' text in page order,
 *     joined by \f) is computed from the shard's rows.
 * A job scheduler may report a task COMPLETED that never ran or whose
 * files were lost: the files are trusted, not exit codes.
 *
 * A dossier already done in the target with the same PDF hash and text
 * checksum is skipped (merging twice changes nothing).  With a different
 * PDF or text it is refused, naming both shards; the target keeps what it
 * had.  Otherwise the PDF is copied to DIR/pdf/ID.pdf (temp file, fsync,
 * rename, fsync of the folder), then one transaction on the target puts
 * in the dossier row (pdf = the new path), its source rows and all its
 * page rows (every column but the row id, which the target assigns), the
 * clerks' review rows (review_*: decisions, fields, approval), adds
 * the placed pages to the full-text index (sh_index_add, through the
 * target's sh_db_open so our tokenizer is used) and records an event
 * what='merged' naming the shard — the provenance of the copy.  Shard runs
 * and events are not copied: they stay in the shard warehouses; the merge
 * records itself as a run of the target (args "merge …") with a report,
 * but only when it changed something.
 *
 * Dossiers not done in a shard (failed, pending) are reported and left.
 * With --expect BATCH_DIR the dossier folders of the batch that are done
 * in no shard (nor already in the target) are listed as missing, with the
 * shard that should have held them when the shards' runs say N.
 */
#include "pipeline.h"
#include "../base/opts.h"
#include "../index/db.h"
#include "../index/index.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <dirent.h>

typedef struct merge {
    const char *into;
    sqlite3 *db;              /* the target */
    int64_t run_id;           /* target run row of this merge; 0 until the
                                 first change */
    char started[32];
    const char *args;         /* command line, for run.args */
    double t0;
    int n_in, n_merged, n_skipped, n_refused, n_shard_errors;
    int64_t pages_merged;
    json_t *failures;         /* [{dossier, shard, reason}] */
    json_t *notdone;          /* {id: "shard: state (error)"} */
    json_t *shards;           /* [{dir, dossiers, merged, skipped, refused}] */
    json_t *missing;          /* [id] */
    int shard_n;              /* N of the shards' --shard K/N; 0 unknown,
                                 -1 the shards disagree */
} merge;

static void fail(merge *m, const char *id, const char *shard,
                 const char *fmt, ...) __attribute__((format(printf, 4, 5)));
static void fail(merge *m, const char *id, const char *shard,
                 const char *fmt, ...)
{
    char msg[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (id)
        sh_log(SH_LOG_ERROR, "%s: refused: %s", id, msg);
    else
        sh_log(SH_LOG_ERROR, "%s: %s", shard, msg);
    json_array_append_new(m->failures,
                          json_pack("{s:s?, s:s, s:s}", "dossier", id,
                                    "shard", shard, "reason", msg));
}

/* Text checksum of dossier id in db: SHA-256 over the text of its placed
   pages (pageno NOT NULL) in pageno order, joined by \f.  *n: placed pages;
   *contiguous: 1 if their pagenos are exactly 1..*n. */
static int text_sum(sqlite3 *db, const char *id, char hex[65], int *n,
                    int *contiguous, sh_err *err)
{
    sqlite3_stmt *st;
    int rc = sh_db_prep(db,
                  "SELECT pageno, text FROM page WHERE dossier=? AND pageno "
                  "IS NOT NULL ORDER BY pageno",
                  &st, err);
    if (rc)
        return rc;
    sh_db_bind_text(st, 1, id);
    crypto_hash_sha256_state h;
    crypto_hash_sha256_init(&h);
    *n = 0;
    *contiguous = 1;
    int s;
    while ((s = sqlite3_step(st)) == SQLITE_ROW) {
        if (*n)
            crypto_hash_sha256_update(&h, (const unsigned char *)"\f", 1);
        const unsigned char *t = sqlite3_column_text(st, 1);
        if (t)
            crypto_hash_sha256_update(&h, t,
                                      (unsigned long long)sqlite3_column_bytes(st, 1));
        if (sqlite3_column_int64(st, 0) != *n + 1)
            *contiguous = 0;
        (*n)++;
    }
    if (s != SQLITE_DONE)
        rc = sh_errf(err, SH_EINDEX, "catalog: %s", sqlite3_errmsg(db));
    sqlite3_finalize(st);
    unsigned char d[crypto_hash_sha256_BYTES];
    crypto_hash_sha256_final(&h, d);
    sodium_bin2hex(hex, 65, d, sizeof d);
    return rc;
}

/* Copy src to tmp (created, written, fsynced), hashing what was read. */
static int copy_hash(const char *src, const char *tmp, char hex[65],
                     sh_err *err)
{
    int in = -1, out = -1, rc = SH_OK;
    char *buf = malloc(1 << 20);
    if (!buf)
        return sh_errf(err, SH_ENOMEM, "out of memory");
    crypto_hash_sha256_state h;
    crypto_hash_sha256_init(&h);
    if ((in = open(src, O_RDONLY | O_CLOEXEC)) < 0) {
        rc = sh_errf(err, SH_EIO, "%s: cannot open: %s", src, strerror(errno));
        goto out;
    }
    if ((out = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
                    (mode_t)sh_private_mode(tmp, 0))) < 0) {
        rc = sh_errf(err, SH_EIO, "%s: cannot create: %s", tmp,
                     strerror(errno));
        goto out;
    }
    for (;;) {
        ssize_t k = read(in, buf, 1 << 20);
        if (k < 0 && errno == EINTR)
            continue;
        if (k < 0) {
            rc = sh_errf(err, SH_EIO, "%s: read: %s", src, strerror(errno));
            goto out;
        }
        if (k == 0)
            break;
        crypto_hash_sha256_update(&h, (unsigned char *)buf,
                                  (unsigned long long)k);
        for (ssize_t off = 0; off < k;) {
            ssize_t w = write(out, buf + off, (size_t)(k - off));
            if (w < 0 && errno == EINTR)
                continue;
            if (w < 0) {
                rc = sh_errf(err, errno == ENOSPC || errno == EFBIG
                                      ? SH_ENOSPC : SH_EIO,
                             "%s: write: %s", tmp, strerror(errno));
                goto out;
            }
            off += w;
        }
    }
    if (fsync(out) < 0) {
        rc = sh_errf(err, SH_EIO, "%s: fsync: %s", tmp, strerror(errno));
        goto out;
    }
    unsigned char d[crypto_hash_sha256_BYTES];
    crypto_hash_sha256_final(&h, d);
    sodium_bin2hex(hex, 65, d, sizeof d);
out:
    if (in >= 0)
        close(in);
    if (out >= 0 && close(out) < 0 && !rc)
        rc = sh_errf(err, SH_EIO, "%s: close: %s", tmp, strerror(errno));
    if (rc && out >= 0)
        unlink(tmp);
    free(buf);
    return rc;
}

/* Columns of table in db, as a JSON array of names. */
static json_t *columns(sqlite3 *db, const char *table)
{
    json_t *a = json_array();
    sqlite3_stmt *st;
    if (!a ||
        sh_db_prep(db, "SELECT name FROM pragma_table_info(?)", &st, NULL)) {
        json_decref(a);
        return NULL;
    }
    sh_db_bind_text(st, 1, table);
    while (sqlite3_step(st) == SQLITE_ROW)
        json_array_append_new(a, json_string((const char *)
                                             sqlite3_column_text(st, 0)));
    sqlite3_finalize(st);
    return a;
}

/* Copy the rows of `table` whose `key` is id from `from` to `to`, every
   column both catalogs have but `skip`; column "pdf" (if pdf is not NULL)
   gets the value pdf.  *nrows: rows copied (may be NULL). */
static int copy_rows(sqlite3 *from, sqlite3 *to, const char *table,
                     const char *key, const char *id, const char *skip,
                     const char *pdf, int *nrows, sh_err *err)
{
    int rc = SH_OK;
    sqlite3_stmt *sel = NULL, *ins = NULL;
    sh_buf cl = {0}, q = {0}, qi = {0};
    json_t *fc = columns(from, table), *tc = columns(to, table);
    int pdf_col = -1, nc = 0;
    size_t i;
    json_t *v;
    if (!fc || !tc) {
        rc = sh_errf(err, SH_EINDEX, "catalog: cannot read the columns of %s",
                     table);
        goto out;
    }
    json_array_foreach(fc, i, v) {
        const char *c = json_string_value(v);
        int in_to = 0;
        size_t j;
        json_t *w;
        json_array_foreach(tc, j, w)
            in_to |= !strcmp(c, json_string_value(w));
        if (!in_to || (skip && !strcmp(c, skip)))
            continue;
        if (pdf && !strcmp(c, "pdf"))
            pdf_col = nc;
        sh_buf_printf(&cl, "%s\"%s\"", nc ? "," : "", c);
        nc++;
    }
    sh_buf_printf(&q, "SELECT %s FROM main.\"%s\" WHERE \"%s\"=?", cl.data,
                  table, key);
    sh_buf_printf(&qi, "INSERT INTO main.\"%s\"(%s) VALUES(", table, cl.data);
    for (int k = 0; k < nc; k++)
        sh_buf_adds(&qi, k ? ",?" : "?");
    sh_buf_adds(&qi, ")");
    if (!q.data || !qi.data) {
        rc = sh_errf(err, SH_ENOMEM, "out of memory");
        goto out;
    }
    if ((rc = sh_db_prep(from, q.data, &sel, err)) ||
        (rc = sh_db_prep(to, qi.data, &ins, err)))
        goto out;
    sh_db_bind_text(sel, 1, id);
    int s, n = 0;
    while ((s = sqlite3_step(sel)) == SQLITE_ROW) {
        sqlite3_reset(ins);
        for (int k = 0; k < nc; k++) {
            if (k == pdf_col)
                sh_db_bind_text(ins, k + 1, pdf);
            else
                sqlite3_bind_value(ins, k + 1, sqlite3_column_value(sel, k));
        }
        int t = sqlite3_step(ins);
        if (t != SQLITE_DONE) {
            rc = sh_errf(err, t == SQLITE_FULL ? SH_ENOSPC : SH_EINDEX,
                         "catalog: inserting into %s: %s", table,
                         sqlite3_errmsg(to));
            goto out;
        }
        n++;
    }
    if (s != SQLITE_DONE)
        rc = sh_errf(err, SH_EINDEX, "shard catalog: reading %s: %s", table,
                     sqlite3_errmsg(from));
    if (nrows)
        *nrows = n;
out:
    sqlite3_finalize(sel);
    sqlite3_finalize(ins);
    sh_buf_release(&cl);
    sh_buf_release(&q);
    sh_buf_release(&qi);
    json_decref(fc);
    json_decref(tc);
    return rc;
}

/* The shard a done dossier of the target came from (its last 'merged'
   event), or "this warehouse's own run". */
static void origin(merge *m, const char *id, char *out, size_t n)
{
    sqlite3_stmt *st;
    snprintf(out, n, "%s (its own run)", m->into);
    if (sh_db_prep(m->db,
                   "SELECT file FROM event WHERE dossier=? AND what='merged' "
                   "ORDER BY id DESC LIMIT 1",
                   &st, NULL))
        return;
    sh_db_bind_text(st, 1, id);
    if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_text(st, 0))
        snprintf(out, n, "%s", (const char *)sqlite3_column_text(st, 0));
    sqlite3_finalize(st);
}

/* The target's run row for this merge, made on the first change. */
static int ensure_run(merge *m, sh_err *err)
{
    if (m->run_id)
        return SH_OK;
    sqlite3_stmt *st;
    int rc = sh_db_prep(m->db,
                        "INSERT INTO run(started,pid,args,state) VALUES(?,?,?,"
                        "'running')",
                        &st, err);
    if (rc)
        return rc;
    sh_db_bind_text(st, 1, m->started);
    sqlite3_bind_int(st, 2, (int)getpid());
    sh_db_bind_text(st, 3, m->args);
    if ((rc = sh_db_done(m->db, st, err)))
        return rc;
    m->run_id = sqlite3_last_insert_rowid(m->db);
    return SH_OK;
}

/* Put the verified dossier into the target, in one transaction, in place
   of whatever (not done) rows the target had for it. */
static int put_rows(merge *m, sqlite3 *sdb, const char *shard, const char *id,
                    const char *pdf, const char *want_sum, sh_err *err)
{
    sqlite3_stmt *st = NULL;
    int rc;
    if ((rc = sh_db_exec(m->db, "BEGIN IMMEDIATE", err)))
        return rc;
    /* A pending or failed dossier of the target (or stray rows): its
       placed pages out of the index, then its rows. */
    if ((rc = sh_db_prep(m->db,
                   "SELECT id, text FROM page WHERE dossier=? AND pageno IS "
                   "NOT NULL",
                   &st, err)))
        goto out;
    sh_db_bind_text(st, 1, id);
    while (!rc && sqlite3_step(st) == SQLITE_ROW)
        rc = sh_index_remove(m->db, sqlite3_column_int64(st, 0),
                             (const char *)sqlite3_column_text(st, 1), err);
    sqlite3_finalize(st);
    st = NULL;
    static const char *const del[] = {
        "DELETE FROM page WHERE dossier=?",
        "DELETE FROM source WHERE dossier=?",
        "DELETE FROM document WHERE dossier=?",
        "DELETE FROM dossier_meta WHERE dossier=?",
        "DELETE FROM review_dossier WHERE dossier=?",
        "DELETE FROM review_page WHERE dossier=?",
        "DELETE FROM review_start WHERE dossier=?",
        "DELETE FROM review_field WHERE dossier=?",
        "DELETE FROM review_word WHERE dossier=?",
        "DELETE FROM dossier WHERE id=?"};
    for (size_t i = 0; !rc && i < SH_ARRAY_LEN(del); i++)
        if (!(rc = sh_db_prep(m->db, del[i], &st, err))) {
            sh_db_bind_text(st, 1, id);
            rc = sh_db_done(m->db, st, err);
            st = NULL;
        }
    if (rc)
        goto out;
    int npages = 0;
    if ((rc = copy_rows(sdb, m->db, "dossier", "id", id, NULL, pdf, NULL,
                        err)) ||
        (rc = copy_rows(sdb, m->db, "source", "dossier", id, NULL, NULL, NULL,
                        err)) ||
        (rc = copy_rows(sdb, m->db, "page", "dossier", id, "id", NULL, &npages,
                        err)) ||
        /* Its documents (văn bản) and manifest metadata. */
        (rc = copy_rows(sdb, m->db, "document", "dossier", id, NULL, NULL,
                        NULL, err)) ||
        (rc = copy_rows(sdb, m->db, "dossier_meta", "dossier", id, NULL, NULL,
                        NULL, err)))
        goto out;
    /* What its clerks decided in the shard (index/review.h). */
    static const char *const review[] = {"review_dossier", "review_page",
        "review_start", "review_field", "review_word"};
    for (size_t i = 0; !rc && i < SH_ARRAY_LEN(review); i++) {
        json_t *have = columns(sdb, review[i]);  /* a shard from before */
        if (json_array_size(have))
            rc = copy_rows(sdb, m->db, review[i], "dossier", id, NULL, NULL,
                           NULL, err);
        json_decref(have);
    }
    if (rc)
        goto out;
    if ((rc = sh_db_prep(m->db,
                   "SELECT id, text FROM page WHERE dossier=? AND pageno IS "
                   "NOT NULL ORDER BY pageno",
                   &st, err)))
        goto out;
    sh_db_bind_text(st, 1, id);
    sh_indexer *ix = NULL;
    rc = sh_indexer_open(m->db, &ix, err);
    while (!rc && sqlite3_step(st) == SQLITE_ROW)
        rc = sh_indexer_add(ix, sqlite3_column_int64(st, 0),
                            (const char *)sqlite3_column_text(st, 1), err);
    sh_indexer_close(&ix);
    sqlite3_finalize(st);
    st = NULL;
    if (rc)
        goto out;
    /* What went in reads back as what was verified. */
    char got[65];
    int n, contiguous;
    if ((rc = text_sum(m->db, id, got, &n, &contiguous, err)))
        goto out;
    if (strcmp(got, want_sum)) {
        rc = sh_errf(err, SH_EINDEX, "the page texts read back from the "
                     "merged catalog do not match the shard's (%.12s…, "
                     "want %.12s…)", got, want_sum);
        goto out;
    }
    if ((rc = ensure_run(m, err)))
        goto out;
    char when[32], why[1024];
    sh_now_iso(when);
    snprintf(why, sizeof why, "from shard warehouse %s: %d placed pages "
             "(%d rows), text sha256 %s", shard, n, npages, got);
    if ((rc = sh_db_prep(m->db,
                   "INSERT INTO event(run,time,level,dossier,file,frame,what,"
                   "reason) VALUES(?,?,'info',?,?,NULL,'merged',?)",
                   &st, err)))
        goto out;
    sqlite3_bind_int64(st, 1, m->run_id);
    sh_db_bind_text(st, 2, when);
    sh_db_bind_text(st, 3, id);
    sh_db_bind_text(st, 4, shard);
    sh_db_bind_text(st, 5, why);
    rc = sh_db_done(m->db, st, err);
    st = NULL;
    if (!rc)
        m->pages_merged += n;
out:
    if (st)
        sqlite3_finalize(st);
    if (rc)
        sh_db_exec(m->db, "ROLLBACK", NULL);
    else
        rc = sh_db_exec(m->db, "COMMIT", err);
    return rc;
}

/* Verify one done dossier of a shard and merge it.  Returns 0 merged,
   1 skipped (already there, same content), -1 refused (reported). */
static int merge_dossier(merge *m, sqlite3 *sdb, const char *shard,
                         const char *id, const char *rec_pdf,
                         const char *sha, int pages)
{
    sh_err err = {0};
    char sum[65], path[8192], tmp[8192], dst[8192];
    int n = 0, contiguous = 0, rc;
    if (!sha || strlen(sha) != 64)
        return fail(m, id, shard, "done in %s but without a PDF hash "
                    "(pdf_sha256): not a finished dossier", shard), -1;
    if ((rc = text_sum(sdb, id, sum, &n, &contiguous, &err)))
        return fail(m, id, shard, "%s", err.msg), -1;
    if (n != pages || !contiguous || pages < 1)
        return fail(m, id, shard, "done marker says %d pages but the shard "
                    "catalog %s has %d placed pages%s", pages, shard, n,
                    contiguous ? "" : " (page numbers not 1..N)"), -1;

    /* The shard's PDF is looked for in the shard folder as given (shared
       storage may be mounted elsewhere here than where the shard ran),
       under the name it was recorded with. */
    const char *base = rec_pdf ? strrchr(rec_pdf, '/') : NULL;
    base = base ? base + 1 : rec_pdf;
    if (base && *base)
        snprintf(path, sizeof path, "%s/pdf/%s", shard, base);
    else
        snprintf(path, sizeof path, "%s/pdf/%s.pdf", shard, id);
    if (access(path, R_OK) != 0)
        return fail(m, id, shard, "PDF missing: %s cannot be read (%s; "
                    "recorded as %s)", path, strerror(errno),
                    rec_pdf ? rec_pdf : "(none)"), -1;

    /* The target's view of this dossier. */
    sqlite3_stmt *st;
    if (sh_db_prep(m->db,
             "SELECT state, pdf_sha256, pdf, pdf_bytes FROM dossier WHERE id=?",
             &st, &err))
        return fail(m, id, shard, "%s", err.msg), -1;
    sh_db_bind_text(st, 1, id);
    int tdone = 0;
    char tsha[65] = "", tpdf[8192] = "";
    int64_t tbytes = -1;
    if (sqlite3_step(st) == SQLITE_ROW) {
        const char *s0 = (const char *)sqlite3_column_text(st, 0);
        tdone = s0 && !strcmp(s0, "done");
        snprintf(tsha, sizeof tsha, "%s",
                 sqlite3_column_text(st, 1) ? (const char *)sqlite3_column_text(st, 1) : "");
        snprintf(tpdf, sizeof tpdf, "%s",
                 sqlite3_column_text(st, 2) ? (const char *)sqlite3_column_text(st, 2) : "");
        tbytes = sqlite3_column_type(st, 3) == SQLITE_NULL
                     ? -1 : sqlite3_column_int64(st, 3);
    }
    sqlite3_finalize(st);
    snprintf(dst, sizeof dst, "%s/pdf/%s.pdf", m->into, id);

    if (tdone) {
        char tsum[65];
        int tn, tc;
        if (text_sum(m->db, id, tsum, &tn, &tc, &err))
            return fail(m, id, shard, "%s", err.msg), -1;
        int same_pdf = !strcmp(tsha, sha), same_text = !strcmp(tsum, sum);
        if (!same_pdf || !same_text) {
            char from[4096];
            origin(m, id, from, sizeof from);
            return fail(m, id, shard,
                        "already merged from %s with different content: %s%s%s"
                        " (%s: pdf sha256 %.12s…, text sha256 %.12s…, %d "
                        "pages; %s: pdf sha256 %.12s…, text sha256 %.12s…, "
                        "%d pages); kept the copy from %s — remove one of "
                        "the two or rerun the dossier",
                        from, same_pdf ? "" : "PDF",
                        !same_pdf && !same_text ? " and " : "",
                        same_text ? "" : "page texts differ", from, tsha,
                        tsum, tn, shard, sha, sum, n, from), -1;
        }
        /* Same content: nothing to do, unless the target lost its PDF. */
        struct stat sb;
        if (tpdf[0] && stat(tpdf, &sb) == 0 &&
            (tbytes < 0 || sb.st_size == tbytes))
            return 1;
        sh_log(SH_LOG_WARN, "%s: already merged but its PDF %s is missing or "
               "of the wrong size; copying it again from %s", id,
               tpdf[0] ? tpdf : dst, shard);
        snprintf(dst, sizeof dst, "%s", tpdf[0] ? tpdf : dst);
    }

    /* Copy the PDF (hashing it: the marker is verified on what is copied),
       then rename it into place before the catalog says it is there. */
    char got[65];
    snprintf(tmp, sizeof tmp, "%s/pdf/.%s.pdf.merge.%d", m->into, id,
             (int)getpid());
    if ((rc = copy_hash(path, tmp, got, &err)))
        return fail(m, id, shard, "%s", err.msg), -1;
    if (strcmp(got, sha)) {
        unlink(tmp);
        return fail(m, id, shard, "PDF %s does not match its done marker: "
                    "sha256 %s, the shard catalog says %s (corrupted, "
                    "truncated or rewritten after its run)", path, got, sha),
               -1;
    }
    if (rename(tmp, dst) < 0) {
        int e = errno;
        unlink(tmp);
        return fail(m, id, shard, "cannot put the PDF in place at %s: %s",
                    dst, strerror(e)), -1;
    }
    sh_fsync_dir_of(dst);
    if (tdone)
        return 1;   /* the PDF restored; the catalog already says so */
    if ((rc = put_rows(m, sdb, shard, id, dst, sum, &err)))
        return fail(m, id, shard, "%s", err.msg), -1;
    sh_log(SH_LOG_INFO, "%s: merged from %s (%d pages)", id, shard, n);
    return 0;
}

/* N of "--shard K/N" in args, or 0. */
static int shard_n_of(const char *args)
{
    const char *p = args ? strstr(args, "--shard") : NULL;
    int k, n;
    if (!p)
        return 0;
    p += 7;
    if (*p == '=' || *p == ' ')
        p++;
    return sscanf(p, "%d/%d", &k, &n) == 2 && n > 0 ? n : 0;
}

static int merge_shard(merge *m, const char *shard)
{
    sh_err err = {0};
    sqlite3 *sdb = NULL;
    sqlite3_stmt *st = NULL;
    int lockfd = -1, nd = 0, merged = 0, skipped = 0, refused = 0;
    char p[4096];
    json_t *ids = json_array(), *rows = json_array();
    snprintf(p, sizeof p, "%s/catalog.db", shard);
    if (access(p, R_OK) != 0) {
        fail(m, NULL, shard, "no shard catalog (%s): did this shard's run "
             "start?", strerror(errno));
        m->n_shard_errors++;
        goto out;
    }
    /* A run still working on the shard holds its lock. */
    snprintf(p, sizeof p, "%s/.lock", shard);
    if ((lockfd = open(p, O_RDONLY | O_CLOEXEC)) >= 0 &&
        flock(lockfd, LOCK_SH | LOCK_NB) < 0 && errno == EWOULDBLOCK) {
        fail(m, NULL, shard, "a sohoa run is still working on this shard; "
             "merge it when the run ends");
        m->n_shard_errors++;
        goto out;
    }
    if (sh_db_open(shard, 1, &sdb, &err)) {
        fail(m, NULL, shard, "%s", err.msg);
        m->n_shard_errors++;
        goto out;
    }
    if (!sh_db_prep(sdb, "SELECT args FROM run", &st, NULL)) {
        while (sqlite3_step(st) == SQLITE_ROW) {
            int n = shard_n_of((const char *)sqlite3_column_text(st, 0));
            if (n > 1 && m->shard_n >= 0)
                m->shard_n = m->shard_n == 0 || m->shard_n == n ? n : -1;
        }
        sqlite3_finalize(st);
        st = NULL;
    }
    /* Read the dossier list first: no statement stays open on the shard
       while the target is written. */
    if (sh_db_prep(sdb,
             "SELECT id, state, pdf, pdf_sha256, pages, error FROM dossier "
             "ORDER BY id",
             &st, &err)) {
        fail(m, NULL, shard, "%s", err.msg);
        m->n_shard_errors++;
        goto out;
    }
    while (sqlite3_step(st) == SQLITE_ROW) {
        const char *c[6];
        for (int i = 0; i < 6; i++)
            c[i] = (const char *)sqlite3_column_text(st, i);
        json_array_append_new(rows, json_pack("[s?s?s?s?is?]", c[0], c[1],
                                              c[2], c[3],
                                              sqlite3_column_int(st, 4), c[5]));
    }
    sqlite3_finalize(st);
    st = NULL;
    size_t i;
    json_t *r;
    json_array_foreach(rows, i, r) {
        const char *id = json_string_value(json_array_get(r, 0));
        const char *state = json_string_value(json_array_get(r, 1));
        if (!id)
            continue;
        nd++;
        m->n_in++;
        if (!state || strcmp(state, "done")) {
            const char *e = json_string_value(json_array_get(r, 5));
            char why[2048];
            snprintf(why, sizeof why, "%s in %s%s%s", state ? state : "?",
                     shard, e ? ": " : "", e ? e : "");
            json_object_set_new(m->notdone, id, json_string(why));
            continue;
        }
        int k = merge_dossier(m, sdb, shard, id,
                              json_string_value(json_array_get(r, 2)),
                              json_string_value(json_array_get(r, 3)),
                              (int)json_integer_value(json_array_get(r, 4)));
        if (k == 0) {
            merged++;
            json_array_append_new(ids, json_string(id));
        } else if (k == 1) {
            skipped++;
        } else {
            refused++;
        }
    }
    sh_log(SH_LOG_INFO, "%s: %d dossier%s: %d merged, %d already there, %d "
           "refused, %d not done", shard, nd, nd == 1 ? "" : "s", merged,
           skipped, refused, nd - merged - skipped - refused);
out:
    m->n_merged += merged;
    m->n_skipped += skipped;
    m->n_refused += refused;
    json_array_append_new(m->shards,
                          json_pack("{s:s, s:i, s:i, s:i, s:i, s:o}", "dir",
                                    shard, "dossiers", nd, "merged", merged,
                                    "already", skipped, "refused", refused,
                                    "merged_ids", ids));
    json_decref(rows);
    if (st)
        sqlite3_finalize(st);
    sh_db_close(&sdb);
    if (lockfd >= 0)
        close(lockfd);
    return SH_OK;
}

static int target_done(merge *m, const char *id)
{
    sqlite3_stmt *st;
    int done = 0;
    if (sh_db_prep(m->db, "SELECT 1 FROM dossier WHERE id=? AND state='done'",
                   &st, NULL))
        return 0;
    sh_db_bind_text(st, 1, id);
    done = sqlite3_step(st) == SQLITE_ROW;
    sqlite3_finalize(st);
    return done;
}

/* Dossier folders of batch (as sh_batch_list sees them: not hidden,
   folders) that are done in no shard and not in the target. */
static int check_expect(merge *m, const char *batch)
{
    DIR *d = opendir(batch);
    if (!d) {
        sh_log(SH_LOG_ERROR, "--expect %s: cannot open folder: %s", batch,
               strerror(errno));
        return SH_EUSAGE;
    }
    struct dirent *e;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.')
            continue;
        char p[4096];
        struct stat sb;
        snprintf(p, sizeof p, "%s/%s", batch, e->d_name);
        if (stat(p, &sb) < 0 || !S_ISDIR(sb.st_mode))
            continue;
        if (target_done(m, e->d_name))
            continue;
        json_t *nd = json_object_get(m->notdone, e->d_name);
        if (nd)
            continue;   /* reported as not done */
        char hint[128] = "";
        if (m->shard_n > 1)
            snprintf(hint, sizeof hint, " (shard %d of %d: did that task "
                     "run, and is its warehouse among those merged?)",
                     sh_shard_of(batch, e->d_name, m->shard_n), m->shard_n);
        sh_log(SH_LOG_ERROR, "%s: missing: in batch %s but done in no shard "
               "warehouse given%s", e->d_name, batch, hint);
        json_array_append_new(m->missing, json_string(e->d_name));
    }
    closedir(d);
    return SH_OK;
}

static void usage(FILE *f)
{
    fputs("usage: sohoa merge --into DIR [--expect BATCH_DIR]... [--json]\n"
          "                   [--quiet] SHARD_DIR...\n"
          "  Bring the warehouses of `sohoa run --shard K/N` into DIR.\n"
          "  Each done dossier is checked first: its PDF must be there and\n"
          "  hash as its catalog says, its pages 1..N.  Dossiers already in\n"
          "  DIR with the same content are left alone; with other content\n"
          "  they are refused (both shards named).  Failed and pending\n"
          "  dossiers are reported and left.\n"
          "  --expect BATCH_DIR  list the batch's dossiers done in no shard\n"
          "  --json              print the summary as JSON on stdout\n"
          "Exit: 0 all merged, 1 some dossier refused, not done or missing,\n"
          "2 usage, 3 a run or merge holds DIR.\n",
          f);
}

int sh_cmd_merge(int argc, char **argv)
{
    merge M = {0};
    merge *m = &M;
    sh_err err = {0};
    int rc = SH_EXIT_USAGE, json_out = 0, lockfd = -1;
    json_t *expect = json_array(), *report = NULL;
    sh_buf args = {0};
    m->failures = json_array();
    m->notdone = json_object();
    m->shards = json_array();
    m->missing = json_array();
    m->t0 = sh_now();
    sh_now_iso(m->started);
    static const struct option opts[] = {
        {"into", required_argument, NULL, 'i'},
        {"expect", required_argument, NULL, 'e'},
        SH_LONGOPT_JSON,
        {"quiet", no_argument, NULL, 'q'},
        SH_LONGOPT_HELP,
        {NULL, 0, NULL, 0}};
    int c;
    sh_opts o;
    sh_opts_init(&o);
    optind = 1;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case 'i': m->into = optarg; break;
        case 'e': json_array_append_new(expect, json_string(optarg)); break;
        case 'q': sh_log_level = SH_LOG_WARN; break;
        default:
            switch (sh_opt_common(&o, c, optarg)) {
            case SH_OPT_TAKEN: break;
            case SH_OPT_HELP: usage(stdout); rc = SH_EXIT_OK; goto out;
            default: usage(stderr); goto out;
            }
        }
    }
    json_out = o.json;
    if (!m->into || optind >= argc) {
        fprintf(stderr, "sohoa merge: %s\n",
                !m->into ? "--into DIR is required" : "no shard warehouse");
        usage(stderr);
        goto out;
    }
    for (int i = 0; i < argc; i++)
        sh_buf_printf(&args, "%s%s", i ? " " : "", argv[i]);
    m->args = args.data;
    /* Never the target as its own shard. */
    char rt[PATH_MAX], rs[PATH_MAX];
    for (int i = optind; i < argc; i++)
        if (realpath(m->into, rt) && realpath(argv[i], rs) && !strcmp(rt, rs)) {
            fprintf(stderr, "sohoa merge: %s is the target itself\n", argv[i]);
            goto out;
        }
    char pdfdir[4096];
    snprintf(pdfdir, sizeof pdfdir, "%s/pdf", m->into);
    if (sh_mkdirs(pdfdir, &err)) {
        fprintf(stderr, "sohoa merge: %s\n", err.msg);
        goto out;
    }
    if ((rc = sh_lock_warehouse(m->into, "merge", &lockfd, &err))) {
        fprintf(stderr, "sohoa merge: %s\n", err.msg);
        rc = rc == SH_ELOCKED ? SH_EXIT_LOCKED : SH_EXIT_USAGE;
        goto out;
    }
    if (sh_db_open(m->into, 0, &m->db, &err)) {
        fprintf(stderr, "sohoa merge: %s\n", err.msg);
        rc = SH_EXIT_USAGE;
        goto out;
    }
    for (int i = optind; i < argc; i++)
        merge_shard(m, argv[i]);

    /* Not done in its shard and done nowhere else: not merged. */
    int notdone = 0;
    const char *k;
    json_t *v;
    json_t *nd_list = json_array();
    json_object_foreach(m->notdone, k, v) {
        if (target_done(m, k))
            continue;
        sh_log(SH_LOG_WARN, "%s: not merged: %s", k, json_string_value(v));
        json_array_append_new(nd_list, json_pack("{s:s, s:s}", "dossier", k,
                                                 "reason",
                                                 json_string_value(v)));
        notdone++;
    }
    size_t i;
    json_array_foreach(expect, i, v)
        if (check_expect(m, json_string_value(v))) {
            json_decref(nd_list);
            rc = SH_EXIT_USAGE;
            goto out;
        }
    int nmiss = (int)json_array_size(m->missing);
    rc = m->n_refused || m->n_shard_errors || notdone || nmiss
             ? SH_EXIT_PARTIAL : SH_EXIT_OK;
    double wall = sh_now() - m->t0;
    char fin[32];
    sh_now_iso(fin);
    report = json_pack(
        "{s:s, s:s, s:s, s:f, s:i, s:{s:i, s:i, s:i, s:i, s:i}, "
        "s:{s:I}, s:O, s:O, s:{s:O, s:o, s:s}}",
        "kind", "merge", "started", m->started, "finished", fin, "wall_s",
        wall, "exit_code", rc, "dossiers", "in", m->n_in, "done", m->n_merged,
        "up_to_date", m->n_skipped, "failed", m->n_refused + notdone, "left",
        nmiss, "pages", "out", (json_int_t)m->pages_merged, "failures",
        m->failures, "left", m->missing, "merge", "shards", m->shards,
        "not_done", nd_list, "target", m->into);
    if (m->run_id) {
        json_object_set_new(report, "run", json_integer(m->run_id));
        sh_run_record_end(m->db, m->run_id, fin, rc, report);
    }
    sh_log(rc ? SH_LOG_WARN : SH_LOG_INFO,
           "merge into %s: %d dossier%s merged (%lld pages), %d already "
           "there, %d refused, %d not done, %d missing, %d shard%s "
           "unreadable (%.1f s)",
           m->into, m->n_merged, m->n_merged == 1 ? "" : "s",
           (long long)m->pages_merged, m->n_skipped, m->n_refused, notdone,
           nmiss, m->n_shard_errors, m->n_shard_errors == 1 ? "" : "s", wall);
    if (json_out) {
        json_dumpf(report, stdout, JSON_INDENT(1));
        fputc('\n', stdout);
    }
out:
    json_decref(report);
    json_decref(expect);
    json_decref(m->failures);
    json_decref(m->notdone);
    json_decref(m->shards);
    json_decref(m->missing);
    sh_buf_release(&args);
    sh_db_close(&m->db);
    if (lockfd >= 0)
        close(lockfd);
    return rc;
}
