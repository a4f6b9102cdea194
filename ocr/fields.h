/*
 * fields.h — pre-fill the header fields of a Vietnamese administrative
 * document (văn bản) from one page's OCR words, and say how sure we are
 * that the page begins a new document.
 *
 * The first page of a văn bản follows Nghị định 30/2020/NĐ-CP (Phụ lục I):
 *
 *     UBND TỈNH BẮC NINH            CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM
 *     SỞ TÀI NGUYÊN VÀ MÔI TRƯỜNG        Độc lập - Tự do - Hạnh phúc
 *         ───────                              ──────────────
 *     Số: 05/QĐ-STNMT                 Bắc Ninh, ngày 05 tháng 3 năm 2024
 *     [V/v … (công văn only)]
 *                              QUYẾT ĐỊNH
 *                    Về việc thu hồi đất để thực hiện …
 *
 * OCR reads the two top blocks as interleaved lines; the word boxes put
 * them back in their columns.  Fields follow the names of Phụ lục VI
 * (metadata of a văn bản).  See ocr/fields.c for the method.
 *
 * In the pipeline: call sh_fields_extract on each page part's words with
 * that part's OCR image size (geom.ocr_w, geom.ocr_h); a two-up sheet's
 * halves are two pages.  Figures: `make eval-fields` (tests/fields/).
 */
#ifndef SH_FIELDS_H
#define SH_FIELDS_H

#include "ocr.h"

/* One field: value NULL = not found.  conf 0..1: how much the value is
   to be trusted (match quality × the OCR's confidence in its words). */
typedef struct sh_field {
    char *value;         /* UTF-8, NFC, malloc'd; NULL when not found     */
    float conf;
} sh_field;

typedef struct sh_doc_fields {
    /* 0..1: how sure we are that this page begins a new văn bản (its
       header block was seen: Quốc hiệu, motto, Số line, place and date,
       issuing agency, in their places).  Continuation pages, annexes,
       signature pages and blank pages stay below 0.3; a first page whose
       Quốc hiệu, motto and Số or date line are read scores 0.7 or more.
       Take >= 0.5 as "begins a document" (what make eval-fields
       measures). */
    float start_conf;
    /* The top-left block, one unit per line (a line that cannot start an
       agency name, e.g. "TỐI CAO" or "PHÁT TRIỂN NÔNG THÔN", continues the
       line above it):
         organ_name    the issuing agency, the lowest unit of the block:
                       "SỞ TÀI NGUYÊN VÀ MÔI TRƯỜNG"; a name broken over
                       two lines is joined with one space ("ỦY BAN NHÂN
                       DÂN THÀNH PHỐ ĐÀ NẴNG").
         organ_parent  the unit just above it (cơ quan chủ quản): "UBND
                       TỈNH BẮC NINH"; NULL when the block has one unit. */
    sh_field organ_parent;
    sh_field organ_name;
    /* The "Số:" line, "Số: 05/2021/NĐ-CP" read as:
         code_number    the digits before the first '/', as printed
                        ("05"); NULL when the number is left blank or
                        handwritten and unread.
         code_notation  everything after the first '/', spaces removed:
                        "QĐ-UBND", "UBND-NN", "2021/NĐ-CP" (legal
                        documents carry the year there).  NULL when the
                        line has no '/'. */
    sh_field code_number;
    sh_field code_notation;
    /* "Bắc Ninh, ngày 05 tháng 3 năm 2024":
         place        the words before the comma: "Bắc Ninh".
         issued_date  ISO 8601: "2024-03-05"; a day left blank gives
                      "2024-03", day and month blank give "2024"; NULL
                      without a readable year (1900..2100).  An
                      impossible day is treated as blank; an impossible
                      month blanks the day too ("2021"). */
    sh_field place;
    sh_field issued_date;
    /* Document type, normalised to the name Phụ lục III uses, in sentence
       case: "Quyết định", "Tờ trình", "Thông báo", "Kế hoạch", … from
       the centred title; "Công văn" for a letter with a "V/v" line and no
       title; failing both, from the notation's first part ("TTr-…" →
       "Tờ trình").  NULL when none of these is seen. */
    sh_field type_name;
    /* Trích yếu: the "V/v" text of a công văn (without "V/v "), or the
       centred lines under the title; lines joined by one space. */
    sh_field subject;
} sh_doc_fields;

/*
 * Read the header fields of one page.
 *   words  one page's OCR words (sh_ocr_page): boxes in OCR-image px,
 *          top-left origin, text NFC
 *   w_px, h_px  that image's size, px
 *   out    zeroed first, then filled; release with sh_doc_fields_release
 * Returns SH_OK or SH_ENOMEM (out then holds nothing), SH_EUSAGE for NULL
 * words/out.
 * Notes: values keep the Vietnamese marks as read, NFC (Ð read as Đ, the
 * tone of oa/oe/uy on its first vowel, as sh_text_norm does); only safe
 * OCR slips are fixed: "S6:", "Sô:", "So:" read as the Số label; O/o,
 * l/I/|, S, B, Z confused with digits inside the number, the day, month
 * and year; "QD"/"ND" as the first part of a notation read as QĐ / NĐ,
 * "2016QĐ-…" as "2016/QĐ-…"; in agency names a few misreadings no name
 * holds (THÀNH PHÓ, TÓI CAO, KIỀM SÁT, PHÁT TRIỀN, TĨNH not after HÀ).
 * A page without words gives start_conf 0 and no fields.  Costs well
 * under a millisecond a page.  Pure computation (no I/O, no globals):
 * safe from several threads.
 */
int sh_fields_extract(const sh_words *words, int w_px, int h_px,
                      sh_doc_fields *out);

/* Free every value and zero f.  Accepts NULL and a zeroed struct. */
void sh_doc_fields_release(sh_doc_fields *f);

#endif
