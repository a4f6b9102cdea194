#!/usr/bin/env bash
# stream.sh — a stack scanned at once, as a clerk would: separator sheets
# from `sohoa separators`, "scanned" (pdftoppm, then build/tools/mksample:
# 150/200/300 dpi, 1 bit and gray, skewed, upside down, sideways, a hole
# through a code, dust) and interleaved with the sample pages into one
# multi-page TIFF and into a folder of single files; then `sohoa run`, and
# every dossier's pages and text, and each of the clerk's mistakes, checked.
#
#   SOHOA=build/sohoa bash tests/stream.sh
#
# Fixtures are made here, in a temporary folder; nothing binary is kept.
set -uo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
SOHOA=${SOHOA:-$ROOT/build/sohoa}
MKS=$ROOT/build/tools/mksample
PY=/usr/bin/python3
TMP=$(mktemp -d /tmp/sohoa-stream-XXXXXX)
trap '[ -n "${KEEP:-}" ] || rm -rf "$TMP"' EXIT
S=$ROOT/samples/batch
fails=0
ok()   { echo "  ok   $*"; }
bad()  { echo "  FAIL $*"; fails=$((fails + 1)); }
check() { local what=$1; shift; if "$@"; then ok "$what"; else bad "$what"; fi; }

[ -x "$MKS" ] || make -s build/tools/mksample >/dev/null || { echo "stream: cannot build mksample"; exit 1; }

# ---- the sheets ------------------------------------------------------
"$SOHOA" separators --to "$TMP/sheets.pdf" ST-A1 ST-A2 ST-A3 ST-A4 ST-B1 \
  HS-F1 ST-A5 >"$TMP/sep.out" 2>&1
check "separators: a PDF of 7 pages" \
  test "$(pdfinfo "$TMP/sheets.pdf" 2>/dev/null | awk '/^Pages:/ {print $2}')" = 7
check "separators: refuses an id that is not a folder name" \
  bash -c "! '$SOHOA' separators --to '$TMP/x.pdf' 'a/b' 2>/dev/null && [ ! -e '$TMP/x.pdf' ]"
pdftoppm -r 300 -gray -png "$TMP/sheets.pdf" "$TMP/sh"
sheet() { echo "$TMP/sh-$1.png"; }   # 1..7 in the order above

# scan SRC [mksample options...]: one scanned page appended to $OUT
scan() { local src=$1; shift; "$MKS" --in "$src" --seed $RANDOM "$@" >/dev/null || bad "mksample $src $*"; }
page() { # a sample page re-encoded, clean: page FILE OUT [--append]
  local f=$1 out=$2; shift 2
  local fmt=g4; case $f in *.jpg|*.png) fmt=lzw ;; esac
  "$MKS" --in "$f" --in-dpi 300 --dpi 300 --format $fmt --speckle 0 --noise 0 --out "$out" "$@" >/dev/null || bad "page $f"
}

# ---- stream A: one multi-page TIFF straight in the batch folder ------
B=$TMP/batch
mkdir -p "$B/HS-F1" "$B/scans"
T=$B/stack.tif
page "$S/HS-2024-00002/0002.jpg" "$T"                                # 1 before the first separator
scan "$(sheet 1)" --in-dpi 300 --dpi 150 --format g4 --skew 3 --out "$T" --append     # 2 ST-A1
scan "$(sheet 1)" --in-dpi 300 --dpi 150 --format g4 --blank --out "$T" --append      # 3 its blank back
page "$S/HS-2024-00001/0001.tif" "$T" --append                       # 4 ST-A1 p1
scan "$(sheet 2)" --in-dpi 300 --dpi 200 --format lzw --rot 180 --skew -2 \
     --hole 68,66,8 --hole 105,220,8 --out "$T" --append              # 5 ST-A2
page "$S/HS-2024-00003/0001.tif" "$T" --append                       # 6 ST-A2 p1
page "$S/HS-2024-00003/0002.tif" "$T" --append                       # 7 ST-A2 p2
scan "$(sheet 3)" --in-dpi 300 --dpi 300 --format g4 --rot 90 --skew 1 --out "$T" --append  # 8 ST-A3
scan "$(sheet 4)" --in-dpi 300 --dpi 200 --format g4 --speckle 2000 --out "$T" --append     # 9 ST-A4 (A3 empty)
page "$S/HS-2024-00002/0001.jpg" "$T" --append                       # 10 ST-A4 p1
scan "$(sheet 1)" --in-dpi 300 --dpi 300 --format lzw --skew -3 --out "$T" --append   # 11 ST-A1 twice
page "$S/HS-2024-00002/0002.jpg" "$T" --append                       # 12 unassigned

# ---- stream B: --stream scans, single files --------------------------
page "$S/HS-2024-00002/0003.png" "$B/HS-F1/0001.tif"                 # a folder dossier
scan "$(sheet 5)" --in-dpi 300 --dpi 200 --format png --skew 4 --out "$B/scans/0001.png"    # ST-B1
page "$S/HS-2024-00002/0003.png" "$B/scans/0002.tif"                 # ST-B1 p1
scan "$(sheet 6)" --in-dpi 300 --dpi 150 --format g4 --out "$B/scans/0003.tif"   # HS-F1: a folder's id
page "$S/HS-2024-00001/0001.tif" "$B/scans/0004.tif"                 # unassigned
# a separator whose codes are destroyed: it still shows its bands
scan "$(sheet 7)" --in-dpi 300 --dpi 200 --format g4 --hole 80,77,50 --hole 130,77,50 \
     --hole 105,127,50 --hole 105,220,50 --out "$B/scans/0005.tif"
