/*
 * run_assemble.c — `sohoa run`, dossier assembly: when every page of a
 * dossier is recognised, its PDF, its documents and its index entries.
 *
 *   sh_run_maybe_finish   finish a dossier with nothing pending
 *
 * Method.  The dossier's pages are read from the catalog in source and
 * frame order (blank pages left out unless --keep-blanks); each goes into
 * the PDF (ocr/pdf.c) with its image from .work/ and its words as the
 * text layer, and its words are read for header fields (ocr/fields.c): a
 * page that starts a văn bản starts a document.  The PDF gets its XMP
 * metadata (the manifest row, counts, dates from the documents), is
 * written to a temporary name, read back (ocr/readback.c: the text layer
 * another reader sees must be the OCR; pages of weak OCR are only
 * noted) and renamed into place.  Then, in one transaction, the
 * documents are stored, the pages numbered and indexed and the dossier
 * marked done; the .work/ images are removed.  A dossier that fails is
 * marked failed with its reasons; a failure of the warehouse itself
 * (disk full, catalog) stops the run.
 */
#include "run_int.h"
#include "../index/index.h"
#include "../ocr/fields.h"
#include "../ocr/pdf.h"
#include "../ocr/readback.h"
#include "../scanners/prep.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int words_from_json(const char *s, sh_words *ws)
{
    memset(ws, 0, sizeof *ws);
    json_error_t je;
    json_t *a = json_loads(s ? s : "[]", 0, &je);
    if (!json_is_array(a)) {
        json_decref(a);
        return SH_EINPUT;
    }
    size_t n = json_array_size(a);
    ws->w = calloc(n + 1, sizeof *ws->w);
    if (!ws->w) {
        json_decref(a);
        return SH_ENOMEM;
    }
    ws->cap = (int)n + 1;
    for (size_t i = 0; i < n; i++) {
        json_t *e = json_array_get(a, i);
        sh_word *w = &ws->w[ws->n];
        double conf = 0;
        const char *t = NULL;
        if (json_unpack(e, "[iiiifiiiis]", &w->x0, &w->y0, &w->x1, &w->y1,
                        &conf, &w->line, &w->par, &w->baseline_y, &w->line_h,
                        &t) != 0)
            continue;
        w->conf = (float)conf;
        w->text = strdup(t);
        if (!w->text)
            break;
        ws->n++;
    }
    json_decref(a);
    return SH_OK;
}

static void finish_failed(run *r, int d)
{
    dstate *s = &r->st[d];
    sqlite3_stmt *st;
    char when[32];
    sh_now_iso(when);
    if (!sh_db_prep(r->db,
              "UPDATE dossier SET state='failed', error=?, updated=? WHERE "
              "id=?",
              &st, NULL)) {
        sh_db_bind_text(st, 1, s->errors.data ? s->errors.data : "failed");
        sh_db_bind_text(st, 2, when);
        sh_db_bind_text(st, 3, r->ds[d].id);
        sh_db_done(r->db, st, NULL);
    }
    s->done = 1;
    r->d_failed++;
    sh_log(SH_LOG_ERROR, "%s: FAILED (%s)", r->ds[d].id,
           s->errors.data ? s->errors.data : "failed");
}

/* The documents (văn bản) of a dossier: a page whose header block says
   it begins a new one starts a document; the first page always does. */
#define DOC_START_CONF 0.5f
/* Pages whose words' mean confidence is below this (0..100) are noise to
   Tesseract too; their text layer is not held to the read-back. */
#define READBACK_MIN_CONF 60.0

typedef struct docs {
    sh_doc_fields *f;   /* [n]: the fields read from each first page */
    int *first;         /* [n]: its 1-based PDF page */
    int n, cap;
} docs;

static void docs_release(docs *x)
{
    for (int i = 0; i < x->n; i++)
        sh_doc_fields_release(&x->f[i]);
    free(x->f);
    free(x->first);
    memset(x, 0, sizeof *x);
}

/* Page pageno (1-based) has fields f: keep them if it starts a document
   (f is then owned by x), else release them. */
