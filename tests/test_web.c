/*
 * test_web.c — the officers' site: passwords, agency lists, id and name
 * checks, HTML escaping of snippets, URL and form decoding, word boxes
 * for highlighting, users/sessions/audit in a real catalog, the login
 * throttle, the audit hash chain and its triggers (and an old catalog
 * migrated), session idle time and cap, and the page render (geometry of
 * a synthetic scan).
 */
#include "test.h"
#include "../web/web_int.h"
#include "../index/index.h"
#include "../scanners/render.h"

#include <leptonica/allheaders.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static int t_password(void)
{
    char h[SH_WEB_HASH_MAX], h2[SH_WEB_HASH_MAX];
    sh_err err = {0};
    CHECK(sh_web_hash_password("mật khẩu đúng 1", h, &err) == SH_OK);
    CHECKF(!strncmp(h, "$argon2id$", 10), "hash is %s", h);
    CHECK(sh_web_check_password(h, "mật khẩu đúng 1") == 1);
    CHECK(sh_web_check_password(h, "mật khẩu đúng 2") == 0);
    CHECK(sh_web_check_password(h, "") == 0);
    CHECK(sh_web_check_password("not a hash", "x") == 0);
    CHECK(sh_web_check_password(NULL, "x") == 0);
    /* salted: the same password hashes differently */
    CHECK(sh_web_hash_password("mật khẩu đúng 1", h2, NULL) == SH_OK);
    CHECK(strcmp(h, h2) != 0);
    CHECK(sh_web_hash_password("", h, &err) == SH_EUSAGE);
    CHECK(strstr(err.msg, "empty") != NULL);
    CHECK(sh_web_hash_password(NULL, h, NULL) == SH_EUSAGE);
    char *big = malloc(1100);
    CHECK(big != NULL);
    memset(big, 'x', 1099);
    big[1099] = 0;
    int rc = sh_web_hash_password(big, h, NULL);
    free(big);
    CHECK(rc == SH_EUSAGE);
    return 0;
}

static int t_agencies(void)
{
    static const struct {
        const char *in;
        int rc;
        const char *want; /* items joined with '|' */
    } cases[] = {
        {"A", SH_OK, "A"},
        {" A , B,A", SH_OK, "A|B"},          /* trimmed, de-duplicated */
        {"SỞ-TNMT,UBND", SH_OK, "SỞ-TNMT|UBND"},
        {"", SH_EUSAGE, NULL},
        {"A,,B", SH_EUSAGE, NULL},
        {"A,", SH_EUSAGE, NULL},
        {"A\x01", SH_EUSAGE, NULL},          /* control character */
        {"\xff\xfe", SH_EUSAGE, NULL},       /* not UTF-8 */
        {"0123456789012345678901234567890123456789012345678901234567890123456789",
         SH_EUSAGE, NULL},                   /* over 64 bytes */
    };
    for (size_t i = 0; i < SH_ARRAY_LEN(cases); i++) {
        char **v = (char **)1;
        int n = -1;
        sh_err err = {0};
        int rc = sh_web_parse_agencies(cases[i].in, &v, &n, &err);
        CHECKF(rc == cases[i].rc, "'%s': rc %d, want %d", cases[i].in, rc,
               cases[i].rc);
        if (rc) {
            CHECK(v == NULL && n == 0 && err.msg[0]);
            continue;
        }
        char got[256] = "";
        for (int k = 0; k < n; k++)
            snprintf(got + strlen(got), sizeof got - strlen(got), "%s%s",
                     k ? "|" : "", v[k]);
        CHECK(v[n] == NULL);
        sh_web_strv_free(&v);
        CHECK(v == NULL);
        CHECKF(!strcmp(got, cases[i].want), "'%s' → '%s', want '%s'",
               cases[i].in, got, cases[i].want);
    }
    CHECK(sh_web_parse_agencies(NULL, (char ***)&(char **){NULL}, NULL,
                                NULL) == SH_EUSAGE);
    return 0;
}

static int t_names(void)
{
    static const struct {
        const char *id;
        int ok;
    } ids[] = {
        {"HS-2024-00001", 1},
        {"Hồ sơ 12", 1},
        {"a.b", 1},
        {"", 0},
        {".", 0},
        {"..", 0},
        {"../catalog.db", 0},
        {"a/b", 0},
        {"a..b", 0},
        {"..%2Fx", 0},
        {"a\\b", 0},
        {"a\nb", 0},
        {"\x7f", 0},
        {"\xc3", 0},   /* truncated UTF-8 */
    };
    for (size_t i = 0; i < SH_ARRAY_LEN(ids); i++)
        CHECKF(sh_web_valid_id(ids[i].id) == ids[i].ok, "id '%s'", ids[i].id);
    char longid[300];
    memset(longid, 'a', 201);
    longid[201] = 0;
    CHECK(!sh_web_valid_id(longid));
    longid[200] = 0;
    CHECK(sh_web_valid_id(longid));
    CHECK(!sh_web_valid_id(NULL));

    CHECK(sh_web_valid_user("an.nguyen@so-tnmt_2"));
    CHECK(!sh_web_valid_user(""));
    CHECK(!sh_web_valid_user("an nguyen"));
    CHECK(!sh_web_valid_user("an'--"));
    CHECK(!sh_web_valid_user("Nguyễn"));
    CHECK(sh_web_valid_agency("SỞ TNMT"));
    CHECK(!sh_web_valid_agency(" A"));
    CHECK(!sh_web_valid_agency("A,B"));
    CHECK(sh_web_token_ok(
        "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"));
    CHECK(!sh_web_token_ok(
        "0123456789ABCDEF0123456789abcdef0123456789abcdef0123456789abcdef"));
    CHECK(!sh_web_token_ok("0123"));
    CHECK(!sh_web_token_ok(NULL));
    return 0;
}

