/*
 * zbar_read.c — read separator codes with zbar through sohoa's own
 * scanners/barcode.c, for tests/bench/sepcodes/measure.sh.  One line per
 * image:  FILE<TAB>qr=0|1<TAB>c128=0|1<TAB>ms<TAB>detect=KIND<TAB>ms
 * qr/c128: zbar at the image's own resolution; detect: sh_sep_detect (the
 * pipeline's test: ~100 dpi first, then sharper) and its time.
 */
#include "../../../scanners/barcode.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

int main(int argc, char **argv)
{
    setMsgSeverity(L_SEVERITY_NONE);
    for (int i = 1; i < argc; i++) {
        PIX *p = pixRead(argv[i]);
        if (!p) {
            printf("%s\tunreadable\n", argv[i]);
            continue;
        }
        int dpi = pixGetXRes(p) > 0 ? pixGetXRes(p) : 300;
        sh_code c[8];
        int n = 0, qr = 0, c128 = 0;
        double t0 = now_ms();
        sh_codes_read(p, c, 8, &n, NULL);
        double t1 = now_ms();
        for (int k = 0; k < n; k++)
            if (!strncmp(c[k].text, SH_SEP_PREFIX, strlen(SH_SEP_PREFIX)))
                *(c[k].type == SH_CODE_QR ? &qr : &c128) = 1;
        sh_sep s;
        double t2 = now_ms();
        sh_sep_detect(p, dpi, 0, &s, NULL);
        double t3 = now_ms();
        printf("%s\tqr=%d\tc128=%d\t%.0f\tdetect=%s\t%.0f\n", argv[i], qr,
               c128, t1 - t0, s.kind == SH_SEP_SHEET ? "sheet"
               : s.kind == SH_SEP_UNREADABLE ? "unreadable" : "none", t3 - t2);
        pixDestroy(&p);
    }
    return 0;
}
