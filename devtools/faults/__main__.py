"""``python -m devtools.faults``: see :mod:`devtools.faults.command`."""

import sys

from devtools.faults.command import main

sys.exit(main())
