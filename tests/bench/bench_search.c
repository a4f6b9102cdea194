/*
 * bench_search.c — `make bench-search`: build a catalog of N generated
 * Vietnamese pages (default 1,000,000) through the same index API the
 * pipeline uses, then time 100 searches with top-20 snippets.  Prints
 * figures; asserts nothing.
 *
 *   bench_search [--pages N] [--dir DIR] [--samples DIR] [--seed S]
 *                [--queries Q] [--keep] [--reuse] [--memo] [--optimize]
 *
 * --reuse keeps DIR's catalog; one of fewer than N pages grows to N.
 * --memo searches with a memo of the filters (sh_search_memo), as a
 * server's worker keeping its connection would.  --optimize merges the
 * full-text index into one b-tree before the queries, as the nightly
 * `sohoa optimize` does (its time and the b-trees before are printed).
 *
 * Text model.  The words of the .txt files in samples/text (lower case,
 * punctuation stripped) make an order-1 Markov chain: each word is followed
 * by a word that follows it in the samples, as often as it does there.  To
 * widen the vocabulary as names, places and typos do in a real archive,
 * 5 % of the words are new syllables made of an onset and a rhyme (with its
 * tone), both taken from the sample words, written capitalised two at a
 * time ("Lương Thịnh"), and 2 % are numbers or document numbers.  Pages
 * are 220–380 words, in lines of about 12 words and sentences of about 15.
 * Dossiers hold 50 pages, belong to one of 20 agencies and carry a year
 * (2010–2025) in their id, so the filters have something to work on.
 *
 * Build.  Rows go into dossier and page, and each page through
 * sh_indexer_add (sh_index_add with its statement prepared once), in
 * transactions of 5,000 pages; the rate counts only the catalog work, not
 * the text generation.  The catalog's index format is reported (a catalog
 * whose page_fts is still declared in format 1 indexes pairs too, three
 * times slower).
 *
 * Queries.  100 queries (20 hits, offset 0) on a read-only connection as
 * `sohoa search` and the web server open it: common words as typed and
 * without diacritics, two- and three-word phrases from the model, rare
 * generated names, and two-word queries restricted to one agency (the
 * web server's per-user filter).  Each is run twice; the second pass is
 * reported as "warm".  Then, apart from those figures, 20 "quoted
 * phrases": two words that follow each other, and the same two the other
 * way round (a rare phrase of common words, the costliest kind of
 * search).  p50/p95 are given for each kind too.
 */
#include "../../base/vntext.h"
#include "../../index/index.h"

#include <dirent.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unicase.h>
#include <unistr.h>

#define PAGES_PER_DOSSIER 50
#define AGENCIES 20
#define TX_PAGES 5000

