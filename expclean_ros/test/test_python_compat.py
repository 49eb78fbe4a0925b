"""The code must run on ROS 2 Humble (Python 3.10): nothing newer, checked by vermin."""

import os
import subprocess
import sys

from conftest import REPO_ROOT


def test_nothing_newer_than_python_3_10():
    targets = [os.path.join(REPO_ROOT, d) for d in ('expclean_ros', 'bench', 'scripts')]
    targets = [t for t in targets if os.path.isdir(t)]
    proc = subprocess.run(
        [os.path.join(os.path.dirname(sys.executable), 'vermin'), '--no-tips', '--violations',
         '--eval-annotations', '-t=3.10-', *targets],
        capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert 'Minimum required versions' in proc.stdout, proc.stdout


def test_the_check_catches_a_newer_api(tmp_path):
    """Guard against a vermin that passes everything: a 3.11-only module must fail."""
    (tmp_path / 'new.py').write_text('import tomllib\n')
    proc = subprocess.run(
        [os.path.join(os.path.dirname(sys.executable), 'vermin'), '--no-tips', '--violations',
         '-t=3.10-', str(tmp_path)], capture_output=True, text=True, timeout=60)
    assert proc.returncode != 0, proc.stdout


def test_flake8_clean():
    """The ROS 2 Python style (what ament_flake8 checks), 99 columns."""
    proc = subprocess.run([sys.executable, '-m', 'flake8', 'expclean_ros', 'bench', 'scripts'],
                          cwd=REPO_ROOT, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
