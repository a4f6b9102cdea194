/*
 * test_pipeline.c — batch listing (natural page order, hidden and
 * non-scanner files passed over, hashes) and the geometry hand-off.
 */
#include "test.h"
#include "../pipeline/pipeline.h"
#include "../scanners/prep.h"

#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

static int touch(const char *dir, const char *name, const char *data)
{
    char p[1024];
    snprintf(p, sizeof p, "%s/%s", dir, name);
    FILE *f = fopen(p, "w");
    if (!f)
        return 1;
    fputs(data, f);
    return fclose(f) != 0;
}

static int test_batch_list(void)
{
    char b[512], d1[600], d2[600];
    snprintf(b, sizeof b, "%s/batch", sh_test_tmpdir());
    snprintf(d1, sizeof d1, "%s/HS-10", b);
    snprintf(d2, sizeof d2, "%s/HS-9", b);
    sh_err err = {0};
    CHECK(sh_mkdirs(d1, &err) == 0 && sh_mkdirs(d2, &err) == 0);
    CHECK(touch(d1, "page10.tif", "a") == 0);
    CHECK(touch(d1, "page2.tif", "b") == 0);
    CHECK(touch(d1, "page1.JPG", "c") == 0);
    CHECK(touch(d1, "notes.txt", "x") == 0);
    CHECK(touch(d1, "._page1.tif", "x") == 0);
    CHECK(touch(d1, ".hidden.tif", "x") == 0);
    char hid[700];
    snprintf(hid, sizeof hid, "%s/.trash", b);
    CHECK(sh_mkdirs(hid, &err) == 0);
    sh_dossier_in *ds = NULL;
    int n = 0;
    CHECKF(sh_batch_list(b, &ds, &n, &err) == SH_OK, "%s", err.msg);
    CHECK(n == 2);
    CHECK(!strcmp(ds[0].id, "HS-9") && !strcmp(ds[1].id, "HS-10"));
    CHECK(ds[0].nfiles == 0);
    CHECK(ds[1].nfiles == 3);
    CHECK(!strcmp(ds[1].files[0].name, "page1.JPG"));
    CHECK(!strcmp(ds[1].files[1].name, "page2.tif"));
    CHECK(!strcmp(ds[1].files[2].name, "page10.tif"));
    /* sha256("b") */
    CHECK(!strcmp(ds[1].files[1].sha256,
                  "3e23e8160039594a33894f6564e1b1348bbd7a0088d42c4acb73eeaed59c009d"));
    CHECK(ds[1].files[1].size == 1 && ds[1].files[1].error == NULL);
    sh_dossiers_free(&ds, n);
    CHECK(ds == NULL);
    CHECK(sh_batch_list("/nonexistent-batch", &ds, &n, &err) == SH_EIO);
    CHECK(strstr(err.msg, "/nonexistent-batch") != NULL);
    return 0;
}

static int test_geom_json(void)
{
    sh_geom g = {0}, back;
    g.src_w = 3508;
    g.src_h = 4960;
    g.src_xres = g.src_yres = 300;
    g.quarter = 3;
    g.skew_deg = -1.25;
    g.full_w = 4960;
    g.reg_x = 2480;
    g.reg_w = 2480;
    g.part = 1;
    g.nparts = 2;
    g.blank = 1;
    g.page_w_pt = 595.2;
    json_t *j = sh_geom_json(&g);
    CHECK(j != NULL);
    CHECK(sh_geom_from_json(j, &back) == SH_OK);
    CHECK(memcmp(&g, &back, sizeof g) == 0);
    json_object_del(j, "quarter");
    CHECK(sh_geom_from_json(j, &back) == SH_EINPUT);
    json_decref(j);
    return 0;
}

const sh_test sh_tests_pipeline[] = {
    {"pipeline/batch_list", test_batch_list},
    {"pipeline/geom_json", test_geom_json},
    {NULL, NULL},
};
