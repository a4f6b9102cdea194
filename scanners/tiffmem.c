/*
 * tiffmem.c — libtiff over bytes in memory (see tiffmem.h).
 *
 *   sh_tiffmem_reader, sh_tiffmem_writer, sh_tiffmem_open,
 *   sh_tiffmem_release    the in-memory file
 *   sh_tiffio_seek        the seek rule shared with scanners/tiff.c
 *   sh_tiffio_noclose, sh_tiffio_nomap, sh_tiffio_nounmap
 *
 * Method.  One set of TIFFClientOpen callbacks over an sh_tiffmem.  A
 * reader is two pieces read as one file (a header we made up, then the
 * caller's data), so the data is never copied; a writer is one buffer
 * that doubles as libtiff writes past its end (a gap left by a seek is
 * zeroed), and can then be opened again for reading.  Reads past the end
 * return what there is; a write that cannot grow the buffer sets oom and
 * fails, and libtiff reports the failure to its caller.
 */
#include "tiffmem.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define WRITER_SEEK_MAX ((uint64_t)1 << 40)

static tmsize_t tm_read(thandle_t h, void *buf, tmsize_t n)
{
    sh_tiffmem *m = h;
    uint64_t total = m->nhdr + m->ndata;
    size_t done = 0;
    if (n < 0)
        return -1;
    while (done < (size_t)n && m->pos < total) {
        const uint8_t *src;
        uint64_t k;
        if (m->pos < m->nhdr) {
            src = m->hdr + m->pos;
            k = m->nhdr - m->pos;
        } else {
            src = m->data + (m->pos - m->nhdr);
            k = total - m->pos;
        }
        if (k > (size_t)n - done)
            k = (size_t)n - done;
        memcpy((uint8_t *)buf + done, src, (size_t)k);
        done += (size_t)k;
        m->pos += k;
    }
    return (tmsize_t)done;
}

static tmsize_t tm_write(thandle_t h, void *buf, tmsize_t size)
{
    sh_tiffmem *m = h;
    if (!m->writable || size < 0)
        return -1;
    size_t end = (size_t)m->pos + (size_t)size;
    if (end > m->cap) {
        size_t ncap = m->cap ? m->cap : 65536;
        while (ncap < end)
            ncap *= 2;
        uint8_t *nd = realloc(m->buf, ncap);
        if (!nd) {
            m->oom = 1;
            return -1;
        }
        m->buf = nd;
        m->data = nd;
        m->cap = ncap;
    }
    if (m->pos > m->ndata)
        memset(m->buf + m->ndata, 0, (size_t)m->pos - m->ndata);
    memcpy(m->buf + m->pos, buf, (size_t)size);
    m->pos = end;
    if (end > m->ndata)
        m->ndata = end;
    return size;
}

static toff_t tm_seek(thandle_t h, toff_t off, int whence)
{
    sh_tiffmem *m = h;
    return sh_tiffio_seek(&m->pos, m->nhdr + m->ndata, m->max, off, whence);
}

static toff_t tm_size(thandle_t h)
{
    sh_tiffmem *m = h;
    return m->nhdr + m->ndata;
}

void sh_tiffmem_reader(sh_tiffmem *m, const uint8_t *hdr, size_t nhdr,
                       const uint8_t *data, size_t ndata)
{
    memset(m, 0, sizeof *m);
    m->hdr = hdr;
    m->nhdr = nhdr;
    m->data = data;
    m->ndata = ndata;
    m->max = (uint64_t)INT64_MAX;
}

void sh_tiffmem_writer(sh_tiffmem *m)
{
    memset(m, 0, sizeof *m);
    m->writable = 1;
    m->max = WRITER_SEEK_MAX;
}

TIFF *sh_tiffmem_open(sh_tiffmem *m, const char *name, const char *mode,
                      TIFFOpenOptions *opts)
{
    return TIFFClientOpenExt(name, mode, (thandle_t)m, tm_read, tm_write,
                             tm_seek, sh_tiffio_noclose, tm_size,
                             sh_tiffio_nomap, sh_tiffio_nounmap, opts);
}

void sh_tiffmem_release(sh_tiffmem *m)
{
    if (!m || !m->writable)
        return;
    free(m->buf);
    sh_tiffmem_writer(m);
}

toff_t sh_tiffio_seek(uint64_t *pos, uint64_t end, uint64_t max, toff_t off,
                      int whence)
{
    uint64_t base = whence == SEEK_SET   ? 0
                    : whence == SEEK_CUR ? *pos
                                         : end;
    uint64_t to = base + off;   /* toff_t arithmetic wraps like libtiff's */
    if (to > max)
        return (toff_t)-1;
    *pos = to;
    return to;
}

int sh_tiffio_noclose(thandle_t h)
{
    return 0;
}

int sh_tiffio_nomap(thandle_t h, void **base, toff_t *size)
{
    return 0;
}

void sh_tiffio_nounmap(thandle_t h, void *base, toff_t size) {}