/* ---- random numbers: splitmix64 ---- */
static uint64_t rng_state;
static uint64_t rnd(void)
{
    uint64_t z = (rng_state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}
static int rndn(int n) { return (int)(rnd() % (uint64_t)n); }

/* CPU seconds of this thread: on a shared machine the wall time of the
   catalog work is inflated by others; its CPU time is what an idle core
   would take (I/O waits aside). */
static double cpu_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* ---- vocabulary ---- */
typedef struct word {
    char *s;
    int *next;      /* successor ids, repeated by frequency */
    int nnext, capnext;
    int count;
} word;

static word *vocab;
static int nvocab, capvocab;
static int *htab;   /* open addressing, -1 empty */
static int hcap;

static uint32_t hash(const char *s)
{
    uint32_t h = 2166136261u;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 16777619u;
    return h;
}

static void die(const char *what)
{
    fprintf(stderr, "bench_search: %s\n", what);
    exit(1);
}

static int word_id(const char *s)
{
    if (!htab) {
        hcap = 1 << 16;
        htab = malloc(sizeof *htab * (size_t)hcap);
        if (!htab)
            die("out of memory");
        memset(htab, -1, sizeof *htab * (size_t)hcap);
    }
    uint32_t h = hash(s) & (uint32_t)(hcap - 1);
    while (htab[h] >= 0) {
        if (!strcmp(vocab[htab[h]].s, s))
            return htab[h];
        h = (h + 1) & (uint32_t)(hcap - 1);
    }
    if (nvocab == capvocab) {
        capvocab = capvocab ? capvocab * 2 : 1024;
        vocab = realloc(vocab, sizeof *vocab * (size_t)capvocab);
        if (!vocab)
            die("out of memory");
    }
    if (nvocab * 2 >= hcap)
        die("vocabulary too large");
    vocab[nvocab] = (word){strdup(s), NULL, 0, 0, 0};
    htab[h] = nvocab;
    return nvocab++;
}

static void add_next(int a, int b)
{
    word *w = &vocab[a];
    if (w->nnext == w->capnext) {
        w->capnext = w->capnext ? w->capnext * 2 : 4;
        w->next = realloc(w->next, sizeof *w->next * (size_t)w->capnext);
        if (!w->next)
            die("out of memory");
    }
    w->next[w->nnext++] = b;
}

/* Lower-case one whitespace-separated token and strip the punctuation
   around it; "" when nothing is left. */
static void clean_token(const char *t, size_t n, char *out, size_t outsz)
{
    while (n && strchr(",.;:()\"'!?/-[]", t[0]))
        t++, n--;
    while (n && strchr(",.;:()\"'!?/-[]", t[n - 1]))
        n--;
    out[0] = 0;
    if (!n || n >= outsz / 2)
        return;
    size_t ln = 0;
    uint8_t *l = u8_tolower((const uint8_t *)t, n, NULL, NULL, NULL, &ln);
    if (l && ln < outsz) {
        memcpy(out, l, ln);
        out[ln] = 0;
    }
    free(l);
}

static void load_samples(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d) {
        fprintf(stderr, "bench_search: %s: cannot open the sample texts\n", dir);
        exit(1);
    }
    struct dirent *e;
    int files = 0;
    while ((e = readdir(d))) {
        size_t L = strlen(e->d_name);
        if (L < 5 || strcmp(e->d_name + L - 4, ".txt"))
            continue;
        char path[4096];
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        FILE *f = fopen(path, "r");
        if (!f)
            continue;
        files++;
        char line[8192];
        int prev = -1;
        while (fgets(line, sizeof line, f)) {
            char *p = line;
            while (*p) {
                while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')
                    p++;
                if (!*p)
                    break;
                char *q = p;
                while (*q && *q != ' ' && *q != '\t' && *q != '\n' && *q != '\r')
                    q++;
                char tok[256];
                clean_token(p, (size_t)(q - p), tok, sizeof tok);
                p = q;
                if (!tok[0])
                    continue;
                int id = word_id(tok);
                vocab[id].count++;
                if (prev >= 0)
                    add_next(prev, id);
                prev = id;
            }
        }
        fclose(f);
    }
    closedir(d);
    if (!files || nvocab < 10)
        die("no sample text (samples/text, *.txt)");
}

/* ---- syllables for names: onset + rhyme from the sample words ---- */
static const char *onsets[] = {"ngh", "ch", "gh", "gi", "kh", "ng", "nh", "ph",
                               "qu", "th", "tr", "b", "c", "d", "đ", "g",
                               "h", "k", "l", "m", "n", "p", "r", "s", "t",
                               "v", "x"};
static char **rhymes;
static int nrhymes;

static void build_rhymes(void)
{
    rhymes = calloc((size_t)nvocab, sizeof *rhymes);
    if (!rhymes)
        die("out of memory");
    for (int i = 0; i < nvocab; i++) {
        const char *s = vocab[i].s;
        if ((unsigned char)s[0] < 0x80 && (s[0] < 'a' || s[0] > 'z'))
            continue;  /* numbers */
        const char *r = s;
        for (size_t k = 0; k < SH_ARRAY_LEN(onsets); k++)
            if (!strncmp(s, onsets[k], strlen(onsets[k]))) {
                r = s + strlen(onsets[k]);
                break;
            }
        if (!*r || strchr(r, '-'))
            continue;
        int dup = 0;
        for (int k = 0; k < nrhymes && !dup; k++)
            dup = !strcmp(rhymes[k], r);
        if (!dup)
            rhymes[nrhymes++] = strdup(r);
    }
    if (!nrhymes)
        die("no rhymes in the samples");
}

