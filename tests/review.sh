#!/usr/bin/env bash
# review.sh — the clerk's review station from the command line: `sohoa
# review list`, `sohoa doc set`, `sohoa approve`, `status --json`'s
# approval, `export --approved-only` with source="manual", then a re-run
# (nothing manual lost) and an approval withdrawn by a change.
#
#   SOHOA=build/sohoa bash tests/review.sh
#
# One dossier of samples/ (HS-2024-00002: three pages, three văn bản), so
# the OCR costs a few seconds.
set -uo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
source tests/serve_port.sh
SOHOA=${SOHOA:-$ROOT/build/sohoa}
TMP=$(mktemp -d /tmp/sohoa-review-XXXXXX)
trap 'rm -rf "$TMP"' EXIT
WH=$TMP/wh B=$TMP/batch D=HS-2024-00002
pass=0 fail=0
ok() { echo "ok   $1"; pass=$((pass + 1)); }
bad() { echo "FAIL $1"; fail=$((fail + 1)); }
sql() { sqlite3 -batch -noheader "$WH/catalog.db" "$1"; }
asql() { sqlite3 -batch -noheader "$WH/audit.db" "$1"; }   # the journal
# the count of the journal's rows WHERE $1, once it reaches $2 (the server
# commits its rows in groups, some 50 ms after the answer), or as it is
# after 5 s
acount() {
    local c
    for _ in $(seq 50); do
        c=$(asql "SELECT count(*) FROM audit WHERE $1"); [ "${c:-0}" -ge "$2" ] && break; sleep 0.1
    done; echo "${c:-0}"
}

mkdir -p "$B" && cp -r samples/batch/$D "$B/"
"$SOHOA" run --warehouse "$WH" --jobs 2 --agency STNMT --quiet "$B" >"$TMP/run1.log" 2>&1 ||
    { cat "$TMP/run1.log"; bad "first run"; }

# ---- the queue -------------------------------------------------------------
"$SOHOA" review list --warehouse "$WH" --json >"$TMP/q.json" 2>"$TMP/q.err"
python3 - "$TMP/q.json" <<'PY' && ok "review list --json: items with dossier, page, reason" || bad "review list: $(cat $TMP/q.json $TMP/q.err)"
import json, sys
q = json.load(open(sys.argv[1]))
items = q["items"]
assert items, "no items"
for it in items:
    assert it["dossier"] == "HS-2024-00002" and "reason" in it and "page" in it
assert any(it["reason"] == "fields" for it in items), items
PY
"$SOHOA" review list --warehouse "$WH" | grep -q 'to check' && ok "review list (text)" || bad "review list text"

# ---- doc set -----------------------------------------------------------------
"$SOHOA" doc set --warehouse "$WH" --user lan $D 1 IssuedDate=31/02/2024 >"$TMP/bad.out" 2>&1
rc=$?
[ $rc = 2 ] && grep -q 'not a real date' "$TMP/bad.out" && ok "doc set refuses 31/02/2024 as the manifest does" || bad "doc set bad date rc=$rc: $(cat $TMP/bad.out)"
"$SOHOA" doc set --warehouse "$WH" --user lan $D 1 CodeNumber=123456789012 >"$TMP/bad2.out" 2>&1
[ $? = 2 ] && grep -q 'at most 11' "$TMP/bad2.out" && ok "doc set refuses a CodeNumber over 11 characters" || bad "doc set long: $(cat $TMP/bad2.out)"
"$SOHOA" doc set --warehouse "$WH" --user lan $D 1 CodeNotation=QĐ-TEST IssuedDate=05/03/2024 >"$TMP/set.out" 2>&1 &&
    ok "doc set CodeNotation and IssuedDate" || bad "doc set: $(cat $TMP/set.out)"
