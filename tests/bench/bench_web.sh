#!/usr/bin/env bash
# bench_web.sh — `make bench-web`: the real `sohoa serve` under wrk.
#
#   SOHOA=build/sohoa BENCH_SEARCH=build/bench_search bash tests/bench/bench_web.sh
#
# Variables (make passes them through):
#   BENCH_WEB_PAGES    pages of the bench catalog (default 200000)
#   BENCH_WEB_DIR      its folder (default /tmp/sohoa-bench-web); a catalog
#                      already there is reused (grown to PAGES if smaller)
#   BENCH_WEB_SECONDS  seconds per level (default 20)
#   BENCH_WEB_LEVELS   connection counts (default "1 4 16 64")
#   BENCH_WEB_THREADS  wrk threads (default 2)
#   BENCH_WEB_DOCS     1 (default): a catalog without documents gets five
#                      per dossier (origin 'bench'), so the type filter and
#                      the documents of the hits have something to find
#   BENCH_WEB_LOG      a file to keep the server's log in (each request
#                      with its time: the slow ones)
#   BENCH_WEB_OPTIMIZE 1 (default): the catalog's full-text index merged
#                      into one b-tree first, as the nightly `sohoa
#                      optimize` leaves it (0: as built)
#   BENCH_WEB_PERF     1: also `perf record -g` the server during the 16
#                      connection level (reports in BENCH_WEB_PERF_OUT,
#                      default /tmp: perf-16.txt, perf-16-children.txt)
#
# Set-up: the catalog is made (or reused) by bench_search --keep --reuse;
# `sohoa serve --warehouse DIR` needs only DIR/catalog.db (it adds the
# web tables).  Officers are (re)created with `sohoa user`: benchall
# cleared for all 20 agencies AG00..AG19, bench1 (AG03), bench2 (AG05,
# AG11), bench3 (AG07, AG08, AG15), each logged in over HTTP for a
# session cookie.  A sample search is checked to hold hits before wrk runs
# (tests/bench/bench_web.lua: the query mix, the counting).
#
# Per level: searches/s, p50/p95/p99/max latency (wrk's), errors, non-200
# answers, the share of checked answers that held hits, the server's CPU
# seconds per search (utime+stime of /proc/PID/stat around the level) and
# the audit rows the server journalled for the level.  Figures only;
# nothing is asserted — except that the bench measures real searches: it
# stops if the sample search has no hits.
set -uo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
source tests/serve_port.sh
SOHOA=${SOHOA:-$ROOT/build/sohoa}
BENCH_SEARCH=${BENCH_SEARCH:-$ROOT/build/bench_search}
PAGES=${BENCH_WEB_PAGES:-200000}
DIR=${BENCH_WEB_DIR:-/tmp/sohoa-bench-web}
SECS=${BENCH_WEB_SECONDS:-20}
LEVELS=${BENCH_WEB_LEVELS:-1 4 16 64}
THREADS=${BENCH_WEB_THREADS:-2}
DOCS=${BENCH_WEB_DOCS:-1}
PERF=${BENCH_WEB_PERF:-0}
PERF_OUT=${BENCH_WEB_PERF_OUT:-/tmp}
LUA=$ROOT/tests/bench/bench_web.lua
PW=bench-web-password-1
SERVER_PID=
TMP=$(mktemp -d /tmp/sohoa-bench-web-run-XXXXXX)
cleanup() {
    [ -n "$SERVER_PID" ] && kill "$SERVER_PID" 2>/dev/null && wait "$SERVER_PID" 2>/dev/null
    [ -n "${BENCH_WEB_LOG:-}" ] && cp "$TMP/serve.log" "$BENCH_WEB_LOG" 2>/dev/null
    rm -rf "$TMP"
}
trap cleanup EXIT
die() { echo "bench-web: $*" >&2; exit 1; }

command -v wrk >/dev/null || die "wrk missing (apt-get install wrk, or make deps as root)"
command -v sqlite3 >/dev/null || die "sqlite3 missing"
[ -x "$SOHOA" ] && [ -x "$BENCH_SEARCH" ] || die "build sohoa and bench_search first"

