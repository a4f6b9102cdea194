#!/usr/bin/env bash
# make-samples.sh — regenerate the project's own sample batch (samples/batch/,
# samples/truth.json) from the page texts in samples/text/.
#
#   bash samples/make-samples.sh           regenerate (what `make samples` runs)
#   bash samples/make-samples.sh --check   regenerate, then OCR every page with
#                                          the tesseract CLI and print its CER
#
# Each text is rendered once, clean, by Tesseract's text2image at 600 dpi; the
# script checks that text2image drew every character of the text (its .box
# file against the text), on one page, without wrapping a line.  Then
# build/tools/mksample (samples/tools/mksample.c) turns each render into a
# "scan" as the table below says: skew, quarter turn, resolution, noise,
# format.  Everything is seeded, so a re-run gives the same bytes.  See
# samples/README.md for the conventions.
set -euo pipefail

cd "$(dirname "$0")/.."
ROOT=$PWD
# MKSAMPLE=/path/to/mksample uses that binary; by default build/tools/mksample
# is (re)built through the Makefile rule first.
MKSAMPLE_DEFAULT=build/tools/mksample
MKSAMPLE=${MKSAMPLE:-}
PY=/usr/bin/python3
SEED=2024
CHECK=0
case "${1:-}" in
  "") ;;
  --check) CHECK=1 ;;
  -h|--help) sed -n '2,15p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
  *) echo "make-samples: unknown argument '$1' (try --help)" >&2; exit 2 ;;
esac

die() { echo "make-samples: $*" >&2; exit 1; }

command -v text2image >/dev/null || die "text2image not found (Debian package tesseract-ocr; run 'make deps')"
[ -x "$PY" ] || die "$PY not found (Debian package python3)"
if [ -z "$MKSAMPLE" ]; then
  make -s "$MKSAMPLE_DEFAULT" >/dev/null || die "building $MKSAMPLE_DEFAULT failed"
  MKSAMPLE=$ROOT/$MKSAMPLE_DEFAULT
fi
[ -x "$MKSAMPLE" ] || die "$MKSAMPLE missing or not executable"

FONTS_DIR=/usr/share/fonts/truetype
declare -A FONT=( [serif]="DejaVu Serif" [sans]="DejaVu Sans" )

# One row per page: the text, the font, and how it is "scanned".
#   dossier file frame: frame = index in a multi-page TIFF, - for a single-image file
#   skew: degrees, counter-clockwise positive, applied to the upright sheet
#   rot:  counter-clockwise quarter turn applied after the skew (90 = fed sideways)
#   noise: Gaussian sigma (gray levels); speckle: dust specks; dpi: y = stored, n = not
PAGES=$(cat <<'EOF'
# dossier      file     frame text                    font  format color skew  rot dpi noise speckle stored
HS-2024-00001  0001.tif 0     01-quyet-dinh-05        serif g4     gray  0     0   300 0    150     y
HS-2024-00001  0001.tif 1     02-to-trinh-112         serif g4     gray  2.5   0   300 0    150     y
HS-2024-00002  0001.jpg -     03-cong-van-318         sans  jpeg   gray  0     0   300 0.7  120     y
HS-2024-00002  0002.jpg -     04-thong-bao-46         sans  jpeg   rgb   -1.5  90  300 0.7  120     y
HS-2024-00002  0003.png -     05-ke-hoach-59          sans  png    gray  0     0   300 0    120     n
HS-2024-00003  0001.tif -     06-bao-cao-76           serif lzw    gray  -3    0   200 0    80      y
HS-2024-00003  0002.tif -     07-quyet-dinh-1520      sans  g4     gray  0     180 300 0    150     y
EOF
)

WORK=$(mktemp -d "${TMPDIR:-/tmp}/sohoa-samples.XXXXXX")
trap 'rm -rf "$WORK"' EXIT

