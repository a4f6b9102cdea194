/*
 * pdf_int.h — what the files of the PDF writer share: pdf.c (document
 * structure, pages, text layer, writing), pdf_image.c (images for PDF)
 * and pdf_meta.c (metadata and XMP).  Not for other modules: they use
 * pdf.h.
 *
 *   struct sh_pdf, meta_field   the document being written
 *   doc_time                    the commit's moment, Info and XMP forms
 *   copy_err, bpf               error hand-over; printf into an sh_buf
 *   sh__pdf_clean_text          (pdf.c) text made legal UTF-8 / XML
 *   sh__pdf_image_problem       (pdf_image.c) why an image is unusable
 *   sh__pdf_make_id, sh__pdf_build_xmp  (pdf_meta.c) /ID and XMP packet
 */
#ifndef SH_PDF_INT_H
#define SH_PDF_INT_H

#include "pdf.h"

#include <stdarg.h>
#include <stdio.h>

typedef struct meta_field {
    char *name;             /* [A-Za-z][A-Za-z0-9]*                     */
    char *value;            /* sanitised UTF-8 (see clean_text)         */
} meta_field;

struct sh_pdf {
    char *final_path;
    char *tmp_path;
    char *title;            /* sanitised UTF-8, or NULL                 */
    char *lang;             /* language tag, never NULL after open      */
    char *creator;          /* sanitised UTF-8, or NULL                 */
    char *desc;             /* sanitised UTF-8, or NULL                 */
    meta_field *fields;
    int nfields;
    uint8_t *font;          /* TrueType file bytes                      */
    size_t font_n;
    uint8_t *icc;           /* ICC profile bytes                        */
    size_t icc_n;
    sh_pdf_check_fn check;  /* [optional] run before the rename         */
    void *check_ctx;
    int fd;                 /* temp file, -1 when closed                */
    int tmp_exists;         /* tmp_path is ours to unlink               */
    uint64_t off;           /* bytes written so far, buffer included    */
    uint8_t *wbuf;
    size_t wlen;
    uint64_t *xref;         /* xref[num] = offset of object num         */
    int nobj, xcap;         /* highest number given out; capacity       */
    int *kids;              /* page object numbers                      */
    int last_im;            /* object number of the last image written  */
    int last_nim;           /* ... and its XObjects (strips), from it   */
    int npages, kcap;
    int rc;                 /* first write failure (sticky)             */
    sh_err err;
};


/* The moment of the commit, as Info wants it (D:YYYYMMDDHHmmSS+HH'mm')
   and as XMP wants it (YYYY-MM-DDTHH:mm:SS+HH:mm), local time, the same
   second in both. */
typedef struct doc_time {
    char pdf[64];
    char xmp[64];
} doc_time;


static inline void copy_err(sh_err *dst, const sh_err *src)
{
    if (dst && dst != src)
        *dst = *src;
}

/* Append printf text to b; *oom is set (and stays set) on failure. */
static inline void bpf(sh_buf *b, int *oom, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static inline void bpf(sh_buf *b, int *oom, const char *fmt, ...)
{
    if (*oom)
        return;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0 || sh_buf_reserve(b, (size_t)n) != SH_OK) {
        *oom = 1;
        return;
    }
    va_start(ap, fmt);
    vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
}


/* pdf.c: a malloc'd copy of s that is well-formed UTF-8 and legal XML 1.0
   text (ill-formed bytes, controls other than tab/LF/CR, U+FFFE and
   U+FFFF become U+FFFD).  NULL on allocation failure. */
char *sh__pdf_clean_text(const char *s);

/* pdf_image.c: why img cannot be embedded (a static string), or NULL when
   it is sound. */
const char *sh__pdf_image_problem(const sh_pdf_image *img);

/* pdf_meta.c: the file identifier of p, as 32 hex digits for /ID and as
   "uuid:..." for XMP (a digest of path, time, pid and size, with the
   RFC 4122 version-4 and variant bits set). */
void sh__pdf_make_id(const sh_pdf *p, char hex[33], char uuid[48]);

/* pdf_meta.c: p's XMP packet for the moment dt and identifier uuid,
   appended to x.  SH_OK, or SH_ENOMEM (x then holds part of it). */
int sh__pdf_build_xmp(const sh_pdf *p, const doc_time *dt, const char *uuid,
                      sh_buf *x);

#endif