# ---- the catalog ------------------------------------------------------------
mkdir -p "$DIR"
echo "bench-web: catalog of $PAGES pages in $DIR"
OPT=
[ "${BENCH_WEB_OPTIMIZE:-1}" = 1 ] && OPT=--optimize
"$BENCH_SEARCH" --pages "$PAGES" --dir "$DIR" --keep --reuse --queries 1 $OPT >"$TMP/build.log" 2>&1 ||
    { cat "$TMP/build.log"; die "bench_search failed"; }
grep -E "^(build|optimize):" "$TMP/build.log"
DB=$DIR/catalog.db
if [ "$DOCS" = 1 ] && [ "$(sqlite3 "$DB" 'SELECT count(*) FROM document')" = 0 ]; then
    # five documents of ten pages per dossier, of four types
    sqlite3 -cmd ".timeout 10000" "$DB" "
      WITH k(n) AS (VALUES(1),(2),(3),(4),(5))
      INSERT INTO document(dossier, ordinal, first_page, last_page, type_name,
        code_number, code_notation, issued_date, subject, origin)
      SELECT d.id, k.n, (k.n - 1) * 10 + 1, k.n * 10,
        CASE (k.n + d.rowid) % 4 WHEN 0 THEN 'Quyết định' WHEN 1 THEN 'Tờ trình'
          WHEN 2 THEN 'Công văn' ELSE 'Báo cáo' END,
        CAST(k.n * 7 + d.rowid % 100 AS TEXT), 'QĐ-UBND',
        printf('%s-%02d-%02d', substr(d.id, 4, 4), 1 + (k.n * 2) % 12, 1 + d.rowid % 28),
        'Văn bản ' || k.n || ' của hồ sơ ' || d.id, 'bench'
      FROM dossier d, k;" || die "cannot add the bench documents"
    echo "bench-web: added $(sqlite3 "$DB" 'SELECT count(*) FROM document') bench documents"
fi