static int t_escape(void)
{
    static const struct {
        const char *snippet, *html;
    } cases[] = {
        {"…Căn cứ Luật [Đất] [đai] ngày…",
         "…Căn cứ Luật <mark>Đất</mark> <mark>đai</mark> ngày…"},
        {"<script>alert('x')</script> [đất] & \"q\"",
         "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; <mark>đất</mark> "
         "&amp; &quot;q&quot;"},
        {"a [<b>] c", "a <mark>&lt;b&gt;</mark> c"},
        {"x ] y", "x ] y"},                  /* no open mark: literal */
        {"[open", "<mark>open</mark>"},      /* closed at the end */
        {"[[a]]", "<mark>[a</mark>]"},
        {"", ""},
    };
    for (size_t i = 0; i < SH_ARRAY_LEN(cases); i++) {
        sh_buf b = {0};
        CHECK(sh_web_snippet_html(&b, cases[i].snippet) == SH_OK);
        int ok = !strcmp(b.data ? b.data : "", cases[i].html);
        if (!ok)
            fprintf(stderr, "  got  %s\n  want %s\n", b.data, cases[i].html);
        sh_buf_release(&b);
        CHECK(ok);
    }
    sh_buf b = {0};
    CHECK(sh_web_snippet_html(&b, NULL) == SH_OK);
    CHECK(b.len == 0);
    CHECK(sh_web_html_escape(&b, "<img src=x onerror=\"a\">") == SH_OK);
    CHECK(!strcmp(b.data, "&lt;img src=x onerror=&quot;a&quot;&gt;"));
    sh_buf_release(&b);
    return 0;
}

static int t_url(void)
{
    static const struct {
        const char *in;
        int plus, rc;
        const char *out;
    } dec[] = {
        {"a%20b+c", 1, SH_OK, "a b c"},
        {"a%20b+c", 0, SH_OK, "a b+c"},
        {"%C4%91%E1%BA%A5t", 1, SH_OK, "đất"},
        {"..%2Fcatalog.db", 0, SH_OK, "../catalog.db"},
        {"%zz", 1, SH_EINPUT, NULL},
        {"%4", 1, SH_EINPUT, NULL},
        {"%", 1, SH_EINPUT, NULL},
        {"", 1, SH_OK, ""},
    };
    for (size_t i = 0; i < SH_ARRAY_LEN(dec); i++) {
        char *o = NULL;
        size_t n = 99;
        int rc = sh_web_url_decode(dec[i].in, strlen(dec[i].in), dec[i].plus,
                                   &o, &n);
        CHECKF(rc == dec[i].rc, "decode '%s' rc %d", dec[i].in, rc);
        if (!rc) {
            CHECKF(!strcmp(o, dec[i].out) && n == strlen(dec[i].out),
                   "decode '%s' → '%s'", dec[i].in, o);
        } else {
            CHECK(o == NULL);
        }
        free(o);
    }
    /* a decoded NUL is reported through the length */
    char *o = NULL;
    size_t n = 0;
    CHECK(sh_web_url_decode("a%00b", 5, 0, &o, &n) == SH_OK);
    CHECK(n == 3 && strlen(o) == 1);
    free(o);

    const char *body = "user=an.nguyen&password=p%26w%3D+x&empty=&flag";
    size_t bl = strlen(body);
    char *v = NULL;
    CHECK(sh_web_form_value(body, bl, "user", &v) == SH_OK && v &&
          !strcmp(v, "an.nguyen"));
    free(v);
    CHECK(sh_web_form_value(body, bl, "password", &v) == SH_OK && v &&
          !strcmp(v, "p&w= x"));
    free(v);
    CHECK(sh_web_form_value(body, bl, "empty", &v) == SH_OK && v && !*v);
    free(v);
    CHECK(sh_web_form_value(body, bl, "flag", &v) == SH_OK && v && !*v);
    free(v);
    CHECK(sh_web_form_value(body, bl, "missing", &v) == SH_OK && v == NULL);
    CHECK(sh_web_form_value(body, bl, "use", &v) == SH_OK && v == NULL);
    CHECK(sh_web_form_value("user=a%00b", 10, "user", &v) == SH_EINPUT &&
          v == NULL);
    CHECK(sh_web_form_value("user=a%zz", 9, "user", &v) == SH_EINPUT);
    /* only the first n bytes are read */
    CHECK(sh_web_form_value("user=abc", 6, "user", &v) == SH_OK && v &&
          !strcmp(v, "a"));
    free(v);

    /* cleaning: invalid bytes → U+FFFD, cut at a character */
    int cut = -1;
    char *c = sh_web_utf8_clean(NULL, 10, &cut);
    CHECK(c && !*c && cut == 0);
    free(c);
    c = sh_web_utf8_clean("a\xff" "b", 100, &cut);
    CHECK(c && !strcmp(c, "a\xEF\xBF\xBD" "b") && cut == 0);
    free(c);
    c = sh_web_utf8_clean("đất", 4, &cut);   /* đ (2) ấ (3): cut after đ */
    CHECK(c && !strcmp(c, "đ") && cut == 1);
    free(c);
    c = sh_web_utf8_clean("abc\xe1\xba", 100, &cut);  /* truncated char */
    CHECK(c && !strcmp(c, "abc\xEF\xBF\xBD\xEF\xBF\xBD") && cut == 0);
    free(c);

    sh_buf b = {0};
    CHECK(sh_web_url_encode(&b, "Hồ sơ/1?&#") == SH_OK);
    CHECKF(!strcmp(b.data, "H%E1%BB%93%20s%C6%A1%2F1%3F%26%23"), "%s", b.data);
    sh_buf_release(&b);
    CHECK(sh_web_url_encode(&b, "HS-2024_00.1~") == SH_OK);
    CHECK(!strcmp(b.data, "HS-2024_00.1~"));
    sh_buf_release(&b);
    return 0;
}

static const char words_json[] =
    "[[10,10,50,30,90,0,0,30,20,\"Luật\"],"
    "[60,10,100,30,90,0,0,30,20,\"Đất\"],"
    "[110,10,150,30,90,0,0,30,20,\"đai\"],"
    "[160,10,200,30,90,0,0,30,20,\"ngày\"],"
    "[10,40,50,60,90,1,0,60,20,\"đất,\"],"
    "[60,40,100,60,90,1,0,60,20,\"dài\"],"
    "[110,40,150,60,90,1,0,60,20,\"đai.\"],"
    "[160,40,200,60,90,1,0,60,20,\"<script>\"],"
    "[10,70,50,90,90,2,0,90,20,\"ĐẤT\"]]";

/* The boxes' x0,y0 and phrase flags as "x0,y0[p] ..." */
static int boxes_str(const char *q, char *out, size_t n)
{
    json_t *a = NULL;
    sh_err err = {0};
    int rc = sh_web_word_boxes(words_json, q, &a, &err);
    out[0] = 0;
    if (rc)
        return rc;
    size_t i;
    json_t *b;
    json_array_foreach(a, i, b) {
        snprintf(out + strlen(out), n - strlen(out), "%s%d,%d%s",
                 i ? " " : "", (int)json_integer_value(json_object_get(b, "x0")),
                 (int)json_integer_value(json_object_get(b, "y0")),
                 json_is_true(json_object_get(b, "phrase")) ? "p" : "");
    }
    json_decref(a);
    return 0;
}

