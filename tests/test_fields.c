/*
 * test_fields.c — header fields of a văn bản from OCR words (ocr/fields.c):
 * word lists laid out in code (two-column headers read as interleaved
 * lines, a công văn with V/v, OCR slips, continuation pages, dates), and
 * real OCR of a sample page and, when ../shared is there, of a corpus
 * page in the two-column layout.
 */
#include "test.h"
#include "../ocr/fields.h"
#include "../ocr/ocr.h"
#include "../scanners/prep.h"
#include "../scanners/scan.h"

#include <stdlib.h>
#include <string.h>

/* ---- word lists built in code ------------------------------------------ */

#define PW 2480   /* an A4 page at 300 dpi */
#define PH 3508
#define LH 44     /* word box height of 13 pt text at 300 dpi */

/* Append the words of text on Tesseract line 'line', starting at x, top y:
   each character 0.5·LH wide, a space 0.35·LH.  Returns the x after the
   last word. */
static int add_text(sh_words *ws, int line, int x, int y, const char *text)
{
    char buf[512];
    snprintf(buf, sizeof buf, "%s", text);
    for (char *tok = buf, *sp; tok && *tok; tok = sp) {
        sp = strchr(tok, ' ');
        if (sp)
            *sp++ = 0;
        if (!*tok)
            continue;
        if (ws->n == ws->cap) {
            ws->cap = ws->cap ? 2 * ws->cap : 64;
            ws->w = realloc(ws->w, (size_t)ws->cap * sizeof *ws->w);
        }
        /* width by code points, not bytes */
        int ncp = 0;
        for (const char *c = tok; *c; c++)
            ncp += ((unsigned char)*c & 0xC0) != 0x80;
        sh_word *w = &ws->w[ws->n++];
        memset(w, 0, sizeof *w);
        w->text = strdup(tok);
        w->x0 = x;
        w->x1 = x + ncp * LH / 2;
        w->y0 = y;
        w->y1 = y + LH;
        w->conf = 92;
        w->line = line;
        w->par = line;
        w->baseline_y = y + LH * 8 / 10;
        w->line_h = LH + 10;
        x = w->x1 + LH * 35 / 100;
    }
    return x;
}

/* Width in px add_text gives text. */
static int text_w(const char *text)
{
    int ncp = 0, words = 1;
    for (const char *c = text; *c; c++) {
        ncp += ((unsigned char)*c & 0xC0) != 0x80 && *c != ' ';
        words += *c == ' ';
    }
    return ncp * LH / 2 + (words - 1) * LH * 35 / 100;
}

/* Text centred on cx. */
static void add_centred(sh_words *ws, int line, int cx, int y,
                        const char *text)
{
    add_text(ws, line, cx - text_w(text) / 2, y, text);
}

#define LCX 650    /* left column centre */
#define RCX 1700   /* right column centre */
#define MID 1300   /* page centre */
#define PITCH 64   /* line pitch */

/* A body paragraph: n justified lines from x = 240 to 2360 (centre MID),
   from y on, the first line indented. */
static int add_body(sh_words *ws, int *line, int y, int n)
{
    static const char *body =
        "Căn cứ Luật Tổ chức chính quyền địa phương ngày 19 tháng 6 năm 2015 "
        "và Luật Đất đai";
    for (int i = 0; i < n; i++) {
        int first = ws->n;
        int x0 = i == 0 ? 330 : 240;
        add_text(ws, (*line)++, x0, y, body);
        /* stretch the spaces so that the line ends at 2360 */
        int nw = ws->n - first, extra = 2360 - ws->w[ws->n - 1].x1;
        for (int k = 1; k < nw; k++) {
            int dx = extra * k / (nw - 1);
            ws->w[first + k].x0 += dx;
            ws->w[first + k].x1 += dx;
        }
        y += PITCH;
    }
    return y;
}

/* The NĐ 30 header: two blocks read as interleaved lines.  left[] and
   right[] are the rows of each block (NULL = nothing on that side). */
