/*
 * api.c — the JSON API (same session cookie as the pages; 401 JSON
 * without one).
 *
 *   sh__web_api_search   GET /api/search?q=&limit=&offset=&agency=&year=
 *                        &prefix=&type=&code=&from=&to=
 *   sh__web_api_page     GET /api/page/ID/N?q=: page size in OCR px and
 *                        the boxes of the hit words
 *
 * Method.  The same parameters, access rule and journal as the pages
 * (access.c); the documents of the hits come in one statement
 * (sh__web_hit_docs): a page's word boxes are journalled as "words" (they are its
 * text), a refused one too; text from the catalog goes through
 * sh__web_jstr, so a string that is not valid UTF-8 never makes the
 * answer fail.
 */
#include "web_int.h"

#include <stdlib.h>
#include <string.h>

/* A hit's document as sh_doc_json writes it: {"ordinal", "first_page",
   "last_page", "type", "code", "issued", "organ", "subject", "origin"},
   or null. */
static json_t *doc_json(const sh_docinfo *d)
{
    if (!d || !d->ordinal)
        return json_null();
    json_t *o = json_pack("{sisisi}", "ordinal", d->ordinal, "first_page",
                          d->first_page, "last_page", d->last_page);
    const char *k[] = {"type", "code", "issued", "organ", "subject",
                       "origin"};
    const char *v[] = {d->type_name, d->code, d->issued_date, d->organ_name,
                       d->subject, d->origin};
    for (int i = 0; o && i < 6; i++)
        json_object_set_new(o, k[i], v[i] ? sh__web_jstr(v[i]) : json_null());
    return o ? o : json_null();
}

enum MHD_Result sh__web_api_search(sh__web_ctx *c)
{
    sh__web_sparams p;
    const char *why;
    sh_hits hits = {0};
    if (sh__web_parse_search(c, &p, &why)) {
        free(p.q);
        return sh__web_json_error(c, 400, "bad_request", why);
    }
    int rc = p.q[0] ? sh__web_run_search(c, &p, &hits) : SH_OK;
    if (rc) {
        sh_hits_release(&hits);
        free(p.q);
        return sh__web_unavailable(c, 1, rc == SH_ETIMEOUT
                                             ? SH__WEB_TOO_BROAD_EN
                                             : "search or audit journal "
                                               "unavailable");
    }
    sh_docinfo *docs = NULL;
    if (sh__web_hit_docs(c, &hits, &docs))
        sh_log(SH_LOG_WARN, "search: the hits' documents not shown");
    json_t *arr = json_array();
    for (int i = 0; arr && i < hits.n; i++) {
        sh_hit *h = &hits.h[i];
        sh_buf url = {0};
        sh_buf_adds(&url, "/pdf/");
        sh_web_url_encode(&url, h->dossier);
        if (h->shard > 0)       /* shards served together (shards.c) */
            sh_buf_printf(&url, "?shard=%d", h->shard);
        sh_buf_printf(&url, "#page=%d", h->page);
        json_t *o =
            json_pack("{s:o, s:i, s:o, s:f, s:b, s:o, s:o}", "dossier",
                      sh__web_jstr(h->dossier), "page", h->page, "snippet",
                      sh__web_jstr(h->snippet ? h->snippet : ""), "score",
                      h->score, "exact", h->exact, "agency",
                      sh__web_jstr(h->agency), "pdf", sh__web_jstr(url.data));
        sh_buf_release(&url);
        if (o && c->srv->nwh > 1)
            json_object_set_new(o, "shard", json_integer(h->shard));
        if (o)
            json_object_set_new(o, "document",
                                doc_json(docs ? &docs[i] : NULL));
        if (!o || json_array_append_new(arr, o)) {
            json_decref(arr);
            arr = NULL;
        }
    }
    json_t *top =
        arr ? json_pack("{s:o, s:i, s:b, s:i, s:i, s:b, s:o}", "query",
                        sh__web_jstr(p.q), "total", hits.total, "approx",
                        hits.approx, "offset", p.offset, "limit", p.limit,
                        "query_truncated", p.qcut, "hits", arr)
            : NULL;
    sh__web_hit_docs_free(&docs, hits.n);
    sh_hits_release(&hits);
    free(p.q);
    return sh__web_reply_json(c, 200, top);
}

enum MHD_Result sh__web_api_page(sh__web_ctx *c, const char *rest)
{
    char id[SH_WEB_ID_MAX + 1];
    int pageno;
    sh__web_pagerow r;
    if (sh__web_parse_id_page(rest, "", id, sizeof id, &pageno))
        return sh__web_denied(c, "words", rest, 0, 1);
    int f = sh__web_find_page(c, id, pageno, &r);
    if (f < 0)
        return sh__web_unavailable(c, 1, "catalog unavailable");
    if (!f)
        return sh__web_denied(c, "words", id, pageno, 1);
    if (sh__web_audit(c, "words", NULL, -1, id, pageno, 200)) {
        sh__web_pagerow_release(&r);
        return sh__web_unavailable(c, 1, "audit journal unavailable");
    }
    char *q = sh_web_utf8_clean(sh__web_arg(c, "q"), SH_QUERY_MAX_BYTES, NULL);
    json_t *boxes = NULL;
    sh_err err = {0};
    if (sh_web_word_boxes(r.words, q ? q : "", &boxes, &err)) {
        sh_log(SH_LOG_WARN, "%s page %d: %s", id, pageno, err.msg);
        boxes = json_array();
    }
    sh_buf img = {0};
    sh_buf_adds(&img, "/page/");
    sh_web_url_encode(&img, id);
    sh_buf_printf(&img, "/%d.png", pageno);
    json_t *o = json_pack(
        "{s:o, s:i, s:i, s:o, s:i, s:i, s:o, s:o, s:o}", "dossier",
        sh__web_jstr(id), "page", pageno, "pages", r.pages, "agency",
        sh__web_jstr(r.agency), "ocr_w", r.g.ocr_w, "ocr_h", r.g.ocr_h, "image",
        sh__web_jstr(img.data), "query", sh__web_jstr(q ? q : ""), "boxes",
        boxes ? boxes : json_array());
    sh_buf_release(&img);
    free(q);
    sh__web_pagerow_release(&r);
    return sh__web_reply_json(c, 200, o);
}
