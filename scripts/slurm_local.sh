#!/usr/bin/env bash
# A private single-node Slurm cluster (munged + slurmctld + slurmd) that lives in one
# directory, for tests and for trying scripts/slurm_sweep.sbatch on a laptop. It does
# not touch /etc/slurm, /etc/munge or system services: every daemon gets its own key,
# socket, ports, state, logs and pid file under DIR, and is stopped by its pid.
#
#   slurm_local.sh start DIR [--owner PID] [--ttl SECONDS]
#       Starts the cluster and waits (bounded) until the node is idle; prints the
#       line to eval to use it: export SLURM_CONF=DIR/slurm.conf
#       A watchdog stops the daemons after --ttl seconds (default 600), or as soon
#       as process --owner exits, so a crashed test never leaves daemons behind.
#   slurm_local.sh stop DIR
#       Cancels the cluster's jobs, stops its daemons (TERM, then KILL), idempotent.
#
# Exit codes of start: 0 ready; 3 this machine lacks a prerequisite (a Slurm or
# munge program, root): callers may skip; 1 a daemon failed (logs are printed).
set -uo pipefail

SELF=$(readlink -f "$0")
PROGS="munged slurmctld slurmd sbatch sinfo squeue scancel scontrol"

die() { echo "slurm_local: $*" >&2; exit 1; }

usage() {
    sed -n '2,/^set -uo/p' "$SELF" | sed '$d; s/^# \{0,1\}//' >&2
    exit 2
}

# Prints the last lines of each log so a failure explains itself.
show_logs() {
    for f in "$1"/munged.log "$1"/munged.out "$1"/slurmctld.log "$1"/slurmctld.out \
        "$1"/slurmd.log "$1"/slurmd.out; do
        [ -s "$f" ] && { echo "--- $f (last lines)"; tail -15 "$f"; }
    done >&2
}

read_pid() { [ -s "$1" ] && tr -dc '0-9' <"$1"; }

# True while PID runs and is one of this cluster's processes: its command line names
# a path in the cluster folder. That check keeps a recycled pid (or an exited daemon
# left as a zombie, whose command line is empty) from being taken for ours.
ours() {
    [ -n "$1" ] && kill -0 "$1" 2>/dev/null &&
        tr '\0' ' ' <"/proc/$1/cmdline" 2>/dev/null | grep -qF "$DIR/"
}

# The pid of one of our processes (munged, slurmctld, slurmd, watchdog), from the
# copy taken at start (pids/NAME: the daemons' own pid files vanish when they exit,
# and a slow-exiting old daemon could remove a new one's), else its pid file.
our_pid() {
    local pid
    pid=$(read_pid "$DIR/pids/$1") || pid=$(read_pid "$DIR/$1.pid") || return 1
    ours "$pid" && echo "$pid"
}

# Sends TERM to the named processes, all at once, waits up to 10 s for them to exit,
# then KILLs those left.
stop_procs() {
    local name pid pids="" left
    for name in "$@"; do
        pid=$(our_pid "$name") && pids="$pids $pid"
    done
    [ -n "$pids" ] || return 0
    # shellcheck disable=SC2086
    kill -TERM $pids 2>/dev/null
    for _ in $(seq 100); do
        left=""
        for pid in $pids; do ours "$pid" && left="$left $pid"; done
        [ -z "$left" ] && return 0
        sleep 0.1
    done
    # shellcheck disable=SC2086
    kill -KILL $left 2>/dev/null
    return 0
}

cmd_stop() {
    [ -f "$DIR/slurm.conf" ] || return 0
    export SLURM_CONF="$DIR/slurm.conf"
    # Jobs first, so that no slurmstepd or harness outlives the daemons.
    if our_pid slurmctld >/dev/null; then
        local jobs
        jobs=$(timeout 10 squeue -h -o %A 2>/dev/null | sort -u)
        if [ -n "$jobs" ]; then
            # shellcheck disable=SC2086
            timeout 10 scancel $jobs 2>/dev/null
            for _ in $(seq 50); do
                [ -z "$(timeout 5 squeue -h -t R,CG -o %A 2>/dev/null)" ] && break
                sleep 0.2
            done
        fi
    fi
    stop_procs slurmd slurmctld
    stop_procs munged
    # The watchdog calls stop itself: it must not kill itself mid-way.
    [ -n "${ZP_SLURM_WATCHDOG:-}" ] || stop_procs watchdog
    return 0
}

