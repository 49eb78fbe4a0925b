#!/usr/bin/env bash
# Copyright 2026 expclean contributors
#
# Licensed under the Apache License, Version 2.0 (the "License");
# you may not use this file except in compliance with the License.
# You may obtain a copy of the License at
#
#     http://www.apache.org/licenses/LICENSE-2.0
#
# Unless required by applicable law or agreed to in writing, software
# distributed under the License is distributed on an "AS IS" BASIS,
# WITHOUT WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied.
# See the License for the specific language governing permissions and
# limitations under the License.

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
