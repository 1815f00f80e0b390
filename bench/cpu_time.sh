#!/usr/bin/env bash
# bench/cpu_time.sh TASKD TASKD_BENCH SCENARIO N [taskd flags...]
#
# CPU time (user + system, from /proc/PID/stat) the server spends per operation of SCENARIO,
# over N operations of `taskd-bench -c 16`, the server on CPU 0 and the load on CPU 1. Unlike
# operations per second it does not count the time the server waits for a CPU another process
# holds, so two builds can be compared on a machine that is not quiet (alternate them: cache
# and frequency effects of the other work remain). Unlike bench/instructions.sh it counts the
# kernel's share (the socket calls), which is most of a GET's cost.
# Prints one line: SCENARIO N microseconds-per-operation.
set -euo pipefail
[[ $# -ge 4 ]] || { echo "usage: $0 TASKD TASKD_BENCH SCENARIO N [taskd flags...]" >&2; exit 2; }
taskd=$(realpath "$1") bench=$(realpath "$2") scenario=$3 n=$4
shift 4

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
taskset -c 0 "$taskd" --listen "127.0.0.1:$port" --data-dir "$work/data" --threads 1 "$@" 2>"$work/taskd.log" &
pid=$!
for _ in $(seq 300); do
    [[ -s $work/data/admin.token ]] && curl -fsS "http://127.0.0.1:$port/readyz" >/dev/null 2>&1 && break
    sleep 0.1
done
ticks() { awk '{print $14 + $15}' "/proc/$pid/stat"; }
# The scenario's set-up (tasks to read back, agents) is done by a first short run, outside the count.
taskset -c 1 "$bench" --scenario "$scenario" --port "$port" --admin-token-file "$work/data/admin.token" \
    -c 16 -n 1000 --no-progress >/dev/null
before=$(ticks)
taskset -c 1 "$bench" --scenario "$scenario" --port "$port" --admin-token-file "$work/data/admin.token" \
    -c 16 -n "$n" --no-progress >"$work/bench.log"
after=$(ticks)
kill -TERM "$pid"
wait "$pid" || true
hz=$(getconf CLK_TCK)
echo "$scenario $n $(python3 -c "print(round(($after - $before) / $hz / $n * 1e6, 2))")"
