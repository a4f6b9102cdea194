#!/usr/bin/env bash
# browser.sh — end-to-end test of the officers' site in headless Chromium:
# log in through the form, search "dat dai", open the first hit, check the
# page image loaded and the hit words are boxed, screenshot (kept as
# $SHOT, default /tmp/sohoa-browser.png).
#
#   SOHOA=build/sohoa bash tests/browser.sh
#
# Exits 77 (skipped) when chromium is not installed.  Ends with
# "browser: N passed, N failed, N skipped".  WEB_WAREHOUSE=DIR reuses a
# warehouse instead of processing samples/batch/HS-2024-00001.
set -uo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
source tests/serve_port.sh
SOHOA=${SOHOA:-$ROOT/build/sohoa}
SHOT=${SHOT:-/tmp/sohoa-browser.png}
if ! command -v chromium >/dev/null && ! command -v chromium-browser >/dev/null; then
    echo "browser: chromium not installed (apt-get install chromium)"
    echo "browser: 0 passed, 0 failed, 1 skipped"
    exit 77
fi
TMP=$(mktemp -d /tmp/sohoa-browser-XXXXXX)
SERVER_PID=
cleanup() {
    [ -n "$SERVER_PID" ] && kill "$SERVER_PID" 2>/dev/null && wait "$SERVER_PID" 2>/dev/null
    [ -n "${BROWSER_KEEP:-}" ] || rm -rf "$TMP"
}
trap cleanup EXIT
fail_setup() { echo "browser: $*"; echo "browser: 0 passed, 1 failed, 0 skipped"; exit 1; }

if [ -n "${WEB_WAREHOUSE:-}" ]; then
    WH=$WEB_WAREHOUSE
else
    WH=$TMP/wh
    mkdir -p "$TMP/batch"
    cp -r samples/batch/HS-2024-00001 "$TMP/batch/"
    "$SOHOA" run --warehouse "$WH" --agency A "$TMP/batch" >"$TMP/run.log" 2>&1 ||
        { cat "$TMP/run.log"; fail_setup "run failed"; }
fi
"$SOHOA" user list --warehouse "$WH" --json | grep -q '"officer"' ||
    echo "pw-officer-1" | "$SOHOA" user add officer --agency A --warehouse "$WH" 2>"$TMP/user.log" ||
    { cat "$TMP/user.log"; fail_setup "cannot add the user"; }

"$SOHOA" serve --warehouse "$WH" --listen 127.0.0.1:0 >"$TMP/serve.log" 2>&1 &
SERVER_PID=$!
PORT=$(serve_port "$TMP/serve.log" "$SERVER_PID")
[ -n "$PORT" ] || { cat "$TMP/serve.log"; fail_setup "server did not start"; }

