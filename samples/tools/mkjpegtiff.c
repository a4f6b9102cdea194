/*
 * mkjpegtiff.c — a scanner's JPEG-in-TIFF (compression 7) from a JPEG or
 * any image Leptonica reads: YCbCr (gray stays MinIsBlack), quality 85,
 * 300 dpi unless the image says otherwise, one strip unless ROWS is given.
 *
 *   mkjpegtiff IN OUT.tif [ROWS_PER_STRIP]
 *
 * For tests/e2e.sh and the measurements of the DCT pass-through (tiffcp
 * -c jpeg is not installed everywhere).
 */
#include <stdio.h>
#include <stdlib.h>

#include <leptonica/allheaders.h>
#include <tiffio.h>

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: mkjpegtiff IN OUT.tif [ROWS_PER_STRIP]\n");
        return 2;
    }
    PIX *pix = pixRead(argv[1]);
    if (!pix) {
        fprintf(stderr, "mkjpegtiff: cannot read %s\n", argv[1]);
        return 1;
    }
    PIX *p = pixGetDepth(pix) == 8 && !pixGetColormap(pix)
                 ? pixClone(pix)
                 : pixConvertTo32(pix);
    int w = pixGetWidth(p), h = pixGetHeight(p), spp = pixGetDepth(p) == 8
                                                          ? 1 : 3;
    int rps = argc > 3 ? atoi(argv[3]) : h;
    int res = pixGetXRes(pix) > 0 ? pixGetXRes(pix) : 300;
    TIFF *t = TIFFOpen(argv[2], "w");
    if (!t) {
        fprintf(stderr, "mkjpegtiff: cannot write %s\n", argv[2]);
        return 1;
    }
    TIFFSetField(t, TIFFTAG_IMAGEWIDTH, w);
    TIFFSetField(t, TIFFTAG_IMAGELENGTH, h);
    TIFFSetField(t, TIFFTAG_BITSPERSAMPLE, 8);
    TIFFSetField(t, TIFFTAG_SAMPLESPERPIXEL, spp);
    TIFFSetField(t, TIFFTAG_PLANARCONFIG, PLANARCONFIG_CONTIG);
    TIFFSetField(t, TIFFTAG_COMPRESSION, COMPRESSION_JPEG);
    TIFFSetField(t, TIFFTAG_PHOTOMETRIC,
                 spp == 1 ? PHOTOMETRIC_MINISBLACK : PHOTOMETRIC_YCBCR);
    if (spp == 3)
        TIFFSetField(t, TIFFTAG_JPEGCOLORMODE, JPEGCOLORMODE_RGB);
    TIFFSetField(t, TIFFTAG_JPEGQUALITY, 85);
    TIFFSetField(t, TIFFTAG_ROWSPERSTRIP, rps > 0 ? rps : h);
    TIFFSetField(t, TIFFTAG_XRESOLUTION, (float)res);
    TIFFSetField(t, TIFFTAG_YRESOLUTION, (float)res);
    TIFFSetField(t, TIFFTAG_RESOLUTIONUNIT, RESUNIT_INCH);
    unsigned char *row = malloc((size_t)w * spp);
    int ok = row != NULL;
    for (int y = 0; ok && y < h; y++) {
        l_uint32 *line = pixGetData(p) + (size_t)y * pixGetWpl(p);
        for (int x = 0; x < w; x++) {
            if (spp == 1) {
                row[x] = (unsigned char)GET_DATA_BYTE(line, x);
            } else {
                l_int32 r, g, b;
                extractRGBValues(line[x], &r, &g, &b);
                row[3 * x] = (unsigned char)r;
                row[3 * x + 1] = (unsigned char)g;
                row[3 * x + 2] = (unsigned char)b;
            }
        }
        ok = TIFFWriteScanline(t, row, (uint32_t)y, 0) >= 0;
    }
    free(row);
    ok = ok && TIFFWriteDirectory(t);
    TIFFClose(t);
    pixDestroy(&p);
    pixDestroy(&pix);
    if (!ok) {
        fprintf(stderr, "mkjpegtiff: writing %s failed\n", argv[2]);
        return 1;
    }
    return 0;
}
