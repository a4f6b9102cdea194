/*
 * pipeline.h — the stages driven together: batch listing, worker processes,
 * the job journal, dossier assembly, and the CLI commands over them.
 */
#ifndef SH_PIPELINE_H
#define SH_PIPELINE_H

#include "common.h"
#include <jansson.h>

/* Exit statuses of the sohoa command (documented in README and --help). */
enum {
    SH_EXIT_OK = 0,        /* everything done                           */
    SH_EXIT_PARTIAL = 1,   /* some dossier failed; the rest completed    */
    SH_EXIT_USAGE = 2,     /* usage or configuration error              */
    SH_EXIT_LOCKED = 3,    /* another run holds the warehouse            */
    SH_EXIT_DEADLINE = 4   /* stopped at the deadline with work left     */
};

/* ---- batch listing ---- */
typedef struct sh_infile {
    char *name;       /* file name inside the dossier folder */
    char *path;       /* full path */
    int64_t size, mtime;
    char sha256[65];  /* "" when the file could not be read */
    char *error;      /* why it could not be read, or NULL */
} sh_infile;

typedef struct sh_dossier_in {
    char *id;         /* folder name = dossier id */
    char *dir;
    char *batch;
    sh_infile *files;
    int nfiles;
} sh_dossier_in;

/* List BATCH_DIR's dossier folders (natural order) and their scanner files
   (natural order), hashing each file.  Appends to *ds / *n. */
int sh_batch_list(const char *batch_dir, sh_dossier_in **ds, int *n,
                  sh_err *err);
void sh_dossiers_free(sh_dossier_in **ds, int n);

/* ---- worker protocol (one JSON object per line each way) ----
 * job:    {"id":N, "path":"…", "frame":F, "img":"…/N.img", "timeout":S,
 *          "mode":"ocr"|"render"}   (render: re-encode the image only)
 * result: {"id":N, "ok":true, "geom":{…}, "text":"…", "words":[[…]],
 *          "conf":C, "codec":"…", "dpi_assumed":B, "t":{…}}
 *      or {"id":N, "ok":false, "rc":RC, "error":"…"}
 */
int sh_worker_main(void);
/* geom ↔ JSON */
json_t *sh_geom_json(const void *geom);
int sh_geom_from_json(json_t *j, void *geom);

/* ---- commands ---- */
int sh_cmd_run(int argc, char **argv);
int sh_cmd_status(int argc, char **argv);
int sh_cmd_search(int argc, char **argv);

/* Warehouse folder from --warehouse, $SOHOA_WAREHOUSE or "./warehouse". */
const char *sh_warehouse_default(void);

#endif
