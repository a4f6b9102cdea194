/*
 * export_write.c — the writers of `sohoa export`: the XML of one dossier
 * and the two CSV tables over the export folder.
 *
 *   sh_export_view_init      what is written for one dossier
 *   sh_export_view_xml       its XML (Phụ lục VI element names)
 *   sh_export_view_rows      its rows of dossiers.csv / documents.csv
 *   sh_export_tables_init    the tables' columns
 *   sh_export_table_write    TO/dossiers.csv, TO/documents.csv
 *   sh_export_table_release
 *
 * Method.  A "view" holds what is written for one dossier: the manifest's
 * values (dossier_meta), the catalog's documents, and what is derived
 * when both are silent (FileCode and Title: the dossier id; PageTotal,
 * SheetTotal: the PDF's and catalog's counts; DocTotal: the documents;
 * StartDate/EndDate: the earliest and latest IssuedDate; Language: Tiếng
 * Việt).  The XML and the CSV rows are both made from the view, so they
 * always agree (CSV cells that a spreadsheet would run as a formula get a
 * leading ', add_cell).  XML text is escaped and cleared of characters XML 1.0
 * does not allow.  The CSV tables cover everything exported to the
 * folder so far: rows of an existing table are kept for folders still
 * there and not exported again now, then all rows are sorted by FileCode
 * and written at once (base/csv.c quoting, UTF-8 BOM and CRLF, as Excel
 * reads them).
 */
#include "export_int.h"

#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <unistr.h>

/* ------------------------------------------------------------------ */
/* XML                                                                  */

/* s as XML character data: & < > " ' escaped, characters XML 1.0 does
   not allow (C0 controls but TAB/LF/CR, U+FFFE/U+FFFF, invalid UTF-8)
   dropped. */
static void xml_text(sh_buf *b, const char *s)
{
    const uint8_t *p = (const uint8_t *)(s ? s : "");
    size_t len = strlen((const char *)p);
    for (size_t i = 0; i < len;) {
        ucs4_t uc;
        int n = u8_mbtouc(&uc, p + i, len - i);
        if (n < 1)
            n = 1;
        int invalid = uc == 0xFFFD && !(n == 3 && p[i] == 0xEF &&
                                        p[i + 1] == 0xBF && p[i + 2] == 0xBD);
        if (!invalid && (uc == 0x9 || uc == 0xA || uc == 0xD ||
                         (uc >= 0x20 && uc != 0xFFFE && uc != 0xFFFF))) {
            switch (uc) {
            case '&': sh_buf_adds(b, "&amp;"); break;
            case '<': sh_buf_adds(b, "&lt;"); break;
            case '>': sh_buf_adds(b, "&gt;"); break;
            case '"': sh_buf_adds(b, "&quot;"); break;
            case '\'': sh_buf_adds(b, "&apos;"); break;
            case '\r': sh_buf_adds(b, "&#13;"); break;
            default: sh_buf_add(b, p + i, (size_t)n);
            }
        }
        i += (size_t)n;
    }
}

/* <name source="src" confidence="c">value</name>, or <name/> */
static void xml_field(sh_buf *b, int indent, const char *name,
                      const char *value, const char *src, double conf)
{
    sh_buf_printf(b, "%*s<%s", indent, "", name);
    if (!value) {
        sh_buf_adds(b, "/>\n");
        return;
    }
    if (src)
        sh_buf_printf(b, " source=\"%s\"", src);
    if (conf >= 0)
        sh_buf_printf(b, " confidence=\"%.2f\"", conf);
    sh_buf_adds(b, ">");
    xml_text(b, value);
    sh_buf_printf(b, "</%s>\n", name);
}

static void xml_int(sh_buf *b, int indent, const char *name, int v,
                    const char *src)
{
    char s[24];
    snprintf(s, sizeof s, "%d", v);
    xml_field(b, indent, name, v >= 0 ? s : NULL, src, -1);
}

/* ------------------------------------------------------------------ */
/* CSV tables                                                           */

static const char *const dossier_cols[] = {
    "FileCode", "Dossier", "OrganId", "FileCatalog", "FileNotation", "Title",
    "Maintenance", "Rights", "Language", "StartDate", "EndDate", "DocTotal",
    "PageTotal", "SheetTotal", "Description", "Agency", "File", "Approved",
    "ApprovedBy", "ApprovedAt"};
