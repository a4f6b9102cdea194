/*
 * throttle.c — the login throttle of `sohoa serve` (see web.h).
 *
 *   sh_web_throttle_new, sh_web_throttle_free
 *   sh_web_throttle_begin   may this (account, address) try now?
 *   sh_web_throttle_end     the attempt's result
 *   (static) find, delay_of
 *
 * Method.  A fixed table of counters under one mutex, three per attempt:
 * the pair (account, address), the account alone, the address alone.
 * Each counts failures and holds the time before which the next attempt
 * is refused (the last failure + its delay); the pair also holds a "busy"
 * flag from begin to end, so requests sent in parallel do not each get a
 * try: the caller keeps the attempt (and serves its one-second failure
 * delay) before ending it.  Refusals cost no password check.  A full
 * table drops its oldest idle entry; an entry is forgotten FORGET s after
 * its last failure.  Time is passed in, so tests need no clock.
 */
#include "web.h"

#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SLOTS 4096
#define FORGET 900.0            /* s after the last failure             */
#define KEY_MAX 128

enum { K_PAIR, K_USER, K_ADDR };

/* per kind: failures free of delay, longest delay (s) */
static const struct {
    int free;
    double cap;
} rules[] = {
    [K_PAIR] = {1, 300},
    [K_USER] = {20, 60},
    [K_ADDR] = {30, 60},
};

typedef struct slot {
    char key[KEY_MAX];          /* "" = unused */
    int fails, busy;
    double last, next;          /* last failure; next attempt allowed */
} slot;

struct sh_web_throttle {
    pthread_mutex_t mu;
    slot s[SLOTS];
};

sh_web_throttle *sh_web_throttle_new(void)
{
    sh_web_throttle *t = calloc(1, sizeof *t);
    if (t)
        pthread_mutex_init(&t->mu, NULL);
    return t;
}

void sh_web_throttle_free(sh_web_throttle **t)
{
    if (t && *t) {
        pthread_mutex_destroy(&(*t)->mu);
        free(*t);
        *t = NULL;
    }
}

/* The delay after n failures of kind k. */
static double delay_of(int k, int n)
{
    if (n <= rules[k].free)
        return 0;
    double d = ldexp(1.0, n - rules[k].free - 1);
    return d < rules[k].cap ? d : rules[k].cap;
}

/* The slot of key (made when make and absent; NULL when absent, or the
   table is full of busy entries).  Forgotten entries are reset. */
static slot *find(sh_web_throttle *t, const char *key, int make, double now)
{
    slot *free_s = NULL, *oldest = NULL;
    for (int i = 0; i < SLOTS; i++) {
        slot *s = &t->s[i];
        if (!s->key[0]) {
            if (!free_s)
                free_s = s;
            continue;
        }
        if (!s->busy && s->fails && now - s->last > FORGET) {
            s->fails = 0;
            s->next = 0;
        }
        if (!strcmp(s->key, key))
            return s;
        if (!s->busy && (!oldest || s->last < oldest->last))
            oldest = s;
    }
    if (!make)
        return NULL;
    slot *s = free_s ? free_s : oldest;
    if (s) {
        memset(s, 0, sizeof *s);
        snprintf(s->key, sizeof s->key, "%s", key);
    }
    return s;
}

static void keys(const char *user, const char *addr, char k[3][KEY_MAX])
{
    snprintf(k[K_PAIR], KEY_MAX, "p\x1f%s\x1f%s", user ? user : "?",
             addr ? addr : "?");
    snprintf(k[K_USER], KEY_MAX, "u\x1f%s", user ? user : "?");
    snprintf(k[K_ADDR], KEY_MAX, "a\x1f%s", addr ? addr : "?");
}

int sh_web_throttle_begin(sh_web_throttle *t, const char *user,
                          const char *addr, double now)
{
    char k[3][KEY_MAX];
    keys(user, addr, k);
    double wait = 0;
    pthread_mutex_lock(&t->mu);
    for (int i = 0; i < 3; i++) {
        slot *s = find(t, k[i], 0, now);
        if (s && s->next > now && s->next - now > wait)
            wait = s->next - now;
        if (s && i == K_PAIR && s->busy && wait < 1)
            wait = 1;
    }
    if (wait <= 0) {
        slot *p = find(t, k[K_PAIR], 1, now);
        if (p)
            p->busy = 1;
        else
            wait = 1;       /* table full of attempts under way */
    }
    pthread_mutex_unlock(&t->mu);
    return wait > 0 ? (int)ceil(wait) : 0;
}

void sh_web_throttle_end(sh_web_throttle *t, const char *user,
                         const char *addr, int ok, double now)
{
    char k[3][KEY_MAX];
    keys(user, addr, k);
    pthread_mutex_lock(&t->mu);
    for (int i = 0; i < 3; i++) {
        slot *s = find(t, k[i], !ok, now);
        if (!s)
            continue;
        if (i == K_PAIR)
            s->busy = 0;
        if (ok) {
            /* a success clears its pair; the account and address
               counters keep what others did */
            if (i == K_PAIR)
                s->key[0] = 0;
            continue;
        }
        s->fails++;
        s->last = now;
        s->next = now + delay_of(i, s->fails);
    }
    pthread_mutex_unlock(&t->mu);
}
