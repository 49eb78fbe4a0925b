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

"""``expclean`` as a real command: a call, and ``expclean run`` as a subprocess."""

import subprocess
import sys

from helpers.experiment import TEMPLATE, write_table

CLI = [sys.executable, '-c', 'import sys; from expclean_ros.cli import main; sys.exit(main())']
FAST = ['--quick', '--wait', '0', '--stop-timeouts', '1,1,1']


def expclean(*args, timeout=120, **kw):
    return subprocess.run([*CLI, *args], stdin=subprocess.DEVNULL, capture_output=True,
                          text=True, timeout=timeout, **kw)


def start_runner(tmp_path, rows):
    """
    ``expclean run`` over ``rows`` as a subprocess in its own session.

    Returns ``(out, table, ledger, log, runner)``; the caller closes ``log`` and reaps ``runner``.
    """
    out = tmp_path / 'out'
    out.mkdir()
    table = write_table(tmp_path / 'runs.csv', rows, out)
    ledger = str(tmp_path / 'ledger.jsonl')
    log = open(tmp_path / 'runner.log', 'wb')
    runner = subprocess.Popen([*CLI, 'run', table, '--ledger', ledger, *FAST, '--', *TEMPLATE],
                              stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                              start_new_session=True)
    return out, table, ledger, log, runner
