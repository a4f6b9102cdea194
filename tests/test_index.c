/* test_index.c — text normalisation, the "sohoa" tokenizer, search. */
#include "test.h"
#include "../base/vntext.h"
#include "../index/db.h"
#include "../index/index.h"
#include "../index/index_int.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* ---- normalisation ---- */

static int test_norm(void)
{
    static const struct {
        const char *in, *want, *why;
    } rows[] = {
        {"hoà", "hòa", "oa: tone to the first vowel"},
        {"hoá", "hóa", "acute"},
        {"hoả", "hỏa", "hook above"},
        {"hoã", "hõa", "tilde"},
        {"hoạ", "họa", "dot below"},
        {"khoẻ", "khỏe", "oe"},
        {"thuỷ", "thủy", "uy"},
        {"tuỳ", "tùy", "uy, grave"},
        {"xoè", "xòe", "oe, grave"},
        {"HOÀ", "HÒA", "upper case"},
        {"Thuỷ Lợi", "Thủy Lợi", "title case, two words"},
        {"hoà, giải", "hòa, giải", "punctuation ends the word"},
        {"hoàng", "hoàng", "final consonant: unchanged"},
        {"khoảng", "khoảng", "final consonant: unchanged"},
        {"toán", "toán", "final consonant: unchanged"},
        {"hoạch", "hoạch", "final consonant: unchanged"},
        {"thuyền", "thuyền", "uyê: unchanged"},
        {"quý", "quý", "qu + y: the y is the vowel"},
        {"Quỳ", "Quỳ", "qu + y, capital Q"},
        {"QUỶ", "QUỶ", "qu + y, all capitals"},
        {"quỳnh", "quỳnh", "qu + y + nh"},
        {"ngoài", "ngoài", "oai: unchanged"},
        {"hòa", "hòa", "already in the chosen style"},
        {"thuế", "thuế", "uê: tone stays on ê"},
        {"Ðất", "Đất", "U+00D0 eth read as Đ"},
        {"ðất", "đất", "U+00F0 eth read as đ"},
        {"D\xcc\x89\xc3\xa2\xcc\x81t", "D\xcc\x89\xe1\xba\xa5t",
         "NFD composed (D + hook keeps its mark)"},
        {"qua\xcc\x81", "quá", "NFD input composed"},
        {"", "", "empty"},
        {"abc 123", "abc 123", "ASCII unchanged"},
    };
    for (size_t i = 0; i < SH_ARRAY_LEN(rows); i++) {
        char *out = NULL;
        CHECK(sh_text_norm(rows[i].in, &out) == SH_OK && out);
        CHECKF(strcmp(out, rows[i].want) == 0, "%s: \"%s\" → \"%s\", want \"%s\"",
               rows[i].why, rows[i].in, out, rows[i].want);
        free(out);
    }
    char *out = NULL;
    CHECK(sh_text_norm("a\xff" "b\xe1\xba", &out) == SH_OK);
    CHECKF(strcmp(out, "a\xef\xbf\xbd" "b\xef\xbf\xbd") == 0,
           "invalid UTF-8 → U+FFFD: got \"%s\"", out);
    free(out);
    CHECK(sh_text_norm(NULL, &out) == SH_OK && strcmp(out, "") == 0);
    free(out);
    return 0;
}

static int test_fold(void)
{
    static const struct {
        const char *in, *want;
    } rows[] = {
        {"Đất Đai", "dat dai"},
        {"Quyết định", "quyet dinh"},
        {"NGHỊ ĐỊNH", "nghi dinh"},
        {"Ðất đai", "dat dai"},
        {"hoà giải", "hoa giai"},
        {"THUỶ LỢI", "thuy loi"},
        {"ư ơ ă â ê ô", "u o a a e o"},
        {"Thuở xưa", "thuo xua"},
        {"30/2020/NĐ-CP", "30/2020/nd-cp"},
        {"Ấp Bắc", "ap bac"},
        {"", ""},
    };
    for (size_t i = 0; i < SH_ARRAY_LEN(rows); i++) {
        char *out = NULL;
        CHECK(sh_text_fold(rows[i].in, &out) == SH_OK && out);
        CHECKF(strcmp(out, rows[i].want) == 0, "\"%s\" → \"%s\", want \"%s\"",
               rows[i].in, out, rows[i].want);
        free(out);
    }
    return 0;
}

/* The fast folds (sh_vn_fold_token for snippets, sh_vn_fold_cp for the
   header fields) agree with sh_text_fold: every Latin letter of the
   table, words, decomposed text, other scripts. */
static int test_fold_fast(void)
{
    char in[64], fast[64];
    for (unsigned c = 0x41; c < 0x1F00; c++) {
        if (c >= 0x250 && c < 0x1E00)
            continue;
        if (c < 0x80 && !((c | 0x20) >= 'a' && (c | 0x20) <= 'z'))
            continue;
        int n = c < 0x80 ? snprintf(in, sizeof in, "%c", (char)c)
                : c < 0x800 ? snprintf(in, sizeof in, "%c%c",
                                       (char)(0xC0 | c >> 6),
                                       (char)(0x80 | (c & 0x3F)))
                            : snprintf(in, sizeof in, "%c%c%c",
                                       (char)(0xE0 | c >> 12),
                                       (char)(0x80 | ((c >> 6) & 0x3F)),
                                       (char)(0x80 | (c & 0x3F)));
        char *slow = NULL;
        CHECK(sh_text_fold(in, &slow) == SH_OK);
        int k = sh_vn_fold_token(in, n, fast, (int)sizeof fast);
        CHECKF(k >= 0 && (size_t)k == strlen(slow) &&
                   memcmp(fast, slow, (size_t)k) == 0,
               "U+%04X: fast %.*s, slow %s", c, k > 0 ? k : 0, fast, slow);
        /* one code point: its one ASCII byte, or 0 */
        int want = strlen(slow) == 1 && (unsigned char)slow[0] < 0x80
                       ? (unsigned char)slow[0] : 0;
        CHECKF(sh_vn_fold_cp(c) == want, "U+%04X: sh_vn_fold_cp %d, want %d",
               c, sh_vn_fold_cp(c), want);
        free(slow);
    }
    /* đ, Đ, eth; outside the table: Kelvin sign, a lone mark, Greek */
    CHECK(sh_vn_fold_cp(0x111) == 'd' && sh_vn_fold_cp(0x110) == 'd');
    CHECK(sh_vn_fold_cp(0xF0) == 'd' && sh_vn_fold_cp(0xD0) == 'd');
    CHECK(sh_vn_fold_cp(0x212A) == 'k' && sh_vn_fold_cp(0x301) == 0);
    CHECK(sh_vn_fold_cp(0x3A9) == 0 && sh_vn_fold_cp(0xD800) == 0);
    CHECK(sh_vn_fold_cp('-') == '-' && sh_vn_fold_cp('Q') == 'q');
    static const char *words[] = {
        "Nghị", "ĐỊNH", "thuỷ", "Ðất", "q\xcc\x81uy\xcc\x81", "Ωμέγα",
        "한국어", "ﬁnal", "naïve", "30/2020", "",
    };
    for (size_t i = 0; i < SH_ARRAY_LEN(words); i++) {
        char *slow = NULL;
        CHECK(sh_text_fold(words[i], &slow) == SH_OK);
        int k = sh_vn_fold_token(words[i], (int)strlen(words[i]), fast,
                               (int)sizeof fast);
        CHECKF(k >= 0 && (size_t)k == strlen(slow) &&
                   memcmp(fast, slow, (size_t)k) == 0,
               "%s: fast %.*s, slow %s", words[i], k > 0 ? k : 0, fast, slow);
        free(slow);
    }
    CHECK(sh_vn_fold_token("abcdef", 6, fast, 3) == -1);
    return 0;
}

/* ---- fixture: a small warehouse ---- */

static int add_dossier(sqlite3 *db, const char *id, const char *agency,
                       const char *state, int pages)
{
    sqlite3_stmt *st = NULL;
    int ok = sqlite3_prepare_v2(db,
                                "INSERT INTO dossier(id, agency, state, pdf, "
                                "pages) VALUES(?1, ?2, ?3, 'pdf/' || ?1 || "
                                "'.pdf', ?4)",
                                -1, &st, NULL) == SQLITE_OK;
    if (ok) {
        sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 2, agency, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 3, state, -1, SQLITE_STATIC);
        sqlite3_bind_int(st, 4, pages);
        ok = sqlite3_step(st) == SQLITE_DONE;
    }
    if (!ok)
        fprintf(stderr, "  dossier %s: %s\n", id, sqlite3_errmsg(db));
    sqlite3_finalize(st);
    return ok ? 0 : 1;
}

/* pageno 0 = NULL (not placed in the PDF). */
static int add_page(sqlite3 *db, int64_t id, const char *dossier, int pageno,
                    const char *text)
{
    sqlite3_stmt *st = NULL;
    int ok = sqlite3_prepare_v2(db,
                                "INSERT INTO page(id, dossier, pageno, "
                                "source_name, source_sha256, frame, state, "
                                "text) VALUES(?1, ?2, ?3, 'scan.tif', 'x', "
                                "?1, 'ocr', ?4)",
                                -1, &st, NULL) == SQLITE_OK;
    if (ok) {
        sqlite3_bind_int64(st, 1, id);
        sqlite3_bind_text(st, 2, dossier, -1, SQLITE_STATIC);
        if (pageno)
            sqlite3_bind_int(st, 3, pageno);
        sqlite3_bind_text(st, 4, text, -1, SQLITE_STATIC);
        ok = sqlite3_step(st) == SQLITE_DONE;
    }
    if (!ok)
        fprintf(stderr, "  page %lld: %s\n", (long long)id, sqlite3_errmsg(db));
    sqlite3_finalize(st);
    sh_err err = {0};
    if (ok && sh_index_add(db, id, text, &err) != SH_OK) {
        fprintf(stderr, "  index page %lld: %s\n", (long long)id, err.msg);
        ok = 0;
    }
    return ok ? 0 : 1;
}

static const struct {
    const char *id, *agency, *state;
} dossiers[] = {
    {"HS-2019-0001", "A", "done"},
    {"HS-2020-0002", "A", "done"},
    {"HS-2020-0003", "B", "done"},
    {"HS-2021-0004", "B", "done"},
    {"HS-2021-0005", "A", "pending"},
    {"HS_50%-0001", "A", "done"},
    {"HSX50a-0001", "A", "done"},
};

static const struct {
    int64_t id;
    int dossier, pageno;
    const char *text;
} pages[] = {
    {1, 0, 1, "Quyết định về quyền sử dụng đất đai của hộ gia đình"},
    {2, 0, 2, "Căn cứ Nghị định số 30/2020/NĐ-CP ngày 5 tháng 3 năm 2020"},
    {3, 1, 1, "Biên bản hoà giải tranh chấp giữa hai hộ"},
    {4, 1, 2, "Công trình thuỷ lợi của xã Tân Phú"},
    {5, 2, 1, "ghi chu: dat dai cua ong Nam, ban sao"},
    {6, 2, 2, "Giấy chứng nhận đất ở tại thôn Đông"},
    {7, 2, 3, "Hòa giải thành tại ủy ban nhân dân"},
    {8, 2, 4, "Hệ thống thủy lợi nội đồng"},
    {9, 3, 1, "Tranh chấp đất đai giữa các hộ ở xã Bình An"},
    {10, 0, 0, "Trang trắng đất đai chưa xếp vào PDF"},
    {11, 4, 1, "Hồ sơ đang xử lý về đất đai"},
    {12, 5, 1, "Lịch sử đất đai của làng"},
    {13, 6, 1, "Một hồ sơ đất đai khác"},
    {14, 1, 3, "Dải đai xanh và một mảnh đất nhỏ"},
    {15, 0, 3, "Ðất đai do UBND cấp, bản Ðổi mới"},
    {16, 1, 4, "quyền của người sử dụng đất được bảo vệ"},
};

