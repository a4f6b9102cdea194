/*
 * run_report.c — `sohoa run`, the morning report: what went in, what
 * came out, what failed and what is left, stored in run.report and
 * printed by `sohoa report` (keys: pipeline.h).
 *
 *   sh_run_report_build   the report of a finished (or stopped) run
 *
 * Method.  Counts the run kept (recognised, cached, failed pages; done,
 * failed, up-to-date dossiers) are joined with counts read from the
 * catalog for the batch's dossiers (pages in and out, blank, split,
 * rotated, weak, dpi assumed, quarantined, timed out) and the run's
 * error events as the list of failures.
 */
#include "run_int.h"

#include <stdio.h>
#include <string.h>

/* What went in, what came out, what failed and what is left: stored in
   run.report and printed by `sohoa report`. */
/* See run_int.h. */
json_t *sh_run_report_build(run *r, double wall, int exit_code, int left)
{
    int p_in = 0, p_out = 0, blank = 0, split = 0, rotated = 0, low = 0;
    int dpi_assumed = 0, quarantined = 0, timed_out = 0;
    json_t *left_ids = json_array();
    for (int d = 0; d < r->nds; d++) {
        const char *id = r->ds[d].id;
        p_in += sh_db_int(r->db, "SELECT count(DISTINCT source_name||'/'||"
                          "frame) FROM page WHERE dossier=?", id);
        p_out += sh_db_int(r->db, "SELECT coalesce(pages,0) FROM dossier "
                           "WHERE id=? AND state='done'", id);
        blank += sh_db_int(r->db, "SELECT count(*) FROM page WHERE "
                           "dossier=? AND kind='blank'", id);
        split += sh_db_int(r->db, "SELECT count(*) FROM page WHERE "
                           "dossier=? AND part=1", id);
        rotated += sh_db_int(r->db, "SELECT count(*) FROM page WHERE "
                             "dossier=? AND quarter<>0", id);
        low += sh_db_int(r->db, "SELECT count(*) FROM page WHERE dossier=?"
                         " AND state='ocr' AND (conf<70 OR review IS NOT "
                         "NULL)", id);
        dpi_assumed += sh_db_int(r->db, "SELECT count(*) FROM page WHERE "
                                 "dossier=? AND dpi_assumed", id);
        quarantined += sh_db_int(r->db, "SELECT count(*) FROM page WHERE "
                                 "dossier=? AND state='quarantined'", id);
        timed_out += sh_db_int(r->db, "SELECT count(*) FROM page WHERE "
                               "dossier=? AND state='timeout'", id);
        if (r->st[d].planned && !r->st[d].done)
            json_array_append_new(left_ids, json_string(id));
    }
    json_t *fails = json_array();
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(r->db,
                           "SELECT dossier, file, frame, reason FROM event "
                           "WHERE run=? AND level='error' ORDER BY id",
                           -1, &st, NULL) == SQLITE_OK) {
        sqlite3_bind_int64(st, 1, r->run_id);
        while (sqlite3_step(st) == SQLITE_ROW) {
            json_t *f = json_object();
            json_object_set_new(f, "dossier", json_string((const char *)sqlite3_column_text(st, 0)));
            json_object_set_new(f, "file", json_string((const char *)sqlite3_column_text(st, 1)));
            json_object_set_new(f, "page", sqlite3_column_type(st, 2) == SQLITE_NULL
                                ? json_null() : json_integer(sqlite3_column_int(st, 2) + 1));
            json_object_set_new(f, "reason", json_string((const char *)sqlite3_column_text(st, 3)));
            json_array_append_new(fails, f);
        }
        sqlite3_finalize(st);
    }
    char when[32];
    sh_now_iso(when);
    json_t *rep = json_pack(
        "{sIsssfsisi}", "run", (json_int_t)r->run_id, "finished", when,
        "wall_s", wall, "exit_code", exit_code, "workers", r->nw);
    json_object_set_new(rep, "dossiers", json_pack("{sisisisisi}", "in", r->nds,
        "done", r->d_done, "failed", r->d_failed, "up_to_date", r->d_skipped,
        "left", left));
    json_object_set_new(rep, "pages", json_pack(
        "{sisisisisisisisisisisisi}", "in", p_in, "out", p_out, "ocr",
        r->p_ocr, "cached", r->p_cached, "failed", r->p_failed, "quarantined",
        quarantined, "timed_out", timed_out, "blank", blank, "split", split,
        "rotated", rotated, "low_conf", low, "dpi_assumed", dpi_assumed));
    json_object_set_new(rep, "pages_per_min",
                        json_real(wall > 0 ? r->p_ocr * 60.0 / wall : 0));
    json_object_set_new(rep, "ocr_s", json_real(r->ocr_time));
    json_object_set_new(rep, "ocr_cpu_s", json_real(r->ocr_cpu));
    json_object_set_new(rep, "worker_peak_rss_mb",
                        json_real(r->worker_rss_kb / 1024.0));
    json_object_set_new(rep, "deadline_reached", json_boolean(r->deadline_hit));
    json_object_set_new(rep, "failures", fails);
    json_object_set_new(rep, "left", left_ids);
    /* streams cut at separator sheets: the clerk's mistakes, unassigned
       pages (run_stream.c) */
    if (r->stream_report)
        json_object_set(rep, "streams", r->stream_report);
    return rep;
}

