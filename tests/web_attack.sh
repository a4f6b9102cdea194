#!/usr/bin/env bash
# web_attack.sh — `sohoa serve` under the attacks of issue 14, loopback
# only (127.0.0.0/8: the "attacker" binds 127.0.0.2..., the officer uses
# 127.0.0.1), each bounded in count and time and stopping by itself.
#
#   SOHOA=build/sohoa bash tests/web_attack.sh [NAME]
#
#   flood        200 half-open connections from one address, 60 from ten
#                others and one trickling a header byte at a time: the
#                officer's /login still answers, the heads are cut
#   guessing     8 parallel password guessers for 5 s: at most a few
#                checked, the rest refused (429), every one journalled;
#                the officer logs in from elsewhere at once
#   modes        catalog, PDFs, folders private; verify warns on wider
#   audit_reads  view, image, words, PDF, search filters and refused
#                tries at another agency journalled
#   types        another agency's document types not offered
#   log_forgery  %0a / ESC / C1 in a URL, search and audit output escaped
#   audit_chain  UPDATE/DELETE refused; an edit named by audit --verify
#   cookies      duplicate cookies refused; __Host- cookie, Origin scheme
#                and X-Forwarded-For from --trusted-proxy only
# Ends with "web_attack: N passed, N failed, N skipped".
set -uo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
source tests/serve_port.sh
SOHOA=${SOHOA:-$ROOT/build/sohoa}
PY=/usr/bin/python3
TMP=$(mktemp -d /tmp/sohoa-attack-XXXXXX)
PIDS=()
cleanup() {
    for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null && wait "$p" 2>/dev/null; done
    [ "${ATTACK_KEEP:-0}" = 1 ] && echo "kept $TMP" || rm -rf "$TMP"
}
trap cleanup EXIT
pass=0 fail=0 skip=0
A1=HS-2024-00001 B1=HS-2025-B0001
HEAD_TIMEOUT=2

die() { echo "  $*" >&2; return 1; }
json() { $PY -c "import json,sys; d=json.load(sys.stdin); print($1)"; }

setup() {
    WH=$TMP/wh
    mkdir -p "$TMP/ba" "$TMP/bb"
    cp -r samples/batch/$A1 "$TMP/ba/"
    cp -r samples/batch/$A1 "$TMP/bb/$B1"
    "$SOHOA" run --warehouse "$WH" --agency A "$TMP/ba" >"$TMP/run.log" 2>&1 &&
    "$SOHOA" run --warehouse "$WH" --agency B "$TMP/bb" >>"$TMP/run.log" 2>&1 ||
        { cat "$TMP/run.log"; return 1; }
    # a document type only agency A has
    sqlite3 "$WH/catalog.db" "UPDATE document SET type_name='Loại riêng của A'
        WHERE dossier='$A1' AND ordinal=1" || return 1
    { echo "pw-alice-1" | "$SOHOA" user add alice --agency A --warehouse "$WH" &&
      echo "pw-bob-1-x" | "$SOHOA" user add bob --agency B --warehouse "$WH"; } 2>"$TMP/users.log" ||
        { cat "$TMP/users.log"; return 1; }
}

# start_server LOG ARGS... → PORT (and the pid in PIDS)
start_server() {
    local log=$1; shift
    "$SOHOA" serve --warehouse "$WH" --listen 127.0.0.1:0 "$@" >"$log" 2>&1 &
    PIDS+=($!)
    serve_port "$log" $! || { cat "$log"; return 1; }
}

login() {   # login USER PASSWORD [curl args] → token
    curl -s -o /dev/null -D - --max-time 10 --data-urlencode "user=$1" \
        --data-urlencode "password=$2" "${@:3}" "$U/login" |
        sed -n 's/^Set-Cookie: sohoa_session=\([0-9a-f]\{64\}\);.*/\1/p' | tr -d '\r'
}
as() { local t=$1; shift; curl -s --max-time 10 -H "Cookie: sohoa_session=$t" "$@"; }
code() { local t=$1; shift; as "$t" -o /dev/null -w '%{http_code}' "$@"; }
audit_json() { "$SOHOA" audit --warehouse "$WH" --json; }
# audit_until PYEXPR → the journal as JSON once PYEXPR (over d) holds, or
# as it is after 10 s: the server writes its rows in group commits
# (web/auditq.c), a moment after its answers
audit_until() {
    for _ in $(seq 100); do
        audit_json >"$TMP/au-wait.json"
        [ "$(json "bool($1)" <"$TMP/au-wait.json")" = True ] && break
        sleep 0.1
    done
    cat "$TMP/au-wait.json"
}

