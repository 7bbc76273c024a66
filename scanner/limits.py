"""Thresholds and one-dimensional profiles of any likelihood: on-axis minima, crossings, limits.

Works with every :class:`~cevns_scan.experiments.Likelihood` (or an analysis that sums them):
only ``statistic(mu)`` and ``mu_scale(flavour)`` are used.
"""

from __future__ import annotations

import numpy as np
from scipy import optimize, stats

from .config import FLAVOURS
from .errors import InputError


def threshold(cl: float, dof: int) -> float:
    """Delta chi^2 of a confidence level (Wilks): scipy.stats.chi2.ppf(cl, dof)."""
    return float(stats.chi2.ppf(cl, dof))


def flavour_mu(flavour: str, value: float) -> np.ndarray:
    """(mu_e, mu_mu, mu_tau) with ``value`` for ``flavour`` and zero elsewhere."""
    mu = np.zeros(3)
    mu[FLAVOURS.index(flavour)] = value
    return mu


def line_minimum(lik, flavour: str) -> tuple[float, float]:
    """(mu_best, minimum) of the statistic along one flavour axis (others zero), mu >= 0."""
    scale = lik.mu_scale(flavour)
    f = lambda m: lik.statistic(flavour_mu(flavour, m))  # noqa: E731
    grid = scale * np.concatenate([[0.0], np.geomspace(1e-3, 1e3, 61)])
    vals = np.array([f(m) for m in grid])
    k = int(np.argmin(vals))
    if k == 0:
        return 0.0, float(vals[0])
    lo, hi = grid[max(k - 1, 0)], grid[min(k + 1, grid.size - 1)]
    res = optimize.minimize_scalar(f, bounds=(lo, hi), method="bounded",
                                   options={"xatol": 1e-12 * hi})
    if res.fun < vals[k]:
        return float(res.x), float(res.fun)
    return float(grid[k]), float(vals[k])


def _finite(lik, flavour: str, m: float) -> float:
    value = lik.statistic(flavour_mu(flavour, m))
    if not np.isfinite(value):
        raise InputError(f"the test statistic is {value} at mu_{flavour} = {m:.4g} mu_B; the "
                         "templates or the data errors are not usable there (check sigma)")
    return value


def axis_interval(lik, flavour: str, delta_chi2: float, chi2_min: float | None = None
                  ) -> tuple[float, float]:
    """The interval of mu_flavour (others zero) where statistic - chi2_min <= ``delta_chi2``.

    ``chi2_min`` defaults to the minimum along the same line (the 1-d.o.f. profile). The lower
    end is 0 when mu = 0 is inside; both ends are NaN when the axis never enters the region.
    """
    mu_best, line_min = line_minimum(lik, flavour)
    ref = line_min if chi2_min is None else chi2_min
    g = lambda m: _finite(lik, flavour, m) - ref - delta_chi2  # noqa: E731
    if g(mu_best) > 0:
        return float("nan"), float("nan")
    lo = mu_best
    hi = max(mu_best, lik.mu_scale(flavour))
    for _ in range(200):
        if g(hi) > 0:
            break
        lo, hi = hi, 2.0 * hi
    else:
        raise InputError(f"chi2 along mu_{flavour} never rises by {delta_chi2:g}; "
                         "the data do not constrain it")
    upper = float(optimize.brentq(g, lo, hi, xtol=1e-15, rtol=1e-13, maxiter=500))
    lower = 0.0
    if mu_best > 0 and g(0.0) > 0:
        lower = float(optimize.brentq(g, 0.0, mu_best, xtol=1e-15, rtol=1e-13, maxiter=500))
    return lower, upper


def axis_crossing(lik, flavour: str, delta_chi2: float, chi2_min: float | None = None) -> float:
    """The mu above the line minimum where statistic(mu) - chi2_min reaches ``delta_chi2``.

    ``chi2_min`` defaults to the minimum along the same line (1-d.o.f. profile). NaN when the
    axis never enters the region.
    """
    return axis_interval(lik, flavour, delta_chi2, chi2_min)[1]


def one_dof_intervals(lik, cl: float) -> dict[str, tuple[float, float]]:
    """1-d.o.f. intervals of each mu (others at zero), Delta chi^2 = chi2.ppf(cl, 1).

    The lower end is 0 (an upper limit) unless the data exclude mu = 0.
    """
    thr = threshold(cl, 1)
    return {f"mu_{fl}": axis_interval(lik, fl, thr) for fl in FLAVOURS}


def one_dof_limits(lik, cl: float) -> dict[str, float]:
    """1-d.o.f. upper limits on each mu (others at zero), Delta chi^2 = chi2.ppf(cl, 1)."""
    return {k: hi for k, (_, hi) in one_dof_intervals(lik, cl).items()}
