/*
 * stream.c — cut one stream of scanned pages into dossiers at its
 * separator sheets (see stream.h for the rules).
 *
 *   sh_stream_cut    pages (kind, id, blank) → groups + problems
 *   sh_cut_release
 *
 * Method.  One pass in stream order with the group being filled ("cur").
 * A separator first gives back a blank page just before it (its blank
 * front) and closes cur (an opened dossier left without pages is an
 * "empty" problem), then opens the next group: a dossier when its id is
 * valid, new in the stream and not taken, else an unassigned group with
 * the reason.  The page after a separator is dropped when blank (its
 * back).  Nothing here reads files: run_stream.c gives the pages and
 * turns the groups into dossiers.
 */
#include "stream.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int add_group(sh_cut *c, const char *id, const char *why, int sep)
{
    sh_sgroup *g = realloc(c->g, (size_t)(c->ng + 1) * sizeof *g);
    if (!g)
        return SH_ENOMEM;
    c->g = g;
    g = &c->g[c->ng];
    memset(g, 0, sizeof *g);
    if (id && !(g->id = strdup(id)))
        return SH_ENOMEM;
    g->why = why;
    g->sep = sep;
    c->ng++;
    return SH_OK;
}

static sh_sproblem *add_problem(sh_cut *c, int page, const char *what)
{
    sh_sproblem *p = realloc(c->p, (size_t)(c->np + 1) * sizeof *p);
    if (!p)
        return NULL;
    c->p = p;
    p = &c->p[c->np++];
    memset(p, 0, sizeof *p);
    p->page = page;
    p->what = what;
    return p;
}

/* The page index where id's separator was first seen, or -1. */
static int seen_at(const sh_cut *c, const char *id)
{
    for (int i = 0; i < c->ng; i++)
        if (c->g[i].id && !strcmp(c->g[i].id, id))
            return c->g[i].sep;
    return -1;
}

int sh_stream_cut(const sh_spage *pages, int n, sh_id_taken_fn taken,
                  void *ctx, sh_cut *out, sh_err *err)
{
    memset(out, 0, sizeof *out);
    if (n < 0 || (n && !pages))
        return sh_errf(err, SH_EUSAGE, "stream: no pages");
    sh_cut c = {0};
    int rc = SH_OK;
    if (!(c.group = malloc((size_t)n * sizeof *c.group + 1)))
        return sh_errf(err, SH_ENOMEM, "out of memory");
    int cur = -1, after_sep = 0;
    sh_sproblem *p;
    for (int i = 0; i < n && !rc; i++) {
        const sh_spage *pg = &pages[i];
        c.group[i] = -1;
        if (pg->kind == SH_SEP_NONE) {
            if (after_sep && pg->blank == 1) {
                after_sep = 0;           /* the separator's back */
                continue;
            }
            after_sep = 0;
            if (cur < 0) {
                if ((rc = add_group(&c, NULL, "before the first separator "
                                    "sheet", -1)))
                    break;
                cur = c.ng - 1;
                if (!(p = add_problem(&c, i, "before-first"))) {
                    rc = SH_ENOMEM;
                    break;
                }
                snprintf(p->msg, sizeof p->msg, "pages before the first "
                         "separator sheet: kept unassigned (no dossier)");
            }
            c.group[i] = cur;
            c.g[cur].npages++;
            continue;
        }
        /* A separator (or what looks like one). */
        if (i > 0 && !after_sep && pages[i - 1].kind == SH_SEP_NONE &&
            pages[i - 1].blank == 1 && c.group[i - 1] >= 0) {
            c.g[c.group[i - 1]].npages--;    /* its blank front */
            c.group[i - 1] = -1;
        }
        after_sep = 1;
        if (cur >= 0 && c.g[cur].id && c.g[cur].npages == 0) {
            if (!(p = add_problem(&c, c.g[cur].sep, "empty"))) {
                rc = SH_ENOMEM;
                break;
            }
            snprintf(p->msg, sizeof p->msg, "two separator sheets in a "
                     "row: dossier %s has no pages (not made)", c.g[cur].id);
        }
        const char *why = NULL, *what = NULL;
        char where[160] = "";
        if (pg->kind == SH_SEP_UNREADABLE) {
            what = "unreadable";
            why = "after a sheet that looks like a separator but whose "
                  "code cannot be read";
        } else if (!sh_sep_id_check(pg->id, &why)) {
            what = "bad-id";
            snprintf(where, sizeof where, "%s", why);
            why = "after a separator whose id is not a valid folder name";
        } else if (seen_at(&c, pg->id) >= 0) {
            what = "twice";
            why = "after a separator scanned twice in this stream";
        } else if (taken && taken(pg->id, where, sizeof where, ctx)) {
            what = "taken";
            why = "after a separator whose id already names other content";
        }
        if (what) {
            if (!(p = add_problem(&c, i, what))) {
                rc = SH_ENOMEM;
                break;
            }
            if (!strcmp(what, "unreadable"))
                snprintf(p->msg, sizeof p->msg, "this sheet looks like a "
                         "separator but neither of its codes can be read; "
                         "the pages after it are kept unassigned");
            else if (!strcmp(what, "bad-id"))
                snprintf(p->msg, sizeof p->msg, "separator id '%.120s' is "
                         "not a valid folder name (%s); the pages after it "
                         "are kept unassigned", pg->id, where);
            else if (!strcmp(what, "twice"))
                snprintf(p->msg, sizeof p->msg, "separator of dossier "
                         "%.120s is in this stream twice (first at stream "
                         "page %d); the pages after this one are kept "
                         "unassigned", pg->id, seen_at(&c, pg->id) + 1);
            else
                snprintf(p->msg, sizeof p->msg, "dossier %.120s already "
                         "holds other content (%.150s); the pages after "
                         "this separator are kept unassigned", pg->id,
                         where);
        }
        if ((rc = add_group(&c, what ? NULL : pg->id, why, i)))
            break;
        cur = c.ng - 1;
    }
    if (!rc && cur >= 0 && c.g[cur].id && c.g[cur].npages == 0) {
        if (!(p = add_problem(&c, c.g[cur].sep, "empty")))
            rc = SH_ENOMEM;
        else
            snprintf(p->msg, sizeof p->msg, "separator sheet at the end of "
                     "the stream: dossier %s has no pages (not made)",
                     c.g[cur].id);
    }
    if (rc) {
        sh_cut_release(&c);
        return sh_errf(err, rc, "out of memory");
    }
    *out = c;
    return SH_OK;
}

void sh_cut_release(sh_cut *c)
{
    if (!c)
        return;
    for (int i = 0; i < c->ng; i++)
        free(c->g[i].id);
    free(c->g);
    free(c->p);
    free(c->group);
    memset(c, 0, sizeof *c);
}
