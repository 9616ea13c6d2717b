"""``python -m devtools.replay``: see :mod:`devtools.replay`."""

import sys

from devtools import cli
from devtools.replay.command import main
from devtools.replay.ranges import PROG

sys.exit(cli.run(main, prog=PROG))
