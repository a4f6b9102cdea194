#!/usr/bin/env bash
# shards.sh — two shard warehouses searched together give the hits (dossier,
# page, order, score, snippet) and totals of their merge: through `sohoa
# search --warehouse A --warehouse B` and through `sohoa serve` with both.
#
#   SOHOA=build/sohoa MKSHARD=build/tools/mkshard bash tests/shards.sh [NAME]
#
# The shards are generated (tests/shards/mkshard.c: a few hundred pages of
# Vietnamese words, no OCR) with different dossier ids and seeds; page 1 of
# every dossier is the same sentence, so cross-shard ties are tested too.
# `sohoa merge --into M A B` makes the reference.  Sizes stay under 1000
# matches and 500 pages a word, where the result must be the merge's
# exactly (index/shards.h).  Each test is a function t_NAME; the script
# ends with "shards: N passed, N failed".
# shellcheck disable=SC2317  # test functions are called through their names
set -uo pipefail
cd "$(dirname "$0")/.." || exit 2
ROOT=$PWD
source tests/serve_port.sh
SOHOA=${SOHOA:-$ROOT/build/sohoa}
MKSHARD=${MKSHARD:-$ROOT/build/tools/mkshard}
PY=/usr/bin/python3
TMP=$(mktemp -d /tmp/sohoa-shards-XXXXXX)
PIDS=()
cleanup() {
    local p
    for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done
    for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null; done
    rm -rf "$TMP"
}
trap cleanup EXIT
pass=0 fail=0
A=$TMP/shard-a B=$TMP/shard-b M=$TMP/merged

die() { echo "  $*" >&2; return 1; }

# Queries: words with and without marks, a name, a quoted phrase, several
# words, a word typed with its old tone place (hoà), nothing found.
QUERIES=("dat dai" "đất đai" "Lương Thịnh" "luong thinh" '"giao đất"'
         "quyết định thu hồi" "Nguyễn Văn An" "thuy" "Lê Thị Hoà"
         "hồ sơ lưu trữ" "khongcotu")
# Filters (one per search, with every query): none, an agency, the year
# in the id, an id prefix, a document type, a page of results further on.
FILTERS=("" "--agency STNMT" "--year 2024" "--prefix HS-2023" \
         "--type quyet dinh" "--offset 5 --limit 7")

cat >"$TMP/cmp.py" <<'PY'
import json, sys
# What must be the same: the total, and every hit's dossier, page, order,
# score, snippet, exact flag, agency and document (not the PDF's path,
# which is the merged warehouse's in one and the shard's in the other).
KEYS = ("dossier", "page", "score", "snippet", "exact", "agency", "document")
def norm(path):
    d = json.load(open(path))
    return d["total"], d.get("approx", False), [tuple(json.dumps(h.get(k), sort_keys=True) for k in KEYS) for h in d["hits"]]
cmd = sys.argv[1]
if cmd == "same":
    a, b = norm(sys.argv[2]), norm(sys.argv[3])
    if a != b:
        print(f"  total {a[0]} vs {b[0]}, approx {a[1]} vs {b[1]}, {len(a[2])} vs {len(b[2])} hits")
        for i, (x, y) in enumerate(zip(a[2], b[2])):
            if x != y:
                print(f"  first difference at hit {i + 1}: {x[:3]} vs {y[:3]}")
                break
        sys.exit(1)
    print(a[0])
elif cmd == "ties":     # a run of equal scores across both shards, B's first
    d = json.load(open(sys.argv[2]))
    h = [x for x in d["hits"] if x["page"] == 1]
    same = [x for x in h if x["score"] == h[0]["score"]]
    ids = [x["dossier"] for x in same]
    b = [i for i in ids if i.startswith("HS-2024-B")]
    a = [i for i in ids if i.startswith("HS-2023-A")]
    want = sorted(b, reverse=True) + sorted(a, reverse=True)
    if not a or not b or ids != want:
        print(f"  tie order {ids}, want {want}")
        sys.exit(1)
elif cmd == "scores":   # the hits of one shard alone score otherwise
    one, both = json.load(open(sys.argv[2])), json.load(open(sys.argv[3]))
    s1 = {(h["dossier"], h["page"]): h["score"] for h in one["hits"]}
    diff = [k for h in both["hits"] for k in [(h["dossier"], h["page"])] if k in s1 and s1[k] != h["score"]]
    if not diff:
        print("  the shard alone scores its pages as all shards together")
        sys.exit(1)
