"""Shared test helpers: the CLI in a subprocess, saved maps."""

import os
import subprocess
import sys

import numpy as np


def run_cli(*args, cwd, env_extra=None, timeout=300, check=True):
    """``python -m cevns_scan ARGS`` in ``cwd``; raises with the output unless it exits 0."""
    env = dict(os.environ)
    env.update(env_extra or {})
    proc = subprocess.run([sys.executable, "-m", "cevns_scan", *map(str, args)], cwd=cwd,
                          capture_output=True, text=True, timeout=timeout, env=env)
    if check and proc.returncode != 0:
        raise AssertionError(f"cevns-scan {' '.join(map(str, args))} exited {proc.returncode}:\n"
                             f"{proc.stdout}\n{proc.stderr}")
    return proc


def load_map(path):
    """The ``chi2`` array of a saved map (the file is closed again)."""
    with np.load(path) as z:
        return z["chi2"]
