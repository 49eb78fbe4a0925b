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

# Create (or bring up to date) the local ROS 2 environment for expclean:
#   a virtual environment with the ROS 2 wheels of one distro, expclean_interfaces
#   built for real with CMake + rosidl into the venv prefix, and expclean_ros installed.
# Usage: scripts/setup_env.sh [VENV_DIR]    (ROS_DISTRO=kilted|jazzy|humble, default kilted)
#   humble: no Humble wheels exist, so the Jazzy wheels (rclpy, messages) with Humble's own
#   launch, launch_ros and ros2cli from ../shared/upstream (pure Python) over them, in a venv
#   of its own (.venv-humble): the launch API Humble users have, for the launch tests.
# Idempotent: each stage is skipped when its inputs have not changed.
set -euo pipefail

here=$(cd "$(dirname "$0")/.." && pwd)
distro=${ROS_DISTRO:-kilted}
venv=${1:-$here/.venv-$distro}
python=${PYTHON:-python3}

wheels=$distro upstream_branch=
case "$distro" in
  kilted|jazzy) ;;
  humble) wheels=jazzy upstream_branch=humble ;;
  *) echo "setup_env: ROS_DISTRO must be kilted, jazzy or humble, got '$distro'" >&2; exit 2 ;;
esac

upstream=$here/../shared/upstream/build_upstream.sh
if [ "$distro" = humble ] && [ ! -f "$upstream" ]; then
  # Said before anything is built: this environment is for the tests, not for running the node.
  echo "setup_env: ROS_DISTRO=humble is for this repository's tests only: Humble's launch API" \
       "(launch, launch_ros, ros2cli from ../shared/upstream, which this checkout does not have)" \
       "over the Jazzy wheels, to test the launch files as Humble users run them." >&2
  echo "setup_env: on ROS 2 Humble, build expclean in a colcon workspace instead (README, \"With" \
       "ROS 2 installed\"): colcon build && . install/setup.bash && ros2 launch expclean_ros" \
       "cleanup.launch.py. Without ROS 2: make run (Kilted wheels) or ROS_DISTRO=jazzy make run." >&2
  exit 2
fi

req=$here/requirements/$wheels.txt
stamp_dir=$venv/.expclean
mkdir -p "$(dirname "$venv")"
venv=$(cd "$(dirname "$venv")" && pwd)/$(basename "$venv")

if [ ! -x "$venv/bin/python" ]; then
  echo "setup_env: creating $venv"
  "$python" -m venv "$venv"
fi
mkdir -p "$stamp_dir"
touch "$venv/COLCON_IGNORE"  # a colcon workspace holding this checkout must not crawl the venv
py=$venv/bin/python

# 1. Wheels. Re-run only when the requirement files change.
reqsum=$(cat "$req" "$here/requirements/common.txt" | sha256sum | cut -d' ' -f1)
if [ "$(cat "$stamp_dir/requirements" 2>/dev/null)" != "$reqsum" ]; then
  echo "setup_env: installing $wheels wheels"
  piplog=$stamp_dir/pip.log
  if ! "$py" -m pip install --disable-pip-version-check -q -r "$req" \
      -r "$here/requirements/common.txt" > "$piplog" 2>&1; then
    echo "setup_env: pip install failed; last lines of $piplog:" >&2
    grep -v '^WARNING: Location .* is ignored' "$piplog" | tail -30 >&2
    exit 1
  fi
  # The wheels' exported CMake targets name include paths of the machine that built them.
  pyinc=$("$py" -c 'import sysconfig; print(sysconfig.get_paths()["include"])')
  npinc=$("$py" -c 'import numpy; print(numpy.get_include())')
  { grep -rlF '/opt/python/cp311-cp311' "$venv/share" --include='*.cmake' 2>/dev/null || true; } |
  while read -r f; do
    sed -i -e "s#/opt/python/cp311-cp311/lib/python3.11/site-packages/numpy/_core/include#$npinc#g" \
           -e "s#/opt/python/cp311-cp311/include/python3.11#$pyinc#g" "$f"
  done
  echo "$reqsum" > "$stamp_dir/requirements"
  rm -f "$stamp_dir/interfaces"
