/*
 * web.h — the officers' search site: users and their agencies, sessions,
 * the audit journal, and the HTTP server (`sohoa serve`).
 *
 * Tables (created by sh_web_schema in the warehouse catalog, next to the
 * pipeline's; the pipeline never reads them; the audit table in its own
 * file, WAREHOUSE/audit.db, sh_web_audit_open):
 *   user(name PK, hash, admin, created, updated)
 *        hash: libsodium Argon2id string (crypto_pwhash_str)
 *   user_agency(user, agency)              -- agencies a user may see
 *   session(token_sha256 PK, user, created, expires, addr, last_seen)
 *        only the SHA-256 of the cookie token is stored; expires and
 *        last_seen are Unix times (a session ends at expires, or after
 *        its idle time without a request)
 *   audit(id PK, time, user, addr, action, query, results, dossier, page,
 *         status, detail, hash)
 *        action: search | view | page | words | pdf | login |
 *        login-failed | login-throttled | logout; detail: JSON of what
 *        else was asked (a search's filters); hash: SHA-256 chained to the
 *        row before (sh_web_audit_verify).  Triggers refuse UPDATE and
 *        DELETE.  A warehouse from before audit.db has the journal in
 *        catalog.db: its rows are copied as they are (and those from
 *        before the hash chained) into a new audit.db on the first
 *        read-write open, and catalog.db's meta 'audit' = 'audit.db' says
 *        so; its old table is left as it was.
 *
 * Access rule: an admin sees every dossier; anyone else sees a dossier only
 * when its agency is one granted to them (a dossier without an agency is
 * for admins only).  The server applies it to results, totals, snippets,
 * page images, word boxes and PDFs, and answers "not found" alike for a
 * dossier that does not exist and one that is not allowed.
 */
#ifndef SH_WEB_H
#define SH_WEB_H

#include "../base/common.h"
#include <jansson.h>
#include <sqlite3.h>

/* ---- commands (pipeline/main.c) ---- */
int sh_cmd_serve(int argc, char **argv);
int sh_cmd_user(int argc, char **argv);
int sh_cmd_audit(int argc, char **argv);

/* ---- schema ---- */

/* Create the user, user_agency and session tables if missing, and bring
   those of older catalogs up to date (the audit table: audit.db,
   sh_web_audit_open).
   db: a read-write catalog connection.  Returns SH_OK or SH_EINDEX. */
int sh_web_schema(sqlite3 *db, sh_err *err);
/* The audit table, its detail and hash columns and the triggers that
   refuse UPDATE and DELETE; rows written before the hash are chained
   once, before the triggers exist (audit.c).  Returns SH_OK or
   SH_EINDEX. */
int sh_web_audit_schema(sqlite3 *db, sh_err *err);
/* Open the audit journal, WAREHOUSE/audit.db (audit.c).  readonly = 0:
   read-write (WAL, synchronous=FULL, sh_web_audit_schema run); when the
   file is missing it is made, written whole under a temporary name and
   then linked into place, with the rows of catalog.db's own audit table
   copied unchanged if it has one (logged once, at INFO); catalog.db's
   meta then holds 'audit' = 'audit.db'.  readonly = 1: audit.db as it
   is, or the catalog's own table when there is no audit.db yet.
   Returns SH_OK; SH_EIO (cannot make or open it, or it is missing
   although the catalog says it moved there: restore it from a backup);
   SH_EINDEX; SH_EUSAGE (no catalog, for readonly = 1). */
int sh_web_audit_open(const char *warehouse, int readonly, sqlite3 **out,
                      sh_err *err);

/* Open WAREHOUSE/catalog.db for the web commands.  rw = 0: read-only
   (sh_db_open), the catalog must exist.  rw = 1: read-write, creating
   the warehouse folder and catalog if missing, with sh_web_schema run.
   Returns SH_OK, SH_EUSAGE (no catalog for rw = 0), SH_EIO, SH_EINDEX. */
int sh_web_open(const char *warehouse, int rw, sqlite3 **out, sh_err *err);

/* ---- names and lists (users.c) ---- */

#define SH_WEB_NAME_MAX 64     /* bytes in a user name or agency code */
#define SH_WEB_ID_MAX 200      /* bytes in a dossier id from a URL    */

/* 1 if name is a valid user name: 1..SH_WEB_NAME_MAX bytes of ASCII
   letters, digits and . _ - @; else 0. */
