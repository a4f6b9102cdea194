/*
 * fields_int.h — what the files of the header-field extractor share
 * (fields.c and fields_*.c).  Not for other modules: they use fields.h.
 *
 *   page, chunk, fw        the page model: words, chunks, column split
 *   found, date_hit        what the anchors and the date line gave
 *   fields_text.c          approximate matching, chunk text, field values
 *   fields_page.c          words → chunks; Quốc hiệu, motto → split, zone
 *   fields_code.c          the Số line → number, notation
 *   fields_date.c          "Place, ngày … tháng … năm …"
 *   fields_organ.c         the agency block
 *   fields_type.c          type title, V/v, trích yếu
 *
 * Folded text here is one byte per code point (sh_vn_fold_cp), so a
 * position in it points back at a word and a letter as printed.
 */
#ifndef SH_FIELDS_INT_H
#define SH_FIELDS_INT_H

#include "fields.h"

#define MAXS 1024          /* folded chunk text kept, bytes               */
#define MAXORG 6           /* agency lines read                           */

/* A word as the extractor sees it. */
typedef struct fw {
    const sh_word *w;
    char *norm;            /* sh_text_norm of the text                    */
    char *fold;            /* one byte per code point of norm             */
    int *cp_off;           /* byte offset in norm of each code point      */
    int ncp;
    int nalpha, nupper, ndigit;
    int h;                 /* box height                                  */
} fw;

/* A run of words on one line, left to right, without a wide gap. */
typedef struct chunk {
    int *wi;               /* indices into page.w                         */
    int n;
    int x0, y0, x1, y1;
    int h;                 /* median word height                          */
    int nalpha, nupper, ndigit;
    float conf;            /* mean word confidence 0..100                 */
} chunk;

typedef struct page {
    fw *w;
    int nw;
    chunk *c;
    int nc, capc;
    int *pool;             /* word indices of every chunk                 */
    int W, H;
    int hmed;              /* median word height on the page              */
    int cx0, cx1, cy0;     /* content box: left, right, top               */
    int x_split;           /* left/right column boundary, px              */
    int y_top;             /* below the motto's row                       */
} page;

/* What the anchors gave. */
typedef struct found {
    int qh, motto, so, date, vv, title, vv_last, subj_last;
    int single;            /* 1: header typed as one column               */
    float qh_q, motto_q;
    int org[MAXORG], norg;
    int zone_y0, zone_y1;  /* header zone                                 */
} found;

/* A date line read by sh__fl_parse_date. */
typedef struct date_hit {
    int y, m, d;           /* 0 = blank                                    */
    int ngay_pos;          /* folded position of "ngày", or -1             */
    float q;
} date_hit;

/* What OCR leaves at the ends of a header line: rule fragments, specks. */
#define ORG_JUNK ".,;:-_=~`'\"*^|!"
#define SUBJ_JUNK "-_=~`'\"*^|;:"

static inline float clamp01(float v)
{
    return v < 0 ? 0 : v > 1 ? 1 : v;
}

static inline int chunk_centre(const chunk *c)
{
    return (c->x0 + c->x1) / 2;
}

static inline int is_caps(const chunk *c)
{
    return c->nalpha >= 2 && c->nupper * 10 >= c->nalpha * 8;
}

static inline int is_left(const page *p, const chunk *c)
{
    return chunk_centre(c) < p->x_split;
}

/* ---- fields_text.c: matching, chunk text, values ---- */

/* Edit distance of pattern p (<= 63 bytes) to the best-matching substring
   of s (n bytes); *start, *end = that substring (Sellers' algorithm, a
   second pass reversed for the start). */
int sh__fl_approx_find(const char *s, int n, const char *p, int *start,
                       int *end);
/* Plain edit distance of a and b (both <= 63 bytes, else 99). */
int sh__fl_edit_dist(const char *a, const char *b);
/* The folded text of chunk c from its word a on into s (MAXS bytes):
   words joined by one space, or (letters_only) its letters and digits
   only; map[i], mcp[i] = word position in the chunk and code point in
   that word of byte i (mcp -1 for a joining space).  Returns the length. */
int sh__fl_chunk_fold(const page *p, const chunk *c, int a, int letters_only,
                      char *s, int *map, int *mcp);
/* The text as read (normalised) of chunk c from word k0, code point j0 up
   to word k1, code point j1 (exclusive; j1 < 0: whole word), words joined
   by one space.  malloc'd; NULL when empty or out of memory. */
char *sh__fl_chunk_text(const page *p, const chunk *c, int k0, int j0, int k1,
                        int j1);
