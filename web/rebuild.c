/*
 * rebuild.c — a clerk's save made real: the dossier rebuilt in the
 * background by the `sohoa` binary itself.
 *
 *   sh__web_rebuild        queue the rebuild of a dossier
 *   sh__web_rebuild_busy   1 while its rebuild is queued or running
 *
 * Method.  The site never links the pipeline (rooms: web/ is below
 * pipeline/): it runs `/proc/self/exe run --warehouse WH --only ID BATCH`
 * (posix_spawn, output to WH/.work/rebuild-ID.log), which takes the
 * warehouse lock like any run, re-recognises only the sheets whose forced
 * geometry changed and re-assembles the PDF and the index from cached OCR.
 * One thread per dossier waits for its child; a run that finds the
 * warehouse locked (another run) is tried again every few seconds for up
 * to ten minutes; a save that comes while the dossier is being rebuilt
 * marks it to be rebuilt once more when that ends.  The page view shows
 * "đang xử lý" while sh__web_rebuild_busy says so.
 */
#include "web_int.h"
#include "../index/db.h"

#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

#define LOCKED_RETRY_S 3
#define LOCKED_TRIES 200

typedef struct rb_item {
    struct rb_item *next;
    char id[SH_WEB_ID_MAX + 1];
    char *batch;
    sh__web_server *srv;
    int again;
} rb_item;

static pthread_mutex_t rb_mu = PTHREAD_MUTEX_INITIALIZER;
static rb_item *rb_list;

/* Run the rebuild once; the child's exit status (-1: could not start). */
static int run_once(rb_item *it)
{
    char log[4400], work[4096];
    snprintf(work, sizeof work, "%s/.work", it->srv->wh);
    mkdir(work, 0770);
    snprintf(log, sizeof log, "%.4000s/rebuild-%s.log", work, it->id);
    char *argv[] = {"sohoa", "run", "--warehouse", (char *)it->srv->wh,
                    "--only", it->id, "--quiet", it->batch, NULL};
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&fa, 1, log,
                                     O_WRONLY | O_CREAT | O_APPEND, 0640);
    posix_spawn_file_actions_adddup2(&fa, 1, 2);
    /* the child must not inherit the server's blocked SIGINT/SIGTERM */
    posix_spawnattr_t at;
    posix_spawnattr_init(&at);
    sigset_t none;
    sigemptyset(&none);
    posix_spawnattr_setsigmask(&at, &none);
    posix_spawnattr_setflags(&at, POSIX_SPAWN_SETSIGMASK);
    pid_t pid;
    int e = posix_spawn(&pid, "/proc/self/exe", &fa, &at, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    posix_spawnattr_destroy(&at);
    if (e) {
        sh_log(SH_LOG_ERROR, "%s: cannot start its rebuild: %s", it->id,
               strerror(e));
        return -1;
    }
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128;
}

static void *rb_thread(void *arg)
{
    rb_item *it = arg;
    for (;;) {
        int tries = 0, x;
        while ((x = run_once(it)) == SH_EXIT_LOCKED && ++tries < LOCKED_TRIES)
            sleep(LOCKED_RETRY_S);
        if (x)
            sh_log(SH_LOG_WARN, "%s: rebuild ended with exit code %d (see "
                   "%s/.work/rebuild-%s.log)", it->id, x, it->srv->wh, it->id);
        else
            sh_log(SH_LOG_INFO, "%s: rebuilt after a clerk's save", it->id);
        pthread_mutex_lock(&rb_mu);
        if (it->again) {
            it->again = 0;
            pthread_mutex_unlock(&rb_mu);
            continue;
        }
        for (rb_item **p = &rb_list; *p; p = &(*p)->next)
            if (*p == it) {
                *p = it->next;
                break;
            }
        pthread_mutex_unlock(&rb_mu);
        break;
    }
    free(it->batch);
    free(it);
    return NULL;
}

int sh__web_rebuild_busy(const char *id)
{
    int busy = 0;
    pthread_mutex_lock(&rb_mu);
    for (rb_item *it = rb_list; it && !busy; it = it->next)
        busy = !strcmp(it->id, id);
    pthread_mutex_unlock(&rb_mu);
    return busy;
}

int sh__web_rebuild(sh__web_server *srv, const char *id)
{
    pthread_mutex_lock(&rb_mu);
    for (rb_item *it = rb_list; it; it = it->next)
        if (!strcmp(it->id, id)) {
            it->again = 1;
            pthread_mutex_unlock(&rb_mu);
            return SH_OK;
        }
    pthread_mutex_unlock(&rb_mu);
    /* the batch folder the dossier was made from */
    sqlite3 *db = NULL;
    sqlite3_stmt *st;
    char *batch = NULL;
    if (sh__web_rw_db(srv, &db))
        return SH_EINDEX;
    if (!sh_db_prep(db, "SELECT batch FROM dossier WHERE id=?", &st, NULL)) {
        sh_db_bind_text(st, 1, id);
        if (sqlite3_step(st) == SQLITE_ROW)
            batch = sh_db_col_dup(st, 0, 1, NULL);
        sqlite3_finalize(st);
    }
    sqlite3_close(db);
    rb_item *it = calloc(1, sizeof *it);
    if (!batch || !it) {
        sh_log(SH_LOG_WARN, "%s: no batch folder in the catalog: it is "
               "rebuilt by the next 'sohoa run'", id);
        free(batch);
        free(it);
        return SH_EUSAGE;
    }
    snprintf(it->id, sizeof it->id, "%s", id);
    it->batch = batch;
    it->srv = srv;
    pthread_t t;
    pthread_attr_t a;
    pthread_attr_init(&a);
    pthread_attr_setdetachstate(&a, PTHREAD_CREATE_DETACHED);
    pthread_mutex_lock(&rb_mu);
    it->next = rb_list;
    rb_list = it;
    int e = pthread_create(&t, &a, rb_thread, it);
    if (e)
        rb_list = it->next;
    pthread_mutex_unlock(&rb_mu);
    pthread_attr_destroy(&a);
    if (e) {
        free(it->batch);
        free(it);
        return SH_ENOMEM;
    }
    return SH_OK;
}
