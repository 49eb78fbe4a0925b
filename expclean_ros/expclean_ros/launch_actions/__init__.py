"""Launch actions for expclean, usable from Python, XML and YAML launch files.

Importing this module needs ``launch`` and ``launch_ros``; the rest of
``expclean_ros`` never imports it. The front ends find it through the entry
point group ``launch.frontend.launch_extension``; importing it registers the
XML/YAML tags:

- ``expclean_run_tag`` (:class:`RunTag`): the run tag for everything launched after it.
- ``expclean_cleanup_node`` (:class:`CleanupNode`): the cleanup node, never carrying the tag.
- ``expclean_teardown`` (:class:`Teardown`): stop the tagged processes (now or on
  shutdown), then optionally a cleanup call; emits :class:`TeardownDone`.
- ``expclean_cleanup`` (:class:`CleanupCall`): call quick/comprehensive on a node;
  emits :class:`CleanupDone`.
"""

from .cleanup_call import CleanupCall
from .cleanup_node import CleanupNode
from .events import CleanupDone, TeardownDone
from .run_tag import RunTag
from .teardown import Teardown

__all__ = ['RunTag', 'CleanupNode', 'Teardown', 'CleanupCall', 'TeardownDone', 'CleanupDone']