int sh_web_valid_user(const char *name);
/* 1 if s is a valid agency code: 1..SH_WEB_NAME_MAX bytes of valid
   UTF-8, no comma, no control character, no leading or trailing space. */
int sh_web_valid_agency(const char *s);
/* 1 if id may name a dossier in a URL: 1..SH_WEB_ID_MAX bytes of valid
   UTF-8 with no '/', '\\', control character (NUL included by
   construction), not "." or "..", no ".." anywhere; else 0.  This only
   filters; the dossier is always looked up in the catalog and its files
   come from catalog rows, never from the id. */
int sh_web_valid_id(const char *id);

/* Split "A, B,C" into a NULL-terminated, de-duplicated array of agency
   codes (spaces around each trimmed).  *out: malloc'd array of malloc'd
   strings, free with sh_web_strv_free; *n [optional] its length.
   Returns SH_OK or SH_EUSAGE (an empty list, an empty item or an invalid
   code; err names it) or SH_ENOMEM. */
int sh_web_parse_agencies(const char *list, char ***out, int *n,
                          sh_err *err);
void sh_web_strv_free(char ***v);

/* ---- passwords (libsodium Argon2id, interactive limits) ---- */

#define SH_WEB_HASH_MAX 128   /* >= crypto_pwhash_STRBYTES */

#define SH_WEB_PASSWORD_MIN 10   /* characters (UTF-8 code points) */

/* Hash pw into out (an Argon2id string, NUL-terminated).  Returns SH_OK,
   SH_EUSAGE (shorter than SH_WEB_PASSWORD_MIN characters, or longer than
   1024 bytes) or SH_ENOMEM (the hash's memory could not be had). */
int sh_web_hash_password(const char *pw, char out[SH_WEB_HASH_MAX],
                         sh_err *err);
/* 1 if pw matches hash, else 0 (also for a malformed hash). */
int sh_web_check_password(const char *hash, const char *pw);

/* ---- users (users.c) ---- */

/* Roles: an officer searches and reads; a clerk also reviews and edits
   the dossiers of their agencies; an admin sees every agency and manages
   users (the user table's admin flag). */
enum { SH_WEB_ROLE_OFFICER = 0, SH_WEB_ROLE_CLERK = 1, SH_WEB_ROLE_ADMIN = 2 };

typedef struct sh_web_user {
    char name[SH_WEB_NAME_MAX + 1];
    int admin;                /* 1 = role admin */
    int role;                 /* SH_WEB_ROLE_* */
    char **agencies;          /* NULL-terminated; never NULL once loaded */
    int nagencies;
} sh_web_user;

void sh_web_user_release(sh_web_user *u);
/* Load user name's admin flag and agencies into u (zeroed first).
   Returns SH_OK, SH_EUSAGE (no such user) or SH_EINDEX/SH_ENOMEM. */
int sh_web_user_load(sqlite3 *db, const char *name, sh_web_user *u,
                     sh_err *err);
/* 1 if u may see a dossier of this agency (NULL = none: admins only). */
int sh_web_user_may(const sh_web_user *u, const char *agency);
/* 1 if u may review and edit a dossier of this agency (a clerk of it, or
   an admin). */
int sh_web_user_may_review(const sh_web_user *u, const char *agency);
/* "officer" | "clerk" | "admin"; the role of a name, or -1. */
const char *sh_web_role_name(int role);
int sh_web_role_parse(const char *s);
/* Give user name a role (admin also sets the admin flag; another role
   clears it).  Returns SH_OK, SH_EUSAGE (no such user) or SH_EINDEX. */
int sh_web_user_set_role(sqlite3 *db, const char *name, int role,
                         sh_err *err);

/* Add a user with password pw and agencies (NULL-terminated, may be
   empty for an admin).  Returns SH_OK, SH_EUSAGE (bad name, exists,
   empty password, no agency for a non-admin) or SH_EINDEX. */
int sh_web_user_add(sqlite3 *db, const char *name, const char *pw,
                    char *const *agencies, int admin, sh_err *err);
/* Grant / revoke one agency; remove a user (with their sessions and
   grants); set a new password (ends their sessions).  Return SH_OK,
   SH_EUSAGE (no such user, invalid code, not granted) or SH_EINDEX. */
int sh_web_user_grant(sqlite3 *db, const char *name, const char *agency,
                      sh_err *err);
int sh_web_user_revoke(sqlite3 *db, const char *name, const char *agency,
                       sh_err *err);
