/*
 * mkshard.c — a small shard warehouse of generated Vietnamese pages that
 * `sohoa merge` accepts (tests/shards.sh): done dossiers with a stand-in
 * PDF and its SHA-256, pages 1..N indexed through sh_indexer, one source
 * row and one document (văn bản) per dossier.  No OCR, no pixels.
 *
 *   mkshard --dir DIR --prefix HS-2023-A --seed S [--dossiers N] [--pages P]
 *
 * Text.  Each page draws 20–60 words from a fixed list with a Zipf-like
 * law (word i about as often as 1/(i+1)), so some words are on most pages
 * and some on few; a name ("Lương Thịnh", "Nguyễn Văn An") now and then.
 * Page 1 of every dossier is one and the same sentence, so that pages of
 * several dossiers and shards score exactly alike (the tie order).
 * Dossiers are written in reverse id order, so a shard's page ids do not
 * follow dossier ids (as after re-runs): the merge numbers them afresh.
 * Agencies cycle over STNMT, UBND, SXD; the document of each dossier is a
 * "Quyết định" or a "Công văn" (pages 1–3).
 */
#include "../../base/common.h"
#include "../../index/index.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const words[] = {
    "đất", "đai", "quyết", "định", "ủy", "ban", "nhân", "dân", "tỉnh",
    "về", "việc", "giao", "cho", "hộ", "gia", "đình", "sử", "dụng", "quyền",
    "thu", "hồi", "bồi", "thường", "hỗ", "trợ", "tái", "định", "cư", "dự",
    "án", "xây", "dựng", "công", "trình", "giao", "thông", "huyện", "xã",
    "thôn", "diện", "tích", "mét", "vuông", "thửa", "số", "tờ", "bản", "đồ",
    "giấy", "chứng", "nhận", "cấp", "ngày", "tháng", "năm", "sở", "tài",
    "nguyên", "môi", "trường", "kế", "hoạch", "phê", "duyệt", "phương",
    "hồ", "sơ", "lưu", "trữ", "văn", "thư", "báo", "cáo", "kiểm", "tra",
    "thanh", "tra", "khiếu", "nại", "tố", "cáo", "giải", "quyết", "tranh",
    "chấp", "hợp", "đồng", "chuyển", "nhượng", "thế", "chấp", "cho", "thuê",
    "nông", "nghiệp", "rừng", "phòng", "hộ", "mặt", "nước", "nuôi", "trồng",
    "thủy", "sản", "khu", "công", "nghiệp", "đô", "thị", "quy", "hoạch",
    "chi", "tiết", "tỷ", "lệ", "điều", "chỉnh", "bổ", "sung", "hủy", "bỏ",
};
#define NWORDS (sizeof words / sizeof words[0])

static const char *const names[] = {
    "Lương Thịnh", "Nguyễn Văn An", "Trần Thị Bích", "Phạm Hùng",
    "Lê Thị Hoà", "Đỗ Quang Huy",
};
#define NNAMES (sizeof names / sizeof names[0])

static const char tie_page[] =
    "Quyết định về việc giao đất cho hộ gia đình ông Lương Thịnh tại xã "
    "Tân Phú";