v=$(sql "SELECT code_notation||'|'||issued_date FROM document WHERE dossier='$D' AND ordinal=1")
[ "$v" = "QĐ-TEST|2024-03-05" ] && ok "the catalog holds the clerk's values" || bad "document row: $v"
a=$(asql "SELECT user||'|'||action||'|'||detail FROM audit WHERE action='review-field'")
case "$a" in lan\|review-field\|*CodeNotation*before*after*QĐ-TEST*) ok "the edit is in the audit journal with before and after" ;; *) bad "audit: $a" ;; esac

# ---- approve, status ---------------------------------------------------------
"$SOHOA" approve --warehouse "$WH" --user lan $D >"$TMP/ap.out" 2>&1 && ok "approve" || bad "approve: $(cat $TMP/ap.out)"
"$SOHOA" status --warehouse "$WH" --json | python3 -c '
import json,sys; d=json.load(sys.stdin)["dossiers"][0]; assert d["approved"] is True and d["approved_by"]=="lan", d' &&
    ok "status --json: approved true, by lan" || bad "status approved"
"$SOHOA" review list --warehouse "$WH" --json | python3 -c '
import json,sys; assert json.load(sys.stdin)["items"]==[]' && ok "an approved dossier leaves the queue" || bad "queue after approval"
[ "$(asql "SELECT count(*) FROM audit WHERE action='review-approve' AND user='lan' AND dossier='$D'")" = 1 ] &&
    ok "the approval is in the audit journal" || bad "approve audit"
"$SOHOA" verify --warehouse "$WH" >/dev/null 2>&1; "$SOHOA" audit --warehouse "$WH" --verify >/dev/null 2>&1 &&
    ok "audit chain verifies" || bad "audit --verify"
[ -s "$WH/audit.db" ] && [ "$(sql "SELECT count(*) FROM sqlite_master WHERE name='audit'")" = 0 ] &&
    ok "the journal is audit.db, not a table of the catalog" || bad "audit table in catalog.db"

# ---- a re-run: the edit counts, the approval given after it holds ---------------
"$SOHOA" run --warehouse "$WH" --jobs 2 --quiet "$B" >"$TMP/run2.log" 2>&1
v=$(sql "SELECT code_notation||'|'||issued_date FROM document WHERE dossier='$D' AND ordinal=1")
[ "$v" = "QĐ-TEST|2024-03-05" ] && ok "re-run: the clerk's values survive the re-assembly" || bad "after re-run: $v"
pdftotext -f 1 -l 1 "$WH/pdf/$D.pdf" - >/dev/null 2>&1 && ok "re-run: the PDF is there" || bad "no PDF after re-run"
n=$(sql "SELECT count(*) FROM page WHERE dossier='$D' AND pageno IS NOT NULL")
[ "$n" = 3 ] && ok "re-run: pages placed and indexed" || bad "placed pages: $n"
"$SOHOA" search --warehouse "$WH" --json thiên tai | grep -q '"total"' && ok "search works after the re-run" || bad "search"

# ---- export --approved-only, source="manual" -----------------------------------
"$SOHOA" export --warehouse "$WH" --all --approved-only --to "$TMP/out" >"$TMP/ex.out" 2>&1
x=$(find "$TMP/out" -name '*.xml' | head -1)
if [ -n "$x" ] && grep -q '<CodeNotation source="manual">QĐ-TEST</CodeNotation>' "$x"; then
    ok "export XML: CodeNotation source=\"manual\""
else bad "export XML: $(cat $TMP/ex.out; grep CodeNotation "$x" 2>/dev/null)"; fi
grep -q '<Approved by="lan"' "$x" 2>/dev/null && ok "export XML: approved by lan" || bad "export XML approval"
grep -q 'true' "$TMP/out/dossiers.csv" && grep -q 'ApprovedBy' "$TMP/out/dossiers.csv" && ok "dossiers.csv: approval columns" || bad "dossiers.csv"

