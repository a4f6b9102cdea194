/*
 * readback.c — the text read-back check (see readback.h).
 *
 * Functions:
 *   sh_pdf_read_text       poppler-glib: open, poppler_page_get_text each
 *   sh_pdf_texts_free
 *   sh_text_check          map the OCR words, compare with the text
 *   sh_readback_new / _add_page / _check / _stats / _free
 *
 * Method.  Both texts become arrays of code points in NFC (libunistring),
 * cut into tokens at white space.  The token lists are sorted and walked
 * together to set aside the tokens both sides have; the characters of the
 * tokens left over are then sorted and walked the same way.  Equal
 * leftovers mean a different cut only; anything else is a real
 * difference, reported with the first OCR token (in OCR order) that holds
 * a missing character and the first text token that holds an extra one.
 * Everything is O(n log n) in the page's characters; a 400-word page
 * takes well under a millisecond, poppler's parse dominates.
 *
 * The OCR side is mapped exactly as pdf.c writes it (see readback.h),
 * with code of its own: a fault in the writer's mapping shows up as a
 * difference instead of being repeated on both sides.
 */
#include "readback.h"

#include <errno.h>
#include <fcntl.h>
#include <poppler.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <uninorm.h>
#include <unistr.h>

/* ------------------------------------------------------------------ */
/* extraction                                                         */
/* ------------------------------------------------------------------ */

void sh_pdf_texts_free(char ***texts, int npages)
{
    if (!texts || !*texts)
        return;
    for (int i = 0; i < npages; i++)
        free((*texts)[i]);
    free(*texts);
    *texts = NULL;
}

typedef struct mapping {
    void *p;
    size_t n;
} mapping;

static void unmap(gpointer data)
{
    mapping *m = data;
    munmap(m->p, m->n);
    free(m);
}

/* Rename the last "/OutputIntents" key of the file (the Catalog's: the
   writer puts the Catalog last) to "/OutputIntentX" in the private copy. */
static void hide_output_intents(uint8_t *b, size_t n)
{
    static const char key[] = "/OutputIntents";
    const size_t kl = sizeof key - 1;
    for (size_t i = n >= kl + 1 ? n - kl - 1 : 0; n > kl && i-- > 0;) {
        if (b[i] != '/' || memcmp(b + i, key, kl) != 0)
            continue;
        uint8_t c = b[i + kl];
        if (c == ' ' || c == '[' || c == '\n' || c == '\r' || c == '\t' ||
            c == '/' || c == '<') {
            b[i + kl - 1] = 'X';
            return;
        }
    }
}

/* The file as a copy-on-write mapping poppler reads from memory, with
   the OutputIntents hidden (see readback.h); NULL when it cannot be
   mapped (the caller falls back to reading the file as it is). */
static GBytes *map_for_poppler(const char *path)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return NULL;
    struct stat st;
    void *p = MAP_FAILED;
    if (fstat(fd, &st) == 0 && st.st_size > 0)
        p = mmap(NULL, (size_t)st.st_size, PROT_READ | PROT_WRITE,
                 MAP_PRIVATE, fd, 0);
    close(fd);
    if (p == MAP_FAILED)
        return NULL;
    mapping *m = malloc(sizeof *m);
    if (!m) {
        munmap(p, (size_t)st.st_size);
        return NULL;
    }
    m->p = p;
    m->n = (size_t)st.st_size;
    hide_output_intents(p, m->n);
    return g_bytes_new_with_free_func(p, m->n, unmap, m);
}

