/*
 * barcode.h — separator sheets: the codes on them (QR and Code 128, made
 * and read) and the test that tells a scanned separator sheet from a page
 * of a dossier.
 *
 * A separator sheet carries the payload SH_SEP_PREFIX + dossier id twice:
 * in a QR code (level H: about 30 % of it may be lost, e.g. to a staple
 * hole) and in a Code 128 (when the id is printable ASCII), between two
 * black bands across the top and bottom of the sheet that show at the edge
 * of a stack and let a sheet be recognised as a separator when neither code
 * can be read.  The sheet itself is drawn by pipeline/separators.c.
 *
 * Functions:
 *   sh_qr_make        QR modules of a text (libqrencode)
 *   sh_code128_make   Code 128 (set B) modules of a text
 *   sh_codes_read     the QR and Code 128 symbols found in an image (zbar)
 *   sh_sep_id_check   is an id a valid dossier folder name
 *   sh_sep_detect     is a scanned page a separator sheet, and of which id
 */
#ifndef SH_BARCODE_H
#define SH_BARCODE_H

#include "../base/common.h"
#include <leptonica/allheaders.h>

#define SH_SEP_PREFIX "SOHOA-SEP:"
#define SH_SEP_ID_MAX 200            /* bytes of a dossier id             */

/*
 * The QR code (8-bit mode, error correction level H, smallest version that
 * holds it) of text[0..n).
 *   *mod    width*width bytes, row by row, 1 = dark module; caller frees
 *   *width  modules per side (no quiet zone)
 * Returns SH_OK, SH_EUSAGE (NULL, n == 0), SH_ELIMIT (too long for a QR
 * code), SH_ENOMEM.  *mod is NULL on error.
 */
int sh_qr_make(const char *text, size_t n, uint8_t **mod, int *width,
               sh_err *err);

/*
 * The modules of text as Code 128 code set B (start B, data, mod-103
 * check character, stop): mod[i] = 1 for a bar module, 0 for a space;
 * no quiet zone.
 *   mod  room for cap modules; 11 * (strlen(text) + 3) + 2 are written
 * Returns SH_OK, SH_EINPUT (a byte outside ASCII 32..126: set B cannot
 * carry it), SH_ELIMIT (cap too small), SH_EUSAGE (NULL or empty text).
 */
int sh_code128_make(const char *text, uint8_t *mod, size_t cap, int *nmod,
                    sh_err *err);

enum sh_code_type { SH_CODE_QR = 1, SH_CODE_128 = 2 };

typedef struct sh_code {
    int type;                 /* enum sh_code_type                        */
    char text[512];           /* the payload (longer ones are cut)        */
} sh_code;

/*
 * Read the QR codes and Code 128 symbols in pix (any depth, any
 * orientation) with zbar.
 *   out  room for max codes; *n how many were found (0..max)
 * Returns SH_OK (none found included), SH_EUSAGE, SH_ENOMEM.
 */
int sh_codes_read(PIX *pix, sh_code *out, int max, int *n, sh_err *err);

/*
 * Whether id may name a dossier (it becomes a folder name, a PDF name, a
 * catalog key): 1..SH_SEP_ID_MAX bytes of UTF-8, no '/', '\\', control
 * characters, or leading '.' or space, no trailing space or '.'.
 * Returns 1 if valid, else 0 with *why [optional] set to a static reason.
 */
int sh_sep_id_check(const char *id, const char **why);

enum sh_sep_kind {
    SH_SEP_NONE = 0,          /* an ordinary page                         */
    SH_SEP_SHEET,             /* a separator; id is its payload           */
    SH_SEP_UNREADABLE         /* looks like a separator (bands), but no
                                 code could be read                       */
};

typedef struct sh_sep {
    int kind;                 /* enum sh_sep_kind                          */
    char id[SH_SEP_ID_MAX + 64]; /* SH_SEP_SHEET: the id as read (may be
                                 invalid: check it with sh_sep_id_check)  */
    int by;                   /* SH_SEP_SHEET: SH_CODE_QR or SH_CODE_128   */
    int bands;                /* 1 if the separator bands were seen        */
    int blank;                /* 1 if the page holds no content (only when
                                 asked for), -1 not measured              */
    int full_pass;            /* 1 if the page needed the full decode      */
} sh_sep;

/*
 * Is pix (a scanned page, as stored: any depth, any quarter turn, skewed a
 * few degrees) a separator sheet?
 *   dpi        its resolution (30..2400)
 *   want_blank 1: also say whether it is blank (sh_layout_content on the
 *              reduced copy)
 * Returns SH_OK with *out filled, SH_EUSAGE, SH_ENOMEM.
 * Method: cheap first.  The page is reduced to ~100 dpi gray and read
 * once with zbar (a 100 mm QR has ~13 px modules there); a payload with
 * SH_SEP_PREFIX makes it a separator.  Only when nothing is found and the
 * two bands are seen (rows or, on a sheet fed sideways, columns at least
 * 55 % dark, 6..30 mm thick, clear of the image edge, one in each outer
 * third) is the page read again at up to 300 dpi, and in the end called
 * SH_SEP_UNREADABLE.  A code of another kind or payload (a QR printed on a
 * document) never makes a separator.
 */
int sh_sep_detect(PIX *pix, int dpi, int want_blank, sh_sep *out,
                  sh_err *err);

#endif
