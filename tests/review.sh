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
SOHOA=${SOHOA:-$ROOT/build/sohoa}
TMP=$(mktemp -d /tmp/sohoa-review-XXXXXX)
trap 'rm -rf "$TMP"' EXIT
WH=$TMP/wh B=$TMP/batch D=HS-2024-00002
pass=0 fail=0
ok() { echo "ok   $1"; pass=$((pass + 1)); }
bad() { echo "FAIL $1"; fail=$((fail + 1)); }
sql() { sqlite3 -batch -noheader "$WH/catalog.db" "$1"; }

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
a=$(sql "SELECT user||'|'||action||'|'||detail FROM audit WHERE action='review-field'")
case "$a" in lan\|review-field\|*CodeNotation*before*after*QĐ-TEST*) ok "the edit is in the audit journal with before and after" ;; *) bad "audit: $a" ;; esac

# ---- approve, status ---------------------------------------------------------
"$SOHOA" approve --warehouse "$WH" --user lan $D >"$TMP/ap.out" 2>&1 && ok "approve" || bad "approve: $(cat $TMP/ap.out)"
"$SOHOA" status --warehouse "$WH" --json | python3 -c '
import json,sys; d=json.load(sys.stdin)["dossiers"][0]; assert d["approved"] is True and d["approved_by"]=="lan", d' &&
    ok "status --json: approved true, by lan" || bad "status approved"
"$SOHOA" review list --warehouse "$WH" --json | python3 -c '
import json,sys; assert json.load(sys.stdin)["items"]==[]' && ok "an approved dossier leaves the queue" || bad "queue after approval"
[ "$(sql "SELECT count(*) FROM audit WHERE action='review-approve' AND user='lan' AND dossier='$D'")" = 1 ] &&
    ok "the approval is in the audit journal" || bad "approve audit"
"$SOHOA" verify --warehouse "$WH" >/dev/null 2>&1; "$SOHOA" audit --warehouse "$WH" --verify >/dev/null 2>&1 &&
    ok "audit chain verifies" || bad "audit --verify"

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

echo "review: $pass passed, $fail failed"
[ $fail = 0 ]
