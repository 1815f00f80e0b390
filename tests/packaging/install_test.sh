#!/usr/bin/env bash
# `cmake --install` into a scratch DESTDIR with prefix /usr: the binaries, the units (ExecStart
# naming the installed taskd), the sysusers.d entry and the man pages land where a system looks
# for them, and the installed taskd runs.
# Usage: install_test.sh BUILD_DIR [TASKD_AGENT_BINARY]  (the latter where the tree builds it)
set -euo pipefail
build=$1
agent=${2:-}
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
fail=0

DESTDIR=$dir/root cmake --install "$build" --prefix /usr >"$dir/install.log" 2>&1 ||
  { cat "$dir/install.log"; echo "FAIL: cmake --install"; exit 1; }

expect() {  # path test-flag
  if test "$2" "$dir/root$1"; then echo "OK: $1"; else echo "FAIL: $1 missing (test $2)"; fail=1; fi
}
expect /usr/bin/taskd -x
expect /usr/lib/systemd/system/taskd.service -f
expect /usr/lib/systemd/system/taskd-agent.service -f
expect /usr/lib/sysusers.d/taskd-agent.conf -f
expect /usr/share/man/man1/taskd.1 -f
expect /usr/share/man/man1/taskd-agent.1 -f

unit=$dir/root/usr/lib/systemd/system
grep -qx 'ExecStart=/usr/bin/taskd' "$unit/taskd.service" ||
  { echo "FAIL: taskd.service ExecStart:" $(grep '^ExecStart=' "$unit/taskd.service"); fail=1; }
grep -q '^ExecStart=/usr/bin/taskd-agent ' "$unit/taskd-agent.service" ||
  { echo "FAIL: taskd-agent.service ExecStart:" $(grep '^ExecStart=' "$unit/taskd-agent.service"); fail=1; }

version=$("$dir/root/usr/bin/taskd" --version) || { echo "FAIL: installed taskd --version"; fail=1; }
echo "installed taskd --version: $version"
if [[ -n $agent ]]; then expect /usr/bin/taskd-agent -x
else echo "NOTE: taskd-agent is not built in this tree: not installed"; fi
exit $fail
