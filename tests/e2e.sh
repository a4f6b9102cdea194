#!/usr/bin/env bash
# e2e.sh — end-to-end tests of the sohoa command over samples/.
#
#   SOHOA=build/sohoa [SOHOA_ASAN=build-asan/sohoa] bash tests/e2e.sh [NAME]
#
# Each test is a function t_NAME; the script runs them all (or those whose
# name contains NAME) and ends with "e2e: N passed, N failed, N skipped".
# The warehouse of the first run is shared by the tests that only read it.
set -uo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
SOHOA=${SOHOA:-$ROOT/build/sohoa}
SOHOA_ASAN=${SOHOA_ASAN:-}
SHARED=${SOHOA_SHARED:-$ROOT/../shared}
PY=/usr/bin/python3
TMP=$(mktemp -d /tmp/sohoa-e2e-XXXXXX)
trap 'rm -rf "$TMP"' EXIT
WH=$TMP/wh
LOG=$TMP/log
pass=0 fail=0 skip=0

die() { echo "  $*" >&2; return 1; }
sql() { sqlite3 -batch -noheader "$1/catalog.db" "$2"; }
jq_py() { $PY -c "import json,sys; d=json.load(sys.stdin); print($1)"; }

# The shared run: every sample dossier, two workers.
setup() {
    [ -f "$WH/catalog.db" ] && return 0
    "$SOHOA" run --warehouse "$WH" --jobs 2 samples/batch >"$LOG.first" 2>&1
    echo $? >"$TMP/first.rc"
}

t_run_exit_and_status() {
    setup
    [ "$(cat "$TMP/first.rc")" = 0 ] || { cat "$LOG.first"; die "run exit $(cat "$TMP/first.rc")"; } || return 1
    "$SOHOA" status --warehouse "$WH" --json >"$TMP/status.json" || die "status failed" || return 1
    $PY - "$TMP/status.json" samples/truth.json <<'PY' || return 1
import json, os, sys
st = json.load(open(sys.argv[1])); truth = json.load(open(sys.argv[2]))
ds = {d["id"]: d for d in st["dossiers"]}
bad = 0
for did, files in truth["dossiers"].items():
    want = sum(len(f["pages"]) for f in files)
    d = ds.get(did)
    ok = d and d["state"] == "done" and d["pages"] == want and os.path.isfile(d["pdf"])
    print(f"  {did}: {d and d['state']} {d and d['pages']}/{want} pages")
    bad += not ok
sys.exit(bad)
PY
}

t_pages_text() { setup; $PY tests/e2e_check.py pages "$WH" samples/truth.json; }
t_word_boxes() { setup; $PY tests/e2e_check.py boxes "$WH" samples/truth.json; }
t_provenance() { setup; $PY tests/e2e_check.py geometry "$WH" samples/truth.json; }