fi

# 2. expclean_interfaces with CMake + rosidl, into the venv prefix.
ifsum=$(cd "$here/expclean_interfaces" && find . -type f | sort | xargs sha256sum | sha256sum | cut -d' ' -f1)
if [ "$(cat "$stamp_dir/interfaces" 2>/dev/null)" != "$ifsum" ]; then
  echo "setup_env: building expclean_interfaces"
  build=$venv/.expclean/build-interfaces
  rm -rf "$build"
  export AMENT_PREFIX_PATH=$venv CMAKE_PREFIX_PATH=$venv
  # cmake runs generators with the venv's python: put the venv first on PATH.
  PATH=$venv/bin:$PATH cmake -S "$here/expclean_interfaces" -B "$build" \
    -DCMAKE_INSTALL_PREFIX="$venv" -DPython3_EXECUTABLE="$py" -DBUILD_TESTING=OFF \
    -DCMAKE_BUILD_TYPE=Release > "$build.log" 2>&1 \
    && PATH=$venv/bin:$PATH cmake --build "$build" -j "$(nproc)" >> "$build.log" 2>&1 \
    && cmake --install "$build" >> "$build.log" 2>&1 \
    || { echo "setup_env: building expclean_interfaces failed; last lines of $build.log:" >&2; tail -30 "$build.log" >&2; exit 1; }
  echo "$ifsum" > "$stamp_dir/interfaces"
fi