# ---- a change withdraws the approval ------------------------------------------
"$SOHOA" doc set --warehouse "$WH" --user lan $D 2 "Place=Hà Nội" >"$TMP/set2.out" 2>&1
grep -q 'approval is withdrawn' "$TMP/set2.out" && ok "an edit of an approved dossier withdraws its approval, and says so" || bad "withdraw msg: $(cat $TMP/set2.out)"
"$SOHOA" status --warehouse "$WH" --json | python3 -c '
import json,sys; d=json.load(sys.stdin)["dossiers"][0]; assert d["approved"] is False, d' &&
    ok "status --json: approved false after the edit" || bad "status after edit"
"$SOHOA" export --warehouse "$WH" --all --approved-only --to "$TMP/out2" >"$TMP/ex2.out" 2>&1
grep -q '0 exported.*1 not approved' "$TMP/ex2.out" && ok "export --approved-only leaves it out" || bad "export2: $(cat $TMP/ex2.out)"
"$SOHOA" approve --warehouse "$WH" --user lan $D >/dev/null 2>&1
touch "$B/$D/0001.jpg"; cp samples/batch/HS-2024-00001/0001.tif "$B/$D/0004.tif"
"$SOHOA" run --warehouse "$WH" --jobs 2 "$B" >"$TMP/run3.log" 2>&1
grep -q 'approval withdrawn' "$TMP/run3.log" && ok "a re-run with a new page withdraws the approval and says so" || bad "run3: $(tail -5 $TMP/run3.log)"
v=$(sql "SELECT code_notation||'|'||place FROM document WHERE dossier='$D' AND ordinal IN (1,2) ORDER BY ordinal" | tr '\n' ' ')
case "$v" in "QĐ-TEST|"*"|Hà Nội ") ok "new page: the clerk's fields still there" ;; *) bad "fields after new page: $v" ;; esac

# ---- users: roles ---------------------------------------------------------------
echo 'mot-mat-khau-dai' | "$SOHOA" user add --warehouse "$WH" mai --agency STNMT --role clerk 2>/dev/null &&
"$SOHOA" user list --warehouse "$WH" --json | python3 -c '
import json,sys; u={x["name"]:x for x in json.load(sys.stdin)}; assert u["mai"]["role"]=="clerk", u' &&
    ok "user add --role clerk" || bad "user role"

# ---- the site: POST /api/review/ID, the page view ------------------------------
for u in "hoa UBND clerk" "minh STNMT officer"; do
    set -- $u
    echo "mat-khau-dai-$1" | "$SOHOA" user add --warehouse "$WH" "$1" --agency "$2" --role "$3" >/dev/null 2>&1
done
"$SOHOA" serve --warehouse "$WH" --listen 127.0.0.1:0 >"$TMP/serve.log" 2>&1 &
SPID=$!
trap 'kill $SPID 2>/dev/null; wait $SPID 2>/dev/null; rm -rf "$TMP"' EXIT
PORT=$(serve_port "$TMP/serve.log" "$SPID" 50)
U=http://127.0.0.1:$PORT
login() { curl -s -D - -o /dev/null --data-urlencode "user=$1" --data-urlencode "password=$2" "$U/login" |
    sed -n 's/^Set-Cookie: sohoa_session=\([0-9a-f]*\).*/\1/p'; }
