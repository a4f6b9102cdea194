#!/usr/bin/env bash
# measure.sh — read rate of separator codes on degraded "scans" of separator
# sheets, zbar (what sohoa uses) against ZXing-C++ (libzxing-dev), the
# measurement behind the choice in scanners/barcode.c.
#
#   bash tests/bench/sepcodes/measure.sh [OUTDIR]     (make bench-codes)
#
# Sheets come from `sohoa separators`, rasterised with pdftoppm (300 dpi
# gray) and turned into scans by build/tools/mksample at 100/150/200/300
# dpi, 1 bit (G4) and gray: clean, skewed, upside down + skewed, sideways,
# a hole through the QR finder and the bars, and heavy dust and noise.
set -euo pipefail
cd "$(dirname "$0")/../../.."
OUT=${1:-$(mktemp -d)}
B=$PWD/build
mkdir -p "$OUT"
$B/sohoa separators --to "$OUT/sheets.pdf" HS-2024-00017 "QD-45/2019" \
  >/dev/null 2>&1 || $B/sohoa separators --to "$OUT/sheets.pdf" HS-2024-00017 QD-45-2019 >/dev/null
pdftoppm -r 300 -gray -png "$OUT/sheets.pdf" "$OUT/clean"
n=0
for src in "$OUT"/clean-*.png; do
  for dpi in 100 150 200 300; do
    for fmt in g4 lzw; do
      v=0
      while read -r args; do
        v=$((v + 1)); n=$((n + 1))
        # shellcheck disable=SC2086
        $B/tools/mksample --in "$src" --in-dpi 300 --dpi $dpi --format $fmt \
          --seed $n $args --out "$OUT/s$(basename "$src" .png)-$dpi-$fmt-$v.tif"
      done <<'V'
--skew 0 --speckle 40
--skew 3 --speckle 120
--skew -4 --rot 180 --speckle 120
--skew 2 --rot 90 --speckle 120
--skew 1.5 --hole 68,66,8 --hole 105,220,8 --hole 140,140,6
--skew -2 --speckle 3000 --noise 14
V
    done
  done
done
echo "$n degraded sheets in $OUT" >&2
$B/tools/zbar_read "$OUT"/s*.tif >"$OUT/zbar.tsv"
$B/tools/zxing_read "$OUT"/s*.tif >"$OUT/zxing.tsv"
SEP_REDUCE=1 $B/tools/zxing_read "$OUT"/s*.tif >"$OUT/zxing100.tsv"
python3 - "$OUT" <<'P'
import sys, re, collections
out = sys.argv[1]
def load(name):
    rows = {}
    for line in open(f"{out}/{name}"):
        f = line.rstrip("\n").split("\t")
        rows[f[0]] = dict(kv.split("=", 1) for kv in f[1:] if "=" in kv) | {"ms": float(f[3])}
    return rows
zb, zx, zr = load("zbar.tsv"), load("zxing.tsv"), load("zxing100.tsv")
groups = collections.defaultdict(list)
for path in zb:
    m = re.search(r"-(\d+)-(g4|lzw)-(\d)\.tif$", path)
    groups[(int(m[1]), m[2])].append(path)
    groups[("all", "")].append(path)
def rate(rows, paths, key):
    if key == "any":
        return sum(rows[p]["qr"] == "1" or rows[p]["c128"] == "1" for p in paths)
    return sum(rows[p][key] == "1" for p in paths)
print(f"{'set':10} {'n':>3} | {'zbar qr':>7} {'c128':>5} {'any':>4} {'detect':>6} {'ms':>5} | {'zxing qr':>8} {'c128':>5} {'any':>4} {'ms':>5} | {'zxing@100 any':>13} {'ms':>4}")
for k in sorted(groups, key=str):
    ps = groups[k]
    det = sum(zb[p]["detect"] == "sheet" for p in ps)
    ms_zb = sum(zb[p]["ms"] for p in ps) / len(ps)
    ms_zx = sum(zx[p]["ms"] for p in ps) / len(ps)
    print(f"{str(k[0])+' '+k[1]:10} {len(ps):3} | {rate(zb,ps,'qr'):7} {rate(zb,ps,'c128'):5} {rate(zb,ps,'any'):4} {det:6} {ms_zb:5.0f} | "
          f"{rate(zx,ps,'qr'):8} {rate(zx,ps,'c128'):5} {rate(zx,ps,'any'):4} {ms_zx:5.0f} | "
          f"{rate(zr,ps,'any'):13} {sum(zr[p]['ms'] for p in ps)/len(ps):4.0f}")
P