# ---- (1) flood ----------------------------------------------------------------
t_flood() {
    $PY - "$PORT" "$HEAD_TIMEOUT" <<'PY' || return 1
import socket, subprocess, sys, time
port, head = int(sys.argv[1]), int(sys.argv[2])
def opener(src, n, data=b"GET /login HTTP/1.1\r\nHost: x\r\n"):
    out = []
    for _ in range(n):
        s = socket.socket()
        s.settimeout(1)
        try:
            s.bind((src, 0)); s.connect(("127.0.0.1", port)); s.sendall(data)
            out.append(s)
        except OSError:
            s.close()
    return out
def officer():
    t0 = time.time()
    r = subprocess.run(["curl", "-s", "-o", "/dev/null", "-w", "%{http_code}",
                        "--max-time", "15", f"http://127.0.0.1:{port}/login"],
                       capture_output=True, text=True)
    return r.stdout, time.time() - t0
def closed(socks, wait):
    n = 0
    for s in socks:
        s.settimeout(max(0.05, wait))
        try:
            n += s.recv(100) == b""
        except socket.timeout:
            pass
        except OSError:
            n += 1
    return n
ok = True
# one address, 200 idle half-open heads
one = opener("127.0.0.2", 200)
code, t = officer()
print(f"  200 idle sockets from one address: /login {code} in {t:.2f} s")
ok &= code == "200" and t < 2
# ten more addresses, 6 each, and a trickler
many = [s for i in range(3, 13) for s in opener(f"127.0.0.{i}", 6)]
trick = opener("127.0.0.20", 1, b"G")
for _ in range(int(head / 0.5) + 4):           # one byte every 0.5 s
    for s in trick:
        try: s.sendall(b"E")
        except OSError: pass
    time.sleep(0.5)
code, t = officer()
print(f"  + 60 from ten addresses and a trickler: /login {code} in {t:.2f} s")
ok &= code == "200" and t < 2
n1, n2, n3 = closed(one, 1), closed(many, 0.2), closed(trick, 0.2)
print(f"  cut after the {head} s head deadline: {n1}/{len(one)} + {n2}/{len(many)} + trickler {n3}/{len(trick)}")
ok &= n1 == len(one) and n2 == len(many) and n3 == len(trick)
for s in one + many + trick:
    s.close()
sys.exit(0 if ok else 1)
PY
    # the reaper logs just after it cuts: give it a moment
    for _ in 1 2 3 4 5 6 7 8 9 10; do
        grep -q "connections\? closed: no request within $HEAD_TIMEOUT s" "$TMP/serve.log" && return 0
        sleep 0.2
    done
    die "no reaper log line"
}