static sqlite3 *fixture(void)
{
    sqlite3 *db = NULL;
    sh_err err = {0};
    if (sh_db_open(sh_test_tmpdir(), 0, &db, &err) != SH_OK) {
        fprintf(stderr, "  open: %s\n", err.msg);
        return NULL;
    }
    int bad = sh_db_exec(db, "BEGIN", &err);
    for (size_t i = 0; !bad && i < SH_ARRAY_LEN(dossiers); i++)
        bad = add_dossier(db, dossiers[i].id, dossiers[i].agency,
                          dossiers[i].state, 4);
    for (size_t i = 0; !bad && i < SH_ARRAY_LEN(pages); i++)
        bad = add_page(db, pages[i].id, dossiers[pages[i].dossier].id,
                       pages[i].pageno, pages[i].text);
    if (!bad)
        bad = sh_db_exec(db, "COMMIT", &err);
    if (bad) {
        sh_db_close(&db);
        return NULL;
    }
    return db;
}

/* Search q, with the other fields zero. */
static int find(sqlite3 *db, const char *text, sh_hits *h)
{
    sh_query q = {.text = text};
    sh_err err = {0};
    int rc = sh_search(db, &q, h, &err);
    if (rc)
        fprintf(stderr, "  search \"%s\": %s\n", text, err.msg);
    return rc;
}

static int pos_of(const sh_hits *h, int64_t id)
{
    for (int i = 0; i < h->n; i++)
        if (h->h[i].page_id == id)
            return i;
    return -1;
}

/* The ids of the hits, ascending, as a string "1 5 9". */
static void ids_of(const sh_hits *h, char *buf, size_t n)
{
    int64_t ids[64];
    int k = h->n < 64 ? h->n : 64;
    for (int i = 0; i < k; i++)
        ids[i] = h->h[i].page_id;
    for (int i = 1; i < k; i++)
        for (int j = i; j > 0 && ids[j - 1] > ids[j]; j--) {
            int64_t t = ids[j];
            ids[j] = ids[j - 1];
            ids[j - 1] = t;
        }
    buf[0] = 0;
    size_t len = 0;
    for (int i = 0; i < k && len < n; i++)
        len += (size_t)snprintf(buf + len, n - len, "%s%lld", i ? " " : "",
                                (long long)ids[i]);
}

/* Run query text and compare the set of page ids found (all of them:
   the fixture is smaller than a page of hits) and the total. */
#define EXPECT_IDS(db, text, want)                                         \
    do {                                                                   \
        sh_hits h_;                                                        \
        char got_[512];                                                    \
        CHECK(find(db, text, &h_) == SH_OK);                               \
        ids_of(&h_, got_, sizeof got_);                                    \
        int n_ = h_.n, tot_ = h_.total, approx_ = h_.approx;               \
        sh_hits_release(&h_);                                              \
        CHECKF(strcmp(got_, want) == 0,                                    \
               "query \"%s\": pages {%s}, want {%s}", text, got_, want);   \
        CHECKF(tot_ == n_ && !approx_, "query \"%s\": total %d for %d hits", \
               text, tot_, n_);                                            \
    } while (0)

/* ---- tokenizer ---- */

/* count(*) of the single-row query sql (?1 bound to text t when given). */
static int count_of(sqlite3 *db, const char *sql, const char *t)
{
    sqlite3_stmt *st = NULL;
    int n = -1;
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK) {
        if (t)
            sqlite3_bind_text(st, 1, t, -1, SQLITE_STATIC);
        if (sqlite3_step(st) == SQLITE_ROW)
            n = sqlite3_column_int(st, 0);
    } else {
        fprintf(stderr, "  %s: %s\n", sql, sqlite3_errmsg(db));
    }
    sqlite3_finalize(st);
    return n;
}

static int test_tokenizer(void)
{
    sqlite3 *db = fixture();
    CHECK(db);
    sh_err err = {0};
    CHECK(sh_db_exec(db,
                     "CREATE VIRTUAL TABLE temp.v USING "
                     "fts5vocab(main, page_fts, 'instance');",
                     &err) == SH_OK);
    /* Page 15 "Ðất đai ...": offset 0 holds đất (eth read as Đ) and its
       folded dat; đ is a letter to unicode61, not a separator. */
    static const struct {
        int64_t doc;
        int off;
        const char *term;
    } want[] = {
        {15, 0, "đất"}, {15, 0, "dat"}, {15, 1, "đai"}, {15, 1, "dai"},
        {15, 6, "đổi"}, {15, 6, "doi"}, {2, 7, "nđ"},   {2, 7, "nd"},
        {2, 8, "cp"},   {3, 2, "hòa"},  {3, 2, "hoa"},  {4, 2, "thủy"},
        {5, 2, "dat"},
    };
    sqlite3_stmt *st = NULL;
    CHECK(sqlite3_prepare_v2(db,
                             "SELECT count(*) FROM v WHERE doc = ?1 AND "
                             "offset = ?2 AND term = ?3",
                             -1, &st, NULL) == SQLITE_OK);
    for (size_t i = 0; i < SH_ARRAY_LEN(want); i++) {
        sqlite3_reset(st);
        sqlite3_bind_int64(st, 1, want[i].doc);
        sqlite3_bind_int(st, 2, want[i].off);
        sqlite3_bind_text(st, 3, want[i].term, -1, SQLITE_STATIC);
        CHECK(sqlite3_step(st) == SQLITE_ROW);
        CHECKF(sqlite3_column_int(st, 0) == 1, "page %lld offset %d: no %s",
               (long long)want[i].doc, want[i].off, want[i].term);
    }
    sqlite3_finalize(st);
    /* Nothing in the old tone style, no eth, no upper case; at each
       position the token and its folded form (and in format 1 the pairs,
       see index/tokenizer-formats). */
    CHECK(count_of(db,
                   "SELECT count(*) FROM v WHERE term IN ('hoà', 'thuỷ', "
                   "'ðất', 'Đất', 'ĐẤT', 'hoà giải')",
                   NULL) == 0);
    CHECK(count_of(db,
                   "SELECT count(*) FROM (SELECT doc, offset FROM v WHERE "
                   "term NOT LIKE '% %' GROUP BY doc, offset HAVING "
                   "count(*) > 2)",
                   NULL) == 0);
    /* Query side: an accented token matches only its exact form, a plain
       one every form. */
    CHECK(sqlite3_prepare_v2(db,
                             "SELECT group_concat(rowid, ' ') FROM (SELECT "
                             "rowid FROM page_fts WHERE page_fts MATCH ?1 "
                             "ORDER BY rowid)",
                             -1, &st, NULL) == SQLITE_OK);
    static const struct {
        const char *match, *ids;
    } q[] = {
        {"\"đất\"", "1 6 9 10 11 12 13 14 15 16"},
        {"\"dat\"", "1 5 6 9 10 11 12 13 14 15 16"},
        {"\"ĐẤT ĐAI\"", "1 9 10 11 12 13 15"},
        {"\"hoà\"", "3 7"},
    };
    for (size_t i = 0; i < SH_ARRAY_LEN(q); i++) {
        sqlite3_reset(st);
        sqlite3_bind_text(st, 1, q[i].match, -1, SQLITE_STATIC);
        CHECK(sqlite3_step(st) == SQLITE_ROW);
        const char *got = (const char *)sqlite3_column_text(st, 0);
        CHECKF(got && strcmp(got, q[i].ids) == 0, "MATCH %s: {%s}, want {%s}",
               q[i].match, got ? got : "", q[i].ids);
    }
    sqlite3_finalize(st);
    /* NFD text is indexed like NFC; "sohoa" takes no option but the
       format. */
    CHECK(sh_db_exec(db,
                     "CREATE VIRTUAL TABLE temp.t USING fts5(x, "
                     "tokenize='sohoa 2');"
                     "INSERT INTO temp.t VALUES('D\xcc\x9b\xcc\x81' || "
                     "'t \xc4\x90\x61\xcc\x82\xcc\x81t');",
                     &err) == SH_OK);
    CHECK(count_of(db,
                   "SELECT count(*) FROM temp.t WHERE t MATCH "
                   "'\"đất\" AND \"dat\"'",
                   NULL) == 1);
    CHECK(sh_db_exec(db,
                     "CREATE VIRTUAL TABLE temp.t2 USING fts5(x, "
                     "tokenize='sohoa remove_diacritics 2')",
                     &err) == SH_EINDEX);
    CHECK(sh_db_exec(db,
                     "CREATE VIRTUAL TABLE temp.t3 USING fts5(x, "
                     "tokenize='sohoa 3')",
                     &err) == SH_EINDEX);
    sh_db_close(&db);
    return 0;
}

/* Index format 1 (tokenize='sohoa', the first catalogs) also holds the
   pairs "previous this", so that a page indexed then is unindexed
   exactly; format 2 (tokenize='sohoa 2') holds none.  Both answer the
   same searches. */