int sh_web_user_remove(sqlite3 *db, const char *name, sh_err *err);
int sh_web_user_passwd(sqlite3 *db, const char *name, const char *pw,
                       sh_err *err);
/* All users as a JSON array of {name, admin, agencies[], created,
   updated, sessions}.  *out: new reference. */
int sh_web_user_list(sqlite3 *db, json_t **out, sh_err *err);

/* ---- sessions (users.c) ---- */

#define SH_WEB_SESSION_TTL (12 * 3600)   /* seconds, absolute */
#define SH_WEB_SESSION_IDLE (30 * 60)    /* seconds without a request */
#define SH_WEB_SESSIONS_MAX 5            /* per user; the oldest goes */

/* Check name/pw.  Always spends one Argon2id verification, also for an
   unknown user, so timing does not tell which was wrong.  Returns 1 when
   they match, 0 otherwise (also on a catalog error). */
int sh_web_login_check(sqlite3 *db, const char *name, const char *pw);
/* Create a session for user: token = 64 lowercase hex chars (256 random
   bits, for the cookie); stores its SHA-256 with now + ttl (0 = default
   SH_WEB_SESSION_TTL) and addr [optional].  Also deletes expired
   sessions, and the user's oldest beyond SH_WEB_SESSIONS_MAX - 1, so the
   new one makes at most SH_WEB_SESSIONS_MAX.  db: read-write.  Returns
   SH_OK or SH_EINDEX. */
int sh_web_session_new(sqlite3 *db, const char *user, int ttl,
                       const char *addr, char token[65], sh_err *err);
/* Look up the user of a cookie token; 1 and *u loaded if the session is
   valid, unexpired and was used within SH_WEB_SESSION_IDLE, 0 otherwise
   (u zeroed). */
int sh_web_session_user(sqlite3 *db, const char *token, sh_web_user *u);
/* The same with idle seconds (0 = SH_WEB_SESSION_IDLE); *stale
   [optional] set to 1 when the session's last use is recorded more than
   a minute ago (then call sh_web_session_touch). */
int sh_web_session_user_idle(sqlite3 *db, const char *token, int idle,
                             sh_web_user *u, int *stale);
/* Record that the session of token was used now.  db: read-write. */
int sh_web_session_touch(sqlite3 *db, const char *token, sh_err *err);
/* Delete the session of token (no error if absent). */
int sh_web_session_end(sqlite3 *db, const char *token, sh_err *err);
/* 1 if s is exactly 64 lowercase hex characters. */
int sh_web_token_ok(const char *s);

/* ---- audit (audit.c) ---- */

typedef struct sh_audit_rec {
    const char *user;     /* [optional] */
    const char *addr;     /* [optional] client address */
    const char *action;   /* search | page | pdf | login | ... */
    const char *query;    /* [optional] search text */
    int results;          /* -1 = none recorded */
    const char *dossier;  /* [optional] */
    int page;             /* 0 = none */
    int status;           /* HTTP status answered */
    const char *detail;   /* [optional] JSON text: a search's filters */
} sh_audit_rec;

/* Append one row with the current UTC time and its hash: SHA-256 (hex)
   of the previous row's hash ("" for the first) and of this row's
   fields, each written as its length and bytes (NULL as "-"), so no two
   rows can hash alike by moving text between fields.  The row and the
   read of the previous hash are one write transaction.  db: read-write,
   the journal (sh_web_audit_open).
   Returns SH_OK or SH_EINDEX / SH_ENOSPC. */
int sh_web_audit(sqlite3 *db, const sh_audit_rec *r, sh_err *err);
/* Append n rows r[0..n-1] in this order, chained, in one write
   transaction (one commit: a group of a server's rows).  times
   [optional]: each row's UTC time "YYYY-MM-DDTHH:MM:SSZ" (the time of its
   request); NULL, or a NULL item, = now.  Returns SH_OK (all written) or
   SH_EINDEX / SH_ENOSPC / SH_ENOMEM (none written). */
int sh_web_audit_rows(sqlite3 *db, const sh_audit_rec *r,
                      const char *const *times, int n, sh_err *err);
/* Walk the audit table in id order and recompute each hash.  *bad: 0
   when the chain holds, else the id of the first row whose hash does not
   match (edited, inserted, or the row after a deleted one); *rows
   [optional] the rows checked; head[65] [optional] the last row's hash
   (note it somewhere else: with it, even a rewrite of the whole chain is
   seen).  Returns SH_OK or SH_EINDEX. */
