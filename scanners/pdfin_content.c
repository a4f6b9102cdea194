/*
 * pdfin_content.c — a scanner PDF page's content stream, interpreted just
 * enough to know which images it draws and where.
 *
 *   sh__pdf_page_scan   the page's content streams, decoded and joined,
 *                       then interpreted into c->d
 *
 * Method.  A lexer over the decoded bytes (numbers, names with #xx
 * escapes, strings, hex strings, arrays and dictionaries skipped as
 * operands) feeds an interpreter of a handful of operators: q/Q and cm
 * for the current transformation matrix (a stack of 64 levels, deeper
 * ones counted), Do for XObjects (images recorded with their matrix;
 * forms followed with their /Matrix and /Resources, with a nesting and
 * loop guard and their decoded bytes counted against the page's 64 MiB),
 * BI..EI inline images skipped (recorded as drawn, without a stream), and
 * Tj/TJ/'/" with the text rendering mode (Tr) to tell an invisible OCR
 * layer (modes 3 and 7) from visible text, and the path-painting and
 * shading operators counted (vector drawing: what a page printed to PDF
 * shows besides text).  Everything else is skipped.
 */
#include "pdfin_int.h"

#include <stdlib.h>

#define CONTENT_MAX ((size_t)64 << 20) /* decoded content per page       */
#define DO_MAX 20000                   /* XObjects invoked per page      */
#define GSTACK_MAX 64                  /* q levels kept (deeper: counted) */

/* ------------------------------------------------------------------ */
/* content streams                                                     */
/* ------------------------------------------------------------------ */

enum {
    TK_EOF, TK_NUM, TK_NAME, TK_OPERAND, TK_AOPEN, TK_ACLOSE, TK_DOPEN,
    TK_DCLOSE, TK_OP, TK_BAD
};

typedef struct lexer {
    const uint8_t *p, *e;
} lexer;

typedef struct token {
    int t;
    double num;
    char text[128];   /* names (decoded, no slash) and operators */
} token;

static int parse_num(const uint8_t *s, size_t n, double *v)
{
    size_t i = 0;
    int neg = 0, digits = 0;
    double x = 0;
    if (i < n && (s[i] == '+' || s[i] == '-'))
        neg = s[i++] == '-';
    for (; i < n && s[i] >= '0' && s[i] <= '9'; i++, digits++)
        if (x < 1e15)
            x = x * 10 + (s[i] - '0');
    if (i < n && s[i] == '.') {
        double scale = 0.1;
        for (i++; i < n && s[i] >= '0' && s[i] <= '9'; i++, digits++) {
            x += (s[i] - '0') * scale;
            scale *= 0.1;
        }
    }
    if (i != n || !digits)
        return 0;
    *v = neg ? -x : x;
    return 1;
}

