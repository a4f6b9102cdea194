/*
 * tiffmem.h — libtiff over bytes in memory, for the codecs that libtiff
 * only offers through a TIFF handle: the CCITT data of a scanner PDF
 * behind a made-up header (scanners/pdfin_image.c) and the G4 coding of a
 * page for our PDFs (ocr/pdf_image.c).  Also the seek rule and the no-op
 * callbacks that scanners/tiff.c's file-descriptor I/O shares.
 *
 *   sh_tiffmem_reader    a read-only file: [optional] header, then data
 *   sh_tiffmem_writer    an empty file that grows as libtiff writes
 *   sh_tiffmem_open      TIFFClientOpenExt over one of them
 *   sh_tiffmem_release   free what a writer holds
 *   sh_tiffio_seek       libtiff's seek over a position and a size
 *   sh_tiffio_noclose, sh_tiffio_nomap, sh_tiffio_nounmap
 */
#ifndef SH_TIFFMEM_H
#define SH_TIFFMEM_H

#include <stddef.h>
#include <stdint.h>
#include <tiffio.h>

/* An in-memory file: hdr[0..nhdr) then data[0..ndata).  A writer's bytes
   are buf (malloc'd, grown by writes; data == buf), freed by
   sh_tiffmem_release.  Fields are read by the caller (ndata, oom) and pos
   may be reset to 0 before opening the file again for reading. */
typedef struct sh_tiffmem {
    const uint8_t *hdr, *data;
    size_t nhdr, ndata;
    uint8_t *buf;         /* writer: the bytes written; NULL for a reader */
    size_t cap;
    uint64_t pos;         /* file position                               */
    uint64_t max;         /* seeks beyond this fail                      */
    int writable;
    int oom;              /* a write failed for memory                   */
} sh_tiffmem;

/* m: read-only over hdr[0..nhdr) (hdr may be NULL with nhdr 0) followed
   by data[0..ndata); neither is copied, both must outlive the TIFF.
   Writes fail; seeks up to INT64_MAX. */
void sh_tiffmem_reader(sh_tiffmem *m, const uint8_t *hdr, size_t nhdr,
                       const uint8_t *data, size_t ndata);

/* m: empty and writable; writes grow m->buf (m->oom set when memory runs
   out); seeks up to 1 TiB.  Release with sh_tiffmem_release. */
void sh_tiffmem_writer(sh_tiffmem *m);

/* TIFFClientOpenExt(name, mode) over m with opts ([optional]: NULL is
   TIFFClientOpen's defaults).  Returns the handle, or NULL (libtiff's
   message went to its handlers).  No memory mapping: mode "rm" is usual. */
TIFF *sh_tiffmem_open(sh_tiffmem *m, const char *name, const char *mode,
                      TIFFOpenOptions *opts);

/* Free a writer's bytes; m is then empty.  Accepts a reader (no-op). */
void sh_tiffmem_release(sh_tiffmem *m);

/*
 * libtiff's seek for a file of `end` bytes whose position is *pos:
 * SEEK_SET from 0, SEEK_CUR from *pos, SEEK_END from end; the sum wraps
 * in toff_t arithmetic like libtiff's own.  Returns the new position, or
 * (toff_t)-1 with *pos unchanged when it would pass max.
 */
toff_t sh_tiffio_seek(uint64_t *pos, uint64_t end, uint64_t max, toff_t off,
                      int whence);

/* Callbacks for handles that own nothing and map nothing: close does
   nothing and returns 0; map returns 0 (no mapping: libtiff reads). */
int sh_tiffio_noclose(thandle_t h);
int sh_tiffio_nomap(thandle_t h, void **base, toff_t *size);
void sh_tiffio_nounmap(thandle_t h, void *base, toff_t size);

#endif
