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
    rm -rf "$TMP"
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
PORT=
for _ in $(seq 100); do
    PORT=$(sed -n 's|.*serving warehouse .* on http://127.0.0.1:\([0-9]*\)/.*|\1|p' "$TMP/serve.log")
    [ -n "$PORT" ] && break
    sleep 0.1
done
[ -n "$PORT" ] || { cat "$TMP/serve.log"; fail_setup "server did not start"; }

/usr/bin/python3 tests/browser.py "http://127.0.0.1:$PORT" officer pw-officer-1 "$SHOT" | tee "$TMP/out"
pass=$(grep -c '^ok ' "$TMP/out")
fail=$(grep -c '^FAIL ' "$TMP/out")
[ "$fail" = 0 ] || { echo "  server log:"; tail -20 "$TMP/serve.log" | sed 's/^/    /'; }
echo "browser: $pass passed, $fail failed, 0 skipped (screenshot: $SHOT)"
[ "$fail" = 0 ]