int sh_pdf_read_text(const char *path, int *npages, char ***texts,
                     sh_err *err)
{
    if (npages)
        *npages = 0;
    if (texts)
        *texts = NULL;
    if (!path || !npages || !texts)
        return sh_errf(err, SH_EUSAGE, "sh_pdf_read_text: NULL argument");

    int rc = SH_OK, n = 0;
    char **t = NULL;
    GError *ge = NULL;
    PopplerDocument *doc = NULL;
    char *abs = NULL, *uri = NULL;
    GBytes *bytes = map_for_poppler(path);
    if (bytes) {
        doc = poppler_document_new_from_bytes(bytes, NULL, &ge);
    } else {
        abs = realpath(path, NULL);
        uri = abs ? g_filename_to_uri(abs, NULL, &ge) : NULL;
        if (!uri) {
            rc = sh_errf(err, SH_EINPUT, "%s: cannot read the PDF back: %s",
                         path, ge ? ge->message : strerror(errno));
            goto out;
        }
        doc = poppler_document_new_from_file(uri, NULL, &ge);
    }
    if (!doc) {
        rc = sh_errf(err, SH_EINPUT, "%s: poppler cannot open the PDF: %s",
                     path, ge ? ge->message : "unknown error");
        goto out;
    }
    n = poppler_document_get_n_pages(doc);
    t = calloc(n > 0 ? (size_t)n : 1, sizeof *t);
    if (!t) {
        rc = sh_errf(err, SH_ENOMEM, "%s: out of memory", path);
        goto out;
    }
    for (int i = 0; i < n; i++) {
        PopplerPage *pg = poppler_document_get_page(doc, i);
        char *s = pg ? poppler_page_get_text(pg) : NULL;
        t[i] = strdup(s ? s : "");
        g_free(s);
        if (pg)
            g_object_unref(pg);
        if (!t[i]) {
            rc = sh_errf(err, SH_ENOMEM, "%s: out of memory", path);
            goto out;
        }
    }
out:
    if (doc)
        g_object_unref(doc);
    if (bytes)
        g_bytes_unref(bytes);
    if (ge)
        g_error_free(ge);
    g_free(uri);
    free(abs);
    if (rc) {
        sh_pdf_texts_free(&t, n);
        n = 0;
    }
    *npages = n;
    *texts = t;
    return rc;
}

/* ------------------------------------------------------------------ */
/* the OCR side                                                       */
/* ------------------------------------------------------------------ */

/* pdf.c's text_unit, restated: what the text layer holds for cp. */
static uint32_t writer_unit(uint32_t cp)
{
    if (cp < 0x20 || (cp >= 0x7F && cp < 0xA0) || cp == 0xFEFF ||
        cp >= 0xFFFE)
        return 0xFFFD;
    return cp;
}

/* Append the usable words of ws, mapped as the writer writes them, to b
   (UTF-8, one space between words).  Returns SH_OK or SH_ENOMEM. */
static int map_words(const sh_words *ws, sh_buf *b)
{
    if (!ws)
        return SH_OK;
    for (int i = 0; i < ws->n; i++) {
        const sh_word *w = &ws->w[i];
        if (!w->text || !w->text[0] || w->x1 <= w->x0 || w->y1 <= w->y0)
            continue;
        const uint8_t *s = (const uint8_t *)w->text;
        size_t n = strlen(w->text);
        for (size_t at = 0; at < n;) {
            ucs4_t uc;
            int k = u8_mbtoucr(&uc, s + at, n - at);
            if (k < 0) {               /* the writer: U+FFFD a bad byte */
                uc = 0xFFFD;
                k = 1;
            }
            at += (size_t)k;
            uint8_t u8[6];
            int m = u8_uctomb(u8, writer_unit(uc), (int)sizeof u8);
            if (m <= 0 || sh_buf_add(b, u8, (size_t)m) != SH_OK)
                return SH_ENOMEM;
        }
        if (sh_buf_add(b, " ", 1) != SH_OK)
            return SH_ENOMEM;
    }
    return SH_OK;
}

/* ------------------------------------------------------------------ */
/* comparison                                                         */
/* ------------------------------------------------------------------ */

typedef struct tok {
    const uint32_t *s;
    size_t n;
    int order;        /* position on its side */
    int left;         /* 1: not matched on the other side */
} tok;

typedef struct side {
    uint32_t *cp;     /* NFC code points */
    size_t n;
    tok *t;
    int nt;
} side;

static void side_release(side *sd)
{
    free(sd->cp);
    free(sd->t);
    memset(sd, 0, sizeof *sd);
}

static int is_space(uint32_t c)
{
    return (c >= 0x09 && c <= 0x0D) || c == 0x20 || c == 0x85 ||
           c == 0xA0 || c == 0x1680 || (c >= 0x2000 && c <= 0x200A) ||
           c == 0x2028 || c == 0x2029 || c == 0x202F || c == 0x205F ||
           c == 0x3000;
}

