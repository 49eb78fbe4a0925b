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
Replies that reach their caller: the node re-sends a reply the middleware could not deliver yet.

A client that has just appeared can call before the node's reply writer has
matched the client's reply reader. Fast DDS (rmw_fastrtps) then waits 100 ms
for that match and, on a loaded machine, gives up: the reply is dropped ("failed
to send response (timeout): client will not receive response"; a RuntimeWarning
in rclpy, an RCLError on older ones) and the caller waits for nothing. Instead of
every client waiting a fixed grace after discovery, the node sends the same
reply again, from a thread of its own, until the match is made (or ``RETRY_S``
passes): the request is served once, the reply arrives as soon as it can.

Each try can hold the GIL for those 100 ms (rclpy does not release it around
the send), which stops every other thread of the node meanwhile: tries are
paced ``PAUSE_S`` apart, so re-sending never takes more than a third of the
node's time, however many replies wait. How a reply is taken over and an
undelivered one told apart relies on rclpy internals: :mod:`.rclpy_compat`.
"""

import collections
import threading
import time

from .rclpy_compat import replace_send_response, send_once

__all__ = ['ReplyRetrier', 'RETRY_S', 'MAX_PENDING', 'PAUSE_S']

#: How long the node keeps trying to deliver one reply.
RETRY_S = 5.0
#: A service's give-ups are logged at most this often.
WARN_EVERY_S = 5.0
#: Pause between two tries of the re-sending thread.
PAUSE_S = 0.2
#: At most this many replies wait to be re-sent.
MAX_PENDING = 256


class ReplyRetrier:
    """
    Re-sends undelivered replies from one thread of its own, never an executor thread.

    The executor thread tries once; a reply the caller cannot receive yet is queued
    here and tried again until delivered or ``retry_s`` passes. At most ``max_pending``
    replies wait (a peer whose reply reader never matches cannot pile up more);
    beyond that the oldest is given up, with a warning.
    """

    def __init__(self, logger=None, retry_s=RETRY_S, max_pending=MAX_PENDING):
        self._logger = logger
        self._retry_s = retry_s
        self._pending = collections.deque()
        self._max_pending = max_pending
        self._wake = threading.Condition()
        self._stopped = False
        self._warned = {}  # service name -> when a give-up was last logged
        self._thread = threading.Thread(target=self._loop, name='reply-retrier', daemon=True)
        self._thread.start()

    def wrap(self, service):
        """Make ``service`` (an rclpy Service) hand undelivered replies to this retrier."""
        def make(send):
            def send_or_queue(response, header):
                if not send_once(send, response, header):
                    self._queue([service.srv_name, send, response, header,
                                 time.monotonic() + self._retry_s, 1])
            return send_or_queue

        return replace_send_response(service, make)

    def _queue(self, item):
        with self._wake:
            if len(self._pending) >= self._max_pending:
                self._give_up(self._pending.popleft())
            self._pending.append(item)
            self._wake.notify()

    def _give_up(self, item):
        """Say so, at most once per service every ``WARN_EVERY_S``."""
        now = time.monotonic()
        if self._logger is None or now < self._warned.get(item[0], -WARN_EVERY_S) + WARN_EVERY_S:
            return
        self._warned[item[0]] = now
        tries = f'{item[5]} {"try" if item[5] == 1 else "tries"}'
        self._logger.warning(f'{item[0]}: reply not delivered after {tries}: '
                             'the caller never matched our reply writer')

    def _loop(self):
        """
        Newest reply first (a new caller is not stuck behind old ones).

        One that is still undelivered goes to the back, one past its deadline is given up.
        """
        while True:
            with self._wake:
                while not self._pending and not self._stopped:
                    self._wake.wait()
                if self._stopped:
                    return
                item = self._pending.pop()
            name, send, response, header, deadline, tries = item
            if time.monotonic() >= deadline:
                self._give_up(item)
                continue
            try:
                delivered = send_once(send, response, header)  # blocks up to 100 ms
            except Exception as exc:  # the service destroyed at shutdown, rclpy failing
                if self._logger is not None:
                    self._logger.warning(f'{name}: reply not re-sent: {exc!r}')
                continue
            item[5] = tries + 1
            if delivered and self._logger is not None:  # or the caller left: OK too
                self._logger.debug(f'{name}: reply sent on try {tries + 1}')
            with self._wake:
                if not delivered:
                    self._pending.appendleft(item)
                self._wake.wait_for(lambda: self._stopped, PAUSE_S)  # see PAUSE_S

    def close(self):
        """Stop re-sending (before the services are destroyed); pending replies are dropped."""
        with self._wake:
            self._stopped = True
            self._wake.notify()
        self._thread.join()
