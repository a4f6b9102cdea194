/*
 * buf.c — the growable byte buffer (sh_buf); data is always NUL-terminated.
 */
#include "common.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int sh_buf_reserve(sh_buf *b, size_t extra)
{
    if (b->len + extra + 1 <= b->cap)
        return SH_OK;
    size_t cap = b->cap ? b->cap : 256;
    while (cap < b->len + extra + 1)
        cap *= 2;
    char *p = realloc(b->data, cap);
    if (!p)
        return SH_ENOMEM;
    b->data = p;
    b->cap = cap;
    p[b->len] = 0;   /* an empty buffer is a valid empty string */
    return SH_OK;
}

int sh_buf_add(sh_buf *b, const void *p, size_t n)
{
    if (sh_buf_reserve(b, n))
        return SH_ENOMEM;
    if (n)
        memcpy(b->data + b->len, p, n);
    b->len += n;
    b->data[b->len] = 0;
    return SH_OK;
}

int sh_buf_adds(sh_buf *b, const char *s)
{
    return sh_buf_add(b, s, strlen(s));
}

int sh_buf_printf(sh_buf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0 || sh_buf_reserve(b, (size_t)n))
        return SH_ENOMEM;
    va_start(ap, fmt);
    vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
    return SH_OK;
}

void sh_buf_release(sh_buf *b)
{
    free(b->data);
    b->data = NULL;
    b->len = b->cap = 0;
}
