#!/usr/bin/env bash
# robust.sh — can ops trust an overnight run?  The run is killed, starved,
# fed garbage and locked out, and must each time leave a warehouse that is
# either finished and sound, or unchanged with a clear message.
#
#   SOHOA=build/sohoa [SOHOA_ASAN=build-asan/sohoa] bash tests/robust.sh [NAME]
#
#   KILLS=N          kill points of the kill loop (default 20)
#   KILL_BUDGET=S    seconds the kill loop may spend killing (default 150)
#   ROBUST_SEED=N    seed of the random kill points (printed; to replay)
#   SOHOA_SHARED     ../shared (the adversarial files; skipped if absent)
#
# Each test is a function t_NAME; the script runs them all (or those whose
# name contains NAME) and ends with "robust: N passed, N failed, N skipped".
# Tests that need to mount a small or read-only file system (tmpfs) do so
# when allowed (root) and fall back or skip otherwise.  tests/soak.sh runs
# the kill loop at length by sourcing this file with ROBUST_LIB=1.
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT=$PWD
SOHOA=${SOHOA:-$ROOT/build/sohoa}
SOHOA_ASAN=${SOHOA_ASAN:-}
SHARED=${SOHOA_SHARED:-$ROOT/../shared}
PY=/usr/bin/python3
TMP=$(mktemp -d /tmp/sohoa-robust-XXXXXX)
# Process groups started and file systems mounted, in files: tests run in
# subshells, and whatever they leave behind is undone here at exit.
: >"$TMP/groups"; : >"$TMP/mounts"
cleanup() {
    local g m
    while read -r g; do kill -9 -- "-$g" 2>/dev/null; done <"$TMP/groups"
    while read -r m; do umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null; done < <(tac "$TMP/mounts")
    chmod -R u+w "$TMP" 2>/dev/null
    rm -rf "$TMP"
}
trap cleanup EXIT
pass=0 fail=0 skip=0
SEED=${ROBUST_SEED:-$(( $(date +%s) % 100000 ))}
RANDOM=$SEED

die() { echo "  $*" >&2; return 1; }
note() { echo "  $*" >&2; }
sql() { sqlite3 -batch -noheader "$1/catalog.db" "$2"; }
pdf_pages() { pdfinfo "$1" 2>/dev/null | awk '/^Pages:/ {print $2}'; }
# seconds as a decimal, from $RANDOM: rnd_delay MIN_MS MAX_MS
rnd_delay() { local ms=$(( $1 + (RANDOM * 32768 + RANDOM) % ($2 - $1 + 1) )); printf '%d.%03d' $((ms / 1000)) $((ms % 1000)); }

# Pages each sample dossier must have: the frames of its files in truth.json.
truth_pages() {
    $PY - "$1" <<'PY'
import json, sys
t = json.load(open(sys.argv[1]))
for did, files in t["dossiers"].items():
    print(did, sum(len(f["pages"]) for f in files))
PY
}

