#!/usr/bin/env bash
# export.sh — end to end: a batch with a manifest.csv (Nghị định 30/2020
# Phụ lục VI metadata) through `sohoa run`, then `sohoa export`.
#
#   SOHOA=build/sohoa bash tests/export.sh
#
# The manifest (written as Excel in a Vietnamese locale writes it: BOM,
# ';', CRLF) has one valid row (HS-2024-00002), one row with an impossible
# date (HS-2024-00003: that dossier must fail, naming the file, row 3 and
# column StartDate) and no row for HS-2024-00001 (done, without metadata).
# Then every done dossier is exported and the result checked: qpdf --check
# on every PDF, the copy's SHA-256 against the catalog, pdfinfo page counts
# of the per-document PDFs against the XML, the XML and both CSV tables
# parsed with Python; refusals (a dossier not done, a changed PDF), skip
# and --force, usage errors.
#
# The run must also: find HS-2024-00002's three văn bản (one per page) with
# their header fields, write every PDF as PDF/A-2b with the manifest's
# values in its XMP, and rebuild a dossier's PDF when its manifest row
# changes (and only then).
set -uo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
SOHOA=${SOHOA:-$ROOT/build/sohoa}
PY=/usr/bin/python3
TMP=$(mktemp -d /tmp/sohoa-export-XXXXXX)
trap 'rm -rf "$TMP"' EXIT
WH=$TMP/wh OUT=$TMP/out B=$TMP/batch
pass=0 fail=0

ok() { echo "ok   $1"; pass=$((pass + 1)); }
bad() { echo "FAIL $1"; fail=$((fail + 1)); }
sql() { sqlite3 -batch -noheader "$WH/catalog.db" "$1"; }

cp -r samples/batch "$B"
printf '\xEF\xBB\xBF' >"$B/manifest.csv"
printf '%s\r\n' \
  'Dossier;OrganId;FileCatalog;FileNotation;Title;Thời hạn bảo quản;Rights;StartDate;EndDate;PageTotal' \
  'HS-2024-00002;000.00.00.H40;2024;07/VP;"Hồ sơ phòng, chống thiên tai; năm 2024";10 năm;Công khai;14/04/2024;03/05/2024;3' \
  'HS-2024-00003;000.00.00.H29;2024;12;Hồ sơ báo cáo;Vĩnh viễn;;31/02/2024;;' \
  >>"$B/manifest.csv"

# ---- the run ---------------------------------------------------------------
"$SOHOA" run --warehouse "$WH" --jobs 2 --agency STNMT "$B" >"$TMP/run.log" 2>&1
run_rc=$?
FC2='000.00.00.H40.2024.07/VP' DIR2='000.00.00.H40.2024.07_VP'
    [ $run_rc = 1 ] && ok "run exits 1 (one dossier failed)" || { cat "$TMP/run.log"; bad "run exit $run_rc, want 1"; }
    st=$(sql "SELECT id||':'||state FROM dossier ORDER BY id" | tr '\n' ' ')
    [ "$st" = "HS-2024-00001:done HS-2024-00002:done HS-2024-00003:failed " ] &&
        ok "the dossier with the bad row failed, the others are done" || bad "states: $st"
    e=$(sql "SELECT error FROM dossier WHERE id='HS-2024-00003'")
    case "$e" in
    *manifest.csv*"row 3"*"column StartDate"*"31/02/2024"*) ok "its reason names file, row 3, column StartDate" ;;
    *) bad "reason: $e" ;;
    esac
    grep -q "manifest.csv.*row 3.*StartDate" "$TMP/run.log" && ok "the log names it too" || bad "log lacks the row error"
    [ -z "$(ls "$WH/pdf" | grep HS-2024-00003)" ] && ok "no PDF published for it" || bad "a PDF of HS-2024-00003 exists"
    m=$(sql "SELECT file_code||'|'||title||'|'||maintenance||'|'||start_date||'|'||end_date||'|'||manifest_row FROM dossier_meta WHERE dossier='HS-2024-00002'")
    [ "$m" = "$FC2|Hồ sơ phòng, chống thiên tai; năm 2024|10 năm|2024-04-14|2024-05-03|2" ] &&
        ok "dossier_meta holds the valid row (FileCode computed, dates ISO)" || bad "dossier_meta: $m"
    grep -q "HS-2024-00001.*has no row" "$TMP/run.log" && ok "a folder with no row is a warning" || bad "no warning for HS-2024-00001"

