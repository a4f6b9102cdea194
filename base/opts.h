/*
 * opts.h — what the sohoa commands share in their option parsing: the
 * options every command of the catalog takes (--warehouse DIR, --json,
 * --help) as getopt_long table entries and one handler for their letters,
 * and checked numeric option values.
 *
 * Use:
 *     sh_opts o;
 *     sh_opts_init(&o);
 *     static const struct option opts[] = {
 *         SH_LONGOPT_WAREHOUSE, SH_LONGOPT_JSON, {"limit", required_argument,
 *         NULL, 'n'}, SH_LONGOPT_HELP, {NULL, 0, NULL, 0}};
 *     while ((c = getopt_long(argc, argv, SH_OPTS_SHORT "n:", opts,
 *                             NULL)) != -1) {
 *         switch (c) {
 *         case 'n': if (sh_opt_int("--limit", optarg, 1, INT_MAX, &n,
 *                                  &err)) { ...message, exit 2... } break;
 *         default:
 *             switch (sh_opt_common(&o, c, optarg)) {
 *             case SH_OPT_TAKEN: break;
 *             case SH_OPT_HELP: usage(stdout); return SH_EXIT_OK;
 *             default: usage(stderr); return SH_EXIT_USAGE;
 *             }
 *         }
 *     }
 * A command's own case comes first, so a command may give one of the
 * common letters another meaning (`sohoa run -j N` is --jobs).
 */
#ifndef SH_OPTS_H
#define SH_OPTS_H

#include "common.h"
#include <getopt.h>

/* getopt_long table entries; their short letters are in SH_OPTS_SHORT. */
#define SH_LONGOPT_WAREHOUSE {"warehouse", required_argument, NULL, 'w'}
#define SH_LONGOPT_JSON      {"json", no_argument, NULL, 'j'}
#define SH_LONGOPT_HELP      {"help", no_argument, NULL, 'h'}
#define SH_OPTS_SHORT    "w:jh"

typedef struct sh_opts {
    const char *warehouse;  /* --warehouse DIR; default
                               sh_warehouse_default()                   */
    int json;               /* 1: --json given                          */
} sh_opts;

/* What sh_opt_common made of a letter. */
enum {
    SH_OPT_UNKNOWN = -1,    /* not a common option ('?' included): the
                               command prints its usage, exits 2        */
    SH_OPT_TAKEN = 0,       /* stored in the sh_opts                    */
    SH_OPT_HELP = 1         /* --help: the command prints its usage      */
};

/* Set o to the defaults (warehouse from sh_warehouse_default, no json). */
void sh_opts_init(sh_opts *o);

/* Handle the getopt result c (with optarg arg) if it is a common letter:
   'w' stores arg in o->warehouse, 'j' sets o->json; 'h' asks for help.
   Returns SH_OPT_TAKEN, SH_OPT_HELP or SH_OPT_UNKNOWN. */
int sh_opt_common(sh_opts *o, int c, const char *arg);

/*
 * The value of option name (e.g. "--jobs", used in the message) given as
 * text: a whole decimal number in lo..hi, surrounding blanks allowed.
 * *out is set only on success.
 * Returns SH_OK, or SH_EUSAGE with err "--jobs wants a whole number from
 * 1 to 256, not 'abc'" for garbage, an empty value, trailing text or a
 * number out of range ("… of at least 1, not '0'" when hi is INT_MAX).
 */
int sh_opt_int(const char *name, const char *text, int lo, int hi, int *out,
               sh_err *err);

/* A repeated option (name, e.g. "--warehouse") collected into list, of
   *n values so far and max at most: SH_OK, or SH_EUSAGE with err "at
   most 64 --warehouse". */
int sh_opt_add(const char *name, const char *arg, const char **list, int *n,
               int max, sh_err *err);

/* Same for a decimal number (fractions allowed: "--max-minutes 0.5");
   NaN and infinities are refused. */
int sh_opt_double(const char *name, const char *text, double lo, double hi,
                  double *out, sh_err *err);

#endif
