#!/usr/bin/env bash
# cluster.sh — one batch as shards, merged: `sohoa run --shard K/N` and
# `sohoa merge`, by hand, with GNU parallel and on a real (one-node) Slurm.
#
#   SOHOA=build/sohoa bash tests/cluster.sh [NAME]
#
# Each test is a function t_NAME; the script runs them all but t_slurm (or
# those whose name contains NAME; `tests/cluster.sh slurm` runs the Slurm
# smoke test, which needs root and slurm-wlm + munge, else it is skipped)
# and ends with "cluster: N passed, N failed, N skipped".  Exit 0 when
# nothing failed (77 when everything run was skipped), 1 otherwise.
#
# The reference is a single-machine run over samples/batch; the shards are
# runs 0..3 of 4 over the same batch.  Catalogs are compared through their
# plain tables (page, dossier) with Python's sqlite3: page_fts needs our
# tokenizer, so the index is compared through `sohoa search --json`.
# shellcheck disable=SC2317  # test functions are called through their names
set -uo pipefail
cd "$(dirname "$0")/.." || exit 2
ROOT=$PWD
SOHOA=${SOHOA:-$ROOT/build/sohoa}
case $SOHOA in /*) ;; *) SOHOA=$ROOT/$SOHOA ;; esac
PY=/usr/bin/python3
TMP=$(mktemp -d /tmp/sohoa-cluster-XXXXXX)
PIDS=()
# Daemons and helpers we started, by PID (tests run in subshells: each
# that starts some sets its own trap with stop_pids).
stop_pids() {
    local p
    for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done
    for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null; done
    PIDS=()
}
cleanup() {
    stop_pids
    rm -rf "$TMP"
}
trap cleanup EXIT
N=4
pass=0 fail=0 skip=0

die() { echo "  $*" >&2; return 1; }

# The reference run and the four shard runs, all at once (one worker each).
setup() {
    [ -f "$TMP/setup.done" ] && return 0
    local k pids=()
    "$SOHOA" run --warehouse "$TMP/single" --jobs 2 --quiet samples/batch \
        >"$TMP/single.log" 2>&1 &
    pids+=($!)
    for ((k = 0; k < N; k++)); do
        OMP_THREAD_LIMIT=1 "$SOHOA" run --warehouse "$TMP/shard-$k" --jobs 1 \
            --quiet --shard "$k/$N" samples/batch >"$TMP/shard-$k.log" 2>&1 &
        pids+=($!)
    done
    local rc=0
    for k in "${pids[@]}"; do wait "$k" || rc=1; done
    [ "$rc" = 0 ] || { cat "$TMP"/*.log; die "a run failed"; } || return 1
    touch "$TMP/setup.done"
}

shards() { local k; for ((k = 0; k < N; k++)); do echo "$TMP/shard-$k"; done; }

# Python: compare two warehouses (placed pages, dossiers) or print a
# content hash of one.
cat >"$TMP/cmp.py" <<'PY'
import hashlib, json, sqlite3, sys

def rows(wh, sql):
    db = sqlite3.connect(f"file:{wh}/catalog.db?mode=ro", uri=True)
    r = db.execute(sql).fetchall()
    db.close()
    return r

PAGES = ("SELECT dossier, pageno, source_name, source_sha256, frame, part, "
         "kind, quarter, text FROM page WHERE pageno IS NOT NULL "
         "ORDER BY dossier, pageno")
DOSS = "SELECT id, state, pages, sheets, blanks FROM dossier ORDER BY id"

def same(a, b):
    bad = 0
    for name, sql in (("dossiers", DOSS), ("pages", PAGES)):
        ra, rb = rows(a, sql), rows(b, sql)
        if ra != rb:
            bad += 1
            print(f"  {name} differ: {len(ra)} vs {len(rb)} rows;",
                  "first difference:",
                  next(((x, y) for x, y in zip(ra, rb) if x != y), None))
    return bad

def allcols(wh, skip):
    """every column of every page row but skip, keyed by its identity"""
    db = sqlite3.connect(f"file:{wh}/catalog.db?mode=ro", uri=True)
    cols = [r[1] for r in db.execute("PRAGMA table_info(page)") if r[1] not in skip]
    out = {}
    for r in db.execute(f"SELECT {','.join(cols)} FROM page"):
        d = dict(zip(cols, r))
        out[(d["dossier"], d["source_name"], d["frame"], d["part"])] = d
    return out

cmd = sys.argv[1]
if cmd == "same":
    sys.exit(same(sys.argv[2], sys.argv[3]))
elif cmd == "copied":      # merged page rows = the shards' rows, all columns
    merged = allcols(sys.argv[2], {"id"})
    shard = {}
    for s in sys.argv[3:]:
        shard.update(allcols(s, {"id"}))
    if merged != shard:
        print(f"  page rows differ: {len(merged)} merged, {len(shard)} in shards")
        sys.exit(1)
elif cmd == "hash":
    h = hashlib.sha256()
    for t in ("dossier", "source", "page", "run", "event", "meta",
              "page_fts_data", "page_fts_idx", "page_fts_docsize"):
        for r in rows(sys.argv[2], f"SELECT * FROM {t} ORDER BY 1"):
            h.update(repr(r).encode())
    print(h.hexdigest())
elif cmd == "hits":        # search --json on stdin -> total and sorted hits
    d = json.load(sys.stdin)
    print(d["total"], sorted((x["dossier"], x["page"]) for x in d["hits"]))
PY

cmp_py() { $PY "$TMP/cmp.py" "$@"; }

# The same answers from sohoa search in warehouses a and b.
same_search() {
    local q ra rb
    for q in "dat dai" "thủy lợi" "Nghị định" "quyền sử dụng đất" "UBND"; do
        ra=$("$SOHOA" search --warehouse "$1" --json --limit 1000 "$q" | cmp_py hits) || return 1
        rb=$("$SOHOA" search --warehouse "$2" --json --limit 1000 "$q" | cmp_py hits) || return 1
        [ "$ra" = "$rb" ] || die "search '$q': $ra vs $rb" || return 1
    done
}

# (a) every dossier in exactly one shard, by the documented rule;
# the merge equals the single-machine run.
t_shard_coverage() {
    setup || return 1
    local k
    for ((k = 0; k < N; k++)); do
        "$SOHOA" status --warehouse "$TMP/shard-$k" --json >"$TMP/st-$k.json" ||
            die "status of shard $k failed" || return 1
    done
    $PY - "$TMP" "$N" samples/batch <<'PY'
import hashlib, json, os, sys
tmp, n, batch = sys.argv[1], int(sys.argv[2]), sys.argv[3]
want = sorted(d for d in os.listdir(batch)
              if not d.startswith(".") and os.path.isdir(os.path.join(batch, d)))
seen, bad = {}, 0
for k in range(n):
    st = json.load(open(f"{tmp}/st-{k}.json"))
    done = [d["id"] for d in st["dossiers"] if d["state"] == "done"]
    others = [d["id"] for d in st["dossiers"] if d["state"] != "done"]
    if others:
        print(f"  shard {k} holds dossiers not done: {others}"); bad += 1
    print(f"  shard {k}: {len(done)} dossiers, "
          f"{sum(d['pages'] for d in st['dossiers'])} pages")
    for i in done:
        seen.setdefault(i, []).append(k)
        # the rule ops can reproduce: sha256(batch name + "/" + id),
        # first 16 hex digits, big-endian, mod N
        h = int(hashlib.sha256(f"{os.path.basename(batch)}/{i}".encode())
                .hexdigest()[:16], 16) % n
        if h != k:
            print(f"  {i}: in shard {k}, the rule says {h}"); bad += 1
for i in want:
    if len(seen.get(i, [])) != 1:
        print(f"  {i}: in shards {seen.get(i, [])}"); bad += 1
if sorted(seen) != want:
    print(f"  shards hold {sorted(seen)}, batch has {want}"); bad += 1
sys.exit(bad)
PY
}

t_merge_equals_single() {
    setup || return 1
    # shellcheck disable=SC2046
    "$SOHOA" merge --into "$TMP/merged" --expect samples/batch $(shards) \
        >"$TMP/merge.json" 2>"$TMP/merge.log" ||
        { cat "$TMP/merge.log"; die "merge exit $?"; } || return 1
    cmp_py same "$TMP/single" "$TMP/merged" || return 1
    # shellcheck disable=SC2046
    cmp_py copied "$TMP/merged" $(shards) || return 1
    same_search "$TMP/single" "$TMP/merged" || return 1
    # PDFs: in the merged warehouse, recorded there, as hashed in the shards.
    local id pdf sha
    while IFS='|' read -r id pdf sha; do
        [ "$pdf" = "$TMP/merged/pdf/$id.pdf" ] || die "$id: pdf recorded as $pdf" || return 1
        [ "$(sha256sum <"$pdf" | cut -d' ' -f1)" = "$sha" ] || die "$id: PDF hash" || return 1
        qpdf --check "$pdf" >/dev/null 2>&1 || die "$id: qpdf --check fails" || return 1
    done < <(sqlite3 -batch -noheader "$TMP/merged/catalog.db" \
        "SELECT id, pdf, pdf_sha256 FROM dossier")
    # Provenance: one 'merged' event per dossier naming its shard.
    [ "$(sqlite3 "$TMP/merged/catalog.db" "SELECT count(DISTINCT dossier) FROM event WHERE what='merged' AND file LIKE '$TMP/shard-%'")" = 3 ] ||
        die "merged events missing" || return 1
    # A later run over the batch finds the merged warehouse up to date.
    "$SOHOA" run --warehouse "$TMP/merged" --jobs 1 samples/batch >"$TMP/rerun.log" 2>&1 ||
        die "run on the merged warehouse: exit $?" || return 1
    grep -q "0 pages recognised" "$TMP/rerun.log" ||
        { cat "$TMP/rerun.log"; die "a run after the merge redid work"; } || return 1
}

# (b) merging again changes nothing.
t_remerge_noop() {
    setup || return 1
    # shellcheck disable=SC2046
    [ -f "$TMP/merged/catalog.db" ] || "$SOHOA" merge --quiet --into "$TMP/merged" $(shards) ||
        die "first merge failed" || return 1
    local h0 h1 m0 m1
    h0=$(cmp_py hash "$TMP/merged") && m0=$(stat -c '%n %Y %s %i' "$TMP"/merged/pdf/*) || return 1
    # shellcheck disable=SC2046
    "$SOHOA" merge --into "$TMP/merged" $(shards) 2>"$TMP/remerge.log" ||
        { cat "$TMP/remerge.log"; die "second merge exit $?"; } || return 1
    grep -q "0 dossiers merged (0 pages), 3 already there" "$TMP/remerge.log" ||
        { cat "$TMP/remerge.log"; die "second merge did not skip all"; } || return 1
    h1=$(cmp_py hash "$TMP/merged") && m1=$(stat -c '%n %Y %s %i' "$TMP"/merged/pdf/*) || return 1
    [ "$h0" = "$h1" ] || die "catalog changed on a second merge" || return 1
    [ "$m0" = "$m1" ] || die "PDFs rewritten on a second merge" || return 1
}

# (c) a corrupted or missing PDF is refused with the reason.
t_corrupt_pdf() {
    setup || return 1
    local c=$TMP/corrupt rc
    rm -rf "$c" && cp -a "$TMP/shard-0" "$c" || return 1
    local f=$c/pdf/HS-2024-00001.pdf size
    size=$(stat -c %s "$f")
    # flip one byte in the middle
    $PY - "$f" "$((size / 2))" <<'PY' || return 1
import sys
with open(sys.argv[1], "r+b") as f:
    f.seek(int(sys.argv[2])); b = f.read(1); f.seek(int(sys.argv[2]))
    f.write(bytes([b[0] ^ 0xFF]))
PY
    "$SOHOA" merge --into "$TMP/m-corrupt" "$c" "$TMP/shard-2" 2>"$TMP/corrupt.log"
    rc=$?
    [ "$rc" = 1 ] || { cat "$TMP/corrupt.log"; die "exit $rc, want 1"; } || return 1
    grep -q "HS-2024-00001: refused: PDF .*HS-2024-00001.pdf does not match its done marker" "$TMP/corrupt.log" ||
        { cat "$TMP/corrupt.log"; die "no reason given"; } || return 1
    [ "$(sqlite3 "$TMP/m-corrupt/catalog.db" "SELECT group_concat(id) FROM (SELECT id FROM dossier ORDER BY id)")" = "HS-2024-00002,HS-2024-00003" ] ||
        die "the other dossiers were not merged" || return 1
    [ ! -e "$TMP/m-corrupt/pdf/HS-2024-00001.pdf" ] || die "refused PDF copied" || return 1
    local left
    left=$(find "$TMP/m-corrupt/pdf" -name '.*')
    [ -z "$left" ] || die "temp file left: $left" || return 1
    # A missing PDF (Slurm said COMPLETED, the files say otherwise).
    rm -f "$c/pdf/HS-2024-00003.pdf"
    "$SOHOA" merge --into "$TMP/m-corrupt2" "$c" 2>"$TMP/missing.log"
    rc=$?
    [ "$rc" = 1 ] || die "missing PDF: exit $rc" || return 1
    grep -q "HS-2024-00003: refused: PDF missing" "$TMP/missing.log" ||
        { cat "$TMP/missing.log"; die "missing PDF not named"; } || return 1
}

# (d) the same dossier with different content in two shards.
t_conflict() {
    setup || return 1
    local x=$TMP/other rc
    rm -rf "$x" "$TMP/m-conf" && cp -a "$TMP/shard-2" "$x" || return 1
    sqlite3 "$x/catalog.db" "UPDATE page SET text = text || ' khác' WHERE dossier='HS-2024-00002' AND pageno=2" || return 1
    "$SOHOA" merge --quiet --into "$TMP/m-conf" "$TMP/shard-2" "$TMP/shard-0" 2>/dev/null || return 1
    local h0
    h0=$(cmp_py hash "$TMP/m-conf")
    "$SOHOA" merge --into "$TMP/m-conf" "$x" 2>"$TMP/conf.log"
    rc=$?
    [ "$rc" = 1 ] || { cat "$TMP/conf.log"; die "exit $rc, want 1"; } || return 1
    grep "HS-2024-00002: refused" "$TMP/conf.log" | grep -q "$TMP/shard-2.*$x" ||
        { cat "$TMP/conf.log"; die "conflict does not name both shards"; } || return 1
    grep -q "page texts differ" "$TMP/conf.log" || die "reason not given" || return 1
    [ "$(cmp_py hash "$TMP/m-conf")" = "$h0" ] || die "target changed by a refused merge" || return 1
    # A different PDF (rehashed consistently in its catalog) is refused too.
    rm -rf "$x" && cp -a "$TMP/shard-2" "$x" && printf '%% other\n' >>"$x/pdf/HS-2024-00002.pdf" || return 1
    sqlite3 "$x/catalog.db" "UPDATE dossier SET pdf_sha256='$(sha256sum <"$x/pdf/HS-2024-00002.pdf" | cut -d' ' -f1)' WHERE id='HS-2024-00002'" || return 1
    "$SOHOA" merge --into "$TMP/m-conf" "$x" 2>"$TMP/conf2.log"
    rc=$?
    [ "$rc" = 1 ] && grep -q "HS-2024-00002: refused: already merged from $TMP/shard-2 with different content: PDF" "$TMP/conf2.log" ||
        { cat "$TMP/conf2.log"; die "PDF conflict: exit $rc"; } || return 1
}

# (e) --expect names a dossier no shard holds (a task that never ran).
t_expect_missing() {
    setup || return 1
    local rc
    "$SOHOA" merge --into "$TMP/m-miss" --expect samples/batch "$TMP/shard-0" \
        "$TMP/shard-1" "$TMP/shard-3" 2>"$TMP/miss.log"
    rc=$?
    [ "$rc" = 1 ] || { cat "$TMP/miss.log"; die "exit $rc, want 1"; } || return 1
    grep -q "HS-2024-00002: missing: in batch samples/batch .*shard 2 of 4" "$TMP/miss.log" ||
        { cat "$TMP/miss.log"; die "missing dossier not named"; } || return 1
    [ "$(grep -c missing: "$TMP/miss.log")" = 1 ] || die "wrong missing list" || return 1
    # A shard folder without a catalog (the task never started).
    "$SOHOA" merge --into "$TMP/m-miss" "$TMP/no-such-shard" 2>"$TMP/miss2.log"
    rc=$?
    [ "$rc" = 1 ] && grep -q "no shard catalog" "$TMP/miss2.log" ||
        { cat "$TMP/miss2.log"; die "absent shard: exit $rc"; } || return 1
}

# Failed dossiers are reported and left; others merged.
t_not_done() {
    setup || return 1
    local f=$TMP/failed rc
    rm -rf "$f" && cp -a "$TMP/shard-0" "$f" || return 1
    sqlite3 "$f/catalog.db" "UPDATE dossier SET state='failed', error='0002.tif frame 1: bad' WHERE id='HS-2024-00003'" || return 1
    "$SOHOA" merge --into "$TMP/m-failed" "$f" 2>"$TMP/failed.log"
    rc=$?
    [ "$rc" = 1 ] || die "exit $rc, want 1" || return 1
    grep -q "HS-2024-00003: not merged: failed in $f: 0002.tif frame 1: bad" "$TMP/failed.log" ||
        { cat "$TMP/failed.log"; die "failed dossier not reported"; } || return 1
    [ "$(sqlite3 "$TMP/m-failed/catalog.db" "SELECT group_concat(id) FROM dossier")" = HS-2024-00001 ] ||
        die "wrong dossiers merged" || return 1
    # ... and merged once another shard has it done.
    "$SOHOA" merge --into "$TMP/m-failed" "$f" "$TMP/shard-0" 2>"$TMP/failed2.log" ||
        { cat "$TMP/failed2.log"; die "done elsewhere: exit $?"; } || return 1
    # A failed dossier of the target itself (pages still indexed) is
    # replaced by a shard's done copy: unindexed, then indexed once.
    rm -rf "$TMP/m-repl" && cp -a "$f" "$TMP/m-repl" || return 1
    "$SOHOA" merge --into "$TMP/m-repl" "$TMP/shard-0" 2>"$TMP/repl.log" ||
        { cat "$TMP/repl.log"; die "replace: exit $?"; } || return 1
    grep -q "1 dossier merged (2 pages), 1 already there" "$TMP/repl.log" ||
        { cat "$TMP/repl.log"; die "replace: wrong counts"; } || return 1
    cmp_py same "$TMP/shard-0" "$TMP/m-repl" || return 1
    same_search "$TMP/shard-0" "$TMP/m-repl"
}

# The target's lock: a run (or merge) holding it makes the merge exit 3;
# usage errors exit 2.
t_lock_and_usage() {
    setup || return 1
    mkdir -p "$TMP/m-lock"
    flock -o "$TMP/m-lock/.lock" sleep 5 &
    local fp=$! rc
    PIDS+=("$fp")
    sleep 0.3
    "$SOHOA" merge --into "$TMP/m-lock" "$TMP/shard-0" 2>"$TMP/lock.log"
    rc=$?
    kill "$fp" 2>/dev/null
    [ "$rc" = 3 ] && grep -q "working on $TMP/m-lock" "$TMP/lock.log" ||
        { cat "$TMP/lock.log"; die "locked: exit $rc, want 3"; } || return 1
    # A shard whose run still holds its lock is refused, the rest merged.
    flock -o "$TMP/shard-2/.lock" sleep 5 &
    fp=$!
    PIDS+=("$fp")
    sleep 0.3
    "$SOHOA" merge --into "$TMP/m-lock" "$TMP/shard-0" "$TMP/shard-2" 2>"$TMP/lock2.log"
    rc=$?
    kill "$fp" 2>/dev/null
    [ "$rc" = 1 ] && grep -q "shard-2: a sohoa run is still working on this shard" "$TMP/lock2.log" &&
        grep -q "2 dossiers merged" "$TMP/lock2.log" ||
        { cat "$TMP/lock2.log"; die "locked shard: exit $rc, want 1"; } || return 1
    "$SOHOA" merge "$TMP/shard-0" 2>/dev/null; rc=$?
    [ "$rc" = 2 ] || die "no --into: exit $rc" || return 1
    "$SOHOA" merge --into "$TMP/m-lock" 2>/dev/null; rc=$?
    [ "$rc" = 2 ] || die "no shard: exit $rc" || return 1
    "$SOHOA" merge --into "$TMP/shard-0" "$TMP/shard-0" 2>/dev/null; rc=$?
    [ "$rc" = 2 ] || die "target as shard: exit $rc" || return 1
}

# The GNU parallel recipe, on this machine (-S :).
t_parallel() {
    command -v parallel >/dev/null || return 77
    setup || return 1
    SOHOA=$SOHOA SOHOA_SHARDS=$TMP/par SOHOA_WAREHOUSE=$TMP/par-kho \
        ops/parallel.sh -S : -n 3 -j 1 samples/batch >"$TMP/par.log" 2>&1 ||
        { cat "$TMP/par.log"; die "parallel.sh exit $?"; } || return 1
    cmp_py same "$TMP/single" "$TMP/par-kho" || return 1
    same_search "$TMP/single" "$TMP/par-kho"
}

# (f) A real Slurm: one node on loopback, 4-task array + dependent merge
# through ops/slurm/submit.sh.
t_slurm() {
    # shellcheck disable=SC2015
    command -v slurmctld >/dev/null && command -v slurmd >/dev/null &&
        command -v munged >/dev/null && command -v sbatch >/dev/null ||
        { echo "  slurm-wlm or munge not installed" >&2; return 77; }
    [ "$(id -u)" = 0 ] || { echo "  needs root (slurmd)" >&2; return 77; }
    setup || return 1
    local S=$TMP/slurm t0 port
    mkdir -p "$S/munge" "$S/state" "$S/spool" "$S/log" && chmod 755 "$S/munge" || return 1
    head -c 1024 /dev/urandom >"$S/munge.key" && chmod 600 "$S/munge.key" || return 1
    # In the foreground (as our child, so we stop and reap it by PID).
    munged --foreground --force --socket="$S/munge/sock" \
        --key-file="$S/munge.key" --pid-file="$S/munge/pid" \
        --log-file="$S/munge/log" --seed-file="$S/munge/seed" &
    PIDS+=($!)
    trap stop_pids EXIT
    local i ok=0
    for ((i = 0; i < 50; i++)); do
        [ -S "$S/munge/sock" ] && { ok=1; break; }
        sleep 0.1
    done
    [ "$ok" = 1 ] || { cat "$S/munge/log"; die "munged did not start"; } || return 1
    # Ports away from a system Slurm's 6817/6818.
    port=$((20000 + RANDOM % 20000))
    cat >"$S/slurm.conf" <<EOF
ClusterName=sohoa
SlurmctldHost=localhost
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
AuthInfo=socket=$S/munge/sock
CredType=cred/munge
SlurmctldPort=$port
SlurmdPort=$((port + 1))
StateSaveLocation=$S/state
SlurmdSpoolDir=$S/spool
SlurmctldPidFile=$S/slurmctld.pid
SlurmdPidFile=$S/slurmd.pid
SlurmctldLogFile=$S/log/slurmctld.log
SlurmdLogFile=$S/log/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
SchedulerType=sched/backfill
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none
JobCompType=jobcomp/none
MpiDefault=none
ReturnToService=2
NodeName=localhost CPUs=2 State=UNKNOWN
PartitionName=debug Nodes=localhost Default=YES MaxTime=INFINITE State=UP
EOF
    export SLURM_CONF=$S/slurm.conf
    t0=$(date +%s)
    slurmctld -D -f "$SLURM_CONF" >"$S/log/ctld.out" 2>&1 &
    PIDS+=($!)
    slurmd -D -f "$SLURM_CONF" >"$S/log/d.out" 2>&1 &
    PIDS+=($!)
    ok=0
    for ((i = 0; i < 60; i++)); do
        sinfo -h -o %T 2>/dev/null | grep -qx idle && { ok=1; break; }
        sleep 0.5
    done
    [ "$ok" = 1 ] || { tail "$S"/log/*; die "Slurm node not idle after 30 s"; } || return 1
    local out arr mer
    out=$(SOHOA=$SOHOA SOHOA_SHARDS=$S/shards SOHOA_WAREHOUSE=$S/kho \
        ops/slurm/submit.sh -n 4 -c 1 samples/batch) || die "submit.sh failed" || return 1
    arr=${out#array=}; arr=${arr%% *}; mer=${out##*merge=}
    echo "  submitted: $out" >&2
    ok=0
    for ((i = 0; i < 300; i++)); do
        [ -z "$(squeue -h -j "$arr,$mer" 2>/dev/null)" ] && { ok=1; break; }
        sleep 1
    done
    [ "$ok" = 1 ] || { squeue; die "jobs not finished after 5 min"; } || return 1
    echo "  slurm: array of 4 + merge took $(($(date +%s) - t0)) s (daemons included)" >&2
    local log=$S/shards/logs/merge-$mer.out
    [ -f "$log" ] || { ls "$S/shards/logs"; die "merge job did not run"; } || return 1
    grep -q "3 dossiers merged (7 pages), 0 already there, 0 refused, 0 not done, 0 missing" "$log" ||
        { cat "$S"/shards/logs/*; die "merge job did not merge everything"; } || return 1
    cmp_py same "$TMP/single" "$S/kho" || return 1
    same_search "$TMP/single" "$S/kho"
}

want=${1:-}
for t in $(declare -F | awk '{print $3}' | grep '^t_'); do
    name=${t#t_}
    if [ -z "$want" ]; then
        [ "$name" = slurm ] && continue
    elif [[ $name != *"$want"* ]]; then
        continue
    fi
    t1=$(date +%s.%N)
    ( $t ) >"$TMP/out.$name" 2>&1
    rc=$?
    dt=$(awk -v a="$t1" -v b="$(date +%s.%N)" 'BEGIN{printf "%.1f", b-a}')
    case $rc in
    0) pass=$((pass + 1)); echo "ok   $name (${dt}s)"; sed -n '/^  slurm:/p' "$TMP/out.$name" ;;
    77) skip=$((skip + 1)); echo "skip $name"; sed 's/^/     /' "$TMP/out.$name" ;;
    *) fail=$((fail + 1)); echo "FAIL $name (${dt}s)"; sed 's/^/     /' "$TMP/out.$name" ;;
    esac
done
echo "cluster: $pass passed, $fail failed, $skip skipped"
[ $fail = 0 ] || exit 1
[ $pass = 0 ] && [ $skip -gt 0 ] && exit 77
exit 0