static int add_header(sh_words *ws, int *line, int y, const char *const *left,
                      const char *const *right, int rows)
{
    for (int r = 0; r < rows; r++) {
        if (left[r])
            add_centred(ws, *line, LCX, y, left[r]);
        if (right[r])
            add_centred(ws, *line, RCX, y, right[r]);
        (*line)++;
        y += PITCH;
    }
    return y;
}

static int field_is(const sh_field *f, const char *want)
{
    if (!want)
        return f->value == NULL;
    if (!f->value || strcmp(f->value, want)) {
        fprintf(stderr, "  want '%s' got '%s'\n", want,
                f->value ? f->value : "(null)");
        return 0;
    }
    return f->conf > 0 && f->conf <= 1;
}

static int test_two_columns(void)
{
    sh_words ws = {0};
    int line = 0, y = 150;
    const char *left[] = {"UBND TỈNH BẮC NINH", "SỞ TÀI NGUYÊN VÀ MÔI TRƯỜNG",
                          "Số: 05/QĐ-STNMT"};
    const char *right[] = {"CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM",
                           "Độc lập - Tự do - Hạnh phúc",
                           "Bắc Ninh, ngày 05 tháng 3 năm 2024"};
    y = add_header(&ws, &line, y, left, right, 3);
    y += 2 * PITCH;
    add_centred(&ws, line++, MID, y, "QUYẾT ĐỊNH");
    y += PITCH;
    add_centred(&ws, line++, MID, y,
                "Về việc thu hồi đất để thực hiện dự án");
    y += PITCH;
    add_centred(&ws, line++, MID, y, "mở rộng đường tỉnh 295B");
    y += 2 * PITCH;
    add_centred(&ws, line++, MID, y, "GIÁM ĐỐC SỞ TÀI NGUYÊN VÀ MÔI TRƯỜNG");
    y += 2 * PITCH;
    add_body(&ws, &line, y, 12);

    sh_doc_fields f;
    CHECK(sh_fields_extract(&ws, PW, PH, &f) == SH_OK);
    CHECK(field_is(&f.organ_parent, "UBND TỈNH BẮC NINH"));
    CHECK(field_is(&f.organ_name, "SỞ TÀI NGUYÊN VÀ MÔI TRƯỜNG"));
    CHECK(field_is(&f.code_number, "05"));
    CHECK(field_is(&f.code_notation, "QĐ-STNMT"));
    CHECK(field_is(&f.place, "Bắc Ninh"));
    CHECK(field_is(&f.issued_date, "2024-03-05"));
    CHECK(field_is(&f.type_name, "Quyết định"));
    CHECK(field_is(&f.subject, "Về việc thu hồi đất để thực hiện dự án mở "
                               "rộng đường tỉnh 295B"));
    CHECKF(f.start_conf > 0.9f, "start_conf %.2f", f.start_conf);
    sh_doc_fields_release(&f);
    CHECK(f.organ_name.value == NULL && f.start_conf == 0);
    sh_doc_fields_release(&f);   /* twice is harmless */
    sh_words_release(&ws);
    return 0;
}

/* Tesseract reads the two blocks as separate lines too (own line ids):
   same result.  And a name on two lines joins; a lone name has no
   parent. */
