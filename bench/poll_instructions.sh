#!/usr/bin/env bash
# bench/poll_instructions.sh TASKD PATH
#
# Instructions the server runs per admin GET of PATH (e.g. /stats, which the console polls), with
# 64 tenants holding a pending task each: taskd under callgrind serves 200, then in a second run
# 400, GETs of PATH over one connection from Python's http.client; prints (Ir(400) - Ir(200)) / 200.
# Repeatable on a busy machine, as bench/instructions.sh.
set -euo pipefail
[[ $# -eq 2 ]] || { echo "usage: $0 TASKD PATH" >&2; exit 2; }
taskd=$(realpath "$1") path=$2

run() {
    local n=$1 w port pid
    w=$(mktemp -d)
    port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
    valgrind --tool=callgrind --callgrind-out-file="$w/out" "$taskd" --listen "127.0.0.1:$port" \
        --data-dir "$w/data" --threads 1 --access-log=false 2>/dev/null &
    pid=$!
    for _ in $(seq 300); do
        [[ -s $w/data/admin.token ]] && curl -fs "http://127.0.0.1:$port/readyz" >/dev/null 2>&1 && break
        sleep 0.1
    done
    python3 - "$port" "$(cat "$w/data/admin.token")" "$path" "$n" <<'PY'
import http.client, json, sys, uuid
port, token, path, n = int(sys.argv[1]), sys.argv[2], sys.argv[3], int(sys.argv[4])
c = http.client.HTTPConnection("127.0.0.1", port)
h = {"Authorization": "Bearer " + token, "Content-Type": "application/json"}
for _ in range(64):
    c.request("POST", "/tasks", json.dumps({"tenant_id": str(uuid.uuid4()), "type": "noop"}), h)
    c.getresponse().read()
for _ in range(n):
    c.request("GET", path, headers=h)
    c.getresponse().read()
PY
    kill -TERM "$pid"
    wait "$pid" || true
    awk '/^summary:/ {print $2}' "$w/out"
    rm -rf "$w"
}
first=$(run 200)
second=$(run 400)
echo "$path $(( (second - first) / 200 ))"
