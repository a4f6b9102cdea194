/*
 * batch.c — list a clerk's batch: one folder per dossier, the scanner's
 * files inside in natural name order (0002.tif before 0010.tif).
 *
 *   sh_batch_list     dossiers and files of one batch folder, hashed
 *   sh_batch_files    the scanner files straight in a folder (a stream)
 *   sh_dossiers_free / sh_infiles_free
 *
 * Hidden files and folders (".…") and files that are not scanner images
 * (by extension) are passed over; a folder with no scanner file is still
 * listed (it becomes a failed dossier with a clear reason).  Files are
 * opened read-only, only to hash them (SHA-256, the fixity recorded in
 * the catalog and the key of the OCR cache).
 */
#include "pipeline.h"
#include "../scanners/scan.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static int cmp_names(const void *a, const void *b)
{
    return sh_natcmp(*(char *const *)a, *(char *const *)b);
}

/* Names in dir that pass want(), sorted naturally. */
static int list_dir(const char *dir, int dirs, char ***out, int *n,
                    sh_err *err)
{
    *out = NULL;
    *n = 0;
    DIR *d = opendir(dir);
    if (!d)
        return sh_errf(err, SH_EIO, "%s: cannot open folder: %s", dir,
                       strerror(errno));
    char **v = NULL;
    int cnt = 0, cap = 0, rc = SH_OK;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.')
            continue;
        char path[4096];
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        struct stat st;
        if (stat(path, &st) < 0) {
            /* A scanner file that cannot be reached (a dangling link):
               list it, so its dossier fails naming it, instead of a PDF
               a page short. */
            if (dirs || lstat(path, &st) < 0 ||
                !sh_scan_is_candidate(e->d_name))
                continue;
        } else if (dirs ? !S_ISDIR(st.st_mode)
                        : !(S_ISREG(st.st_mode) &&
                            sh_scan_is_candidate(e->d_name))) {
            continue;
        }
        if (cnt == cap) {
            cap = cap ? 2 * cap : 16;
            char **nv = realloc(v, (size_t)cap * sizeof *nv);
            if (!nv) {
                rc = sh_errf(err, SH_ENOMEM, "out of memory");
                break;
            }
            v = nv;
        }
        if (!(v[cnt] = strdup(e->d_name))) {
            rc = sh_errf(err, SH_ENOMEM, "out of memory");
            break;
        }
        cnt++;
    }
    closedir(d);
    if (rc) {
        for (int i = 0; i < cnt; i++)
            free(v[i]);
        free(v);
        return rc;
    }
    if (cnt)
        qsort(v, (size_t)cnt, sizeof *v, cmp_names);
    *out = v;
    *n = cnt;
    return SH_OK;
}

static void free_names(char **v, int n)
{
    for (int i = 0; i < n; i++)
        free(v[i]);
    free(v);
}

/* files[0..nf) of dir as sh_infiles, stat'ed and hashed; an unreadable
   file is listed with its error.  *out holds what was made even on
   error (free with sh_infiles_free). */
static int hash_files(const char *dir, char **fn, int nf, sh_infile **out,
                      int *nout, sh_err *err)
{
    int rc = SH_OK;
    *nout = 0;
    if (!(*out = calloc((size_t)nf + 1, sizeof **out)))
        return sh_errf(err, SH_ENOMEM, "out of memory");
    for (int k = 0; k < nf && !rc; k++) {
        sh_infile *f = &(*out)[(*nout)++];
        char path[8192];
        snprintf(path, sizeof path, "%s/%s", dir, fn[k]);
        f->name = strdup(fn[k]);
        f->path = strdup(path);
        struct stat st;
        sh_err ferr = {0};
        if (!f->name || !f->path)
            rc = sh_errf(err, SH_ENOMEM, "out of memory");
        else if (stat(path, &st) < 0)
            sh_errf(&ferr, SH_EIO, "%s: %s", path, strerror(errno));
        else {
            f->size = st.st_size;
            f->mtime = st.st_mtime;
            sh_sha256_file(path, f->sha256, &ferr);
        }
        /* An unreadable file fails its dossier, not the listing. */
        if (ferr.rc && !(f->error = strdup(ferr.msg)))
            rc = sh_errf(err, SH_ENOMEM, "out of memory");
    }
    return rc;
}

