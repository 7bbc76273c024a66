"""Shared test helpers: the CLI in a subprocess, its one-line errors, saved maps."""

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


class FolderState:
    """Every entry below ``root`` (hidden ones included), its bytes or None for a folder: what
    a command must leave as it was when it refuses bad input."""

    def __init__(self, root):
        from pathlib import Path

        self.root = Path(root)
        self.entries = self._read()

    def _read(self) -> dict:
        return {str(p.relative_to(self.root)): (None if p.is_dir() else p.read_bytes())
                for p in self.root.rglob("*")}

    def changes(self) -> tuple[list[str], list[str]]:
        """(entries added since, entries changed or removed since)."""
        now = self._read()
        added = sorted(set(now) - set(self.entries))
        changed = sorted(k for k, v in self.entries.items() if k not in now or now[k] != v)
        return added, changed


#: The start of the one progress line a cold numba cache adds before any other output.
COMPILING = "cevns-scan: compiling the numba kernels"


def assert_one_line_error(result, *fragments, unchanged: FolderState | None = None) -> str:
    """The command line's answer to bad input, checked in one place.

    ``result`` is what the ``cli`` fixture returns, ``(code, stdout, stderr)``, or a
    :class:`subprocess.CompletedProcess`. Asserted: exit code 2; stderr is exactly one line,
    starting with ``cevns-scan: error:`` (after at most the cold-cache line "compiling the
    numba kernels", which is progress) and holding every one of ``fragments``; no traceback
    on stdout or stderr; and, given ``unchanged`` (the :class:`FolderState` of the working
    folder taken before the command), nothing written there: no new entry (hidden temporary
    ones included), none changed or removed. Returns the line.
    """
    if isinstance(result, subprocess.CompletedProcess):
        code, out, err = result.returncode, result.stdout, result.stderr
    else:
        code, out, err = result
    where = f"exit code: {code}\nstdout:\n{out}\nstderr:\n{err}"
    assert "Traceback" not in err + out, where
    assert code == 2, where
    # On a cold numba cache (a fresh clone, as in CI) a command that builds templates before
    # it meets the bad input first says that it compiles: progress, not part of the error.
    lines = [line for line in err.strip().splitlines() if not line.startswith(COMPILING)]
    assert len(lines) == 1, f"the error is not one line\n{where}"
    assert lines[0].startswith("cevns-scan: error: "), where
    for fragment in fragments:
        assert fragment in lines[0], f"the error does not say {fragment!r}\n{where}"
    if unchanged is not None:
        added, changed = unchanged.changes()
        assert not added, f"left behind: {added}\n{where}"
        assert not changed, f"inputs changed or removed: {changed}\n{where}"
    return lines[0]


def user_config(user=None):
    """The validated configuration of a user's TOML table ``user`` (a dict; None: defaults)."""
    from cevns_scan.config import validate

    return validate(user or {}, "my.toml")


def quiet(call):
    """``call()`` with cevns-scan's caveats (coarse test grids are not resolved) silenced."""
    import warnings

    from cevns_scan.errors import CevnsScanWarning

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", CevnsScanWarning)
        return call()


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


def numpy_poisson_deviance(model, theta):
    """-2 ln L of a COHERENT kernel model written out in numpy, independent of the kernels:
    Baker-Cousins Poisson deviance of the expected counts plus the Gaussian constraints.

    ``model`` is a :class:`cevns_scan.kernels.poisson` model with one template per component
    (``tmpl[:, 0, 0, :]``), each scaled by 1, ``theta[-2]`` or ``theta[-1]``
    (``coef_index`` 0/1/2, the magnetic-moment coefficients) and by its multiplicative
    nuisances ``theta[mult[k]]``.
    """
    tmpl = model.tmpl[:, 0, 0, :]
    fac = np.where(model.coef_index == 0, 1.0,
                   np.where(model.coef_index == 1, theta[-2], theta[-1])).astype(float)
    for k in range(tmpl.shape[0]):
        for m in model.mult[k]:
            if m >= 0:
                fac[k] *= theta[m]
    lam = fac @ tmpl
    n = model.n_obs
    if np.any(lam[n > 0] <= 0):
        return np.inf
    d = 2 * np.sum(lam - n) + 2 * np.sum(n[n > 0] * np.log(n[n > 0] / lam[n > 0]))
    ok = (model.sigma > 0) & np.isfinite(model.sigma)
    return d + np.sum(((theta[ok] - model.centre[ok]) / model.sigma[ok]) ** 2)


def scipy_profile(model, theta0, free, starts=(None,), tol=1e-10):
    """The minimum over the ``free`` entries of :func:`numpy_poisson_deviance`, by scipy
    (L-BFGS-B within the model's bounds, polished by Nelder-Mead) from each start (the free
    entries; None: ``theta0``'s). Returns the best :class:`scipy.optimize.OptimizeResult`."""
    from scipy import optimize

    idx = np.flatnonzero(free)

    def fun(x):
        th = theta0.copy()
        th[idx] = x
        return numpy_poisson_deviance(model, th)

    bounds = list(zip(model.lo[idx], model.hi[idx], strict=True))
    best = None
    for start in starts:
        x0 = theta0[idx] if start is None else start
        res = optimize.minimize(fun, x0, method="L-BFGS-B", bounds=bounds,
                                options={"ftol": 1e-15, "gtol": tol, "maxiter": 5000})
        res = optimize.minimize(fun, res.x, method="Nelder-Mead",
                                options={"xatol": tol, "fatol": 0.01 * tol, "maxiter": 40000})
        if best is None or res.fun < best.fun:
            best = res
    return best