static int test_blocks_apart_and_units(void)
{
    sh_words ws = {0};
    int line = 0, y = 150;
    add_centred(&ws, line++, LCX, y, "ỦY BAN NHÂN DÂN");
    add_centred(&ws, line++, LCX, y + PITCH, "THÀNH PHỐ ĐÀ NẴNG");
    add_centred(&ws, line++, LCX, y + 3 * PITCH, "Số: 5710/UBND-SGDĐT");
    add_centred(&ws, line++, RCX, y, "CỘNG HOÀ XÃ HỘI CHỦ NGHĨA VIỆT NAM");
    add_centred(&ws, line++, RCX, y + PITCH, "Độc lập - Tự do - Hạnh phúc");
    add_centred(&ws, line++, RCX, y + 3 * PITCH,
                "Đà Nẵng, ngày 18 tháng 10 năm 2023");
    add_centred(&ws, line++, LCX, y + 4 * PITCH,
                "V/v thực hiện Thông báo số 496-TB/TU");
    add_centred(&ws, line++, LCX, y + 5 * PITCH, "ngày 17/8/2023 của Thành ủy");
    add_centred(&ws, line++, MID, y + 7 * PITCH, "Kính gửi: Các sở, ban, ngành");
    add_body(&ws, &line, y + 9 * PITCH, 10);
    sh_doc_fields f;
    CHECK(sh_fields_extract(&ws, PW, PH, &f) == SH_OK);
    CHECK(field_is(&f.organ_parent, NULL));
    CHECK(field_is(&f.organ_name, "ỦY BAN NHÂN DÂN THÀNH PHỐ ĐÀ NẴNG"));
    CHECK(field_is(&f.code_number, "5710"));
    CHECK(field_is(&f.code_notation, "UBND-SGDĐT"));
    CHECK(field_is(&f.place, "Đà Nẵng"));
    CHECK(field_is(&f.issued_date, "2023-10-18"));
    CHECK(field_is(&f.type_name, "Công văn"));
    CHECK(field_is(&f.subject, "thực hiện Thông báo số 496-TB/TU ngày "
                               "17/8/2023 của Thành ủy"));
    CHECK(f.start_conf > 0.9f);
    sh_doc_fields_release(&f);
    sh_words_release(&ws);

    /* three lines: parent, then a name broken after "VÀ" */
    memset(&ws, 0, sizeof ws);
    line = 0;
    const char *left[] = {"UBND TỈNH NGHỆ AN", "SỞ NÔNG NGHIỆP VÀ",
                          "PHÁT TRIỂN NÔNG THÔN", "Số: 318/SNN-TL"};
    const char *right[] = {"CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM",
                           "Độc lập - Tự do - Hạnh phúc", NULL,
                           "Nghệ An, ngày 14 tháng 4 năm 2024"};
    y = add_header(&ws, &line, 150, left, right, 4);
    add_centred(&ws, line++, LCX, y, "VW: tu bổ công trình thủy lợi");
    add_body(&ws, &line, y + 3 * PITCH, 10);
    CHECK(sh_fields_extract(&ws, PW, PH, &f) == SH_OK);
    CHECK(field_is(&f.organ_parent, "UBND TỈNH NGHỆ AN"));
    CHECK(field_is(&f.organ_name, "SỞ NÔNG NGHIỆP VÀ PHÁT TRIỂN NÔNG THÔN"));
    CHECK(field_is(&f.subject, "tu bổ công trình thủy lợi"));
    CHECK(field_is(&f.type_name, "Công văn"));
    sh_doc_fields_release(&f);
    sh_words_release(&ws);

    /* OCR specks: a quote before the V/v read as "V/" (the v lost), a
       point left at a line end, a stray circumflex between two words of
       the name, "THÀNH PHÓ" for PHỐ */
    memset(&ws, 0, sizeof ws);
    line = 0;
    const char *l3[] = {"UBND THÀNH PHÓ ĐÀ NẴNG", "SỞ GIÁO. DỤC ˆ VÀ ĐÀO TẠO",
                        "Số: 1906 /SGDĐT-CTrTT"};
    const char *r3[] = {"CỘNG HOÀ XÃ HỘI CHỦ NGHĨA VIỆT NAM",
                        "Độc lập - Tự do - Hạnh phúc",
                        "Đà Nẵng, ngày 26tháng 7 năm 2020"};
    y = add_header(&ws, &line, 150, l3, r3, 3);
    add_centred(&ws, line++, LCX, y, "'V/ khẩn trương thực hiện các biện.");
    add_centred(&ws, line++, LCX, y + PITCH, "pháp phòng, chống dịch");
    add_body(&ws, &line, y + 3 * PITCH, 10);
    CHECK(sh_fields_extract(&ws, PW, PH, &f) == SH_OK);
    CHECK(field_is(&f.organ_parent, "UBND THÀNH PHỐ ĐÀ NẴNG"));
    CHECK(field_is(&f.organ_name, "SỞ GIÁO DỤC VÀ ĐÀO TẠO"));
    CHECK(field_is(&f.code_number, "1906"));
    CHECK(field_is(&f.subject, "khẩn trương thực hiện các biện pháp phòng, "
                               "chống dịch"));
    CHECK(field_is(&f.issued_date, "2020-07-26"));
    sh_doc_fields_release(&f);
    sh_words_release(&ws);
    return 0;
}

