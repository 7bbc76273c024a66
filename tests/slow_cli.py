"""``python slow_cli.py DELAY ARGV...``: the cevns-scan CLI pausing DELAY s after every chunk.

For the interruption tests only: a test-side wrapper, so that the library needs no hook.
"""

import sys
import time

from cevns_scan import scan

_compute_chunk = scan.compute_chunk
DELAY = float(sys.argv[1]) if __name__ == "__main__" else 0.0


def _slow_compute_chunk(*args, **kwargs):
    # pickled by value into process workers, with DELAY and the original function
    result = _compute_chunk(*args, **kwargs)
    time.sleep(DELAY)
    return result


scan.compute_chunk = _slow_compute_chunk

if __name__ == "__main__":
    from cevns_scan.cli import main

    sys.exit(main(sys.argv[2:]))
