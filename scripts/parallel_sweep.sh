#!/usr/bin/env bash
# Spreads a harness sweep over N processes on this machine with GNU parallel, then
# merges the shards into one run folder (docs/sweeps.md).
#
#   scripts/parallel_sweep.sh CONFIG N OUTDIR [-j JOBS]
#
# Shard I runs `harness run CONFIG --out OUTDIR.shards/shard-I --shard I/N --resume`,
# at most JOBS at a time (default: min(N, cores)), each with cores/JOBS OpenMP
# threads; then `harness merge --out OUTDIR` joins them. Rerunning the same command
# after an interruption keeps every finished cell (--resume). The merged OUTDIR
# equals a single-process `harness run CONFIG --out OUTDIR` byte for byte.
#
# Environment: ZP_HARNESS (default bin/harness next to this script), ZP_RUN_ARGS
# (extra `harness run` options, e.g. "--data /data"), ZP_MERGE_ARGS (extra
# `harness merge` options, e.g. --no-plots), ZP_SHARD_ROOT (default OUTDIR.shards).
# Exit codes: 0 merged; 1 a shard or the merge failed (logs in SHARD_ROOT/logs);
# 2 usage error.
set -uo pipefail

SELF=$(readlink -f "$0")

die() { echo "parallel_sweep: $*" >&2; exit 2; }
is_count() { [[ $1 =~ ^[1-9][0-9]*$ ]]; }

# Internal role: one shard, called by GNU parallel with the settings in the
# environment (so paths with spaces survive parallel's command line).
if [ "${1:-}" = _shard ]; then
    i=$2
    # shellcheck disable=SC2086
    "$ZP_HARNESS" run "$ZP_PS_CONFIG" --out "$ZP_SHARD_ROOT/shard-$i" --shard "$i/$ZP_PS_N" \
        --resume --no-plots --quiet --threads "$ZP_PS_THREADS" ${ZP_RUN_ARGS:-} \
        >"$ZP_SHARD_ROOT/logs/shard-$i.log" 2>&1
    rc=$?
    [ $rc -eq 0 ] || echo "parallel_sweep: shard $i/$ZP_PS_N failed (exit $rc):" \
        "$(head -1 "$ZP_SHARD_ROOT/logs/shard-$i.log")" >&2
    exit $rc
fi

usage="usage: parallel_sweep.sh CONFIG N OUTDIR [-j JOBS]"
[ $# -ge 3 ] || die "$usage"
cfg=$1 n=$2 out=$3
shift 3
jobs=""
while [ $# -gt 0 ]; do
    case $1 in
    -j) is_count "${2:-}" || die "-j needs a positive count"; jobs=$2; shift 2 ;;
    *) die "unknown option '$1'; $usage" ;;
    esac
done
is_count "$n" || die "N '$n' is not a positive integer; $usage"
[ -r "$cfg" ] || die "$cfg: cannot read the config"
command -v parallel >/dev/null || die "GNU parallel not found (Debian package: parallel)"
h=${ZP_HARNESS:-$(dirname "$SELF")/../bin/harness}
[ -x "$h" ] || die "harness binary '$h' not found or not executable (set ZP_HARNESS)"

cores=$(nproc)
[ -n "$jobs" ] || jobs=$((n < cores ? n : cores))
threads=$((cores / jobs))
[ "$threads" -ge 1 ] || threads=1

root=${ZP_SHARD_ROOT:-$out.shards}
mkdir -p "$root/logs" || die "$root/logs: cannot create"
export ZP_HARNESS=$h ZP_SHARD_ROOT=$root ZP_PS_CONFIG=$cfg ZP_PS_N=$n ZP_PS_THREADS=$threads
echo "parallel_sweep: $n shards, $jobs at a time x $threads threads -> $root" >&2
parallel --will-cite -q -j "$jobs" --halt never bash "$SELF" _shard {} ::: $(seq 0 $((n - 1)))
failed=$?
if [ $failed -ne 0 ]; then
    echo "parallel_sweep: $failed shard(s) failed; not merging (rerun to resume)" >&2
    exit 1
fi
dirs=()
for ((i = 0; i < n; i++)); do dirs+=("$root/shard-$i"); done
# shellcheck disable=SC2086
"$h" merge --out "$out" ${ZP_MERGE_ARGS:-} "${dirs[@]}"
rc=$?
[ $rc -le 2 ] || rc=1
exit $rc
