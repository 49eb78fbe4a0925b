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

"""
``expclean doctor``: what a cleanup could do here, as this user, before the first run.

Exit code 0 when every check the plan needs works, 1 otherwise, so a batch
script can stop early::

    expclean doctor --plan comprehensive --need-gpu || exit 1

Plans need (see ``core.doctor.PLAN_NEEDS``): quick -> memory;
comprehensive and between_runs -> memory, process_table. ``--need-*`` adds
more: drop_caches, nvml (a GPU readable), nvidia_smi + gpu_reset, cgroups,
cleanup_node (a node on the ROS graph). Anything else is reported, never fatal.
"""

import argparse
import json
import os
import sys

from expclean_ros.cli.main import CliError, own_stdout
from expclean_ros.cli.names import start_command
from expclean_ros.core.doctor import PLAN_NEEDS
from expclean_ros.core.doctor.check import UNAVAILABLE, WORKS, Check

__all__ = ['add_arguments', 'doctor', 'ros_graph_check', 'main']

# --need-X flag -> the check names it requires
NEED_FLAGS = {
    'need_system_caches': ('drop_caches',),
    'need_gpu': ('nvml',),
    'need_gpu_reset': ('nvidia_smi', 'gpu_reset'),
    'need_cgroups': ('cgroups',),
    'need_node': ('cleanup_node',),
}

EPILOG = ('a plan needs these checks to work (anything else is reported, never fatal):\n'
          + ''.join(f'  {plan}: {", ".join(names)}\n' for plan, names in PLAN_NEEDS.items())
          + '  ' + '; '.join(f'--{flag.replace("_", "-")} -> {", ".join(names)}'
                             for flag, names in NEED_FLAGS.items()))


HELP = 'check what a cleanup can do on this machine, as this user'


def add_arguments(sub, prog='expclean'):
    add_doctor(sub.add_parser(
        'doctor', help=HELP, description=f"e.g. '{prog} doctor --plan comprehensive "
        "--need-gpu --json'; exit 1 when the plan's needs are not met",
        epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter))


def add_doctor(p):
    """
    Add the doctor's options to parser ``p``.

    ``expclean doctor`` and ``ros2 cleanup doctor``.
    """
    p.add_argument('--plan', choices=tuple(PLAN_NEEDS), default='comprehensive',
                   help='the plan the batch will use (default: comprehensive)')
    p.add_argument('--need-system-caches', action='store_true',
                   help='fail unless drop_caches works (root, writable /proc/sys)')
    p.add_argument('--need-gpu', action='store_true', help='fail unless NVML reads a GPU')
    p.add_argument('--need-gpu-reset', action='store_true',
                   help='fail unless nvidia-smi --gpu-reset would run now (implies '
                        '--allow-gpu-reset)')
    p.add_argument('--need-cgroups', action='store_true',
                   help='fail unless runs can get a cgroup of their own')
    p.add_argument('--need-node', action='store_true',
                   help='fail unless a cleanup node is reachable on the ROS graph')
    p.add_argument('--allow-gpu-reset', action='store_true',
                   help='the plan will run with allow_gpu_reset (as the node parameter)')
    p.add_argument('--ros', dest='ros', action='store_true', default=True,
                   help='look for cleanup nodes on the ROS graph (default)')
    p.add_argument('--no-ros', dest='ros', action='store_false',
                   help='do not start rclpy; skip the cleanup node check')
    p.add_argument('--ros-timeout', type=float, default=10.0,
                   help='at most this many seconds to discover cleanup nodes: discovery ends '
                   'once the set of nodes stopped changing, as for expclean nodes (default: 10)')
    p.add_argument('--torch-timeout', type=float, default=30.0,
                   help='seconds allowed for importing torch in a child process (default: 30)')
    p.add_argument('--json', action='store_true', help='print JSON instead of text')
    p.set_defaults(func=doctor)


def ros_graph_check(timeout_s: float) -> Check:
    """Return whether a cleanup node answers discovery on our domain within ``timeout_s``."""
    domain = os.environ.get('ROS_DOMAIN_ID', '') or '0'
    try:
        from expclean_ros.ros.client import CleanupClient
    except ImportError as exc:
        return Check('cleanup_node', UNAVAILABLE, f'rclpy not importable ({exc})',
                     'use the ROS 2 environment (source setup.bash or the project venv)')
    own_stdout()  # Fast DDS's console errors go to stderr, never into the report
    with CleanupClient(name='expclean_doctor') as client:
        found = client.find_cleanup_nodes(timeout_s=timeout_s)
    if not found:
        return Check('cleanup_node', UNAVAILABLE,
                     f'no cleanup node on ROS_DOMAIN_ID={domain} within {timeout_s:g} s',
                     f'start one: {start_command()} (same ROS_DOMAIN_ID and discovery '
                     'range)', {'nodes': []})
    return Check('cleanup_node', WORKS, f'{len(found)} on ROS_DOMAIN_ID={domain}: '
                 + ', '.join(found), data={'nodes': found})


def doctor(args) -> int:
    """Run every check, print one line each (or JSON), return 0 when the plan's needs work."""
    from expclean_ros.core.doctor.diagnose import diagnose
    for name in ('ros_timeout', 'torch_timeout'):
        if not getattr(args, name) > 0:
            raise CliError(f'--{name.replace("_", "-")} must be greater than zero')
    if args.need_node and not args.ros:
        raise CliError('--need-node needs the ROS graph check: drop --no-ros')
    need = [n for flag, names in NEED_FLAGS.items() if getattr(args, flag) for n in names]
    extra = [('cleanup_node', lambda: ros_graph_check(args.ros_timeout))] if args.ros else []
    report = diagnose(args.plan, need=need, extra=extra, torch_timeout_s=args.torch_timeout,
                      allow_gpu_reset=args.allow_gpu_reset or args.need_gpu_reset)
    if args.json:
        print(json.dumps(report.as_dict(), indent=2))
    else:
        for line in report.lines():
            print(line)
    return report.exit_code


def main(argv=None) -> int:
    """``python -m expclean_ros.cli.doctor_verb``: the same as ``expclean doctor``."""
    from expclean_ros.cli.main import main as cli_main
    return cli_main(['doctor', *(sys.argv[1:] if argv is None else argv)])


if __name__ == '__main__':
    sys.exit(main())