# ---- officers -----------------------------------------------------------------
ALL=$(printf 'AG%02d,' $(seq 0 19)); ALL=${ALL%,}
OFFICERS="benchall:$ALL bench1:AG03 bench2:AG05,AG11 bench3:AG07,AG08,AG15"
for o in $OFFICERS; do
    name=${o%%:*} ags=${o#*:}
    "$SOHOA" user remove "$name" --warehouse "$DIR" >/dev/null 2>&1
    echo "$PW" | "$SOHOA" user add "$name" --agency "$ags" --warehouse "$DIR" >/dev/null 2>"$TMP/user.err" ||
        { cat "$TMP/user.err"; die "cannot add user $name"; }
done

# ---- the server -----------------------------------------------------------------
"$SOHOA" serve --warehouse "$DIR" --listen 127.0.0.1:0 --max-connections 512 \
    --per-ip-connections 256 >"$TMP/serve.log" 2>&1 &
SERVER_PID=$!
PORT=$(serve_port "$TMP/serve.log" "$SERVER_PID" 300)
[ -n "$PORT" ] || { cat "$TMP/serve.log"; die "server did not start"; }
U=http://127.0.0.1:$PORT
login() {
    curl -s -o /dev/null -D - --data-urlencode "user=$1" --data-urlencode "password=$PW" "$U/login" |
        sed -n 's/^Set-Cookie: sohoa_session=\([0-9a-f]\{64\}\);.*/\1/p' | tr -d '\r'
}
TOKENS=
for o in $OFFICERS; do
    t=$(login "${o%%:*}")
    [ ${#t} = 64 ] || die "login of ${o%%:*} failed"
    TOKENS="$TOKENS$t:${o#*:};"
done
export BENCH_TOKENS=$TOKENS
ALLTOK=${TOKENS%%:*}
curl -s -H "Cookie: sohoa_session=$ALLTOK" -G --data-urlencode "q=hồ sơ" "$U/api/search" >"$TMP/sample.json"
python3 - "$TMP/sample.json" <<'PY' || { head -c 400 "$TMP/sample.json"; echo; die "the sample search has no hits: nothing real to measure"; }
import json, sys
d = json.load(open(sys.argv[1]))
assert d["hits"] and d["hits"][0]["snippet"], d
print(f"bench-web: sample search 'hồ sơ' as benchall: {d['total']} pages, "
      f"{len(d['hits'])} hits with snippets")
PY

cpu_ticks() { awk '{print $14 + $15}' "/proc/$SERVER_PID/stat"; }
audit_rows() { sqlite3 -cmd ".timeout 10000" "$DIR/audit.db" " SELECT coalesce(max(id),0) FROM audit" | tail -1; }
HZ=$(getconf CLK_TCK)

# warm-up: the first searches read the index from disk
wrk -t1 -c2 -d3s -s "$LUA" "$U" >/dev/null 2>&1

printf '\nbench-web: %s pages, %s s per level, wrk -t%s, server pid %s (2 cores shared with wrk)\n' \
    "$PAGES" "$SECS" "$THREADS" "$SERVER_PID"
printf '%6s %10s %9s %9s %9s %9s %7s %7s %8s %10s %9s\n' conns searches/s p50_ms p95_ms p99_ms max_ms errors non200 hits% cpu_ms/srch audit
for c in $LEVELS; do
    t=$THREADS; [ "$c" -lt "$t" ] && t=$c
    a0=$(audit_rows); c0=$(cpu_ticks)
    if [ "$PERF" = 1 ] && [ "$c" = 16 ] && command -v perf >/dev/null; then
        perf record ${BENCH_WEB_PERF_CG:--g} -o "$TMP/perf.data" -p "$SERVER_PID" -- sleep "$SECS" >/dev/null 2>&1 &
        PERF_PID=$!
    fi
    wrk -t"$t" -c"$c" -d"${SECS}s" --timeout 5s -s "$LUA" "$U" >"$TMP/wrk-$c.out" 2>&1
    c1=$(cpu_ticks)
    if [ -n "${PERF_PID:-}" ]; then
        wait "$PERF_PID"
        perf report -i "$TMP/perf.data" --no-children --percent-limit 1 --stdio \
            >"$PERF_OUT/perf-16.txt" 2>/dev/null
        perf report -i "$TMP/perf.data" --children --percent-limit 3 --stdio -g none \
            >"$PERF_OUT/perf-16-children.txt" 2>/dev/null
        PERF_PID=
    fi
    sleep 0.5   # the audit writer's last group commit
    a1=$(audit_rows)
    r() { sed -n "s/^bench-web-result $1 //p" "$TMP/wrk-$c.out"; }
    req=$(r requests)
    [ -n "$req" ] || { cat "$TMP/wrk-$c.out"; die "wrk printed no result at $c connections"; }
    errs=$(( $(r err_connect) + $(r err_read) + $(r err_write) + $(r err_timeout) ))
    awk -v c="$c" -v req="$req" -v s="$(r seconds)" -v p50="$(r p50_ms)" -v p95="$(r p95_ms)" \
        -v p99="$(r p99_ms)" -v mx="$(r max_ms)" -v e="$errs" -v to="$(r err_timeout)" \
        -v n2="$(r non200)" -v chk="$(r checked)" -v wh="$(r withhits)" \
        -v cpu="$(( c1 - c0 ))" -v hz="$HZ" -v au="$(( a1 - a0 ))" 'BEGIN {
        printf "%6d %10.1f %9s %9s %9s %9s %4d/%-3d %6d %7.0f%% %10.1f %9d\n",
            c, req / s, p50, p95, p99, mx, e, to, n2, chk ? 100 * wh / chk : 0,
            req ? 1000 * cpu / hz / req : 0, au }'
done
echo "(errors = connect+read+write+timeouts / of which timeouts; hits% = share of checked 200"
echo " answers holding hits; cpu = the server's utime+stime per search; audit = rows journalled)"
[ "$PERF" = 1 ] && [ -f "$PERF_OUT/perf-16.txt" ] && echo "perf profile at 16 connections: $PERF_OUT/perf-16.txt, $PERF_OUT/perf-16-children.txt"
grep -c ' -> 5[0-9][0-9] ' "$TMP/serve.log" | sed 's/^/bench-web: server answers 5xx: /'
exit 0