static uint64_t rng;
static uint64_t rnd(void)
{
    uint64_t z = (rng += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

/* Word i with probability about 1/(i+1) / H. */
static const char *zipf(void)
{
    static double cum[NWORDS];
    if (cum[0] == 0) {
        double s = 0;
        for (size_t i = 0; i < NWORDS; i++)
            cum[i] = (s += 1.0 / (double)(i + 1));
    }
    double u = (double)(rnd() >> 11) / 9007199254740992.0 * cum[NWORDS - 1];
    size_t i = 0;
    while (i + 1 < NWORDS && cum[i] < u)
        i++;
    return words[i];
}

static void page_text(sh_buf *b)
{
    b->len = 0;
    sh_buf_adds(b, "");
    int n = 20 + (int)(rnd() % 41);
    for (int i = 0; i < n; i++) {
        const char *w = rnd() % 40 == 0 ? names[rnd() % NNAMES] : zipf();
        sh_buf_printf(b, "%s%s", i ? (i % 12 ? " " : "\n") : "", w);
    }
}

static void die(const char *what, const char *msg)
{
    fprintf(stderr, "mkshard: %s: %s\n", what, msg);
    exit(1);
}

static sqlite3_stmt *prep(sqlite3 *db, const char *sql)
{
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
        die(sql, sqlite3_errmsg(db));
    return st;
}

static void step(sqlite3 *db, sqlite3_stmt *st)
{
    if (sqlite3_step(st) != SQLITE_DONE)
        die("insert", sqlite3_errmsg(db));
    sqlite3_reset(st);
}

int main(int argc, char **argv)
{
    const char *dir = NULL, *prefix = "HS-2023-A";
    int ndoss = 6, npages = 20, c;
    static const struct option opts[] = {
        {"dir", required_argument, NULL, 'd'},
        {"prefix", required_argument, NULL, 'p'},
        {"seed", required_argument, NULL, 's'},
        {"dossiers", required_argument, NULL, 'n'},
        {"pages", required_argument, NULL, 'P'},
        {NULL, 0, NULL, 0},
    };
    rng = 1;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case 'd': dir = optarg; break;
        case 'p': prefix = optarg; break;
        case 's': rng = strtoull(optarg, NULL, 10); break;
        case 'n': ndoss = atoi(optarg); break;
        case 'P': npages = atoi(optarg); break;
        default:
            fputs("usage: mkshard --dir DIR [--prefix P] [--seed S] "
                  "[--dossiers N] [--pages P]\n", stderr);
            return 2;
        }
    }
    if (!dir || ndoss < 1 || npages < 3)
        die("usage", "--dir DIR, at least 1 dossier of 3 pages");
    sh_err err = {0};
    char pdfdir[4096];
    snprintf(pdfdir, sizeof pdfdir, "%s/pdf", dir);
    if (sh_mkdirs(pdfdir, &err))
        die(pdfdir, err.msg);
    sqlite3 *db;
    if (sh_db_open(dir, 0, &db, &err))
        die(dir, err.msg);
    sqlite3_stmt *ds = prep(db,
        "INSERT INTO dossier(id,batch,agency,state,pdf,pdf_sha256,pdf_bytes,"
        "pages,sheets,updated) VALUES(?1,'generated',?2,'done',?3,?4,?5,?6,"
        "?6,'2025-01-01T00:00:00Z')");
    sqlite3_stmt *ss = prep(db,
        "INSERT INTO source(dossier,seq,name,path,size,sha256,format,frames,"
        "state) VALUES(?1,1,'scan.tif',?2,0,'0','tiff',?3,'done')");
    sqlite3_stmt *ps = prep(db,
        "INSERT INTO page(dossier,pageno,source_name,source_sha256,frame,"
        "state,text) VALUES(?1,?2,'scan.tif','0',?2,'ocr',?3)");
    sqlite3_stmt *xs = prep(db,
        "INSERT INTO document(dossier,ordinal,first_page,last_page,type_name,"
        "code_number,code_notation,issued_date) VALUES(?1,1,1,3,?2,?3,?4,?5)");
    static const char *const agencies[] = {"STNMT", "UBND", "SXD"};
    sh_indexer *ix = NULL;
    if (sh_db_exec(db, "BEGIN", &err) || sh_indexer_open(db, &ix, &err))
        die(dir, err.msg);
    sh_buf text = {0};
    for (int d = ndoss - 1; d >= 0; d--) {
        char id[128], pdf[4400], src[4400], sha[65], body[256], num[16];
        snprintf(id, sizeof id, "%s-%04d", prefix, d + 1);
        snprintf(pdf, sizeof pdf, "%s/%s.pdf", pdfdir, id);
        snprintf(src, sizeof src, "%s/scan-%s.tif", dir, id);
        int n = snprintf(body, sizeof body, "%%PDF-1.4\n%% stand-in for %s\n"
                         "%%%%EOF\n", id);
        if (sh_write_atomic(pdf, body, (size_t)n, &err))
            die(pdf, err.msg);
        sh_sha256_buf(body, (size_t)n, sha);
        sqlite3_bind_text(ds, 1, id, -1, SQLITE_TRANSIENT);
        sqlite3_bind_text(ds, 2, agencies[d % 3], -1, SQLITE_STATIC);
        sqlite3_bind_text(ds, 3, pdf, -1, SQLITE_TRANSIENT);
        sqlite3_bind_text(ds, 4, sha, -1, SQLITE_TRANSIENT);
        sqlite3_bind_int(ds, 5, n);
        sqlite3_bind_int(ds, 6, npages);
        step(db, ds);
        sqlite3_bind_text(ss, 1, id, -1, SQLITE_TRANSIENT);
        sqlite3_bind_text(ss, 2, src, -1, SQLITE_TRANSIENT);
        sqlite3_bind_int(ss, 3, npages);
        step(db, ss);
        snprintf(num, sizeof num, "%d", d + 1);
        sqlite3_bind_text(xs, 1, id, -1, SQLITE_TRANSIENT);
        sqlite3_bind_text(xs, 2, d % 2 ? "Công văn" : "Quyết định", -1,
                          SQLITE_STATIC);
        sqlite3_bind_text(xs, 3, num, -1, SQLITE_TRANSIENT);
        sqlite3_bind_text(xs, 4, d % 2 ? "UBND-TNMT" : "QĐ-UBND", -1,
                          SQLITE_STATIC);
        sqlite3_bind_text(xs, 5, d % 2 ? "2023-05-02" : "2024-03-05", -1,
                          SQLITE_STATIC);
        step(db, xs);
        for (int p = 1; p <= npages; p++) {
            if (p == 1) {
                text.len = 0;
                sh_buf_adds(&text, tie_page);
            } else {
                page_text(&text);
            }
            sqlite3_bind_text(ps, 1, id, -1, SQLITE_TRANSIENT);
            sqlite3_bind_int(ps, 2, p);
            sqlite3_bind_text(ps, 3, text.data, (int)text.len,
                              SQLITE_TRANSIENT);
            step(db, ps);
            if (sh_indexer_add(ix, sqlite3_last_insert_rowid(db), text.data,
                               &err))
                die(id, err.msg);
        }
    }
    sh_indexer_close(&ix);
    if (sh_db_exec(db, "COMMIT", &err))
        die(dir, err.msg);
    sqlite3_finalize(ds);
    sqlite3_finalize(ss);
    sqlite3_finalize(ps);
    sqlite3_finalize(xs);
    sh_buf_release(&text);
    sh_db_close(&db);
    return 0;
}