/* Append a capitalised generated syllable to b. */
static void name_syllable(sh_buf *b)
{
    const char *on = onsets[rndn((int)SH_ARRAY_LEN(onsets))];
    const char *rh = rhymes[rndn(nrhymes)];
    char s[64];
    snprintf(s, sizeof s, "%s%s", on, rh);
    /* capitalise the first character */
    size_t n = 0;
    ucs4_t uc;
    int k = u8_mbtouc(&uc, (const uint8_t *)s, strlen(s));
    uint8_t *up = u8_toupper((const uint8_t *)s, (size_t)k, NULL, NULL, NULL, &n);
    if (up) {
        sh_buf_add(b, up, n);
        sh_buf_adds(b, s + k);
        free(up);
    } else {
        sh_buf_adds(b, s);
    }
}

/* One page of text into b (reset first). */
static void gen_page(sh_buf *b)
{
    b->len = 0;
    if (b->data)
        b->data[0] = 0;
    int words = 220 + rndn(161);
    int cur = rndn(nvocab), in_line = 0, in_sent = 0;
    for (int i = 0; i < words; i++) {
        if (i)
            sh_buf_adds(b, in_line == 0 ? "\n" : " ");
        int r = rndn(1000);
        if (r < 50) {                        /* a name: two syllables */
            name_syllable(b);
            sh_buf_adds(b, " ");
            name_syllable(b);
        } else if (r < 60) {                 /* a document number */
            sh_buf_printf(b, "%d/%d/QĐ-UBND", 1 + rndn(3000), 2010 + rndn(16));
        } else if (r < 70) {
            sh_buf_printf(b, "%d", rndn(100000));
        } else {
            word *w = &vocab[cur];
            const char *s = w->s;
            if (in_sent == 0 && (unsigned char)s[0] >= 'a' && s[0] <= 'z') {
                char c = (char)(s[0] - 32);
                sh_buf_add(b, &c, 1);
                sh_buf_adds(b, s + 1);
            } else {
                sh_buf_adds(b, s);
            }
            cur = w->nnext ? w->next[rndn(w->nnext)] : rndn(nvocab);
        }
        if (++in_sent >= 10 + rndn(10)) {
            sh_buf_adds(b, ".");
            in_sent = 0;
            cur = rndn(nvocab);
        } else if (rndn(12) == 0) {
            sh_buf_adds(b, ",");
        }
        if (++in_line >= 10 + rndn(5))
            in_line = 0;
    }
}

/* ---- catalog ---- */
static void check(int rc, const sh_err *err)
{
    if (rc) {
        fprintf(stderr, "bench_search: %s\n", err->msg);
        exit(1);
    }
}

static sqlite3_stmt *prep(sqlite3 *db, const char *sql)
{
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK) {
        fprintf(stderr, "bench_search: %s\n", sqlite3_errmsg(db));
        exit(1);
    }
    return st;
}

static void step(sqlite3 *db, sqlite3_stmt *st)
{
    if (sqlite3_step(st) != SQLITE_DONE) {
        fprintf(stderr, "bench_search: %s\n", sqlite3_errmsg(db));
        exit(1);
    }
    sqlite3_reset(st);
}