static int test_tokenizer_formats(void)
{
    sqlite3 *db = fixture();
    CHECK(db);
    sh_err err = {0};
    CHECK(sh_db_exec(db,
                     "CREATE TABLE temp.c(id INTEGER PRIMARY KEY, x TEXT);"
                     "CREATE VIRTUAL TABLE temp.f1 USING fts5(x, "
                     "content='c', content_rowid='id', tokenize='sohoa');"
                     "CREATE VIRTUAL TABLE temp.f2 USING fts5(x, "
                     "content='c', content_rowid='id', tokenize='sohoa 2');"
                     "CREATE VIRTUAL TABLE temp.v1 USING "
                     "fts5vocab(temp, f1, 'instance');"
                     "CREATE VIRTUAL TABLE temp.v2 USING "
                     "fts5vocab(temp, f2, 'instance');",
                     &err) == SH_OK);
    for (size_t i = 0; i < SH_ARRAY_LEN(pages); i++) {
        sqlite3_stmt *st = NULL;
        CHECK(sqlite3_prepare_v2(db,
                                 "INSERT INTO temp.c(id, x) "
                                 "VALUES(?1, ?2)",
                                 -1, &st, NULL) == SQLITE_OK);
        sqlite3_bind_int64(st, 1, pages[i].id);
        sqlite3_bind_text(st, 2, pages[i].text, -1, SQLITE_STATIC);
        CHECK(sqlite3_step(st) == SQLITE_DONE);
        sqlite3_finalize(st);
    }
    CHECK(sh_db_exec(db,
                     "INSERT INTO temp.f1(rowid, x) SELECT id, x FROM temp.c;"
                     "INSERT INTO temp.f2(rowid, x) SELECT id, x FROM temp.c;",
                     &err) == SH_OK);
    static const struct {
        int64_t doc;
        int off;
        const char *term;
    } pairs[] = {
        {15, 1, "dat dai"}, {15, 1, "đất đai"}, {1, 1, "quyet dinh"},
        {1, 1, "quyết định"}, {5, 3, "dat dai"}, {2, 8, "nd cp"},
        {2, 8, "nđ cp"}, {3, 3, "hòa giải"},
    };
    for (size_t i = 0; i < SH_ARRAY_LEN(pairs); i++) {
        char sql[256];
        snprintf(sql, sizeof sql,
                 "SELECT count(*) FROM temp.v1 WHERE doc = %lld AND "
                 "offset = %d AND term = ?1",
                 (long long)pairs[i].doc, pairs[i].off);
        CHECKF(count_of(db, sql, pairs[i].term) == 1,
               "format 1: page %lld offset %d: no pair %s",
               (long long)pairs[i].doc, pairs[i].off, pairs[i].term);
    }
    /* Format 1: no pair at the first position, no exact pair where it
       equals the folded one. */
    CHECK(count_of(db,
                   "SELECT count(*) FROM temp.v1 WHERE (offset = 0 AND term "
                   "LIKE '% %') OR (doc = 5 AND term LIKE '% %' AND term "
                   "NOT IN ('ghi chu', 'chu dat', 'dat dai', 'dai cua', "
                   "'cua ong', 'ong nam', 'nam ban', 'ban sao'))",
                   NULL) == 0);
    CHECK(count_of(db, "SELECT count(*) FROM temp.v2 WHERE term LIKE '% %'",
                   NULL) == 0);
    /* The same words at the same places in both. */
    CHECK(count_of(db,
                   "SELECT count(*) FROM (SELECT doc, offset, term FROM "
                   "temp.v1 WHERE term NOT LIKE '% %' EXCEPT SELECT doc, "
                   "offset, term FROM temp.v2)",
                   NULL) == 0);
    CHECK(count_of(db,
                   "SELECT count(*) FROM (SELECT doc, offset, term FROM "
                   "temp.v2 EXCEPT SELECT doc, offset, term FROM temp.v1)",
                   NULL) == 0);
    /* Unindexing with the text indexed leaves nothing behind. */
    CHECK(sh_db_exec(db,
                     "INSERT INTO temp.f1(f1, rowid, x) SELECT 'delete', "
                     "id, x FROM temp.c;"
                     "INSERT INTO temp.f2(f2, rowid, x) SELECT 'delete', "
                     "id, x FROM temp.c;",
                     &err) == SH_OK);
    CHECK(count_of(db, "SELECT count(*) FROM temp.v1", NULL) == 0);
    CHECK(count_of(db, "SELECT count(*) FROM temp.v2", NULL) == 0);
    sh_db_close(&db);
    return 0;
}

/* The catalog's index is in format 2. */
static int test_index_format(void)
{
    sqlite3 *db = NULL;
    sh_err err = {0};
    CHECK(sh_db_open(sh_test_tmpdir(), 0, &db, &err) == SH_OK);
    int n = count_of(db,
                     "SELECT count(*) FROM sqlite_schema WHERE name = "
                     "'page_fts' AND sql LIKE '%tokenize=''sohoa 2''%'",
                     NULL);
    sh_db_close(&db);
    CHECKF(n == 1, "page_fts is not declared with tokenize='sohoa 2' "
                   "(index/catalog.c)");
    return 0;
}

/* A catalog indexed in format 1 searches the same, unindexes exactly,
   and sh_index_upgrade rebuilds it in format 2. */
static int test_index_upgrade(void)
{
    sqlite3 *db = fixture();
    CHECK(db);
    sh_err err = {0};
    CHECK(sh_db_exec(db,
                     "DROP TABLE page_fts;"
                     "CREATE VIRTUAL TABLE page_fts USING fts5(text, "
                     "content='page', content_rowid='id', tokenize='sohoa', "
                     "detail=full);"
                     "INSERT INTO page_fts(rowid, text) SELECT id, text FROM "
                     "page WHERE pageno IS NOT NULL;"
                     "CREATE VIRTUAL TABLE temp.v USING "
                     "fts5vocab(main, page_fts, 'instance');",
                     &err) == SH_OK);
    CHECK(sh_index_format(db) == 1);
    CHECK(count_of(db, "SELECT count(*) FROM v WHERE term = 'đất đai'",
                   NULL) == 6);
    for (int round = 0; round < 2; round++) {
        EXPECT_IDS(db, "đất đai", "1 5 9 12 13 14 15");
        EXPECT_IDS(db, "\"quyền sử dụng đất\"", "1");
        EXPECT_IDS(db, "30/2020/NĐ-CP", "2");
        sh_hits h;
        CHECK(find(db, "đất đai", &h) == SH_OK);
        CHECK(h.n == 7 && pos_of(&h, 5) == 5 && pos_of(&h, 14) == 6);
        sh_hits_release(&h);
        /* Out and in again: nothing left of the page in between. */
        CHECK(sh_index_remove(db, 15, pages[14].text, &err) == SH_OK);
        CHECK(count_of(db, "SELECT count(*) FROM v WHERE doc = 15", NULL) ==
              0);
        CHECK(sh_index_add(db, 15, pages[14].text, &err) == SH_OK);
        if (round == 0) {
            CHECK(sh_index_upgrade(db, &err) == SH_OK);
            CHECK(sh_index_format(db) == 2);
            CHECK(sh_db_exec(db,
                             "DROP TABLE temp.v; CREATE VIRTUAL TABLE temp.v "
                             "USING fts5vocab(main, page_fts, 'instance');",
                             &err) == SH_OK);
            CHECK(count_of(db, "SELECT count(*) FROM v WHERE term LIKE "
                               "'% %'", NULL) == 0);
            /* the pages with a pageno, no more */
            CHECK(count_of(db, "SELECT count(DISTINCT doc) FROM v", NULL) ==
                  15);
        }
    }
    CHECK(sh_index_upgrade(db, &err) == SH_OK && sh_index_format(db) == 2);
    sh_db_close(&db);
    return 0;
}

/* The tokenizer's fast path (precomposed Latin letters, a table) gives
   what sh_text_norm and sh_text_fold give, on every Vietnamese vowel with
   every tone after and before the letters that decide where a tone goes,
   and on text the fast path hands to libunistring. */
typedef struct tok_list {
    char **t;
    int n, cap;
} tok_list;

static int collect_tok(void *ctx, const char *tok, int len, int start,
                       int end)
{
    tok_list *l = ctx;
    if (l->n == l->cap) {
        int cap = l->cap ? 2 * l->cap : 1024;
        char **t = realloc(l->t, (size_t)cap * sizeof *t);
        if (!t)
            return SQLITE_NOMEM;
        l->t = t;
        l->cap = cap;
    }
    if (!(l->t[l->n] = malloc((size_t)len + 1)))
        return SQLITE_NOMEM;
    memcpy(l->t[l->n], tok, (size_t)len);
    l->t[l->n++][len] = 0;
    return SQLITE_OK;
}

static void tok_list_release(tok_list *l)
{
    for (int i = 0; i < l->n; i++)
        free(l->t[i]);
    free(l->t);
    memset(l, 0, sizeof *l);
}

static int test_tokenizer_fast(void)
{
    /* a ă â e ê i o ô ơ u ư y, each with no tone and the five tones */
    static const char *const vowels[] = {
        "a", "à", "á", "ả", "ã", "ạ", "ă", "ằ", "ắ", "ẳ", "ẵ", "ặ",
        "â", "ầ", "ấ", "ẩ", "ẫ", "ậ", "e", "è", "é", "ẻ", "ẽ", "ẹ",
        "ê", "ề", "ế", "ể", "ễ", "ệ", "i", "ì", "í", "ỉ", "ĩ", "ị",
        "o", "ò", "ó", "ỏ", "õ", "ọ", "ô", "ồ", "ố", "ổ", "ỗ", "ộ",
        "ơ", "ờ", "ớ", "ở", "ỡ", "ợ", "u", "ù", "ú", "ủ", "ũ", "ụ",
        "ư", "ừ", "ứ", "ử", "ữ", "ự", "y", "ỳ", "ý", "ỷ", "ỹ", "ỵ",
        "A", "Á", "Ọ", "Ê", "Ỷ", "Ý", "Ư",
    };
    static const char *const before[] = {
        "", "o", "u", "O", "U", "ô", "ơ", "ư", "ó", "q", "Q", "h", "qu",
        "hu", "ho", "th", "đ", "Đ", "ð", "2", "a", "i", "y", "gi", "ngh",
    };
    static const char *const after[] = {"", "n", "ng", "2", "o"};
    static const char *const others[] = {
        "Thuỷ", "THUỶ", "hoà", "HOÀ", "Khoẻ", "quỷ", "Quý", "ngoà", "ngoài",
        "2hoà", "hoà2", "x2hoà", "q\xcc\x81uy\xcc\x81", "a\xcc\x80",
        "ho\xcc\x80", "Ðổi", "đổi", "Ωμέγα", "naïve", "ﬁnal", "ǅemal",
        "İstanbul", "ß", "Æble", "œuvre", "ŉ", "ǰ", "ẞ", "ȸ", "ḍ", "ṃ",
        "hoạ", "toả", "tuý", "tuỳ", "uỷ", "oà", "Oà", "Uỷ", "qoà", "quà",
        "giuỷ", "aoà", "đoà", "ðoà", "ươ", "ưở", "khuya", "khuỷu",
    };
    sh_buf text = {0};
    for (size_t b = 0; b < SH_ARRAY_LEN(before); b++)
        for (size_t o = 0; o < 5; o++)
            for (size_t v = 0; v < SH_ARRAY_LEN(vowels); v++)
                for (size_t a = 0; a < SH_ARRAY_LEN(after); a++) {
                    static const char *const ou[] = {"", "o", "u", "O", "U"};
                    CHECK(sh_buf_printf(&text, "%s%s%s%s ", before[b],
                                        ou[o], vowels[v], after[a]) == 0);
                }
    for (size_t i = 0; i < SH_ARRAY_LEN(others); i++)
        CHECK(sh_buf_printf(&text, "%s ", others[i]) == 0);

    sqlite3 *db = NULL;
    sh_err err = {0};
    sh__qtok *tk = NULL;
    CHECK(sh_db_open(sh_test_tmpdir(), 0, &db, &err) == SH_OK);
    CHECK(sh__qtok_open(db, &tk, &err) == SH_OK);
    /* unicode61's tokens (raw) and ours (query side: the normal form) */
    tok_list raw = {0}, norm = {0};
    CHECK(sh__qtok_run(tk, text.data, (int)text.len, 1, collect_tok, &raw) ==
          SQLITE_OK);
    CHECK(sh__qtok_run(tk, text.data, (int)text.len, 0, collect_tok,
                       &norm) == SQLITE_OK);
    CHECKF(raw.n == norm.n && raw.n > 10000, "%d raw tokens, %d normal",
           raw.n, norm.n);
    for (int i = 0; i < raw.n; i++) {
        char *want = NULL;
        CHECK(sh_text_norm(raw.t[i], &want) == SH_OK);
        CHECKF(strcmp(norm.t[i], want) == 0, "\"%s\": normal \"%s\", want "
               "\"%s\"", raw.t[i], norm.t[i], want);
        free(want);
    }
    /* Document side: at each position the normal form and, when it
       differs, the folded form, and nothing else. */
    sqlite3_stmt *st = NULL;
    CHECK(sh_db_exec(db,
                     "CREATE VIRTUAL TABLE temp.t USING fts5(x, "
                     "tokenize='sohoa 2');"
                     "CREATE VIRTUAL TABLE temp.v USING "
                     "fts5vocab(temp, t, 'instance');",
                     &err) == SH_OK);
    CHECK(sqlite3_prepare_v2(db, "INSERT INTO temp.t(rowid, x) VALUES(1, ?1)",
                             -1, &st, NULL) == SQLITE_OK);
    sqlite3_bind_text(st, 1, text.data, (int)text.len, SQLITE_STATIC);
    CHECK(sqlite3_step(st) == SQLITE_DONE);
    sqlite3_finalize(st);
    CHECK(sqlite3_prepare_v2(db,
                             "SELECT offset, term FROM temp.v ORDER BY "
                             "offset, term",
                             -1, &st, NULL) == SQLITE_OK);
    int at = -1, k = 0, seen_norm = 0, seen_fold = 0, bad = 0;
    char *want_norm = NULL, *want_fold = NULL;
    int step;
    while (!bad && (step = sqlite3_step(st)) == SQLITE_ROW) {
        int off = sqlite3_column_int(st, 0);
        const char *term = (const char *)sqlite3_column_text(st, 1);
        if (off != at) {
            bad = at >= 0 && (!seen_norm || !seen_fold);
            free(want_norm);
            free(want_fold);
            want_norm = want_fold = NULL;
            at = off;
            seen_norm = seen_fold = 0;
            if (bad || off >= raw.n || sh_text_norm(raw.t[off], &want_norm) ||
                sh_text_fold(raw.t[off], &want_fold)) {
                bad = 1;
                break;
            }
            k++;
        }
        int is_norm = strcmp(term, want_norm) == 0;
        int is_fold = strcmp(term, want_fold) == 0;
        if (!is_norm && !is_fold)
            bad = 1;
        seen_norm |= is_norm;
        seen_fold |= is_fold;
    }
    bad |= !seen_norm || !seen_fold;
    CHECKF(!bad && k == raw.n, "offset %d (\"%s\"): terms differ from "
           "\"%s\" / \"%s\" (%d of %d offsets)", at,
           at >= 0 && at < raw.n ? raw.t[at] : "", want_norm ? want_norm : "",
           want_fold ? want_fold : "", k, raw.n);
    sqlite3_finalize(st);
    free(want_norm);
    free(want_fold);
    tok_list_release(&raw);
    tok_list_release(&norm);
    sh_buf_release(&text);
    sh__qtok_close(&tk);
    sh_db_close(&db);
    return 0;
}