# ---- 1. render each text clean at 600 dpi and check the render ------------
render() {   # render TEXT-ID FONT-KEY
  local id=$1 font=${FONT[$2]} txt=$ROOT/samples/text/$1.txt
  [ -f "$txt" ] || die "$txt: missing"
  (cd "$WORK" && text2image --text "$txt" --outputbase "$WORK/$id" \
      --fonts_dir "$FONTS_DIR" --fontconfig_tmpdir "$WORK" --font "$font" \
      --xsize=4960 --ysize=7016 --margin=300 --ptsize=12 --leading=40 --resolution=600 \
      --degrade_image=false --rotate_image=false --distort_image=false --exposure=0 \
      --char_spacing=0 --strip_unrenderable_words=false --max_pages=0 \
      >"$WORK/$id.log" 2>&1) || { cat "$WORK/$id.log" >&2; die "$txt: text2image failed"; }
  "$PY" - "$txt" "$WORK/$id.box" "$font" <<'EOF' || die "$txt: the render does not match the text"
import sys, unicodedata
txt, box, font = sys.argv[1:4]
text = open(txt, encoding="utf-8").read()
if unicodedata.normalize("NFC", text) != text:
    sys.exit(f"{txt}: not in Unicode NFC")
rows = [l.split(" ") for l in open(box, encoding="utf-8").read().split("\n") if l]
pages = {r[-1] for r in rows}
if pages != {"0"}:
    sys.exit(f"{txt}: rendered on {len(pages)} pages with {font}; shorten the text")
drawn = "".join(r[0] for r in rows if r[0].strip())
want = "".join(text.split())
if drawn != want:
    i = next((k for k in range(min(len(drawn), len(want))) if drawn[k] != want[k]), min(len(drawn), len(want)))
    sys.exit(f"{txt}: {font} dropped or changed characters near {want[max(0, i-20):i+20]!r}")
lines = sum(1 for r in rows if r[0] == "\t") + 1
if lines != sum(1 for l in text.splitlines() if l.strip()):
    sys.exit(f"{txt}: {lines} lines drawn for {sum(1 for l in text.splitlines() if l.strip())} in the text: a line was wrapped")
EOF
}

# ---- 2. scan: make the batch ---------------------------------------------
rm -rf samples/batch
mkdir -p samples/batch
: >"$WORK/manifest.tsv"
n=0
while read -r dossier file frame text font format color skew rot dpi noise speckle stored; do
  case "$dossier" in ''|'#'*) continue ;; esac
  n=$((n + 1))
  [ -f "$WORK/$text.tif" ] || render "$text" "$font"
  mkdir -p "samples/batch/$dossier"
  args=(--in "$WORK/$text.tif" --in-dpi 600 --out "samples/batch/$dossier/$file"
        --format "$format" --color "$color" --skew "$skew" --rot "$rot" --dpi "$dpi"
        --seed $((SEED * 100 + n)) --noise "$noise" --speckle "$speckle")
  [ "$stored" = n ] && args+=(--no-dpi)
  [ "$frame" != - ] && [ "$frame" -gt 0 ] && args+=(--append)
  "$MKSAMPLE" "${args[@]}" || die "mksample failed for $dossier/$file frame $frame"
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$dossier" "$file" "$frame" "$text" \
    "${FONT[$font]}" "$format" "$color" "$skew" "$rot" "$dpi" "$stored" $((SEED * 100 + n)) >>"$WORK/manifest.tsv"
done <<<"$PAGES"

# ---- 3. truth.json ---------------------------------------------------------
"$PY" - "$WORK/manifest.tsv" "$SEED" samples/truth.json <<'EOF' || die "writing samples/truth.json failed"
import json, sys
manifest, seed, out = sys.argv[1], int(sys.argv[2]), sys.argv[3]
fmt = {"g4": "tif-g4", "lzw": "tif-lzw", "jpeg": "jpg", "png": "png"}
dossiers = {}
for line in open(manifest, encoding="utf-8"):
    d, f, frame, text, font, form, color, skew, rot, dpi, stored, fseed = line.rstrip("\n").split("\t")
    e = {"file": f}
    if frame != "-":
        e["frame"] = int(frame)
    e.update(kind="page", skew=float(skew), rotation=int(rot), dpi=int(dpi), font=font,
             format=fmt[form], color="bilevel" if form == "g4" else color,
             dpi_stored=stored == "y", seed=int(fseed), text=f"text/{text}.txt",
             pages=[open(f"samples/text/{text}.txt", encoding="utf-8").read().rstrip("\n")])
    dossiers.setdefault(d, []).append(e)