/* OCR slips: S6:, O for 0, QD without the stroke, marks lost, ngảy, nǎm
   with a caron, 2O24, the year inside the notation. */
static int test_ocr_slips(void)
{
    static const struct {
        const char *so, *date, *qh, *motto;
        const char *number, *notation, *iso, *place;
    } rows[] = {
        {"S6: O5/QD-UBND", "Bắc Ninh, ngảy 05 thảng 3 nǎm 2O24",
         "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", "Độc lập - Tự do - Hạnh phúc",
         "05", "QĐ-UBND", "2024-03-05", "Bắc Ninh"},
        {"Sô: 112 /TTr-STNMT", "Ha Noi, ngay 7 thang 11 nam 2023",
         "CONG HOA XA HOI CHU NGHIA VIET NAM", "Doc lap - Tu do - Hanh phuc",
         "112", "TTr-STNMT", "2023-11-07", "Ha Noi"},
        {"Số:05/2021/NĐ-CP", "Hà Nội, ngày 08 tháng 7năm 2019",
         "CỘNG HOÀ XÃ HÔI CHU NGHlA VIỆT NAM", "Độc lập - Tư do - Hanh phúc",
         "05", "2021/NĐ-CP", "2019-07-08", "Hà Nội"},
        {"Số:      /UBND-VP", "Đà Nẵng, ngày 26tháng 7 năm 2020",
         "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", "Độc lập - Tự do - Hạnh phúc",
         NULL, "UBND-VP", "2020-07-26", "Đà Nẵng"},
        {"So: 2O/ND-CP", "TP. Hồ Chí Minh, ngày 1 tháng 12 năm 2022",
         "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", "Độc lập - Tự do - Hạnh phúc",
         "20", "NĐ-CP", "2022-12-01", "TP. Hồ Chí Minh"},
        {"Số: 161/HĐĐĐND-VP", "Khánh Hòa,ngày      tháng      năm 2016",
         "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", "Độc lập - Tự do - Hạnh phúc",
         "161", "HĐND-VP", "2016", "Khánh Hòa"},
        {"Số: 12/2016QĐ-UBND", "Hà Nội, ngày (Ö tháng - năm 2019",
         "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", "Độc lập - Tự do - Hạnh phúc",
         "12", "2016/QĐ-UBND", "2019", "Hà Nội"},
        {"Số: 5/STNMT-QLĐĐ", "Bắc Ninh, ngày 9 tháng 9 năm 2024",
         "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", "Độc lập - Tự do - Hạnh phúc",
         "5", "STNMT-QLĐĐ", "2024-09-09", "Bắc Ninh"},
        {"Sáz?68/QĐĐ-VKSTC", "Hà Nội, ngày 08 tháng 7 năm 2019",
         "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", "Độc lập - Tự do - Hạnh phúc",
         NULL, "QĐ-VKSTC", "2019-07-08", "Hà Nội"},
    };
    for (size_t i = 0; i < SH_ARRAY_LEN(rows); i++) {
        sh_words ws = {0};
        int line = 0;
        const char *left[] = {"BỘ TÀI CHÍNH", "TỔNG CỤC THUẾ", rows[i].so};
        const char *right[] = {rows[i].qh, rows[i].motto, rows[i].date};
        int y = add_header(&ws, &line, 150, left, right, 3);
        add_body(&ws, &line, y + 2 * PITCH, 10);
        sh_doc_fields f;
        CHECK(sh_fields_extract(&ws, PW, PH, &f) == SH_OK);
        CHECKF(field_is(&f.code_number, rows[i].number), "row %zu", i);
        CHECKF(field_is(&f.code_notation, rows[i].notation), "row %zu", i);
        CHECKF(field_is(&f.issued_date, rows[i].iso), "row %zu", i);
        CHECKF(field_is(&f.place, rows[i].place), "row %zu", i);
        CHECKF(field_is(&f.organ_name, "TỔNG CỤC THUẾ"), "row %zu", i);
        CHECKF(f.start_conf > 0.7f, "row %zu: start_conf %.2f", i,
               f.start_conf);
        sh_doc_fields_release(&f);
        sh_words_release(&ws);
    }
    return 0;
}