/* ---- search ---- */

static int test_search_fold(void)
{
    sqlite3 *db = fixture();
    CHECK(db);
    /* Every spelling finds the đất đai pages (not 10: no pageno; not 11:
       dossier pending; 14 has both words apart; 5 writes "dat dai"). */
    const char *spellings[] = {"đất đai", "dat dai", "DAT DAI", "Đất Đai",
                               "ĐẤT ĐAI", "\xc3\x90\xe1\xba\xa5t đai",
                               "  đất\tđai  "};
    for (size_t i = 0; i < SH_ARRAY_LEN(spellings); i++)
        EXPECT_IDS(db, spellings[i], "1 5 9 12 13 14 15");
    EXPECT_IDS(db, "hòa giải", "3 7");
    EXPECT_IDS(db, "hoà giải", "3 7");
    EXPECT_IDS(db, "HOÀ GIẢI", "3 7");
    EXPECT_IDS(db, "thủy lợi", "4 8");
    EXPECT_IDS(db, "thuỷ lợi", "4 8");
    EXPECT_IDS(db, "30/2020/NĐ-CP", "2");
    EXPECT_IDS(db, "nd-cp", "2");
    EXPECT_IDS(db, "Ðổi", "15");
    sh_db_close(&db);
    return 0;
}

static int test_search_phrase(void)
{
    sqlite3 *db = fixture();
    CHECK(db);
    /* Quoted: a phrase, a filter.  Unquoted: every word, anywhere. */
    EXPECT_IDS(db, "\"quyen su dung dat\"", "1");
    EXPECT_IDS(db, "\"quyền sử dụng đất\"", "1");
    EXPECT_IDS(db, "quyen su dung dat", "1 16");
    EXPECT_IDS(db, "\"quyen su dung dat\" gia dinh", "1");
    EXPECT_IDS(db, "\"dat dai\" \"gia dinh\"", "1");
    EXPECT_IDS(db, "\"dai dat\"", "");
    sh_db_close(&db);
    return 0;
}

static int test_search_rank(void)
{
    sqlite3 *db = fixture();
    CHECK(db);
    sh_hits h;
    /* With diacritics: the exact phrase pages first (tier 1), then the
       plain "dat dai" page (folded phrase), then 14 (words apart). */
    CHECK(find(db, "đất đai", &h) == SH_OK);
    CHECK(h.n == 7 && h.total == 7 && !h.approx);
    int p5 = pos_of(&h, 5), p14 = pos_of(&h, 14);
    CHECK(p5 == 5 && p14 == 6);
    for (int i = 0; i < 5; i++)
        CHECKF(h.h[i].exact == 1, "hit %d (page %lld) not exact", i,
               (long long)h.h[i].page_id);
    CHECK(h.h[5].exact == 0 && h.h[6].exact == 1);
    for (int i = 0; i < h.n; i++)
        CHECK(h.h[i].score > 0);
    sh_hits_release(&h);
    /* The same as a quoted phrase: 14 is out, 5 (folded only) last. */
    CHECK(find(db, "\"đất đai\"", &h) == SH_OK);
    CHECK(h.n == 6 && h.total == 6 && pos_of(&h, 5) == 5 &&
          pos_of(&h, 14) < 0);
    CHECK(h.h[5].exact == 0 && h.h[0].exact == 1);
    sh_hits_release(&h);
    /* Without diacritics every form is as typed; the phrase pages (5
       included) rank before 14. */
    CHECK(find(db, "dat dai", &h) == SH_OK);
    CHECK(h.n == 7 && pos_of(&h, 14) == 6 && pos_of(&h, 5) >= 0);
    for (int i = 0; i < h.n; i++)
        CHECK(h.h[i].exact == 1);
    sh_hits_release(&h);
    /* Fields of a hit. */
    CHECK(find(db, "nghị định 30/2020", &h) == SH_OK);
    CHECK(h.n == 1);
    CHECK(strcmp(h.h[0].dossier, "HS-2019-0001") == 0);
    CHECK(h.h[0].page == 2 && h.h[0].page_id == 2);
    CHECK(h.h[0].agency && strcmp(h.h[0].agency, "A") == 0);
    CHECK(strcmp(h.h[0].pdf, "pdf/HS-2019-0001.pdf") == 0);
    sh_hits_release(&h);
    sh_db_close(&db);
    return 0;
}

static int test_search_snippet(void)
{
    sqlite3 *db = fixture();
    CHECK(db);
    sh_hits h;
    CHECK(find(db, "dat dai", &h) == SH_OK);
    int p1 = pos_of(&h, 1);
    CHECK(p1 >= 0);
    CHECKF(strstr(h.h[p1].snippet, "[đất]") &&
               strstr(h.h[p1].snippet, "[đai]") &&
               strstr(h.h[p1].snippet, "Quyết định"),
           "snippet \"%s\"", h.h[p1].snippet);
    int p5 = pos_of(&h, 5);
    CHECKF(p5 >= 0 && strstr(h.h[p5].snippet, "[dat] [dai]"), "snippet \"%s\"",
           p5 >= 0 ? h.h[p5].snippet : "");
    sh_hits_release(&h);
    CHECK(find(db, "Hoà giải", &h) == SH_OK);
    CHECK(h.n == 2);
    for (int i = 0; i < h.n; i++)
        CHECKF(strstr(h.h[i].snippet, "[hoà]") ||
                   strstr(h.h[i].snippet, "[Hòa]"),
               "snippet \"%s\" keeps the page's own spelling",
               h.h[i].snippet);
    sh_hits_release(&h);
    sh_db_close(&db);
    return 0;
}

static int test_search_hostile(void)
{
    sqlite3 *db = fixture();
    CHECK(db);
    static const char *queries[] = {
        "agency : B", "\"x", "NEAR(", "a*", "-dat", "dat OR dai", "(((",
        "\"\"\"", "^", "", "   ", "...!?;:", "\"\"", "\"đất", "đất\"",
        "text: đất", "dat AND", "NOT dat", "dat NEAR/2 dai", "{text}: dat",
        "\"dat\" + \"dai\"", "*", "\xff\xfe", "d\xe1\xba", "đất \x80 đai",
        "\xcc\x81", "x\"y\"z\"", "\xc3\x28", "rowid = 1", "page_fts",
    };
    for (size_t i = 0; i < SH_ARRAY_LEN(queries); i++) {
        sh_hits h;
        CHECKF(find(db, queries[i], &h) == SH_OK, "query %zu", i);
        CHECK(h.n <= h.total);
        sh_hits_release(&h);
    }
    /* Operators are words: "OR" must be on the page too. */
    EXPECT_IDS(db, "dat OR dai", "");
    EXPECT_IDS(db, "-đất +đai*", "1 5 9 12 13 14 15");
    EXPECT_IDS(db, "\"đất", "1 5 6 9 12 13 14 15 16");
    EXPECT_IDS(db, "đất \x80 đai", "1 5 9 12 13 14 15");
    /* 10 KB of random bytes, and 10 KB of words. */
    char *big = malloc(10241);
    CHECK(big);
    unsigned x = 12345;
    for (int i = 0; i < 10240; i++) {
        x = x * 1103515245u + 12345u;
        big[i] = (char)(((x >> 16) % 255) + 1);
    }
    big[10240] = 0;
    sh_hits h;
    int rc = find(db, big, &h);
    sh_hits_release(&h);
    for (int i = 0; i < 10240; i++)
        big[i] = "dat "[i % 4];
    int rc2 = find(db, big, &h);
    int n2 = h.n;
    sh_hits_release(&h);
    free(big);
    CHECK(rc == SH_OK && rc2 == SH_OK);
    CHECK(n2 == 9);
    /* Arguments out of range are usage errors, not crashes. */
    sh_query q = {.text = "dat", .limit = -1};
    sh_err err = {0};
    CHECK(sh_search(db, &q, &h, &err) == SH_EUSAGE && h.n == 0);
    q.limit = 0;
    q.offset = -5;
    CHECK(sh_search(db, &q, &h, &err) == SH_EUSAGE);
    q.offset = 0;
    q.text = NULL;
    CHECK(sh_search(db, &q, &h, &err) == SH_OK && h.n == 0 && h.total == 0);
    sh_db_close(&db);
    return 0;
}

static int search_ids(sqlite3 *db, sh_query *q, char *buf, size_t n,
                      int *total)
{
    sh_hits h;
    sh_err err = {0};
    int rc = sh_search(db, q, &h, &err);
    if (rc) {
        fprintf(stderr, "  search: %s\n", err.msg);
        return rc;
    }
    ids_of(&h, buf, n);
    *total = h.total;
    sh_hits_release(&h);
    return 0;
}