# ---- documents and header fields (HS-2024-00002: công văn, thông báo, kế hoạch)
docs=$(sql "SELECT ordinal||':'||first_page||'-'||last_page||':'||coalesce(type_name,'')||':'||coalesce(code_number,'')||'/'||coalesce(code_notation,'')||':'||coalesce(issued_date,'')||':'||origin FROM document WHERE dossier='HS-2024-00002' ORDER BY ordinal" | tr '\n' ' ')
[ "$docs" = "1:1-1:Công văn:318/UBND-NN:2024-04-14:ocr 2:2-2:Thông báo:46/TB-VPUB:2024-04-22:ocr 3:3-3:Kế hoạch:59/KH-UBND:2024-05-03:ocr " ] &&
    ok "three documents found, with type, number/notation and date read from their headers" || bad "documents: $docs"
subj=$(sql "SELECT subject FROM document WHERE dossier='HS-2024-00002' AND ordinal=1")
case "$subj" in *"tu bổ công trình thủy lợi"*) ok "the V/v trích yếu of the công văn is read" ;; *) bad "subject: $subj" ;; esac

# ---- PDF/A-2b and its metadata --------------------------------------------
P2=$WH/pdf/HS-2024-00002.pdf
$PY - "$P2" <<'PY' && ok "PDF/A: XMP with pdfaid 2/B, the manifest's FileCode and Title, DocTotal 3; sRGB OutputIntent" || bad "PDF/A metadata of $P2"
import re, sys, zlib
raw = open(sys.argv[1], "rb").read()
m = re.search(rb"<x:xmpmeta.*?</x:xmpmeta>", raw, re.S)
assert m, "no XMP packet"
x = m.group(0).decode("utf-8")
import xml.etree.ElementTree as ET
root = ET.fromstring(x)
txt = {}
for el in root.iter():
    tag = el.tag.split("}")[-1]
    if el.text and el.text.strip():
        txt.setdefault(tag, el.text.strip())
    for k, v in el.attrib.items():
        txt.setdefault(k.split("}")[-1], v)
assert txt.get("part") == "2" and txt.get("conformance") == "B", txt
assert txt.get("FileCode") == "000.00.00.H40.2024.07/VP", txt.get("FileCode")
assert "thiên tai" in x and txt.get("DocTotal") == "3", x
assert b"/OutputIntents" in raw and b"/GTS_PDFA1" in raw
assert b"/Encrypt" not in raw and b"/LZWDecode" not in raw
PY
qpdf --check "$P2" >/dev/null 2>&1 && ok "qpdf --check on the run's PDF" || bad "qpdf --check $P2"
[ "$(pdffonts "$P2" | awk 'NR>2 && $0 !~ / yes /' | wc -l)" = 0 ] && ok "pdffonts: every font embedded" || bad "a font not embedded"
pdftotext "$P2" "$TMP/p2.txt" && grep -q "thủy lợi" "$TMP/p2.txt" && ok "the text layer reads back with its accents (pdftotext)" || bad "pdftotext lost the accents"
grep -q "text layer read back" "$TMP/run.log" && ok "the run reports the read-back of each PDF" || bad "no read-back in the log"

# ---- a changed manifest row rebuilds that dossier only ---------------------
sum1=$(sha256sum "$WH/pdf/HS-2024-00001.pdf" | cut -d' ' -f1)
"$SOHOA" run --warehouse "$WH" --jobs 2 --agency STNMT "$B" >"$TMP/run2.log" 2>&1
grep -q "0 pages to recognise" "$TMP/run2.log" && grep -q "2 up to date" "$TMP/run2.log" &&
    ok "a second run changes nothing (2 up to date, the failed one retried from cache)" || { cat "$TMP/run2.log"; bad "second run"; }