static int t_boxes(void)
{
    static const struct {
        const char *q, *want;
    } cases[] = {
        /* folded: every form of dat and dai; the phrase on line 0
           ("Đất đai") and on line 1 ("đất, dài": dài folds to dai) */
        {"dat dai", "60,10p 110,10p 10,40p 60,40p 110,40 10,70"},
        /* typed with diacritics: only those forms (any case) */
        {"đất", "60,10 10,40 10,70"},
        {"Đất đai", "60,10p 110,10p 10,40 110,40 10,70"},
        {"đai", "110,10 110,40"},
        {"\"dat dai\"", "60,10p 110,10p 10,40p 60,40p 110,40 10,70"},
        {"script", "160,40"},
        {"", ""},
        {"bảo hiểm", ""},
        {"NEAR( agency : B", ""},
    };
    char got[512];
    for (size_t i = 0; i < SH_ARRAY_LEN(cases); i++) {
        CHECK(boxes_str(cases[i].q, got, sizeof got) == 0);
        CHECKF(!strcmp(got, cases[i].want), "q '%s': got '%s' want '%s'",
               cases[i].q, got, cases[i].want);
    }
    json_t *a = NULL;
    CHECK(sh_web_word_boxes("{}", "x", &a, NULL) == SH_EINPUT && a == NULL);
    CHECK(sh_web_word_boxes("not json", "x", &a, NULL) == SH_EINPUT);
    CHECK(sh_web_word_boxes(NULL, "x", &a, NULL) == SH_OK &&
          json_array_size(a) == 0);
    json_decref(a);
    /* a malformed word (no text) is skipped, not fatal */
    CHECK(sh_web_word_boxes("[[1,2,3,4],[5,6,7,8,9,0,0,0,0,\"dat\"]]", "đát",
                            &a, NULL) == SH_OK);
    CHECK(json_array_size(a) == 0);
    json_decref(a);
    CHECK(sh_web_word_boxes("[[1,2,3,4],[5,6,7,8,9,0,0,0,0,\"dat\"]]", "dat",
                            &a, NULL) == SH_OK);
    CHECK(json_array_size(a) == 1);
    CHECK(!strcmp(json_string_value(json_object_get(json_array_get(a, 0),
                                                    "text")),
                  "dat"));
    json_decref(a);
    return 0;
}

static int t_users_sessions(void)
{
    const char *wh = sh_test_tmpdir();
    sqlite3 *db = NULL;
    sh_err err = {0};
    CHECKF(sh_web_open(wh, 1, &db, &err) == SH_OK, "%s", err.msg);
    char *a_only[] = {"A", NULL}, *none[] = {NULL};
    /* passwords under SH_WEB_PASSWORD_MIN characters are refused */
    CHECK(sh_web_user_add(db, "an", "pw-an-1", a_only, 0, &err) == SH_EUSAGE);
    CHECK(strstr(err.msg, "too short"));
    CHECK(sh_web_user_add(db, "an", "mật khẩu", a_only, 0, &err) ==
          SH_EUSAGE);                       /* 8 characters, 12 bytes */
    CHECK(sh_web_user_add(db, "an", "pw-an-1-long", a_only, 0, &err) ==
          SH_OK);
    CHECK(sh_web_user_add(db, "an", "x", a_only, 0, &err) == SH_EUSAGE);
    CHECK(strstr(err.msg, "exists"));
    CHECK(sh_web_user_add(db, "binh", "pw", none, 0, &err) == SH_EUSAGE);
    CHECK(sh_web_user_add(db, "bad name", "pw", a_only, 0, &err) ==
          SH_EUSAGE);
    CHECK(sh_web_user_add(db, "chi", "", a_only, 0, &err) == SH_EUSAGE);
    CHECK(sh_web_user_add(db, "root", "pw-root-long", none, 1, &err) ==
          SH_OK);

    CHECK(sh_web_login_check(db, "an", "pw-an-1-long") == 1);
    CHECK(sh_web_login_check(db, "an", "pw-an-2-long") == 0);
    CHECK(sh_web_login_check(db, "nobody", "pw-an-1-long") == 0);
    CHECK(sh_web_login_check(db, "an' OR '1'='1", "x") == 0);

    sh_web_user u;
    CHECK(sh_web_user_load(db, "an", &u, NULL) == SH_OK);
    CHECK(!u.admin && u.nagencies == 1 && !strcmp(u.agencies[0], "A"));
    CHECK(sh_web_user_may(&u, "A") && !sh_web_user_may(&u, "B") &&
          !sh_web_user_may(&u, NULL));
    sh_web_user_release(&u);
    CHECK(sh_web_user_load(db, "nobody", &u, &err) == SH_EUSAGE);

    char tok[65];
    CHECK(sh_web_session_new(db, "an", 0, "127.0.0.1", tok, &err) == SH_OK);
    CHECK(sh_web_token_ok(tok));
    /* only the hash is stored */
    sqlite3_stmt *st;
    CHECK(sqlite3_prepare_v2(db, "SELECT count(*) FROM session WHERE "
                                 "token_sha256=?",
                             -1, &st, NULL) == SQLITE_OK);
    sqlite3_bind_text(st, 1, tok, -1, SQLITE_TRANSIENT);
    CHECK(sqlite3_step(st) == SQLITE_ROW && sqlite3_column_int(st, 0) == 0);
    sqlite3_finalize(st);
    CHECK(sh_web_session_user(db, tok, &u) == 1);
    CHECK(!strcmp(u.name, "an"));
    sh_web_user_release(&u);
    char bad[65];
    memcpy(bad, tok, 65);
    bad[0] = bad[0] == 'a' ? 'b' : 'a';
    CHECK(sh_web_session_user(db, bad, &u) == 0 && !u.name[0]);

    /* grants change at once */
    CHECK(sh_web_user_grant(db, "an", "B", &err) == SH_OK);
    CHECK(sh_web_session_user(db, tok, &u) == 1 && u.nagencies == 2);
    sh_web_user_release(&u);
    CHECK(sh_web_user_revoke(db, "an", "A", &err) == SH_OK);
    CHECK(sh_web_user_revoke(db, "an", "A", &err) == SH_EUSAGE);
    CHECK(sh_web_session_user(db, tok, &u) == 1);
    CHECK(u.nagencies == 1 && !strcmp(u.agencies[0], "B") &&
          !sh_web_user_may(&u, "A"));
    sh_web_user_release(&u);

    /* expired sessions do not count */
    char old[65];
    CHECK(sh_web_session_new(db, "root", 1, NULL, old, &err) == SH_OK);
    CHECK(sh_db_exec(db, "UPDATE session SET expires=expires-10 WHERE "
                         "user='root'",
                     &err) == SH_OK);
    CHECK(sh_web_session_user(db, old, &u) == 0);

    json_t *list = NULL;
    CHECK(sh_web_user_list(db, &list, &err) == SH_OK);
    CHECK(json_array_size(list) == 2);
    json_t *an = json_array_get(list, 0);
    CHECK(!strcmp(json_string_value(json_object_get(an, "name")), "an"));
    CHECK(json_integer_value(json_object_get(an, "sessions")) == 1);
    CHECK(json_array_size(json_object_get(an, "agencies")) == 1);
    CHECK(json_is_true(json_object_get(json_array_get(list, 1), "admin")));
    json_decref(list);

    /* a new password ends the sessions */
    CHECK(sh_web_user_passwd(db, "an", "short", &err) == SH_EUSAGE);
    CHECK(sh_web_user_passwd(db, "an", "pw-an-new-long", &err) == SH_OK);
    CHECK(sh_web_session_user(db, tok, &u) == 0);
    CHECK(sh_web_login_check(db, "an", "pw-an-1-long") == 0);
    CHECK(sh_web_login_check(db, "an", "pw-an-new-long") == 1);
    CHECK(sh_web_session_new(db, "an", 0, NULL, tok, &err) == SH_OK);
    CHECK(sh_web_session_end(db, tok, &err) == SH_OK);
    CHECK(sh_web_session_user(db, tok, &u) == 0);
    CHECK(sh_web_session_new(db, "an", 0, NULL, tok, &err) == SH_OK);
    CHECK(sh_web_user_remove(db, "an", &err) == SH_OK);
    CHECK(sh_web_session_user(db, tok, &u) == 0);
    CHECK(sh_web_user_remove(db, "an", &err) == SH_EUSAGE);
    CHECK(sh_web_login_check(db, "an", "pw-an-new-long") == 0);
    sh_db_close(&db);
    return 0;
}

