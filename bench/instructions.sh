#!/usr/bin/env bash
# bench/instructions.sh TASKD TASKD_BENCH SCENARIO N [taskd flags...]
#
# Instructions the server executes per operation of SCENARIO (get, lifecycle, ...), counted by
# valgrind's callgrind: repeatable whatever else the machine does, so a small cost (metrics, the
# access log) can be compared between two builds on a busy machine, where req/s cannot.
# The server runs twice under callgrind, for N and for 2N operations of `taskd-bench -c 1`;
# start-up, recovery and shutdown cancel out in the difference, which is divided by N.
# Prints one line: SCENARIO N instructions-per-operation.
set -euo pipefail
[[ $# -ge 4 ]] || { echo "usage: $0 TASKD TASKD_BENCH SCENARIO N [taskd flags...]" >&2; exit 2; }
taskd=$(realpath "$1") bench=$(realpath "$2") scenario=$3 n=$4
shift 4

work=$(mktemp -d)
trap '[[ -n ${KEEP:-} ]] && echo "kept $work" >&2 || rm -rf "$work"' EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# Total instructions of one server run that serves `count` operations.
run_once() {
    local count=$1 port out data
    shift
    port=$(free_port)
    data=$work/data-$count
    out=$work/callgrind-$count.out
    valgrind --tool=callgrind --callgrind-out-file="$out" "$taskd" --listen "127.0.0.1:$port" \
        --data-dir "$data" --threads 1 "$@" 2>"$work/taskd-$count.log" &
    local pid=$!
    for _ in $(seq 600); do
        [[ -s $data/admin.token ]] && curl -fsS "http://127.0.0.1:$port/readyz" >/dev/null 2>&1 && break
        sleep 0.1
    done
    "$bench" --scenario "$scenario" --port "$port" --admin-token-file "$data/admin.token" \
        -c 1 -n "$count" --timeout 120s --no-progress >"$work/bench-$count.log"
    kill -TERM "$pid"
    wait "$pid" || true
    awk '/^(summary|totals):/ {print $2; exit}' "$out"
}

first=$(run_once "$n" "$@")
second=$(run_once $((2 * n)) "$@")
echo "$scenario $n $(( (second - first) / n ))"