MAI=$(login mai mot-mat-khau-dai) HOA=$(login hoa mat-khau-dai-hoa) MINH=$(login minh mat-khau-dai-minh)
[ ${#MAI} = 64 ] && [ ${#HOA} = 64 ] && [ ${#MINH} = 64 ] && ok "site: clerk, other agency's clerk and officer log in" || bad "logins: $(tail -3 $TMP/serve.log)"
# post TOKEN JSON → body and status on one line
post() { curl -s -w ' %{http_code}' -H "Cookie: sohoa_session=$1" -H 'Content-Type: application/json' --data "$2" "$U/api/review/$D"; }
ver() { sql "SELECT ifnull((SELECT version FROM review_dossier WHERE dossier='$D'),0)"; }
# wait until the background rebuild is over and the page view answers
settle() {
    for _ in $(seq 120); do
        b=$(curl -s -H "Cookie: sohoa_session=$MAI" "$U/api/review/$D/1" | python3 -c 'import json,sys; print(json.load(sys.stdin)["busy"])' 2>/dev/null)
        [ "$b" = False ] && return 0; sleep 0.5
    done; return 1
}
v=$(ver)
n403=0
for a in '"approve"' '"withdraw"' '"accept","page":1' '"turn","page":2,"by":90' '"split","page":1,"split":0' \
         '"blank","page":1,"blank":1' '"start","page":2,"start":1' '"word","page":1,"word":0,"text":"X"' \
         '"field","ordinal":1,"field":"Place","value":"X"'; do
    r=$(post "$MINH" "{\"version\":$v,\"action\":$a}")
    case "$r" in *" 403") n403=$((n403 + 1)) ;; esac
done
[ $n403 = 9 ] && ok "site: an officer gets 403 on every review action" || bad "officer: $n403 of 9 refused"
[ "$(acount "user='minh' AND action='review-denied' AND status=403" 9)" -ge 9 ] &&
    ok "site: the officer's refusals are journalled" || bad "officer audit"
r=$(post "$HOA" "{\"version\":$v,\"action\":\"approve\"}")
r2=$(curl -s -o /dev/null -w '%{http_code}' -H "Cookie: sohoa_session=$HOA" "$U/review/$D/1")
r3=$(curl -s -H "Cookie: sohoa_session=$HOA" "$U/api/review" | python3 -c 'import json,sys; print(len(json.load(sys.stdin)["items"]))')
case "$r" in *" 404") [ "$r2" = 404 ] && [ "$r3" = 0 ] && ok "site: a clerk of another agency sees none of it (404, empty queue)" || bad "other agency: $r2 $r3" ;;
    *) bad "other agency's clerk: $r" ;; esac
[ "$(acount "user='hoa' AND status=404 AND action LIKE 'review-%'" 2)" -ge 2 ] &&
    ok "site: the other agency's attempts are journalled" || bad "hoa audit"
r=$(post "$MAI" "{\"version\":$((v - 1)),\"action\":\"accept\",\"page\":1}")
case "$r" in *"tải lại"*" 409") ok "site: a save from a stale version is refused (409, Vietnamese)" ;; *) bad "stale: $r" ;; esac
r=$(curl -s -w ' %{http_code}' -H "Cookie: sohoa_session=$MAI" -H 'Origin: http://evil.example' -H 'Content-Type: application/json' \
    --data "{\"version\":$v,\"action\":\"approve\"}" "$U/api/review/$D")
case "$r" in *" 403") ok "site: a cross-site POST is refused" ;; *) bad "csrf: $r" ;; esac
r=$(post "$MAI" "{\"version\":$v,\"action\":\"field\",\"ordinal\":1,\"field\":\"IssuedDate\",\"value\":\"31/02/2024\"}")
case "$r" in *"không hợp lệ"*" 400") ok "site: a field is checked as doc set checks it" ;; *) bad "bad field: $r" ;; esac

# a page and the sheet for the clerk
[ "$(curl -s -o "$TMP/p.html" -w '%{http_code}' -H "Cookie: sohoa_session=$MAI" "$U/review/$D/2")" = 200 ] &&
    grep -q 'review.js' "$TMP/p.html" && ! grep -q '<script>' "$TMP/p.html" && ok "site: the page view (no inline script)" || bad "page view"
curl -s -H "Cookie: sohoa_session=$MAI" "$U/review" >"$TMP/queue.html"
grep -q "Cơ quan STNMT: 1 hồ sơ, [0-9]* mục" "$TMP/queue.html" && ok "site: the queue counts per agency" ||
    bad "queue counts: $(grep -o '<ul class="rvcounts">.*</ul>' $TMP/queue.html | head -c 300)"