/* Sessions end after their idle time; a user holds at most
   SH_WEB_SESSIONS_MAX, a new login dropping the oldest. */
static int t_session_idle_cap(void)
{
    sqlite3 *db = NULL;
    sh_err err = {0};
    sh_web_user u;
    CHECKF(sh_web_open(sh_test_tmpdir(), 1, &db, &err) == SH_OK, "%s",
           err.msg);
    char *a_only[] = {"A", NULL};
    CHECK(sh_web_user_add(db, "an", "pw-an-1-long", a_only, 0, &err) == SH_OK);
    char tok[SH_WEB_SESSIONS_MAX + 1][65];
    for (int i = 0; i <= SH_WEB_SESSIONS_MAX; i++) {
        CHECK(sh_web_session_new(db, "an", 0, NULL, tok[i], &err) == SH_OK);
        /* older logins, older uses */
        CHECK(sh_db_exec(db, "UPDATE session SET last_seen=last_seen-1",
                         &err) == SH_OK);
    }
    /* the first is gone, the other SH_WEB_SESSIONS_MAX live */
    CHECK(sh_web_session_user(db, tok[0], &u) == 0);
    for (int i = 1; i <= SH_WEB_SESSIONS_MAX; i++) {
        CHECKF(sh_web_session_user(db, tok[i], &u) == 1, "session %d", i);
        sh_web_user_release(&u);
    }
    /* idle: 31 minutes without a request ends a session; a touch keeps
       it alive */
    int stale = -1;
    CHECK(sh_web_session_user_idle(db, tok[1], 0, &u, &stale) == 1);
    CHECK(stale == 0);
    sh_web_user_release(&u);
    CHECK(sh_db_exec(db, "UPDATE session SET last_seen=last_seen-31*60",
                     &err) == SH_OK);
    CHECK(sh_web_session_user(db, tok[1], &u) == 0);
    CHECK(sh_web_session_user_idle(db, tok[1], 3600, &u, &stale) == 1);
    CHECK(stale == 1);
    sh_web_user_release(&u);
    CHECK(sh_web_session_touch(db, tok[1], &err) == SH_OK);
    CHECK(sh_web_session_user(db, tok[1], &u) == 1);
    sh_web_user_release(&u);
    CHECK(sh_web_session_user(db, tok[2], &u) == 0);
    /* a session from before last_seen (NULL): counted from its start */
    CHECK(sh_db_exec(db, "UPDATE session SET last_seen=NULL", &err) == SH_OK);
    CHECK(sh_web_session_user(db, tok[3], &u) == 1);
    sh_web_user_release(&u);
    sh_db_close(&db);
    return 0;
}

/* The login throttle: free first failure, then doubling delays per
   (account, address); parallel attempts refused; a success clears the
   pair; an account under attack from many addresses slows, but never for
   more than a minute; entries forgotten after 15 min. */
