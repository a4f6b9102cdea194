#!/usr/bin/env bash
# soak.sh — the kill loop of robust.sh at length (make soak): a larger batch
# (the samples copied SOAK_COPIES times, plus ../shared/corpus/batch when
# present) is run to completion once without interruption as the reference,
# then again into a fresh warehouse while `sohoa run --jobs 2` is killed
# (kill -9 of its whole process group) at SOAK_KILLS random points, then
# run to completion.  The killed warehouse must equal the reference: same
# dossiers done, same pages in the same order with the same text, every
# PDF sound, index rows = placed pages, no temp files, verify intact.
#
#   SOHOA=build/sohoa bash tests/soak.sh
#
#   SOAK_KILLS=N        kill points (default 100)
#   SOAK_COPIES=N       copies of the sample batch (default 5)
#   SOAK_BUDGET=S       seconds the kill loop may take (default 1800)
#   SOAK_MAX_MS=MS      latest kill point after a start (default 8000)
#   ROBUST_SEED=N       replay a seed
set -uo pipefail
ROBUST_LIB=1
# shellcheck source=robust.sh
source "$(dirname "${BASH_SOURCE[0]}")/robust.sh"

KILLS=${SOAK_KILLS:-100}
COPIES=${SOAK_COPIES:-5}
BUDGET=${SOAK_BUDGET:-1800}
MAXMS=${SOAK_MAX_MS:-8000}
B=$TMP/b-soak REF=$TMP/wh-ref W=$TMP/wh-soak
echo "soak: seed $SEED (ROBUST_SEED=$SEED to replay), $KILLS kill points"

mkbatch "$B" "$COPIES" || exit 2
CORPUS=$SHARED/corpus/batch
if [ -d "$CORPUS" ]; then
    cp -r "$CORPUS"/. "$B/" || exit 2
    echo "soak: + $(ls "$CORPUS" | wc -l) dossiers of $CORPUS"
fi
echo "soak: $(ls "$B" | wc -l) dossiers, $(find "$B" -type f | wc -l) files"

# The reference: one uninterrupted run.
t0=$SECONDS
"$SOHOA" run --warehouse "$REF" --jobs 2 "$B" >"$TMP/ref.log" 2>&1
rc=$?
echo "soak: reference run exit $rc in $((SECONDS - t0)) s"
[ $rc = 0 ] || [ $rc = 1 ] || { tail -20 "$TMP/ref.log"; exit 1; }

# Expected pages of every dossier: the truth for sample copies, the
# reference run for the corpus (its spreads and blanks are the run's call).
for d in $(ls "$CORPUS" 2>/dev/null); do
    st=$(sql "$REF" "SELECT state||' '||coalesce(pages,0) FROM dossier WHERE id='$d'")
    [ "${st%% *}" = done ] && echo "$d ${st#* } $d" >>"$B.truth"
done

fails=0
t0=$SECONDS
kill_loop "$B" "$W" "$KILLS" "$BUDGET" "$MAXMS" || fails=$((fails + 1))
[ "${KL_HITS:-0}" -ge "$KILLS" ] || { echo "soak: only ${KL_HITS:-0} of $KILLS kill points"; fails=$((fails + 1)); }
"$SOHOA" run --warehouse "$W" --jobs 2 "$B" >"$TMP/final.log" 2>&1
rc=$?
echo "soak: kill loop and final run in $((SECONDS - t0)) s; final run exit $rc"
grep "pages to recognise" "$TMP/final.log" | sed 's/^/  final run: /'
# The corpus may hold a dossier that fails on its own (then in both).
ref_failed=$(sql "$REF" "SELECT count(*) FROM dossier WHERE state='failed'")
[ $rc = 0 ] || { [ $rc = 1 ] && [ "$ref_failed" != 0 ]; } || { tail -20 "$TMP/final.log"; fails=$((fails + 1)); }

check_finished "$W" "$B.truth" || fails=$((fails + 1))

# Same result as the uninterrupted run, page by page.
$PY - "$REF/catalog.db" "$W/catalog.db" <<'PY' || fails=$((fails + 1))
import sqlite3, sys
def pages(p):
    db = sqlite3.connect(f"file:{p}?mode=ro", uri=True)
    return {(d, n): (s, f, t) for d, n, s, f, t in db.execute(
        "SELECT dossier, pageno, source_name, frame, text FROM page WHERE pageno IS NOT NULL")}, \
        dict(db.execute("SELECT id, state FROM dossier"))
ref, rstate = pages(sys.argv[1])
got, gstate = pages(sys.argv[2])
bad = 0
for d, s in rstate.items():
    if gstate.get(d) != s:
        print(f"  {d}: {gstate.get(d)} after the kills, {s} in the reference"); bad = 1
for k, v in ref.items():
    if got.get(k) != v:
        print(f"  {k[0]} page {k[1]}: differs from the reference"); bad = 1
print(f"  {len(ref)} pages of the reference compared: {'identical' if not bad else 'DIFFERENT'}")
sys.exit(bad)
PY

echo "soak: $((fails == 0 ? 1 : 0)) passed, $((fails > 0 ? 1 : 0)) failed"
[ $fails = 0 ]