/* Trim the bytes of set and spaces at both ends of s, inner runs of
   spaces to one; in place (s may be NULL). */
void sh__fl_trim(char *s, const char *set);
/* Trim the bytes of set, spaces and the marks OCR makes of rules and
   specks (… “ ” ‘ ’ — –) at both ends of s; in place. */
void sh__fl_trim_junk(char *s, const char *set);
/* Set field f to v (taken; NULL or "" = not found) with conf clamped to
   0..1.  Returns SH_OK. */
int sh__fl_set_field(sh_field *f, char *v, float conf);
/* sh__fl_set_field with a copy of v.  Returns SH_OK or SH_ENOMEM. */
int sh__fl_set_field_copy(sh_field *f, const char *v, float conf);
/* Letters and digits of chunk c, folded, into s (MAXS bytes); length. */
int sh__fl_letters_of(const page *p, const chunk *c, char *s);
/* The texts of chunks idx[0..n) joined by one space for a field, the
   first from folded position at0, each trimmed of the bytes of junk
   (NULL: none).  malloc'd, or NULL. */
char *sh__fl_join_chunks(const page *p, const int *idx, int n, int at0,
                         const char *junk);
/* Mean OCR confidence of chunks idx[0..n), 0..1. */
float sh__fl_mean_conf(const page *p, const int *idx, int n);

/* ---- fields_page.c: the page model, the column split ---- */

/* Build p from one page's words (W x H px): normalised and folded words,
   the chunks, the content box.  Returns SH_OK or SH_ENOMEM (release p
   with sh__fl_page_free either way). */
int sh__fl_page_build(page *p, const sh_words *ws, int W, int H);
void sh__fl_page_free(page *p);
/* The Quốc hiệu and the motto into F, and from them p->x_split and the
   header zone; cuts the chunks again around the split (chunk indices
   change).  Returns SH_OK or SH_ENOMEM. */
int sh__fl_find_anchors(page *p, found *F);

/* ---- fields_code.c: the Số line ---- */

/* Speck bytes before a label ("'V/v", "„Số"): how many to skip. */
int sh__fl_junk_prefix(const char *s, int n);
/* Letters OCR reads for digits (o → 0, l → 1, …) in a token mostly of
   digits (or any, with force); in place. */
void sh__fl_fix_digits(char *t, int force);
/* The first left chunk of the header zone holding the Số label; *at =
   folded position after the label.  Returns its index or -1. */
int sh__fl_find_so(const page *p, found *F, int *at);
/* The chunk right of chunk i on its row, in the left block, or -1. */
int sh__fl_next_on_row(const page *p, int i);
/* Number and notation from chunk c's folded text s (n bytes, map and mcp
   as sh__fl_chunk_fold), after the label at 'at', into out.  Returns
   SH_OK or SH_ENOMEM. */
int sh__fl_parse_code(const page *p, const chunk *c, const char *s, int n,
                      const int *map, const int *mcp, int at,
                      sh_doc_fields *out);

/* ---- fields_date.c: place and date ---- */

/* "[ngày [D]] tháng [M] năm YYYY" in folded s into *h; 1 if found. */
int sh__fl_parse_date(const char *s, int n, date_hit *h);
/* The first date line of the right block (of the zone); *best = what it
   read.  Returns the chunk index or -1. */
int sh__fl_find_date(const page *p, const found *F, date_hit *best);
/* issued_date and place from the date line c.  SH_OK or SH_ENOMEM. */
int sh__fl_put_date(const page *p, const chunk *c, const date_hit *h,
                    sh_doc_fields *out);

/* ---- fields_organ.c: the agency block ---- */

/* organ_name and organ_parent from the left block above the Số line
   (F->org, F->norg set).  SH_OK or SH_ENOMEM. */
int sh__fl_find_organ(const page *p, found *F, sh_doc_fields *out);

/* ---- fields_type.c: type and trích yếu ---- */

/* 1 if a is the abbreviation of a type (Phụ lục III) or of a common
   agency (HĐND, UBND, VKSND, TAND). */
int sh__fl_known_abbr(const char *a);
/* The V/v line under the Số line and its continuation → subject. */
int sh__fl_find_vv(const page *p, found *F, sh_doc_fields *out);
/* The centred title under the header (from ybot down) → type_name, and
   the trích yếu under it → subject (when no V/v gave one). */
int sh__fl_find_title(const page *p, found *F, int ybot, sh_doc_fields *out);
/* type_name without a title: "Công văn" after a V/v line, else from the
   notation's first part. */
int sh__fl_infer_type(const found *F, sh_doc_fields *out);

#endif