static double build(const char *dir, long from, long pages, double *gen_s,
                    double *cpu_s)
{
    sqlite3 *db;
    sh_err err = {0};
    check(sh_db_open(dir, 0, &db, &err), &err);
    sqlite3_stmt *ds = prep(db, "INSERT INTO dossier(id,batch,agency,state,pdf,"
                                "pages,updated) VALUES(?,'bench',?,'done',?,?,"
                                "'2025-01-01T00:00:00Z')");
    sqlite3_stmt *ps = prep(db, "INSERT INTO page(dossier,pageno,source_name,"
                                "source_sha256,frame,state,text) VALUES(?,?,"
                                "'scan.tif','0',?,'ocr',?)");
    sh_indexer *ix = NULL;
    check(sh_indexer_open(db, &ix, &err), &err);
    sh_buf text = {0};
    double t_db = 0, t_gen = 0, t_cpu = 0, t0 = sh_now(), last = t0;
    char id[64] = "", agency[16], pdf[128];
    for (long p = from; p < pages; p++) {
        double a = sh_now();
        gen_page(&text);
        double b = sh_now(), cb = cpu_now();
        t_gen += b - a;
        if (p == from || p % TX_PAGES == 0)
            check(sh_db_exec(db, "BEGIN", &err), &err);
        int pageno = (int)(p % PAGES_PER_DOSSIER) + 1;
        if (pageno == 1) {
            long d = p / PAGES_PER_DOSSIER;
            snprintf(id, sizeof id, "HS-%d-%06ld", 2010 + (int)(d % 16), d);
            snprintf(agency, sizeof agency, "AG%02d", (int)(d % AGENCIES));
            snprintf(pdf, sizeof pdf, "%s/pdf/%s.pdf", dir, id);
            sqlite3_bind_text(ds, 1, id, -1, SQLITE_STATIC);
            sqlite3_bind_text(ds, 2, agency, -1, SQLITE_STATIC);
            sqlite3_bind_text(ds, 3, pdf, -1, SQLITE_STATIC);
            sqlite3_bind_int(ds, 4, PAGES_PER_DOSSIER);
            step(db, ds);
        }
        sqlite3_bind_text(ps, 1, id, -1, SQLITE_STATIC);
        sqlite3_bind_int(ps, 2, pageno);
        sqlite3_bind_int(ps, 3, pageno - 1);
        sqlite3_bind_text(ps, 4, text.data, (int)text.len, SQLITE_STATIC);
        step(db, ps);
        check(sh_indexer_add(ix, sqlite3_last_insert_rowid(db), text.data,
                             &err),
              &err);
        if ((p + 1) % TX_PAGES == 0 || p + 1 == pages)
            check(sh_db_exec(db, "COMMIT", &err), &err);
        t_db += sh_now() - b;
        t_cpu += cpu_now() - cb;
        if (sh_now() - last > 30) {
            last = sh_now();
            fprintf(stderr, "  %ld pages, %.0f pages/s, %.0f per CPU second "
                            "(catalog work only)\n",
                    p + 1, (p + 1 - from) / t_db, (p + 1 - from) / t_cpu);
        }
    }
    sqlite3_finalize(ds);
    sqlite3_finalize(ps);
    sh_indexer_close(&ix);
    sh_buf_release(&text);
    sh_db_close(&db);
    *gen_s = t_gen;
    *cpu_s = t_cpu;
    return t_db;
}

static int index_format(const char *dir)
{
    sqlite3 *db;
    sh_err err = {0};
    check(sh_db_open(dir, 1, &db, &err), &err);
    int f = sh_index_format(db);
    sh_db_close(&db);
    return f;
}

static long page_count(const char *dir)
{
    sqlite3 *db;
    sh_err err = {0};
    check(sh_db_open(dir, 1, &db, &err), &err);
    sqlite3_stmt *st = prep(db, "SELECT max(id) FROM page");
    long n = sqlite3_step(st) == SQLITE_ROW ? (long)sqlite3_column_int64(st, 0)
                                            : 0;
    sqlite3_finalize(st);
    sh_db_close(&db);
    return n;
}

/* ---- queries ---- */
typedef struct bq {
    char text[256];
    const char *kind;
    int agency;       /* -1 = all */
} bq;

static int frequent_word(void)
{
    /* weighted by count: pick a random token position */
    long total = 0;
    for (int i = 0; i < nvocab; i++)
        total += vocab[i].count;
    long r = (long)(rnd() % (uint64_t)total);
    for (int i = 0; i < nvocab; i++) {
        r -= vocab[i].count;
        if (r < 0)
            return i;
    }
    return 0;
}

static int is_word(int i)
{
    unsigned char c = (unsigned char)vocab[i].s[0];
    return c >= 0x80 || (c >= 'a' && c <= 'z');
}

#define EXTRA_QUERIES 20

