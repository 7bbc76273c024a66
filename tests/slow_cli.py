"""``python slow_cli.py DELAY ARGV...``: the cevns-scan CLI pausing DELAY s after every chunk.

For the interruption tests only: a test-side wrapper, so that the library needs no hook.
"""

import sys
import time

from cevns_scan import scan

_compute_chunk = scan.compute_chunk


def _slow_compute_chunk(*args, **kwargs):
    result = _compute_chunk(*args, **kwargs)
    time.sleep(float(sys.argv[1]))
    return result


scan.compute_chunk = _slow_compute_chunk

if __name__ == "__main__":
    from cevns_scan.cli import main

    sys.exit(main(sys.argv[2:]))