/* UTF-8 text → NFC code points → tokens.  Returns SH_OK or SH_ENOMEM. */
static int side_init(side *sd, const char *text)
{
    memset(sd, 0, sizeof *sd);
    size_t len = strlen(text), n32 = 0;
    if (len == 0)
        return SH_OK;
    uint32_t *u = malloc(len * sizeof *u);
    if (!u)
        return SH_ENOMEM;
    const uint8_t *s = (const uint8_t *)text;
    for (size_t at = 0; at < len;) {     /* bad bytes (never seen): FFFD */
        ucs4_t uc;
        int k = u8_mbtoucr(&uc, s + at, len - at);
        if (k < 0) {
            uc = 0xFFFD;
            k = 1;
        }
        u[n32++] = uc;
        at += (size_t)k;
    }
    size_t nn = 0;
    sd->cp = u32_normalize(UNINORM_NFC, u, n32, NULL, &nn);
    free(u);
    if (!sd->cp)
        return SH_ENOMEM;
    sd->n = nn;
    int cap = 0;
    for (size_t i = 0; i < nn;) {
        while (i < nn && is_space(sd->cp[i]))
            i++;
        if (i == nn)
            break;
        size_t j = i;
        while (j < nn && !is_space(sd->cp[j]))
            j++;
        if (sd->nt == cap) {
            cap = cap ? cap * 2 : 64;
            tok *nt = realloc(sd->t, (size_t)cap * sizeof *nt);
            if (!nt) {
                side_release(sd);
                return SH_ENOMEM;
            }
            sd->t = nt;
        }
        sd->t[sd->nt] = (tok){sd->cp + i, j - i, sd->nt, 1};
        sd->nt++;
        i = j;
    }
    return SH_OK;
}

static int tok_cmp(const tok *a, const tok *b)
{
    int c = u32_cmp2(a->s, a->n, b->s, b->n);
    return c ? c : (a->order > b->order) - (a->order < b->order);
}

static int tok_qcmp(const void *a, const void *b)
{
    return tok_cmp(*(tok *const *)a, *(tok *const *)b);
}

static int u32_qcmp(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return (x > y) - (x < y);
}

/* Sorted pointers to sd's tokens (NULL on OOM; non-NULL for 0). */
static tok **sorted_toks(side *sd)
{
    tok **v = malloc((size_t)(sd->nt ? sd->nt : 1) * sizeof *v);
    if (!v)
        return NULL;
    for (int i = 0; i < sd->nt; i++)
        v[i] = &sd->t[i];
    qsort(v, (size_t)sd->nt, sizeof *v, tok_qcmp);
    return v;
}

/* Sorted characters of sd's leftover tokens into *out, count *n. */
static int left_chars(const side *sd, uint32_t **out, size_t *n)
{
    size_t cnt = 0;
    for (int i = 0; i < sd->nt; i++)
        if (sd->t[i].left)
            cnt += sd->t[i].n;
    uint32_t *c = malloc((cnt ? cnt : 1) * sizeof *c);
    if (!c)
        return SH_ENOMEM;
    size_t k = 0;
    for (int i = 0; i < sd->nt; i++)
        if (sd->t[i].left) {
            memcpy(c + k, sd->t[i].s, sd->t[i].n * sizeof *c);
            k += sd->t[i].n;
        }
    qsort(c, cnt, sizeof *c, u32_qcmp);
    *out = c;
    *n = cnt;
    return SH_OK;
}

/* Walk two sorted arrays; keep in *only_a the values of a not matched in
   b (a multiset difference, still sorted).  Returns its length. */
static size_t msdiff(const uint32_t *a, size_t na, const uint32_t *b,
                     size_t nb, uint32_t *only_a)
{
    size_t i = 0, j = 0, k = 0;
    while (i < na) {
        if (j >= nb || a[i] < b[j])
            only_a[k++] = a[i++];
        else if (a[i] > b[j])
            j++;
        else
            i++, j++;
    }
    return k;
}

static int has_cp(const uint32_t *sorted, size_t n, uint32_t c)
{
    return bsearch(&c, sorted, n, sizeof c, u32_qcmp) != NULL;
}

/* Token quoted, about 60 bytes at most; controls shown as <U+XXXX> so a
   character an extractor turned invisible shows in the message. */
static void quote_tok(const tok *t, char *out, size_t cap)
{
    size_t k = 0;
    int cut = 0;
    out[k++] = '"';
    for (size_t i = 0; i < t->n; i++) {
        uint32_t c = t->s[i];
        char piece[16];
        int m;
        if (c < 0x20 || (c >= 0x7F && c < 0xA0))
            m = snprintf(piece, sizeof piece, "<U+%04X>", (unsigned)c);
        else
            m = u8_uctomb((uint8_t *)piece, c, (int)sizeof piece);
        if (m <= 0)
            continue;
        if (k + (size_t)m > 60 || k + (size_t)m + 5 > cap) {
            cut = 1;
            break;
        }
        memcpy(out + k, piece, (size_t)m);
        k += (size_t)m;
    }
    if (cut) {
        memcpy(out + k, "...", 3);
        k += 3;
    }
    out[k++] = '"';
    out[k] = 0;
}

/* The first token of sd (in its own order) left over and holding one of
   the characters in set[0..n); NULL if none. */