static void make_queries(bq *q, int n)
{
    for (int i = 0; i < n; i++) {
        bq *x = &q[i];
        x->agency = -1;
        int k = i % 10, w;
        do
            w = frequent_word();
        while (!is_word(w));
        char *fold = NULL;
        switch (k) {
        case 0: case 1: case 2:        /* a common word as typed */
            x->kind = "word";
            snprintf(x->text, sizeof x->text, "%s", vocab[w].s);
            break;
        case 3: case 4:                /* without diacritics */
            x->kind = "word, no marks";
            sh_text_fold(vocab[w].s, &fold);
            snprintf(x->text, sizeof x->text, "%s", fold ? fold : "");
            break;
        case 5: case 6: {              /* two words that follow each other */
            x->kind = "2 words";
            int v = vocab[w].nnext ? vocab[w].next[rndn(vocab[w].nnext)] : w;
            snprintf(x->text, sizeof x->text, "%s %s", vocab[w].s, vocab[v].s);
            break;
        }
        case 7: {                      /* three, folded */
            x->kind = "3 words, no marks";
            int v = vocab[w].nnext ? vocab[w].next[rndn(vocab[w].nnext)] : w;
            int u = vocab[v].nnext ? vocab[v].next[rndn(vocab[v].nnext)] : v;
            char t[256];
            snprintf(t, sizeof t, "%s %s %s", vocab[w].s, vocab[v].s,
                     vocab[u].s);
            sh_text_fold(t, &fold);
            snprintf(x->text, sizeof x->text, "%s", fold ? fold : "");
            break;
        }
        case 8: {                      /* a rare generated name */
            x->kind = "name";
            sh_buf b = {0};
            name_syllable(&b);
            sh_buf_adds(&b, " ");
            name_syllable(&b);
            snprintf(x->text, sizeof x->text, "%s", b.data ? b.data : "");
            sh_buf_release(&b);
            break;
        }
        default: {                     /* one agency's user */
            x->kind = "2 words, 1 agency";
            int v = vocab[w].nnext ? vocab[w].next[rndn(vocab[w].nnext)] : w;
            snprintf(x->text, sizeof x->text, "%s %s", vocab[w].s, vocab[v].s);
            x->agency = rndn(AGENCIES);
            break;
        }
        }
        free(fold);
    }
    /* After the others, so that they stay the queries they were. */
    for (int i = n; i < n + EXTRA_QUERIES; i++) {
        bq *x = &q[i];
        x->agency = -1;
        int w, v;
        do
            w = frequent_word();
        while (!is_word(w) || !vocab[w].nnext);
        v = vocab[w].next[rndn(vocab[w].nnext)];
        x->kind = i % 2 ? "quoted, 2 words" : "quoted, rare order";
        if (i % 2 == 0) {                  /* the other way round */
            int t = w;
            w = v;
            v = t;
        }
        snprintf(x->text, sizeof x->text, "\"%s %s\"", vocab[w].s,
                 vocab[v].s);
    }
}

static int dcmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double pct(const double *sorted, int n, double p)
{
    int i = (int)(n * p);
    return sorted[i < n ? i : n - 1];
}

/* The queries q[0..n) give the overall figures; q[n..n + extra) are run
   after them and show in the figures by kind only. */