static void lex_next(lexer *L, token *tk)
{
    const uint8_t *p = L->p, *e = L->e;
    tk->text[0] = 0;
    for (;;) {
        while (p < e && is_ws(*p))
            p++;
        if (p < e && *p == '%') {
            while (p < e && *p != '\n' && *p != '\r')
                p++;
            continue;
        }
        break;
    }
    if (p >= e) {
        tk->t = TK_EOF;
        L->p = e;
        return;
    }
    uint8_t ch = *p;
    if (ch == '/') {
        size_t k = 0;
        for (p++; p < e && !is_ws(*p) && !is_delim(*p); p++) {
            uint8_t v = *p;
            if (v == '#' && e - p > 2 && hexval(p[1]) >= 0 &&
                hexval(p[2]) >= 0) {
                v = (uint8_t)(hexval(p[1]) << 4 | hexval(p[2]));
                p += 2;
            }
            if (k + 1 < sizeof tk->text)
                tk->text[k++] = (char)v;
        }
        tk->text[k] = 0;
        tk->t = TK_NAME;
    } else if (ch == '(') {
        int depth = 1;
        for (p++; p < e && depth; p++) {
            if (*p == '\\')
                p += p + 1 < e;
            else if (*p == '(')
                depth++;
            else if (*p == ')')
                depth--;
        }
        tk->t = TK_OPERAND;
    } else if (ch == '<') {
        if (e - p > 1 && p[1] == '<') {
            p += 2;
            tk->t = TK_DOPEN;
        } else {
            while (p < e && *p != '>')
                p++;
            p += p < e;
            tk->t = TK_OPERAND;
        }
    } else if (ch == '>') {
        int two = e - p > 1 && p[1] == '>';
        p += two ? 2 : 1;
        tk->t = two ? TK_DCLOSE : TK_BAD;
    } else if (ch == '[' || ch == ']') {
        p++;
        tk->t = ch == '[' ? TK_AOPEN : TK_ACLOSE;
    } else if (is_delim(ch)) {
        p++;
        tk->t = TK_BAD;
    } else {
        const uint8_t *s = p;
        while (p < e && !is_ws(*p) && !is_delim(*p))
            p++;
        size_t n = (size_t)(p - s);
        if (parse_num(s, n, &tk->num)) {
            tk->t = TK_NUM;
        } else {
            size_t k = n < sizeof tk->text ? n : sizeof tk->text - 1;
            memcpy(tk->text, s, k);
            tk->text[k] = 0;
            tk->t = !strcmp(tk->text, "true") || !strcmp(tk->text, "false") ||
                            !strcmp(tk->text, "null")
                        ? TK_OPERAND
                        : TK_OP;
        }
    }
    L->p = p;
}

/* new = m × ctm (PDF row-vector convention). */
static void mat_mul(const double m[6], const double c[6], double out[6])
{
    double r[6] = {
        m[0] * c[0] + m[1] * c[2],        m[0] * c[1] + m[1] * c[3],
        m[2] * c[0] + m[3] * c[2],        m[2] * c[1] + m[3] * c[3],
        m[4] * c[0] + m[5] * c[2] + c[4], m[4] * c[1] + m[5] * c[3] + c[5],
    };
    memcpy(out, r, sizeof r);
}

typedef struct gstate {
    double ctm[6];
    int tr;   /* text rendering mode */
} gstate;

static int add_drawn(pg *c, qpdf_oh oh, const double m[6])
{
    if (c->nd == DRAWN_MAX)
        return PERR(c, SH_EINPUT,
                    "the page draws more than %d images: not a scan",
                    DRAWN_MAX);
    if (c->nd == c->capd) {
        size_t nc = c->capd ? c->capd * 2 : 8;
        drawn *nd = realloc(c->d, nc * sizeof *nd);
        if (!nd)
            return PERR(c, SH_ENOMEM, "out of memory");
        c->d = nd;
        c->capd = nc;
    }
    c->d[c->nd].oh = oh;
    c->d[c->nd].id = oh ? qpdf_oh_get_object_id(c->q, oh) : 0;
    memcpy(c->d[c->nd].m, m, 6 * sizeof(double));
    c->nd++;
    return SH_OK;
}

/* After BI: the dictionary up to ID, then the data up to EI. */
static int skip_inline(pg *c, lexer *L, const gstate *g)
{
    token tk;
    long len = -1;
    int prev_len_key = 0;
    for (;;) {
        lex_next(L, &tk);
        if (tk.t == TK_EOF)
            return SH_OK;
        if (tk.t == TK_OP && !strcmp(tk.text, "ID"))
            break;
        if (prev_len_key && tk.t == TK_NUM && tk.num >= 0 && tk.num < 1e15)
            len = (long)tk.num;
        prev_len_key = tk.t == TK_NAME &&
                       (!strcmp(tk.text, "L") || !strcmp(tk.text, "Length"));
    }
    const uint8_t *p = L->p, *e = L->e;
    if (p < e && is_ws(*p))
        p++;
    const uint8_t *start = p;
    if (len >= 0 && len <= e - p)
        p += len;
    while (e - p >= 2 &&
           !(p[0] == 'E' && p[1] == 'I' && (p == start || is_ws(p[-1])) &&
             (e - p == 2 || is_ws(p[2]) || is_delim(p[2]))))
        p++;
    L->p = e - p >= 2 ? p + 2 : e;
    c->inline_imgs++;
    return add_drawn(c, 0, g->ctm);
}