static int search_filters(void)
{
    sqlite3 *db = fixture();
    CHECK(db);
    char got[256];
    int total;
    const char *only_a[] = {"A", NULL}, *only_b[] = {"B", NULL};
    const char *none[] = {NULL}, *both[] = {"A", "B", NULL};
    sh_query q = {.text = "đất đai", .agencies = only_a};
    CHECK(search_ids(db, &q, got, sizeof got, &total) == 0);
    CHECKF(strcmp(got, "1 12 13 14 15") == 0 && total == 5, "A: {%s} %d",
           got, total);
    q.agencies = only_b;
    CHECK(search_ids(db, &q, got, sizeof got, &total) == 0);
    CHECKF(strcmp(got, "5 9") == 0 && total == 2, "B: {%s} %d", got, total);
    q.agencies = none;
    CHECK(search_ids(db, &q, got, sizeof got, &total) == 0);
    CHECK(strcmp(got, "") == 0 && total == 0);
    q.agencies = both;
    CHECK(search_ids(db, &q, got, sizeof got, &total) == 0);
    CHECK(strcmp(got, "1 5 9 12 13 14 15") == 0 && total == 7);
    /* agency and agencies together: both apply. */
    q.agency = "B";
    q.agencies = only_a;
    CHECK(search_ids(db, &q, got, sizeof got, &total) == 0);
    CHECK(strcmp(got, "") == 0 && total == 0);
    q.agencies = NULL;
    CHECK(search_ids(db, &q, got, sizeof got, &total) == 0);
    CHECK(strcmp(got, "5 9") == 0);
    /* Prefix: % and _ are plain characters. */
    q.agency = NULL;
    q.dossier_prefix = "HS_50%";
    CHECK(search_ids(db, &q, got, sizeof got, &total) == 0);
    CHECKF(strcmp(got, "12") == 0 && total == 1, "HS_50%%: {%s}", got);
    q.dossier_prefix = "HS-2020";
    CHECK(search_ids(db, &q, got, sizeof got, &total) == 0);
    CHECKF(strcmp(got, "5 14") == 0, "HS-2020: {%s}", got);
    q.dossier_prefix = "%";
    CHECK(search_ids(db, &q, got, sizeof got, &total) == 0);
    CHECK(strcmp(got, "") == 0);
    /* Year: the first four digits of the id. */
    q.dossier_prefix = NULL;
    q.year = 2021;
    CHECK(search_ids(db, &q, got, sizeof got, &total) == 0);
    CHECKF(strcmp(got, "9") == 0, "2021: {%s}", got);
    q.year = 2019;
    CHECK(search_ids(db, &q, got, sizeof got, &total) == 0);
    CHECKF(strcmp(got, "1 15") == 0, "2019: {%s}", got);
    /* A read-only connection searches too. */
    sh_db_close(&db);
    sh_err err = {0};
    CHECK(sh_db_open(sh_test_tmpdir(), 1, &db, &err) == SH_OK);
    q.year = 0;
    q.agencies = only_b;
    CHECK(search_ids(db, &q, got, sizeof got, &total) == 0);
    CHECK(strcmp(got, "5 9") == 0);
    sh_db_close(&db);
    return 0;
}

static int test_search_filters(void)
{
    return search_filters();
}

/* A catalog made before page_key: its searches check pages from the page
   rows, with the same hits; its next writing open adds the index. */
static int test_search_without_page_key(void)
{
    sqlite3 *db = fixture();
    CHECK(db);
    const char *only_a[] = {"A", NULL};
    sh_query q = {.text = "đất đai", .agencies = only_a};
    char with[256], without[256];
    int total;
    sh_err err = {0};
    CHECK(search_ids(db, &q, with, sizeof with, &total) == 0);
    CHECK(sh_db_exec(db, "DROP INDEX page_key", &err) == SH_OK);
    CHECK(search_ids(db, &q, without, sizeof without, &total) == 0);
    CHECKF(strcmp(with, without) == 0 && strcmp(with, "1 12 13 14 15") == 0,
           "with page_key {%s}, without {%s}", with, without);
    sh_db_close(&db);
    CHECK(sh_db_open(sh_test_tmpdir(), 0, &db, &err) == SH_OK);
    CHECK(count_of(db, "SELECT count(*) FROM sqlite_master WHERE name = ?1",
                   "page_key") == 1);
    sh_db_close(&db);
    return 0;
}

/* Counting without reading (check.c sh__check_count): the matches not
   shown are counted from the catalog's hidden pages, or from a filter's
   collected pages, and the total stays exact with unplaced pages and a
   pending dossier's pages among the matches (indexed here on purpose).
   A catalog without page_unplaced checks every match, with the same
   total; a memo's hidden pages are read again after a change. */
static int64_t pages_read;
static void count_read(int64_t id)
{
    (void)id;
    pages_read++;
}

static int test_search_counts_unread(void)
{
    sqlite3 *db = NULL;
    sh_err err = {0};
    CHECK(sh_db_open(sh_test_tmpdir(), 0, &db, &err) == SH_OK);
    enum { N = 600, PER = 5 };
    CHECK(sh_db_exec(db, "BEGIN", &err) == SH_OK);
    char did[32], text[96];
    int visible = 0, visible_y = 0;
    for (int i = 1; i <= N; i++) {
        int d = (i - 1) / PER;  /* dossier 3 pending; 0 and 1 agency Y */
        snprintf(did, sizeof did, "HS-2023-%03d", d);
        if ((i - 1) % PER == 0)
            CHECK(add_dossier(db, did, d < 2 ? "Y" : "X",
                              d == 3 ? "pending" : "done", PER) == 0);
        int placed = i % 7 != 0;
        snprintf(text, sizeof text, "Biên bản bàn giao số %d", i);
        CHECK(add_page(db, i, did, placed ? (i - 1) % PER + 1 : 0, text) ==
              0);
        visible += placed && d != 3;
        visible_y += placed && d < 2;
    }
    CHECK(sh_db_exec(db, "COMMIT", &err) == SH_OK);
    sh_search_memo *memo = NULL;
    CHECK(sh_search_memo_open(&memo) == SH_OK);
    sh_query q = {.text = "biên bản", .limit = 10, .memo = memo};
    sh_hits h;
    sh__check_hook = count_read;
    int rc = 0;
    for (int pass = 0; !rc && pass < 2; pass++) {   /* read, then kept */
        pages_read = 0;
        CHECK(sh_search(db, &q, &h, &err) == SH_OK);
        rc = h.total != visible || h.approx || h.n != 10 || pages_read > 20;
        CHECKF(!rc, "pass %d: total %d (want %d), %d hits, %lld pages read",
               pass, h.total, visible, h.n, (long long)pages_read);
        sh_hits_release(&h);
    }
    /* A page deep in the results: counted the same way. */
    q.offset = 300;
    pages_read = 0;
    CHECK(sh_search(db, &q, &h, &err) == SH_OK);
    CHECKF(h.total == visible && h.n == 10 && pages_read <= 20,
           "offset 300: total %d, %d hits, %lld read", h.total, h.n,
           (long long)pages_read);
    sh_hits_release(&h);
    q.offset = 0;
    /* A filter whose pages were collected (Y: 10 pages of 600) counts
       from them: only the 3 hits shown are read. */
    const char *only_y[] = {"Y", NULL};
    q.agencies = only_y;
    q.limit = 3;
    pages_read = 0;
    CHECK(sh_search(db, &q, &h, &err) == SH_OK);
    CHECKF(h.total == visible_y && !h.approx && h.n == 3 && pages_read == 3,
           "Y: total %d, want %d; %lld read", h.total, visible_y,
           (long long)pages_read);
    sh_hits_release(&h);
    /* An officer cleared for every agency of the catalog (and one more)
       counts as with no filter; one agency short, each match is read. */
    const char *both[] = {"X", "Y", NULL}, *more[] = {"Z", "Y", "X", NULL};
    const char *only_x[] = {"X", NULL};
    const char *const *lists[] = {both, more, only_x};
    q.limit = 10;
    for (int k = 0; k < 3; k++) {
        q.agencies = lists[k];
        pages_read = 0;
        CHECK(sh_search(db, &q, &h, &err) == SH_OK);
        int want = k < 2 ? visible : visible - visible_y;
        CHECKF(h.total == want && (k < 2 ? pages_read <= 20
                                          : pages_read >= want),
               "agencies %d: total %d, want %d; %lld read", k, h.total, want,
               (long long)pages_read);
        sh_hits_release(&h);
    }
    q.agencies = NULL;
    /* The catalog changes: dossier 5 goes back to pending. */
    CHECK(sh_db_exec(db, "UPDATE dossier SET state = 'pending' "
                         "WHERE id = 'HS-2023-005'", &err) == SH_OK);
    int in5 = count_of(db, "SELECT count(*) FROM page WHERE dossier = ?1 AND "
                       "pageno IS NOT NULL", "HS-2023-005");
    CHECK(in5 >= 3);
    CHECK(sh_search(db, &q, &h, &err) == SH_OK);
    CHECKF(h.total == visible - in5, "after the change: total %d, want %d",
           h.total, visible - in5);
    sh_hits_release(&h);
    /* A dossier of no agency: a list of agencies no longer keeps all. */
    CHECK(add_dossier(db, "HS-2023-NONE", NULL, "done", 1) == 0);
    q.agencies = both;
    pages_read = 0;
    CHECK(sh_search(db, &q, &h, &err) == SH_OK);
    CHECKF(h.total == visible - in5 && pages_read >= N - PER,
           "no agency: total %d, %lld read", h.total, (long long)pages_read);
    sh_hits_release(&h);
    q.agencies = NULL;
    /* Without the index: every match read, the same total. */
    CHECK(sh_db_exec(db, "DROP INDEX page_unplaced", &err) == SH_OK);
    pages_read = 0;
    CHECK(sh_search(db, &q, &h, &err) == SH_OK);
    CHECKF(h.total == visible - in5 && pages_read >= N - PER,
           "without page_unplaced: total %d, %lld read", h.total,
           (long long)pages_read);
    sh_hits_release(&h);
    sh__check_hook = NULL;
    sh_search_memo_close(&memo);
    sh_db_close(&db);
    return 0;
}

/* Pruning (rank.c): the same hits, in the same order with the same
   scores, and the same totals, with and without it, over tiers, lengths,
   hidden pages, a collected filter and deep pages; and it does prune. */
static int64_t rows_pruned;
static void count_pruned(void)
{
    rows_pruned++;
}

static int test_search_prune_same(void)
{
    sqlite3 *db = NULL;
    sh_err err = {0};
    CHECK(sh_db_open(sh_test_tmpdir(), 0, &db, &err) == SH_OK);
    enum { N = 900, PER = 6 };
    static const char *const forms[] = {
        "biên bản", "bien ban", "biên nhận bản", "bản biên", "biến bản",
        "biên bản biên bản", "Biên Bản"};
    CHECK(sh_db_exec(db, "BEGIN", &err) == SH_OK);
    char did[32], text[1024];
    for (int i = 1; i <= N; i++) {
        int d = (i - 1) / PER;
        snprintf(did, sizeof did, "HS-2021-%03d", d);
        if ((i - 1) % PER == 0)
            CHECK(add_dossier(db, did, d < 2 ? "Y" : "X",
                              d == 7 ? "pending" : "done", PER) == 0);
        size_t len = 0;
        int filler = (i * 37) % 61;
        for (int k = 0; k < filler && len < 700; k++)
            len += (size_t)snprintf(text + len, sizeof text - len, "%s ",
                                    k % 3 ? "hồ sơ" : "lưu trữ");
        snprintf(text + len, sizeof text - len, "%s số %d",
                 forms[(i * 13) % 7], i);
        CHECK(add_page(db, i, did, i % 11 ? (i - 1) % PER + 1 : 0, text) ==
              0);
    }
    CHECK(sh_db_exec(db, "COMMIT", &err) == SH_OK);
    const char *only_y[] = {"Y", NULL};
    const struct {
        const char *text;
        int offset, limit;
        const char *const *agencies;
    } qs[] = {{"biên bản", 0, 10, NULL},  {"biên bản", 20, 10, NULL},
              {"biên bản", 300, 25, NULL}, {"bien ban", 0, 5, NULL},
              {"bản", 0, 10, NULL},        {"biên bản", 0, 3, only_y}};
    sh__rank_prune_hook = count_pruned;
    rows_pruned = 0;
    int rc = 0;
    for (size_t k = 0; !rc && k < sizeof qs / sizeof qs[0]; k++) {
        sh_query q = {.text = qs[k].text, .offset = qs[k].offset,
                      .limit = qs[k].limit, .agencies = qs[k].agencies};
        sh_hits a, b;
        sh__search_prune = 1;
        CHECK(sh_search(db, &q, &a, &err) == SH_OK);
        sh__search_prune = 0;
        CHECK(sh_search(db, &q, &b, &err) == SH_OK);
        sh__search_prune = 1;
        rc = a.n != b.n || a.total != b.total || a.approx != b.approx ||
             a.n == 0;
        for (int i = 0; !rc && i < a.n; i++)
            rc = a.h[i].page_id != b.h[i].page_id ||
                 a.h[i].score != b.h[i].score || a.h[i].tier != b.h[i].tier;
        CHECKF(!rc, "'%s' offset %d: %d hits, total %d pruned; %d, %d not",
               qs[k].text, qs[k].offset, a.n, a.total, b.n, b.total);
        sh_hits_release(&a);
        sh_hits_release(&b);
    }
    sh__rank_prune_hook = NULL;
    CHECKF(rows_pruned > 100, "%lld rows pruned", (long long)rows_pruned);
    sh_db_close(&db);
    return 0;
}