static const tok *first_with(const side *sd, const uint32_t *set, size_t n)
{
    for (int i = 0; i < sd->nt; i++) {
        const tok *t = &sd->t[i];
        if (!t->left)
            continue;
        for (size_t k = 0; k < t->n; k++)
            if (has_cp(set, n, t->s[k]))
                return t;
    }
    return NULL;
}

/* Compare the mapped OCR text with the extracted text. */
static int compare_texts(const char *want, const char *got, sh_textcheck *o)
{
    side a, b;
    tok **sa = NULL, **sb = NULL;
    uint32_t *ca = NULL, *cb = NULL, *ma = NULL, *mb = NULL;
    size_t nca = 0, ncb = 0, nma = 0, nmb = 0;
    int rc = side_init(&a, want);
    if (rc)
        return rc;
    if ((rc = side_init(&b, got))) {
        side_release(&a);
        return rc;
    }
    o->ocr_words = a.nt;
    o->pdf_words = b.nt;
    sa = sorted_toks(&a);
    sb = sorted_toks(&b);
    if (!sa || !sb) {
        rc = SH_ENOMEM;
        goto out;
    }
    /* tokens both sides have */
    for (int i = 0, j = 0; i < a.nt && j < b.nt;) {
        int c = u32_cmp2(sa[i]->s, sa[i]->n, sb[j]->s, sb[j]->n);
        if (c < 0) {
            i++;
        } else if (c > 0) {
            j++;
        } else {
            sa[i++]->left = 0;
            sb[j++]->left = 0;
        }
    }
    for (int i = 0; i < a.nt; i++)
        o->missing += a.t[i].left;
    for (int j = 0; j < b.nt; j++)
        o->extra += b.t[j].left;
    if (o->missing == 0 && o->extra == 0)
        goto out;

    /* the characters of what is left */
    if ((rc = left_chars(&a, &ca, &nca)) || (rc = left_chars(&b, &cb, &ncb)))
        goto out;
    ma = malloc((nca ? nca : 1) * sizeof *ma);
    mb = malloc((ncb ? ncb : 1) * sizeof *mb);
    if (!ma || !mb) {
        rc = SH_ENOMEM;
        goto out;
    }
    nma = msdiff(ca, nca, cb, ncb, ma);
    nmb = msdiff(cb, ncb, ca, nca, mb);
    o->missing_chars = (int)nma;
    o->extra_chars = (int)nmb;
    if (nma == 0 && nmb == 0)
        goto out;

    char qa[96] = "", qb[96] = "";
    const tok *ta = nma ? first_with(&a, ma, nma) : NULL;
    const tok *tb = nmb ? first_with(&b, mb, nmb) : NULL;
    if (ta)
        quote_tok(ta, qa, sizeof qa);
    if (tb)
        quote_tok(tb, qb, sizeof qb);
    if (ta && tb)
        snprintf(o->first_diff, sizeof o->first_diff, "OCR %s is not in the "
                 "PDF text (it has %s)", qa, qb);
    else if (ta)
        snprintf(o->first_diff, sizeof o->first_diff, "OCR %s is missing "
                 "from the PDF text", qa);
    else
        snprintf(o->first_diff, sizeof o->first_diff, "the PDF text has %s, "
                 "which OCR did not give", qb);
    rc = SH_EINPUT;
out:
    free(sa);
    free(sb);
    free(ca);
    free(cb);
    free(ma);
    free(mb);
    side_release(&a);
    side_release(&b);
    return rc;
}

int sh_text_check(const sh_words *ocr, const char *extracted,
                  sh_textcheck *out)
{
    if (!out)
        return SH_EUSAGE;
    memset(out, 0, sizeof *out);
    sh_buf want = {0};
    int rc = map_words(ocr, &want);
    if (!rc)
        rc = compare_texts(want.data ? want.data : "",
                           extracted ? extracted : "", out);
    sh_buf_release(&want);
    if (rc == SH_ENOMEM)
        snprintf(out->first_diff, sizeof out->first_diff, "out of memory");
    return rc;
}

/* ------------------------------------------------------------------ */
/* whole document                                                     */
/* ------------------------------------------------------------------ */

struct sh_readback {
    char **page;      /* mapped OCR text per page (UTF-8) */
    char *lenient;    /* per page: 1 = a difference is only noted */
    char **note;      /* per page: the noted difference, or NULL */
    int failed;       /* 1-based page that failed the last check */
    int n, cap;
    int checked;
    double seconds;
};

int sh_readback_new(sh_readback **out, sh_err *err)
{
    if (!out)
        return sh_errf(err, SH_EUSAGE, "sh_readback_new: NULL argument");
    *out = calloc(1, sizeof **out);
    if (!*out)
        return sh_errf(err, SH_ENOMEM, "text read-back: out of memory");
    return SH_OK;
}

