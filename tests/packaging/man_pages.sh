#!/usr/bin/env bash
# The man pages against the binaries: every option `taskd --help` declares has an entry in
# doc/man/taskd.1, and every option taskd.1 has an entry for is one `taskd --help` declares; the
# same for taskd-agent where it is built. Where groff is installed, both pages also render
# without a warning.
# Usage: man_pages.sh SOURCE_DIR TASKD_BINARY [TASKD_AGENT_BINARY]
set -euo pipefail
src=$1
taskd=$2
agent=${3:-}
fail=0

# Options as --help declares them: the first column of program_options' listing
# ("  --listen HOST:PORT (=...)", "  -h [ --help ]").
declared() { "$1" --help | sed -nE 's/^  (-[a-zA-Z] \[ )?--([a-z0-9][a-z0-9-]*).*/--\2/p' | sort -u; }
# Options as the page documents them: the tag line after each .TP (an option mentioned only in
# prose, or another program's, such as docker compose's, does not count); roff's \- is a dash.
named() { awk 'prev ~ /^\.TP/ { print } { prev = $0 }' "$1" | sed 's/\\-/-/g' |
            grep -oE -- '--[a-z0-9][a-z0-9-]*' | sort -u; }

check() {
  local name=$1 binary=$2 page=$3
  local help_flags page_flags
  help_flags=$(declared "$binary")
  page_flags=$(named "$page")
  [[ -n $help_flags ]] || { echo "FAIL: no options read from $binary --help"; fail=1; return; }
  local missing stale
  missing=$(comm -23 <(echo "$help_flags") <(echo "$page_flags"))
  stale=$(comm -13 <(echo "$help_flags") <(echo "$page_flags"))
  if [[ -n $missing ]]; then echo "FAIL: $name --help declares options $page lacks:" $missing; fail=1; fi
  if [[ -n $stale ]]; then echo "FAIL: $page names options $name --help does not declare:" $stale; fail=1; fi
  [[ -z $missing && -z $stale ]] && echo "OK: $page names exactly the $(echo "$help_flags" | wc -l) options of $name --help"
  return 0
}

check taskd "$taskd" "$src/doc/man/taskd.1"
if [[ -n $agent && -x $agent ]]; then
  check taskd-agent "$agent" "$src/doc/man/taskd-agent.1"
else
  echo "NOTE: taskd-agent is not built in this tree: taskd-agent.1 not checked against its --help"
fi

if command -v groff >/dev/null; then
  for page in "$src"/doc/man/*.1; do
    warnings=$(groff -man -ww -z "$page" 2>&1)
    if [[ -n $warnings ]]; then printf '%s\n' "$warnings"; echo "FAIL: groff warns on $page"; fail=1; fi
  done
else
  echo "NOTE: groff not installed: the pages' roff not linted"
fi
exit $fail