static const char *const document_cols[] = {
    "FileCode", "DocOrdinal", "TypeName", "CodeNumber", "CodeNotation",
    "IssuedDate", "OrganName", "Subject", "PageAmount", "Language",
    "Description", "FirstPage", "LastPage", "File", "Dossier", "Origin"};

static int table_add(table *t, char **f, long seq)
{
    if (t->n == t->cap) {
        int nc = t->cap ? 2 * t->cap : 32;
        trow *nr = realloc(t->r, (size_t)nc * sizeof *nr);
        if (!nr)
            return SH_ENOMEM;
        t->r = nr;
        t->cap = nc;
    }
    t->r[t->n].f = f;
    t->r[t->n].n = t->ncols;
    t->r[t->n].seq = seq;
    t->n++;
    return SH_OK;
}

/* New row from ncols strings (copied; NULL = empty). */
static int table_addv(table *t, const char *const *v, long seq)
{
    char **f = calloc((size_t)t->ncols, sizeof *f);
    if (!f)
        return SH_ENOMEM;
    for (int i = 0; i < t->ncols; i++)
        if (!(f[i] = strdup(v[i] ? v[i] : ""))) {
            for (int k = 0; k < i; k++)
                free(f[k]);
            free(f);
            return SH_ENOMEM;
        }
    if (table_add(t, f, seq)) {
        for (int k = 0; k < t->ncols; k++)
            free(f[k]);
        free(f);
        return SH_ENOMEM;
    }
    return SH_OK;
}

void sh_export_table_release(table *t)
{
    for (int i = 0; i < t->n; i++) {
        for (int k = 0; k < t->r[i].n; k++)
            free(t->r[i].f[k]);
        free(t->r[i].f);
    }
    free(t->r);
    t->r = NULL;
    t->n = t->cap = 0;
}

static int cmp_trow(const void *a, const void *b)
{
    const trow *x = a, *y = b;
    int c = strcmp(x->f[0], y->f[0]);
    if (c)
        return c;
    return x->seq < y->seq ? -1 : x->seq > y->seq;
}

void sh_export_tables_init(table *dossiers, table *documents)
{
    memset(dossiers, 0, sizeof *dossiers);
    memset(documents, 0, sizeof *documents);
    dossiers->cols = dossier_cols;
    dossiers->ncols = (int)SH_ARRAY_LEN(dossier_cols);
    documents->cols = document_cols;
    documents->ncols = (int)SH_ARRAY_LEN(document_cols);
}

/* 1 if folder name is among done[0..n). */
static int exported_now(char *const *done, int n, const char *name)
{
    for (int i = 0; i < n; i++)
        if (!strcmp(done[i], name))
            return 1;
    return 0;
}

/* ------------------------------------------------------------------ */
/* the CSV tables over the whole export folder                          */

/* One cell of dossiers.csv / documents.csv.  A value a spreadsheet would
   take for a formula (starting with = + - @, a tab or a CR: text from OCR
   or a manifest, e.g. "=HYPERLINK(...)") is written with a leading ' as
   OWASP advises for CSV injection; Excel and LibreOffice then show it as
   text.  A value already starting with ' is left alone, so rows read back
   from an earlier export are not prefixed twice. */
static int add_cell(sh_buf *b, const char *s)
{
    if (s && s[0] && strchr("=+-@\t\r", s[0])) {
        sh_buf v = {0};
        sh_buf_adds(&v, "'");
        sh_buf_adds(&v, s);
        if (!v.data)
            return SH_ENOMEM;
        int rc = sh_csv_add_value(b, v.data, ',');
        sh_buf_release(&v);
        return rc;
    }
    return sh_csv_add_value(b, s, ',');
}

