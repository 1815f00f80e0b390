#!/usr/bin/env bash
# The original service's own claim-race check (shared/seedref/race.py), run against taskd.
# It showed the original handing most tasks to several agents; against taskd it must report no
# task handed out twice or never (exit status 0). Usage: seed_race.sh TASKD_BINARY RACE_PY
# Exit 77 (skipped) when race.py or python3-requests is not on this machine.
set -euo pipefail
taskd=$1
race=$2
[[ -f $race ]] || { echo "SKIP: $race not found"; exit 77; }
python3 -c 'import requests' 2>/dev/null || { echo "SKIP: python3-requests not installed"; exit 77; }

dir=$(mktemp -d)
exec {log}< <("$taskd" --listen 127.0.0.1:0 --data-dir "$dir/data" 2>&1)
pid=$!
trap 'kill "$pid" 2>/dev/null; rm -rf "$dir"' EXIT
port=""
while IFS= read -r line <&"$log"; do
  if [[ $line =~ listening\ on\ http://127\.0\.0\.1:([0-9]+) ]]; then port=${BASH_REMATCH[1]}; break; fi
done
[[ -n $port ]] || { echo "taskd did not start"; exit 1; }
cat <&"$log" >/dev/null &

export BASE_URL="http://127.0.0.1:$port" ADMIN_TOKEN="$(cat "$dir/data/admin.token")"
python3 "$race" --tasks 200 --claimers 16 --rounds 3
python3 "$race" --tasks 200 --claimers 16 --rounds 1 --shared