/* Dates: blank day, blank day and month, impossible month, no year. */
static int test_dates(void)
{
    static const struct {
        const char *date, *iso, *place;
    } rows[] = {
        {"Bắc Ninh, ngày      tháng 3 năm 2021", "2021-03", "Bắc Ninh"},
        {"Bắc Ninh, ngày   tháng    năm 2021", "2021", "Bắc Ninh"},
        {"Bắc Ninh, ngày 31 tháng 13 năm 2021", "2021", "Bắc Ninh"},
        {"Bắc Ninh, ngày 32 tháng 1 năm 2021", "2021-01", "Bắc Ninh"},
        {"Bắc Ninh, ngày 05 tháng 02 năm 1999", "1999-02-05", "Bắc Ninh"},
        {"Cà Mau, ngày 09 tháng 09 năm 20", NULL, NULL},
        {"Thái Bình, ngày 1 tháng l2 năm 2O17", "2017-12-01", "Thái Bình"},
    };
    for (size_t i = 0; i < SH_ARRAY_LEN(rows); i++) {
        sh_words ws = {0};
        int line = 0;
        const char *left[] = {"UBND TỈNH THÁI BÌNH", "VĂN PHÒNG UBND TỈNH",
                              "Số: 12/TB-VP"};
        const char *right[] = {"CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM",
                               "Độc lập - Tự do - Hạnh phúc", rows[i].date};
        int y = add_header(&ws, &line, 150, left, right, 3);
        add_centred(&ws, line++, MID, y + 2 * PITCH, "THÔNG BÁO");
        add_body(&ws, &line, y + 4 * PITCH, 10);
        sh_doc_fields f;
        CHECK(sh_fields_extract(&ws, PW, PH, &f) == SH_OK);
        CHECKF(field_is(&f.issued_date, rows[i].iso), "row %zu", i);
        CHECKF(field_is(&f.place, rows[i].place), "row %zu", i);
        CHECKF(field_is(&f.type_name, "Thông báo"), "row %zu", i);
        CHECK(field_is(&f.subject, NULL));   /* the body is not a trích yếu */
        sh_doc_fields_release(&f);
        sh_words_release(&ws);
    }
    return 0;
}

