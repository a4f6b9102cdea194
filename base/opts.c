/*
 * opts.c — option parsing shared by the sohoa commands (see opts.h).
 *
 *   sh_opts_init     defaults of the common options
 *   sh_opt_common    --warehouse / --json / --help letters
 *   sh_opt_int       checked whole-number option value
 *   sh_opt_double    checked decimal option value
 *
 * Method.  Each command keeps its own getopt_long loop, table and usage
 * text; the common entries come from the SH_OPT_* macros and their
 * letters are handled here, after the command's own cases.  Numbers are
 * read with strtol/strtod and refused unless the whole value is one
 * number within the range (atoi would take "abc" as 0 and "8x" as 8).
 */
#include "opts.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>

void sh_opts_init(sh_opts *o)
{
    o->warehouse = sh_warehouse_default();
    o->json = 0;
}

int sh_opt_common(sh_opts *o, int c, const char *arg)
{
    switch (c) {
    case 'w': o->warehouse = arg; return SH_OPT_TAKEN;
    case 'j': o->json = 1; return SH_OPT_TAKEN;
    case 'h': return SH_OPT_HELP;
    default: return SH_OPT_UNKNOWN;
    }
}

/* 1 if s is only blanks */
static int blank_tail(const char *s)
{
    while (*s == ' ' || *s == '\t')
        s++;
    return !*s;
}

int sh_opt_int(const char *name, const char *text, int lo, int hi, int *out,
               sh_err *err)
{
    const char *t = text ? text : "";
    char *end;
    errno = 0;
    long v = strtol(t, &end, 10);
    if (end == t || !blank_tail(end) || errno == ERANGE || v < lo || v > hi) {
        if (hi == INT_MAX)
            return sh_errf(err, SH_EUSAGE, "%s wants a whole number of at "
                           "least %d, not '%s'", name, lo, t);
        return sh_errf(err, SH_EUSAGE, "%s wants a whole number from %d to "
                       "%d, not '%s'", name, lo, hi, t);
    }
    *out = (int)v;
    return SH_OK;
}

int sh_opt_double(const char *name, const char *text, double lo, double hi,
                  double *out, sh_err *err)
{
    const char *t = text ? text : "";
    char *end;
    errno = 0;
    double v = strtod(t, &end);
    if (end == t || !blank_tail(end) || errno == ERANGE || !isfinite(v) ||
        v < lo || v > hi)
        return sh_errf(err, SH_EUSAGE, "%s wants a number from %g to %g, "
                       "not '%s'", name, lo, hi, t);
    *out = v;
    return SH_OK;
}

int sh_opt_add(const char *name, const char *arg, const char **list, int *n,
               int max, sh_err *err)
{
    if (*n >= max)
        return sh_errf(err, SH_EUSAGE, "at most %d %s", max, name);
    list[(*n)++] = arg;
    return SH_OK;
}
