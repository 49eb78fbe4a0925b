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

# Headless Chromium for the report's browser tests (Debian's chromium package).
# Only as root with apt-get; quiet, logged to VENV/.expclean/browser.log. Never fails the
# set-up: without it the browser tests skip with the reason (written to browser.skip).
# Usage: scripts/install_browser.sh VENV_DIR   (called by setup_env.sh)
set -u
stamp_dir=${1:?usage: install_browser.sh VENV_DIR}/.expclean
mkdir -p "$stamp_dir"
log=$stamp_dir/browser.log
if command -v chromium > /dev/null 2>&1; then
  rm -f "$stamp_dir/browser.skip"
  exit 0
fi
if [ -f "$stamp_dir/browser.skip" ] && [ -f "$log" ]; then
  exit 0  # tried once and failed: the reason stays in browser.skip (remove it to retry)
fi
if [ "$(id -u)" != 0 ] || ! command -v apt-get > /dev/null 2>&1; then
  echo "chromium is not installed and the set-up cannot install it (needs root and apt-get)" \
    > "$stamp_dir/browser.skip"
  exit 0
fi
echo "setup_env: installing Debian's chromium for the report's browser tests (log: $log)"
if ! { apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends chromium; } > "$log" 2>&1; then
  echo "apt-get install chromium failed; see $log" > "$stamp_dir/browser.skip"
  echo "setup_env: chromium not installed (browser tests will skip); see $log" >&2
fi
exit 0