/* The same filters with the selectivity estimated from a sample of the
   dossiers (as in a catalog of over 4,096): its SQL runs for every
   filter kind, and the hits and totals are the same. */
static int test_search_filters_sampled(void)
{
    int64_t saved = sh__search_sample_from;
    sh__search_sample_from = 0;
    int rc = search_filters();
    sh__search_sample_from = saved;
    return rc;
}

/* A clock on which each reading is a second after the last. */
static double fake_now;
static double fast_clock(void)
{
    return fake_now += 1.0;
}

/* The time limit: a search whose clock passes it while it runs fails with
   SH_ETIMEOUT, says so, and leaves no hits; the same search within its
   limit, and the next search on that connection, run as before. */
static int test_search_time_limit(void)
{
    sqlite3 *db = fixture();
    CHECK(db);
    sh_query q = {.text = "đất đai", .time_limit_ms = 10000};
    sh_hits h;
    sh_err err = {0};
    CHECK(sh_search(db, &q, &h, &err) == SH_OK && h.n > 0);
    int n = h.n;
    sh_hits_release(&h);
    double (*saved)(void) = sh__search_clock;
    int ops = sh__search_check_ops;
    sh__search_clock = fast_clock;
    sh__search_check_ops = 1;
    q.time_limit_ms = 1500;
    int rc = sh_search(db, &q, &h, &err);
    sh__search_clock = saved;
    sh__search_check_ops = ops;
    CHECKF(rc == SH_ETIMEOUT && h.n == 0 && strstr(err.msg, "time limit"),
           "rc %d, %d hits, '%s'", rc, h.n, err.msg);
    sh_hits_release(&h);
    q.time_limit_ms = 10000;
    CHECK(sh_search(db, &q, &h, &err) == SH_OK && h.n == n);
    sh_hits_release(&h);
    q.time_limit_ms = 0;
    CHECK(sh_search(db, &q, &h, &err) == SH_OK && h.n == n);
    sh_hits_release(&h);
    sh_db_close(&db);
    return 0;
}

static int test_search_pages(void)
{
    sqlite3 *db = fixture();
    CHECK(db);
    /* "đất" (folded: dat) is on 9 visible pages; read them 2 at a time. */
    int seen[32] = {0}, count = 0;
    for (int off = 0; off < 12; off += 2) {
        sh_query q = {.text = "đất", .limit = 2, .offset = off};
        sh_hits h;
        sh_err err = {0};
        CHECK(sh_search(db, &q, &h, &err) == SH_OK);
        CHECK(h.total == 9 && !h.approx);
        CHECK(h.n == (off + 2 <= 9 ? 2 : off < 9 ? 9 - off : 0));
        for (int i = 0; i < h.n; i++) {
            int64_t id = h.h[i].page_id;
            CHECK(id > 0 && id < 32 && !seen[id]);
            seen[id] = 1;
            count++;
        }
        sh_hits_release(&h);
    }
    CHECK(count == 9);
    CHECK(!seen[10] && !seen[11]);
    /* Unindex page 15: it is gone; re-index: back. */
    sh_err err = {0};
    CHECK(sh_index_remove(db, 15, pages[14].text, &err) == SH_OK);
    EXPECT_IDS(db, "Ðổi", "");
    CHECK(sh_index_add(db, 15, pages[14].text, &err) == SH_OK);
    EXPECT_IDS(db, "đổi", "15");
    sh_db_close(&db);
    return 0;
}

/* More matches than are ranked at once: the tier-1 pages still come
   first, pages of results never overlap, filters hold, total is close. */
static int test_search_many(void)
{
    sqlite3 *db = NULL;
    sh_err err = {0};
    CHECK(sh_db_open(sh_test_tmpdir(), 0, &db, &err) == SH_OK);
    enum { N = 9000, PER = 50 };
    CHECK(sh_db_exec(db, "BEGIN", &err) == SH_OK);
    char did[32], text[160];
    int visible = 0, visible_y = 0, visible_z = 0, visible_w = 0;
    for (int i = 1; i <= N; i++) {
        int d = (i - 1) / PER;
        /* Dossier 0 belongs to Y (50 pages, 0.6%: the walks keep to its
           pages), 1..4 to Z (200 pages, 2.2%: checked page by page), 10
           and 170 to W (two ranges of ids far apart). */
        const char *agency = d < 1 ? "Y" : d < 5 ? "Z"
                             : d == 10 || d == 170 ? "W" : "X";
        snprintf(did, sizeof did, "HS-2022-%05d", d);
        if ((i - 1) % PER == 0)
            CHECK(add_dossier(db, did, agency, "done", PER) == 0);
        /* Pages 5, 6, 7 (the oldest) write "lưu trữ"; the rest "luu tru";
           every 97th page is not placed in the PDF. */
        int placed = i % 97 != 0;
        snprintf(text, sizeof text, "Hồ sơ %s số %d của %s",
                 i >= 5 && i <= 7 ? "lưu trữ" : "luu tru", i, agency);
        CHECK(add_page(db, i, did, placed ? (i - 1) % PER + 1 : 0, text) ==
              0);
        visible += placed;
        visible_y += placed && d < 1;
        visible_z += placed && d >= 1 && d < 5;
        visible_w += placed && (d == 10 || d == 170);
    }
    CHECK(sh_db_exec(db, "COMMIT", &err) == SH_OK);

    sh_hits h;
    CHECK(find(db, "lưu trữ", &h) == SH_OK);
    CHECK(h.n == 20 && h.approx == 1);
    CHECKF(h.total > visible * 9 / 10 && h.total < visible * 11 / 10,
           "estimated total %d, really %d", h.total, visible);
    CHECK(h.h[0].page_id >= 5 && h.h[0].page_id <= 7 && h.h[0].exact);
    CHECK(h.h[1].page_id >= 5 && h.h[1].page_id <= 7 && h.h[1].exact);
    CHECK(h.h[2].page_id >= 5 && h.h[2].page_id <= 7 && h.h[2].exact);
    CHECK(!h.h[3].exact);
    sh_hits_release(&h);

    /* Page through everything: each visible page exactly once. */
    char *seen = calloc(N + 1, 1);
    CHECK(seen);
    int count = 0;
    for (int off = 0; off < N; off += 1000) {
        sh_query q = {.text = "luu tru", .limit = 1000, .offset = off};
        CHECK(sh_search(db, &q, &h, &err) == SH_OK);
        for (int i = 0; i < h.n; i++) {
            int64_t id = h.h[i].page_id;
            CHECKF(id >= 1 && id <= N && !seen[id] && id % 97 != 0,
                   "offset %d: page %lld", off, (long long)id);
            seen[id] = 1;
            count++;
        }
        sh_hits_release(&h);
    }
    free(seen);
    CHECKF(count == visible, "paged through %d pages, want %d", count,
           visible);

    /* Selective filters: only Y (counted exactly), only Z (all found). */
    const char *only_y[] = {"Y", NULL}, *only_z[] = {"Z", NULL};
    const char *only_x[] = {"X", NULL};
    sh_query q = {.text = "luu tru", .agencies = only_y, .limit = 1000};
    CHECK(sh_search(db, &q, &h, &err) == SH_OK);
    CHECKF(h.total == visible_y && h.n == visible_y && !h.approx,
           "Y: %d hits, total %d, want %d", h.n, h.total, visible_y);
    for (int i = 0; i < h.n; i++)
        CHECK(h.h[i].agency && strcmp(h.h[i].agency, "Y") == 0);
    sh_hits_release(&h);
    const char *only_w[] = {"W", NULL};
    q.agencies = only_w;
    CHECK(sh_search(db, &q, &h, &err) == SH_OK);
    CHECKF(h.total == visible_w && h.n == visible_w && !h.approx,
           "W: %d hits, total %d, want %d", h.n, h.total, visible_w);
    for (int i = 0; i < h.n; i++)
        CHECK(h.h[i].agency && strcmp(h.h[i].agency, "W") == 0);
    CHECK(h.h[0].page_id > 8500 && h.h[h.n - 1].page_id <= 550);
    sh_hits_release(&h);
    q.agencies = only_z;
    CHECK(sh_search(db, &q, &h, &err) == SH_OK);
    CHECKF(h.total == visible_z && h.n == visible_z,
           "Z: %d hits, total %d, want %d", h.n, h.total, visible_z);
    for (int i = 0; i < h.n; i++)
        CHECK(h.h[i].agency && strcmp(h.h[i].agency, "Z") == 0);
    sh_hits_release(&h);
    /* A broad filter over many matches: never a page of Y. */
    q.agencies = only_x;
    q.offset = 3500;
    CHECK(sh_search(db, &q, &h, &err) == SH_OK);
    CHECK(h.n == 1000 && h.approx);
    for (int i = 0; i < h.n; i++)
        CHECK(h.h[i].agency && strcmp(h.h[i].agency, "X") == 0);
    sh_hits_release(&h);
    sh_db_close(&db);
    return 0;
}

/* Filters whose pages all lie among the oldest: a document type only
   the first 15 % of the dossiers have, and an agency of those dossiers
   alone.  Both keep over 2 % of the pages, but walking newest first would
   check every newer candidate and refuse it, so both are planned as
   selective ("patchy", walk.c estimate_kept), exactly and from a sample;
   a type on every second dossier is not.  The hits are the filter's
   pages, each once. */
static int last_plan = -1;
static void record_plan(int use_ids)
{
    last_plan = use_ids;
}

/* A document of type `type` over pages first..last of a dossier. */
static int add_document(sqlite3 *db, const char *dossier, int ordinal,
                        int first, int last, const char *type)
{
    char o[16], f[16], l[16];
    snprintf(o, sizeof o, "%d", ordinal);
    snprintf(f, sizeof f, "%d", first);
    snprintf(l, sizeof l, "%d", last);
    sh_err err = {0};
    return sh_db_run(db,
                     "INSERT INTO document(dossier, ordinal, first_page, "
                     "last_page, type_name) VALUES(?1, CAST(?2 AS INTEGER), "
                     "CAST(?3 AS INTEGER), CAST(?4 AS INTEGER), ?5)",
                     5, (const char *[]){dossier, o, f, l, type}, &err)
               ? 1
               : 0;
}