int sh_export_table_write(table *t, const char *to, const char *name,
                          char *const *done, int ndone, sh_err *err)
{
    char path[8192];
    snprintf(path, sizeof path, "%s/%s", to, name);
    /* keep the rows of dossiers exported before (their folder still
       there, not exported again now) */
    uint8_t *data = NULL;
    size_t n = 0;
    if (access(path, F_OK) == 0 &&
        sh_read_file(path, 256u << 20, &data, &n, NULL) == SH_OK) {
        sh_csv old = {0};
        int fileCol = -1;
        for (int k = 0; k < t->ncols; k++)
            if (!strcmp(t->cols[k], "File"))
                fileCol = k;
        int ok = sh_csv_parse((const char *)data, n, ',', &old, NULL) == SH_OK
                 && old.n > 0 && old.rows[0].n == t->ncols;
        for (int k = 0; ok && k < t->ncols; k++)
            ok = !strcmp(old.rows[0].f[k], t->cols[k]);
        if (!ok)
            sh_log(SH_LOG_WARN, "%s: not as sohoa writes it; rebuilt from "
                   "this export only", path);
        for (int i = 1; ok && i < old.n; i++) {
            sh_csv_row *r = &old.rows[i];
            if (r->n != t->ncols)
                continue;
            const char *rel = r->f[fileCol];
            const char *slash = strchr(rel, '/');
            if (!slash)
                continue;
            char folder[300];
            snprintf(folder, sizeof folder, "%.*s", (int)(slash - rel), rel);
            char fp[8600];
            struct stat sb;
            snprintf(fp, sizeof fp, "%s/%s", to, folder);
            if (exported_now(done, ndone, folder) || stat(fp, &sb) < 0 ||
                !S_ISDIR(sb.st_mode))
                continue;
            if (table_add(t, r->f, -1 - (long)(old.n - i))) {
                sh_csv_release(&old);
                free(data);
                return sh_errf(err, SH_ENOMEM, "out of memory");
            }
            r->f = NULL;    /* now the table's */
            r->n = 0;
        }
        sh_csv_release(&old);
        free(data);
    }
    qsort(t->r, (size_t)t->n, sizeof *t->r, cmp_trow);
    sh_buf b = {0};
    sh_buf_adds(&b, "\xEF\xBB\xBF");
    for (int k = 0; k < t->ncols; k++) {
        if (k)
            sh_buf_adds(&b, ",");
        sh_csv_add_value(&b, t->cols[k], ',');
    }
    sh_buf_adds(&b, "\r\n");
    for (int i = 0; i < t->n; i++) {
        for (int k = 0; k < t->ncols; k++) {
            if (k)
                sh_buf_adds(&b, ",");
            add_cell(&b, t->r[i].f[k]);
        }
        sh_buf_adds(&b, "\r\n");
    }
    if (!b.data)
        return sh_errf(err, SH_ENOMEM, "out of memory");
    int rc = sh_write_atomic(path, b.data, b.len, err);
    sh_buf_release(&b);
    return rc;
}

/* ------------------------------------------------------------------ */
/* one dossier                                                          */

static const char *src_of(const char *origin)
{
    return origin ? origin : "ocr";
}

static double conf_of(const char *origin, double conf)
{
    return (!origin || !strcmp(origin, "ocr")) ? conf : -1;
}

/* Field bit of document d: "manual" when a clerk typed it (review.h). */
static const char *fsrc(const doc *d, int bit)
{
    return d->manual & (1u << bit) ? "manual" : src_of(d->origin);
}

static double fconf(const doc *d, int bit, double conf)
{
    return d->manual & (1u << bit) ? -1 : conf_of(d->origin, conf);
}

void sh_export_view_init(view *v, const char *id, const char *file_code,
                         const char *fname, const sh_meta *meta,
                         const char *agency, const doc *docs, int ndocs,
                         int npdf, int sheets, long long bytes,
                         const char *sha)
{
    memset(v, 0, sizeof *v);
    v->id = id;
    v->file_code = file_code;
    v->fname = fname;
    v->meta = meta;
    v->docs = docs;
    v->ndocs = ndocs;
    v->npdf = npdf;
    v->sheets = sheets;
    v->bytes = bytes;
    v->sha = sha;
    v->lang = meta->language ? meta->language : "Tiếng Việt";
    v->agency = meta->agency ? meta->agency : agency;
    v->start = meta->start_date;
    v->end = meta->end_date;
    v->start_src = v->end_src = "manifest";
    /* the earliest and latest IssuedDate when the manifest gave none */
    const char *lo = NULL, *hi = NULL;
    for (int i = 0; i < ndocs; i++)
        if (docs[i].iso[0]) {
            if (!lo || strcmp(docs[i].iso, lo) < 0)
                lo = docs[i].iso;
            if (!hi || strcmp(docs[i].iso, hi) > 0)
                hi = docs[i].iso;
        }
    if (!v->start) {
        v->start = lo;
        v->start_src = "derived";
    }
    if (!v->end) {
        v->end = hi;
        v->end_src = "derived";
    }
    if (meta->page_total >= 0 && meta->page_total != npdf)
        sh_log(SH_LOG_WARN, "%s: the manifest's PageTotal is %d, the PDF has "
               "%d pages", id, meta->page_total, npdf);
    int real_docs = !(ndocs == 1 && docs[0].origin &&
                      !strcmp(docs[0].origin, "derived"));
    if (meta->doc_total >= 0 && real_docs && meta->doc_total != ndocs)
        sh_log(SH_LOG_WARN, "%s: the manifest's DocTotal is %d, the catalog "
               "has %d documents", id, meta->doc_total, ndocs);
}

