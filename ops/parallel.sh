#!/usr/bin/env bash
# parallel.sh — one batch as N shards over ssh hosts with GNU parallel, then
# the merge (no scheduler needed).
#
#   SOHOA_SHARDS=/shared/sohoa/shards SOHOA_WAREHOUSE=/shared/sohoa/kho \
#   ops/parallel.sh -S host1,host2 [-n SHARDS] [-j WORKERS] BATCH_DIR...
#
# -S hosts for parallel (ssh logins; ":" is this machine), -n shards
# (default: 2 per host), -j workers per shard run (default: one per core
# of the host).  One shard runs at a time on each host; a host takes the
# next shard when it is done.  The batch folders, $SOHOA_SHARDS and the
# sohoa binary ($SOHOA, default `sohoa`) must be at the same paths on every
# host (shared storage).  Shard K goes to $SOHOA_SHARDS/shard-K; rerunning
# the script resumes (runs and merge are idempotent).  Then, on this
# machine: sohoa merge --into $SOHOA_WAREHOUSE --expect BATCH_DIR...
# shard-0 … shard-(N-1).  Exit status: the merge's (0 all merged, 1 some
# dossier failed, refused or missing — the joblog says which shard run
# failed), 2 usage.  More options for parallel in $SOHOA_PARALLEL_OPTS
# (e.g. "--retries 2 --sshlogin-file hosts").
set -uo pipefail
HOSTS='' N='' J=''
while getopts "S:n:j:h" o; do
    case $o in
    S) HOSTS=$OPTARG ;;
    n) N=$OPTARG ;;
    j) J=$OPTARG ;;
    *) sed -n '2,20s/^# \{0,1\}//p' "$0"; [ "$o" = h ] && exit 0; exit 2 ;;
    esac
done
shift $((OPTIND - 1))
if [ -z "$HOSTS" ] || [ "$#" -eq 0 ]; then echo "parallel.sh: usage: -S HOSTS [-n N] [-j W] BATCH_DIR..." >&2; exit 2; fi
: "${SOHOA_SHARDS:?set SOHOA_SHARDS to a folder every host sees}"
: "${SOHOA_WAREHOUSE:?set SOHOA_WAREHOUSE to the warehouse to merge into}"
command -v parallel >/dev/null || { echo "parallel.sh: GNU parallel is not installed (apt-get install parallel)" >&2; exit 2; }
SOHOA=${SOHOA:-sohoa}
nhosts=$(tr ',' '\n' <<<"$HOSTS" | grep -c .)
N=${N:-$((2 * nhosts))}
[[ $N =~ ^[1-9][0-9]*$ ]] || { echo "parallel.sh: -n wants a positive integer" >&2; exit 2; }
batches=()
for b in "$@"; do
    [ -d "$b" ] || { echo "parallel.sh: $b: not a folder" >&2; exit 2; }
    batches+=("$(cd "$b" && pwd)")
done
mkdir -p "$SOHOA_SHARDS/logs"
SOHOA_SHARDS=$(cd "$SOHOA_SHARDS" && pwd)

# -q: parallel quotes each word for the remote shell; {} is the shard.
# shellcheck disable=SC2086  # SOHOA_PARALLEL_OPTS is a list of options
parallel -q -S "$HOSTS" -j1 --sshdelay 0.2 --halt never --tag \
    --joblog "$SOHOA_SHARDS/logs/parallel.joblog" ${SOHOA_PARALLEL_OPTS:-} \
    env OMP_THREAD_LIMIT=1 "$SOHOA" run --quiet --warehouse "$SOHOA_SHARDS/shard-{}" \
    ${J:+--jobs "$J"} --shard "{}/$N" "${batches[@]}" \
    ::: $(seq 0 $((N - 1)))
prc=$?
[ "$prc" = 0 ] || echo "parallel.sh: $prc shard run(s) did not exit 0 (see $SOHOA_SHARDS/logs/parallel.joblog); merging what is there" >&2

shards=() expect=()
for ((k = 0; k < N; k++)); do shards+=("$SOHOA_SHARDS/shard-$k"); done
for b in "${batches[@]}"; do expect+=(--expect "$b"); done
"$SOHOA" merge --into "$SOHOA_WAREHOUSE" "${expect[@]}" "${shards[@]}"
