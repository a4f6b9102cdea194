#!/usr/bin/env bash
# bench.sh — speed figures for `make bench` (prints, asserts nothing).
#
# A generated batch: the project's sample dossiers copied COPIES times under
# new ids (300 dpi pages but one at 200 dpi).  Prints pages/min with --jobs 2,
# per-stage time per page, the ratio of end-to-end time to Tesseract's
# recognition time alone, and the workers' peak memory.  First the unit
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
pages=$(find "$T/batch" -type f | wc -l)
echo "bench: $(ls "$T/batch" | wc -l) dossiers, $pages files, --jobs $JOBS, $(nproc) cores"
/usr/bin/time -v "$SOHOA" run --quiet --warehouse "$T/wh" --jobs "$JOBS" "$T/batch" 2>"$T/time" || true
wall=$(awk -F': ' '/Elapsed \(wall clock\)/ {print $2}' "$T/time")
rss=$(awk -F': ' '/Maximum resident set size/ {print $2}' "$T/time")
sqlite3 -batch "$T/wh/catalog.db" "SELECT report FROM run ORDER BY id DESC LIMIT 1" >"$T/report.json"
/usr/bin/python3 - "$T/report.json" "$JOBS" <<'PY'
import json, sys
r = json.load(open(sys.argv[1])); jobs = int(sys.argv[2])
p = r["pages"]
print(f"pages recognised      {p['ocr']}  in {r['wall_s']:.1f} s  ->  {r['pages_per_min']:.1f} pages/min")
print(f"worker peak memory    {r.get('worker_peak_rss_mb', 0):.0f} MB")
print(f"end-to-end / recognition  {r['wall_s'] * jobs / max(1e-9, r['ocr_s']):.2f}"
      f"  (wall x workers / sum of Tesseract recognition time)")
PY
echo "per-stage time per page (s):"
sqlite3 -batch -column -header "$T/wh/catalog.db" "SELECT round(avg(t_read),3) AS read, round(avg(t_orient),3) AS orient, round(avg(t_deskew),3) AS deskew, round(avg(t_prep - t_orient - t_deskew),3) AS other_prep, round(avg(t_ocr),3) AS ocr, round(avg(t_encode),3) AS encode, round(avg(t_prep)/avg(t_ocr)*100,1) AS prep_pct_of_ocr FROM page WHERE state='ocr'"
echo "largest process (time -v): $((rss / 1024)) MB; wall $wall"
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