static int view_doc_total(const view *v)
{
    return v->meta->doc_total >= 0 ? v->meta->doc_total : v->ndocs;
}

static int view_page_total(const view *v)
{
    return v->meta->page_total >= 0 ? v->meta->page_total : v->npdf;
}

static int view_sheet_total(const view *v)
{
    return v->meta->sheet_total >= 0 ? v->meta->sheet_total : v->sheets;
}

static const char *mf(const void *given)
{
    return given ? "manifest" : "derived";
}

void sh_export_view_xml(const view *v, const char *now, sh_buf *xml)
{
    const sh_meta *m = v->meta;
    sh_buf_adds(xml, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
                "<!-- Hồ sơ and văn bản fields of Nghị định 30/2020/NĐ-CP "
                "Phụ lục VI (element names as there).\n"
                "     source=\"manifest\": from the batch's manifest.csv; "
                "\"ocr\": suggested from the page text\n"
                "     (confidence 0..1); \"derived\": computed by sohoa; "
                "\"manual\": entered by a person.\n"
                "     Empty element: not known. Dates are yyyy-mm-dd "
                "(yyyy-mm or yyyy when the day or month is blank). -->\n");
    sh_buf_adds(xml, "<Dossier id=\"");
    xml_text(xml, v->id);
    sh_buf_printf(xml, "\" exported=\"%s\" generator=\"sohoa\">\n", now);
    xml_field(xml, 2, "FileCode", v->file_code, mf(m->file_code), -1);
    xml_field(xml, 2, "OrganId", m->organ_id, "manifest", -1);
    xml_int(xml, 2, "FileCatalog", m->file_catalog, "manifest");
    xml_field(xml, 2, "FileNotation", m->file_notation, "manifest", -1);
    xml_field(xml, 2, "Title", m->title ? m->title : v->id, mf(m->title), -1);
    xml_field(xml, 2, "Maintenance", m->maintenance, "manifest", -1);
    xml_field(xml, 2, "Rights", m->rights, "manifest", -1);
    xml_field(xml, 2, "Language", v->lang, mf(m->language), -1);
    xml_field(xml, 2, "StartDate", v->start, v->start_src, -1);
    xml_field(xml, 2, "EndDate", v->end, v->end_src, -1);
    xml_int(xml, 2, "DocTotal", view_doc_total(v),
            m->doc_total >= 0 ? "manifest" : "derived");
    xml_int(xml, 2, "PageTotal", view_page_total(v),
            m->page_total >= 0 ? "manifest" : "derived");
    xml_int(xml, 2, "SheetTotal", view_sheet_total(v),
            m->sheet_total >= 0 ? "manifest" : "derived");
    xml_field(xml, 2, "Description", m->description, "manifest", -1);
    xml_field(xml, 2, "Agency", v->agency, m->agency ? "manifest" : NULL, -1);
    sh_buf_printf(xml, "  <PdfFile pages=\"%d\" bytes=\"%lld\" "
                  "sha256=\"%s\">", v->npdf, v->bytes, v->sha);
    xml_text(xml, v->fname);
    sh_buf_adds(xml, ".pdf</PdfFile>\n");
    /* the clerk's approval (sohoa approve, Duyệt hồ sơ) */
    if (v->approved_by) {
        sh_buf_adds(xml, "  <Approved by=\"");
        xml_text(xml, v->approved_by);
        sh_buf_adds(xml, "\" at=\"");
        xml_text(xml, v->approved_at ? v->approved_at : "");
        sh_buf_adds(xml, "\">true</Approved>\n");
    } else {
        sh_buf_adds(xml, "  <Approved>false</Approved>\n");
    }
    sh_buf_adds(xml, "  <Documents>\n");
    for (int i = 0; i < v->ndocs; i++) {
        const doc *d = &v->docs[i];
        char ord[16], amount[16], fp[16], lp[16];
        snprintf(ord, sizeof ord, "%d", d->ordinal);
        snprintf(amount, sizeof amount, "%d", d->last - d->first + 1);
        snprintf(fp, sizeof fp, "%d", d->first);
        snprintf(lp, sizeof lp, "%d", d->last);
        const char *date = d->iso[0] ? d->iso : d->issued_date;
        sh_buf_adds(xml, "    <Document>\n");
        xml_field(xml, 6, "DocOrdinal", ord, NULL, -1);
        /* bits: the order of SH_REVIEW_FIELDS (index/review.c) */
        xml_field(xml, 6, "TypeName", d->type_name, fsrc(d, 0),
                  fconf(d, 0, d->type_conf));
        xml_field(xml, 6, "CodeNumber", d->code_number, fsrc(d, 1),
                  fconf(d, 1, d->code_conf));
        xml_field(xml, 6, "CodeNotation", d->code_notation, fsrc(d, 2),
                  fconf(d, 2, d->code_conf));
        xml_field(xml, 6, "IssuedDate", date, fsrc(d, 3),
                  fconf(d, 3, d->date_conf));
        xml_field(xml, 6, "Place", d->place, fsrc(d, 4),
                  fconf(d, 4, d->date_conf));
        xml_field(xml, 6, "OrganName", d->organ_name, fsrc(d, 5),
                  fconf(d, 5, d->organ_conf));
        xml_field(xml, 6, "Subject", d->subject, fsrc(d, 6),
                  fconf(d, 6, d->subject_conf));
        xml_field(xml, 6, "PageAmount", amount, "derived", -1);
        xml_field(xml, 6, "Language", v->lang, mf(m->language), -1);
        xml_field(xml, 6, "Description", NULL, NULL, -1);
        xml_field(xml, 6, "FirstPage", fp, NULL, -1);
        xml_field(xml, 6, "LastPage", lp, NULL, -1);
        xml_field(xml, 6, "File", d->file, NULL, -1);
        sh_buf_adds(xml, "    </Document>\n");
    }
    sh_buf_adds(xml, "  </Documents>\n</Dossier>\n");
}