curl -s -H "Cookie: sohoa_session=$MAI" "$U/review/$D/2.png" | file - | grep -q PNG && ok "site: the sheet as scanned (PNG)" || bad "sheet png"
curl -s -H "Cookie: sohoa_session=$MAI" "$U/api/review/$D/2" >"$TMP/pv.json"
python3 - "$TMP/pv.json" <<'PY' && ok "site: page data (version, sheet, outline, word boxes on the frame)" || bad "page data: $(head -c 300 $TMP/pv.json)"
import json, sys
d = json.load(open(sys.argv[1]))
assert d["sheet"]["file"] == "0002.jpg" and len(d["outline"]) == 4 and d["words"], d.keys()
for w in d["words"]:
    for x, y in w["poly"]:
        assert -5 <= x <= d["img"]["w"] + 5 and -5 <= y <= d["img"]["h"] + 5, w
PY

# turn the sideways page 2 a half turn: only that frame is read again
id1=$(sql "SELECT id FROM page WHERE dossier='$D' AND source_name='0001.jpg'")
q0=$(sql "SELECT quarter FROM page WHERE dossier='$D' AND source_name='0002.jpg'")
r=$(post "$MAI" "{\"version\":$(ver),\"action\":\"turn\",\"file\":\"0002.jpg\",\"frame\":1,\"by\":180}")
case "$r" in *'"rebuild":"queued"'*" 200") ok "site: turn saved, rebuild queued" ;; *) bad "turn: $r" ;; esac
settle || bad "rebuild did not end: $(cat $WH/.work/rebuild-$D.log)"
q1=$(sql "SELECT quarter||' '||json_extract(geom,'\$.forced') FROM page WHERE dossier='$D' AND source_name='0002.jpg'")
[ "$q1" = "$(( (q0 + 2) % 4 )) q$(( (q0 + 2) % 4 + 1 )) s0 b0" ] && ok "turn: the frame is recognised again with the forced quarter ($q1)" || bad "turn: q0=$q0 now '$q1'"
[ "$(sql "SELECT id FROM page WHERE dossier='$D' AND source_name='0001.jpg'")" = "$id1" ] && ok "turn: the other frames keep their OCR" || bad "other frames re-read"
# turn it back, and force "no split" on page 1
r=$(post "$MAI" "{\"version\":$(ver),\"action\":\"turn\",\"file\":\"0002.jpg\",\"frame\":1,\"by\":180}")
settle
r=$(post "$MAI" "{\"version\":$(ver),\"action\":\"split\",\"file\":\"0001.jpg\",\"frame\":1,\"split\":0}")
settle
[ "$(sql "SELECT count(*)||' '||json_extract(geom,'\$.forced') FROM page WHERE dossier='$D' AND source_name='0001.jpg'")" = "1 q0 s-1 b0" ] &&
    ok "split removed: one page, recognised with \"no split\"" || bad "split: $(sql "SELECT part, geom FROM page WHERE source_name='0001.jpg'")"
