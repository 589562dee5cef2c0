"""``python -m oracle.sample``: see :mod:`oracle.sample`."""

import sys

from oracle.sample import main

sys.exit(main())