static int t_throttle(void)
{
    sh_web_throttle *t = sh_web_throttle_new();
    CHECK(t);
    double now = 1000;
    /* one attempt at a time per pair */
    CHECK(sh_web_throttle_begin(t, "an", "10.0.0.1", now) == 0);
    CHECK(sh_web_throttle_begin(t, "an", "10.0.0.1", now) > 0);
    CHECK(sh_web_throttle_begin(t, "an", "10.0.0.2", now) == 0);
    sh_web_throttle_end(t, "an", "10.0.0.2", 1, now);
    sh_web_throttle_end(t, "an", "10.0.0.1", 0, now + 1);   /* 1st: free */
    now += 1;
    CHECK(sh_web_throttle_begin(t, "an", "10.0.0.1", now) == 0);
    sh_web_throttle_end(t, "an", "10.0.0.1", 0, now);       /* 2nd: 1 s */
    CHECK(sh_web_throttle_begin(t, "an", "10.0.0.1", now + 0.5) == 1);
    CHECK(sh_web_throttle_begin(t, "an", "10.0.0.1", now + 1) == 0);
    sh_web_throttle_end(t, "an", "10.0.0.1", 0, now + 1);   /* 3rd: 2 s */
    now += 1;
    CHECK(sh_web_throttle_begin(t, "an", "10.0.0.1", now + 1) == 1);
    /* another address, another account: not slowed */
    CHECK(sh_web_throttle_begin(t, "an", "10.0.0.9", now) == 0);
    sh_web_throttle_end(t, "an", "10.0.0.9", 1, now);
    CHECK(sh_web_throttle_begin(t, "binh", "10.0.0.1", now) == 0);
    sh_web_throttle_end(t, "binh", "10.0.0.1", 1, now);
    /* guesses in 60 s from one address, trying as fast as allowed */
    int n = 0;
    for (double s = now + 2; s < now + 62; s += 0.25)
        if (sh_web_throttle_begin(t, "an", "10.0.0.1", s) == 0) {
            n++;
            sh_web_throttle_end(t, "an", "10.0.0.1", 0, s + 1);
        }
    CHECKF(n <= 6, "%d guesses in a minute", n);
    /* forgotten 15 min after the last failure */
    CHECK(sh_web_throttle_begin(t, "an", "10.0.0.1", now + 2000) == 0);
    sh_web_throttle_end(t, "an", "10.0.0.1", 1, now + 2000);
    /* many addresses on one account: beyond 20 failures the account
       slows, at most 60 s; the success of a pair does not clear it */
    now += 5000;
    for (int i = 0; i < 40; i++) {
        char a[32];
        snprintf(a, sizeof a, "10.1.0.%d", i);
        int w = sh_web_throttle_begin(t, "chi", a, now);
        if (w > 0) {
            CHECKF(w <= 60, "account wait %d s", w);
            now += w;
            CHECK(sh_web_throttle_begin(t, "chi", a, now) == 0);
        }
        sh_web_throttle_end(t, "chi", a, 0, now);
    }
    int w = sh_web_throttle_begin(t, "chi", "10.2.0.1", now);
    CHECKF(w > 0 && w <= 60, "account wait %d", w);
    CHECK(sh_web_throttle_begin(t, "chi", "10.2.0.1", now + 60) == 0);
    sh_web_throttle_end(t, "chi", "10.2.0.1", 1, now + 60);
    sh_web_throttle_free(&t);
    CHECK(t == NULL);
    sh_web_throttle_free(&t);
    return 0;
}

/* The audit hash chain: rows chained as written, --verify names the first
   broken row (edited, deleted), triggers refuse UPDATE and DELETE, and a
   catalog from before the chain and before audit.db: its rows copied
   into audit.db and chained there, once; the catalog's table untouched. */
static int t_audit_chain(void)
{
    const char *wh = sh_test_tmpdir();
    sqlite3 *db = NULL, *cat = NULL;
    sh_err err = {0};
    /* an old catalog: the audit table as it was, with rows */
    CHECK(sh_db_open(wh, 0, &cat, &err) == SH_OK);
    CHECK(sh_db_exec(cat,
          "CREATE TABLE audit(id INTEGER PRIMARY KEY, time TEXT NOT NULL,"
          " user TEXT, addr TEXT, action TEXT NOT NULL, query TEXT,"
          " results INTEGER, dossier TEXT, page INTEGER, status INTEGER);"
          "INSERT INTO audit(time,user,action,query,results,status) VALUES"
          " ('2024-01-01T00:00:00Z','an','search','đất',3,200),"
          " ('2024-01-01T00:00:01Z','an','pdf',NULL,NULL,200);", &err) ==
          SH_OK);
    CHECK(sh_db_exec(cat, "CREATE TABLE session(token_sha256 TEXT PRIMARY"
                          " KEY, user TEXT NOT NULL, created TEXT NOT NULL,"
                          " expires INTEGER NOT NULL, addr TEXT)", &err) ==
          SH_OK);
    sh_db_close(&cat);
    CHECKF(sh_web_open(wh, 1, &cat, &err) == SH_OK, "%s", err.msg);
    CHECKF(sh_web_audit_open(wh, 0, &db, &err) == SH_OK, "%s", err.msg);
    int64_t bad = -1, rows = 0;
    char head[65];
    CHECK(sh_web_audit_verify(db, &bad, &rows, head, &err) == SH_OK);
    CHECKF(bad == 0 && rows == 2 && strlen(head) == 64, "bad %lld rows %lld",
           (long long)bad, (long long)rows);
    /* the catalog's table as it was (no hash column), the move recorded */
    CHECK(sqlite3_table_column_metadata(cat, NULL, "audit", "hash", NULL,
                                        NULL, NULL, NULL,
                                        NULL) != SQLITE_OK);
    sqlite3_stmt *st;
    CHECK(sqlite3_prepare_v2(cat, "SELECT (SELECT count(*) FROM audit),"
                             " (SELECT value FROM meta WHERE key='audit')",
                             -1, &st, NULL) == SQLITE_OK);
    CHECK(sqlite3_step(st) == SQLITE_ROW && sqlite3_column_int(st, 0) == 2 &&
          !strcmp((const char *)sqlite3_column_text(st, 1), "audit.db"));
    sqlite3_finalize(st);
    sh_db_close(&cat);
    /* new rows chain on */
    sh_audit_rec r = {"an", "127.0.0.1", "search", "a\nb", 1, NULL, 0, 200,
                      "{\"agency\":\"A\"}"};
    for (int i = 0; i < 3; i++)
        CHECK(sh_web_audit(db, &r, &err) == SH_OK);
    CHECK(sh_web_audit_verify(db, &bad, &rows, head, &err) == SH_OK);
    CHECK(bad == 0 && rows == 5);
    /* the triggers refuse changes */
    CHECK(sh_db_exec(db, "UPDATE audit SET user='x' WHERE id=3", &err) ==
          SH_EINDEX);
    CHECK(strstr(err.msg, "append-only"));
    CHECK(sh_db_exec(db, "DELETE FROM audit WHERE id=3", &err) == SH_EINDEX);
    /* opened again: nothing copied a second time */
    sh_db_close(&db);
    CHECK(sh_web_audit_open(wh, 0, &db, &err) == SH_OK);
    CHECK(sh_web_audit_verify(db, &bad, &rows, NULL, &err) == SH_OK);
    CHECKF(bad == 0 && rows == 5, "reopened: %lld rows", (long long)rows);
    /* someone who drops the triggers and edits: the row is named */
    CHECK(sh_db_exec(db, "DROP TRIGGER audit_no_update; DROP TRIGGER"
                         " audit_no_delete; UPDATE audit SET query='x'"
                         " WHERE id=3", &err) == SH_OK);
    CHECK(sh_web_audit_verify(db, &bad, &rows, NULL, &err) == SH_OK);
    CHECKF(bad == 3, "first bad %lld", (long long)bad);
    CHECK(sh_db_exec(db, "UPDATE audit SET query='a'||char(10)||'b' WHERE"
                         " id=3; DELETE FROM audit WHERE id=2", &err) ==
          SH_OK);
    CHECK(sh_web_audit_verify(db, &bad, &rows, NULL, &err) == SH_OK);
    CHECKF(bad == 3, "after a deletion: first bad %lld", (long long)bad);
    sh_db_close(&db);
    return 0;
}