# a word of page 1's text layer, a CodeNotation, then Duyệt hồ sơ
r=$(post "$MAI" "{\"version\":$(ver),\"action\":\"word\",\"page\":1,\"word\":0,\"text\":\"ỦYBANXYZ\"}")
case "$r" in *" 200") ok "site: a word corrected" ;; *) bad "word: $r" ;; esac
r=$(post "$MAI" "{\"version\":$(ver),\"action\":\"field\",\"ordinal\":1,\"field\":\"CodeNotation\",\"value\":\"QĐ-WEB\"}")
case "$r" in *" 200") ok "site: CodeNotation saved" ;; *) bad "field: $r" ;; esac
settle
r=$(post "$MAI" "{\"version\":$(ver),\"action\":\"approve\"}")
case "$r" in *'"approved":true'*" 200") ok "site: Duyệt hồ sơ" ;; *) bad "approve: $r" ;; esac
pdftotext -f 1 -l 1 "$WH/pdf/$D.pdf" - 2>/dev/null | grep -q 'ỦYBANXYZ' && ok "the PDF's text layer holds the corrected word" || bad "pdf text: $(pdftotext -f 1 -l 1 $WH/pdf/$D.pdf - | head -2)"
xmp=$(pdfinfo -meta "$WH/pdf/$D.pdf" 2>/dev/null || true)
grep -q 'Doc1CodeNotation>QĐ-WEB<' <<<"$xmp" && grep -q 'Doc1CodeNotationSource>manual<' <<<"$xmp" &&
    ok "the PDF's XMP holds the clerk's CodeNotation, source manual" || bad "xmp: $(grep -o 'Doc1[A-Za-z]*>[^<]*' <<<"$xmp" | head -4)"
np=$(pdfinfo "$WH/pdf/$D.pdf" | sed -n 's/^Pages: *//p')
[ "$np" = "$(sql "SELECT pages FROM dossier WHERE id='$D'")" ] && ok "the PDF has the dossier's $np pages" || bad "pdf pages $np"
"$SOHOA" search --warehouse "$WH" --json ỦYBANXYZ | grep -q '"total": *1' && ok "the index finds the corrected word" || bad "search corrected word"
"$SOHOA" export --warehouse "$WH" --all --approved-only --to "$TMP/out3" >/dev/null 2>&1
grep -q '<CodeNotation source="manual">QĐ-WEB</CodeNotation>' $(find "$TMP/out3" -name '*.xml' | head -1) && grep -q '<Approved by="mai"' $(find "$TMP/out3" -name '*.xml' | head -1) &&
    ok "export: the site's CodeNotation (source=manual), approved by mai" || bad "export after site"
a=$(acount "user='mai' AND status=200 AND action IN ('review-turn','review-split','review-word','review-field','review-approve') AND detail LIKE '%before%'" 4)
[ "$a" -ge 4 ] && ok "site: saves journalled with before and after ($a rows)" || bad "save audit: $a"
"$SOHOA" audit --warehouse "$WH" --verify >/dev/null 2>&1 && ok "audit chain verifies after the site's saves" || bad "audit --verify after site"

# ---- a merge carries the clerks' work (shards -> one warehouse) ---------------
"$SOHOA" merge --into "$TMP/merged" --quiet "$WH" >"$TMP/merge.out" 2>&1 || bad "merge: $(cat $TMP/merge.out)"
msql() { sqlite3 -batch -noheader "$TMP/merged/catalog.db" "$1"; }
"$SOHOA" status --warehouse "$TMP/merged" --json | python3 -c '
import json,sys; d=json.load(sys.stdin)["dossiers"][0]; assert d["approved"] is True and d["approved_by"]=="mai", d' &&
    ok "merge: the approval comes across" || bad "merge approval"
[ "$(msql "SELECT code_notation FROM document WHERE dossier='$D' AND ordinal=1")" = "QĐ-WEB" ] &&
    ok "merge: the clerk's CodeNotation comes across" || bad "merge field: $(msql "SELECT code_notation FROM document WHERE dossier='$D'")"
"$SOHOA" search --warehouse "$TMP/merged" --json ỦYBANXYZ | grep -c '"dossier"' >/dev/null &&
    ok "merge: the corrected word is searchable" || bad "merge search"
"$SOHOA" run --warehouse "$TMP/merged" --jobs 2 --quiet "$B" >"$TMP/run3.log" 2>&1
[ "$(msql "SELECT code_notation FROM document WHERE dossier='$D' AND ordinal=1")" = "QĐ-WEB" ] &&
    ok "merge then re-run: nothing manual is lost" || bad "merged re-run field"

echo "review: $pass passed, $fail failed"
[ $fail = 0 ]
