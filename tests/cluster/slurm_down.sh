#!/usr/bin/env bash
# Stop the test cluster started by slurm_up.sh: slurmd, slurmctld and (only if slurm_up.sh started it) munged,
# each by the pid in its pid file under STATE_DIR, never by name; remove the /etc/slurm/slurm.conf link to it.
#
#   tests/cluster/slurm_down.sh [STATE_DIR]   (default /tmp/codecfake-slurm)
set -uo pipefail

STATE="${1:-/tmp/codecfake-slurm}"

stop() {  # stop <pid file>: TERM, wait up to 10 s, then KILL
    local file="$1" pid
    [ -s "$file" ] || return 0
    pid="$(cat "$file")"
    if kill -0 "$pid" 2>/dev/null; then
        kill -TERM "$pid" 2>/dev/null
        for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        kill -0 "$pid" 2>/dev/null && kill -KILL "$pid" 2>/dev/null
    fi
    rm -f "$file"
}

stop "$STATE/slurmd.pid"
stop "$STATE/slurmctld.pid"
stop "$STATE/munged.pid"
ours="$(cd "$STATE" 2>/dev/null && pwd)/slurm.conf"
[ "$(readlink /etc/slurm/slurm.conf 2>/dev/null)" = "$ours" ] && rm -f /etc/slurm/slurm.conf
exit 0