static int docs_page(docs *x, int pageno, sh_doc_fields *f)
{
    if (pageno > 1 && f->start_conf < DOC_START_CONF) {
        sh_doc_fields_release(f);
        return SH_OK;
    }
    if (x->n == x->cap) {
        int cap = x->cap ? 2 * x->cap : 8;
        sh_doc_fields *nf = realloc(x->f, (size_t)cap * sizeof *nf);
        if (nf)
            x->f = nf;
        int *np = realloc(x->first, (size_t)cap * sizeof *np);
        if (np)
            x->first = np;
        if (!nf || !np) {
            sh_doc_fields_release(f);
            return SH_ENOMEM;
        }
        x->cap = cap;
    }
    x->f[x->n] = *f;
    x->first[x->n++] = pageno;
    memset(f, 0, sizeof *f);
    return SH_OK;
}

/* The documents' rows: suggestions (origin 'ocr') replace the earlier
   suggestions; rows a person or a manifest gave are kept. */
static int docs_store(run *r, const char *id, const docs *x, int npages,
                      sh_err *err)
{
    sqlite3_stmt *st;
    int rc = sh_db_prep(r->db, "DELETE FROM document WHERE dossier=? AND "
                        "origin='ocr'", &st, err);
    if (rc)
        return rc;
    sh_db_bind_text(st, 1, id);
    if ((rc = sh_db_done(r->db, st, err)))
        return rc;
    for (int i = 0; !rc && i < x->n; i++) {
        const sh_doc_fields *f = &x->f[i];
        sh_document doc = {
            .dossier = id,
            .ordinal = i + 1,
            .first_page = x->first[i],
            .last_page = i + 1 < x->n ? x->first[i + 1] - 1 : npages,
            .start_conf = f->start_conf,
            .type_name = f->type_name.value,
            .type_conf = f->type_name.conf,
            .code_number = f->code_number.value,
            .code_notation = f->code_notation.value,
            .code_conf = f->code_notation.value ? f->code_notation.conf
                                                : f->code_number.conf,
            .issued_date = f->issued_date.value,
            .place = f->place.value,
            .date_conf = f->issued_date.value ? f->issued_date.conf
                                              : f->place.conf,
            .organ_name = f->organ_name.value,
            .organ_conf = f->organ_name.conf,
            .subject = f->subject.value,
            .subject_conf = f->subject.conf,
            .origin = "ocr",
        };
        rc = sh_document_store(r->db, &doc, NULL, err);
    }
    return rc;
}

/* XMP metadata of the dossier's PDF: the manifest row (NĐ 30/2020 Phụ lục
   VI names) and what the run counted; dates from the documents when the
   manifest gave none. */