static int run_content(pg *c, const uint8_t *data, size_t n, qpdf_oh res,
                       const gstate *g0);

/* Do /name: record an image; run a form. */
static int do_xobject(pg *c, qpdf_oh res, const char *name, const gstate *g)
{
    qpdf_data q = c->q;
    if (++c->ndo > DO_MAX)
        return PERR(c, SH_ELIMIT, "the page invokes more than %d XObjects",
                    DO_MAX);
    char key[sizeof ((token *)0)->text + 1], sub[32];
    snprintf(key, sizeof key, "/%s", name);
    qpdf_oh xo = dget(q, dget(q, res, "/XObject"), key);
    if (!xo || !qpdf_oh_is_stream(q, xo)) {
        sh_log(SH_LOG_DEBUG, "%s: page %d: XObject /%s is missing",
               c->s->path, c->n + 1, name);
        return qpdf_check(c, "XObject");
    }
    dname(q, xo, "/Subtype", sub, sizeof sub);
    if (!strcmp(sub, "Image"))
        return add_drawn(c, xo, g->ctm);
    if (strcmp(sub, "Form"))
        return SH_OK;

    int id = qpdf_oh_get_object_id(q, xo);
    for (int i = 0; i < c->nforms; i++)
        if (id && c->form_ids[i] == id) {
            sh_log(SH_LOG_DEBUG, "%s: page %d: form /%s draws itself",
                   c->s->path, c->n + 1, name);
            return SH_OK;
        }
    if (c->nforms == FORM_DEPTH_MAX) {
        sh_log(SH_LOG_DEBUG, "%s: page %d: forms nested over %d deep",
               c->s->path, c->n + 1, FORM_DEPTH_MAX);
        return SH_OK;
    }
    gstate g2 = *g;
    qpdf_oh mo = dget(q, xo, "/Matrix");
    if (mo && qpdf_oh_is_array(q, mo) &&
        qpdf_oh_get_array_n_items(q, mo) == 6) {
        double m[6];
        int ok = 1;
        for (int i = 0; i < 6; i++)
            ok &= num_of(q, qpdf_oh_get_array_item(q, mo, i), &m[i]);
        if (ok)
            mat_mul(m, g->ctm, g2.ctm);
    }
    qpdf_oh fres = dget(q, xo, "/Resources");
    char what[160];
    snprintf(what, sizeof what, "form XObject /%s", name);
    uint8_t *buf = NULL;
    size_t nb = 0;
    int rc = sh__pdf_stream_bytes(c, xo, 0, CONTENT_MAX - c->content_bytes,
                                  &buf, &nb, what);
    if (rc)
        return rc;
    c->content_bytes += nb;
    c->form_ids[c->nforms++] = id;
    rc = run_content(c, buf, nb, fres ? fres : res, &g2);
    c->nforms--;
    free(buf);
    return rc;
}

