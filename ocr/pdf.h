/*
 * pdf.h — the searchable PDF writer.
 *
 * Each page is the archived image with an invisible text layer (render
 * mode 3) in a glyph-less font whose ToUnicode map gives the Vietnamese
 * text back, one word at a time, stretched (Tz) over the word's box so a
 * viewer's search highlights the word on the image.
 *
 * Images are never recompressed when the source allows: a JPEG is embedded
 * byte for byte (DCTDecode); 1 bpp goes in as CCITT G4; other pixels
 * (gray/RGB from TIFF LZW, PNG, ...) go in losslessly with Flate.  Turning
 * and deskew are carried by the page's transformation matrix, not by
 * resampling pixels.
 *
 * The writer is streaming: pages are written as they are added; the file
 * appears under its final name only at sh_pdf_commit (temp file, fsync,
 * [optional check of the temp file], rename, fsync of the folder).  The
 * object layout is described at the top of pdf.c.
 *
 * Every file is PDF/A-2b (ISO 19005-2, level B): PDF 1.7 header with a
 * binary comment, trailer /ID, an XMP metadata packet on the Catalog
 * (pdfaid part 2 / conformance B, Dublin Core, dates, producer, document
 * and instance ids, and the dossier's archival fields in the `hoso`
 * namespace with their pdfaExtension schema description), an Info
 * dictionary that agrees with it, and an sRGB OutputIntent whose ICC
 * profile is embedded once.  The ICC profile is $SOHOA_ICC, or else
 * /usr/share/color/icc/sRGB.icc from the Debian package icc-profiles-free
 * (a v2.3 monitor profile).  Nothing PDF/A forbids is ever written: no
 * encryption, no LZW, no transparency, no actions or JavaScript, the one
 * font embedded (and only used invisibly, text render mode 3).
 *
 * Functions:
 *   sh_pdf_image_from_pix / sh_pdf_image_from_jpeg / sh_pdf_image_release
 *   sh_pdf_image_save / sh_pdf_image_load   (worker → assembler hand-off)
 *   sh_pdf_image_save_rows / sh_pdf_image_save_pix   (... streamed)
 *   sh_pdf_open / sh_pdf_set_meta / sh_pdf_set_check / sh_pdf_add_page /
 *   sh_pdf_commit / sh_pdf_abort
 */
#ifndef SH_PDF_H
#define SH_PDF_H

#include "../base/common.h"
#include "ocr.h"
#include <leptonica/allheaders.h>

enum sh_pdf_filter { SH_PDF_DCT = 1, SH_PDF_CCITT_G4, SH_PDF_FLATE };

/* One encoded image XObject, ready to embed.  The stream bytes by filter:
     SH_PDF_DCT       a whole JPEG file (baseline/extended/progressive,
                      8-bit, 1 or 3 components), as it came
     SH_PDF_CCITT_G4  a bare CCITT T.6 bit stream (/K -1), rows of w
     SH_PDF_FLATE     zlib stream of h rows of w*ncomp bytes, each row
                      led by its PNG filter-type byte (/Predictor 15)
   A large Flate image may be cut into strips of rows, each a zlib
   stream of its own and an XObject of its own (so that each is coded by
   libdeflate's whole-buffer coder in bounded memory): strip k starts at
   row k * strip_rows and holds strip_rows + 1 rows (the last: the rows
   left), one row shared with the next strip so that viewers show no
   seam; data holds the strips' streams one after the other, strip_n[k]
   bytes each. */
typedef struct sh_pdf_image {
    int filter;          /* enum sh_pdf_filter                             */
    int w, h;            /* pixels                                         */
    int bpc;             /* bits per component: 1 or 8                     */
    int ncomp;           /* 1 = DeviceGray, 3 = DeviceRGB                  */
    int black_is_1;      /* CCITT only: 1 = decoded 1 bits are black
                            (/BlackIs1 true); 0 (what _from_pix makes):
                            decoded 0 bits are black                       */
    uint8_t *data;       /* the stream bytes (owned)                       */
    size_t n;
    int nstrip;          /* Flate: strips (0 or 1: the image is one)       */
    int strip_rows;      /* rows from a strip's top to the next's          */
    size_t *strip_n;     /* [nstrip] bytes of each strip's stream (owned;
                            NULL when nstrip <= 1)                         */
} sh_pdf_image;