/* Pages that do not begin a document. */
static int test_continuation(void)
{
    sh_doc_fields f;
    sh_words ws = {0};
    int line = 0;
    /* body with a page number at the top */
    add_centred(&ws, line++, MID, 120, "2");
    add_body(&ws, &line, 220, 30);
    CHECK(sh_fields_extract(&ws, PW, PH, &f) == SH_OK);
    CHECKF(f.start_conf < 0.3f, "page number: start_conf %.2f", f.start_conf);
    CHECK(!f.code_number.value && !f.issued_date.value && !f.organ_name.value);
    sh_doc_fields_release(&f);
    sh_words_release(&ws);

    /* the end of a body and the signature block, two columns */
    memset(&ws, 0, sizeof ws);
    line = 0;
    int y = add_body(&ws, &line, 150, 8);
    const char *left[] = {"Nơi nhận:", "- Như trên;", "- Lưu: VT, NN.", NULL,
                          NULL};
    const char *right[] = {"TM. ỦY BAN NHÂN DÂN", "KT. CHỦ TỊCH",
                           "PHÓ CHỦ TỊCH", NULL, "Nguyễn Hữu Khang"};
    add_header(&ws, &line, y + PITCH, left, right, 5);
    CHECK(sh_fields_extract(&ws, PW, PH, &f) == SH_OK);
    CHECKF(f.start_conf < 0.3f, "signature: start_conf %.2f", f.start_conf);
    sh_doc_fields_release(&f);
    sh_words_release(&ws);

    /* an annex: PHỤ LỤC, then "Kèm theo Quyết định số … ngày …" */
    memset(&ws, 0, sizeof ws);
    line = 0;
    add_centred(&ws, line++, MID, 150, "PHỤ LỤC");
    add_centred(&ws, line++, MID, 150 + PITCH,
                "(Kèm theo Quyết định số 05/QĐ-UBND ngày 05 tháng 3 năm 2024");
    add_centred(&ws, line++, MID, 150 + 2 * PITCH, "của UBND tỉnh Bắc Ninh)");
    add_body(&ws, &line, 150 + 4 * PITCH, 20);
    CHECK(sh_fields_extract(&ws, PW, PH, &f) == SH_OK);
    CHECKF(f.start_conf < 0.3f, "annex: start_conf %.2f", f.start_conf);
    CHECK(!f.issued_date.value && !f.code_number.value);
    sh_doc_fields_release(&f);
    sh_words_release(&ws);

    /* an annex that repeats the whole header is still an annex */
    memset(&ws, 0, sizeof ws);
    line = 0;
    const char *l2[] = {"UBND TỈNH BẮC NINH", "SỞ TÀI CHÍNH", NULL};
    const char *r2[] = {"CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM",
                        "Độc lập - Tự do - Hạnh phúc", NULL};
    y = add_header(&ws, &line, 150, l2, r2, 3);
    add_centred(&ws, line++, MID, y + PITCH, "PHỤ LỤC I");
    add_body(&ws, &line, y + 3 * PITCH, 20);
    CHECK(sh_fields_extract(&ws, PW, PH, &f) == SH_OK);
    CHECKF(f.start_conf < 0.3f, "annex with header: %.2f", f.start_conf);
    sh_doc_fields_release(&f);
    sh_words_release(&ws);

    /* no words at all (a blank page), and bad arguments */
    memset(&ws, 0, sizeof ws);
    CHECK(sh_fields_extract(&ws, PW, PH, &f) == SH_OK);
    CHECK(f.start_conf == 0 && !f.organ_name.value && !f.subject.value);
    sh_doc_fields_release(&f);
    CHECK(sh_fields_extract(NULL, PW, PH, &f) == SH_EUSAGE);
    CHECK(!f.type_name.value);
    CHECK(sh_fields_extract(&ws, PW, PH, NULL) == SH_EUSAGE);
    sh_doc_fields_release(NULL);
    return 0;
}

/* The samples' header typed as one column: agency, Quốc hiệu, motto, Số,
   date one under the other at the left margin. */
static int test_single_column(void)
{
    sh_words ws = {0};
    static const char *rows[] = {
        "UBND TỈNH NGHỆ AN", "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM",
        "Độc lập - Tự do - Hạnh phúc", "Số: 318/UBND-NN",
        "V/v chuẩn bị tu bổ công trình thủy lợi",
        "Nghệ An, ngày 14 tháng 4 năm 2024"};
    int line = 0, y = 150;
    for (size_t i = 0; i < SH_ARRAY_LEN(rows); i++, y += PITCH)
        add_text(&ws, line++, 240, y, rows[i]);
    add_body(&ws, &line, y + PITCH, 20);
    sh_doc_fields f;
    CHECK(sh_fields_extract(&ws, PW, PH, &f) == SH_OK);
    CHECK(field_is(&f.organ_name, "UBND TỈNH NGHỆ AN"));
    CHECK(field_is(&f.code_number, "318"));
    CHECK(field_is(&f.code_notation, "UBND-NN"));
    CHECK(field_is(&f.issued_date, "2024-04-14"));
    CHECK(field_is(&f.subject, "chuẩn bị tu bổ công trình thủy lợi"));
    CHECK(field_is(&f.type_name, "Công văn"));
    CHECK(f.start_conf > 0.7f);
    sh_doc_fields_release(&f);
    sh_words_release(&ws);
    return 0;
}

