#!/usr/bin/env bash
# eval.sh — figures for the header fields (ocr/fields.c): per-field accuracy
# and start-of-document detection on three sets.  What `make eval-fields`
# runs (after building the tools below).
#
#   bash tests/fields/eval.sh [--reuse] [--first N] [--cont N] [--seed S]
#                             [--sets gen,corpus,real] [--verbose]
#
#   gen     N first pages (default 48) in the NĐ 30 two-column layout and
#           continuation pages (default 16), made by tests/fields/gen.py
#           (text2image + mkheader + mksample) under the scratch folder;
#           --seed S (default 3030) draws another set, e.g. a held-out one
#   corpus  ../shared/corpus/batch: every page; truth from truth.json
#   real    ../shared/real Vietnamese công văn / quyết định scans; truth
#           written by hand in tests/fields/real-truth.json
# Each image is OCRed once by fields_cli (decode, prep, Tesseract, as a
# worker does) and its words kept: --reuse scores again from the kept
# words without OCR (fields_cli --from-words), so the extractor can be
# changed and re-measured in seconds.  Scratch: $FIELDS_WORK (default
# /tmp/sohoa-fields-eval); nothing is written in the repository.
# Environment: BUILD (build folder holding tools/fields_cli, mkheader,
# mksample; default build), SOHOA_SHARED (default ../shared).
set -euo pipefail

cd "$(dirname "$0")/../.."
ROOT=$PWD
BUILD=${BUILD:-build}
SHARED=${SOHOA_SHARED:-../shared}
WORK=${FIELDS_WORK:-/tmp/sohoa-fields-eval}
PY=/usr/bin/python3
REUSE=0 FIRST=48 CONT=16 SEED=3030 SETS=gen,corpus,real VERBOSE=
while [ $# -gt 0 ]; do
  case "$1" in
    --reuse) REUSE=1 ;;
    --first) FIRST=$2; shift ;;
    --cont) CONT=$2; shift ;;
    --seed) SEED=$2; shift ;;
    --sets) SETS=$2; shift ;;
    --verbose) VERBOSE=--verbose ;;
    -h|--help) sed -n '2,23p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "eval.sh: unknown argument '$1' (try --help)" >&2; exit 2 ;;
  esac
  shift
done
die() { echo "eval.sh: $*" >&2; exit 1; }
CLI=$ROOT/$BUILD/tools/fields_cli
for t in fields_cli mkheader mksample; do
  [ -x "$ROOT/$BUILD/tools/$t" ] || die "$BUILD/tools/$t missing: run 'make eval-fields'"
done
command -v text2image >/dev/null || die "text2image not found (Debian package tesseract-ocr)"
export OMP_THREAD_LIMIT=1
mkdir -p "$WORK"

# ocr SET DIR FILE...: words of every page into $WORK/SET.words.jsonl
ocr() {
  local set=$1 dir=$2; shift 2
  local words=$WORK/$set.words.jsonl
  if [ "$REUSE" = 1 ] && [ -s "$words" ]; then
    echo "eval.sh: $set: reusing $words"
    return
  fi
  echo "eval.sh: $set: OCR of $# files (Tesseract, one core)…"
  (cd "$dir" && "$CLI" --words "$@") >"$words.tmp" || true
  mv "$words.tmp" "$words"
}

# score SET TRUTH KIND
score() {
  "$CLI" --from-words "$WORK/$1.words.jsonl" >"$WORK/$1.fields.jsonl" || true
  "$PY" tests/fields/score.py "$1" "$2" "$WORK/$1.fields.jsonl" --kind "$3" $VERBOSE |
    tee -a "$WORK/report.txt"
}
: >"$WORK/report.txt"

want() { case ",$SETS," in *",$1,"*) return 0 ;; *) return 1 ;; esac; }

# ---- generated pages -------------------------------------------------------
GEN=$WORK/gen
if ! want gen; then
  :
elif [ "$REUSE" = 0 ] || [ ! -s "$GEN/truth.json" ] ||
     [ "$("$PY" -c 'import json,sys; print(json.load(open(sys.argv[1]))["seed"])' "$GEN/truth.json")" != "$SEED" ]; then
  rm -rf "$GEN"
  echo "eval.sh: gen: making $FIRST first pages and $CONT continuation pages…"
  "$PY" tests/fields/gen.py --out "$GEN" --first "$FIRST" --cont "$CONT" --seed "$SEED" \
    --mkheader "$ROOT/$BUILD/tools/mkheader" --mksample "$ROOT/$BUILD/tools/mksample" \
    2>"$WORK/gen.log" || { tail -5 "$WORK/gen.log" >&2; die "gen.py failed"; }
  rm -rf "$GEN/work"
  REUSE_GEN=0
else
  REUSE_GEN=$REUSE
fi
if want gen; then
  mapfile -t files < <(cd "$GEN" && ls scans/* | sort)
  REUSE=$REUSE_GEN ocr gen "$GEN" "${files[@]}"
  score gen "$GEN/truth.json" gen
fi

# ---- shared corpus --------------------------------------------------------
if ! want corpus; then
  :
elif [ -f "$SHARED/corpus/truth.json" ]; then
  mapfile -t files < <(cd "$SHARED/corpus/batch" && ls -d */* | sort)
  ocr corpus "$SHARED/corpus/batch" "${files[@]}"
  score corpus "$SHARED/corpus/truth.json" corpus
else
  echo "eval.sh: $SHARED/corpus absent: corpus set skipped"
fi

# ---- real scans -------------------------------------------------------------
if ! want real; then
  :
elif [ -d "$SHARED/real/vietnamese" ]; then
  mapfile -t files < <("$PY" -c '
import json, sys
seen = []
for p in json.load(open(sys.argv[1], encoding="utf-8"))["pages"]:
    if p["file"] not in seen:
        seen.append(p["file"])
print("\n".join(seen))' tests/fields/real-truth.json)
  ocr real "$SHARED/real" "${files[@]}"
  score real tests/fields/real-truth.json real
else
  echo "eval.sh: $SHARED/real absent: real set skipped"
fi
echo "eval.sh: report in $WORK/report.txt"
