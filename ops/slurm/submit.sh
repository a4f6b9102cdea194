#!/usr/bin/env bash
# submit.sh — queue a batch on Slurm: N shard tasks, then the merge.
#
#   SOHOA_SHARDS=/shared/sohoa/shards SOHOA_WAREHOUSE=/shared/sohoa/kho \
#   ops/slurm/submit.sh [-n SHARDS] [-c CPUS_PER_TASK] [-t TIME] BATCH_DIR...
#
# -n shards (array tasks, default 4), -c CPUs (= workers) per task (default
# 4), -t time limit per task (sbatch --time, default none).  Extra sbatch
# options for both jobs (partition, account, …) in $SOHOA_SBATCH_OPTS.
# Batch folders must be on storage every node sees; they are passed as
# absolute paths.  Prints "array=JOBID merge=JOBID" on stdout.
# Logs: $SOHOA_SHARDS/logs/shard-K.out and merge-JOBID.out.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
N=4 C=4 T=''
while getopts "n:c:t:h" o; do
    case $o in
    n) N=$OPTARG ;;
    c) C=$OPTARG ;;
    t) T=$OPTARG ;;
    *) sed -n '2,13s/^# \{0,1\}//p' "$0"; [ "$o" = h ] && exit 0; exit 2 ;;
    esac
done
shift $((OPTIND - 1))
[ "$#" -ge 1 ] || { echo "submit.sh: no batch folder" >&2; exit 2; }
[[ $N =~ ^[1-9][0-9]*$ && $C =~ ^[1-9][0-9]*$ ]] || { echo "submit.sh: -n and -c want positive integers" >&2; exit 2; }
: "${SOHOA_SHARDS:?set SOHOA_SHARDS to a folder on shared storage}"
: "${SOHOA_WAREHOUSE:?set SOHOA_WAREHOUSE to the warehouse to merge into}"
batches=()
for b in "$@"; do
    [ -d "$b" ] || { echo "submit.sh: $b: not a folder" >&2; exit 2; }
    batches+=("$(cd "$b" && pwd)")
done
mkdir -p "$SOHOA_SHARDS/logs"
SOHOA_SHARDS=$(cd "$SOHOA_SHARDS" && pwd)
export SOHOA_SHARDS SOHOA_WAREHOUSE SOHOA_SHARD_N=$N
[ -n "${SOHOA:-}" ] && export SOHOA
# shellcheck disable=SC2086  # SOHOA_SBATCH_OPTS is a list of options
arr=$(sbatch --parsable --array="0-$((N - 1))" --cpus-per-task="$C" \
    ${T:+--time="$T"} --export=ALL --output="$SOHOA_SHARDS/logs/shard-%a.out" \
    ${SOHOA_SBATCH_OPTS:-} "$here/sohoa-array.sbatch" "${batches[@]}")
arr=${arr%%;*}
# shellcheck disable=SC2086
mer=$(sbatch --parsable --dependency="afterok:$arr" --kill-on-invalid-dep=yes \
    --export=ALL --output="$SOHOA_SHARDS/logs/merge-%j.out" \
    ${SOHOA_SBATCH_OPTS:-} "$here/sohoa-merge.sbatch" "${batches[@]}")
mer=${mer%%;*}
echo "array=$arr merge=$mer"