/* Whatever the words, no crash and a clean result: broken UTF-8, a huge
   word, empty and inverted boxes, thousands of words on one line, words
   piled on one spot, a header line repeated. */
static int test_hostile(void)
{
    sh_words ws = {0};
    unsigned seed = 12345;
    char big[3000];
    memset(big, 'A', sizeof big - 1);
    big[sizeof big - 1] = 0;
    static const char *texts[] = {
        "\xff\xfe", "S\xe1", "Số:", "/", "ngày", "năm", "2024", "CỘNG",
        "HÒA", "V/v", "-", "", " ", "\xc3", "Độc", "PHỤ", "LỤC", "QUYẾT",
        "ĐỊNH", "___", "…", "tháng", "12", "99999999999999999999"};
    for (int i = 0; i < 3000; i++) {
        if (ws.n == ws.cap) {
            ws.cap = ws.cap ? 2 * ws.cap : 64;
            ws.w = realloc(ws.w, (size_t)ws.cap * sizeof *ws.w);
        }
        sh_word *w = &ws.w[ws.n++];
        memset(w, 0, sizeof *w);
        seed = seed * 1103515245u + 12345u;
        const char *t = i == 7 ? big : texts[(seed >> 8) % SH_ARRAY_LEN(texts)];
        w->text = strdup(t);
        w->x0 = (int)((seed >> 4) % 2600) - 50;
        w->y0 = i < 2000 ? 100 : (int)((seed >> 12) % 3600);
        w->x1 = w->x0 + (int)((seed >> 16) % 300) - 20;
        w->y1 = w->y0 + (int)((seed >> 20) % 90);
        w->conf = (float)((seed >> 3) % 101);
        w->line = i < 2000 ? 0 : i / 7;
        w->par = w->line;
        w->line_h = 40;
    }
    /* only specks: no chunk at all */
    sh_words specks = {0};
    add_text(&specks, 0, 100, 100, "_ ˆ ¬ … ' __");
    sh_doc_fields g;
    CHECK(sh_fields_extract(&specks, PW, PH, &g) == SH_OK);
    CHECK(g.start_conf == 0 && !g.organ_name.value);
    sh_doc_fields_release(&g);
    sh_words_release(&specks);
    for (int round = 0; round < 3; round++) {
        sh_doc_fields f;
        int w = round == 1 ? 1 : PW, h = round == 2 ? 1 : PH;
        CHECK(sh_fields_extract(&ws, w, h, &f) == SH_OK);
        CHECK(f.start_conf >= 0 && f.start_conf <= 1);
        const sh_field *all[] = {&f.organ_parent, &f.organ_name,
                                 &f.code_number, &f.code_notation, &f.place,
                                 &f.issued_date, &f.type_name, &f.subject};
        for (size_t k = 0; k < SH_ARRAY_LEN(all); k++)
            CHECK(!all[k]->value || (all[k]->conf >= 0 && all[k]->conf <= 1));
        sh_doc_fields_release(&f);
    }
    sh_words_release(&ws);
    return 0;
}

/* ---- real OCR -------------------------------------------------------- */

/* Decode, prepare and OCR frame 'frame' of path (part 0); fields out. */
static int ocr_fields(sh_ocr *e, const char *path, int frame,
                      sh_doc_fields *f)
{
    sh_scan *sc = NULL;
    sh_frame fr = {0};
    sh_err err = {0};
    sh_prepped pp[2] = {{0}, {0}};
    int np = 0;
    int rc = sh_scan_open(path, NULL, &sc, &err);
    if (!rc)
        rc = sh_scan_read(sc, frame, &fr, &err);
    if (!rc) {
        sh_prep_opts o = {0};
        o.orient = sh_ocr_orient;
        o.orient_ctx = e;
        rc = sh_prep_sheet(&fr, &o, pp, &np, &err);
    }
    sh_words ws = {0};
    if (!rc)
        rc = sh_ocr_page(e, pp[0].ocr, (int)(pp[0].geom.ocr_dpi + 0.5), 0,
                         &ws, &err);
    if (!rc)
        rc = sh_fields_extract(&ws, (int)pixGetWidth(pp[0].ocr),
                               (int)pixGetHeight(pp[0].ocr), f);
    if (rc)
        fprintf(stderr, "  %s: %s\n", path, err.msg);
    sh_words_release(&ws);
    sh_prepped_release(&pp[0]);
    sh_prepped_release(&pp[1]);
    sh_frame_release(&fr);
    sh_scan_close(&sc);
    return rc;
}

