/*
 * jpeg.c — the JPEG reader of scan.c, also the decoder of the JPEG
 * images inside scanner PDFs (pdfin_image.c).
 *
 *   sh__jpeg_read        a JPEG file (its one frame)
 *   sh__jpeg_decode_mem  JPEG bytes in memory, under file or PDF rules
 *
 * Method.  JPEG is decoded from the bytes with a libjpeg error manager
 * that longjmps; corrupt-data warnings ("Premature end of JPEG file", bad
 * Huffman code, ...) are errors too.  A progress monitor caps the number
 * of progressive scans, and data much too small for the pixel count its
 * header claims is refused before decoding (a Huffman JPEG spends at
 * least one bit per 8x8 block).  In a JPEG file the resolution is the
 * JFIF density, else the EXIF one, and the orientation the EXIF one: the
 * EXIF block (APP1) is parsed by hand with bounds checks, and broken EXIF
 * is ignored.  In a PDF both come from the page instead, the colour
 * transform follows PDF's rules, and the bytes are offered for
 * pass-through only when they mean the same alone; a TIFF's JPEG strip
 * (tiff_jpeg.c) is read the same way, its Photometric as the transform.
 */
#include "scan_int.h"

#include <limits.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jpeglib.h>
#include <jerror.h>

/* more progressive scans than this is an attack, not a photograph
   (libjpeg-turbo's djpeg suggests the same order with -maxscans) */
#define JPEG_MAX_SCANS 1000
/* a Huffman JPEG spends >= 1 bit per 8x8 block of its first component:
   at most 512 pixels per byte; refuse beyond 4x that */
#define JPEG_MAX_PX_PER_BYTE 2048.0

/* ------------------------------------------------------------------ */
/* EXIF (inside JPEG APP1)                                             */
/* ------------------------------------------------------------------ */

typedef struct exif_info {
    int orientation;    /* 0 = absent */
    double xres, yres;  /* ppi, 0 = absent */
} exif_info;

static unsigned ex16(const uint8_t *p, int be)
{
    return be ? (unsigned)p[0] << 8 | p[1] : (unsigned)p[1] << 8 | p[0];
}