/* A catalog whose journal is chained (a warehouse from before audit.db):
   the first open for writing copies every row as it is (ids, times,
   hashes), so the chain verifies with the same last hash; a second open
   copies nothing; audit.db lost after the move is refused, not started
   anew. */
static int t_audit_move(void)
{
    const char *wh = sh_test_tmpdir();
    sqlite3 *cat = NULL, *db = NULL;
    sh_err err = {0};
    CHECK(sh_web_open(wh, 1, &cat, &err) == SH_OK);
    CHECK(sh_web_audit_schema(cat, &err) == SH_OK);
    sh_audit_rec r[3] = {
        {"an", "127.0.0.1", "search", "đất đai", 3, NULL, 0, 200,
         "{\"year\":2020}"},
        {"an", NULL, "page", NULL, -1, "HS-1", 2, 200, NULL},
        {NULL, "10.0.0.9", "login-failed", NULL, -1, NULL, 0, 401, NULL}};
    const char *times[3] = {"2025-01-02T03:04:05Z", "2025-01-02T03:04:06Z",
                            NULL};
    CHECK(sh_web_audit_rows(cat, r, times, 3, &err) == SH_OK);
    int64_t bad = -1, rows = 0, bad2 = -1, rows2 = 0;
    char head[65], head2[65];
    CHECK(sh_web_audit_verify(cat, &bad, &rows, head, &err) == SH_OK);
    CHECK(bad == 0 && rows == 3);
    char p[4096];
    sh_test_path(p, sizeof p, "audit.db");
    CHECK(!sh_test_file_exists(p));
    /* read-only before the move: the catalog's own table */
    CHECK(sh_web_audit_open(wh, 1, &db, &err) == SH_OK);
    CHECK(sh_web_audit_verify(db, &bad2, &rows2, head2, &err) == SH_OK);
    CHECK(rows2 == 3 && !strcmp(head, head2));
    sh_db_close(&db);
    CHECK(!sh_test_file_exists(p));

    CHECKF(sh_web_audit_open(wh, 0, &db, &err) == SH_OK, "%s", err.msg);
    CHECK(sh_test_file_exists(p));
    CHECK(sh_web_audit_verify(db, &bad2, &rows2, head2, &err) == SH_OK);
    CHECKF(bad2 == 0 && rows2 == 3 && !strcmp(head, head2),
           "bad %lld rows %lld", (long long)bad2, (long long)rows2);
    /* every column alike, row by row */
    sqlite3_stmt *st;
    char q[4300];
    snprintf(q, sizeof q, "ATTACH '%s/catalog.db' AS cat", wh);
    CHECK(sh_db_exec(db, q, &err) == SH_OK);
    CHECK(sqlite3_prepare_v2(db, "SELECT count(*) FROM (SELECT * FROM"
                             " main.audit EXCEPT SELECT * FROM cat.audit)",
                             -1, &st, NULL) == SQLITE_OK);
    CHECK(sqlite3_step(st) == SQLITE_ROW && sqlite3_column_int(st, 0) == 0);
    sqlite3_finalize(st);
    CHECK(sh_db_exec(db, "DETACH cat", &err) == SH_OK);
    /* the new rows go to audit.db only; the catalog's table stays */
    CHECK(sh_web_audit(db, &r[1], &err) == SH_OK);
    CHECK(sh_web_audit_verify(cat, &bad, &rows, NULL, &err) == SH_OK);
    CHECK(rows == 3);
    sh_db_close(&db);
    CHECK(sh_web_audit_open(wh, 0, &db, &err) == SH_OK);
    CHECK(sh_web_audit_verify(db, &bad2, &rows2, NULL, &err) == SH_OK);
    CHECKF(bad2 == 0 && rows2 == 4, "reopened: %lld rows", (long long)rows2);
    sh_db_close(&db);
    sh_db_close(&cat);
    /* audit.db lost: refused, naming the backup */
    CHECK(unlink(p) == 0);
    char w[4200];
    snprintf(w, sizeof w, "%s-wal", p);
    unlink(w);
    snprintf(w, sizeof w, "%s-shm", p);
    unlink(w);
    CHECK(sh_web_audit_open(wh, 0, &db, &err) == SH_EIO && !db);
    CHECKF(strstr(err.msg, "backup"), "%s", err.msg);
    CHECK(sh_web_audit_open(wh, 1, &db, &err) == SH_EIO && !db);
    CHECK(!sh_test_file_exists(p));
    return 0;
}

