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


def assert_interval_ends(likelihood, fit, index: int = 0, level: float = 1.0):
    """The 68 % interval of a COHERENT SM fit: -2 ln L, the other nuisances profiled, rises
    by ``level`` above the minimum at both ends (parameter ``index`` = r_cevns)."""
    import pytest

    from cevns_scan.kernels.poisson import profile

    model = likelihood.kernel_model(sm_fit=True)
    _, free = likelihood.start(sm_fit=True)
    fixed = free.copy()
    fixed[index] = False
    for end in (fit.cevns_lo, fit.cevns_hi):
        th = fit.theta.copy()
        th[index] = end / fit.predicted_cevns
        d, _, _, _ = profile(th, fixed, model)
        assert d - fit.deviance == pytest.approx(level, abs=1e-6)