static void run_queries(const char *dir, bq *q, int n, int extra, int memo)
{
    sqlite3 *db;
    sh_err err = {0};
    check(sh_db_open(dir, 1, &db, &err), &err);
    sh_search_memo *fm = NULL;
    if (memo && sh_search_memo_open(&fm))
        die("out of memory");
    int all = n + extra;
    double *t = calloc((size_t)all, sizeof *t), *tc = calloc((size_t)n, sizeof *tc);
    double *byq[2] = {calloc((size_t)all, sizeof(double)),
                      calloc((size_t)all, sizeof(double))};
    double *cpuq[2] = {calloc((size_t)all, sizeof(double)),
                       calloc((size_t)all, sizeof(double))};
    if (!t || !tc || !byq[0] || !byq[1] || !cpuq[0] || !cpuq[1])
        die("out of memory");
    for (int pass = 0; pass < 2; pass++) {
        long hits = 0, totals = 0;
        int approx = 0;
        double slow = 0;
        const char *slowq = "";
        for (int i = 0; i < all; i++) {
            char ag[16];
            const char *agl[2] = {ag, NULL};
            sh_query sq = {0};
            sq.text = q[i].text;
            sq.limit = 20;
            sq.memo = fm;
            if (q[i].agency >= 0) {
                snprintf(ag, sizeof ag, "AG%02d", q[i].agency);
                sq.agencies = agl;
            }
            sh_hits h = {0};
            double a = sh_now(), ca = cpu_now();
            int rc = sh_search(db, &sq, &h, &err);
            t[i] = byq[pass][i] = (sh_now() - a) * 1000;
            cpuq[pass][i] = (cpu_now() - ca) * 1000;
            if (i < n)
                tc[i] = cpuq[pass][i];
            if (rc) {
                fprintf(stderr, "bench_search: query '%s': %s\n", q[i].text,
                        err.msg);
                exit(1);
            }
            if (i < n) {
                hits += h.n;
                totals += h.total;
                approx += h.approx;
                if (t[i] > slow) {
                    slow = t[i];
                    slowq = q[i].kind;
                }
            }
            if (pass == 1 && getenv("BENCH_VERBOSE"))
                printf("  %7.1f ms  %6d pages%s  [%s] %s\n", t[i], h.total,
                       h.approx ? "~" : " ", q[i].kind, q[i].text);
            sh_hits_release(&h);
        }
        qsort(t, (size_t)n, sizeof *t, dcmp);
        qsort(tc, (size_t)n, sizeof *tc, dcmp);
        printf("queries (%s): %d, top 20 with snippets: p50 %.1f ms, p95 %.1f "
               "ms, max %.1f ms (%s); CPU p50 %.1f ms, p95 %.1f ms; %.1f hits "
               "and %ld matching pages on average, %d estimated totals\n",
               pass ? "warm" : "first pass", n, t[n / 2], pct(t, n, 0.95),
               t[n - 1], slowq, tc[n / 2], pct(tc, n, 0.95),
               (double)hits / n, totals / n, approx);
    }
    /* By kind, in the order the kinds first appear. */
    printf("by kind (first pass / warm): p50, p95, max in ms; then CPU "
           "p50, p95 (first pass / warm)\n");
    for (int i = 0; i < all; i++) {
        int first = 1;
        for (int j = 0; j < i && first; j++)
            first = strcmp(q[j].kind, q[i].kind) != 0;
        if (!first)
            continue;
        double f[4][128];
        int k = 0;
        for (int j = i; j < all && k < 128; j++)
            if (!strcmp(q[j].kind, q[i].kind)) {
                f[0][k] = byq[0][j];
                f[1][k] = byq[1][j];
                f[2][k] = cpuq[0][j];
                f[3][k] = cpuq[1][j];
                k++;
            }
        for (int m = 0; m < 4; m++)
            qsort(f[m], (size_t)k, sizeof(double), dcmp);
        printf("  %-20s %3d: %6.1f %6.1f %6.1f  / %6.1f %6.1f %6.1f;  CPU "
               "%5.1f %5.1f / %5.1f %5.1f%s\n",
               q[i].kind, k, pct(f[0], k, 0.5), pct(f[0], k, 0.95),
               f[0][k - 1], pct(f[1], k, 0.5), pct(f[1], k, 0.95),
               f[1][k - 1], pct(f[2], k, 0.5), pct(f[2], k, 0.95),
               pct(f[3], k, 0.5), pct(f[3], k, 0.95),
               i >= n ? "  (not in the figures above)" : "");
    }
    sh_search_memo_close(&fm);
    free(t);
    free(tc);
    for (int m = 0; m < 2; m++) {
        free(byq[m]);
        free(cpuq[m]);
    }
    sh_db_close(&db);
}

/* The full-text index merged into one b-tree, as `sohoa optimize` does
   (steps of 2,000 leaf pages, each its own transaction). */
static void optimize_index(const char *dir)
{
    sqlite3 *db = NULL;
    sh_err err = {0};
    int before = 0, after = 0, worked = 1;
    long steps = 0;
    if (sh_db_open(dir, 0, &db, &err) ||
        sh_index_segments(db, &before, &err))
        die(err.msg);
    double t = sh_now(), c = cpu_now();
    while (worked) {
        if (sh_index_optimize_step(db, 2000, &worked, &err))
            die(err.msg);
        steps += worked;
        if (steps % 16 == 0)
            sqlite3_wal_checkpoint_v2(db, NULL, SQLITE_CHECKPOINT_PASSIVE,
                                      NULL, NULL);
    }
    sqlite3_wal_checkpoint_v2(db, NULL, SQLITE_CHECKPOINT_TRUNCATE, NULL,
                              NULL);
    if (sh_index_segments(db, &after, &err))
        die(err.msg);
    printf("optimize: %d b-trees -> %d in %.1f s (%.1f s CPU, %ld steps)\n",
           before, after, sh_now() - t, cpu_now() - c, steps);
    sh_db_close(&db);
}