t_pdf_structure() {
    setup
    local did
    for pdf in "$WH"/pdf/*.pdf; do
        qpdf --check "$pdf" >/dev/null 2>&1 || die "qpdf --check fails on $pdf" || return 1
        # G4 and JPEG pass-through: every page has its image, and no page
        # image is re-encoded as JPEG unless it came from a JPEG file.
        did=$(basename "$pdf" .pdf)
        pdfimages -list "$pdf" | awk 'NR>2 {print $1, $9}' >"$TMP/enc" || return 1
        sql "$WH" "SELECT pageno, source_name FROM page WHERE dossier='$did' AND pageno IS NOT NULL" >"$TMP/src" || return 1
        [ -s "$TMP/src" ] || die "$did: no pages in the catalog" || return 1
        awk 'NR == FNR { split($0, a, "|"); src[a[1]] = a[2]; next }
             { seen[$1] = 1
               if ($2 == "jpeg" && tolower(src[$1]) !~ /[.]jpe?g$/) {
                   print "page " $1 " (" src[$1] ") re-encoded as JPEG"; bad = 1 } }
             END { for (p in src) if (!seen[p]) { print "page " p " (" src[p] ") has no image"; bad = 1 }
                   exit bad }' "$TMP/src" "$TMP/enc" || die "$did: page images" || return 1
    done
    # The 1-bit TIFF pages are CCITT in the PDF.
    pdfimages -list "$WH/pdf/HS-2024-00001.pdf" | awk 'NR>2 {print $9}' | grep -qx ccitt ||
        die "1-bit pages are not CCITT G4" || return 1
    # The JPEG page is embedded byte for byte.
    mkdir -p "$TMP/img" && pdfimages -j -f 1 -l 1 "$WH/pdf/HS-2024-00002.pdf" "$TMP/img/p" &&
        cmp -s "$TMP/img/p-000.jpg" samples/batch/HS-2024-00002/0001.jpg ||
        die "JPEG was not passed through unchanged" || return 1
}

search_total() { "$SOHOA" search --warehouse "$WH" --json "$@" | jq_py 'd["total"]'; }

t_search_diacritics() {
    setup
    local n0 n
    n0=$(search_total "đất đai") || return 1
    [ "$n0" -ge 2 ] || die "'đất đai' found $n0 pages" || return 1
    for q in "dat dai" "DAT DAI" "Đất Đai" "ĐẤT ĐAI" "Ðất đai"; do
        n=$(search_total "$q") || return 1
        [ "$n" -ge "$n0" ] || die "'$q' found $n pages, 'đất đai' $n0" || return 1
    done
    n=$(search_total '"quyen su dung dat"') || return 1
    [ "$n" -ge 1 ] || die "phrase 'quyen su dung dat' not found" || return 1
    # the hit is on the right page: the page whose truth holds the phrase
    "$SOHOA" search --warehouse "$WH" --json "quyền sử dụng đất" >"$TMP/s.json" || return 1
    $PY - "$TMP/s.json" samples/truth.json <<'PY' || return 1
import json, sys, unicodedata
hits = json.load(open(sys.argv[1]))["hits"]; truth = json.load(open(sys.argv[2]))
want = set()
for did, files in truth["dossiers"].items():
    pages = [p for f in files for p in f["pages"]]
    for i, p in enumerate(pages, 1):
        if "quyền sử dụng đất" in " ".join(unicodedata.normalize("NFC", p).split()):
            want.add((did, i))
got = {(h["dossier"], h["page"]) for h in hits}
print(f"  truth pages {sorted(want)}; hits {sorted(got)}")
assert want and want <= got, "a page holding the phrase was not found"
assert all("[" in h["snippet"] for h in hits), "snippet without highlight"
PY
}

t_search_user_syntax() {
    setup
    for q in 'agency : B' '"x' 'NEAR(' 'dat*' '-dat' '(((' '"""' 'dat OR dai' '^'; do
        "$SOHOA" search --warehouse "$WH" --json -- "$q" >/dev/null 2>"$TMP/err" ||
            { cat "$TMP/err"; die "query '$q' failed"; } || return 1
    done
    head -c 10240 /dev/urandom | base64 -w0 >"$TMP/big"
    "$SOHOA" search --warehouse "$WH" --json "$(cat "$TMP/big")" >/dev/null || die "10 KB query failed"
}

# sohoa optimize: the index of a copy of the warehouse merged into one
# b-tree; the same search gives the same hits after, and a second one has
# nothing left to do.
t_optimize() {
    setup
    rm -rf "$TMP/opt" && cp -r "$WH" "$TMP/opt" || return 1
    "$SOHOA" search --warehouse "$TMP/opt" --json --limit 50 "đất đai" >"$TMP/opt.before" || return 1
    "$SOHOA" optimize --warehouse "$TMP/opt" --json >"$TMP/opt.json" 2>"$LOG.opt" ||
        { cat "$LOG.opt"; die "sohoa optimize failed"; } || return 1
    $PY - "$TMP/opt.json" <<'PY' || return 1
import json, sys
r = json.load(open(sys.argv[1]))
print(f"  optimize: {r}")
assert r["done"] and r["segments"] == 1, r
PY
    "$SOHOA" search --warehouse "$TMP/opt" --json --limit 50 "đất đai" >"$TMP/opt.after" || return 1
    sed -i "s#$TMP/opt#WH#g" "$TMP/opt.before" "$TMP/opt.after"
    cmp -s "$TMP/opt.before" "$TMP/opt.after" || die "hits changed by optimize" || return 1
    "$SOHOA" optimize --warehouse "$TMP/opt" --json | grep -q '"steps": 0' ||
        die "a second optimize found work left" || return 1
}

t_rerun_does_nothing() {
    setup
    local before after
    before=$(sql "$WH" "SELECT group_concat(id||pdf_sha256||updated) FROM dossier")
    local m1; m1=$(stat -c %Y "$WH"/pdf/*.pdf | md5sum)
    "$SOHOA" run --warehouse "$WH" --jobs 2 samples/batch >"$LOG.rerun" 2>&1 || die "rerun failed" || return 1
    grep -q "0 pages to recognise" "$LOG.rerun" || { cat "$LOG.rerun"; die "rerun did OCR work"; } || return 1
    after=$(sql "$WH" "SELECT group_concat(id||pdf_sha256||updated) FROM dossier")
    [ "$before" = "$after" ] || die "catalog changed on rerun" || return 1
    [ "$m1" = "$(stat -c %Y "$WH"/pdf/*.pdf | md5sum)" ] || die "PDFs rewritten on rerun"
}

t_added_file_picked_up() {
    local B=$TMP/b-add W=$TMP/wh-add
    mkdir -p "$B/HS-1" && cp samples/batch/HS-2024-00003/0001.tif "$B/HS-1/0001.tif"
    "$SOHOA" run --warehouse "$W" --jobs 2 "$B" >"$LOG.add1" 2>&1 || die "first run failed" || return 1
    cp samples/batch/HS-2024-00003/0002.tif "$B/HS-1/0002.tif"
    "$SOHOA" run --warehouse "$W" --jobs 2 "$B" >"$LOG.add2" 2>&1 || { cat "$LOG.add2"; die "second run failed"; } || return 1
    grep -q "1 page to recognise" "$LOG.add2" || { cat "$LOG.add2"; die "expected exactly the new page to be recognised"; } || return 1
    [ "$(sql "$W" "SELECT pages FROM dossier WHERE id='HS-1'")" = 2 ] || die "dossier should have 2 pages" || return 1
    [ "$(pdfinfo "$W/pdf/HS-1.pdf" | awk '/^Pages:/ {print $2}')" = 2 ] || die "PDF should have 2 pages" || return 1
    [ "$(sql "$W" "SELECT count(*) FROM page WHERE dossier='HS-1' AND pageno IS NOT NULL")" = 2 ] || die "pages not placed"
}

t_bad_input_reported() {
    local B=$TMP/b-bad W=$TMP/wh-bad
    mkdir -p "$B/HS-GOOD" "$B/HS-BAD"
    cp samples/batch/HS-2024-00003/0002.tif "$B/HS-GOOD/"
    cp samples/batch/HS-2024-00003/0002.tif "$B/HS-BAD/0001.tif"
    head -c 3000 samples/batch/HS-2024-00002/0001.jpg >"$B/HS-BAD/0002.jpg"   # truncated
    echo "not an image" >"$B/HS-BAD/0003.tif"
    "$SOHOA" run --warehouse "$W" --jobs 2 "$B" >"$LOG.bad" 2>&1
    local rc=$?
    [ $rc = 1 ] || { cat "$LOG.bad"; die "exit status $rc, want 1"; } || return 1
    grep -q "HS-BAD/0002.jpg" "$LOG.bad" || { cat "$LOG.bad"; die "truncated JPEG not named in the log"; } || return 1
    grep -q "HS-BAD/0003.tif" "$LOG.bad" || { cat "$LOG.bad"; die "bogus TIFF not named in the log"; } || return 1
    [ "$(sql "$W" "SELECT state FROM dossier WHERE id='HS-GOOD'")" = done ] || die "good dossier not done" || return 1
    [ "$(sql "$W" "SELECT state FROM dossier WHERE id='HS-BAD'")" = failed ] || die "bad dossier not failed" || return 1
    sql "$W" "SELECT error FROM dossier WHERE id='HS-BAD'" | grep -q "0002.jpg" || die "catalog error does not name the file" || return 1
    [ ! -e "$W/pdf/HS-BAD.pdf" ] || die "a failed dossier must not get a PDF"
}

t_usage_errors() {
    "$SOHOA" run --warehouse "$TMP/wh-u" /nonexistent >/dev/null 2>"$TMP/err"
    [ $? = 2 ] || die "missing batch folder should exit 2" || return 1
    grep -q /nonexistent "$TMP/err" || die "message should name the folder" || return 1
    "$SOHOA" frobnicate >/dev/null 2>&1; [ $? = 2 ] || die "unknown command should exit 2" || return 1
    "$SOHOA" search --warehouse "$TMP/none" x >/dev/null 2>&1; [ $? = 2 ] || die "missing warehouse should exit 2"
}

t_lock_held() {
    setup
    # hold the lock as a run would
    ( flock -n 9 || exit 1; sleep 3 ) 9>"$WH/.lock" &
    sleep 0.5
    "$SOHOA" run --warehouse "$WH" samples/batch >/dev/null 2>"$TMP/err"
    local rc=$?
    wait
    [ $rc = 3 ] || die "second run should exit 3, got $rc" || return 1
    grep -qi "another sohoa run" "$TMP/err" || die "no clear message"
}

t_asan_pipeline() {
    [ -n "$SOHOA_ASAN" ] && [ -x "$SOHOA_ASAN" ] || return 77
    local B=$TMP/b-asan W=$TMP/wh-asan
    mkdir -p "$B" && cp -r samples/batch/HS-2024-00001 samples/batch/HS-2024-00002 "$B/"
    mkdir -p "$B/HS-BAD" && head -c 5000 samples/batch/HS-2024-00002/0002.jpg >"$B/HS-BAD/0001.jpg"
    ASAN_OPTIONS=halt_on_error=1:detect_leaks=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
        "$SOHOA_ASAN" run --warehouse "$W" --jobs 2 "$B" >"$LOG.asan" 2>&1
    local rc=$?
    grep -q "ERROR: AddressSanitizer\|runtime error:\|LeakSanitizer" "$LOG.asan" && { cat "$LOG.asan"; die "sanitizer report"; } && return 1
    [ $rc = 1 ] || { cat "$LOG.asan"; die "exit $rc, want 1 (one bad dossier)"; } || return 1
    ASAN_OPTIONS=halt_on_error=1:detect_leaks=1 "$SOHOA_ASAN" search --warehouse "$W" --json "dat dai" >/dev/null 2>"$LOG.asan2" || { cat "$LOG.asan2"; die "search under ASan failed"; }
}

# Two-up sheets fed in all four orientations, and a blank back with punch
# holes, a staple, bleed-through and a page number: made here with
# samples/tools/mksample from two sample pages.
t_hard_pages() {
    local M=$ROOT/build/tools/mksample S=samples/batch/HS-2024-00002
    [ -x "$M" ] || make -s build/tools/mksample >/dev/null || return 1
    local B=$TMP/b-hard W=$TMP/wh-hard D
    D=$B/HS-HARD && mkdir -p "$D"
    "$M" --in $S/0001.jpg --right $S/0003.png --in-dpi 300 --out "$D/0001.tif" --format g4 --rot 0 --skew 1.2 --seed 11 &&
    "$M" --in $S/0001.jpg --right $S/0003.png --in-dpi 300 --out "$D/0002.jpg" --format jpeg --rot 90 --skew -0.8 --seed 12 &&
    "$M" --in $S/0001.jpg --right $S/0003.png --in-dpi 300 --out "$D/0003.tif" --format lzw --rot 180 --dpi 200 --seed 13 &&
    "$M" --in $S/0001.jpg --right $S/0003.png --in-dpi 300 --out "$D/0004.png" --format png --rot 270 --skew 2 --seed 14 &&
    "$M" --in $S/0001.jpg --in-dpi 300 --out "$D/0005.jpg" --format jpeg --blank --seed 15 || return 1
    "$SOHOA" run --warehouse "$W" --jobs 2 "$B" >"$LOG.hard" 2>&1 || { cat "$LOG.hard"; die "run failed"; } || return 1
    [ "$(sql "$W" "SELECT pages||'/'||sheets||'/'||blanks FROM dossier WHERE id='HS-HARD'")" = 8/5/1 ] ||
        die "pages/sheets/blanks: $(sql "$W" "SELECT pages||'/'||sheets||'/'||blanks FROM dossier")" || return 1
    $PY - "$W/pdf/HS-HARD.pdf" samples/truth.json <<'PY' || return 1
import json, subprocess, sys, unicodedata
import Levenshtein
n = lambda s: " ".join(unicodedata.normalize("NFC", s).split())
truth = json.load(open(sys.argv[2]))["dossiers"]["HS-2024-00002"]
left = [f for f in truth if f["file"] == "0001.jpg"][0]["pages"][0]
right = [f for f in truth if f["file"] == "0003.png"][0]["pages"][0]
raw = subprocess.run(["pdftotext", "-raw", sys.argv[1], "-"], capture_output=True).stdout.decode()
pages = [p for p in raw.split("\f") if p.strip()]
assert len(pages) == 8, f"{len(pages)} pages"
bad = 0
for i, p in enumerate(pages):
    want = left if i % 2 == 0 else right
    c = Levenshtein.distance(n(want), n(p)) / len(n(want))
    print(f"  sheet {i // 2 + 1} {'left ' if i % 2 == 0 else 'right'}: CER {c * 100:.2f}%")
    bad += c > 0.03
sys.exit(bad)
PY
    sql "$W" "SELECT kind FROM page WHERE source_name='0005.jpg'" | grep -qx blank || die "blank back not recorded" || return 1
    # turned sheets are recorded as such
    [ "$(sql "$W" "SELECT group_concat(quarter) FROM (SELECT quarter FROM page WHERE part=0 AND kind='page' ORDER BY source_name)")" = "0,1,2,3" ] ||
        die "quarters: $(sql "$W" "SELECT group_concat(quarter) FROM page WHERE part=0")" || return 1
    # --keep-blanks keeps the blank page
    mkdir -p "$TMP/b-keep/HS-KEEP" && cp "$D/0005.jpg" "$TMP/b-keep/HS-KEEP/0002.jpg" &&
        cp samples/batch/HS-2024-00003/0002.tif "$TMP/b-keep/HS-KEEP/0001.tif"
    "$SOHOA" run --warehouse "$TMP/wh-keep" --keep-blanks --jobs 2 "$TMP/b-keep" >"$LOG.keep" 2>&1
    [ "$(sql "$TMP/wh-keep" "SELECT pages FROM dossier WHERE id='HS-KEEP'")" = 2 ] || die "--keep-blanks: $(sql "$TMP/wh-keep" "SELECT pages FROM dossier WHERE id='HS-KEEP'") pages"
}

# A born-digital PDF (text drawn with a font, no scan: what "print to
# PDF" gives) is rendered at 300 dpi, read and found.
t_born_digital() {
    local M=$ROOT/build/tools/mktextpdf B=$TMP/b-word W=$TMP/wh-word
    [ -x "$M" ] || make -s build/tools/mktextpdf >/dev/null || return 1
    mkdir -p "$B/HS-WORD" && cp samples/batch/HS-2024-00003/0002.tif "$B/HS-WORD/0001.tif" || return 1
    "$M" "$B/HS-WORD/0002.pdf" "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM" "Độc lập - Tự do - Hạnh phúc" \
        "Quyết định về việc cấp giấy chứng nhận quyền sử dụng đất" \
        --page --font "Liberation Serif" "Điều 1. Giao cho ông Nguyễn Văn Bình thửa đất số 128" || return 1
    "$SOHOA" run --warehouse "$W" --jobs 2 "$B" >"$LOG.word" 2>&1 || { cat "$LOG.word"; die "run failed"; } || return 1
    [ "$(sql "$W" "SELECT state||'/'||pages FROM dossier WHERE id='HS-WORD'")" = done/3 ] ||
        die "dossier: $(sql "$W" "SELECT state||'/'||pages||' '||coalesce(error,'') FROM dossier")" || return 1
    [ "$(sql "$W" "SELECT group_concat(codec) FROM (SELECT codec FROM page WHERE source_name='0002.pdf' ORDER BY frame)")" = rendered,rendered ] ||
        die "codec: $(sql "$W" "SELECT group_concat(codec) FROM page")" || return 1
    local q n
    for q in "hạnh phúc" "Nguyễn Văn Bình" "chứng nhận"; do
        n=$("$SOHOA" search --warehouse "$W" --json "$q" | jq_py 'd["total"]') || return 1
        [ "$n" -ge 1 ] || die "search '$q' finds nothing" || return 1
    done
}

# A scanner's JPEG-in-TIFF (samples/tools/mkjpegtiff from a colour sample
# page): in one strip its JPEG goes into the PDF as it is (DCTDecode), in
# strips of 16 rows it is decoded and Flate-coded as before; both read.
t_jpeg_tiff_dct() {
    local M=$ROOT/build/tools/mkjpegtiff B=$TMP/b-jt W=$TMP/wh-jt
    [ -x "$M" ] || make -s build/tools/mkjpegtiff >/dev/null || return 1
    mkdir -p "$B/HS-JT" || return 1
    "$M" samples/batch/HS-2024-00002/0002.jpg "$B/HS-JT/0001.tif" || return 1
    "$M" samples/batch/HS-2024-00002/0002.jpg "$B/HS-JT/0002.tif" 16 || return 1
    "$SOHOA" run --warehouse "$W" --jobs 2 "$B" >"$LOG.jt" 2>&1 || { cat "$LOG.jt"; die "run failed"; } || return 1
    [ "$(sql "$W" "SELECT state||'/'||pages FROM dossier WHERE id='HS-JT'")" = done/2 ] ||
        die "dossier: $(sql "$W" "SELECT state||'/'||pages||' '||coalesce(error,'') FROM dossier")" || return 1
    local enc
    enc=$(pdfimages -list "$W/pdf/HS-JT.pdf" | awk 'NR > 2 {printf "%s ", $9}')
    [ "$enc" = "jpeg image " ] || die "image encodings: '$enc' (want 'jpeg image ')" || return 1
    qpdf --check "$W/pdf/HS-JT.pdf" >/dev/null 2>&1 || die "qpdf --check fails" || return 1
    local n
    n=$("$SOHOA" search --warehouse "$W" --json "hạnh phúc" | jq_py 'd["total"]') || return 1
    [ "$n" -ge 1 ] || die "text not recognised: search finds nothing" || return 1
    local words
    words=$(pdftotext -f 1 -l 1 "$W/pdf/HS-JT.pdf" - | wc -w)
    [ "$words" -ge 20 ] || die "page 1 text layer has $words words" || return 1
}

# --version: the Makefile's VERSION (its one place), then the libraries.
t_version() {
    local want out
    want=$(sed -n 's/^VERSION *:= *//p' Makefile)
    [ -n "$want" ] || die "no VERSION in the Makefile" || return 1
    out=$("$SOHOA" --version) || die "--version: exit $?" || return 1
    echo "$out"
    [ "$(echo "$out" | head -n 1)" = "sohoa $want" ] || die "first line is not 'sohoa $want'" || return 1
    for lib in tesseract leptonica sqlite; do
        echo "$out" | grep -Eq "^$lib [0-9]+[.][0-9]+" || die "no $lib version" || return 1
    done
    [ "$("$SOHOA" version)" = "$out" ] || die "'sohoa version' differs from --version" || return 1
}

tests=$(declare -F | awk '{print $3}' | grep '^t_')
for t in $tests; do
    [ -n "${1:-}" ] && [[ $t != *"$1"* ]] && continue
    out=$($t 2>&1); rc=$?
    if [ $rc = 0 ]; then pass=$((pass+1)); echo "ok   ${t#t_}";
    elif [ $rc = 77 ]; then skip=$((skip+1)); echo "skip ${t#t_}";
    else fail=$((fail+1)); echo "FAIL ${t#t_}"; echo "$out" | sed 's/^/     /' | tail -40; fi
    [ "${VERBOSE:-}" ] && echo "$out" | sed 's/^/     /'
done
echo "e2e: $pass passed, $fail failed, $skip skipped"
[ $fail = 0 ]