/*
 * Encode pix for embedding, losslessly.
 *   pix  1 bpp (set bit = black) → CCITT G4, coded in memory (libtiff);
 *        8 bpp → Flate gray; 32 bpp → Flate RGB (alpha dropped);
 *        colormapped input is expanded first (a black/white map stays
 *        1 bpp); 2/4/16 bpp gray → 8 bpp; 24 bpp → 32 bpp
 *   out  filled (zeroed first); release with sh_pdf_image_release
 * Returns SH_OK, SH_EUSAGE (NULL), SH_ELIMIT (side over 1,000,000 px),
 * SH_EINPUT (unsupported depth) or SH_ENOMEM; on error out is empty.
 */
int sh_pdf_image_from_pix(PIX *pix, sh_pdf_image *out, sh_err *err);

/*
 * Wrap JPEG file bytes (copied) for pass-through; w/h/ncomp come from
 * the frame header (SOF0/1/2).
 * Returns SH_OK, or SH_EINPUT when the bytes are not a JPEG, the frame
 * is lossless/hierarchical/arithmetic-coded, not 8-bit, not 1 or 3
 * components (CMYK), or its height is left to a DNL marker; SH_ELIMIT
 * over 2 GiB.  Notes: the scan data itself is not decoded here.
 */
int sh_pdf_image_from_jpeg(const uint8_t *jpeg, size_t n, sh_pdf_image *out,
                           sh_err *err);

/* Free img's data (and strip table) and zero it; accepts NULL and an
   empty image. */
void sh_pdf_image_release(sh_pdf_image *img);

/*
 * Save/load an encoded image so a worker process can hand it to the PDF
 * assembler.  File: "SHPDFIMG", version, the fields above, a CRC-32 over
 * header, strip table and data, the data length, the strip table, the
 * data (little-endian); saved with sh_write_atomic.
 * save: SH_EUSAGE if img is not a sound image, else as sh_write_atomic.
 * load: out filled (zeroed first); SH_EIO/SH_ELIMIT from reading,
 *       SH_EINPUT when anything (magic, version, a field, the length, the
 *       checksum, a JPEG's own header) is wrong; err names the path.
 */
int sh_pdf_image_save(const sh_pdf_image *img, const char *path, sh_err *err);
int sh_pdf_image_load(const char *path, sh_pdf_image *out, sh_err *err);

/*
 * Save a hand-off file (as sh_pdf_image_save) of an image Flate-coded
 * straight from its rows, for large sheets: the rows are gathered a strip
 * at a time (one strip up to 32 MB of pixels, else strips of about 8 MB,
 * see sh_pdf_image above), each strip deflated whole (libdeflate, or
 * zlib's run-length strategy where it codes the strip's sampled rows
 * about as small) into the file (atomic: temp name, fsync, rename), so
 * neither the pixels nor their code are ever whole in memory.  Each band
 * of 256 rows gets PNG filters when its first rows show they pay.
 *   next  called for y = 0 .. h-1 in order: fill row (w * ncomp bytes:
 *         gray, or R G B); return SH_OK, or an error code with err filled
 *         (the save stops there)
 *   info  out: filter, w, h, bpc, ncomp, n (the code's length) and
 *         nstrip, strip_rows as saved; data and strip_n are NULL
 * Returns SH_OK, next's error, SH_EUSAGE (NULL, size or ncomp out of
 * range), SH_ENOMEM, SH_EIO/SH_ENOSPC... as sh_write_atomic; on error
 * nothing is left at path's temp name.
 */
typedef int (*sh_pdf_row_fn)(void *ctx, int y, uint8_t *row, sh_err *err);
int sh_pdf_image_save_rows(const char *path, int w, int h, int ncomp,
                           sh_pdf_row_fn next, void *ctx, sh_pdf_image *info,
                           sh_err *err);
