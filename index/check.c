/*
 * check.c — whether a candidate page may be shown, and what a hit shows.
 *
 * Functions:
 *   sh__check_open, sh__check_page, sh__check_count, sh__check_text,
 *   sh__check_close
 *
 * A page may be shown when it is placed in its dossier's PDF (pageno
 * set), its dossier is 'done', and the search's filters keep it.  A
 * search asks this of many candidates it then does not show (an officer
 * cleared for one agency of twenty refuses nineteen in twenty), in
 * result order, so the check must cost little:
 *
 *  - The page is read from page_key (id, dossier, pageno), a narrow index
 *    with a hundred pages to a b-tree page, not from its row (the text and
 *    word boxes with it: a disk read of its own in a catalog larger than
 *    memory).  A catalog made before page_key reads the row.
 *  - Without a document filter, every filter is a dossier's (agencies,
 *    agency, prefix, year): the dossier is asked once per search, and its
 *    answer (kept or not, its agency and PDF) kept in a small table by
 *    dossier id; the candidates of a search come in runs of one dossier's
 *    pages.  A document filter depends on the page's place among the
 *    dossier's documents: one statement asks page, dossier and documents.
 *  - The text (for the snippet) is read only for the hits shown.
 *
 * Counting.  A search whose matches fit EXACT_MAX checks them all for an
 * exact total (search.c), and a rare name's few hundred matches lie on as
 * many dossiers across the catalog: a cold read of page_key and one of
 * dossier each, ~60 % of such a search when the catalog is not in memory.
 * A match not to be shown needs only a yes or no, which is known without
 * reading it (sh__check_count) when:
 *  - the filter's pages were collected (walk.c: use_ids): the walks yield
 *    only those, and they were collected placed, in done dossiers, by the
 *    same conditions as the check's; or
 *  - there is no filter: a match may then be shown unless it is one of
 *    the catalog's hidden pages, those not placed (page_unplaced) and those
 *    of dossiers not done (dossier_open), two partial indexes as small as
 *    what they hold.  The writers take a page out of page_fts when they
 *    unplace it, so these are few among the matches, but they are read
 *    whole: once per catalog change with a memo, and up to HIDDEN_MAX.
 */
#include "index_int.h"

#include <stdlib.h>
#include <string.h>

/* One dossier's answer, kept for the rest of the search. */
struct check_dossier {
    char *id;                   /* NULL: an empty slot */
    int kept;
    char *agency, *pdf;
};

static uint64_t hash_str(const char *s)
{
    uint64_t h = 1469598103934665603ull;  /* FNV-1a */
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ull;
    return h;
}

static void table_free(search *s)
{
    for (size_t i = 0; i < s->ck.cap; i++) {
        free(s->ck.slot[i].id);
        free(s->ck.slot[i].agency);
        free(s->ck.slot[i].pdf);
    }
    free(s->ck.slot);
    s->ck.slot = NULL;
    s->ck.cap = s->ck.n = 0;
}

/* The slot of dossier id (its own, or the empty one it would take). */
static struct check_dossier *table_slot(search *s, const char *id)
{
    size_t mask = s->ck.cap - 1, i = (size_t)hash_str(id) & mask;
    while (s->ck.slot[i].id && strcmp(s->ck.slot[i].id, id))
        i = (i + 1) & mask;
    return &s->ck.slot[i];
}

/* Room for one more dossier: the table kept at most half full. */
static int table_grow(search *s)
{
    if (2 * (s->ck.n + 1) <= s->ck.cap)
        return SH_OK;
    size_t cap = s->ck.cap ? 2 * s->ck.cap : 64;
    struct check_dossier *old = s->ck.slot;
    size_t oldcap = s->ck.cap;
    s->ck.slot = calloc(cap, sizeof *s->ck.slot);
    if (!s->ck.slot) {
        s->ck.slot = old;
        return SH_ENOMEM;
    }
    s->ck.cap = cap;
    for (size_t i = 0; i < oldcap; i++)
        if (old[i].id)
            *table_slot(s, old[i].id) = old[i];
    free(old);
    return SH_OK;
}

/* Prepare s->check from the SELECT select and the WHERE tail after
   "FROM page p": through page_key, or (a catalog made before it: the
   prepare fails) from the page rows. */
