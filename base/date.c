/*
 * date.c — dates as Vietnamese clerks write them.
 *
 *   sh_date_parse   dd/mm/yyyy, d/m/yyyy, dd-mm-yyyy, dd.mm.yyyy or ISO → ISO
 *   sh_date_valid   a real date written YYYY, YYYY-MM or YYYY-MM-DD
 *   sh_this_year, sh_read_digits  the pieces it is made of
 *
 * Method.  Three digit groups with one separator; the order is told by
 * the group of four digits; a real day of a real month of a year from
 * 1800 to next year.  Used by the batch manifest (pipeline/manifest.c)
 * and the review station's field edits (index/review.c), so a value a
 * clerk types is held to the same rule as one from manifest.csv.
 */
#include "date.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

int sh_this_year(void)
{
    time_t t = time(NULL);
    struct tm tm;
    gmtime_r(&t, &tm);
    return tm.tm_year + 1900;
}

static int days_in(int y, int m)
{
    static const int d[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (m == 2 && ((y % 4 == 0 && y % 100 != 0) || y % 400 == 0))
        return 29;
    return d[m - 1];
}

int sh_read_digits(const char **p, int *nd)
{
    int v = 0;
    *nd = 0;
    while (isdigit((unsigned char)**p)) {
        if (v < 100000)
            v = v * 10 + (**p - '0');
        (*p)++;
        (*nd)++;
    }
    return v;
}

int sh_date_parse(const char *s, char iso[11], char *why, size_t whylen)
{
    char dummy[8];
    if (!why) {
        why = dummy;
        whylen = sizeof dummy;
    }
    iso[0] = 0;
    const char *p = s;
    int n1, n2, n3, d1, d2, d3, y, m, d;
    int a = sh_read_digits(&p, &d1);
    char s1 = *p;
    if (d1 == 0 || (s1 != '/' && s1 != '-' && s1 != '.'))
        goto bad;
    p++;
    int b = sh_read_digits(&p, &d2);
    if (d2 == 0 || *p != s1)
        goto bad;
    p++;
    int c = sh_read_digits(&p, &d3);
    if (d3 == 0 || *p)
        goto bad;
    n1 = a, n2 = b, n3 = c;
    if (d1 == 4 && s1 == '-' && d2 <= 2 && d3 <= 2) {         /* ISO */
        y = n1, m = n2, d = n3;
    } else if (d3 == 4 && d1 <= 2 && d2 <= 2) {              /* dd/mm/yyyy */
        d = n1, m = n2, y = n3;
        if (m > 12 && d <= 12) {
            snprintf(why, whylen,
                     "'%s' has month %d: write the day first, dd/mm/yyyy "
                     "(this looks like a US month/day date)", s, m);
            return -1;
        }
    } else {
        goto bad;
    }
    if (m < 1 || m > 12 || d < 1 || d > days_in(y, m)) {
        snprintf(why, whylen, "'%s' is not a real date (no day %d in month "
                 "%d of %d)", s, d, m, y);
        return -1;
    }
    if (y < 1800 || y > sh_this_year() + 1) {
        snprintf(why, whylen, "'%s': the year %d is out of range (1800 to "
                 "%d)", s, y, sh_this_year() + 1);
        return -1;
    }
    char buf[40];
    snprintf(buf, sizeof buf, "%04d-%02d-%02d", y, m, d);
    memcpy(iso, buf, 11);
    iso[10] = 0;
    return 0;
bad:
    snprintf(why, whylen, "'%s' is not a date: write dd/mm/yyyy (e.g. "
             "05/03/2024) or yyyy-mm-dd", s);
    return -1;
}

int sh_date_valid(const char *s)
{
    size_t n = s ? strlen(s) : 0;
    if (n != 4 && n != 7 && n != 10)
        return 0;
    for (size_t i = 0; i < n; i++)
        if ((i == 4 || i == 7) ? s[i] != '-' : !isdigit((unsigned char)s[i]))
            return 0;
    int y = atoi(s), m = n >= 7 ? atoi(s + 5) : 1, d = n == 10 ? atoi(s + 8) : 1;
    return y >= 1 && m >= 1 && m <= 12 && d >= 1 && d <= days_in(y, m);
}
