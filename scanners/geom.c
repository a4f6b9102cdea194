/*
 * geom.c — sh_geom ↔ JSON, field by field from one list (GEOM_FIELDS), so
 * that the two directions cannot disagree.
 */
#include "geom.h"

#include <string.h>

#define GEOM_FIELDS(X)                                                     \
    X(int, src_w) X(int, src_h) X(dbl, src_xres) X(dbl, src_yres)          \
    X(int, quarter) X(int, tag_rot) X(dbl, skew_deg) X(dbl, skew_conf)     \
    X(dbl, osd_conf) X(dbl, up_conf) X(dbl, left_conf)                     \
    X(int, full_w) X(int, full_h) X(int, reg_x) X(int, reg_y) X(int, reg_w) \
    X(int, reg_h) X(int, part) X(int, nparts) X(int, border) X(int, marks) \
    X(int, blank) X(dbl, blank_conf) X(dbl, split_conf) X(int, review)     \
    X(int, ocr_w) X(int, ocr_h) X(dbl, ocr_dpi)           \
    X(dbl, page_w_pt) X(dbl, page_h_pt) X(int, crop_x) X(int, crop_y)      \
    X(int, crop_w) X(int, crop_h)

json_t *sh_geom_json(const sh_geom *g)
{
    json_t *j = json_object();
#define int_J(v) json_integer(v)
#define dbl_J(v) json_real(v)
#define X(t, f) json_object_set_new(j, #f, t##_J(g->f));
    GEOM_FIELDS(X)
#undef X
    return j;
}

int sh_geom_from_json(json_t *j, sh_geom *g)
{
    memset(g, 0, sizeof *g);
    if (!json_is_object(j))
        return SH_EINPUT;
#define X(t, f)                                                            \
    {                                                                      \
        json_t *v = json_object_get(j, #f);                                \
        if (!json_is_number(v))                                            \
            return SH_EINPUT;                                              \
        g->f = (t##_T)json_number_value(v);                                \
    }
    typedef int int_T;
    typedef double dbl_T;
    GEOM_FIELDS(X)
#undef X
    return SH_OK;
}
