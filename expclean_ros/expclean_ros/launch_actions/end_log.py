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

"""What the Teardown action logs of a run's end: the tagged tree first, then each stage."""

import json

from launch.logging import get_logger

from ..core.procs.scanner import select

__all__ = ['log_tree', 'log_stage']


def log_tree(selection, path):
    """Log the run's tagged tree before its teardown; write it to ``path`` as JSON too."""
    run_id = selection.tag
    tree = tuple(select(selection))
    lines = [f'run {run_id}: {len(tree)} tagged processes before teardown']
    lines += [f'  {c.pid} (ppid {c.ppid}) {c.cmdline[:120]}' for c in tree]
    get_logger('expclean').info('\n'.join(lines))
    if path:
        with open(path, 'w') as f:
            json.dump({'run_id': run_id, 'processes': [c.as_dict() for c in tree]}, f)


def log_stage(run_id, stage, result):
    """Log each stage of the run's end as it is done (the cleanup call logs its answer)."""
    log = get_logger('expclean')
    if stage == 'teardown':
        log.info(f'run {run_id}: {result.summary()}')
    elif stage in ('shm', 'step'):
        log.info(f'run {run_id}: {result.name} {result.status}: {result.detail}')
    elif stage == 'verify':
        (log.info if result.clean else log.warning)(f'run {run_id}: {result.line}')