static int set_pdf_meta(run *r, const char *id, sh_pdf *w, const docs *x,
                        int npages, int sheets, sh_err *err)
{
    sqlite3_stmt *st;
    int rc = sh_db_prep(r->db,
                  "SELECT file_code, organ_id, file_catalog, file_notation,"
                  " title, maintenance, rights, language, start_date,"
                  " end_date, description, agency FROM dossier_meta WHERE"
                  " dossier=?",
                  &st, err);
    if (rc)
        return rc;
    sh_db_bind_text(st, 1, id);
    char *v[12] = {0};
    if (sqlite3_step(st) == SQLITE_ROW)
        for (int i = 0; i < 12; i++)
            if (sqlite3_column_type(st, i) != SQLITE_NULL)
                v[i] = strdup((const char *)sqlite3_column_text(st, i));
    sqlite3_finalize(st);
    char *agency = NULL;
    if (!v[11] && !sh_db_prep(r->db, "SELECT agency FROM dossier WHERE id=?", &st,
                        NULL)) {
        sh_db_bind_text(st, 1, id);
        if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_text(st, 0))
            agency = strdup((const char *)sqlite3_column_text(st, 0));
        sqlite3_finalize(st);
    }
    /* Earliest and latest issued dates read from the documents. */
    const char *d0 = NULL, *d1 = NULL;
    for (int i = 0; i < x->n; i++) {
        const char *dt = x->f[i].issued_date.value;
        if (!dt)
            continue;
        if (!d0 || strcmp(dt, d0) < 0)
            d0 = dt;
        if (!d1 || strcmp(dt, d1) > 0)
            d1 = dt;
    }
    char nd[16], np[16], ns[16];
    snprintf(nd, sizeof nd, "%d", x->n);
    snprintf(np, sizeof np, "%d", npages);
    snprintf(ns, sizeof ns, "%d", sheets);
    sh_pdf_field fl[] = {
        {"DossierId", id},
        {"FileCode", v[0]},
        {"OrganId", v[1]},
        {"FileCatalog", v[2]},
        {"FileNotation", v[3]},
        {"Title", v[4]},
        {"Maintenance", v[5]},
        {"Rights", v[6]},
        {"Language", v[7] ? v[7] : "vi"},
        {"StartDate", v[8] ? v[8] : d0},
        {"EndDate", v[9] ? v[9] : d1},
        {"DocTotal", nd},
        {"PageTotal", np},
        {"SheetTotal", ns},
        {"Description", v[10]},
        {"Agency", v[11] ? v[11] : agency},
    };
    /* Fields a clerk typed (review_field): DocNField = value and
       DocNFieldSource = "manual", so the archived file says which values
       a person set.  (A catalog from before the review station has no
       such table: nothing added.) */
    int nbase = (int)(sizeof fl / sizeof fl[0]), nf = nbase;
    sh_pdf_field *all = malloc(sizeof fl + 2 * 64 * sizeof *all);
    char (*names)[2][48] = calloc(64, sizeof *names);
    char **vals = calloc(64, sizeof *vals);
    if (!all || !names || !vals)
        rc = sh_errf(err, SH_ENOMEM, "%s: out of memory", id);
    else {
        memcpy(all, fl, sizeof fl);
        if (!sh_db_prep(r->db, "SELECT ordinal, field, value FROM"
                        " review_field WHERE dossier=? ORDER BY ordinal,"
                        " field", &st, NULL)) {
            sh_db_bind_text(st, 1, id);
            for (int k = 0; k < 64 && sqlite3_step(st) == SQLITE_ROW; k++) {
                const char *f = (const char *)sqlite3_column_text(st, 1);
                vals[k] = sh_db_col_dup(st, 2, 0, NULL);
                if (!f || !vals[k])
                    continue;
                snprintf(names[k][0], sizeof names[k][0], "Doc%d%s",
                         sqlite3_column_int(st, 0), f);
                snprintf(names[k][1], sizeof names[k][1], "Doc%d%sSource",
                         sqlite3_column_int(st, 0), f);
                all[nf++] = (sh_pdf_field){names[k][0], vals[k]};
                all[nf++] = (sh_pdf_field){names[k][1], "manual"};
            }
            sqlite3_finalize(st);
        }
        sh_pdf_meta m = {
            .title = v[4] ? v[4] : id,
            .language = "vi",
            .creator = v[11] ? v[11] : agency,
            .description = v[10],
            .fields = all,
            .nfields = nf,
        };
        rc = sh_pdf_set_meta(w, &m, err);
    }
    for (int k = 0; vals && k < 64; k++)
        free(vals[k]);
    free(vals);
    free(names);
    free(all);
    for (int i = 0; i < 12; i++)
        free(v[i]);
    free(agency);
    return rc;
}

