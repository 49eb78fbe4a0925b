#!/usr/bin/env bash
# The README's first command, as a user runs it: `make run` starts the cleanup node, and a
# call from a second terminal gets an answer. Stops the node it started (by its own process
# group) and exits non-zero when the node does not answer.
# Usage: scripts/smoke_run.sh    (from the checkout; ROS_DOMAIN_ID picks the domain)
set -uo pipefail
cd "$(dirname "$0")/.."
export ROS_AUTOMATIC_DISCOVERY_RANGE=LOCALHOST
distro=${ROS_DISTRO:-kilted}
log=$(mktemp)
setsid make run > "$log" 2>&1 < /dev/null &
group=$!
stop() { kill -INT -- "-$group" 2>/dev/null; wait "$group" 2>/dev/null; rm -f "$log"; }
trap stop EXIT
answer=$(AMENT_PREFIX_PATH=$PWD/.venv-$distro timeout 300 ".venv-$distro/bin/expclean" call quick \
         --wait 120 --timeout 60 2>&1)
rc=$?
echo "smoke_run: expclean call quick -> $answer"
if [ $rc != 0 ] || [[ $answer != "quick ok"* ]]; then
  echo "smoke_run: make run did not start a node that answers (exit $rc); its log:" >&2
  cat "$log" >&2
  exit 1
fi