elif cmd == "field":
    d = json.load(open(sys.argv[2]))
    print(eval(sys.argv[3]))
PY
cmp_py() { $PY "$TMP/cmp.py" "$@"; }

setup() {
    [ -f "$TMP/setup.done" ] && return 0
    "$MKSHARD" --dir "$A" --prefix HS-2023-A --seed 11 --dossiers 6 --pages 20 &&
        "$MKSHARD" --dir "$B" --prefix HS-2024-B --seed 12 --dossiers 6 --pages 20 ||
        die "mkshard failed" || return 1
    "$SOHOA" merge --quiet --into "$M" "$A" "$B" 2>"$TMP/merge.log" ||
        { cat "$TMP/merge.log"; die "merge failed"; } || return 1
    touch "$TMP/setup.done"
}

# The CLI: every query with every filter, merged vs both shards.
t_cli_same_as_merge() {
    setup || return 1
    local q f n=0 ta tb
    for q in "${QUERIES[@]}"; do
        for f in "${FILTERS[@]}"; do
            # shellcheck disable=SC2086  # the filter is words
            "$SOHOA" search --warehouse "$M" --json --limit 1000 $f "$q" >"$TMP/m.json" ||
                die "search merged '$q' $f: exit $?" || return 1
            # shellcheck disable=SC2086
            "$SOHOA" search --warehouse "$A" --warehouse "$B" --json --limit 1000 $f "$q" >"$TMP/s.json" ||
                die "search shards '$q' $f: exit $?" || return 1
            cmp_py same "$TMP/m.json" "$TMP/s.json" >/dev/null ||
                { cmp_py same "$TMP/m.json" "$TMP/s.json"; die "'$q' $f: shards differ from the merge"; } ||
                return 1
            n=$((n + 1))
        done
    done
    # the searches found something (a test of nothing would pass too)
    "$SOHOA" search --warehouse "$A" --warehouse "$B" --json --limit 1000 "đất đai" >"$TMP/s.json"
    ta=$(cmp_py field "$TMP/s.json" 'd["total"]')
    "$SOHOA" search --warehouse "$A" --warehouse "$B" --json --limit 1000 --agency STNMT "Lương Thịnh" >"$TMP/s.json"
    tb=$(cmp_py field "$TMP/s.json" 'd["total"]')
    [ "$ta" -gt 50 ] && [ "$tb" -gt 3 ] || die "too few hits to compare ($ta, $tb)" || return 1
    echo "  $n searches the same through the CLI"
}

# Page 1 of every dossier is the same text: equal scores in both shards,
# which the merge orders by its page ids (B's after A's, newest first).
t_cli_tie_order() {
    setup || return 1
    "$SOHOA" search --warehouse "$A" --warehouse "$B" --json --limit 1000 '"giao đất cho hộ gia đình"' >"$TMP/s.json" &&
        cmp_py ties "$TMP/s.json" || die "cross-shard ties" || return 1
}

# Without the summed statistics a shard would score its pages otherwise:
# the equality above is the statistics' doing.
t_cli_global_statistics() {
    setup || return 1
    "$SOHOA" search --warehouse "$A" --json --limit 1000 "thuy" >"$TMP/a.json" &&
        "$SOHOA" search --warehouse "$A" --warehouse "$B" --json --limit 1000 "thuy" >"$TMP/s.json" &&
        cmp_py scores "$TMP/a.json" "$TMP/s.json" || die "statistics" || return 1
}

t_cli_missing_shard() {
    setup || return 1
    local out rc
    out=$("$SOHOA" search --warehouse "$A" --warehouse "$TMP/nowhere" dat 2>&1)
    rc=$?
    [ "$rc" = 2 ] || die "missing shard: exit $rc" || return 1
    echo "$out" | grep -q "$TMP/nowhere" || die "missing shard not named: $out" || return 1
    # one folder given twice would count its pages twice: refused
    out=$("$SOHOA" search --warehouse "$A" --warehouse "$A/." dat 2>&1)
    rc=$?
    [ "$rc" = 2 ] && echo "$out" | grep -q "given twice" ||
        die "a shard given twice: exit $rc: $out" || return 1
}

# ---- the site -----------------------------------------------------------