static int prep_check(search *s, const char *select, const char *tail)
{
    static const char *const from[] = {"page p INDEXED BY page_key",
                                       "page p"};
    sh_buf *b = &s->sql;
    for (int i = 0; i < 2; i++) {
        b->len = 0;
        if (sh_buf_printf(b, "%s FROM %s%s", select, from[i], tail))
            return sh__search_nomem(s);
        if (sqlite3_prepare_v2(s->db, b->data, -1, &s->check, NULL) ==
            SQLITE_OK)
            return SH_OK;
    }
    return sh__search_fail(s, "preparing the search");
}

int sh__check_open(search *s)
{
    int rc;
    sh_buf tail = {0};
    s->ck.by_dossier = !sh__has_doc_filter(s->q);
    if (s->ck.by_dossier) {
        if ((rc = prep_check(s, "SELECT p.dossier, p.pageno",
                             " WHERE p.id = ?1 AND p.pageno IS NOT NULL")))
            return rc;
        sh_buf *b = &s->sql;
        b->len = 0;
        if (sh_buf_printf(b,
                          "SELECT d.agency, d.pdf FROM dossier d "
                          "WHERE d.id = ?1 AND d.state = 'done'%s",
                          s->filt_d.data))
            return sh__search_nomem(s);
        if ((rc = sh__search_prep(s, b->data, &s->dcheck,
                                  "preparing the search")))
            return rc;
        sh__filter_bind(s->q, s->dcheck);
    } else {
        if (sh_buf_printf(&tail,
                          " JOIN dossier d ON d.id = p.dossier "
                          "WHERE p.id = ?1 AND p.pageno IS NOT NULL "
                          "AND d.state = 'done'%s",
                          s->filt.data)) {
            sh_buf_release(&tail);
            return sh__search_nomem(s);
        }
        rc = prep_check(s, "SELECT p.dossier, p.pageno, d.agency, d.pdf",
                        tail.data);
        sh_buf_release(&tail);
        if (rc)
            return rc;
        sh__filter_bind(s->q, s->check);
    }
    return sh__search_prep(s, "SELECT text FROM page WHERE id = ?1",
                           &s->text, "preparing the search");
}

/* The dossier's answer, asked once per search. */
static int dossier_answer(search *s, const char *id,
                          struct check_dossier **out)
{
    if (table_grow(s))
        return sh__search_nomem(s);
    struct check_dossier *d = table_slot(s, id);
    if (!d->id) {
        sqlite3_stmt *st = s->dcheck;
        sqlite3_reset(st);
        sqlite3_bind_text(st, 1, id, -1, SQLITE_TRANSIENT);
        int step = sqlite3_step(st);
        if (step != SQLITE_ROW && step != SQLITE_DONE)
            return sh__search_fail(s, "checking a dossier");
        const char *ag = step == SQLITE_ROW
                             ? (const char *)sqlite3_column_text(st, 0)
                             : NULL;
        const char *pdf = step == SQLITE_ROW
                              ? (const char *)sqlite3_column_text(st, 1)
                              : NULL;
        *d = (struct check_dossier){.id = sh_strdup(id),
                                    .kept = step == SQLITE_ROW,
                                    .agency = ag ? sh_strdup(ag) : NULL,
                                    .pdf = sh_strdup(pdf ? pdf : "")};
        if (!d->id || !d->pdf || (ag && !d->agency)) {
            free(d->id);
            free(d->agency);
            free(d->pdf);
            *d = (struct check_dossier){0};
            return sh__search_nomem(s);
        }
        s->ck.n++;
    }
    *out = d;
    return SH_OK;
}

/* Called with each page the check reads; tests set it. */
void (*sh__check_hook)(int64_t id);

int sh__check_page(search *s, int64_t id, sh__checked *out)
{
    if (sh__check_hook)
        sh__check_hook(id);
    sqlite3_stmt *st = s->check;
    sqlite3_reset(st);
    sqlite3_bind_int64(st, 1, id);
    int step = sqlite3_step(st);
    if (step != SQLITE_ROW && step != SQLITE_DONE) {
        sh__search_fail(s, "checking a page");
        return -1;
    }
    if (step == SQLITE_DONE)
        return 0;
    out->dossier = (const char *)sqlite3_column_text(st, 0);
    out->page = sqlite3_column_int(st, 1);
    if (!out->dossier)
        return 0;
    if (!s->ck.by_dossier) {
        out->agency = (const char *)sqlite3_column_text(st, 2);
        out->pdf = (const char *)sqlite3_column_text(st, 3);
        return 1;
    }
    struct check_dossier *d = NULL;
    if (dossier_answer(s, out->dossier, &d))
        return -1;
    out->agency = d->agency;
    out->pdf = d->pdf;
    return d->kept;
}