int sh_batch_files(const char *dir, sh_infile **files, int *n, sh_err *err)
{
    char **fn = NULL;
    int nf = 0;
    *files = NULL;
    *n = 0;
    int rc = list_dir(dir, 0, &fn, &nf, err);
    if (!rc) {
        rc = hash_files(dir, fn, nf, files, n, err);
        if (rc)
            sh_infiles_free(files, *n);
    }
    free_names(fn, nf);
    return rc;
}

void sh_infiles_free(sh_infile **files, int n)
{
    if (!files || !*files)
        return;
    for (int k = 0; k < n; k++) {
        free((*files)[k].name);
        free((*files)[k].path);
        free((*files)[k].error);
        free((*files)[k].frames);
        free((*files)[k].fsha);
    }
    free(*files);
    *files = NULL;
}

int sh_batch_list(const char *batch_dir, sh_dossier_in **ds, int *n,
                  sh_err *err)
{
    char **dn = NULL;
    int nd = 0;
    char abs[PATH_MAX];
    if (realpath(batch_dir, abs))
        batch_dir = abs;
    int rc = list_dir(batch_dir, 1, &dn, &nd, err);
    if (rc)
        return rc;
    sh_dossier_in *v = realloc(*ds, (size_t)(*n + nd + 1) * sizeof *v);
    if (!v) {
        free_names(dn, nd);
        return sh_errf(err, SH_ENOMEM, "out of memory");
    }
    *ds = v;
    for (int i = 0; i < nd && !rc; i++) {
        sh_dossier_in *d = &v[*n];
        memset(d, 0, sizeof *d);
        char dir[PATH_MAX + 256];
        snprintf(dir, sizeof dir, "%s/%s", batch_dir, dn[i]);
        d->id = strdup(dn[i]);
        d->dir = strdup(dir);
        d->batch = strdup(batch_dir);
        (*n)++;
        if (!d->id || !d->dir || !d->batch) {
            rc = sh_errf(err, SH_ENOMEM, "out of memory");
            break;
        }
        char **fn = NULL;
        int nf = 0;
        rc = list_dir(dir, 0, &fn, &nf, err);
        if (rc)
            break;
        rc = hash_files(dir, fn, nf, &d->files, &d->nfiles, err);
        free_names(fn, nf);
    }
    free_names(dn, nd);
    return rc;
}

int sh_shard_of(const char *batch, const char *id, int n)
{
    /* The batch folder's own name, not its path: the same batch mounted at
       different places on different machines shards the same way. */
    size_t len = strlen(batch);
    while (len > 1 && batch[len - 1] == '/')
        len--;
    const char *base = batch + len;
    while (base > batch && base[-1] != '/')
        base--;
    sh_buf key = {0};
    sh_buf_add(&key, base, (size_t)(batch + len - base));
    sh_buf_printf(&key, "/%s", id);
    char hex[65];
    sh_sha256_buf(key.data ? key.data : "", key.len, hex);
    sh_buf_release(&key);
    uint64_t v = 0;
    for (int i = 0; i < 16; i++)
        v = v * 16 + (uint64_t)(hex[i] <= '9' ? hex[i] - '0' : hex[i] - 'a' + 10);
    return (int)(v % (uint64_t)n);
}

void sh_dossiers_free(sh_dossier_in **ds, int n)
{
    if (!ds || !*ds)
        return;
    for (int i = 0; i < n; i++) {
        sh_dossier_in *d = &(*ds)[i];
        sh_infiles_free(&d->files, d->nfiles);
        free(d->id);
        free(d->dir);
        free(d->batch);
    }
    free(*ds);
    *ds = NULL;
}
