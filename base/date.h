/*
 * date.h — dates as Vietnamese clerks write them (date.c).
 */
#ifndef SH_DATE_H
#define SH_DATE_H

#include <stddef.h>

/*
 * Read a date as Vietnamese clerks write it, dd/mm/yyyy (also d/m/yyyy,
 * dd-mm-yyyy, dd.mm.yyyy), or ISO yyyy-mm-dd.  iso: "yyyy-mm-dd" + NUL.
 * Returns 0, or -1 with why (may be NULL; at least 128 bytes) saying in
 * plain English what is wrong (not a date, no such day, month/day order
 * of a US date, year out of 1800..next year).
 */
int sh_date_parse(const char *s, char iso[11], char *why, size_t whylen);

/* 1 if s is a real calendar date written YYYY, YYYY-MM or YYYY-MM-DD
   (year 1..9999, month 1..12, day within the month, leap years), else 0. */
int sh_date_valid(const char *s);
/* The current year (UTC). */
int sh_this_year(void);
/* The decimal digits at *p (advanced past them): their value (capped
   above 100000), their count in *nd (0: no digit at *p). */
int sh_read_digits(const char **p, int *nd);

#endif