/usr/bin/python3 tests/browser.py "http://127.0.0.1:$PORT" officer pw-officer-1 "$SHOT" | tee "$TMP/out"
# ---- a clerk's review (HS-2024-00002: page 2 is a sideways scan) -------------
if [ "${REVIEW:-1}" = 1 ]; then
    WH2=$TMP/wh2 D=HS-2024-00002
    mkdir -p "$TMP/batch2" && cp -r samples/batch/$D "$TMP/batch2/"
    "$SOHOA" run --warehouse "$WH2" --agency A --quiet "$TMP/batch2" >"$TMP/run2.log" 2>&1 ||
        { cat "$TMP/run2.log"; fail_setup "review run failed"; }
    for u in "lan A clerk" "hoa B clerk" "minh A officer"; do
        set -- $u
        echo "pw-$1-review-1" | "$SOHOA" user add --warehouse "$WH2" "$1" --agency "$2" --role "$3" >/dev/null 2>&1
    done
    "$SOHOA" serve --warehouse "$WH2" --listen 127.0.0.1:0 >"$TMP/serve2.log" 2>&1 &
    S2=$!
    P2=$(serve_port "$TMP/serve2.log" "$S2")
    U2=http://127.0.0.1:$P2
    /usr/bin/python3 tests/browser.py "$U2" lan pw-lan-review-1 "$TMP/shot2.png" review | tee -a "$TMP/out"
    r() { echo "$1" | tee -a "$TMP/out"; }
    sql() { sqlite3 -batch -noheader "$WH2/catalog.db" "$1"; }
    # the site rebuilds the dossier in the background: let the last rebuild end
    for _ in $(seq 240); do pgrep -f -- "run --only $D" >/dev/null || break; sleep 0.5; done
    np=$(pdfinfo "$WH2/pdf/$D.pdf" 2>/dev/null | sed -n 's/^Pages: *//p')
    [ "$np" = 3 ] && r "ok   browser/review_pdf_pages (3)" || r "FAIL browser/review_pdf_pages ($np)"
    sz=$(pdfinfo -f 2 -l 2 "$WH2/pdf/$D.pdf" 2>/dev/null | sed -n 's/^Page *2 size: *\([0-9.]*\) x \([0-9.]*\).*/\1 \2/p')
    case "$sz" in "") r "FAIL browser/review_pdf_turned_page (no size)" ;;
        *) set -- $sz; python3 -c "import sys; sys.exit(0 if float('$1') > float('$2') else 1)" &&
               r "ok   browser/review_pdf_turned_page (landscape $sz)" || r "FAIL browser/review_pdf_turned_page ($sz)" ;; esac
    # (the whole text first: grep -q would close the pipe early, and under
    #  pipefail pdftotext's SIGPIPE would fail the check)
    txt=$(pdftotext "$WH2/pdf/$D.pdf" - 2>/dev/null || true)
    grep -q 'CỘNG HÒA' <<<"$txt" && r "ok   browser/review_pdf_text" ||
        { r "FAIL browser/review_pdf_text"; pdftotext "$WH2/pdf/$D.pdf" - 2>&1 | head -12 | sed 's/^/    /'; }
    "$SOHOA" export --warehouse "$WH2" --all --approved-only --to "$TMP/ex2" >/dev/null 2>&1
    x=$(find "$TMP/ex2" -name '*.xml' | head -1)
    grep -q '<CodeNotation source="manual">QĐ-DUYET</CodeNotation>' "$x" 2>/dev/null &&
        r "ok   browser/review_export_manual" || r "FAIL browser/review_export_manual"
    grep -q '<Approved by="lan"' "$x" 2>/dev/null && r "ok   browser/review_export_approved" || r "FAIL browser/review_export_approved"
    a=$(sqlite3 -batch -noheader "$WH2/audit.db" "SELECT group_concat(DISTINCT action) FROM audit WHERE user='lan' AND status=200 AND action IN ('review-turn','review-split','review-field','review-approve')")
    case "$a" in *review-turn*) case "$a" in *review-split*review-field*|*review-field*review-split*) case "$a" in *review-approve*) r "ok   browser/review_audit ($a)" ;; *) r "FAIL browser/review_audit ($a)" ;; esac ;; *) r "FAIL browser/review_audit ($a)" ;; esac ;; *) r "FAIL browser/review_audit ($a)" ;; esac
    login2() { curl -s -D - -o /dev/null --data-urlencode "user=$1" --data-urlencode "password=pw-$1-review-1" "$U2/login" |
        sed -n 's/^Set-Cookie: sohoa_session=\([0-9a-f]*\).*/\1/p'; }
    MINH=$(login2 minh) HOA=$(login2 hoa)
    c403=0
    for a in approve accept turn split blank start word field; do
        c=$(curl -s -o /dev/null -w '%{http_code}' -H "Cookie: sohoa_session=$MINH" -H 'Content-Type: application/json' \
            --data "{\"version\":0,\"action\":\"$a\",\"page\":1}" "$U2/api/review/$D")
        [ "$c" = 403 ] && c403=$((c403 + 1))
    done
    for u in /review /api/review /review/$D/1 /api/review/$D/1 /review/$D/1.png; do
        c=$(curl -s -o /dev/null -w '%{http_code}' -H "Cookie: sohoa_session=$MINH" "$U2$u")
        [ "$c" = 403 ] && c403=$((c403 + 1))
    done
    [ $c403 = 13 ] && r "ok   browser/review_officer_403 (13 of 13)" || r "FAIL browser/review_officer_403 ($c403 of 13)"
    c1=$(curl -s -o /dev/null -w '%{http_code}' -H "Cookie: sohoa_session=$HOA" "$U2/review/$D/1")
    c2=$(curl -s -o /dev/null -w '%{http_code}' -H "Cookie: sohoa_session=$HOA" -H 'Content-Type: application/json' --data '{"version":0,"action":"approve"}' "$U2/api/review/$D")
    n=$(curl -s -H "Cookie: sohoa_session=$HOA" "$U2/api/review" | python3 -c 'import json,sys; print(len(json.load(sys.stdin)["items"]))')
    [ "$c1$c2$n" = 4044040 ] && r "ok   browser/review_other_agency_sees_nothing" || r "FAIL browser/review_other_agency ($c1 $c2 $n)"
    kill $S2 2>/dev/null; wait $S2 2>/dev/null
fi
pass=$(grep -c '^ok ' "$TMP/out")
fail=$(grep -c '^FAIL ' "$TMP/out")
[ "$fail" = 0 ] || { echo "  server log:"; tail -20 "$TMP/serve.log" | sed 's/^/    /'; }
echo "browser: $pass passed, $fail failed, 0 skipped (screenshot: $SHOT)"
[ "$fail" = 0 ]
