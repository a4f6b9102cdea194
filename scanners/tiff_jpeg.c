/*
 * tiff_jpeg.c — a JPEG-coded TIFF frame held in one strip or one tile,
 * read as the baseline JPEG stream it is, so that the PDF can embed those
 * bytes unchanged (DCTDecode) as it does a JPEG file's.
 *
 *   sh__tiff_jpeg_read   (scan_int.h) the frame's JPEG stream put back
 *                        together, decoded, and offered for pass-through
 *
 * Method.  A "new-style" JPEG TIFF (compression 7) stores each strip or
 * tile as a JPEG stream, often abbreviated: its quantisation and Huffman
 * tables live once in the JPEGTables tag, itself a stream of only tables
 * (SOI, DQT/DHT..., EOI).  When the whole frame is one strip (RowsPerStrip
 * >= ImageLength) or one tile of exactly the frame's size, the raw strip
 * (TIFFReadRawStrip/Tile) and the tables make one complete stream: SOI,
 * the tables' segments (without their SOI and EOI), then the strip after
 * its own SOI.  That stream is decoded by jpeg.c under the TIFF's rules:
 * Photometric YCbCr or RGB says whether the three components carry the
 * YCbCr transform, whatever markers the stream holds, and the bytes are
 * offered for pass-through only when a PDF reader, which sees the stream
 * alone, would read the same colours (jpeg.c: the Adobe marker, and
 * component ids that some readers take for RGB).  The decoded frame must
 * have the TIFF's size and components; anything else (several strips,
 * old-style JPEG, tiles padded past the frame, a stream whose header
 * disagrees with the directory) is left to libtiff's decoder in tiff.c.
 * A stream that is complete but does not decode is damage: an error
 * naming the file and frame, as for a JPEG file.
 */
#include "scan_int.h"

#include <stdlib.h>
#include <string.h>

#include <tiffio.h>

/* The JPEGTables segments between their SOI and EOI, or none.  Returns 0
   when tables (if any) have that shape, -1 when they do not. */
static int tables_body(TIFF *tif, const uint8_t **body, size_t *n)
{
    uint32_t cnt = 0;
    void *p = NULL;
    *body = NULL;
    *n = 0;
    if (!TIFFGetField(tif, TIFFTAG_JPEGTABLES, &cnt, &p) || !p || cnt == 0)
        return 0;
    const uint8_t *t = p;
    if (cnt < 4 || t[0] != 0xFF || t[1] != 0xD8 || t[cnt - 2] != 0xFF ||
        t[cnt - 1] != 0xD9)
        return -1;
    *body = t + 2;
    *n = cnt - 4;
    return 0;
}

int sh__tiff_jpeg_read(sh_scan *s, int n, uint32_t w, uint32_t h, int spp,
                       int photo, sh_frame *f, int *done, sh_err *err)
{
    TIFF *tif = s->tif;
    int rc = SH_OK;
    uint8_t *buf = NULL;
    *done = 0;

    int tiled = TIFFIsTiled(tif);
    uint32_t pieces = tiled ? TIFFNumberOfTiles(tif) : TIFFNumberOfStrips(tif);
    if (pieces != 1)
        return SH_OK;   /* several strips or tiles: libtiff's decoder */
    uint64_t *counts = NULL;
    if (!TIFFGetField(tif, tiled ? TIFFTAG_TILEBYTECOUNTS
                                 : TIFFTAG_STRIPBYTECOUNTS, &counts) ||
        !counts || counts[0] < 4 || counts[0] > (uint64_t)s->size)
        return SH_OK;   /* tiff.c's path says what is wrong */
    const uint8_t *tb;
    size_t ntb;
    if (tables_body(tif, &tb, &ntb))
        return SH_OK;

    /* SOI + tables + the strip after its SOI; the strip is read at an
       offset so that its SOI lands where the tables end */
    size_t nraw = (size_t)counts[0];
    size_t nbuf = ntb + nraw;
    buf = malloc(nbuf);
    if (!buf)
        return sh__frame_err(s, n, err, SH_ENOMEM, "out of memory");
    uint8_t *raw = buf + ntb;
    tmsize_t got = tiled ? TIFFReadRawTile(tif, 0, raw, (tmsize_t)nraw)
                         : TIFFReadRawStrip(tif, 0, raw, (tmsize_t)nraw);
    if (got != (tmsize_t)nraw || s->tmsg[0]) {
        rc = sh__frame_err(s, n, err, SH_EINPUT,
                           "JPEG %s does not read: %s", tiled ? "tile"
                                                              : "strip",
                           sh__tiff_msg(s, "short read"));
        goto out;
    }
    if (raw[0] != 0xFF || raw[1] != 0xD8)
        goto out;   /* not a JPEG stream: libtiff's decoder will say */
    memcpy(buf + 2, tb, ntb);   /* over the strip's SOI: none lost */
    buf[0] = 0xFF;
    buf[1] = 0xD8;

    sh__jpeg_pdf jp = {
        .color_transform = spp == 3 ? photo == PHOTOMETRIC_YCBCR : -1,
        .want_pass = 1,
        .from_tiff = 1,
    };
    rc = sh__jpeg_decode_mem(s, n, buf, nbuf, &jp, f, err);
    if (rc)
        goto out;
    /* the stream must be the frame the directory describes */
    int d = pixGetDepth(f->pix);
    int comps_ok = spp == 1 ? d == 8 && !f->gray_of_colour
                            : d == 32 || f->gray_of_colour;
    if (pixGetWidth(f->pix) != (l_int32)w ||
        pixGetHeight(f->pix) != (l_int32)h || !comps_ok ||
        (f->jpeg && f->jpeg_components != spp)) {
        sh_log(SH_LOG_DEBUG, "%s: frame %d: JPEG stream of %d x %d "
               "(%d bpp) in a %u x %u TIFF: decoded by libtiff", s->path,
               n + 1, (int)pixGetWidth(f->pix), (int)pixGetHeight(f->pix), d,
               w, h);
        pixDestroy(&f->pix);
        free(f->jpeg);
        f->jpeg = NULL;
        f->njpeg = 0;
        f->jpeg_components = 0;
        f->gray_of_colour = 0;
        goto out;
    }
    *done = 1;
out:
    free(buf);
    return rc;
}
