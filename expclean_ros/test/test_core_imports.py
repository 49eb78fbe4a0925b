"""Core and the seed-compatible module never import rclpy (checked in a fresh interpreter)."""

import json
import os
import pkgutil
import subprocess
import sys

import expclean_ros.core

CORE_MODULES = sorted(f'expclean_ros.core.{m.name}'
                      for m in pkgutil.iter_modules(expclean_ros.core.__path__))


def test_core_modules_listed():
    for name in ('memory', 'steps', 'settle', 'plans', 'summary', 'results'):
        assert f'expclean_ros.core.{name}' in CORE_MODULES


def test_importing_core_and_cleanup_utils_does_not_import_rclpy():
    modules = CORE_MODULES + ['expclean_ros.cleanup_utils']
    code = ('import importlib, json, sys\n'
            f'for name in {modules!r}:\n'
            '    importlib.import_module(name)\n'
            'print(json.dumps(sorted(m for m in sys.modules if m.split(".")[0] in '
            '("rclpy", "rcl_interfaces", "torch"))))\n')
    proc = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True,
                          timeout=120, env=dict(os.environ), stdin=subprocess.DEVNULL)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout.strip().splitlines()[-1]) == []