with open(out + ".tmp", "w", encoding="utf-8") as fh:
    json.dump({"profile": "samples", "seed": seed, "dossiers": dossiers}, fh, ensure_ascii=False, indent=1)
    fh.write("\n")
import os
os.replace(out + ".tmp", out)
EOF

echo "make-samples: $n pages in $(find samples/batch -mindepth 1 -maxdepth 1 -type d | wc -l) dossiers, $(du -sh samples/batch | cut -f1) in samples/batch"

# ---- 4. optional check: OCR each page, CER against the truth --------------
# Two figures per page: the file as scanned (Tesseract alone: a turned page
# reads as garbage, a skewed one may lose lines), and the page set upright
# with the known geometry undone (quarter turn back, then skew back), which
# tells whether the image itself carries the text.
[ "$CHECK" = 1 ] || exit 0
command -v tesseract >/dev/null || die "tesseract not found (Debian package tesseract-ocr)"
mkdir -p "$WORK/ocr"
ocr() {   # ocr IMAGE OUTBASE DPI
  OMP_THREAD_LIMIT=1 tesseract "$1" "$2" -l vie --dpi "$3" >/dev/null 2>&1 || die "tesseract failed on $1"
}
while IFS=$'\t' read -r dossier file frame text _font _format _color skew rot dpi _rest; do
  src=samples/batch/$dossier/$file
  base=$WORK/ocr/$dossier-${file%.*}
  k=${frame/-/0}
  [ "$k" = 0 ] && ocr "$src" "$base.scan" "$dpi"
  up=$base-$k.up.png
  "$MKSAMPLE" --in "$src" --in-frame "$k" --in-dpi "$dpi" --dpi "$dpi" --out "$up" \
    --format png --rot $(( (360 - rot) % 360 )) --noise 0 --speckle 0 --paper 255 --ink 0
  "$MKSAMPLE" --in "$up" --in-dpi "$dpi" --dpi "$dpi" --out "$up" --format png \
    --skew "$(awk -v s="$skew" 'BEGIN { printf "%g", -s }')" --noise 0 --speckle 0 --paper 255 --ink 0
  ocr "$up" "${up%.png}" "$dpi"
done <"$WORK/manifest.tsv"
"$PY" - "$WORK/manifest.tsv" "$WORK/ocr" <<'EOF'
import sys, unicodedata, Levenshtein
manifest, ocr = sys.argv[1], sys.argv[2]
def norm(s):
    return " ".join(unicodedata.normalize("NFC", s).split())
def cer(ref, hyp):
    return Levenshtein.distance(ref, norm(hyp)) / len(ref)
worst = 0.0
print(f"{'page':32s} {'text':22s} {'chars':>5s}  CER as scanned  CER upright")
for line in open(manifest, encoding="utf-8"):
    d, f, frame, text, *_ = line.rstrip("\n").split("\t")
    k = 0 if frame == "-" else int(frame)
    stem = f"{ocr}/{d}-{f.rsplit('.', 1)[0]}"
    ref = norm(open(f"samples/text/{text}.txt", encoding="utf-8").read())
    scan = open(f"{stem}.scan.txt", encoding="utf-8").read().split("\f")
    up = open(f"{stem}-{k}.up.txt", encoding="utf-8").read()
    c_scan = cer(ref, scan[k] if k < len(scan) else "")
    c_up = cer(ref, up)
    worst = max(worst, c_up)
    name = f"{d}/{f}" + ("" if frame == "-" else f" frame {frame}")
    print(f"{name:32s} {text:22s} {len(ref):5d}  {c_scan*100:13.2f}%  {c_up*100:10.2f}%")
print(f"worst upright CER {worst*100:.2f}%")
sys.exit(1 if worst > 0.05 else 0)
EOF
