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
A stand-in experiment for docs/batches.md's example: ``python experiment.py MB SECS LEAK``.

It holds MB MiB for SECS seconds and exits 0, leaving behind a double-forked orphan (its own
session, re-parented to init) that holds LEAK MiB for ten minutes: the kind of leftover that
poisons the next run, and that ``expclean run`` finds by the run tag and stops.

Both end quietly on SIGINT, as a well-behaved process does (no KeyboardInterrupt traceback in
the run's log when the teardown stops them): SIGINT's default action, to end the process.
"""

import os
import signal
import sys
import time


def hold(mib):
    block = bytearray(mib * 2**20)
    block[::4096] = b'\x01' * len(block[::4096])  # touch every page: really resident
    return block


def leak_an_orphan(mib):
    if os.fork() == 0:          # child: a new session, then fork again and leave
        os.setsid()
        if os.fork() == 0:      # grandchild: re-parented to init once the child exits
            held = hold(mib)
            time.sleep(600)
            held.clear()
        os._exit(0)
    os.wait()


def main():
    signal.signal(signal.SIGINT, signal.SIG_DFL)  # the leaked orphan inherits it
    mb, secs, leak = int(sys.argv[1]), float(sys.argv[2]), int(sys.argv[3])
    held = hold(mb)
    leak_an_orphan(leak)
    time.sleep(secs)
    del held


if __name__ == '__main__':
    main()
