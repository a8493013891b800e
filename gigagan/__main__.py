"""``python -m gigagan ...`` is the same as the ``gigagan`` command."""

import sys

from gigagan.cli import main

sys.exit(main())