/* pix (8 or 32 bpp) streamed as above; other depths through
   sh_pdf_image_from_pix and sh_pdf_image_save.  info as above (data
   NULL). */
int sh_pdf_image_save_pix(PIX *pix, const char *path, sh_pdf_image *info,
                          sh_err *err);

/* One page to add. */
typedef struct sh_pdf_page {
    double w_pt, h_pt;           /* MediaBox, 3 <= side <= 14400 (PDF/A)   */
    const sh_pdf_image *img;     /* [optional] NULL = text only            */
    double img_matrix[6];        /* cm for the image unit square, e.g.
                                    {w_pt,0,0,h_pt,0,0} upright; an image
                                    W x H pt shown turned 90° clockwise on
                                    an H x W page: {0,-W,H,0,0,W}          */
    const sh_words *words;       /* [optional] text layer, boxes in the
                                    page's upright pixel frame              */
    double pt_per_px;            /* word boxes px → pt: x*k, h_pt - y*k     */
    int reuse_image;             /* 1: img is the same image as the previous
                                    page's (the other half of a two-up
                                    sheet): refer to the image already
                                    written instead of writing it again    */
} sh_pdf_page;

typedef struct sh_pdf sh_pdf;    /* opaque */

/*
 * Start a PDF that will be committed to final_path: reads the text-layer
 * font and the sRGB ICC profile, creates final_path.tmp.<pid> and writes
 * the header.
 *   title [optional] document title (UTF-8) for Info and XMP (dc:title),
 *         cleaned as sh_pdf_set_meta cleans text; "" = none;
 *         sh_pdf_set_meta may replace it
 * The font is $SOHOA_PDF_FONT, or else Tesseract's
 * /usr/share/tesseract-ocr/5/tessdata/pdf.ttf.  The ICC profile is
 * $SOHOA_ICC, or else /usr/share/color/icc/sRGB.icc (icc-profiles-free);
 * it must be an RGB display or output profile of ICC version 2 to 4.
 * Returns SH_OK; SH_EIO (font or ICC profile unreadable: err names the
 * file and the Debian package; or the temp file cannot be created, e.g.
 * missing folder), SH_ENOSPC, SH_EINPUT (font not TrueType, profile not a
 * usable RGB ICC profile), SH_EUSAGE, SH_ENOMEM.  On error *out is NULL
 * and no file is left.
 */
int sh_pdf_open(const char *final_path, const char *title, sh_pdf **out,
                sh_err *err);

/* One archival field: name is ASCII [A-Za-z][A-Za-z0-9]* (at most 64
   bytes; it becomes the XMP property hoso:NAME), value UTF-8 text. */
typedef struct sh_pdf_field {
    const char *name;
    const char *value;            /* NULL: the field is left out          */
} sh_pdf_field;

/* Document metadata; every member [optional]. */
typedef struct sh_pdf_meta {
    const char *title;            /* dc:title + Info /Title; NULL or ""
                                     keeps the title given to sh_pdf_open  */
    const char *language;         /* dc:language + Catalog /Lang; NULL =
                                     "vi"; an RFC 3066 tag (letters{1,8},
                                     then -alnum{1,8} parts)               */
    const char *creator;          /* dc:creator + Info /Author (the
                                     agency or person responsible)        */
    const char *description;      /* dc:description + Info /Subject       */
    const sh_pdf_field *fields;   /* archival fields, e.g. the dossier
                                     metadata of Decree 30/2020 Annex VI
                                     (FileCode, OrganId, FileCatalog,
                                     FileNotation, Title, Maintenance,
                                     Rights, Language, StartDate, EndDate,
                                     DocTotal, PageTotal, SheetTotal,
                                     Description, ...)                     */
    int nfields;                  /* 0..256                                */
} sh_pdf_meta;