static int t_audit(void)
{
    static const struct {
        const char *in, *out;
    } times[] = {
        {"2025-03-04", "2025-03-04T00:00:00Z"},
        {"2025-03-04T05:06", "2025-03-04T05:06:00Z"},
        {"2025-03-04 05:06:07Z", "2025-03-04T05:06:07Z"},
        {"2025-13-04", NULL},
        {"2025-03-04T25:00", NULL},
        {"yesterday", NULL},
        {"2025-03-04T05:06+07:00", NULL},
    };
    for (size_t i = 0; i < SH_ARRAY_LEN(times); i++) {
        char out[21];
        int rc = sh_web_iso_time(times[i].in, out);
        CHECKF(times[i].out ? rc == SH_OK && !strcmp(out, times[i].out)
                            : rc == SH_EUSAGE,
               "'%s' → rc %d '%s'", times[i].in, rc, out);
    }
    sqlite3 *db = NULL;
    sh_err err = {0};
    CHECK(sh_web_audit_open(sh_test_tmpdir(), 0, &db, &err) == SH_OK);
    sh_audit_rec r = {"an", "127.0.0.1", "search", "đất đai", 3, NULL, 0, 200,
                      NULL};
    CHECK(sh_web_audit(db, &r, &err) == SH_OK);
    sh_audit_rec v = {"an", NULL, "page", NULL, -1, "HS-1", 2, 200, NULL};
    CHECK(sh_web_audit(db, &v, &err) == SH_OK);
    sqlite3_stmt *st;
    CHECK(sqlite3_prepare_v2(db,
                             "SELECT user, action, query, results, dossier, "
                             "page, time FROM audit ORDER BY id",
                             -1, &st, NULL) == SQLITE_OK);
    CHECK(sqlite3_step(st) == SQLITE_ROW);
    CHECK(!strcmp((const char *)sqlite3_column_text(st, 2), "đất đai"));
    CHECK(sqlite3_column_int(st, 3) == 3);
    CHECK(sqlite3_column_type(st, 4) == SQLITE_NULL);
    CHECK(strlen((const char *)sqlite3_column_text(st, 6)) == 20);
    CHECK(sqlite3_step(st) == SQLITE_ROW);
    CHECK(!strcmp((const char *)sqlite3_column_text(st, 1), "page"));
    CHECK(sqlite3_column_type(st, 3) == SQLITE_NULL);
    CHECK(!strcmp((const char *)sqlite3_column_text(st, 4), "HS-1"));
    CHECK(sqlite3_column_int(st, 5) == 2);
    CHECK(sqlite3_step(st) == SQLITE_DONE);
    sqlite3_finalize(st);
    sh_db_close(&db);
    return 0;
}

/* The server's journal writer (web/auditq.c): rows queued from several
   threads are written in group commits, all of them by the stop, in
   queue order, chained; a group written by sh_web_audit_rows keeps each
   row's own time. */
#define AQ_THREADS 4
#define AQ_ROWS 250
static void *aq_put(void *arg)
{
    sh__web_auditq *q = *(sh__web_auditq **)((void **)arg)[0];
    int k = (int)(intptr_t)((void **)arg)[1];
    for (int i = 0; i < AQ_ROWS; i++) {
        char query[32];
        snprintf(query, sizeof query, "q%d-%d", k, i);
        sh_audit_rec r = {"an", "127.0.0.1", "search", query, i, NULL, 0,
                          200, NULL};
        if (sh__web_auditq_put(q, &r))
            return (void *)1;
    }
    return NULL;
}

static int t_audit_queue(void)
{
    const char *wh = sh_test_tmpdir();
    sqlite3 *db = NULL;
    sh_err err = {0};
    CHECK(sh_web_open(wh, 1, &db, &err) == SH_OK);
    sh_db_close(&db);
    CHECK(sh_web_audit_open(wh, 0, &db, &err) == SH_OK);
    /* a group with its own times */
    sh_audit_rec g[2] = {
        {"an", NULL, "login", NULL, -1, NULL, 0, 303, NULL},
        {"an", NULL, "pdf", NULL, -1, "HS-1", 0, 200, NULL}};
    const char *times[2] = {"2025-01-02T03:04:05Z", NULL};
    CHECK(sh_web_audit_rows(db, g, times, 2, &err) == SH_OK);
    sh_audit_rec bad = {"an", NULL, NULL, NULL, -1, NULL, 0, 0, NULL};
    CHECK(sh_db_exec(db, "CREATE TRIGGER t_no BEFORE INSERT ON audit WHEN"
                         " NEW.user='refused' BEGIN SELECT RAISE(ABORT,"
                         " 'no'); END", &err) == SH_OK);
    /* a failing row: the whole group is refused, nothing written */
    sh_audit_rec g2[2] = {g[0], bad};
    g2[1].user = "refused";
    CHECK(sh_web_audit_rows(db, g2, NULL, 2, &err) == SH_EINDEX);

    sh__web_auditq *q = sh__web_auditq_start(wh);
    CHECK(q != NULL);
    pthread_t th[AQ_THREADS];
    void *args[AQ_THREADS][2];
    for (int k = 0; k < AQ_THREADS; k++) {
        args[k][0] = &q;
        args[k][1] = (void *)(intptr_t)k;
        CHECK(pthread_create(&th[k], NULL, aq_put, args[k]) == 0);
    }
    int failed = 0;
    for (int k = 0; k < AQ_THREADS; k++) {
        void *rv;
        pthread_join(th[k], &rv);
        failed += rv != NULL;
    }
    CHECK(failed == 0);
    int64_t written = 0, failures = -1;
    CHECK(sh__web_auditq_stop(&q) == 0);
    CHECK(q == NULL);
    int64_t first_bad = -1, rows = 0;
    CHECK(sh_web_audit_verify(db, &first_bad, &rows, NULL, &err) == SH_OK);
    CHECKF(first_bad == 0 && rows == 2 + AQ_THREADS * AQ_ROWS,
           "bad %lld, rows %lld", (long long)first_bad, (long long)rows);
    sqlite3_stmt *st;
    CHECK(sqlite3_prepare_v2(db, "SELECT time FROM audit WHERE id=1", -1, &st,
                             NULL) == SQLITE_OK);
    CHECK(sqlite3_step(st) == SQLITE_ROW);
    CHECK(!strcmp((const char *)sqlite3_column_text(st, 0),
                  "2025-01-02T03:04:05Z"));
    sqlite3_finalize(st);
    /* each thread's rows in the order it queued them */
    CHECK(sqlite3_prepare_v2(db, "SELECT count(*) FROM audit a JOIN audit b"
                             " ON substr(a.query,1,3)=substr(b.query,1,3)"
                             " AND a.id<b.id AND a.results>b.results", -1,
                             &st, NULL) == SQLITE_OK);
    CHECK(sqlite3_step(st) == SQLITE_ROW && sqlite3_column_int(st, 0) == 0);
    sqlite3_finalize(st);

    /* the writer failing: logged, counted, new rows refused (the caller
       answers 503), and what is queued is reported lost at the stop */
    q = sh__web_auditq_start(wh);
    CHECK(q != NULL);
    sh_audit_rec ok = g[0];
    CHECK(sh__web_auditq_put(q, &g2[1]) == SH_OK);
    for (int i = 0; i < 200; i++) {
        sh__web_auditq_stats(q, &written, &failures, NULL);
        if (failures)
            break;
        struct timespec ts = {0, 10 * 1000000L};
        nanosleep(&ts, NULL);
    }
    CHECK(failures >= 1);
    CHECK(sh__web_auditq_put(q, &ok) == SH_EINDEX);
    CHECK(sh__web_auditq_stop(&q) == 1);
    sh_db_close(&db);
    return 0;
}