/* ---- counting without reading ---- */

#define HIDDEN_MAX (1 << 20)    /* more hidden pages: check each match  */

/* Read the catalog's hidden pages into a sorted array: 1, or -1 when
   they cannot be had (a catalog made before the indexes: the prepare
   fails; more than HIDDEN_MAX; out of memory; an error). */
static int hidden_read(search *s, int64_t **out, size_t *n)
{
    sqlite3_stmt *st = NULL;
    *out = NULL;
    *n = 0;
    if (sqlite3_prepare_v2(
            s->db,
            "SELECT id FROM page INDEXED BY page_unplaced "
            "WHERE pageno IS NULL UNION ALL "
            "SELECT p.id FROM dossier d INDEXED BY dossier_open "
            "JOIN page p ON p.dossier = d.id AND p.pageno IS NOT NULL "
            "WHERE d.state <> 'done' LIMIT ?1",
            -1, &st, NULL) != SQLITE_OK) {
        sqlite3_finalize(st);
        return -1;
    }
    sqlite3_bind_int(st, 1, HIDDEN_MAX + 1);
    int64_t *v = NULL;
    size_t cap = 0;
    int step;
    while ((step = sqlite3_step(st)) == SQLITE_ROW) {
        if (*n == cap) {
            size_t c = cap ? 2 * cap : 256;
            int64_t *w = c <= HIDDEN_MAX ? realloc(v, c * sizeof *v) : NULL;
            if (!w)
                break;
            v = w;
            cap = c;
        }
        v[(*n)++] = sqlite3_column_int64(st, 0);
    }
    sqlite3_finalize(st);
    if (step != SQLITE_DONE) {
        free(v);
        *n = 0;
        return -1;
    }
    if (*n > 1)
        qsort(v, *n, sizeof *v, sh__id_cmp);
    *out = v;
    return 1;
}

int sh__check_counts(search *s)
{
    if (s->use_ids)
        return 1;
    if (sh__has_filter(s->q) && !s->filter_all)
        return 0;
    if (!s->ck.have_hidden) {
        const int64_t *ids = NULL;
        size_t n = 0;
        int have = sh__memo_hidden_get(s, &ids, &n);
        if (!have) {
            int64_t *mine;
            have = hidden_read(s, &mine, &n);
            if (sh__memo_hidden_put(s, mine, n, have))
                ids = mine;
            else
                ids = s->ck.own_hidden = mine;
        }
        s->ck.hidden = ids;
        s->ck.nhidden = n;
        s->ck.have_hidden = have;
    }
    return s->ck.have_hidden > 0;
}

int sh__check_count(search *s, int64_t id)
{
    if (!sh__check_counts(s))
        return -1;
    if (s->use_ids)
        return 1;
    return !(s->ck.nhidden && bsearch(&id, s->ck.hidden, s->ck.nhidden,
                                      sizeof id, sh__id_cmp));
}

int sh__check_text(search *s, int64_t id, const char **text)
{
    sqlite3_reset(s->text);
    sqlite3_bind_int64(s->text, 1, id);
    int step = sqlite3_step(s->text);
    if (step != SQLITE_ROW && step != SQLITE_DONE)
        return sh__search_fail(s, "reading a page's text");
    *text = step == SQLITE_ROW
                ? (const char *)sqlite3_column_text(s->text, 0)
                : NULL;
    return SH_OK;
}

void sh__check_close(search *s)
{
    sqlite3_finalize(s->check);
    sqlite3_finalize(s->dcheck);
    sqlite3_finalize(s->text);
    s->check = s->dcheck = s->text = NULL;
    table_free(s);
    free(s->ck.own_hidden);
    s->ck.own_hidden = NULL;
    s->ck.hidden = NULL;
    s->ck.nhidden = 0;
    s->ck.have_hidden = 0;
}