static uint32_t ex32(const uint8_t *p, int be)
{
    return be ? (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
                    (uint32_t)p[2] << 8 | p[3]
              : (uint32_t)p[3] << 24 | (uint32_t)p[2] << 16 |
                    (uint32_t)p[1] << 8 | p[0];
}

/* Parse IFD0 of a TIFF-structured EXIF block p[0..n).  Only values wholly
   inside the block are used; anything malformed is skipped. */
static void exif_parse(const uint8_t *p, size_t n, exif_info *ex)
{
    memset(ex, 0, sizeof *ex);
    if (n < 8)
        return;
    int be;
    if (p[0] == 'I' && p[1] == 'I')
        be = 0;
    else if (p[0] == 'M' && p[1] == 'M')
        be = 1;
    else
        return;
    if (ex16(p + 2, be) != 42)
        return;
    uint32_t ifd = ex32(p + 4, be);
    if (ifd < 8 || ifd > n - 2)
        return;
    size_t cnt = ex16(p + ifd, be);
    size_t room = (n - ifd - 2) / 12;
    if (cnt > room)
        cnt = room;
    double xr = 0, yr = 0;
    unsigned unit = 2;   /* EXIF default: inch */
    for (size_t i = 0; i < cnt; i++) {
        const uint8_t *e = p + ifd + 2 + 12 * i;
        unsigned tag = ex16(e, be), type = ex16(e + 2, be);
        uint32_t count = ex32(e + 4, be);
        if (count < 1)
            continue;
        if ((tag == 0x0112 || tag == 0x0128) && (type == 3 || type == 4)) {
            unsigned v = type == 3 ? ex16(e + 8, be) : ex32(e + 8, be);
            if (tag == 0x0112)
                ex->orientation = v >= 1 && v <= 8 ? (int)v : 0;
            else
                unit = v;
        } else if ((tag == 0x011A || tag == 0x011B) && type == 5) {
            uint32_t off = ex32(e + 8, be);
            if (off < 8 || off > n - 8)
                continue;
            uint32_t num = ex32(p + off, be), den = ex32(p + off + 4, be);
            if (den == 0)
                continue;
            double v = (double)num / den;
            if (tag == 0x011A)
                xr = v;
            else
                yr = v;
        }
    }
    double k = unit == 2 ? 1.0 : unit == 3 ? 2.54 : 0.0;
    ex->xres = xr * k;
    ex->yres = yr * k;
}

/* ------------------------------------------------------------------ */
/* JPEG                                                                */
/* ------------------------------------------------------------------ */

typedef struct jpeg_err {
    struct jpeg_error_mgr pub;   /* first: libjpeg sees only this */
    jmp_buf jb;
    char msg[JMSG_LENGTH_MAX + 64];
} jpeg_err;

static void jpeg_on_error(j_common_ptr c)
{
    jpeg_err *je = (jpeg_err *)c->err;
    if (!je->msg[0])
        c->err->format_message(c, je->msg);
    longjmp(je->jb, 1);
}

static void jpeg_on_message(j_common_ptr c, int level)
{
    jpeg_err *je = (jpeg_err *)c->err;
    if (level >= 0)
        return;   /* trace output */
    char text[JMSG_LENGTH_MAX];
    c->err->format_message(c, text);
    switch (c->err->msg_code) {
    /* harmless oddities of real-world files: the pixels are intact */
    case JWRN_EXTRANEOUS_DATA:
    case JWRN_JFIF_MAJOR:
    case JWRN_ADOBE_XFORM:
    case JWRN_BOGUS_ICC:
    case JWRN_NOT_SEQUENTIAL:   /* odd SOS fields libjpeg ignores anyway */
        sh_log(SH_LOG_DEBUG, "libjpeg warning: %s", text);
        return;
    default:
        /* corrupt data: an error, not a partly grey page */
        snprintf(je->msg, sizeof je->msg, "%s", text);
        longjmp(je->jb, 1);
    }
}

static void jpeg_on_progress(j_common_ptr c)
{
    if (!c->is_decompressor)
        return;
    j_decompress_ptr d = (j_decompress_ptr)c;
    if (d->input_scan_number > JPEG_MAX_SCANS) {
        jpeg_err *je = (jpeg_err *)c->err;
        snprintf(je->msg, sizeof je->msg,
                 "more than %d progressive scans (hostile file?)",
                 JPEG_MAX_SCANS);
        longjmp(je->jb, 1);
    }
}

/* State of one JPEG decode, owned by the caller of jpeg_decode so that
   nothing local to the function holding setjmp changes after it. */
typedef struct jpeg_job {
    sh_scan *s;
    int n;
    sh_frame *f;
    sh_err *err;
    const uint8_t *data;       /* the JPEG bytes */
    size_t ndata;
    const sh__jpeg_pdf *pdf;   /* NULL: a JPEG file; else a PDF stream */
    struct jpeg_decompress_struct cinfo;
    jpeg_err jerr;
    struct jpeg_progress_mgr progress;
    int created;
    PIX *pix;
    int rc;
} jpeg_job;

static int jpeg_decode(jpeg_job *j)
{
    sh_scan *s = j->s;
    struct jpeg_decompress_struct *ci = &j->cinfo;

    ci->err = jpeg_std_error(&j->jerr.pub);
    j->jerr.pub.error_exit = jpeg_on_error;
    j->jerr.pub.emit_message = jpeg_on_message;
    j->jerr.msg[0] = 0;
    if (setjmp(j->jerr.jb)) {
        if (!j->rc)
            j->rc = sh__frame_err(s, j->n, j->err, SH_EINPUT,
                                  "JPEG does not decode: %s",
                                  j->jerr.msg[0] ? j->jerr.msg
                                                 : "libjpeg error");
        goto out;
    }
    jpeg_create_decompress(ci);
    j->created = 1;
    j->progress.progress_monitor = jpeg_on_progress;
    ci->progress = &j->progress;
    jpeg_mem_src(ci, j->data, (unsigned long)j->ndata);
    jpeg_save_markers(ci, JPEG_APP0 + 1, 0xFFFF);
    if (jpeg_read_header(ci, TRUE) != JPEG_HEADER_OK) {
        j->rc = sh__frame_err(s, j->n, j->err, SH_EINPUT,
                              "JPEG holds no image");
        goto out;
    }
    j->rc = sh__check_size(s, j->n, ci->image_width, ci->image_height, j->err);
    if (j->rc)
        goto out;
    double px = (double)ci->image_width * ci->image_height;
    if (!ci->arith_code && px > JPEG_MAX_PX_PER_BYTE * (double)j->ndata) {
        j->rc = sh__frame_err(s, j->n, j->err, SH_EINPUT,
                              "JPEG claims %u x %u pixels in only %zu bytes: "
                              "truncated or corrupt",
                              ci->image_width, ci->image_height, j->ndata);
        goto out;
    }

    /* In a PDF, 3 components are YCbCr unless an Adobe marker or the
       stream's /ColorTransform says otherwise (libjpeg would also look at
       JFIF markers and component ids); the pass-through bytes are later
       read without /ColorTransform, so they must mean the same alone. */
    int pdf_pass_ok = 1;
    if (j->pdf && (ci->num_components == 3 || ci->num_components == 4)) {
        int adobe_ct = ci->saw_Adobe_marker ? ci->Adobe_transform != 0
                                            : ci->num_components == 3;
        int ct = j->pdf->color_transform >= 0 ? j->pdf->color_transform != 0
                                              : adobe_ct;
        pdf_pass_ok = ct == adobe_ct;
        /* a TIFF's strip says YCbCr by its Photometric; alone, ids 'R',
           'G','B' without an Adobe marker read as RGB to some readers */
        const jpeg_component_info *cc = ci->comp_info;
        if (j->pdf->from_tiff && ci->num_components == 3 &&
            !ci->saw_Adobe_marker && cc[0].component_id == 'R' &&
            cc[1].component_id == 'G' && cc[2].component_id == 'B')
            pdf_pass_ok = 0;
        if (ci->num_components == 3)
            ci->jpeg_color_space = ct ? JCS_YCbCr : JCS_RGB;
        else
            ci->jpeg_color_space = ct ? JCS_YCCK : JCS_CMYK;
    }

    int depth, cmyk = 0, pass = 0;
    switch (ci->jpeg_color_space) {
    case JCS_GRAYSCALE:
        ci->out_color_space = JCS_GRAYSCALE;
        depth = 8;
        pass = 1;
        break;
    case JCS_YCbCr:
        ci->out_color_space = JCS_RGB;
        depth = 32;
        pass = 1;
        break;
    case JCS_RGB:
        ci->out_color_space = JCS_RGB;
        depth = 32;
        /* a PDF reader applies YCbCr→RGB to 3 components unless an Adobe
           marker says not to: pass RGB-coded files through only then */
        pass = ci->saw_Adobe_marker;
        break;
    case JCS_CMYK:
    case JCS_YCCK:
        ci->out_color_space = JCS_CMYK;
        depth = 32;
        cmyk = 1;
        break;
    default:
        j->rc = sh__frame_err(s, j->n, j->err, SH_EINPUT,
                              "unsupported JPEG colour space (%d components)",
                              ci->num_components);
        goto out;
    }
    if (ci->arith_code || ci->data_precision != 8)
        pass = 0;
    if (j->pdf && (!j->pdf->want_pass || !pdf_pass_ok))
        pass = 0;
    /* progressive buffers: bounded by the frame limit (8 bytes a pixel
       covers 4 components of 16-bit coefficients) */
    {
        double cap = (double)s->lim.max_pixels * 8 + (64 << 20);
        ci->mem->max_memory_to_use = cap > (double)LONG_MAX ? LONG_MAX
                                                            : (long)cap;
    }

    j->f->codec = "jpeg";
    /* in a PDF, resolution and turn come from the page, not the JPEG */
    if (!j->pdf) {
        /* resolution: JFIF density, else EXIF; orientation: EXIF */
        exif_info ex = {0};
        for (jpeg_saved_marker_ptr m = ci->marker_list; m; m = m->next) {
            if (m->marker == JPEG_APP0 + 1 && m->data_length >= 6 &&
                memcmp(m->data, "Exif\0\0", 6) == 0) {
                exif_parse(m->data + 6, m->data_length - 6, &ex);
                break;
            }
        }
        double xr = 0, yr = 0;
        if (ci->saw_JFIF_marker &&
            (ci->density_unit == 1 || ci->density_unit == 2)) {
            double k = ci->density_unit == 2 ? 2.54 : 1.0;
            xr = ci->X_density * k;
            yr = ci->Y_density * k;
        }
        if (!sh__res_ok(xr, ci->image_width) &&
            !sh__res_ok(yr, ci->image_height)) {
            xr = ex.xres;
            yr = ex.yres;
        }
        sh__set_res(j->f, xr, yr, ci->image_width, ci->image_height);
        sh__set_orientation(j->f, ex.orientation);
    }

    jpeg_start_decompress(ci);
    uint32_t w = ci->output_width, h = ci->output_height;
    int comps = ci->output_components;
    if (w != ci->image_width || h != ci->image_height ||
        comps != (depth == 8 ? 1 : cmyk ? 4 : 3)) {
        j->rc = sh__frame_err(s, j->n, j->err, SH_EINPUT,
                              "inconsistent JPEG output");
        goto out;
    }
    /* A JPEG file or TIFF strip asked as gray (sh_scan_read_gray): the
       brightest channel, row by row. */
    int max8 = depth == 32 && !cmyk && (!j->pdf || j->pdf->from_tiff) &&
               s->want_gray;
    j->pix = pixCreate((l_int32)w, (l_int32)h, max8 ? 8 : depth);
    j->f->gray_of_colour = max8;
    if (!j->pix) {
        j->rc = sh__frame_err(s, j->n, j->err, SH_ENOMEM,
                              "out of memory for %u x %u pixels", w, h);
        goto out;
    }
    /* freed with the decompressor, also on longjmp */
    JSAMPARRAY row = (*ci->mem->alloc_sarray)((j_common_ptr)ci, JPOOL_IMAGE,
                                              w * (JDIMENSION)comps, 1);
    l_uint32 *data = pixGetData(j->pix);
    int wpl = pixGetWpl(j->pix);
    /* CMYK sense: JPEG files from Adobe (Photoshop) hold 255 = no ink; in a
       PDF the image's /Decode says it */
    int adobe = j->pdf ? j->pdf->cmyk_lightness : ci->saw_Adobe_marker;
    while (ci->output_scanline < h) {
        JDIMENSION y = ci->output_scanline;
        if (jpeg_read_scanlines(ci, row, 1) != 1) {
            j->rc = sh__frame_err(s, j->n, j->err, SH_EINPUT,
                                  "JPEG data ends at row %u", y);
            goto out;
        }
        l_uint32 *line = data + (size_t)y * wpl;
        const JSAMPLE *p = row[0];
        if (depth == 8) {
            for (uint32_t x = 0; x < w; x++)
                SET_DATA_BYTE(line, x, p[x]);
        } else if (max8) {
            for (uint32_t x = 0; x < w; x++, p += 3)
                SET_DATA_BYTE(line, x, sh__max3(p[0], p[1], p[2]));
        } else if (!cmyk) {
            for (uint32_t x = 0; x < w; x++, p += 3)
                line[x] = sh__rgb_word(p[0], p[1], p[2]);
        } else {
            for (uint32_t x = 0; x < w; x++, p += 4) {
                unsigned c = p[0], m = p[1], yy = p[2], k = p[3];
                if (!adobe)
                    c = 255 - c, m = 255 - m, yy = 255 - yy, k = 255 - k;
                line[x] = sh__rgb_word((c * k + 127) / 255, (m * k + 127) / 255,
                                       (yy * k + 127) / 255);
            }
        }
    }
    jpeg_finish_decompress(ci);

    if (pass && (ci->num_components == 1 || ci->num_components == 3)) {
        j->f->jpeg = malloc(j->ndata);
        if (!j->f->jpeg) {
            j->rc = sh__frame_err(s, j->n, j->err, SH_ENOMEM, "out of memory");
            goto out;
        }
        memcpy(j->f->jpeg, j->data, j->ndata);
        j->f->njpeg = j->ndata;
        j->f->jpeg_components = ci->num_components;
    }
out:
    if (j->created)
        jpeg_destroy_decompress(ci);
    j->created = 0;
    return j->rc;
}

int sh__jpeg_decode_mem(sh_scan *s, int n, const uint8_t *data, size_t ndata,
                        const sh__jpeg_pdf *pdf, sh_frame *f, sh_err *err)
{
    jpeg_job *j = calloc(1, sizeof *j);
    if (!j)
        return sh__frame_err(s, n, err, SH_ENOMEM, "out of memory");
    j->s = s;
    j->n = n;
    j->f = f;
    j->err = err;
    j->data = data;
    j->ndata = ndata;
    j->pdf = pdf;
    int rc = jpeg_decode(j);
    if (rc) {
        pixDestroy(&j->pix);
        free(f->jpeg);
        f->jpeg = NULL;
        f->njpeg = 0;
    }
    f->pix = j->pix;
    free(j);
    return rc;
}

int sh__jpeg_read(sh_scan *s, int n, sh_frame *f, sh_err *err)
{
    return sh__jpeg_decode_mem(s, n, s->data, s->ndata, NULL, f, err);
}
