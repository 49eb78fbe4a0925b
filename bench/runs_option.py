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

"""The ``--runs N`` / ``--quick`` options shared by benches (``run_all.py`` passes ``--quick``)."""

import argparse


def parse_runs(argv, doc, default, quick, unit='runs'):
    """Parse ``--runs`` (default ``default``) and ``--quick`` (``quick`` runs); return the runs."""
    parser = argparse.ArgumentParser(description=doc.splitlines()[0])
    parser.add_argument('--runs', type=int, default=default, help=f'{unit} (e.g. {default})')
    parser.add_argument('--quick', action='store_true', help=f'{quick} {unit}')
    args = parser.parse_args(argv)
    runs = quick if args.quick else args.runs
    if runs < 1:
        parser.error('runs must be at least 1')
    return runs