# Waits (bounded) for a daemon's pid file and keeps a copy of the pid.
record_pid() {
    local pid
    for _ in $(seq 100); do
        pid=$(read_pid "$DIR/$1.pid") && ours "$pid" && { echo "$pid" >"$DIR/pids/$1"; return 0; }
        sleep 0.1
    done
    return 1
}

# Two free TCP ports in a row, picked at random so that two clusters (or a system
# Slurm on the default 6817/6818) never collide. Without ss (iproute2) the pick is
# unchecked, which is still very unlikely to collide.
pick_ports() {
    local p
    for _ in $(seq 50); do
        p=$((20000 + RANDOM % 20000))
        if ! ss -Hltn 2>/dev/null | awk '{print $4}' | grep -Eq ":($p|$((p + 1)))\$"; then
            echo "$p"
            return 0
        fi
    done
    return 1
}

wait_for() { # SECONDS COMMAND...: polls COMMAND every 0.2 s
    local limit=$(($1 * 5))
    shift
    for _ in $(seq "$limit"); do "$@" && return 0; sleep 0.2; done
    return 1
}

cmd_start() {
    local owner=$1 ttl=$2
    local p missing=""
    for p in $PROGS; do command -v "$p" >/dev/null 2>&1 || missing="$missing $p"; done
    if [ -n "$missing" ]; then
        echo "slurm_local: missing programs:$missing (Debian packages: slurmctld slurmd" \
             "slurm-client munge)" >&2
        exit 3
    fi
    # slurmd must be root to start jobs for the submitting user.
    if [ "$(id -u)" != 0 ]; then
        echo "slurm_local: slurmd must run as root to launch jobs; running as $(id -un)" >&2
        exit 3
    fi
    local name
    for name in munged slurmctld slurmd; do
        our_pid "$name" >/dev/null &&
            die "$DIR: a cluster is running there (slurm_local.sh stop $DIR first)"
    done
    # A stopped cluster's folder can be reused: start from clean state.
    rm -rf "$DIR/munge" "$DIR/state" "$DIR/spool" "$DIR/pids" "$DIR"/*.log "$DIR"/*.out \
        "$DIR"/*.pid "$DIR/died"
    chmod 700 "$DIR"
    mkdir -p "$DIR/munge" "$DIR/state" "$DIR/spool" "$DIR/pids"
    chmod 700 "$DIR/munge"

    # munge: a fresh key so that this cluster trusts nobody else.
    dd if=/dev/urandom of="$DIR/munge/munge.key" bs=1024 count=1 status=none ||
        die "cannot write the munge key"
    chmod 400 "$DIR/munge/munge.key"
    local sock="$DIR/munge/munge.socket"
    { munged --force --key-file="$DIR/munge/munge.key" --socket="$sock" \
        --pid-file="$DIR/munged.pid" --log-file="$DIR/munged.log" \
        --seed-file="$DIR/munge/seed" </dev/null >>"$DIR/munged.out" 2>&1 &&
        record_pid munged && wait_for 10 test -S "$sock"; } ||
        fail_start "munged did not start (no socket $sock)"

    local port host user node
    port=$(pick_ports) || fail_start "no free TCP port pair found"
    host=$(hostname -s)
    user=$(id -un)
    # The node line as slurmd itself detects it (sockets, cores, threads), so the node
    # is not drained for a topology mismatch; memory is kept small on purpose.
    node=$(slurmd -C 2>/dev/null | sed -n 's/^\(NodeName=.*\) RealMemory=[0-9]*.*/\1/p')
    [ -n "$node" ] || node="NodeName=$host CPUs=$(nproc)"
    cat >"$DIR/slurm.conf" <<EOF
# Written by scripts/slurm_local.sh: a private single-node cluster in $DIR.
ClusterName=zplocal
SlurmctldHost=$host(127.0.0.1)
SlurmctldPort=$port
SlurmdPort=$((port + 1))
SlurmUser=$user
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$sock
StateSaveLocation=$DIR/state
SlurmdSpoolDir=$DIR/spool
SlurmctldPidFile=$DIR/slurmctld.pid
SlurmdPidFile=$DIR/slurmd.pid
SlurmctldLogFile=$DIR/slurmctld.log
SlurmdLogFile=$DIR/slurmd.log
SlurmctldDebug=info
SlurmdDebug=info
# No cgroups: containers often lack a writable cgroup tree.
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
SwitchType=switch/none
MpiDefault=none
MailProg=/bin/true
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
SchedulerType=sched/backfill
ReturnToService=2
SlurmdParameters=config_overrides
SlurmctldTimeout=30
SlurmdTimeout=30
InactiveLimit=0
KillWait=5
MinJobAge=300
$node RealMemory=1000 NodeAddr=127.0.0.1 NodeHostname=$host State=UNKNOWN
PartitionName=debug Nodes=$host Default=YES MaxTime=60 State=UP
EOF
    export SLURM_CONF="$DIR/slurm.conf"
    # Normal daemon mode (they fork); -i: ignore saved state (there is none anyway).
    { slurmctld -f "$SLURM_CONF" -i </dev/null >>"$DIR/slurmctld.out" 2>&1 &&
        record_pid slurmctld; } || fail_start "slurmctld did not start"
    { slurmd -f "$SLURM_CONF" </dev/null >>"$DIR/slurmd.out" 2>&1 &&
        record_pid slurmd; } || fail_start "slurmd did not start"

    # The watchdog: detached, its own session, no inherited stdout (a caller reading
    # our output through a pipe would otherwise wait for it).
    # shellcheck disable=SC2016
    ZP_SLURM_WATCHDOG=1 setsid bash -c '
        end=$((SECONDS + $3))
        while [ $SECONDS -lt $end ]; do
            if [ "$2" != 0 ] && ! kill -0 "$2" 2>/dev/null; then break; fi
            sleep 1
        done
        bash "$4" stop "$1"' watchdog "$DIR/" "$owner" "$ttl" "$SELF" </dev/null >/dev/null 2>&1 &
    echo $! >"$DIR/pids/watchdog"

    # Idle, or a daemon died (a config it rejects): no point waiting the full minute.
    node_idle() {
        local d
        for d in munged slurmctld slurmd; do
            our_pid "$d" >/dev/null || { echo "$d exited" >"$DIR/died"; return 0; }
        done
        [ "$(timeout 5 sinfo -h -n "$host" -o %t 2>/dev/null)" = idle ]
    }
    if ! wait_for 60 node_idle || [ -e "$DIR/died" ]; then
        echo "sinfo: $(timeout 5 sinfo -h -n "$host" -o '%t %E' 2>&1)" >&2
        fail_start "node $host did not become idle within 60 s$(sed 's/^/: /' "$DIR/died" 2>/dev/null)"
    fi
    echo "export SLURM_CONF=$DIR/slurm.conf"
}

# A daemon failed to come up: show why, stop the others, exit 1.
fail_start() {
    show_logs "$DIR"
    cmd_stop
    die "$*"
}

[ $# -ge 2 ] || usage
cmd=$1
case $cmd in start | stop) ;; *) usage ;; esac
if [ "$cmd" = start ]; then mkdir -p "$2" || die "$2: cannot create"; fi
[ -d "$2" ] || exit 0 # stop: nothing was ever started there
DIR=$(readlink -f "$2")
shift 2
case $cmd in
start)
    owner=0 ttl=600
    while [ $# -gt 0 ]; do
        case $1 in
        --owner) owner=${2:?--owner needs a PID}; shift 2 ;;
        --ttl) ttl=${2:?--ttl needs seconds}; shift 2 ;;
        *) usage ;;
        esac
    done
    cmd_start "$owner" "$ttl"
    ;;
stop) cmd_stop ;;
*) usage ;;
esac
