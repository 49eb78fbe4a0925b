"""``python -m expclean_ros.cli ...`` is the ``expclean`` command."""

import sys

from expclean_ros.cli.main import main

sys.exit(main())