/* Page through q 1000 at a time: `want` pages in all, each once, every
   id at most max_id, and (first_two) only pages 1-2 of a dossier. */
static int patchy_hits(sqlite3 *db, sh_query *q, int want, int max_id,
                       int first_two)
{
    char *seen = calloc(2001, 1);
    CHECK(seen);
    int count = 0;
    sh_hits h;
    sh_err err = {0};
    for (int off = 0; off < 2000; off += 1000) {
        q->limit = 1000;
        q->offset = off;
        CHECK(sh_search(db, q, &h, &err) == SH_OK);
        for (int i = 0; i < h.n; i++) {
            int64_t id = h.h[i].page_id;
            CHECKF(id >= 1 && id <= max_id && !seen[id] &&
                       (!first_two || (id - 1) % 4 < 2),
                   "page %lld", (long long)id);
            seen[id] = 1;
            count++;
        }
        sh_hits_release(&h);
    }
    free(seen);
    CHECKF(count == want, "%d pages, want %d", count, want);
    return 0;
}

enum { PD_N = 400, PD_PER = 4, PD_OLD = 60 };

/* 400 dossiers of 4 pages; the first 60 of agency PD_OLD, with a Tờ trình
   on pages 1-2; every second one with a Công văn on pages 1-2. */
static int patchy_catalog(sqlite3 *db)
{
    sh_err err = {0};
    CHECK(sh_db_exec(db, "BEGIN", &err) == SH_OK);
    char did[32], text[96];
    for (int d = 0; d < PD_N; d++) {
        snprintf(did, sizeof did, "HS-2022-%05d", d);
        CHECK(add_dossier(db, did, d < PD_OLD ? "OLD" : "NEW", "done",
                          PD_PER) == 0);
        for (int k = 1; k <= PD_PER; k++) {
            snprintf(text, sizeof text, "Hồ sơ lưu trữ số %d",
                     d * PD_PER + k);
            CHECK(add_page(db, d * PD_PER + k, did, k, text) == 0);
        }
        /* Tờ trình: pages 1-2 of the oldest dossiers; công văn: pages
           1-2 of every second dossier. */
        if (d < PD_OLD)
            CHECK(add_document(db, did, 1, 1, 2, "Tờ trình") == 0);
        if (d % 2 == 0)
            CHECK(add_document(db, did, 2, 1, 2, "Công văn") == 0);
    }
    CHECK(sh_db_exec(db, "COMMIT", &err) == SH_OK);
    return 0;
}

static int patchy_filters(void)
{
    sqlite3 *db = NULL;
    sh_err err = {0};
    CHECK(sh_db_open(sh_test_tmpdir(), 0, &db, &err) == SH_OK);
    CHECK(patchy_catalog(db) == 0);
    sh_query q = {.text = "luu tru", .doc_type = "to trinh"};
    last_plan = -1;
    CHECK(patchy_hits(db, &q, PD_OLD * 2, PD_OLD * PD_PER, 1) == 0);
    CHECKF(last_plan == 1, "type of the oldest dossiers: plan %d",
           last_plan);
    const char *old[] = {"OLD", NULL};
    q = (sh_query){.text = "luu tru", .agencies = old};
    last_plan = -1;
    CHECK(patchy_hits(db, &q, PD_OLD * PD_PER, PD_OLD * PD_PER, 0) == 0);
    CHECKF(last_plan == 1, "agency of the oldest dossiers: plan %d",
           last_plan);
    q = (sh_query){.text = "luu tru", .doc_type = "Công văn"};
    last_plan = -1;
    CHECK(patchy_hits(db, &q, PD_N, PD_N * PD_PER, 1) == 0);
    CHECKF(last_plan == 0, "type of every second dossier: plan %d",
           last_plan);
    /* With a memo that keeps one bitmap at most: the same pages, each
       filter planned again when it comes back. */
    sh_search_memo *m = NULL;
    CHECK(sh_search_memo_open(&m) == SH_OK);
    size_t saved = sh__memo_bytes;
    sh__memo_bytes = (PD_N * PD_PER + 64) / 8 + 64;
    int bad = 0;
    for (int round = 0; round < 4 && !bad; round++) {
        q = round % 2 ? (sh_query){.text = "luu tru", .agencies = old}
                      : (sh_query){.text = "luu tru", .doc_type = "to trinh"};
        q.memo = m;
        bad = round % 2 ? patchy_hits(db, &q, PD_OLD * PD_PER, PD_OLD * PD_PER, 0)
                        : patchy_hits(db, &q, PD_OLD * 2, PD_OLD * PD_PER, 1);
    }
    sh__memo_bytes = saved;
    sh_search_memo_close(&m);
    CHECK(!bad);
    sh_db_close(&db);
    return 0;
}

/* Two connections with a memo each (a server's pool): a filter planned
   on one is not planned again on the other (plans.c); once the catalog
   changes, it is, and the new page is found on both. */
static int test_search_shared_plans(void)
{
    sqlite3 *db = NULL, *a = NULL, *b = NULL;
    sh_err err = {0};
    CHECK(sh_db_open(sh_test_tmpdir(), 0, &db, &err) == SH_OK);
    CHECK(patchy_catalog(db) == 0);
    CHECK(sh_db_open(sh_test_tmpdir(), 1, &a, &err) == SH_OK);
    CHECK(sh_db_open(sh_test_tmpdir(), 1, &b, &err) == SH_OK);
    sh_search_memo *ma = NULL, *mb = NULL;
    CHECK(sh_search_memo_open(&ma) == SH_OK && sh_search_memo_open(&mb) == 0);
    sh__search_plan_hook = record_plan;
    const char *old[] = {"OLD", NULL};
    sh_query q = {.text = "luu tru", .agencies = old, .memo = ma};
    int bad = 0;
    /* b's first search (a new memo cannot tell what changed), with no
       filter, comes first: it starts a generation of its own */
    sh_query any = {.text = "luu tru", .memo = mb};
    bad |= patchy_hits(b, &any, PD_N * PD_PER, PD_N * PD_PER, 0);
    q.memo = ma;
    last_plan = -1;
    bad |= patchy_hits(a, &q, PD_OLD * PD_PER, PD_OLD * PD_PER, 0);
    int planned_a = last_plan;
    q.memo = mb;
    last_plan = -1;
    bad |= patchy_hits(b, &q, PD_OLD * PD_PER, PD_OLD * PD_PER, 0);
    int planned_b = last_plan;
    /* a page more in an PD_OLD dossier */
    bad |= add_page(db, PD_N * PD_PER + 1, "HS-2022-00003", PD_PER + 1,
                    "Hồ sơ lưu trữ thêm");
    last_plan = -1;
    bad |= patchy_hits(b, &q, PD_OLD * PD_PER + 1, PD_N * PD_PER + 1, 0);
    int replanned_b = last_plan;
    q.memo = ma;
    bad |= patchy_hits(a, &q, PD_OLD * PD_PER + 1, PD_N * PD_PER + 1, 0);
    sh__search_plan_hook = NULL;
    sh_search_memo_close(&ma);
    sh_search_memo_close(&mb);
    sh_db_close(&a);
    sh_db_close(&b);
    sh_db_close(&db);
    CHECK(!bad);
    CHECKF(planned_a == 1 && planned_b == -1 && replanned_b == 1,
           "planned on a %d, then on b %d, after the change on b %d",
           planned_a, planned_b, replanned_b);
    return 0;
}

static int test_search_patchy_filter(void)
{
    sh__search_plan_hook = record_plan;
    int rc = patchy_filters();
    sh__search_plan_hook = NULL;
    return rc;
}

static int test_search_patchy_filter_sampled(void)
{
    int64_t saved = sh__search_sample_from;
    sh__search_sample_from = 0;
    int rc = test_search_patchy_filter();
    sh__search_sample_from = saved;
    return rc;
}

/* The index merged into one b-tree a step at a time: from several (one
   per commit, merged by levels), to one, with the same hits before and
   after, and a step with nothing left to merge says so. */
static int test_index_optimize(void)
{
    sqlite3 *db = NULL;
    sh_err err = {0};
    CHECK(sh_db_open(sh_test_tmpdir(), 0, &db, &err) == SH_OK);
    char did[32], text[96];
    for (int d = 0; d < 40; d++) {
        snprintf(did, sizeof did, "HS-2023-%04d", d);
        CHECK(sh_db_exec(db, "BEGIN", &err) == SH_OK);
        CHECK(add_dossier(db, did, d % 2 ? "A" : "B", "done", 5) == 0);
        for (int k = 1; k <= 5; k++) {
            snprintf(text, sizeof text, "Hồ sơ đất đai số %d của xã %s",
                     d * 5 + k, d % 3 ? "Tân Phú" : "Bình An");
            CHECK(add_page(db, d * 5 + k, did, k, text) == 0);
        }
        CHECK(sh_db_exec(db, "COMMIT", &err) == SH_OK);
    }
    int n = 0;
    CHECK(sh_index_segments(db, &n, &err) == SH_OK);
    CHECKF(n > 1, "%d segments after 40 commits", n);
    sh_query q = {.text = "đất đai Tân Phú", .limit = 100};
    char before[1024], after[1024];
    int t1, t2;
    CHECK(search_ids(db, &q, before, sizeof before, &t1) == 0);
    int worked = 1, steps = 0;
    while (worked && steps < 1000) {
        CHECK(sh_index_optimize_step(db, 4, &worked, &err) == SH_OK);
        steps += worked;
    }
    CHECKF(steps > 0 && !worked, "%d steps, worked %d", steps, worked);
    CHECK(sh_index_segments(db, &n, &err) == SH_OK);
    CHECKF(n == 1, "%d segments after the merge", n);
    CHECK(search_ids(db, &q, after, sizeof after, &t2) == 0);
    CHECKF(strcmp(before, after) == 0 && t1 == t2 && t1 > 0,
           "before {%s} %d, after {%s} %d", before, t1, after, t2);
    CHECK(sh_index_optimize_step(db, 4, &worked, &err) == SH_OK && !worked);
    sh_db_close(&db);
    return 0;
}

/* A quoted phrase of words on every page, on few pages itself: its
   matches are found window by window (PHRASE_SCAN pages holding all its
   words, see search.c), and paging still gives each page once. */