int sh_export_view_rows(const view *v, table *dossiers, table *documents,
                        long *seq)
{
    const sh_meta *m = v->meta;
    char cat[16] = "", dt[16], pt[16], stt[16] = "", rel[300];
    if (m->file_catalog >= 0)
        snprintf(cat, sizeof cat, "%d", m->file_catalog);
    snprintf(dt, sizeof dt, "%d", view_doc_total(v));
    snprintf(pt, sizeof pt, "%d", view_page_total(v));
    if (view_sheet_total(v) >= 0)
        snprintf(stt, sizeof stt, "%d", view_sheet_total(v));
    snprintf(rel, sizeof rel, "%s/%s.pdf", v->fname, v->fname);
    const char *dv[] = {v->file_code, v->id, m->organ_id, cat,
                        m->file_notation, m->title ? m->title : v->id,
                        m->maintenance, m->rights, v->lang, v->start, v->end,
                        dt, pt, stt, m->description, v->agency, rel,
                        v->approved_by ? "true" : "false", v->approved_by,
                        v->approved_at};
    int rc = table_addv(dossiers, dv, (*seq)++);
    for (int i = 0; i < v->ndocs && !rc; i++) {
        const doc *d = &v->docs[i];
        char ord[16], amount[16], fp[16], lp[16], drel[400];
        snprintf(ord, sizeof ord, "%d", d->ordinal);
        snprintf(amount, sizeof amount, "%d", d->last - d->first + 1);
        snprintf(fp, sizeof fp, "%d", d->first);
        snprintf(lp, sizeof lp, "%d", d->last);
        snprintf(drel, sizeof drel, "%s/%s", v->fname, d->file);
        const char *r[] = {v->file_code, ord, d->type_name, d->code_number,
                           d->code_notation,
                           d->iso[0] ? d->iso : d->issued_date,
                           d->organ_name, d->subject, amount, v->lang, NULL,
                           fp, lp, drel, v->id,
                           d->manual ? "manual" : src_of(d->origin)};
        rc = table_addv(documents, r, (*seq)++);
    }
    return rc;
}
