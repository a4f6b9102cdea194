#!/usr/bin/env bash
# bench.sh — speed figures for `make bench` (prints, asserts nothing).
#
# Input kinds: the project's sample dossiers copied COPIES times under new
# ids (300 dpi pages but one at 200 dpi), then large formats made here
# (A3 600 dpi colour, A1 and A0 300 dpi gray with text; samples/tools/
# mksheet).  Prints per kind: pages/min with --jobs 2, per-stage time per
# page, the ratio of end-to-end time to Tesseract's recognition time
# alone (wall x workers / sum of recognition), the same in CPU seconds
# (user+sys of the whole run / Tesseract's own CPU), and the workers'
# peak memory.  First the unit
# runner's benchmarks (`build/unit --bench`: CPU time of the layout
# functions), which the unit tests no longer time.
set -euo pipefail
cd "$(dirname "$0")/.."
SOHOA=${SOHOA:-$PWD/build/sohoa}
UNIT=${UNIT:-$PWD/build/unit}
if [ -x "$UNIT" ]; then
    "$UNIT" --bench
else
    echo "bench: $UNIT absent (make build/unit), layout figures left out"
fi
COPIES=${COPIES:-3}
JOBS=${JOBS:-2}
T=$(mktemp -d /tmp/sohoa-bench-XXXXXX)
trap 'rm -rf "$T"' EXIT
for i in $(seq 1 "$COPIES"); do
    for d in samples/batch/*/; do
        cp -r "$d" "$T/batch-$(basename "$d")-$i" 2>/dev/null || true
    done
done
mkdir -p "$T/batch" && mv "$T"/batch-* "$T/batch/"
# One input kind: run it, print its figures (pages/min, per-stage seconds,
# wall x workers / recognition, peak worker memory).
run_kind() {    # KIND BATCH_DIR WAREHOUSE
    local kind=$1 batch=$2 wh=$3
    local files
    files=$(find "$batch" -type f | wc -l)
    echo "== $kind: $(ls "$batch" | wc -l) dossiers, $files files, --jobs $JOBS, $(nproc) cores"
    /usr/bin/time -v "$SOHOA" run --quiet --warehouse "$wh" --jobs "$JOBS" "$batch" 2>"$T/time" || true
    sqlite3 -batch "$wh/catalog.db" "SELECT report FROM run ORDER BY id DESC LIMIT 1" >"$T/report.json"
    local cpu
    cpu=$(awk -F': ' '/User time|System time/ {s += $2} END {print s}' "$T/time")
    /usr/bin/python3 - "$T/report.json" "$JOBS" "$kind" "$cpu" <<'PY'
import json, sys
r = json.load(open(sys.argv[1])); jobs = int(sys.argv[2]); kind = sys.argv[3]
cpu = float(sys.argv[4])
p = r["pages"]
print(f"{kind}: pages recognised  {p['ocr']}  in {r['wall_s']:.1f} s  ->  {r['pages_per_min']:.1f} pages/min")
print(f"{kind}: worker peak memory    {r.get('worker_peak_rss_mb', 0):.0f} MB")
print(f"{kind}: end-to-end / recognition  {r['wall_s'] * jobs / max(1e-9, r['ocr_s']):.2f}"
      f"  (wall x workers / sum of Tesseract recognition time)")
oc = r.get('ocr_cpu_s', 0)
print(f"{kind}: CPU / recognition CPU  {cpu / max(1e-9, oc):.2f}"
      f"  ({cpu:.1f} s user+sys of the run and its workers / {oc:.1f} s"
      f" Tesseract's own thread CPU; a busy machine inflates wall times,"
      f" not these)")
PY
    echo "$kind: per-stage time per page (s; encode = encoder thread CPU, overlapped with ocr):"
    sqlite3 -batch -column -header "$wh/catalog.db" "SELECT round(avg(t_read),3) AS read, round(avg(t_orient),3) AS orient, round(avg(t_deskew),3) AS deskew, round(avg(t_prep - t_orient - t_deskew),3) AS other_prep, round(avg(t_ocr),3) AS ocr, round(sum(t_encode)/count(*),3) AS encode, round(avg(t_prep)/avg(t_ocr)*100,1) AS prep_pct_of_ocr FROM page WHERE state='ocr'"
    local done
    done=$(sqlite3 -batch "$wh/catalog.db" "SELECT count(*) FROM dossier WHERE state='done'" 2>/dev/null || echo "?")
    echo "$kind: dossiers done $done; largest process (time -v): $(( $(awk -F': ' '/Maximum resident set size/ {print $2}' "$T/time") / 1024 )) MB; wall $(awk -F': ' '/Elapsed \(wall clock\)/ {print $2}' "$T/time")"
}

run_kind samples "$T/batch" "$T/wh"
cp "$T/report.json" "$T/report-samples.json"

# Large formats, made here from the sample pages (samples/tools/mksheet):
# pages of text laid out on one sheet, LZW, with scanner noise; two
# sheets per kind so that both workers have one.  BENCH_LARGE=0 skips.
if [ "${BENCH_LARGE:-1}" != 0 ]; then
    MKSHEET=${MKSHEET:-$PWD/build/tools/mksheet}
    [ -x "$MKSHEET" ] || make -s build/tools/mksheet
    S=samples/batch
    PAGES="$S/HS-2024-00001/0001.tif $S/HS-2024-00002/0001.jpg $S/HS-2024-00002/0003.png"
    large() {   # KIND MKSHEET-ARGS...
        local kind=$1; shift
        for i in 1 2; do
            mkdir -p "$T/$kind/HS-$kind-$i"
            "$MKSHEET" "$@" --seed "$i" -o "$T/$kind/HS-$kind-$i/0001.tif" $PAGES 2>/dev/null
        done
        run_kind "$kind" "$T/$kind" "$T/wh-$kind"
        rm -rf "$T/$kind" "$T/wh-$kind"
    }
    large a3-600-colour --paper a3 --dpi 600 --grid 2x2 --color
    large a1-300-gray --paper a1 --dpi 300 --grid 3x3 --trim
    large a0-300-gray --paper a0 --dpi 300 --grid 4x4
fi
cp "$T/report-samples.json" "$T/report.json"
# What durability costs: the same batch again, into a fresh warehouse, with
# no fsync and synchronous=OFF (benchmark only).
SOHOA_BENCH_NO_SYNC=1 "$SOHOA" run --quiet --warehouse "$T/wh-nosync" --jobs "$JOBS" "$T/batch" 2>/dev/null || true
ns=$(sqlite3 -batch "$T/wh-nosync/catalog.db" "SELECT report FROM run ORDER BY id DESC LIMIT 1" |
     /usr/bin/python3 -c "import json,sys; r=json.load(sys.stdin); print(f\"{r['pages_per_min']:.1f}\")")
echo "journal + fsync: $(/usr/bin/python3 -c "import json; print(f\"{json.load(open('$T/report.json'))['pages_per_min']:.1f}\")") pages/min with, $ns without (fsync off, synchronous=OFF)"
# Tesseract alone: its CLI over the same files, $JOBS at a time (no
# orientation, deskew, layout, PDF or index) -- the floor we compare with.
s=$(date +%s.%N)
find "$T/batch" -type f -print0 | OMP_THREAD_LIMIT=1 xargs -0 -P "$JOBS" -I{} \
    tesseract {} - -l vie >/dev/null 2>&1
e=$(date +%s.%N)
tw=$(echo "$e - $s" | bc)
ew=$(/usr/bin/python3 -c "import json; print(json.load(open('$T/report.json'))['wall_s'])")
echo "tesseract CLI alone on the same files, $JOBS at a time: ${tw} s;" \
     "sohoa end-to-end / tesseract alone = $(echo "scale=2; $ew / $tw" | bc)"