# ---- (2) guessing --------------------------------------------------------------
t_guessing() {
    $PY - "$PORT" "$TMP/guess" <<'PY' || return 1
import subprocess, sys, threading, time
port = int(sys.argv[1])
codes, stop = [], time.time() + 5
def guesser(k):
    i = 0
    while time.time() < stop:
        r = subprocess.run(["curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", "--max-time", "10",
                            "--interface", "127.0.0.5", "--data-urlencode", "user=alice",
                            "--data-urlencode", f"password=guess-{k}-{i}",
                            f"http://127.0.0.1:{port}/login"], capture_output=True, text=True)
        codes.append(r.stdout); i += 1
ts = [threading.Thread(target=guesser, args=(k,)) for k in range(8)]
[t.start() for t in ts]; [t.join() for t in ts]
checked, refused = codes.count("401"), codes.count("429")
other = len(codes) - checked - refused
print(f"  8 guessers for 5 s: {checked} passwords checked, {refused} refused (429),"
      f" {other} refused at connect (per-address limit)")
with open(sys.argv[2], "w") as f:
    f.write(f"{checked} {refused}\n")
sys.exit(0 if checked <= 4 and refused > 0 and codes.count("200") == 0 and codes.count("303") == 0 else 1)
PY
    local checked refused
    read -r checked refused <"$TMP/guess"
    # every try journalled: failed (checked) and throttled (refused)
    audit_until "sum(1 for r in d['rows'] if r['action']=='login-failed' and r['user']=='alice' and r['addr']=='127.0.0.5') >= $checked and sum(1 for r in d['rows'] if r['action']=='login-throttled' and r['user']=='alice' and r['status']==429) >= $refused" >"$TMP/a.json"
    [ "$(json "sum(1 for r in d['rows'] if r['action']=='login-failed' and r['user']=='alice' and r['addr']=='127.0.0.5')" <"$TMP/a.json")" = "$checked" ] ||
        die "login-failed rows != $checked" || return 1
    [ "$(json "sum(1 for r in d['rows'] if r['action']=='login-throttled' and r['user']=='alice' and r['status']==429)" <"$TMP/a.json")" = "$refused" ] ||
        die "login-throttled rows != $refused" || return 1
    # the real officer, from her own address, is not locked out
    local t
    t=$(login alice pw-alice-1 --interface 127.0.0.6)
    [ ${#t} = 64 ] || die "alice cannot log in from another address during the attack" || return 1
}

# ---- (3) modes -----------------------------------------------------------------
t_modes() {
    local f m
    for f in "$WH" "$WH/pdf"; do
        m=$(stat -c %a "$f"); [ "$m" = 700 ] || die "$f: folder mode $m" || return 1
    done
    for f in "$WH/catalog.db" "$WH/pdf/$A1.pdf" "$WH"/catalog.db-wal; do
        [ -e "$f" ] || continue
        m=$(stat -c %a "$f"); [ "$m" = 600 ] || die "$f: file mode $m" || return 1
    done
    [ -z "$(find "$WH" -perm /0027)" ] || die "open to others: $(find "$WH" -perm /0027 | head -3)" || return 1
    "$SOHOA" verify --warehouse "$WH" >/dev/null 2>"$TMP/v.err" || die "verify" || return 1
    grep -q warning "$TMP/v.err" && die "verify warns on a private warehouse" && return 1
    chmod o+r "$WH/pdf/$A1.pdf"
    "$SOHOA" verify --warehouse "$WH" >/dev/null 2>"$TMP/v.err"
    chmod o-r "$WH/pdf/$A1.pdf"
    grep -q "warning: .*$A1.pdf is open to other accounts (mode 0604)" "$TMP/v.err" ||
        die "verify: no warning on a 0604 PDF: $(cat "$TMP/v.err")" || return 1
    # a setgid warehouse (shared with a service group): group-readable
    mkdir -m 2750 "$TMP/shared" && mkdir -p "$TMP/bs" && cp -r samples/batch/$A1 "$TMP/bs/" &&
        "$SOHOA" run --warehouse "$TMP/shared/wh" "$TMP/bs" >/dev/null 2>&1 || die "run in a setgid folder" || return 1
    [ "$(stat -c %a "$TMP/shared/wh/catalog.db")" = 640 ] && [ "$(stat -c %a "$TMP/shared/wh/pdf")" = 2750 ] ||
        die "setgid warehouse: $(stat -c '%n %a' "$TMP/shared/wh/catalog.db" "$TMP/shared/wh/pdf")" || return 1
}

# ---- (4) every read of content journalled, refusals too -------------------------
t_audit_reads() {
    local t
    t=$(login alice pw-alice-1)
    [ ${#t} = 64 ] || die "login" || return 1
    [ "$(code "$t" "$U/view/$A1/1")" = 200 ] && [ "$(code "$t" "$U/api/page/$A1/1?q=dat")" = 200 ] &&
    [ "$(code "$t" "$U/page/$A1/1.png")" = 200 ] && [ "$(code "$t" "$U/pdf/$A1")" = 200 ] || die "reads" || return 1
    as "$t" -G --data-urlencode "q=dat dai" --data-urlencode agency=A --data-urlencode prefix=HS-2024 \
        --data-urlencode "type=Quyết định" --data-urlencode year=2024 "$U/api/search" >/dev/null
    for p in "/view/$B1/1" "/api/page/$B1/1" "/page/$B1/1.png" "/pdf/$B1" "/pdf/HS-9999-NOPE"; do
        [ "$(code "$t" "$U$p")" = 404 ] || die "$p not 404" || return 1
    done
    audit_until "any(r['dossier']=='HS-9999-NOPE' for r in d['rows'])" >"$TMP/a.json"
    $PY - "$TMP/a.json" <<'PY' || return 1
import json, sys
rows = [r for r in json.load(open(sys.argv[1]))["rows"] if r["user"] == "alice"]
def has(**kw):
    return any(all(r.get(k) == v for k, v in kw.items()) for r in rows)
ok = True
for act in ("view", "words", "page", "pdf"):
    if not has(action=act, dossier="HS-2024-00001", status=200):
        print("  no", act, "row"); ok = False
    if not has(action=act, dossier="HS-2025-B0001", status=404):
        print("  no refused", act, "row for B"); ok = False
if not has(action="pdf", dossier="HS-9999-NOPE", status=404):
    print("  no row for a guessed id"); ok = False
s = [r for r in rows if r["action"] == "search" and r["query"] == "dat dai"]
d = json.loads(s[-1]["detail"]) if s and s[-1]["detail"] else {}
if d != {"agency": "A", "prefix": "HS-2024", "type": "Quyết định", "year": 2024}:
    print("  search filters:", d); ok = False
sys.exit(0 if ok else 1)
PY
}

# ---- (5) lists per agency ----------------------------------------------------------
t_types() {
    local a b
    a=$(login alice pw-alice-1 --interface 127.0.0.7); b=$(login bob pw-bob-1-x --interface 127.0.0.7)
    as "$a" "$U/" | grep -q 'Loại riêng của A' || die "alice does not see her own type" || return 1
    as "$b" "$U/" | grep -q 'Loại riêng của A' && die "bob is offered agency A's document type" && return 1
    as "$b" "$U/" | grep -q '<option value="A"' && die "bob is offered agency A" && return 1
    return 0
}

# ---- (6) forged log lines, terminal output -------------------------------------------
t_log_forgery() {
    local t
    t=$(login alice pw-alice-1 --interface 127.0.0.8)
    as "$t" -o /dev/null "$U/view/x%0a2099-01-01T00:00:00%20info%20%20FORGED%20admin%20login/1"
    as "$t" -o /dev/null "$U/pdf/y%1b%5b2J%c2%9bZ"
    grep -q '^2099-01-01T00:00:00 info  FORGED' "$TMP/serve.log" && die "a forged log line" && return 1
    grep -q 'x\\n2099-01-01' "$TMP/serve.log" || die "the %0a not shown escaped" || return 1
    LC_ALL=C grep -q $'\x1b' "$TMP/serve.log" && die "raw ESC in the log" && return 1
    LC_ALL=C grep -q $'\xc2\x9b' "$TMP/serve.log" && die "raw C1 in the log" && return 1
    # sohoa search: the query echoed escaped
    "$SOHOA" search --warehouse "$WH" $'dat\x1b[2J\xc2\x9b' >"$TMP/s.out" 2>&1
    LC_ALL=C grep -q $'\x1b\|\xc2\x9b' "$TMP/s.out" && die "raw ESC/C1 from sohoa search" && return 1
    grep -q 'dat\\x1b\[2J\\u009b' "$TMP/s.out" || die "search echo: $(head -1 "$TMP/s.out")" || return 1
    # sohoa audit: a query with DEL, ESC and C1
    as "$t" -o /dev/null -G --data-urlencode $'q=dai\x7f\x1b]0;x\x07\xc2\x85' "$U/api/search"
    audit_until "any((r['query'] or '').startswith('dai' + chr(127)) for r in d['rows'])" >/dev/null
    "$SOHOA" audit --warehouse "$WH" --user alice >"$TMP/au.out"
    LC_ALL=C grep -q $'\x7f\|\x1b\|\x07\|\xc2\x85' "$TMP/au.out" && die "raw control characters from sohoa audit" && return 1
    grep -q 'dai\\x7f\\x1b\]0;x\\x07\\u0085' "$TMP/au.out" || die "audit line: $(grep dai "$TMP/au.out" | tail -1)" || return 1
    # dates are real dates
    "$SOHOA" search --warehouse "$WH" --from 2024-13-45 dat >/dev/null 2>&1 && die "--from 2024-13-45 accepted" && return 1
    [ "$(code "$t" "$U/api/search?q=dat&from=2024-02-30")" = 400 ] || die "from=2024-02-30 accepted" || return 1
    "$SOHOA" serve --warehouse "$WH" --head-timeout 0 >/dev/null 2>&1 && die "--head-timeout 0 accepted" && return 1
    return 0
}

# ---- (7) the audit cannot be edited silently -------------------------------------------
t_audit_chain() {
    "$SOHOA" audit --warehouse "$WH" --verify >"$TMP/v.out" || die "chain broken: $(cat "$TMP/v.out")" || return 1
    grep -q 'audit chain intact: [0-9]* rows, last hash [0-9a-f]\{64\}' "$TMP/v.out" || die "$(cat "$TMP/v.out")" || return 1
    # a copy of the warehouse's two databases; the journal's is edited
    mkdir -p "$TMP/copy"
    cp "$WH/catalog.db" "$TMP/copy/catalog.db"
    [ -e "$WH/catalog.db-wal" ] && cp "$WH/catalog.db-wal" "$TMP/copy/catalog.db-wal"
    cp "$WH/audit.db" "$TMP/copy.db"
    [ -e "$WH/audit.db-wal" ] && cp "$WH/audit.db-wal" "$TMP/copy.db-wal"
    sqlite3 "$TMP/copy.db" "UPDATE audit SET user='nobody' WHERE id=3" 2>"$TMP/e" && die "UPDATE accepted" && return 1
    grep -q 'append-only' "$TMP/e" || die "UPDATE: $(cat "$TMP/e")" || return 1
    sqlite3 "$TMP/copy.db" "DELETE FROM audit WHERE id=3" 2>/dev/null && die "DELETE accepted" && return 1
    # someone who drops the triggers: the edited row is named
    sqlite3 "$TMP/copy.db" "DROP TRIGGER audit_no_update; UPDATE audit SET query='harmless' WHERE id=4" || return 1
    mv "$TMP/copy.db" "$TMP/copy/audit.db"
    "$SOHOA" audit --warehouse "$TMP/copy" --verify >"$TMP/v.out"
    [ $? = 1 ] && grep -q 'BROKEN at row 4' "$TMP/v.out" || die "verify after an edit: $(cat "$TMP/v.out")" || return 1
}

# ---- smaller: cookies, Origin, proxy, sessions ----------------------------------------
t_cookies() {
    local t t2 c
    t=$(login alice pw-alice-1 --interface 127.0.0.9)
    t2=$(login bob pw-bob-1-x --interface 127.0.0.9)
    [ "$(code "$t" "$U/api/search?q=dat")" = 200 ] || die "one cookie" || return 1
    c=$(curl -s -o /dev/null -w '%{http_code}' -H "Cookie: sohoa_session=$t2; sohoa_session=$t" "$U/api/search?q=dat")
    [ "$c" = 401 ] || die "two session cookies → $c (want 401)" || return 1
    c=$(curl -s -o /dev/null -w '%{http_code}' -H "Cookie: sohoa_session=$t2" -H "Cookie: sohoa_session=$t" "$U/api/search?q=dat")
    [ "$c" = 401 ] || die "two Cookie headers → $c (want 401)" || return 1
    # Origin: scheme compared (http here)
    c=$(as "$t" -o /dev/null -w '%{http_code}' -H "Origin: https://127.0.0.1:$PORT" -X POST "$U/logout")
    [ "$c" = 403 ] || die "https Origin on an http site → $c" || return 1
    # X-Forwarded-For is not believed without --trusted-proxy
    local v0
    v0=$(audit_json | json "sum(1 for r in d['rows'] if r['action']=='view')")
    as "$t" -o /dev/null -H 'X-Forwarded-For: 203.0.113.9' "$U/view/$A1/1"
    audit_until "sum(1 for r in d['rows'] if r['action']=='view') > $v0" | json "[r['addr'] for r in d['rows'] if r['action']=='view'][-1]" | grep -qx 127.0.0.1 ||
        die "X-Forwarded-For believed from anyone" || return 1
    # a second server: secure cookies, a trusted proxy
    local p2
    p2=$(start_server "$TMP/serve2.log" --secure-cookies --trusted-proxy 127.0.0.1) || return 1
    local h
    h=$(curl -s -D - -o /dev/null --data-urlencode "user=bob" --data-urlencode "password=pw-bob-1-x" \
        -H 'X-Forwarded-For: 198.51.100.1, 203.0.113.7' "http://127.0.0.1:$p2/login")
    echo "$h" | grep -qi '^Set-Cookie: __Host-sohoa_session=[0-9a-f]\{64\}; HttpOnly; SameSite=Strict; Path=/; Max-Age=[0-9]*; Secure' ||
        die "secure cookie: $(echo "$h" | grep -i set-cookie)" || return 1
    local tok
    tok=$(echo "$h" | sed -n 's/^Set-Cookie: __Host-sohoa_session=\([0-9a-f]*\);.*/\1/p')
    [ "$(curl -s -o /dev/null -w '%{http_code}' -H "Cookie: sohoa_session=$tok" "http://127.0.0.1:$p2/api/search?q=dat")" = 401 ] ||
        die "the plain cookie name accepted with --secure-cookies" || return 1
    [ "$(curl -s -o /dev/null -w '%{http_code}' -H "Cookie: __Host-sohoa_session=$tok" "http://127.0.0.1:$p2/api/search?q=dat")" = 200 ] ||
        die "__Host- cookie refused" || return 1
    c=$(curl -s -o /dev/null -w '%{http_code}' -H "Cookie: __Host-sohoa_session=$tok" -H "Origin: http://127.0.0.1:$p2" -X POST "http://127.0.0.1:$p2/logout")
    [ "$c" = 403 ] || die "http Origin behind an https proxy → $c" || return 1
    audit_until "any(r['action']=='login' and r['user']=='bob' and r['addr']=='203.0.113.7' for r in d['rows'])" |
        json "[r['addr'] for r in d['rows'] if r['action']=='login' and r['user']=='bob'][-1]" | grep -qx 203.0.113.7 ||
        die "the proxy's X-Forwarded-For not used" || return 1
}

# ---- run ------------------------------------------------------------------------------
if ! command -v curl >/dev/null || ! command -v sqlite3 >/dev/null; then
    echo "web_attack: curl or sqlite3 missing"; echo "web_attack: 0 passed, 0 failed, 1 skipped"; exit 0
fi
setup || { echo "web_attack: set-up failed"; echo "web_attack: 0 passed, 1 failed, 0 skipped"; exit 1; }
PORT=$(start_server "$TMP/serve.log" --head-timeout $HEAD_TIMEOUT --per-ip-connections 8 \
       --max-connections 96) || { echo "web_attack: 0 passed, 1 failed, 0 skipped"; exit 1; }
U=http://127.0.0.1:$PORT
for t in flood guessing modes audit_reads types log_forgery audit_chain cookies; do
    [ $# -gt 0 ] && [[ $t != *"$1"* ]] && continue
    t_$t >"$TMP/out" 2>&1
    rc=$?
    if [ $rc = 0 ]; then
        echo "ok   web_attack/$t"; pass=$((pass + 1))
    else
        echo "FAIL web_attack/$t"; fail=$((fail + 1))
    fi
    sed 's/^/    /' "$TMP/out"
done
echo "web_attack: $pass passed, $fail failed, $skip skipped"
[ $fail = 0 ]