static int test_ocr_pages(void)
{
    sh_ocr *e = NULL;
    sh_err err = {0};
    CHECKF(sh_ocr_new(NULL, NULL, &e, &err) == SH_OK, "%s", err.msg);
    char path[512];
    sh_doc_fields f;
    /* samples: Quyết định 05/QĐ-UBND, header in one column */
    snprintf(path, sizeof path, "%s/batch/HS-2024-00001/0001.tif",
             sh_test_samples);
    CHECK(ocr_fields(e, path, 0, &f) == SH_OK);
    CHECK(field_is(&f.organ_name, "UBND TỈNH BẮC NINH"));
    CHECK(field_is(&f.code_number, "05"));
    CHECK(field_is(&f.code_notation, "QĐ-UBND"));
    CHECK(field_is(&f.place, "Bắc Ninh"));
    CHECK(field_is(&f.issued_date, "2024-03-05"));
    CHECK(field_is(&f.type_name, "Quyết định"));
    CHECKF(f.start_conf > 0.7f, "start_conf %.2f", f.start_conf);
    sh_doc_fields_release(&f);

    /* ../shared/corpus: the real two-column layout, and a body page */
    snprintf(path, sizeof path, "%s/corpus/batch/HS-2021-04516/0001.tif",
             sh_test_shared);
    FILE *fp = fopen(path, "rb");
    if (!fp) {
        /* the sample page passed, but the corpus pages (the real two-column
           layout) were not checked: reported as skipped, not passed */
        sh_ocr_free(&e);
        fprintf(stderr, "  %s absent: corpus pages not checked\n", path);
        return SH_SKIP;
    }
    fclose(fp);
    CHECK(ocr_fields(e, path, 0, &f) == SH_OK);
    CHECK(field_is(&f.organ_parent, "UBND TỈNH CÀ MAU"));
    CHECK(field_is(&f.organ_name, "SỞ TƯ PHÁP"));
    CHECK(field_is(&f.code_number, "487"));
    CHECK(field_is(&f.code_notation, "QĐ-UBND"));
    CHECK(field_is(&f.place, "Cà Mau"));
    CHECK(field_is(&f.issued_date, "2024-09-09"));
    CHECK(field_is(&f.type_name, "Quyết định"));
    CHECK(field_is(&f.subject, NULL));
    CHECKF(f.start_conf > 0.9f, "start_conf %.2f", f.start_conf);
    sh_doc_fields_release(&f);
    snprintf(path, sizeof path, "%s/corpus/batch/HS-2021-04516/0003.tif",
             sh_test_shared);
    CHECK(ocr_fields(e, path, 0, &f) == SH_OK);
    CHECKF(f.start_conf < 0.3f, "body page: start_conf %.2f", f.start_conf);
    sh_doc_fields_release(&f);
    sh_ocr_free(&e);
    return 0;
}

const sh_test sh_tests_fields[] = {
    {"fields_two_columns", test_two_columns},
    {"fields_blocks_apart_and_units", test_blocks_apart_and_units},
    {"fields_ocr_slips", test_ocr_slips},
    {"fields_dates", test_dates},
    {"fields_continuation", test_continuation},
    {"fields_single_column", test_single_column},
    {"fields_hostile", test_hostile},
    {"fields_ocr_pages", test_ocr_pages},
    {NULL, NULL},
};