sed -i 's/31\/02\/2024/28\/02\/2024/' "$B/manifest.csv"
"$SOHOA" run --warehouse "$WH" --jobs 2 --agency STNMT "$B" >"$TMP/run3.log" 2>&1
rc=$?
[ $rc = 0 ] && [ "$(sql "SELECT state FROM dossier WHERE id='HS-2024-00003'")" = done ] &&
    grep -q "0 pages to recognise" "$TMP/run3.log" &&
    [ "$(sql "SELECT start_date FROM dossier_meta WHERE dossier='HS-2024-00003'")" = 2024-02-28 ] &&
    ok "fixing the row: that dossier is done from cached OCR, its metadata stored" || { cat "$TMP/run3.log"; bad "after the fix: exit $rc"; }
[ "$(sha256sum "$WH/pdf/HS-2024-00001.pdf" | cut -d' ' -f1)" = "$sum1" ] &&
    ok "the other dossiers' PDFs are untouched" || bad "HS-2024-00001 was rebuilt"
"$SOHOA" run --warehouse "$WH" --jobs 2 --agency STNMT "$B" >/dev/null 2>&1
sql "UPDATE dossier SET state='failed' WHERE id='HS-2024-00003'"   # as before, for the export checks

# ---- usage -----------------------------------------------------------------
"$SOHOA" export --warehouse "$WH" --all >/dev/null 2>&1; [ $? = 2 ] && ok "no --to: exit 2" || bad "no --to"
"$SOHOA" export --warehouse "$WH" --all HS-2024-00001 --to "$OUT" >/dev/null 2>&1; [ $? = 2 ] && ok "ids and --all: exit 2" || bad "ids and --all"
"$SOHOA" export --warehouse "$TMP/none" --all --to "$OUT" >/dev/null 2>&1; [ $? = 2 ] && ok "no warehouse: exit 2" || bad "no warehouse"

# ---- export ----------------------------------------------------------------
"$SOHOA" export --warehouse "$WH" --all --to "$OUT" >"$TMP/exp.out" 2>"$TMP/exp.err"
rc=$?
[ $rc = 0 ] && grep -q "2 exported" "$TMP/exp.out" && ok "export --all: 2 exported, exit 0" ||
    { cat "$TMP/exp.out" "$TMP/exp.err"; bad "export --all exit $rc"; }
[ -d "$OUT/$DIR2" ] && [ -d "$OUT/HS-2024-00001" ] && [ ! -e "$OUT/HS-2024-00003" ] &&
    ok "folders: $DIR2 (FileCode with '/' made a file name), HS-2024-00001" || { ls -la "$OUT"; bad "export folders"; }

