"""``python -m sensors_sim`` is the ``sensors-sim`` command."""

import sys

from sensors_sim.cli import main

sys.exit(main())
