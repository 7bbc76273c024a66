"""The fit problem (templates + data + background treatment), chi^2 at a point, 1-d.o.f. limits.

The heavy lifting is in :mod:`kernels.chi2`; this module chooses which flux components take a
pull (those with a non-zero template somewhere: the rest drop out of eq. 18 exactly) and
profiles one-dimensional limits by root finding.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import optimize, stats

from .kernels.chi2 import chi2_grid, gram_coefficients

from .config import FLAVOURS
from .errors import InputError


@dataclass(frozen=True)
class Problem:
    """Everything eq. 18 needs, restricted to the flux components that contribute.

    ``sm`` (J, n), ``mm`` (J, n, 3) per mu_B^2, ``sigma`` (J,), ``obs`` and ``delta`` (n,),
    all in events / (keV_ee kg day); ``bg_free`` or a fixed ``bg_value``.
    """

    components: tuple[str, ...]
    sm: np.ndarray
    mm: np.ndarray
    sigma: np.ndarray
    obs: np.ndarray
    delta: np.ndarray
    bg_free: bool
    bg_value: float

    def coefficients(self, flavour_x: str, flavour_y: str) -> np.ndarray:
        """Gram coefficients of the (mu_x, mu_y) plane (third moment at zero)."""
        lx, ly = FLAVOURS.index(flavour_x), FLAVOURS.index(flavour_y)
        return gram_coefficients(self.sm, np.ascontiguousarray(self.mm[:, :, lx]),
                                 np.ascontiguousarray(self.mm[:, :, ly]), self.sigma, self.obs,
                                 self.delta, self.bg_free, self.bg_value)

    def chi2(self, mu) -> float:
        """chi^2 of eq. 18 at (mu_e, mu_mu, mu_tau) in mu_B, pulls and background profiled."""
        mm = np.ascontiguousarray(self.mm @ (np.asarray(mu, dtype=float) ** 2))
        coef = gram_coefficients(self.sm, mm, np.zeros_like(mm), self.sigma, self.obs,
                                 self.delta, self.bg_free, self.bg_value)
        out = np.empty((1, 1))
        chi2_grid(np.ones(1), np.zeros(1), coef, out)
        return float(out[0, 0])


def make_problem(templates, dataset, fit_config) -> Problem:
    """Combine templates (for the dataset's bins) with the data and the background choice."""
    if not (np.allclose(templates.tee_lo, dataset.tee_lo, rtol=0, atol=1e-12)
            and np.allclose(templates.tee_hi, dataset.tee_hi, rtol=0, atol=1e-12)):
        raise ValueError("templates were built for other bins than the dataset's")
    active = np.any(templates.sm != 0, axis=1) | np.any(templates.mm != 0, axis=(1, 2))
    if not np.any(active):
        raise InputError(f"dataset {dataset.label}: no flux component gives events in any bin "
                         f"({dataset.tee_lo[0]:g}-{dataset.tee_hi[-1]:g} keV_ee); lower the "
                         "energy range or choose a lighter target")
    with np.errstate(over="ignore", divide="ignore"):
        weight = 1.0 / dataset.sigma**2
    if not np.all(np.isfinite(weight)):
        i = int(np.nonzero(~np.isfinite(weight))[0][0])
        raise InputError(f"dataset {dataset.label} bin {i} ({dataset.tee_lo[i]:g}-"
                         f"{dataset.tee_hi[i]:g} keV_ee): sigma = {dataset.sigma[i]:g} is too "
                         "small (1/sigma^2 overflows); give sigma in events/(keV_ee kg day)")
    names = tuple(n for n, a in zip(templates.components, active, strict=True) if a)
    return Problem(names, np.ascontiguousarray(templates.sm[active]),
                   np.ascontiguousarray(templates.mm[active]),
                   np.ascontiguousarray(templates.frac_sigma[active]),
                   np.ascontiguousarray(dataset.rate), np.ascontiguousarray(dataset.sigma),
                   fit_config["background"] == "free", float(fit_config["background_value"]))


def threshold(cl: float, dof: int) -> float:
    """Delta chi^2 of a confidence level: scipy.stats.chi2.ppf(cl, dof)."""
    return float(stats.chi2.ppf(cl, dof))


def _flavour_mu(flavour: str, value: float) -> np.ndarray:
    mu = np.zeros(3)
    mu[FLAVOURS.index(flavour)] = value
    return mu


def mu_scale(problem: Problem, flavour: str) -> float:
    """A natural scale of mu: where the magnetic-moment rate is ~ one data error per bin."""
    m = problem.mm[:, :, FLAVOURS.index(flavour)].sum(axis=0)
    s = float(np.sqrt(np.sum((m / problem.delta) ** 2)))
    if not s > 0:
        raise InputError(f"the mu_{flavour} templates vanish in every bin; "
                         f"no limit on mu_{flavour}")
    return s**-0.5


def line_minimum(problem: Problem, flavour: str) -> tuple[float, float]:
    """(mu_best, chi2_min) along one flavour axis (others zero), over mu >= 0."""
    scale = mu_scale(problem, flavour)
    f = lambda m: problem.chi2(_flavour_mu(flavour, m))  # noqa: E731
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


def axis_crossing(problem: Problem, flavour: str, delta_chi2: float,
                  chi2_min: float | None = None) -> float:
    """The mu above the line minimum where chi2(mu) - chi2_min reaches ``delta_chi2``.

    ``chi2_min`` defaults to the minimum along the same line (1-d.o.f. profile).
    """
    mu_best, line_min = line_minimum(problem, flavour)
    ref = line_min if chi2_min is None else chi2_min
    g = lambda m: problem.chi2(_flavour_mu(flavour, m)) - ref - delta_chi2  # noqa: E731
    lo = mu_best
    hi = max(mu_best, mu_scale(problem, flavour))
    for _ in range(200):
        if g(hi) > 0:
            break
        lo, hi = hi, 2.0 * hi
    else:
        raise InputError(f"chi2 along mu_{flavour} never rises by {delta_chi2:g}; "
                         "the data do not constrain it")
    return float(optimize.brentq(g, lo, hi, xtol=1e-15, rtol=1e-13, maxiter=500))


def one_dof_limits(problem: Problem, cl: float) -> dict[str, float]:
    """1-d.o.f. upper limits on each mu (others at zero), Delta chi^2 = chi2.ppf(cl, 1)."""
    thr = threshold(cl, 1)
    return {f"mu_{fl}": axis_crossing(problem, fl, thr) for fl in FLAVOURS}