allpdf=0 badpdf=0
for f in "$OUT"/*/*.pdf; do
    allpdf=$((allpdf + 1))
    qpdf --check "$f" >/dev/null 2>&1 || { echo "  qpdf --check fails: $f"; badpdf=$((badpdf + 1)); }
done
[ $badpdf = 0 ] && [ $allpdf -ge 6 ] && ok "qpdf --check passes on all $allpdf PDFs" || bad "qpdf --check: $badpdf of $allpdf fail"

for d in HS-2024-00001 HS-2024-00002; do
    dir=$([ $d = HS-2024-00002 ] && echo "$DIR2" || echo $d)
    want=$(sql "SELECT pdf_sha256 FROM dossier WHERE id='$d'")
    got=$(sha256sum "$OUT/$dir/$dir.pdf" | cut -d' ' -f1)
    [ "$want" = "$got" ] && ok "$d: the PDF copy matches the catalog's SHA-256" || bad "$d: sha256 $got != $want"
done

$PY - "$OUT" "$DIR2" "$FC2" <<'PY' && ok "XML and CSV content (Python)" || bad "XML/CSV content"
import csv, os, subprocess, sys, xml.etree.ElementTree as ET
out, dir2, fc2 = sys.argv[1:4]
def pages(p):
    r = subprocess.run(["pdfinfo", p], capture_output=True, text=True, check=True)
    return int([l for l in r.stdout.splitlines() if l.startswith("Pages:")][0].split()[1])
errors = []
def check(c, what):
    if not c:
        errors.append(what)
ndocs = {}
for d in os.listdir(out):
    if d.startswith(".") or not os.path.isdir(os.path.join(out, d)):
        continue
    root = ET.parse(os.path.join(out, d, d + ".xml")).getroot()
    check(root.tag == "Dossier", "root element")
    docs = root.find("Documents").findall("Document")
    ndocs[d] = len(docs)
    total = pages(os.path.join(out, d, d + ".pdf"))
    check(root.findtext("PdfFile") == d + ".pdf", "PdfFile")
    check(int(root.find("PdfFile").get("pages")) == total, "PdfFile pages")
    check(int(root.findtext("DocTotal")) == len(docs) or root.find("DocTotal").get("source") == "manifest", "DocTotal")
    dates = []
    for doc in docs:
        f, l = int(doc.findtext("FirstPage")), int(doc.findtext("LastPage"))
        p = os.path.join(out, d, doc.findtext("File"))
        check(pages(p) == l - f + 1, f"{p}: pdfinfo pages != {l - f + 1}")
        check(int(doc.findtext("PageAmount")) == l - f + 1, "PageAmount")
        check(doc.findtext("File") == "%s.%03d.pdf" % (d, int(doc.findtext("DocOrdinal"))), "File name")
        dates.append(doc.findtext("IssuedDate") or "9999")
    check(dates == sorted(dates), f"{d}: documents not in date order: {dates}")
    if d == dir2:
        check(root.get("id") == "HS-2024-00002", "id")
        fc = root.find("FileCode")
        check(fc.text == fc2 and fc.get("source") == "manifest", f"FileCode {fc.text}")
        check(root.findtext("Title") == "Hồ sơ phòng, chống thiên tai; năm 2024", "Title")
        check(root.findtext("Maintenance") == "10 năm", "Maintenance")
        check(root.findtext("Rights") == "Công khai", "Rights")
        check(root.findtext("StartDate") == "2024-04-14" and root.findtext("EndDate") == "2024-05-03", "dates")
        check(root.findtext("PageTotal") == "3", "PageTotal")
        check(root.findtext("Agency") == "STNMT", "Agency")
        check(len(docs) >= 1, "documents")
    else:
        check(root.find("FileCode").get("source") == "derived" and root.findtext("FileCode") == d, "derived FileCode")
        check(root.findtext("Title") == d, "derived Title")
for name, key in (("dossiers.csv", None), ("documents.csv", None)):
    raw = open(os.path.join(out, name), "rb").read()
    check(raw.startswith(b"\xef\xbb\xbf"), name + ": BOM")
    rows = list(csv.DictReader(open(os.path.join(out, name), encoding="utf-8-sig", newline="")))
    if name == "dossiers.csv":
        check(len(rows) == 2, "dossiers.csv rows")
        r = [x for x in rows if x["Dossier"] == "HS-2024-00002"][0]
        check(r["FileCode"] == fc2 and r["Title"] == "Hồ sơ phòng, chống thiên tai; năm 2024", "dossiers.csv row")
        check(r["File"] == f"{dir2}/{dir2}.pdf", "dossiers.csv File")
    else:
        check(len(rows) == sum(ndocs.values()), f"documents.csv rows {len(rows)} != {sum(ndocs.values())}")
        for r in rows:
            check(os.path.isfile(os.path.join(out, r["File"])), "documents.csv File " + r["File"])
            check(int(r["PageAmount"]) == int(r["LastPage"]) - int(r["FirstPage"]) + 1, "PageAmount column")
for e in errors:
    print("  " + e)
sys.exit(1 if errors else 0)
PY

# ---- refusals, skip, --force ----------------------------------------------
"$SOHOA" export --warehouse "$WH" HS-2024-00003 HS-9999 --to "$OUT" >"$TMP/e3.out" 2>"$TMP/e3.err"
rc=$?
[ $rc = 1 ] && grep -q "HS-2024-00003: the dossier is failed, not done" "$TMP/e3.err" &&
    grep -q "HS-9999: no such dossier" "$TMP/e3.err" && ok "a failed and an unknown dossier: named, exit 1" ||
    { cat "$TMP/e3.err"; bad "export of a failed dossier: exit $rc"; }

"$SOHOA" export --warehouse "$WH" --all --to "$OUT" >"$TMP/e4.out" 2>"$TMP/e4.err"
rc=$?
[ $rc = 0 ] && grep -q "0 exported, 2 already there" "$TMP/e4.out" && grep -q "already exported" "$TMP/e4.err" &&
    ok "again: skipped with a message, exit 0" || { cat "$TMP/e4.out" "$TMP/e4.err"; bad "second export exit $rc"; }

before=$(stat -c %Y "$OUT/HS-2024-00001/HS-2024-00001.xml")
sleep 1.1
"$SOHOA" export --warehouse "$WH" --force HS-2024-00001 --to "$OUT" >/dev/null 2>&1
rc=$?
after=$(stat -c %Y "$OUT/HS-2024-00001/HS-2024-00001.xml")
n=$(( $(wc -l <"$OUT/dossiers.csv") ))
[ $rc = 0 ] && [ "$after" != "$before" ] && [ $n = 3 ] && ok "--force replaces it; the tables keep both dossiers" ||
    bad "--force: exit $rc, xml $before→$after, dossiers.csv $n lines"
[ -z "$(ls -A "$OUT" | grep -E '\.(tmp|old)\.')" ] && ok "no temporary left in the export folder" || bad "temporaries left"

cp "$WH/pdf/HS-2024-00001.pdf" "$TMP/keep.pdf"
printf 'x' >>"$WH/pdf/HS-2024-00001.pdf"
"$SOHOA" export --warehouse "$WH" --force HS-2024-00001 --to "$OUT" >/dev/null 2>"$TMP/e5.err"
rc=$?
[ $rc = 1 ] && grep -q "has changed since it was made" "$TMP/e5.err" &&
    cmp -s "$OUT/HS-2024-00001/HS-2024-00001.pdf" "$TMP/keep.pdf" &&
    ok "a changed PDF is refused; the earlier export stays" || { cat "$TMP/e5.err"; bad "changed PDF: exit $rc"; }
cp "$TMP/keep.pdf" "$WH/pdf/HS-2024-00001.pdf"

# ---- CSV injection: a cell a spreadsheet would run as a formula ------------
sql "UPDATE document SET subject='=HYPERLINK(\"http://evil.example\",\"x\")', organ_name='@SUM(1+1)' WHERE dossier='HS-2024-00001' AND ordinal=1"
"$SOHOA" export --warehouse "$WH" --force HS-2024-00001 --to "$OUT" >/dev/null 2>"$TMP/e6.err"
$PY - "$OUT/documents.csv" <<'PY' && ok "documents.csv: =... and @... cells written as text ('=, '@)" || { cat "$TMP/e6.err"; bad "CSV injection"; }
import csv, sys
rows = list(csv.DictReader(open(sys.argv[1], encoding="utf-8-sig", newline="")))
cells = [v for r in rows for v in r.values() if v]
ok = any(v.startswith("'=HYPERLINK") for v in cells) and any(v == "'@SUM(1+1)" for v in cells)
ok = ok and not any(v[0] in "=+-@" for v in cells)
sys.exit(0 if ok else 1)
PY

echo "export: $pass passed, $fail failed"
[ $fail = 0 ]