/*
 * Set the document's metadata (copied; replaces what an earlier call
 * set).  Any time between sh_pdf_open and sh_pdf_commit.
 * Text is kept as given, except that bytes which are not UTF-8, control
 * characters other than tab/LF/CR, and U+FFFE/U+FFFF become U+FFFD (so
 * the XMP is well-formed and Info and XMP hold the same text); it is
 * XML-escaped in the XMP.  Fields go into the XMP as hoso:NAME (namespace
 * http://sohoa.vn/ns/hoso/1.0/) with a PDF/A extension schema describing
 * each one as Text.
 * Returns SH_OK; SH_EUSAGE (NULL p or m, a bad or repeated field name,
 * a bad language tag, nfields out of range, title/creator/description
 * over 8000 bytes or a value over 65536 bytes: err says which), SH_ENOMEM,
 * or the error an earlier add_page hit.  On error the previous metadata
 * stays.
 */
int sh_pdf_set_meta(sh_pdf *p, const sh_pdf_meta *m, sh_err *err);

/*
 * A check run on the finished file before it gets its final name:
 * tmp_path is complete, fsynced and closed.  Returns SH_OK to let the
 * commit go on, else an SH_E* code with err filled.
 */
typedef int (*sh_pdf_check_fn)(const char *tmp_path, void *ctx, sh_err *err);

/* Have sh_pdf_commit call fn(tmp_path, ctx, err) after fsync, before the
   rename (NULL fn: no check).  When fn fails, the temp file is removed,
   nothing appears under the final name, and commit returns fn's code
   with "final_path: " before fn's message.  See readback.h for the
   text read-back check. */
void sh_pdf_set_check(sh_pdf *p, sh_pdf_check_fn fn, void *ctx);

/*
 * Write one page (image XObject, content stream, page object) at once;
 * only the page's own data is in memory meanwhile.
 * Words with empty text or an empty box are skipped; invalid UTF-8 (each
 * byte that does not start a well-formed sequence), control characters
 * (U+0000–001F, U+007F–009F), U+FEFF, U+FFFE, U+FFFF and characters beyond
 * U+FFFF show as U+FFFD.  The text size is line_h
 * (else the box height).  A word whose baseline_y lies between its box top
 * and half a line below its box sits on that baseline and spans
 * baseline-0.8*size .. baseline+0.2*size; otherwise it spans y1-size .. y1
 * (its box, when line_h is 0).  Words are stretched to their box width,
 * narrowed only to keep a gap of 0.22*size before the next word of the
 * line (text extractors split words by that gap).  A word too narrow for
 * its glyphs to advance 0.15*size each is set at the size that allows it,
 * and a word repeating the previous word's text starts 0.15*size after it
 * at least (poppler drops a repeated glyph closer than 0.1*size as a
 * fake-bold duplicate).
 * Returns SH_OK; SH_EUSAGE (bad page: size, matrix with nan/inf or
 * singular, unsound image, pt_per_px) or SH_ENOMEM before anything was
 * written: the document is still usable.  SH_ENOSPC / SH_EIO / SH_ELIMIT
 * while writing: the temp file is removed and every later call on p
 * returns the same error; still call sh_pdf_commit or sh_pdf_abort.
 */
int sh_pdf_add_page(sh_pdf *p, const sh_pdf_page *pg, sh_err *err);

/*
 * Finish (shared font objects, ICC profile, XMP metadata, Info, Pages,
 * Catalog, xref, trailer with /ID), fsync, close, run the check set with
 * sh_pdf_set_check, rename to final_path, fsync the folder; frees *p and
 * sets it to NULL whatever the outcome.
 * Returns SH_OK; SH_EUSAGE (no pages), SH_ENOSPC, SH_EIO, SH_ELIMIT
 * (over 9.9 GB), SH_ENOMEM, the check's code, or the error an earlier
 * add_page hit.
 * On error nothing is left under final_path's name that was not there
 * before (a failed folder fsync removes the renamed file), and no temp.
 */
int sh_pdf_commit(sh_pdf **p, sh_err *err);

/* Drop the temp file, free *p and set it to NULL; accepts NULL. */
void sh_pdf_abort(sh_pdf **p);

#endif