start_server() {   # start_server LOG WAREHOUSE... ; sets PORT
    local log=$1
    shift
    local args=() w
    for w in "$@"; do args+=(--warehouse "$w"); done
    "$SOHOA" serve "${args[@]}" --listen 127.0.0.1:0 >"$log" 2>&1 &
    PIDS+=($!)
    PORT=$(serve_port "$log" $!)
    [ -n "$PORT" ] || { cat "$log"; die "server did not start"; }
}
login() {   # login PORT USER PASSWORD
    curl -s -o /dev/null -D - --data-urlencode "user=$2" \
        --data-urlencode "password=$3" "http://127.0.0.1:$1/login" |
        sed -n 's/^Set-Cookie: sohoa_session=\([0-9a-f]\{64\}\);.*/\1/p' | tr -d '\r'
}
get() { local port=$1 tok=$2; shift 2; curl -s -H "Cookie: sohoa_session=$tok" "$@" "http://127.0.0.1:$port$URLPATH"; }

web_setup() {
    [ -f "$TMP/web.done" ] && return 0
    setup || return 1
    local w
    for w in "$A" "$M"; do
        { echo "pw-root-1x" | "$SOHOA" user add root --admin --warehouse "$w" &&
          echo "pw-alice-1" | "$SOHOA" user add alice --agency STNMT --warehouse "$w"; } \
            2>>"$TMP/users.log" || { cat "$TMP/users.log"; die "cannot add users"; } || return 1
    done
    start_server "$TMP/serve-shards.log" "$A" "$B" || return 1
    PS=$PORT
    start_server "$TMP/serve-merged.log" "$M" || return 1
    PM=$PORT
    echo "$PS $PM" >"$TMP/web.done"
}
web_ports() { read -r PS PM <"$TMP/web.done"; }

# /api/search of the two shards served together = of the merge served, for
# an admin and for an officer of one agency (the access rule).
t_web_same_as_merge() {
    web_setup && web_ports || return 1
    local user pw ts tm q f n=0
    for user in root alice; do
        pw=pw-root-1x
        [ "$user" = alice ] && pw=pw-alice-1
        ts=$(login "$PS" $user $pw) && tm=$(login "$PM" $user $pw)
        [ -n "$ts" ] && [ -n "$tm" ] || die "login $user failed" || return 1
        for q in "${QUERIES[@]}"; do
            for f in "" "agency=STNMT" "type=Quyết định" "offset=3&limit=5"; do
                URLPATH=/api/search get "$PS" "$ts" -G --data-urlencode "q=$q" \
                    ${f:+--data-urlencode "$f"} -d limit=100 >"$TMP/ws.json"
                URLPATH=/api/search get "$PM" "$tm" -G --data-urlencode "q=$q" \
                    ${f:+--data-urlencode "$f"} -d limit=100 >"$TMP/wm.json"
                [ "$f" = "offset=3&limit=5" ] && {
                    URLPATH=/api/search get "$PS" "$ts" -G --data-urlencode "q=$q" -d offset=3 -d limit=5 >"$TMP/ws.json"
                    URLPATH=/api/search get "$PM" "$tm" -G --data-urlencode "q=$q" -d offset=3 -d limit=5 >"$TMP/wm.json"
                }
                cmp_py same "$TMP/wm.json" "$TMP/ws.json" >/dev/null ||
                    { cmp_py same "$TMP/wm.json" "$TMP/ws.json"; head -c 300 "$TMP/ws.json";
                      die "$user '$q' $f: web shards differ from the merge"; } || return 1
                n=$((n + 1))
            done
        done
        # the officer sees her agency only
        URLPATH=/api/search get "$PS" "$ts" -G --data-urlencode "q=Lương Thịnh" -d limit=100 >"$TMP/ws.json"
        if [ $user = alice ]; then
            [ "$(cmp_py field "$TMP/ws.json" 'sorted({h["agency"] for h in d["hits"]})')" = "['STNMT']" ] ||
                die "alice sees other agencies" || return 1
        fi
    done
    echo "  $n searches the same through the site"
}

