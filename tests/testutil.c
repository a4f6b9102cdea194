/*
 * testutil.c — helpers shared by the unit tests (declared in test.h).
 */
#include "test.h"
#include "../base/common.h"

#include <dirent.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>

int sh_test_run(const char *cmd, struct sh_buf *out)
{
    FILE *f = popen(cmd, "r");
    if (!f)
        return -1;
    char blk[4096];
    size_t n;
    while ((n = fread(blk, 1, sizeof blk, f)) > 0)
        if (out && sh_buf_add(out, blk, n) != SH_OK)
            break;
    int st = pclose(f);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

void sh_test_path(char *buf, size_t n, const char *name)
{
    snprintf(buf, n, "%s/%s", sh_test_tmpdir(), name);
}

int sh_test_count_names(const char *dir, const char *sub)
{
    DIR *d = opendir(dir);
    if (!d)
        return -1;
    int c = 0;
    struct dirent *e;
    while ((e = readdir(d)))
        if (strstr(e->d_name, sub))
            c++;
    closedir(d);
    return c;
}

int sh_test_file_exists(const char *p)
{
    struct stat st;
    return stat(p, &st) == 0;
}