/* Write the dossier's PDF and place + index its pages in one transaction. */
static int assemble(run *r, int d, sh_err *err)
{
    sh_dossier_in *in = &r->ds[d];
    char pdf[8192];
    snprintf(pdf, sizeof pdf, "%s/pdf/%s.pdf", r->wh, in->id);
    sqlite3_stmt *st = NULL;
    sh_pdf *w = NULL;
    int rc, npages = 0;
    int64_t *ids = NULL;
    char **texts = NULL;    /* [npages]: corrected text, NULL = as read */
    int cap = 0;
    docs dx = {0};
    sh_buf where = {0};     /* "file page N\0" per PDF page, for messages */
    size_t *where_at = NULL;
    sh_readback *rb = NULL;
    if ((rc = sh_readback_new(&rb, err)))
        return rc;

    rc = sh_db_prep(r->db,
                    "SELECT p.id, p.geom, p.words, p.kind,"
                    " (SELECT q.id FROM page q WHERE q.dossier=p.dossier AND"
                    "  q.source_name=p.source_name AND q.frame=p.frame AND"
                    "  q.part=0) AS img_id, p.source_name, p.frame, p.part"
                    " FROM page p JOIN source s ON s.dossier=p.dossier AND"
                    " s.name=p.source_name WHERE p.dossier=? ORDER BY s.seq,"
                    " p.frame, p.part",
                    &st, err);
    if (rc)
        return rc;
    sh_db_bind_text(st, 1, in->id);
    if ((rc = sh_pdf_open(pdf, in->id, &w, err)))
        goto out;
    int64_t prev_img = -1;
    int sheets = 0, blanks = 0;
    while (sqlite3_step(st) == SQLITE_ROW) {
        int64_t id = sqlite3_column_int64(st, 0);
        int64_t img_id = sqlite3_column_int64(st, 4);
        const char *kind = (const char *)sqlite3_column_text(st, 3);
        int blank = kind && !strcmp(kind, "blank");
        if (img_id != prev_img)
            sheets++;
        blanks += blank;
        if (blank && !r->keep_blanks) {
            /* A blank back: counted, recorded, not in the PDF. */
            if (img_id != prev_img)
                prev_img = -2;
            continue;
        }
        sh_geom g;
        json_error_t je;
        json_t *gj = json_loads((const char *)sqlite3_column_text(st, 1)
                                    ? (const char *)sqlite3_column_text(st, 1)
                                    : "",
                                0, &je);
        int bad = sh_geom_from_json(gj, &g);
        json_decref(gj);
        if (bad) {
            rc = sh_errf(err, SH_EINDEX, "page %lld: no geometry in the "
                         "catalog", (long long)id);
            goto out;
        }
        char ip[4096];
        sh_run_img_path(r, img_id, ip, sizeof ip);
        sh_pdf_image img = {0};
        int reuse = img_id == prev_img;
        if ((rc = sh_pdf_image_load(ip, &img, err)))
            goto out;
        prev_img = img_id;
        sh_words ws;
        words_from_json((const char *)sqlite3_column_text(st, 2), &ws);
        /* a clerk's word corrections and văn bản boundaries */
        int fixed = 0, start = -1;
        rc = sh_run_review_page(r, in->id,
                                (const char *)sqlite3_column_text(st, 5),
                                sqlite3_column_int(st, 6),
                                sqlite3_column_int(st, 7), &ws, &fixed,
                                &start, err);
        if (rc) {
            sh_words_release(&ws);
            sh_pdf_image_release(&img);
            goto out;
        }
        sh_pdf_page pg = {0};
        pg.w_pt = g.page_w_pt;
        pg.h_pt = g.page_h_pt;
        pg.img = &img;
        sh_geom_image_matrix(&g, pg.img_matrix);
        pg.words = &ws;
        pg.pt_per_px = sh_geom_pt_per_px(&g);
        pg.reuse_image = reuse;
        /* PDF/A pages are at least 3 pt a side: a scan smaller than that
           (a few pixels) is shown magnified, with its text layer. */
        double small = pg.w_pt < pg.h_pt ? pg.w_pt : pg.h_pt;
        if (small > 0 && small < 3) {
            double k = 3 / small;
            pg.w_pt *= k;
            pg.h_pt *= k;
            for (int m = 0; m < 6; m++)
                pg.img_matrix[m] *= k;
            pg.pt_per_px *= k;
        }
        rc = sh_pdf_add_page(w, &pg, err);
        sh_doc_fields f;
        if (!rc && !(rc = sh_fields_extract(&ws, g.ocr_w, g.ocr_h, &f))) {
            if (start >= 0)
                f.start_conf = start ? 1.0f : 0.0f;
            rc = docs_page(&dx, npages + 1, &f);
        }
        /* Weak OCR (noise, specks) is not held to the read-back: a
           difference there is logged, not fatal. */
        double conf = 0;
        for (int k = 0; k < ws.n; k++)
            conf += ws.w[k].conf;
        int weak = ws.n > 0 && conf / ws.n < READBACK_MIN_CONF;
        if (!rc)
            rc = weak ? sh_readback_add_lenient(rb, &ws, err)
                      : sh_readback_add_page(rb, &ws, err);
        if (!rc) {
            size_t *wa = realloc(where_at, (size_t)(npages + 1) *
                                               sizeof *wa);
            if (wa) {
                where_at = wa;
                where_at[npages] = where.len;
                sh_buf_printf(&where, "%s page %d",
                              (const char *)sqlite3_column_text(st, 5),
                              sqlite3_column_int(st, 6) + 1);
                sh_buf_add(&where, "", 1);
            }
        }
        else if (rc == SH_ENOMEM)
            sh_errf(err, rc, "out of memory");
        sh_pdf_image_release(&img);
        if (rc) {
            sh_words_release(&ws);
            goto out;
        }
        if (npages == cap) {
            cap = cap ? 2 * cap : 64;
            int64_t *p = realloc(ids, (size_t)cap * sizeof *p);
            char **t = p ? realloc(texts, (size_t)cap * sizeof *t) : NULL;
            if (p)
                ids = p;
            if (!t) {
                sh_words_release(&ws);
                rc = sh_errf(err, SH_ENOMEM, "out of memory");
                goto out;
            }
            texts = t;
        }
        /* a corrected page's text is stored and indexed as corrected */
        texts[npages] = fixed ? ws.text : NULL;
        if (fixed)
            ws.text = NULL;
        sh_words_release(&ws);
        ids[npages++] = id;
    }
    sqlite3_finalize(st);
    st = NULL;
    if (npages == 0) {
        /* Every page blank: a wrong-side feed more likely than an empty
           dossier; a person should look. */
        rc = sh_errf(err, SH_EINPUT, "all %d page%s blank; nothing to put "
                     "in a PDF (check the feed, or --keep-blanks)",
                     blanks, blanks == 1 ? " is" : "s are");
        goto out;
    }
    /* Fields a clerk typed replace the suggestions (XMP dates,
       documents, search). */
    if ((rc = sh_run_review_fields(r, in->id, dx.f, dx.n, err)))
        goto out;
    if ((rc = set_pdf_meta(r, in->id, w, &dx, npages, sheets, err)))
        goto out;
    /* The text layer is read back from the finished file (another PDF
       reader's view) and compared with the OCR before the file gets its
       name and its pages are indexed. */
    sh_pdf_set_check(w, sh_readback_check, rb);
    if ((rc = sh_pdf_commit(&w, err))) {
        int fp = sh_readback_failed_page(rb);
        if (fp > 0 && where_at && where.data) {
            char msg[sizeof err->msg];
            snprintf(msg, sizeof msg, "%s", err->msg);
            sh_errf(err, rc, "%s: the PDF's text layer does not read back "
                    "as recognised (%s)", where.data + where_at[fp - 1], msg);
        }
        goto out;
    }
    for (int i = 1; i <= npages; i++) {
        const char *note = sh_readback_note(rb, i);
        if (note && where_at && where.data) {
            sh_log(SH_LOG_WARN, "%s/%s: weak OCR; its text layer reads back "
                   "differently: %s", in->id, where.data + where_at[i - 1],
                   note);
            sh_run_event(r, "warn", in->id, where.data + where_at[i - 1], -1,
                  "readback", note);
        }
    }

    char sha[65];
    struct stat sb;
    if ((rc = sh_sha256_file(pdf, sha, err)))
        goto out;
    stat(pdf, &sb);
    int64_t in_bytes = 0;
    for (int i = 0; i < in->nfiles; i++)
        in_bytes += in->files[i].size;

    if ((rc = sh_db_exec(r->db, "BEGIN IMMEDIATE", err)))
        goto out;
    rc = docs_store(r, in->id, &dx, npages, err);
    sh_indexer *ix = NULL;
    if (!rc)
        rc = sh_indexer_open(r->db, &ix, err);
    for (int i = 0; !rc && i < npages; i++) {
        if ((rc = sh_db_prep(r->db,
                       "UPDATE page SET pageno=?1, text=coalesce(?3, text)"
                       " WHERE id=?2 RETURNING text", &st, err)))
            break;
        sqlite3_bind_int(st, 1, i + 1);
        sqlite3_bind_int64(st, 2, ids[i]);
        sh_db_bind_text(st, 3, texts[i]);
        if (sqlite3_step(st) == SQLITE_ROW)
            rc = sh_indexer_add(ix, ids[i],
                                (const char *)sqlite3_column_text(st, 0), err);
        else
            rc = sh_errf(err, SH_EINDEX, "catalog: %s",
                         sqlite3_errmsg(r->db));
        sqlite3_finalize(st);
        st = NULL;
    }
    sh_indexer_close(&ix);
    char when[32];
    sh_now_iso(when);
    if (!rc && !(rc = sh_db_prep(r->db,
                           "UPDATE dossier SET state='done', pdf=?, "
                           "pdf_sha256=?, pdf_bytes=?, input_bytes=?, pages=?,"
                           " sheets=?, blanks=?, error=NULL, updated=? WHERE"
                           " id=?",
                           &st, err))) {
        sh_db_bind_text(st, 1, pdf);
        sh_db_bind_text(st, 2, sha);
        sqlite3_bind_int64(st, 3, sb.st_size);
        sqlite3_bind_int64(st, 4, in_bytes);
        sqlite3_bind_int(st, 5, npages);
        sqlite3_bind_int(st, 6, sheets);
        sqlite3_bind_int(st, 7, blanks);
        sh_db_bind_text(st, 8, when);
        sh_db_bind_text(st, 9, in->id);
        rc = sh_db_done(r->db, st, err);
        st = NULL;
    }
    if (rc) {
        sh_db_exec(r->db, "ROLLBACK", NULL);
        goto out;
    }
    if ((rc = sh_db_exec(r->db, "COMMIT", err)))
        goto out;
    if (!sh_db_prep(r->db, "SELECT id FROM page WHERE dossier=? AND part=0", &st,
              NULL)) {
        sh_db_bind_text(st, 1, in->id);
        while (sqlite3_step(st) == SQLITE_ROW) {
            char ip[4096];
            sh_run_img_path(r, sqlite3_column_int64(st, 0), ip, sizeof ip);
            unlink(ip);
        }
        sqlite3_finalize(st);
        st = NULL;
    }
    r->d_done++;
    r->st[d].done = 1;
    int rb_pages = 0;
    double rb_s = 0;
    sh_readback_stats(rb, &rb_pages, &rb_s);
    r->t_readback += rb_s;
    sh_log(SH_LOG_INFO, "%s: %d page%s from %d sheet%s%s, %d document%s -> "
           "%s (%.1f MB from %.1f MB of scans; text layer read back in "
           "%.0f ms)", in->id, npages, npages == 1 ? "" : "s",
           sheets, sheets == 1 ? "" : "s", blanks ? ", blanks left out" : "",
           dx.n, dx.n == 1 ? "" : "s", pdf, sb.st_size / 1e6,
           in_bytes / 1e6, rb_s * 1000);
out:
    if (st)
        sqlite3_finalize(st);
    sh_pdf_abort(&w);
    sh_readback_free(&rb);
    docs_release(&dx);
    sh_buf_release(&where);
    free(where_at);
    for (int i = 0; texts && i < npages; i++)
        free(texts[i]);
    free(texts);
    free(ids);
    return rc;
}

/* See run_int.h. */
int sh_run_maybe_finish(run *r, int d, sh_err *err)
{
    dstate *s = &r->st[d];
    if (!s->planned || s->done || s->pending > 0)
        return SH_OK;
    if (s->failed) {
        finish_failed(r, d);
        return SH_OK;
    }
    sh_err aerr = {0};
    int rc = assemble(r, d, &aerr);
    if (rc == SH_ENOSPC || rc == SH_EINDEX) {
        /* The warehouse is the problem, not the dossier: stop the run. */
        return sh_errf(err, rc, "%s: %s", r->ds[d].id, aerr.msg);
    }
    if (rc) {
        sh_run_dossier_error(r, d, r->ds[d].id, -1, aerr.msg);
        finish_failed(r, d);
    }
    return SH_OK;
}