static int run_content(pg *c, const uint8_t *data, size_t n, qpdf_oh res,
                       const gstate *g0)
{
    gstate st[GSTACK_MAX + 1];
    int sp = 0, over = 0, depth = 0, nnum = 0, have_name = 0;
    double nums[6] = {0};
    char name[sizeof ((token *)0)->text];
    lexer L = {data, data + n};
    token tk;
    st[0] = *g0;
    name[0] = 0;
    for (;;) {
        lex_next(&L, &tk);
        if (tk.t == TK_EOF)
            break;
        switch (tk.t) {
        case TK_NUM:
            if (!depth) {
                memmove(nums, nums + 1, 5 * sizeof *nums);
                nums[5] = tk.num;
                nnum++;
                have_name = 0;
            }
            continue;
        case TK_NAME:
            if (!depth) {
                memcpy(name, tk.text, sizeof name);
                have_name = 1;
                nnum = 0;
            }
            continue;
        case TK_OPERAND:
            if (!depth)
                nnum = have_name = 0;
            continue;
        case TK_AOPEN:
        case TK_DOPEN:
            depth++;
            continue;
        case TK_ACLOSE:
        case TK_DCLOSE:
            if (depth && !--depth)
                nnum = have_name = 0;
            continue;
        case TK_BAD:
            continue;
        default:
            break;
        }
        /* an operator */
        depth = 0;
        const char *op = tk.text;
        gstate *g = &st[sp];
        int rc = SH_OK;
        if (!strcmp(op, "q")) {
            if (sp < GSTACK_MAX) {
                st[sp + 1] = st[sp];
                sp++;
            } else {
                over++;
            }
        } else if (!strcmp(op, "Q")) {
            if (over)
                over--;
            else if (sp > 0)
                sp--;
        } else if (!strcmp(op, "cm")) {
            int ok = nnum >= 6;
            for (int i = 0; ok && i < 6; i++)
                ok = isfinite(nums[i]) && fabs(nums[i]) < 1e12;
            if (ok)
                mat_mul(nums, g->ctm, g->ctm);
        } else if (!strcmp(op, "Tr")) {
            if (nnum >= 1 && nums[5] >= 0 && nums[5] <= 7)
                g->tr = (int)nums[5];
        } else if (!strcmp(op, "Tj") || !strcmp(op, "TJ") ||
                   !strcmp(op, "'") || !strcmp(op, "\"")) {
            c->text = 1;
            if (g->tr != 3 && g->tr != 7)
                c->visible_text = 1;
        } else if (!strcmp(op, "f") || !strcmp(op, "F") ||
                   !strcmp(op, "f*") || !strcmp(op, "S") ||
                   !strcmp(op, "s") || !strcmp(op, "B") ||
                   !strcmp(op, "B*") || !strcmp(op, "b") ||
                   !strcmp(op, "b*") || !strcmp(op, "sh")) {
            c->paints++;
        } else if (!strcmp(op, "Do")) {
            if (have_name)
                rc = do_xobject(c, res, name, g);
        } else if (!strcmp(op, "BI")) {
            rc = skip_inline(c, &L, g);
        }
        if (rc)
            return rc;
        nnum = have_name = 0;
    }
    return SH_OK;
}

/* The page's content streams, decoded and joined, then interpreted. */
int sh__pdf_page_scan(pg *c, qpdf_oh page, qpdf_oh res)
{
    qpdf_data q = c->q;
    qpdf_oh co = dget(q, page, "/Contents");
    int rc = SH_OK;
    uint8_t *all = NULL, *part = NULL;
    size_t nall = 0;
    if (!co)
        return SH_OK;
    int arr = qpdf_oh_is_array(q, co);
    int cnt = arr ? qpdf_oh_get_array_n_items(q, co) : 1;
    for (int i = 0; i < cnt; i++) {
        qpdf_oh st = arr ? qpdf_oh_get_array_item(q, co, i) : co;
        if (!qpdf_oh_is_stream(q, st))
            continue;
        size_t np = 0;
        rc = sh__pdf_stream_bytes(c, st, 0, CONTENT_MAX - nall, &part, &np,
                                  "content stream");
        if (rc)
            goto out;
        if (np + 1 > CONTENT_MAX - nall) {
            rc = PERR(c, SH_ELIMIT, "content stream: more than %zu MiB",
                      CONTENT_MAX >> 20);
            goto out;
        }
        uint8_t *na = realloc(all, nall + np + 1);
        if (!na) {
            rc = PERR(c, SH_ENOMEM, "out of memory");
            goto out;
        }
        all = na;
        if (np)
            memcpy(all + nall, part, np);
        nall += np;
        all[nall++] = '\n';   /* streams end tokens */
        free(part);
        part = NULL;
    }
    if (c->why[0]) {
        sh_log(SH_LOG_DEBUG, "%s: page %d: content stream: %s", c->s->path,
               c->n + 1, c->why);
        c->why[0] = 0;
    }
    rc = qpdf_check(c, "content stream");
    if (rc)
        goto out;
    c->content_bytes = nall;
    gstate g0 = {{1, 0, 0, 1, 0, 0}, 0};
    rc = run_content(c, all ? all : (const uint8_t *)"", nall, res, &g0);
    if (!rc)
        rc = qpdf_check(c, "page resources");
out:
    free(all);
    free(part);
    return rc;
}