# 3. expclean_ros, editable, so the checkout is what runs. An editable install copies
#    no data files: put the ament index marker, package.xml, launch and config files
#    in the venv prefix (links to single files: ros2 launch does not follow linked folders).
share=$venv/share/expclean_ros
mkdir -p "$share/launch" "$share/config" "$venv/share/ament_index/resource_index/packages"
cp "$here/expclean_ros/resource/expclean_ros" "$venv/share/ament_index/resource_index/packages/"
ln -sfn "$here/expclean_ros/package.xml" "$share/package.xml"
for f in "$here"/expclean_ros/launch/*.launch.{py,xml,yaml}; do [ -e "$f" ] && ln -sfn "$f" "$share/launch/"; done
for f in "$here"/expclean_ros/config/*.yaml; do ln -sfn "$f" "$share/config/"; done
if [ ! -f "$stamp_dir/expclean_ros" ] || [ "$here/expclean_ros/setup.py" -nt "$stamp_dir/expclean_ros" ]; then
  echo "setup_env: installing expclean_ros"
  "$py" -m pip install --disable-pip-version-check -q --no-deps --no-build-isolation -e "$here/expclean_ros"
  # setup.cfg installs the entry points where `ros2 run` looks (lib/expclean_ros);
  # link them into the venv's bin/ so they are on PATH once the venv is active.
  for exe in "$venv"/lib/expclean_ros/*; do
    ln -sfn "../lib/expclean_ros/$(basename "$exe")" "$venv/bin/$(basename "$exe")"
  done
  touch "$stamp_dir/expclean_ros"
fi

# 4. The upstream ros2 command line and launch, for the tests, when the checkout sits beside
#    shared/upstream (as in CI); a user with a real ROS 2 install does not need them.
# Slurm and munge for test_shards.py's single-host Slurm, xmllint for test_xmllint.py: for make
# test (EXPCLEAN_TEST_DEPS=1), as root with apt only (once; a failure is logged and remembered,
# and those tests then skip with the reason).
apt_pkgs=$(command -v slurmctld > /dev/null || echo slurm-wlm munge)
command -v xmllint > /dev/null || apt_pkgs="$apt_pkgs libxml2-utils"
if [ "${EXPCLEAN_TEST_DEPS:-0}" = 1 ] && [ "$(id -u)" = 0 ] && command -v apt-get > /dev/null \
    && [ -n "${apt_pkgs// }" ] && [ ! -f "$stamp_dir/apt-failed" ]; then
  echo "setup_env: installing$(printf ' %s' $apt_pkgs) (Debian packages, for the Slurm and xmllint tests)"
  # shellcheck disable=SC2086  # a list of package names
  { apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q \
      --no-install-recommends $apt_pkgs; } > "$stamp_dir/apt.log" 2>&1 \
    || { echo "setup_env: apt could not install them (see $stamp_dir/apt.log)" >&2;
         touch "$stamp_dir/apt-failed"; }
fi

if [ -f "$upstream" ]; then
  UPSTREAM_BRANCH=$upstream_branch bash "$upstream" "$venv"
  # ament_copyright and ament_xmllint for the lint tests (on no package index either; pure
  # Python): Jazzy's sources over the Jazzy wheels (Humble's venv too), else rolling's.
  lint_branch=rolling
  [ "$wheels" = jazzy ] && lint_branch=jazzy
  lint_src=$here/../shared/upstream/src/ament_lint-$lint_branch.tar.gz
  if [ -f "$lint_src" ]; then
    lint_sum=$(sha256sum "$lint_src" | cut -d' ' -f1)
    if [ "$(cat "$stamp_dir/ament_lint" 2>/dev/null)" != "$lint_sum" ]; then
      echo "setup_env: installing ament_copyright and ament_xmllint ($lint_branch) for the lint tests"
      lint_tmp=$(mktemp -d)
      tar -xzf "$lint_src" -C "$lint_tmp"
      if ! "$py" -m pip install --disable-pip-version-check -q --no-deps --no-build-isolation \
          "$lint_tmp/ament_lint/ament_copyright" "$lint_tmp/ament_lint/ament_xmllint" \
          > "$stamp_dir/ament_lint.log" 2>&1; then
        echo "setup_env: installing ament_copyright and ament_xmllint failed; last lines of" \
             "$stamp_dir/ament_lint.log:" >&2
        tail -30 "$stamp_dir/ament_lint.log" >&2
        rm -rf "$lint_tmp"
        exit 1
      fi
      rm -rf "$lint_tmp"
      echo "$lint_sum" > "$stamp_dir/ament_lint"
    fi
  fi
elif [ "${EXPCLEAN_TEST_DEPS:-0}" = 1 ]; then  # make test: what skips, and why (not for make run)
  echo "setup_env: no ros2 command line or launch here (they are on no package index; a ROS 2" \
       "install provides them): the node, expclean and the Python API work; launch and ros2 tests skip"
  echo "setup_env: no ament_copyright or ament_xmllint either (on no package index; a ROS 2" \
       "install provides them): the copyright and xmllint tests skip"
fi

# 5. Headless Chromium for the report's browser tests (root + apt-get only; else they skip).
if [ "${EXPCLEAN_TEST_DEPS:-0}" = 1 ]; then
  bash "$here/scripts/install_browser.sh" "$venv"
fi

# 6. Optional: PyTorch (CPU) so the tests of the torch paths run (EXPCLEAN_WITH_TORCH=1, set by
#    .ci/run). Always pinned: an unpinned torch resolves to a CUDA build of several GB.
if [ "${EXPCLEAN_WITH_TORCH:-0}" = 1 ] && [ ! -f "$stamp_dir/torch" ]; then
  echo "setup_env: installing torch==2.13.0 (CPU) for the torch tests"
  if "$py" -m pip install --disable-pip-version-check -q 'torch==2.13.0' 'setuptools>=65,<80' \
      > "$stamp_dir/torch.log" 2>&1; then
    touch "$stamp_dir/torch"
  else
    echo "setup_env: torch not installed (its tests will skip); last lines of $stamp_dir/torch.log:" >&2
    tail -5 "$stamp_dir/torch.log" >&2
  fi
fi