int sh_web_audit_verify(sqlite3 *db, int64_t *bad, int64_t *rows,
                        char head[65], sh_err *err);
/* Normalise an ISO-8601 UTC time "YYYY-MM-DD[(T| )HH:MM[:SS]][Z]" to
   "YYYY-MM-DDTHH:MM:SSZ" in out.  Returns SH_OK or SH_EUSAGE. */
int sh_web_iso_time(const char *in, char out[21]);

/* ---- login throttle (throttle.c) ---- */

/* Failed passwords slow down the next try, per (account, address): the
   first failure is free (a typo), then 1, 2, 4 ... s, at most 5 min; and
   looser over one account from all addresses (beyond 20 failures: 1, 2,
   4 ... s, at most 60 s, so an officer is never locked out for long) and
   over one address for all accounts (beyond 30).  A failure is forgotten
   15 min after the last one; a success clears its (account, address).
   An attempt holds its (account, address) until it ends: a parallel one
   for the same pair is refused, so the delay cannot be bypassed. */
typedef struct sh_web_throttle sh_web_throttle;

/* A new, empty throttle; NULL when out of memory. */
sh_web_throttle *sh_web_throttle_new(void);
void sh_web_throttle_free(sh_web_throttle **t);
/* May user (the typed name; "?" for one that cannot be a name) from addr
   try a password now (seconds, any clock)?  0: yes, and the attempt is
   held — end it with sh_web_throttle_end.  > 0: no; the seconds to wait. */
int sh_web_throttle_begin(sh_web_throttle *t, const char *user,
                          const char *addr, double now);
/* The held attempt ended (ok: the password matched), at now. */
void sh_web_throttle_end(sh_web_throttle *t, const char *user,
                         const char *addr, int ok, double now);

/* ---- text for the web (text.c; word boxes: words.c) ---- */

/* Append s HTML-escaped (& < > " ') to b.  Returns SH_OK or SH_ENOMEM. */
int sh_web_html_escape(sh_buf *b, const char *s);
/* Append a search snippet as HTML: escaped first, then its hit markers
   '[' ... ']' turned into <mark>...</mark> (a ']' with no open mark stays
   a bracket; a mark left open is closed at the end). */
int sh_web_snippet_html(sh_buf *b, const char *snippet);
/* Append s percent-encoded for a URL query value or path segment
   (unreserved characters A-Z a-z 0-9 - . _ ~ kept). */
int sh_web_url_encode(sh_buf *b, const char *s);
/* Percent-decode n bytes of s ('+' → space when plus is 1).  *out:
   malloc'd, NUL-terminated; *outn [optional] its length (a decoded NUL
   is kept, so callers that need a C string must check outn == strlen).
   Returns SH_OK, SH_EINPUT (bad % escape) or SH_ENOMEM. */
int sh_web_url_decode(const char *s, size_t n, int plus, char **out,
                      size_t *outn);
/* The value of field name in an application/x-www-form-urlencoded body,
   decoded; *out NULL when absent.  Returns SH_OK, SH_EINPUT (bad escape
   or a NUL inside) or SH_ENOMEM. */
int sh_web_form_value(const char *body, size_t n, const char *name,
                      char **out);

/* Copy at most max bytes of s (NULL = ""), cut at a character boundary,
   each byte that is not valid UTF-8 replaced by U+FFFD; *cut [optional]
   set to 1 when bytes were left out.  Returns a malloc'd string, or NULL
   when out of memory. */
char *sh_web_utf8_clean(const char *s, size_t max, int *cut);

/* Boxes of the words of one page that match a query.
   words_json: page.words, a JSON array of
   [x0,y0,x1,y1,conf,line,par,baseline,line_h,"text"] in OCR px;
   query: the user's text (its first SH_QUERY_MAX_BYTES are read).
   A word matches when one of its tokens equals a query token folded
   (diacritics removed, đ → d) — or exactly (lower case) when the query
   token was typed with diacritics, as the search does; "phrase" marks
   words inside a run of consecutive tokens spelling the whole query.
   *out: new JSON array of {"x0","y0","x1","y1","text","phrase"}.
   Returns SH_OK, SH_EINPUT (words_json not an array) or SH_ENOMEM. */
int sh_web_word_boxes(const char *words_json, const char *query,
                      json_t **out, sh_err *err);

#endif
