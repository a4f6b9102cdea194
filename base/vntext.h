/*
 * vntext.h — the one Vietnamese normalisation and folding (vntext.c).
 *
 * Recognition, the catalog's tokenizer, search and the web pages all
 * compare Vietnamese text through these functions, so they cannot
 * disagree on what "the same word" is.
 */
#ifndef SH_VNTEXT_H
#define SH_VNTEXT_H

#include "common.h"

/* NFC; Ð/ð (U+00D0/U+00F0, eth) read as Đ/đ; the tone of a word-final
   oa, oe, uy put on its first vowel (hoà → hòa, khoẻ → khỏe, thuỷ → thủy;
   quý, hoàng, thuyền unchanged).  Keeps case.  in: UTF-8 (NULL = "");
   an invalid byte becomes U+FFFD.  *out: malloc'd, caller frees; NULL on
   error.  Returns SH_OK or SH_ENOMEM. */
int sh_text_norm(const char *in, char **out);
/* sh_text_norm, lower-cased, then the marks U+0300–U+036F removed and
   đ → d: "Đất Đai" → "dat dai", "NGHỊ ĐỊNH" → "nghi dinh".  Same
   conventions as sh_text_norm. */
int sh_text_fold(const char *in, char **out);

/* Unicode NFC alone (no tone placement, no eth rule) of n bytes of valid
   UTF-8 at in: *out malloc'd and NUL-terminated, its length in *len
   ([optional]).  For values kept as a person typed them (manifest cells,
   clerks' fields and words).  Returns SH_OK or SH_ENOMEM (*out NULL). */
int sh_text_nfc(const char *in, size_t n, char **out, size_t *len);

/* Both forms of one token of n bytes (UTF-8, already lower case or not):
   the normal form (as sh_text_norm) appended to norm and, when fold is
   not NULL, the folded form (as sh_text_fold) appended to fold.  Fast for
   ASCII and precomposed Latin letters (a table), exact for the rest.
   Returns SH_OK or SH_ENOMEM. */
int sh_vn_forms(const char *tok, size_t n, sh_buf *norm, sh_buf *fold);

/* The folded form of one token (as sh_text_fold) into out[0..cap):
   returns its length, or -1 if it needs more than cap bytes or memory
   ran out.  Fast for Latin letters (a table), exact for the rest. */
int sh_vn_fold_token(const char *tok, int n, char *out, int cap);

/* The folded form of one code point cp, when it is one ASCII byte: what
   sh_text_fold gives for the letter alone ('a' for A, à, Ạ, ǎ; 'd' for
   Đ, đ and eth; ASCII lower-cased, other ASCII as it is).  0 when the
   fold is anything else (a lone mark folds to nothing, ß or Ω to
   themselves), for an invalid cp, or when memory ran out.  For callers
   that need one folded byte per code point (ocr/fields.c maps folded text
   back to the letters as printed).  Fast for ASCII and the Latin blocks
   (the table of sh_vn_fold_token), exact for the rest. */
int sh_vn_fold_cp(uint32_t cp);

#endif