int main(int argc, char **argv)
{
    long pages = 1000000;
    int nq = 100, keep = 0, reuse = 0, memo = 0, optimize = 0, c;
    const char *dir = "/tmp/sohoa-bench-search", *samples = "samples/text";
    uint64_t seed = 1;
    static const struct option opts[] = {
        {"pages", required_argument, NULL, 'n'},
        {"dir", required_argument, NULL, 'd'},
        {"samples", required_argument, NULL, 's'},
        {"seed", required_argument, NULL, 'S'},
        {"queries", required_argument, NULL, 'q'},
        {"keep", no_argument, NULL, 'k'},
        {"reuse", no_argument, NULL, 'r'},
        {"memo", no_argument, NULL, 'm'},
        {"optimize", no_argument, NULL, 'o'},
        {NULL, 0, NULL, 0},
    };
    while ((c = getopt_long(argc, argv, "n:d:s:S:q:krmo", opts, NULL)) != -1) {
        switch (c) {
        case 'n': pages = atol(optarg); break;
        case 'd': dir = optarg; break;
        case 's': samples = optarg; break;
        case 'S': seed = strtoull(optarg, NULL, 10); break;
        case 'q': nq = atoi(optarg); break;
        case 'k': keep = 1; break;
        case 'r': reuse = keep = 1; break;
        case 'm': memo = 1; break;
        case 'o': optimize = 1; break;
        default:
            fputs("usage: bench_search [--pages N] [--dir DIR] [--samples DIR]"
                  " [--seed S] [--queries Q] [--keep] [--reuse] [--memo]"
                  " [--optimize]\n",
                  stderr);
            return 2;
        }
    }
    if (pages < PAGES_PER_DOSSIER || nq < 1)
        die("--pages at least 50, --queries at least 1");
    rng_state = seed;
    load_samples(samples);
    build_rhymes();
    printf("bench-search: %ld pages, %d-word model vocabulary, %d rhymes, "
           "%s\n",
           pages, nvocab, nrhymes, dir);
    char db[4096];
    snprintf(db, sizeof db, "%s/catalog.db", dir);
    struct stat st;
    long have = 0;
    if (reuse && stat(db, &st) == 0)
        have = page_count(dir);
    else {
        char cmd[4200];
        snprintf(cmd, sizeof cmd, "rm -rf '%s' && mkdir -p '%s'", dir, dir);
        if (system(cmd) != 0)
            die("cannot make the bench folder");
    }
    if (have < pages) {
        /* A kept catalog of fewer pages grows to N: the added pages come
           from their own stream of the generator, so a catalog grown
           5M → 10M is one catalog of the same text model. */
        rng_state = seed + (uint64_t)have * 0x9E3779B97F4A7C15ull;
        double gen = 0, cpu = 0, t = build(dir, have, pages, &gen, &cpu);
        stat(db, &st);
        printf("build: %ld pages (%ld added) in %.1f s of catalog work = "
               "%.0f pages/s (%.0f pages per CPU second; text generation "
               "%.1f s more); catalog %.0f MB = %.2f KB per page, index "
               "format %d\n",
               pages, pages - have, t, (pages - have) / t,
               (pages - have) / cpu, gen, st.st_size / 1e6,
               st.st_size / 1e3 / pages, index_format(dir));
    } else {
        printf("build: reusing %s, %ld pages (%.0f MB = %.2f KB per page)\n",
               db, have, st.st_size / 1e6, st.st_size / 1e3 / have);
    }
    if (optimize)
        optimize_index(dir);
    rng_state = seed * 7919 + 1;
    bq *q = calloc((size_t)nq + EXTRA_QUERIES, sizeof *q);
    if (!q)
        die("out of memory");
    make_queries(q, nq);
    run_queries(dir, q, nq, EXTRA_QUERIES, memo);
    free(q);
    if (!keep) {
        char cmd[4200];
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
        if (system(cmd) != 0)
            fprintf(stderr, "bench_search: could not remove %s\n", dir);
    }
    return 0;
}