# add_copy BATCH ID SRC_DOSSIER — copy a sample dossier under a new id and
# remember its expected page count in BATCH.truth ("id pages src").
add_copy() {
    local B=$1 id=$2 src=$3
    mkdir -p "$B/$id" && cp samples/batch/"$src"/* "$B/$id/" || return 1
    echo "$id $(awk -v s="$src" '$1 == s {print $2}' "$TMP/truth") $src" >>"$B.truth"
}

# mkbatch BATCH N — the sample dossiers, each copied N times (HS-Kn-…).
mkbatch() {
    local B=$1 n=$2 k d
    mkdir -p "$B" && : >"$B.truth"
    for k in $(seq 1 "$n"); do
        for d in $(ls samples/batch); do add_copy "$B" "K$k-$d" "$d" || return 1; done
    done
}

# A command in its own session/process group; sets BG_PID (= its pgid).
start_group() {
    local pf=$TMP/pgid.$RANDOM
    rm -f "$pf"
    # started from a subshell, so that it is not a job of this shell (no
    # "Killed" notices); it is watched through /proc instead of wait
    ( setsid bash -c 'echo $$ >"$0"; exec "$@"' "$pf" "$@" & )
    local i
    for i in $(seq 1 200); do [ -s "$pf" ] && break; sleep 0.01; done
    BG_PID=$(cat "$pf" 2>/dev/null)
    [ -n "$BG_PID" ] || return 1
    echo "$BG_PID" >>"$TMP/groups"
}
# alive PID: the process exists and is not a zombie (the state field
# follows the last ')' of /proc/PID/stat).
alive() { local s; s=$(sed 's/.*) //' "/proc/$1/stat" 2>/dev/null) && [ -n "$s" ] && [ "${s%% *}" != Z ]; }
# Members of process group $1 still alive (zombies wait for init: dead),
# read from /proc (fields after the command name: state ppid pgrp …).
group_live() {
    local g=$1 f line st pp pg rest
    for f in /proc/[0-9]*/stat; do
        { read -r line <"$f"; } 2>/dev/null || continue
        read -r st pp pg rest <<<"${line##*) }"
        [ "$pg" = "$g" ] && [ "$st" != Z ] && { f=${f#/proc/}; echo "${f%/stat}"; }
    done
}
# The live workers ("sohoa worker") of process group $1.
group_workers() {
    local p
    for p in $(group_live "$1"); do
        tr '\0' ' ' <"/proc/$p/cmdline" 2>/dev/null | grep -q '^[^ ]* worker ' && echo "$p"
    done
}
cmdlines() { local p; for p in "$@"; do echo "$p: $(tr '\0' ' ' <"/proc/$p/cmdline" 2>/dev/null)"; done; }
# kill -9 a whole group, then any member that survived, and reap.
kill_group() {
    local g=$1 p i x
    kill -9 -- "-$g" 2>/dev/null
    for i in $(seq 1 100); do
        p=$(group_live "$g")
        [ -z "$p" ] && break
        for x in $p; do kill -9 "$x" 2>/dev/null; done
        sleep 0.02
    done
    p=$(group_live "$g")
    [ -z "$p" ] || die "processes of group $g survive kill -9: $(cmdlines $p)"
}

# The invariants of a finished warehouse W for the dossiers in TRUTH
# ("id pages src" lines): every dossier done with the right number of pages
# in the catalog, in its PDF and in the index; no page placed twice; the
# index holds exactly the placed pages; copies of one dossier read the same;
# every PDF sound; no temp file; verify finds every file intact.
check_finished() {
    local W=$1 truth=$2 bad=0 id want src st np pp nidx
    while read -r id want src; do
        st=$(sql "$W" "SELECT state||' '||coalesce(pages,-1) FROM dossier WHERE id='$id'")
        pp=$(pdf_pages "$W/pdf/$id.pdf")
        np=$(sql "$W" "SELECT count(*) FROM page WHERE dossier='$id' AND pageno IS NOT NULL")
        if [ "$st" != "done $want" ] || [ "$pp" != "$want" ] || [ "$np" != "$want" ]; then
            note "$id: catalog '$st', PDF ${pp:-?} pages, $np pages placed; want done, $want pages"
            bad=1
        fi
    done <"$truth"
    local dup; dup=$(sql "$W" "SELECT dossier||' page '||pageno||' x'||count(*) FROM page WHERE pageno IS NOT NULL GROUP BY dossier, pageno HAVING count(*) > 1")
    [ -z "$dup" ] || { note "pages placed twice: $dup"; bad=1; }
    local gaps; gaps=$(sql "$W" "SELECT dossier FROM page WHERE pageno IS NOT NULL GROUP BY dossier HAVING max(pageno) <> count(*) OR min(pageno) <> 1")
    [ -z "$gaps" ] || { note "page numbers with gaps: $gaps"; bad=1; }
    local placed; placed=$(sql "$W" "SELECT count(*) FROM page WHERE pageno IS NOT NULL")
    nidx=$(sql "$W" "SELECT count(*) FROM page_fts_docsize")
    local nok; nok=$(sql "$W" "SELECT count(*) FROM page_fts_docsize d JOIN page p ON p.id = d.id AND p.pageno IS NOT NULL")
    [ "$nidx" = "$placed" ] && [ "$nok" = "$placed" ] ||
        { note "index holds $nidx pages ($nok of them placed), $placed pages placed"; bad=1; }
    # Copies of one sample dossier were recognised from the same bytes.
    $PY - "$W/catalog.db" "$truth" <<'PY' || bad=1
import sqlite3, sys, collections
db = sqlite3.connect(f"file:{sys.argv[1]}?mode=ro", uri=True)
src = {l.split()[0]: l.split()[2] for l in open(sys.argv[2]) if l.strip()}
texts = collections.defaultdict(dict)
for did, pageno, text in db.execute("SELECT dossier, pageno, text FROM page WHERE pageno IS NOT NULL"):
    if did in src:
        texts[src[did]].setdefault(did, {})[pageno] = text
bad = 0
for s, copies in texts.items():
    ref = None
    for did, pages in sorted(copies.items()):
        if ref is None:
            ref = (did, pages)
        elif pages != ref[1]:
            print(f"  {did} does not read like {ref[0]} (copies of {s})"); bad = 1
sys.exit(bad)
PY
    local f
    for f in "$W"/pdf/*.pdf; do
        [ -e "$f" ] || continue
        qpdf --check "$f" >/dev/null 2>&1 || { note "qpdf --check fails on $f"; bad=1; }
    done
    local tmps; tmps=$(find "$W" -name '*.tmp.*' 2>/dev/null)
    [ -z "$tmps" ] || { note "temp files left: $(echo $tmps)"; bad=1; }
    "$SOHOA" verify --warehouse "$W" >"$TMP/verify.out" 2>&1 ||
        { note "sohoa verify: $(tail -5 "$TMP/verify.out")"; bad=1; }
    return $bad
}

# Every PDF that exists is sound and no temp file is left (after a failure).
check_no_half_output() {
    local W=$1 f bad=0
    for f in "$W"/pdf/*.pdf; do
        [ -e "$f" ] || continue
        qpdf --check "$f" >/dev/null 2>&1 || { note "half-written PDF visible: $f"; bad=1; }
    done
    local tmps; tmps=$(find "$W" -name '*.tmp.*' 2>/dev/null)
    [ -z "$tmps" ] || { note "temp files left: $(echo $tmps)"; bad=1; }
    return $bad
}

# can_mount: a tmpfs may be mounted here (root, no seccomp/userns refusal).
can_mount() {
    [ "$(id -u)" = 0 ] || return 1
    local d=$TMP/mnt-probe
    mkdir -p "$d" && mount -t tmpfs -o size=64k tmpfs "$d" 2>/dev/null || return 1
    umount "$d"
}
# mount_tmpfs DIR SIZE
mount_tmpfs() { mkdir -p "$1" && mount -t tmpfs -o "size=$2" tmpfs "$1" && echo "$1" >>"$TMP/mounts"; }

# ---------------------------------------------------------------------------
# kill -9 at random points, then a run to completion

# kill_loop B W KILLS BUDGET_S [MAX_MS]: kill runs of B into W at random
# points (one in five within 0.08 s of the start, the others up to MAX_MS,
# default 4000) until
# KILLS kill points were hit (or the budget is spent); when a run finishes
# before its kill point, a new dossier is dropped into the batch so there is
# always work to interrupt.  Prints the tally; sets KL_HITS.
kill_loop() {
    local B=$1 W=$2 target=$3 budget=$4 maxms=${5:-4000}
    local hits=0 ocr=0 pdfw=0 early=0 finished=0 extra=0 t0=$SECONDS d lo hi
    local log=$TMP/kill.log
    : >"$log"
    while [ $hits -lt "$target" ] && [ $((SECONDS - t0)) -lt "$budget" ]; do
        # 1 kill in 5 early (listing, hashing, planning, worker start-up),
        # the others anywhere in a run of the sample size.
        if [ $((RANDOM % 5)) = 0 ]; then lo=0 hi=80; else lo=500 hi=$maxms; fi
        d=$(rnd_delay $lo $hi)
        start_group "$SOHOA" run --warehouse "$W" --jobs 2 "$B" >>"$log" 2>&1 || return 1
        sleep "$d"
        if alive "$BG_PID"; then
            if [ -n "$(group_workers "$BG_PID")" ]; then ocr=$((ocr + 1))
            else early=$((early + 1)); fi
            # a PDF being written by this run (not debris of an earlier kill)
            local live tf
            live=" $(group_live "$BG_PID" | tr '\n' ' ') "
            for tf in "$W"/pdf/*.tmp.*; do
                [ -e "$tf" ] && [[ $live == *" ${tf##*.} "* ]] && { pdfw=$((pdfw + 1)); break; }
            done
            kill_group "$BG_PID" || return 1
            hits=$((hits + 1))
        else
            finished=$((finished + 1))
            extra=$((extra + 1))
            # runs are quicker than the kill points: aim sooner
            maxms=$((maxms * 2 / 3)); [ "$maxms" -lt 700 ] && maxms=700
            local srcs=($(ls samples/batch))
            add_copy "$B" "X$extra-${srcs[$((extra % ${#srcs[@]}))]}" "${srcs[$((extra % ${#srcs[@]}))]}" || return 1
        fi
    done
    KL_HITS=$hits
    echo "  kill points: $hits in $((SECONDS - t0)) s (seed $SEED): $ocr with pages in OCR," \
         "$early with no worker (listing, planning, start-up, assembly), $pdfw while a PDF was being written;" \
         "$finished run(s) finished before their kill point (a dossier was added after each)"
    if grep -q "ERROR: AddressSanitizer\|runtime error:" "$log"; then cat "$log"; die "sanitizer report"; return 1; fi
    [ $hits -ge "$target" ] || note "only $hits of $target kill points within ${budget} s"
    KL_OCR=$ocr
}

t_kill_loop() {
    local B=$TMP/b-kill W=$TMP/wh-kill
    mkbatch "$B" 2 || return 1
    kill_loop "$B" "$W" "${KILLS:-20}" "${KILL_BUDGET:-150}" || return 1
    [ "$KL_HITS" -ge "${KILLS:-20}" ] || die "too few kill points" || return 1
    [ "$KL_OCR" -ge 1 ] || die "no kill point fell while pages were in OCR" || return 1
    # A killed run left no report: the report says so, from the catalog.
    if [ -z "$(sql "$W" "SELECT finished FROM run ORDER BY id DESC LIMIT 1")" ]; then
        "$SOHOA" report --warehouse "$W" >"$TMP/report.killed" 2>&1 ||
            { cat "$TMP/report.killed"; die "report of a killed run failed"; } || return 1
        grep -q "did not finish" "$TMP/report.killed" ||
            { cat "$TMP/report.killed"; die "report of a killed run does not say it did not finish"; } || return 1
    fi
    "$SOHOA" run --warehouse "$W" --jobs 2 "$B" >"$TMP/final.log" 2>&1
    local rc=$?
    [ $rc = 0 ] || { tail -20 "$TMP/final.log"; die "final run exit $rc, want 0"; } || return 1
    grep "pages to recognise" "$TMP/final.log" | sed 's/^/  final run: /'
    check_finished "$W" "$B.truth" || return 1
    echo "  $(wc -l <"$B.truth") dossiers, $(awk '{s+=$2} END {print s}' "$B.truth") pages: all done and sound"
    local orphans; orphans=$(find "$W/.work" -type f | wc -l)
    [ "$orphans" = 0 ] || note "warning: $orphans leftover file(s) in $W/.work after the final run"
    return 0
}

t_stale_temp_files_removed() {
    # What a kill -9 during a write leaves behind (the kill loop rarely
    # lands in that window, so the debris is planted): a half PDF and a half
    # page image under temp names.  The next run, holding the lock, must
    # clear them, and no half file may ever be taken for a finished one.
    local B=$TMP/b-stale W=$TMP/wh-stale
    mkdir -p "$B" && cp -r samples/batch/HS-2024-00001 "$B/" || return 1
    "$SOHOA" run --warehouse "$W" --jobs 2 "$B" >"$TMP/stale1.log" 2>&1 || { cat "$TMP/stale1.log"; die "set-up run failed"; } || return 1
    head -c 5000 "$W/pdf/HS-2024-00001.pdf" >"$W/pdf/HS-2024-00001.pdf.tmp.99999"
    head -c 5000 "$W/pdf/HS-2024-00001.pdf" >"$W/pdf/HS-NEW.pdf.tmp.99998"
    head -c 100 /dev/zero >"$W/.work/1.img.tmp.99997"
    "$SOHOA" run --warehouse "$W" --jobs 2 "$B" >"$TMP/stale2.log" 2>&1 || { cat "$TMP/stale2.log"; die "rerun failed"; } || return 1
    local left; left=$(cd "$W" && find . -name '*.tmp.*' | sort | tr '\n' ' ')
    [ -z "$left" ] || die "temp files of a killed run still there after the next run: $left"
}

t_parent_only_killed() {
    # kill -9 of the run alone (what 'kill $(cat WAREHOUSE/.lock)' or the
    # OOM killer does): its workers are orphans.  A new run must not be
    # disturbed by them, and they should not outlive their parent long.
    local B=$TMP/b-orphan W=$TMP/wh-orphan i
    mkbatch "$B" 1 || return 1
    start_group "$SOHOA" run --warehouse "$W" --jobs 2 "$B" >"$TMP/orphan1.log" 2>&1 || return 1
    local g=$BG_PID
    for i in $(seq 1 100); do [ -n "$(group_workers "$g")" ] && break; sleep 0.05; done
    sleep 1
    local workers; workers=$(group_workers "$g" | tr '\n' ' ')
    [ -n "$workers" ] || die "no worker to orphan" || return 1
    kill -9 "$g"
    local t0; t0=$(date +%s.%N)
    for i in $(seq 1 200); do alive "$g" || break; sleep 0.01; done   # signals are asynchronous
    # how long the orphans live, watched while the next run works
    ( for i in $(seq 1 1200); do [ -z "$(group_live "$g")" ] && break; sleep 0.05; done
      awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN {print b - a}' >"$TMP/orphan.lived" ) &
    local watcher=$!
    "$SOHOA" run --warehouse "$W" --jobs 2 "$B" >"$TMP/orphan2.log" 2>&1
    local rc=$?
    wait $watcher
    kill_group "$g" || return 1
    echo "  orphaned workers ($workers) lived $(printf '%.1f' "$(cat "$TMP/orphan.lived")") s after their parent's death"
    [ $rc = 0 ] || { cat "$TMP/orphan2.log"; die "run after the kill exit $rc, want 0"; } || return 1
    check_finished "$W" "$B.truth"
}

# ---------------------------------------------------------------------------
# adversarial inputs: garbage in, reported failures out, no crash

# Extension for a file, from its first bytes (else from its folder).
adv_ext() {
    local f=$1 m
    m=$(head -c 8 "$f" | od -An -tx1 | tr -d ' \n')
    case $m in
        49492a00*|4d4d002a*|49492b00*|4d4d002b*) echo tif ;;
        ffd8*) echo jpg ;;
        89504e470d0a1a0a*) echo png ;;
        25504446*) echo pdf ;;
        *) case $f in
               */jpeg/*) echo jpg ;;
               */pdf/*) echo pdf ;;
               *) echo tif ;;
           esac ;;
    esac
}

t_adversarial() {
    local A=$SHARED/adversarial
    [ -d "$A" ] || return 77
    local B=$TMP/b-adv W=$TMP/wh-adv i=0 f ext id
    mkdir -p "$B" "$TMP/seeds" && cp -r samples/batch/HS-2024-00001 "$B/" || return 1
    : >"$TMP/adv.map"
    # the zipped seed corpus is fed member by member
    for f in "$A"/seeds/*.zip; do
        [ -e "$f" ] && $PY -c "import sys, zipfile; zipfile.ZipFile(sys.argv[1]).extractall(sys.argv[2])" "$f" "$TMP/seeds/$(basename "$f" .zip)"
    done
    while IFS= read -r -d '' f; do
        i=$((i + 1)); ext=$(adv_ext "$f"); id=$(printf 'ADV-%04d' $i)
        mkdir -p "$B/$id" && cp "$f" "$B/$id/0001.$ext" || return 1
        printf '%s\t%s\t%s\n' "$id" "$ext" "${f#$SHARED/}" >>"$TMP/adv.map"
    done < <(find "$A" "$TMP/seeds" -type f ! -name '*.zip' -print0 | sort -z)
    local bin=$SOHOA what="release build"
    [ -n "$SOHOA_ASAN" ] && [ -x "$SOHOA_ASAN" ] && bin=$SOHOA_ASAN what="ASan/UBSan build"
    local t0=$SECONDS
    ASAN_OPTIONS=halt_on_error=1:detect_leaks=0 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
        timeout 900 "$bin" run --warehouse "$W" --jobs 2 --page-timeout 30 "$B" >"$TMP/adv.log" 2>&1
    local rc=$?
    echo "  $i files ($(grep -c 'pdf$' <(cut -f2 "$TMP/adv.map")) PDF) + 1 good dossier, $what: exit $rc in $((SECONDS - t0)) s"
    local bad=0
    [ $rc = 1 ] || { tail -20 "$TMP/adv.log" >&2; note "exit status $rc, want 1"; bad=1; }
    [ "$(sql "$W" "SELECT state FROM dossier WHERE id='HS-2024-00001'")" = done ] ||
        { note "the good dossier is not done"; bad=1; }
    # Every dossier ends done (a file that decodes after all) or failed with
    # a reason naming its file; a crash (signal) is named and reported.
    $PY - "$W/catalog.db" "$TMP/adv.map" <<'PY' || bad=1
import sqlite3, sys, re
db = sqlite3.connect(f"file:{sys.argv[1]}?mode=ro", uri=True)
rows = {r[0]: r[1:] for r in db.execute("SELECT id, state, error FROM dossier")}
bad = 0; done = failed = blank = 0; crashes = []; pdf_skipped = 0
for line in open(sys.argv[2]):
    did, ext, src = line.rstrip("\n").split("\t")
    st, err = rows.get(did, (None, None))
    name = "0001." + ext
    if st == "done":
        done += 1
    elif st == "failed" and err and (name in err or (ext == "pdf" and "no scanner files" in err)):
        failed += 1
        pdf_skipped += ext == "pdf" and "no scanner files" in err
    elif st == "failed" and err and "blank" in err:
        blank += 1   # decoded, but nothing on it: a failure of the dossier, not of a file
    else:
        print(f"  {did} ({src}): state {st}, reason {err!r} does not name {name}"); bad = 1
    if err and re.search(r"signal \d+|worker exited", err):
        crashes.append(f"{src}: {err}")
for c in crashes[:8]:
    print(f"  crash: {c[:300]}")
if len(crashes) > 8:
    print(f"  ... and {len(crashes) - 8} more crashed dossiers")
q = db.execute("SELECT count(*) FROM page WHERE state='quarantined'").fetchone()[0]
t = db.execute("SELECT count(*) FROM page WHERE state='timeout'").fetchone()[0]
print(f"  {done} decoded and done, {failed} failed with a reason naming the file"
      f" ({pdf_skipped} PDF folders refused as 'no scanner files'), {blank} failed as all blank;"
      f" {q} pages quarantined, {t} timed out")
sys.exit(bad or bool(crashes))
PY
    check_no_half_output "$W" || bad=1
    local nsan; nsan=$(grep -c "ERROR: AddressSanitizer\|runtime error:\|ERROR: LeakSanitizer" "$TMP/adv.log")
    if [ "$nsan" != 0 ]; then
        note "$nsan sanitizer report(s); the first:"
        grep -m1 -A14 "ERROR: AddressSanitizer\|runtime error:\|ERROR: LeakSanitizer" "$TMP/adv.log" >&2
        bad=1
    fi
    return $bad
}

t_bomb_refused() {
    local f=$SHARED/adversarial/bombs/g4-100000x100000.tif
    [ -f "$f" ] || return 77
    local B=$TMP/b-bomb W=$TMP/wh-bomb
    mkdir -p "$B/BOMB" && cp "$f" "$B/BOMB/0001.tif" || return 1
    # exit status, peak RSS (kB) of the run and of its workers, wall time:
    # what /usr/bin/time -v reports, without needing it installed
    local rc rss wall
    read -r rc rss wall < <($PY - "$SOHOA" "$W" "$B" "$TMP/bomb.log" <<'PY'
import resource, subprocess, sys, time
t = time.monotonic()
with open(sys.argv[4], "w") as log:
    rc = subprocess.call([sys.argv[1], "run", "--warehouse", sys.argv[2], "--jobs", "1", sys.argv[3]],
                         stdout=log, stderr=log)
print(rc, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, f"{time.monotonic() - t:.2f}")
PY
)
    echo "  bomb: exit $rc, max RSS $((rss / 1024)) MB, wall $wall s"
    [ $rc = 1 ] || { cat "$TMP/bomb.log"; die "exit $rc, want 1"; } || return 1
    [ "$rss" -lt 307200 ] || die "max RSS $((rss / 1024)) MB, want < 300 MB" || return 1
    sql "$W" "SELECT error FROM dossier WHERE id='BOMB'" | grep -q "0001.tif" ||
        die "the refusal does not name the file: $(sql "$W" "SELECT error FROM dossier WHERE id='BOMB'")" || return 1
    local pages; pages=$(sql "$W" "SELECT count(*) FROM page WHERE dossier='BOMB' AND state <> 'pending'")
    grep -qi "100000" "$TMP/bomb.log" || note "the message does not give the claimed size: $(grep -i bomb -A0 "$TMP/bomb.log" | head -2)"
    # whole run (catalog creation included) well under the 2.7 s a decode takes
    awk -v w="$wall" 'BEGIN {exit !(w < 2.5)}' ||
        die "run on the bomb took $wall s; a refusal from the header takes well under a second" || return 1
    if [ "$pages" = 0 ]; then echo "  refused while planning (from the header)"
    else echo "  refused by the worker from the header: $(sql "$W" "SELECT error FROM page WHERE dossier='BOMB'" | head -1)"; fi
}

# ---------------------------------------------------------------------------
# disk full: a small warehouse file system, then room again

disk_full_case() {   # W grow_cmd label
    local W=$1 grow=$2 label=$3
    local B=$TMP/b-full-$label
    mkdir -p "$B" && cp -r samples/batch/HS-2024-00001 samples/batch/HS-2024-00002 "$B/" || return 1
    "$SOHOA" run --warehouse "$W" --jobs 2 "$B" >"$TMP/full1-$label.log" 2>&1
    local rc=$?
    echo "  $label: full run exit $rc"
    grep " error \|FAILED" "$TMP/full1-$label.log" | head -5 | sed 's/^/    /'
    [ $rc != 0 ] || die "a run on a full disk exited 0" || return 1
    [ $rc -lt 128 ] || { cat "$TMP/full1-$label.log"; die "killed by signal $((rc - 128))"; } || return 1
    grep -qi "no space\|space left\|file too large\|disk full" "$TMP/full1-$label.log" ||
        { cat "$TMP/full1-$label.log"; die "no clear 'no space' message"; } || return 1
    grep -i "no space\|space left\|file too large\|disk full" "$TMP/full1-$label.log" | grep -q "$W" ||
        { cat "$TMP/full1-$label.log"; die "the 'no space' message does not name the file"; } || return 1
    check_no_half_output "$W" || return 1
    eval "$grow" || return 1
    "$SOHOA" run --warehouse "$W" --jobs 2 "$B" >"$TMP/full2-$label.log" 2>&1
    rc=$?
    [ $rc = 0 ] || { cat "$TMP/full2-$label.log"; die "rerun with room exit $rc, want 0"; } || return 1
    : >"$B.truth"
    echo "HS-2024-00001 $(awk '$1=="HS-2024-00001"{print $2}' "$TMP/truth") HS-2024-00001" >>"$B.truth"
    echo "HS-2024-00002 $(awk '$1=="HS-2024-00002"{print $2}' "$TMP/truth") HS-2024-00002" >>"$B.truth"
    check_finished "$W" "$B.truth"
}

t_disk_full() {
    can_mount || return 77
    local M=$TMP/mnt-full
    mount_tmpfs "$M" 1m || return 1
    disk_full_case "$M/wh" "mount -o remount,size=64m '$M'" tmpfs
}

t_file_size_limit() {
    # RLIMIT_FSIZE (ulimit -f): the PDF of HS-2024-00002 (1.3 MB) does not
    # fit.  The signal SIGXFSZ is left at its default here, as cron or
    # systemd (LimitFSIZE=) would leave it: the run itself must ignore it.
    local W=$TMP/wh-fsize B=$TMP/b-full-fsize
    mkdir -p "$B" && cp -r samples/batch/HS-2024-00001 samples/batch/HS-2024-00002 "$B/" || return 1
    ( ulimit -f 1000; exec env --default-signal=SIGXFSZ "$SOHOA" run --warehouse "$W" --jobs 2 "$B" ) >"$TMP/fsize1.log" 2>&1
    local rc=$?
    echo "  ulimit -f 1000: exit $rc"
    grep " error \|FAILED" "$TMP/fsize1.log" | head -5 | sed 's/^/    /'
    [ $rc -lt 128 ] || { cat "$TMP/fsize1.log"; die "run killed by signal $((rc - 128)) (SIGXFSZ is 25: the run must ignore it)"; } || return 1
    [ $rc != 0 ] || die "a run over the file size limit exited 0" || return 1
    grep -qi "no space\|space left\|file too large" "$TMP/fsize1.log" ||
        { cat "$TMP/fsize1.log"; die "no clear 'file too large / no space' message"; } || return 1
    grep -qi "signal 25" "$TMP/fsize1.log" && { die "a worker died of SIGXFSZ: its page was quarantined"; return 1; }
    check_no_half_output "$W" || return 1
    "$SOHOA" run --warehouse "$W" --jobs 2 "$B" >"$TMP/fsize2.log" 2>&1
    rc=$?
    [ $rc = 0 ] || { cat "$TMP/fsize2.log"; die "rerun without the limit exit $rc, want 0"; } || return 1
    : >"$B.truth"
    for d in HS-2024-00001 HS-2024-00002; do
        echo "$d $(awk -v d=$d '$1==d{print $2}' "$TMP/truth") $d" >>"$B.truth"
    done
    check_finished "$W" "$B.truth"
}

# ---------------------------------------------------------------------------
# read-only warehouse

snapshot() { (cd "$1" && find . -printf '%p %s %T@ %m\n' | sort && find . -type f -exec sha256sum {} + | sort); }

t_read_only_warehouse() {
    local M=$TMP/mnt-ro W B=$TMP/b-ro how
    mkdir -p "$B" && cp -r samples/batch/HS-2024-00001 "$B/" || return 1
    if can_mount; then
        mount_tmpfs "$M" 64m || return 1
        W=$M/wh how="read-only mount"
    elif [ "$(id -u)" != 0 ]; then
        W=$TMP/wh-ro how="chmod a-w"
    else
        return 77
    fi
    "$SOHOA" run --warehouse "$W" --jobs 2 "$B" >"$TMP/ro0.log" 2>&1 || { cat "$TMP/ro0.log"; die "set-up run failed"; } || return 1
    if [ "$how" = "read-only mount" ]; then mount -o remount,ro "$M" || return 1
    else chmod -R a-w "$W"; fi
    snapshot "$W" >"$TMP/ro.before"
    cp -r samples/batch/HS-2024-00002 "$B/"   # new work it cannot do
    "$SOHOA" run --warehouse "$W" --jobs 2 "$B" >"$TMP/ro1.log" 2>&1
    local rc=$?
    echo "  $how: run exit $rc: $(grep -m1 ' error ' "$TMP/ro1.log" | cut -c21-)"
    [ $rc = 2 ] || { cat "$TMP/ro1.log"; die "exit $rc, want 2"; } || return 1
    grep -q "$W" "$TMP/ro1.log" || { cat "$TMP/ro1.log"; die "the message does not name the warehouse"; } || return 1
    grep -qi "read-only\|permission denied" "$TMP/ro1.log" || { cat "$TMP/ro1.log"; die "the message does not say why"; } || return 1
    snapshot "$W" >"$TMP/ro.after"
    cmp -s "$TMP/ro.before" "$TMP/ro.after" || { diff "$TMP/ro.before" "$TMP/ro.after" | head; die "the warehouse changed"; } || return 1
    # reading still works
    local n
    "$SOHOA" search --warehouse "$W" --json "dat dai" >"$TMP/ro.json" 2>"$TMP/ro.err"
    n=$($PY -c "import json,sys; print(json.load(open(sys.argv[1]))['total'])" "$TMP/ro.json" 2>/dev/null)
    [ "${n:-0}" -ge 1 ] || { cat "$TMP/ro.err"; die "search on a read-only warehouse found '${n}'"; } || return 1
    "$SOHOA" status --warehouse "$W" >/dev/null 2>"$TMP/ro.err" || { cat "$TMP/ro.err"; die "status fails read-only"; } || return 1
    "$SOHOA" verify --warehouse "$W" >/dev/null 2>"$TMP/ro.err" || { cat "$TMP/ro.err"; die "verify fails read-only"; } || return 1
    "$SOHOA" report --warehouse "$W" >/dev/null 2>"$TMP/ro.err" || { cat "$TMP/ro.err"; die "report fails read-only"; } || return 1
    snapshot "$W" >"$TMP/ro.after2"
    cmp -s "$TMP/ro.before" "$TMP/ro.after2" || die "reading changed the warehouse" || return 1
    echo "  search ($n pages), status, verify, report work read-only; nothing changed"
}

# ---------------------------------------------------------------------------
# inputs that cannot be read

t_missing_batch_folder() {
    local W=$TMP/wh-missing
    "$SOHOA" run --warehouse "$W" "$TMP/no-such-batch" >"$TMP/miss.log" 2>&1
    local rc=$?
    [ $rc = 2 ] || die "exit $rc, want 2" || return 1
    grep -q "$TMP/no-such-batch" "$TMP/miss.log" || { cat "$TMP/miss.log"; die "message does not name the folder"; } || return 1
    [ ! -e "$W" ] || die "a warehouse was created for a run that could not start"
}

t_unreadable_file() {
    local B=$TMP/b-unread W=$TMP/wh-unread how
    mkdir -p "$B/HS-U" && cp -r samples/batch/HS-2024-00001 "$B/" &&
        cp samples/batch/HS-2024-00003/0001.tif "$B/HS-U/0001.tif" || return 1
    if [ "$(id -u)" = 0 ]; then
        # root reads any file whatever its mode: a file whose read fails
        # for real is /proc/self/mem (read at offset 0: EIO)
        ln -s /proc/self/mem "$B/HS-U/0002.tif"; how="read fails (EIO)"
    else
        cp samples/batch/HS-2024-00003/0002.tif "$B/HS-U/0002.tif" && chmod 000 "$B/HS-U/0002.tif"; how="mode 000"
    fi
    "$SOHOA" run --warehouse "$W" --jobs 2 "$B" >"$TMP/unread.log" 2>&1
    local rc=$?
    local err; err=$(sql "$W" "SELECT error FROM dossier WHERE id='HS-U'")
    echo "  $how: exit $rc; HS-U: $err"
    [ $rc = 1 ] || { cat "$TMP/unread.log"; die "exit $rc, want 1"; } || return 1
    [ "$(sql "$W" "SELECT state FROM dossier WHERE id='HS-U'")" = failed ] || die "HS-U not failed" || return 1
    echo "$err" | grep -q "0002.tif" || die "the reason does not name 0002.tif" || return 1
    grep -q "HS-U/0002.tif" "$TMP/unread.log" || die "the log does not name HS-U/0002.tif" || return 1
    [ "$(sql "$W" "SELECT state FROM dossier WHERE id='HS-2024-00001'")" = done ] || die "the good dossier is not done" || return 1
    [ ! -e "$W/pdf/HS-U.pdf" ] || die "a PDF was made without page 2"
}

t_dangling_symlink() {
    # A scan that is a dangling symlink (the share it pointed to is gone):
    # the page is missing, so the dossier must fail naming it, not come out
    # one page short.
    local B=$TMP/b-dangle W=$TMP/wh-dangle
    mkdir -p "$B/HS-D" && cp samples/batch/HS-2024-00003/0001.tif "$B/HS-D/0001.tif" || return 1
    ln -s "$TMP/gone/0002.tif" "$B/HS-D/0002.tif"
    "$SOHOA" run --warehouse "$W" --jobs 2 "$B" >"$TMP/dangle.log" 2>&1
    local rc=$?
    local st; st=$(sql "$W" "SELECT state||': '||coalesce(error,'')||' ('||coalesce(pages,0)||' pages)' FROM dossier WHERE id='HS-D'")
    echo "  dangling 0002.tif: exit $rc; HS-D $st"
    [ $rc = 1 ] || die "exit $rc, want 1 (the dossier lacks a page)" || return 1
    echo "$st" | grep -q "^failed: .*0002.tif" || die "HS-D should fail naming 0002.tif"
}

# ---------------------------------------------------------------------------
# lock and deadline

t_lock_held_by_run() {
    local B=$TMP/b-lock W=$TMP/wh-lock
    mkbatch "$B" 1 || return 1
    start_group "$SOHOA" run --warehouse "$W" --jobs 2 "$B" >"$TMP/lock1.log" 2>&1 || return 1
    local first=$BG_PID i
    for i in $(seq 1 100); do grep -q "pages to recognise" "$TMP/lock1.log" && break; sleep 0.05; done
    "$SOHOA" run --warehouse "$W" --jobs 2 "$B" >"$TMP/lock2.log" 2>&1
    local rc=$?
    "$SOHOA" report --warehouse "$W" >"$TMP/lock.report" 2>&1
    local rrc=$?
    kill_group "$first" || return 1
    echo "  second run: exit $rc: $(cut -c21- "$TMP/lock2.log" | head -1)"
    [ $rc = 3 ] || { cat "$TMP/lock2.log"; die "exit $rc, want 3"; } || return 1
    grep -q "another sohoa run (pid $first)" "$TMP/lock2.log" || die "message does not name the holder pid $first" || return 1
    grep -q "$W" "$TMP/lock2.log" || die "message does not name the warehouse" || return 1
    [ $rrc = 0 ] && grep -q "still running (pid $first)" "$TMP/lock.report" ||
        { cat "$TMP/lock.report"; die "report during a run does not say it is still running"; }
}

t_deadline() {
    local B=$TMP/b-dl W=$TMP/wh-dl
    mkbatch "$B" 2 || return 1
    local t0=$SECONDS
    "$SOHOA" run --warehouse "$W" --jobs 2 --max-minutes 0.05 "$B" >"$TMP/dl1.log" 2>&1
    local rc=$?
    local n1 k n2
    n1=$(sed -n 's/.* \([0-9][0-9]*\) pages\? to recognise.*/\1/p' "$TMP/dl1.log")
    k=$(sql "$W" "SELECT count(*) FROM page WHERE state='ocr'")
    echo "  --max-minutes 0.05: exit $rc after $((SECONDS - t0)) s; $k of $n1 pages recognised"
    [ $rc = 4 ] || { cat "$TMP/dl1.log"; die "exit $rc, want 4"; } || return 1
    grep -qi "time limit" "$TMP/dl1.log" || die "no 'time limit' message" || return 1
    [ "$k" -lt "$n1" ] || die "the batch finished within the limit; nothing to test" || return 1
    check_no_half_output "$W" || return 1
    local orphan; orphan=$(sql "$W" "SELECT id FROM dossier WHERE state <> 'done'" | while read -r d; do [ -e "$W/pdf/$d.pdf" ] && echo "$d"; done)
    [ -z "$orphan" ] || die "unfinished dossiers have a PDF: $orphan" || return 1
    local rj; rj=$("$SOHOA" report --warehouse "$W" --json | $PY -c "import json,sys; print(json.load(sys.stdin).get('exit_code'))")
    [ "$rj" = 4 ] || die "report says exit_code $rj, want 4" || return 1
    "$SOHOA" run --warehouse "$W" --jobs 2 "$B" >"$TMP/dl2.log" 2>&1
    rc=$?
    n2=$(sed -n 's/.* \([0-9][0-9]*\) pages\? to recognise.*/\1/p' "$TMP/dl2.log")
    echo "  next run: exit $rc, $n2 pages to recognise"
    [ $rc = 0 ] || { cat "$TMP/dl2.log"; die "next run exit $rc, want 0"; } || return 1
    [ "$n2" = $((n1 - k)) ] || die "next run recognised $n2 pages, want $((n1 - k)) (recognised pages redone?)" || return 1
    check_finished "$W" "$B.truth"
}

# ---------------------------------------------------------------------------
# fixity: verify notices a changed, a missing and a truncated file

t_verify_detects() {
    local B=$TMP/b-fix W=$TMP/wh-fix
    mkdir -p "$B" && cp -r samples/batch/HS-2024-00001 samples/batch/HS-2024-00003 "$B/" || return 1
    "$SOHOA" run --warehouse "$W" --jobs 2 "$B" >"$TMP/fix.log" 2>&1 || { cat "$TMP/fix.log"; die "run failed"; } || return 1
    "$SOHOA" verify --warehouse "$W" >"$TMP/v0" 2>&1 || { cat "$TMP/v0"; die "verify of a sound warehouse failed"; } || return 1
    local atime0; atime0=$(stat -c %X "$B/HS-2024-00003/0001.tif")
    printf 'x' | dd of="$B/HS-2024-00003/0002.tif" bs=1 seek=100 conv=notrunc status=none
    truncate -s -1 "$W/pdf/HS-2024-00001.pdf"
    mv "$B/HS-2024-00003/0001.tif" "$TMP/moved.tif"
    "$SOHOA" verify --warehouse "$W" --json >"$TMP/v1.json" 2>"$TMP/v1.err"
    local rc=$?
    [ $rc = 1 ] || { cat "$TMP/v1.json" "$TMP/v1.err"; die "verify exit $rc, want 1"; } || return 1
    $PY - "$TMP/v1.json" <<'PY' || return 1
import json, sys
v = json.load(open(sys.argv[1]))
got = {(p["dossier"], p["kind"], p["file"].rsplit("/", 1)[-1], p["problem"]) for p in v["problems"]}
want = {("HS-2024-00003", "source", "0002.tif", "mismatch"),
        ("HS-2024-00003", "source", "0001.tif", "missing"),
        ("HS-2024-00001", "pdf", "HS-2024-00001.pdf", "mismatch")}
print(f"  problems found: {sorted(got)}")
assert got == want, f"want {sorted(want)}"
for p in v["problems"]:
    if p["problem"] == "mismatch":
        assert len(p["expected"]) == 64 and len(p["found"]) == 64 and p["expected"] != p["found"]
PY
    "$SOHOA" verify --warehouse "$W" HS-2024-00001 >"$TMP/v2" 2>&1; rc=$?
    [ $rc = 1 ] && grep -q "HS-2024-00001.pdf: mismatch" "$TMP/v2" || { cat "$TMP/v2"; die "verify of one dossier: exit $rc"; } || return 1
    "$SOHOA" verify --warehouse "$W" NO-SUCH >/dev/null 2>&1; rc=$?
    [ $rc = 2 ] || die "verify of an unknown dossier exit $rc, want 2" || return 1
    "$SOHOA" verify --warehouse "$TMP/nowhere" >/dev/null 2>&1; rc=$?
    [ $rc = 2 ] || die "verify without a warehouse exit $rc, want 2" || return 1
    mv "$TMP/moved.tif" "$B/HS-2024-00003/0001.tif"
}

# ---------------------------------------------------------------------------

truth_pages samples/truth.json >"$TMP/truth" || exit 2
[ -n "${ROBUST_LIB:-}" ] && return 0 2>/dev/null

tests=$(declare -F | awk '{print $3}' | grep '^t_')
echo "robust: seed $SEED (ROBUST_SEED=$SEED to replay)"
for t in $tests; do
    [ -n "${1:-}" ] && [[ $t != *"$1"* ]] && continue
    t0=$SECONDS
    out=$($t 2>&1); rc=$?
    if [ $rc = 0 ]; then pass=$((pass+1)); echo "ok   ${t#t_} ($((SECONDS - t0)) s)";
    elif [ $rc = 77 ]; then skip=$((skip+1)); echo "skip ${t#t_}";
    else fail=$((fail+1)); echo "FAIL ${t#t_} ($((SECONDS - t0)) s)"; fi
    [ -n "$out" ] && { [ $rc != 0 ] && [ $rc != 77 ] && echo "$out" | sed 's/^/     /' | tail -40 || echo "$out" | sed 's/^/     /'; }
done
echo "robust: $pass passed, $fail failed, $skip skipped"
[ $fail = 0 ]