# A hit of the second shard opens its page and PDF there; the same URL
# without the shard, another agency's page, a shard that is not one: 404.
t_web_open_hit_in_its_shard() {
    web_setup && web_ports || return 1
    local t ta pdf id page code
    t=$(login "$PS" root pw-root-1x) && ta=$(login "$PS" alice pw-alice-1)
    URLPATH=/api/search get "$PS" "$t" -G --data-urlencode "q=Lương Thịnh" -d limit=100 >"$TMP/ws.json"
    pdf=$(cmp_py field "$TMP/ws.json" '[h["pdf"] for h in d["hits"] if h["dossier"].startswith("HS-2024-B") and h["agency"] == "UBND"][0]')
    id=$(cmp_py field "$TMP/ws.json" '[h["dossier"] for h in d["hits"] if h["dossier"].startswith("HS-2024-B") and h["agency"] == "UBND"][0]')
    page=$(cmp_py field "$TMP/ws.json" '[h["page"] for h in d["hits"] if h["dossier"].startswith("HS-2024-B") and h["agency"] == "UBND"][0]')
    [ "$pdf" = "/pdf/$id?shard=1#page=$page" ] || die "PDF link of a shard-B hit: $pdf" || return 1
    URLPATH="/pdf/$id?shard=1" get "$PS" "$t" >"$TMP/pdf" &&
        grep -q "stand-in for $id" "$TMP/pdf" || die "PDF of $id not served from shard B" || return 1
    URLPATH="/api/page/$id/$page?shard=1" get "$PS" "$t" >"$TMP/page.json"
    [ "$(cmp_py field "$TMP/page.json" 'd["dossier"], d["page"]')" = "('$id', $page)" ] ||
        die "/api/page of $id in shard B: $(head -c 200 "$TMP/page.json")" || return 1
    URLPATH="/view/$id/$page?shard=1" get "$PS" "$t" >"$TMP/view.html"
    grep -q "/page/$id/$page.png?shard=1" "$TMP/view.html" && grep -q "/pdf/$id?shard=1#page=$page" "$TMP/view.html" ||
        die "the page view of a shard-B hit does not link its image and PDF in shard B" || return 1
    for u in "/pdf/$id" "/pdf/$id?shard=7" "/pdf/$id?shard=x" "/api/search?q=dat&shard=1"; do
        code=$(URLPATH=$u get "$PS" "$t" -o /dev/null -w '%{http_code}')
        [ "$code" = 404 ] || die "$u: $code, want 404" || return 1
    done
    code=$(URLPATH="/pdf/$id?shard=1" get "$PS" "$ta" -o /dev/null -w '%{http_code}')
    [ "$code" = 404 ] || die "alice (STNMT) opened UBND's $id in shard B: $code" || return 1
    code=$(URLPATH="/api/page/$id/$page?shard=1" get "$PS" "$ta" -o /dev/null -w '%{http_code}')
    [ "$code" = 404 ] || die "alice (STNMT) read UBND's page in shard B: $code" || return 1
    # every view is journalled in the first warehouse
    [ "$("$SOHOA" audit --warehouse "$A" --json | cmp_py field /dev/stdin \
        'sum(1 for r in d["rows"] if r.get("action") == "pdf" and r.get("dossier") == "'"$id"'")' 2>/dev/null)" -ge 1 ] ||
        die "the PDF view is not in the first warehouse's journal" || return 1
}

t_web_missing_shard() {
    setup || return 1
    local rc
    "$SOHOA" serve --warehouse "$A" --warehouse "$TMP/nowhere" --listen 127.0.0.1:0 >"$TMP/bad.log" 2>&1
    rc=$?
    [ "$rc" = 2 ] || die "serve with a missing shard: exit $rc" || return 1
    grep -q "$TMP/nowhere" "$TMP/bad.log" || die "missing shard not named: $(cat "$TMP/bad.log")" || return 1
    "$SOHOA" serve --warehouse "$A" --warehouse "$A/" --listen 127.0.0.1:0 >"$TMP/bad.log" 2>&1
    rc=$?
    [ "$rc" = 2 ] && grep -q "given twice" "$TMP/bad.log" || die "a shard given twice: exit $rc" || return 1
}

tests=$(declare -F | awk '{print $3}' | grep '^t_' | sed 's/^t_//')
# The shards, their merge and the two servers are made here, once: the
# tests run in subshells, and the servers must be stopped by this one.
setup || { echo "shards: set-up failed"; exit 1; }
web_setup || { echo "shards: set-up of the servers failed"; exit 1; }
for t in $tests; do
    [ $# -gt 0 ] && [[ $t != *"$1"* ]] && continue
    if (t_"$t"); then
        echo "ok   $t"
        pass=$((pass + 1))
    else
        echo "FAIL $t"
        fail=$((fail + 1))
    fi
done
echo "shards: $pass passed, $fail failed"
[ "$fail" = 0 ]
