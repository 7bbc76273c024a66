"""``python -m cevns_scan`` is the ``cevns-scan`` command."""

import sys

from .cli import main

sys.exit(main())