static int add_page(sh_readback *rb, const sh_words *ws, int lenient,
                    sh_err *err)
{
    if (!rb)
        return sh_errf(err, SH_EUSAGE, "sh_readback_add_page: NULL argument");
    if (rb->n == rb->cap) {
        int ncap = rb->cap ? rb->cap * 2 : 16;
        char **np = realloc(rb->page, (size_t)ncap * sizeof *np);
        if (np)
            rb->page = np;
        char *nl = realloc(rb->lenient, (size_t)ncap);
        if (nl)
            rb->lenient = nl;
        char **nn = realloc(rb->note, (size_t)ncap * sizeof *nn);
        if (nn)
            rb->note = nn;
        if (!np || !nl || !nn)
            return sh_errf(err, SH_ENOMEM, "text read-back: out of memory");
        rb->cap = ncap;
    }
    rb->lenient[rb->n] = (char)lenient;
    rb->note[rb->n] = NULL;
    sh_buf b = {0};
    if (map_words(ws, &b) != SH_OK) {
        sh_buf_release(&b);
        return sh_errf(err, SH_ENOMEM, "text read-back: out of memory");
    }
    rb->page[rb->n] = b.data ? b.data : strdup("");
    if (!rb->page[rb->n])
        return sh_errf(err, SH_ENOMEM, "text read-back: out of memory");
    rb->n++;
    return SH_OK;
}

int sh_readback_add_page(sh_readback *rb, const sh_words *ws, sh_err *err)
{
    return add_page(rb, ws, 0, err);
}

int sh_readback_add_lenient(sh_readback *rb, const sh_words *ws,
                            sh_err *err)
{
    return add_page(rb, ws, 1, err);
}

int sh_readback_failed_page(const sh_readback *rb)
{
    return rb ? rb->failed : 0;
}

const char *sh_readback_note(const sh_readback *rb, int page)
{
    return rb && page >= 1 && page <= rb->n ? rb->note[page - 1] : NULL;
}

int sh_readback_check(const char *pdf_path, void *ctx, sh_err *err)
{
    sh_readback *rb = ctx;
    if (!rb || !pdf_path)
        return sh_errf(err, SH_EUSAGE, "sh_readback_check: NULL argument");
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    rb->checked = 0;
    rb->failed = 0;
    int n = 0;
    char **texts = NULL;
    int rc = sh_pdf_read_text(pdf_path, &n, &texts, err);
    if (rc)
        goto out;
    if (n != rb->n) {
        rc = sh_errf(err, SH_EINPUT, "text read-back: poppler finds %d "
                     "page%s, %d were written", n, n == 1 ? "" : "s", rb->n);
        goto out;
    }
    for (int i = 0; i < n; i++) {
        sh_textcheck tc;
        memset(&tc, 0, sizeof tc);
        rc = compare_texts(rb->page[i], texts[i], &tc);
        rb->checked++;
        if (rc == SH_ENOMEM) {
            rc = sh_errf(err, rc, "text read-back: out of memory");
            goto out;
        }
        if (rc) {
            char what[512];
            snprintf(what, sizeof what, "%s; %d of %d OCR words not found "
                     "as such (%d character%s missing, %d extra)",
                     tc.first_diff, tc.missing, tc.ocr_words,
                     tc.missing_chars, tc.missing_chars == 1 ? "" : "s",
                     tc.extra_chars);
            if (rb->lenient[i]) {
                free(rb->note[i]);
                rb->note[i] = strdup(what);
                rc = SH_OK;
                continue;
            }
            rb->failed = i + 1;
            rc = sh_errf(err, SH_EINPUT, "text read-back: page %d: %s",
                         i + 1, what);
            goto out;
        }
    }
out:
    sh_pdf_texts_free(&texts, n);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    rb->seconds = (double)(t1.tv_sec - t0.tv_sec) +
                  (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
    return rc;
}

void sh_readback_stats(const sh_readback *rb, int *pages, double *seconds)
{
    if (pages)
        *pages = rb ? rb->checked : 0;
    if (seconds)
        *seconds = rb ? rb->seconds : 0;
}

void sh_readback_free(sh_readback **rb)
{
    if (!rb || !*rb)
        return;
    for (int i = 0; i < (*rb)->n; i++) {
        free((*rb)->page[i]);
        free((*rb)->note[i]);
    }
    free((*rb)->page);
    free((*rb)->lenient);
    free((*rb)->note);
    free(*rb);
    *rb = NULL;
}