/* Mean gray value of a w x h box at x, y. */
static double box_mean(PIX *p, int x, int y, int w, int h)
{
    double sum = 0;
    for (int j = y; j < y + h; j++)
        for (int i = x; i < x + w; i++) {
            l_uint32 v = 0;
            pixGetPixel(p, i, j, &v);
            sum += pixGetDepth(p) == 32 ? (double)(v >> 24) : (double)v;
        }
    return sum / (w * h);
}

static int t_render(void)
{
    /* A 400 x 200 page, white, with a black 40 x 20 block at (20, 10). */
    char path[512];
    snprintf(path, sizeof path, "%s/page.png", sh_test_tmpdir());
    PIX *src = pixCreate(400, 200, 8);
    CHECK(src != NULL);
    pixSetAll(src);
    BOX *bx = boxCreate(20, 10, 40, 20);
    pixClearInRect(src, bx);
    boxDestroy(&bx);
    pixSetResolution(src, 300, 300);
    CHECK(pixWrite(path, src, IFF_PNG) == 0);
    pixDestroy(&src);

    uint8_t *png = NULL;
    size_t n = 0;
    sh_err err = {0};
    /* upright, 200 px wide: the block at (10, 5), 20 x 10 */
    sh_geom g = {0};
    g.ocr_w = 400;
    g.ocr_h = 200;
    CHECKF(sh_prep_render_png(path, 0, &g, 200, &png, &n, &err) == SH_OK, "%s",
           err.msg);
    PIX *p = pixReadMem(png, n);
    free(png);
    CHECK(p && pixGetWidth(p) == 200 && pixGetHeight(p) == 100);
    CHECKF(box_mean(p, 12, 7, 16, 6) < 40, "block %.0f",
           box_mean(p, 12, 7, 16, 6));
    CHECK(box_mean(p, 100, 50, 20, 20) > 220);
    pixDestroy(&p);

    /* one quarter turn clockwise: the 200 x 400 upright page; a point
       (x, y) goes to (H - 1 - y, x): the block to x 170..190, y 20..60;
       100 px wide → x 85..95, y 10..30 */
    g.quarter = 1;
    g.ocr_w = 200;
    g.ocr_h = 400;
    CHECK(sh_prep_render_png(path, 0, &g, 100, &png, &n, &err) == SH_OK);
    p = pixReadMem(png, n);
    free(png);
    CHECK(p && pixGetWidth(p) == 100 && pixGetHeight(p) == 200);
    CHECKF(box_mean(p, 87, 13, 6, 14) < 40, "turned block %.0f",
           box_mean(p, 87, 13, 6, 14));
    CHECK(box_mean(p, 10, 13, 6, 14) > 220);
    pixDestroy(&p);

    /* deskew keeps the size */
    sh_geom s = {0};
    s.skew_deg = 2.0;
    s.ocr_w = 400;
    s.ocr_h = 200;
    CHECK(sh_prep_render_png(path, 0, &s, 200, &png, &n, &err) == SH_OK);
    p = pixReadMem(png, n);
    free(png);
    CHECK(p && pixGetWidth(p) == 200 && pixGetHeight(p) == 100);
    pixDestroy(&p);

    /* the left half of a two-up sheet (region 0,0 200x200 of the 400x200
       sheet), shown 100 px wide: the block at (10, 5) 20 x 10 again */
    sh_geom h = {0};
    h.full_w = 400;
    h.full_h = 200;
    h.reg_w = h.ocr_w = 200;
    h.reg_h = h.ocr_h = 200;
    h.nparts = 2;
    CHECK(sh_prep_render_png(path, 0, &h, 100, &png, &n, &err) == SH_OK);
    p = pixReadMem(png, n);
    free(png);
    CHECK(p && pixGetWidth(p) == 100 && pixGetHeight(p) == 100);
    CHECKF(box_mean(p, 12, 7, 16, 6) < 40, "left half block %.0f",
           box_mean(p, 12, 7, 16, 6));
    pixDestroy(&p);
    /* the right half: white where the block was */
    h.reg_x = 200;
    h.part = 1;
    CHECK(sh_prep_render_png(path, 0, &h, 100, &png, &n, &err) == SH_OK);
    p = pixReadMem(png, n);
    free(png);
    CHECK(p && pixGetWidth(p) == 100 && pixGetHeight(p) == 100);
    CHECK(box_mean(p, 12, 7, 16, 6) > 220);
    pixDestroy(&p);
    /* a region outside the sheet is refused */
    h.reg_x = 300;
    CHECK(sh_prep_render_png(path, 0, &h, 100, &png, &n, &err) == SH_EUSAGE);

    /* errors name the file and the frame */
    sh_geom z = {0};
    CHECK(sh_prep_render_png(path, 3, &z, 200, &png, &n, &err) == SH_EINPUT);
    CHECK(strstr(err.msg, "page.png") && strstr(err.msg, "frame 3"));
    CHECK(png == NULL && n == 0);
    CHECK(sh_prep_render_png("/nonexistent/x.tif", 0, &z, 200, &png, &n,
                             &err) != SH_OK);
    CHECK(strstr(err.msg, "/nonexistent/x.tif"));
    CHECK(sh_prep_render_png(path, 0, &z, 5, &png, &n, &err) == SH_EUSAGE);
    /* no geometry at all: the frame's own aspect */
    CHECK(sh_prep_render_png(path, 0, &z, 100, &png, &n, &err) == SH_OK);
    p = pixReadMem(png, n);
    free(png);
    CHECK(p && pixGetWidth(p) == 100 && pixGetHeight(p) == 50);
    pixDestroy(&p);
    return 0;
}

const sh_test sh_tests_web[] = {
    {"web/password", t_password},
    {"web/agencies", t_agencies},
    {"web/names", t_names},
    {"web/escape", t_escape},
    {"web/url", t_url},
    {"web/boxes", t_boxes},
    {"web/users_sessions", t_users_sessions},
    {"web/audit", t_audit},
    {"web/session_idle_cap", t_session_idle_cap},
    {"web/throttle", t_throttle},
    {"web/audit_chain", t_audit_chain},
    {"web/audit_move", t_audit_move},
    {"web/audit_queue", t_audit_queue},
    {"web/render", t_render},
    {NULL, NULL},
};