page "$S/HS-2024-00003/0001.tif" "$B/scans/0006.tif"                 # unassigned

# ---- run -------------------------------------------------------------
WH=$TMP/wh
"$SOHOA" run --warehouse "$WH" --jobs 2 --stream scans "$B" >"$TMP/run1.log" 2>&1
rc=$?
check "run: exit 1 (the clerk's mistakes are reported)" test $rc = 1
grep -q "stream .*stack.tif: [0-9]* files\?\|stream $B:" "$TMP/run1.log" || true
"$SOHOA" status --warehouse "$WH" --json >"$TMP/st.json"
"$SOHOA" report --warehouse "$WH" --json >"$TMP/rep.json" 2>/dev/null
$PY - "$TMP/st.json" "$TMP/rep.json" "$WH/catalog.db" <<'PY' || bad "status, report and catalog (above)"
import json, sqlite3, sys
st = json.load(open(sys.argv[1])); rep = json.load(open(sys.argv[2]))
db = sqlite3.connect(sys.argv[3])
ds = {d["id"]: d for d in st["dossiers"]}
want = {"ST-A1": 1, "ST-A2": 2, "ST-A4": 1, "ST-B1": 1, "HS-F1": 1}
bad = 0
def chk(c, msg):
    global bad
    print(("  ok   " if c else "  FAIL ") + msg); bad += not c
for k, n in want.items():
    d = ds.get(k, {})
    chk(d.get("state") == "done" and d.get("pages") == n,
        f"dossier {k}: done, {n} page(s) (got {d.get('state')}, {d.get('pages')})")
chk("ST-A3" not in ds and "ST-A5" not in ds, "empty ST-A3 not made; ST-A5 (codes destroyed) not made")
src = {r[0]: r[1] for r in db.execute("SELECT dossier, group_concat(frame) FROM page WHERE pageno IS NOT NULL GROUP BY dossier")}
chk(src.get("ST-A1") == "3" and src.get("ST-A2") in ("5,6", "6,5") and src.get("ST-A4") == "9",
    f"stream frames in the right dossiers (separators and the blank back in none): {src}")
probs = rep.get("streams", {}).get("problems", [])
kinds = sorted((p["what"], p["file"], p["page"]) for p in probs)
print("    problems:", kinds)
for what, f, pg in [("before-first", "stack.tif", 1), ("empty", "stack.tif", 8),
                    ("twice", "stack.tif", 11), ("taken", "0003.tif", 1),
                    ("unreadable", "0005.tif", 1)]:
    chk((what, f, pg) in kinds, f"problem {what} reported at {f} page {pg}")
un = sorted((r[0], r[1]) for r in db.execute("SELECT file, frame FROM unassigned"))
chk(un == [("0004.tif", 0), ("0006.tif", 0), ("stack.tif", 0), ("stack.tif", 11)],
    f"unassigned pages kept in the catalog: {un}")
sys.exit(1 if bad else 0)
PY
"$SOHOA" search --warehouse "$WH" --json "Tam Sơn" >"$TMP/s1.json" 2>/dev/null
check "search: the HS-2024-00001 page is found in ST-A1 only" \
  $PY -c "import json,sys; r=json.load(open('$TMP/s1.json')); h=r['hits']; ids=sorted({x.get('dossier') for x in h}); print('    ', ids); sys.exit(ids != ['ST-A1'])"
check "PDF of ST-A2 has 2 pages" \
  test "$(pdfinfo "$WH/pdf/ST-A2.pdf" 2>/dev/null | awk '/^Pages:/ {print $2}')" = 2

# ---- re-run: up to date; then the stack grows ------------------------
"$SOHOA" run --warehouse "$WH" --jobs 2 --stream scans "$B" >"$TMP/run2.log" 2>&1
check "re-run: nothing to recognise" grep -q " 0 pages to recognise" "$TMP/run2.log"
scan "$(sheet 7)" --in-dpi 300 --dpi 300 --format g4 --skew -1 --out "$T" --append   # 13 ST-A5
page "$S/HS-2024-00003/0002.tif" "$T" --append                       # 14 ST-A5 p1
"$SOHOA" run --warehouse "$WH" --jobs 2 --stream scans "$B" >"$TMP/run3.log" 2>&1
check "grown stack: only the new page is recognised" grep -q " 1 page to recognise" "$TMP/run3.log"
"$SOHOA" status --warehouse "$WH" --json >"$TMP/st3.json"
check "grown stack: ST-A5 done with 1 page, ST-A2 still 2" \
  $PY -c "import json,sys; d={x['id']:x for x in json.load(open('$TMP/st3.json'))['dossiers']}; sys.exit(not (d['ST-A5']['pages']==1 and d['ST-A5']['state']=='done' and d['ST-A2']['pages']==2))"

if [ $fails -gt 0 ]; then
  echo "stream: $fails failed (logs: run1.log)"; sed 's/^/    /' "$TMP/run1.log" | grep -v " info " | head -40
  exit 1
fi
echo "stream: all passed"