static int test_search_rare_phrase(void)
{
    sqlite3 *db = NULL;
    sh_err err = {0};
    CHECK(sh_db_open(sh_test_tmpdir(), 0, &db, &err) == SH_OK);
    enum { N = 30000, PER = 100, EVERY = 97 };
    CHECK(sh_db_exec(db, "BEGIN", &err) == SH_OK);
    sh_indexer *ix = NULL;
    CHECK(sh_indexer_open(db, &ix, &err) == SH_OK);
    sqlite3_stmt *st = NULL;
    CHECK(sqlite3_prepare_v2(db,
                             "INSERT INTO page(id, dossier, pageno, "
                             "source_name, source_sha256, frame, state, "
                             "text) VALUES(?1, ?2, ?3, 's.tif', 'x', ?1, "
                             "'ocr', ?4)",
                             -1, &st, NULL) == SQLITE_OK);
    char did[32], text[96];
    int want = 0;
    for (int i = 1; i <= N; i++) {
        int d = (i - 1) / PER;
        snprintf(did, sizeof did, "HS-2023-%05d", d);
        if ((i - 1) % PER == 0)
            CHECK(add_dossier(db, did, "A", "done", PER) == 0);
        int hit = i % EVERY == 0;
        want += hit;
        snprintf(text, sizeof text, hit ? "bản sao lưu trữ số %d"
                                        : "lưu bản sao trữ số %d", i);
        sqlite3_reset(st);
        sqlite3_bind_int(st, 1, i);
        sqlite3_bind_text(st, 2, did, -1, SQLITE_STATIC);
        sqlite3_bind_int(st, 3, (i - 1) % PER + 1);
        sqlite3_bind_text(st, 4, text, -1, SQLITE_STATIC);
        CHECK(sqlite3_step(st) == SQLITE_DONE);
        CHECK(sh_indexer_add(ix, i, text, &err) == SH_OK);
    }
    sqlite3_finalize(st);
    sh_indexer_close(&ix);
    CHECK(sh_db_exec(db, "COMMIT", &err) == SH_OK);

    static const char *const queries[] = {"\"lưu trữ\"", "\"luu tru\"",
                                          "\"sao lưu trữ\""};
    for (size_t qi = 0; qi < SH_ARRAY_LEN(queries); qi++) {
        char *seen = calloc(N + 1, 1);
        CHECK(seen);
        int count = 0, total = 0, approx = 0;
        int64_t prev_block_min = INT64_MAX;
        for (int off = 0; off < want + 40; off += 40) {
            sh_query q = {.text = queries[qi], .limit = 40, .offset = off};
            sh_hits h;
            CHECK(sh_search(db, &q, &h, &err) == SH_OK);
            for (int i = 0; i < h.n; i++) {
                int64_t id = h.h[i].page_id;
                CHECKF(id >= 1 && id <= N && id % EVERY == 0 && !seen[id],
                       "%s offset %d: page %lld", queries[qi], off,
                       (long long)id);
                seen[id] = 1;
                count++;
                if (id < prev_block_min)
                    prev_block_min = id;
                CHECK(h.h[i].exact == 1);
            }
            if (off == 0) {
                total = h.total;
                approx = h.approx;
            }
            sh_hits_release(&h);
        }
        free(seen);
        CHECKF(count == want, "%s: paged through %d pages, want %d",
               queries[qi], count, want);
        CHECKF(approx && total > want * 8 / 10 && total < want * 12 / 10,
               "%s: total %d%s, really %d", queries[qi], total,
               approx ? "~" : "", want);
    }
    /* The newest come first: the first hit is among the newest window. */
    sh_hits h;
    sh_query q = {.text = "\"lưu trữ\"", .limit = 5};
    CHECK(sh_search(db, &q, &h, &err) == SH_OK);
    CHECK(h.n == 5 && h.h[0].page_id > N / 2);
    sh_hits_release(&h);
    sh_db_close(&db);
    return 0;
}

/* The hits of q as one line: total, approx, then id:score:exact each. */
static int hits_line(sqlite3 *db, const sh_query *q, sh_buf *b)
{
    sh_hits h;
    sh_err err = {0};
    b->len = 0;
    if (sh_search(db, q, &h, &err) != SH_OK) {
        fprintf(stderr, "  search \"%s\": %s\n", q->text, err.msg);
        return -1;
    }
    int bad = sh_buf_printf(b, "%d%s n=%d |", h.total, h.approx ? "~" : "",
                            h.n);
    for (int i = 0; !bad && i < h.n; i++)
        bad = sh_buf_printf(b, " %lld:%.17g:%d:%s", (long long)h.h[i].page_id,
                            h.h[i].score, h.h[i].exact, h.h[i].snippet);
    sh_hits_release(&h);
    return bad ? -1 : 0;
}

/* How many of pages 1001..1050 (one dossier) a hits_line holds. */
static int moved_pages(const char *line)
{
    int n = 0;
    char id[16];
    for (int i = 1001; i <= 1050; i++) {
        snprintf(id, sizeof id, " %d:", i);
        n += strstr(line, id) != NULL;
    }
    return n;
}

/* The first walk unranked (then ranked again only if needed) gives
   exactly the hits, order, scores, snippets and totals of the first walk
   ranked at once (sh__search_rank_ahead), for each kind of query, at the
   first page and deeper, with and without agency filters; so does a
   search with a memo of the filters (sh_search_memo), which forgets them
   when another connection changes the catalog. */
static int test_search_lazy_rank(void)
{
    sqlite3 *db = NULL;
    sh_err err = {0};
    CHECK(sh_db_open(sh_test_tmpdir(), 0, &db, &err) == SH_OK);
    static const char *const words[] = {
        "hồ", "sơ", "ho", "so", "đất", "đai", "dat", "quyết", "định",
        "của", "ủy", "ban", "nhân", "dân", "tỉnh", "về", "việc", "cấp",
        "giấy", "chứng", "nhận", "quyền", "sử", "dụng", "năm", "xã",
        "huyện", "công", "văn", "số", "lưu", "trữ", "báo", "cáo"};
    enum { N = 6000, PER = 50, W = 16 };
    uint64_t x = 12345;
    char did[32], text[1024];
    CHECK(sh_db_exec(db, "BEGIN", &err) == SH_OK);
    for (int i = 1; i <= N; i++) {
        int d = (i - 1) / PER;
        /* 20 agencies of 5 % (checked page by page), and Y: one dossier
           (0.8 %: a bitmap of its pages) */
        char agency[8];
        snprintf(agency, sizeof agency, d == 7 ? "Y" : "A%02d", d % 20);
        snprintf(did, sizeof did, "HS-%d-%05d", 2010 + d % 15, d);
        if ((i - 1) % PER == 0)
            CHECK(add_dossier(db, did, agency, "done", PER) == 0);
        size_t len = 0;
        for (int k = 0; k < W; k++) {
            x = x * 6364136223846793005ULL + 1442695040888963407ULL;
            unsigned r = (unsigned)(x >> 33);
            /* each word on about a third of the pages, "hồ sơ" as a
               phrase on more, a rare "Vác Sệ" now and then */
            const char *w = r % 997 == 0 ? "Vác Sệ"
                            : r % 9 == 0 ? "hồ sơ"
                                         : words[r / 9 % SH_ARRAY_LEN(words)];
            len += (size_t)snprintf(text + len, sizeof text - len, "%s%s",
                                    k ? " " : "", w);
        }
        CHECK(add_page(db, i, did, i % 61 ? (i - 1) % PER + 1 : 0, text) ==
              0);
    }
    CHECK(sh_db_exec(db, "COMMIT", &err) == SH_OK);

    static const char *const queries[] = {
        "hồ", "sơ", "ho", "hồ sơ", "ho so", "đất đai", "dat dai", "quyết định",
        "uy ban nhan", "Vác Sệ", "vac se", "\"hồ sơ\"", "\"sơ hồ\"",
        "báo cáo"};
    static const int offsets[] = {0, 20, 480, 600, 1500};
    const char *ag1[] = {"A03", NULL}, *agy[] = {"Y", NULL},
               *ag3[] = {"A01", "A02", "A05", NULL};
    const char *const *filters[] = {NULL, ag1, agy, ag3};
    sh_buf lazy = {0}, eager = {0}, memo = {0};
    sh_search_memo *m = NULL;
    CHECK(sh_search_memo_open(&m) == SH_OK);
    double saved = sh__search_rank_ahead;
    int compared = 0, deep = 0;
    for (size_t qi = 0; qi < SH_ARRAY_LEN(queries); qi++)
        for (size_t f = 0; f < SH_ARRAY_LEN(filters); f++)
            for (size_t o = 0; o < SH_ARRAY_LEN(offsets); o++) {
                sh_query q = {.text = queries[qi], .agencies = filters[f],
                              .offset = offsets[o],
                              .limit = o % 2 ? 100 : 20};
                sh__search_rank_ahead = 0;
                int a = hits_line(db, &q, &lazy);
                sh__search_rank_ahead = HUGE_VAL;
                int b = hits_line(db, &q, &eager);
                /* and the same with a memo of the filters */
                q.memo = m;
                int c = hits_line(db, &q, &memo);
                CHECK(a == 0 && b == 0 && c == 0);
                CHECKF(strcmp(memo.data, eager.data) == 0,
                       "\"%s\" filter %zu offset %d with a memo:\n  %.300s",
                       queries[qi], f, offsets[o], memo.data);
                CHECKF(strcmp(lazy.data, eager.data) == 0,
                       "\"%s\" filter %zu offset %d:\n  unranked first: "
                       "%.300s\n  ranked first:   %.300s",
                       queries[qi], f, offsets[o], lazy.data, eager.data);
                compared++;
                deep += offsets[o] >= 600 && strstr(lazy.data, "n=0 ") == NULL;
            }
    sh__search_rank_ahead = saved;
    /* The memo forgets what another connection changed: a dossier moved
       to Y (a selective filter, a bitmap) shows under Y at once. */
    sh_query qy = {.text = "hồ sơ", .agencies = agy, .limit = 1000,
                   .memo = m};
    CHECK(hits_line(db, &qy, &memo) == 0);
    CHECK(moved_pages(memo.data) == 0);
    sqlite3 *other = NULL;
    CHECK(sh_db_open(sh_test_tmpdir(), 0, &other, &err) == SH_OK);
    CHECK(sh_db_exec(other, "UPDATE dossier SET agency = 'Y' WHERE id = "
                            "(SELECT dossier FROM page WHERE id = 1001)",
                     &err) == SH_OK);
    sh_db_close(&other);
    CHECK(hits_line(db, &qy, &memo) == 0);
    CHECKF(moved_pages(memo.data) > 10, "Y after the move: %.300s",
           memo.data);
    sh_search_memo_close(&m);
    CHECK(m == NULL);
    sh_buf_release(&memo);
    sh_buf_release(&lazy);
    sh_buf_release(&eager);
    /* the deep pages were there: the ranked blocks were reached */
    CHECKF(deep > 20, "%d of %d comparisons deep in the blocks", deep,
           compared);
    sh_db_close(&db);
    return 0;
}

const sh_test sh_tests_index[] = {
    {"index/norm", test_norm},
    {"index/fold", test_fold},
    {"index/fold-fast", test_fold_fast},
    {"index/tokenizer", test_tokenizer},
    {"index/tokenizer-formats", test_tokenizer_formats},
    {"index/tokenizer-fast", test_tokenizer_fast},
    {"index/format", test_index_format},
    {"index/upgrade", test_index_upgrade},
    {"index/search-fold", test_search_fold},
    {"index/search-phrase", test_search_phrase},
    {"index/search-rank", test_search_rank},
    {"index/search-snippet", test_search_snippet},
    {"index/search-hostile", test_search_hostile},
    {"index/search-filters", test_search_filters},
    {"index/search-filters-sampled", test_search_filters_sampled},
    {"index/search-without-page-key", test_search_without_page_key},
    {"index/search-counts-unread", test_search_counts_unread},
    {"index/search-prune-same", test_search_prune_same},
    {"index/search-patchy-filter", test_search_patchy_filter},
    {"index/search-patchy-filter-sampled", test_search_patchy_filter_sampled},
    {"index/search-shared-plans", test_search_shared_plans},
    {"index/search-time-limit", test_search_time_limit},
    {"index/optimize", test_index_optimize},
    {"index/search-pages", test_search_pages},
    {"index/search-many", test_search_many},
    {"index/search-rare-phrase", test_search_rare_phrase},
    {"index/search-lazy-rank", test_search_lazy_rank},
    {NULL, NULL},
};
