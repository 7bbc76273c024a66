"""Expected limits: the median and the bands of the 1-d.o.f. limits without a signal.

The sensitivity of an experiment is the distribution of the limits it would set if the
magnetic moments were zero: its median and the bands that hold 68.3 % (+-1 sigma) and
95.4 % (+-2 sigma) of it. Two ways, both generic over every likelihood whose ``toys(fx, fy)``
offers the optional hooks ``asimov``, ``draw_data`` (or ``pseudo_data``), ``with_data`` and
``data_plane`` (experiments/protocols.py):

* **toys**: N background-only pseudo-experiments, drawn from the model at mu = 0 with the
  nuisances at their fit to the data and the auxiliary measurements fluctuated (the same
  draws the Neyman construction makes at the origin); every 1-d.o.f. limit of each is found
  as for the data (the statistic profiled along one axis, its minimum over mu^2 >= 0, the
  crossing of chi2.ppf(cl, 1) above it), and the bands are the toys' quantiles at
  Phi(-2), Phi(-1), 1/2, Phi(1), Phi(2). Pseudo-experiment k of every flavour comes from
  ``SeedSequence(seed, spawn_key=(k,))``: the flavours see the same pseudo-experiments.
* **Asimov** (the fast default): the median is the limit set by the Asimov data (the
  expectation at mu = 0 with the same nuisances, auxiliary centres at their fitted values).
  The statistic is asymptotically quadratic in the signal strength s = mu^2 >= 0 with a width
  sigma_s that the Asimov curve gives, q_A(s) = (s / sigma_s)^2, so the median is
  s_med = z sigma_s with z^2 = chi2.ppf(cl, 1). A pseudo-experiment whose unconstrained
  estimate is s_hat = N sigma_s sets (Cowan, Cranmer, Gross & Vitells, EPJC 71 (2011) 1554,
  the statistic with s_hat >= 0)

      s_up(N) = sigma_s (N + sqrt(z^2 + min(N, 0)^2)),                               (E1)

  monotone in N, so the band edges are s_up(-2), s_up(-1), s_up(1), s_up(2) and the limits
  on mu are their square roots.

The expected region of each plane is the Asimov data's region at the observed map's
threshold (its median contour).
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass, field

import numpy as np
from scipy import optimize, stats

from .config import FLAVOURS
from .errors import InputError, ParameterError
from .limits import threshold

#: Quantile levels of the bands: -2, -1, 0, +1, +2 sigma of a Gaussian.
BAND_SIGMAS = (-2, -1, 0, 1, 2)
BAND_LEVELS = tuple(float(stats.norm.cdf(n)) for n in BAND_SIGMAS)
#: Points of the first scan along an axis, in units of the scale (to 3 x the scale).
_LINE_POINTS = 31


def _other(flavour: str, flavours=FLAVOURS) -> str:
    """The plane partner of ``flavour``: another of ``flavours`` (constrained ones) if any."""
    return next(f for f in (*flavours, *FLAVOURS) if f != flavour)


def _line(plane, axis: int, mu: np.ndarray) -> np.ndarray:
    """The plane statistic along one axis (the other moment zero) at ``mu`` (mu_B)."""
    mu = np.ascontiguousarray(np.atleast_1d(np.asarray(mu, dtype=float)))
    zero = np.zeros(1)
    if axis == 0:
        out = np.empty((mu.size, 1))
        plane.evaluate(mu, zero, out)
        return out[:, 0]
    out = np.empty((1, mu.size))
    plane.evaluate(zero, mu, out)
    return out[0]


def _excess(mu: float, plane, axis: int, level: float) -> float:
    return float(_line(plane, axis, mu)[0]) - level


def line_limit(plane, axis: int, delta: float, scale: float) -> float:
    """Upper end of {mu >= 0 : statistic(mu) - min <= delta} along one axis of a plane.

    ``plane`` is a :class:`~cevns_scan.experiments.PlaneStatistic` (the other moment zero);
    ``axis`` 0 (mu_x) or 1 (mu_y); ``scale`` (mu_B) sets the first scan, 0 to 3 x scale,
    which doubles until the statistic rises by ``delta``. The minimum over mu >= 0 is the scan's
    minimum polished by a bounded Brent search, the crossing above it Brent's root (relative
    tolerance 1e-10). Returns +inf when the statistic never rises by ``delta`` below
    2^10 x 3 x scale.
    """
    top = 3.0 * scale
    for _ in range(11):
        mu = np.linspace(0.0, top, _LINE_POINTS)
        f = _line(plane, axis, mu)
        if not np.all(np.isfinite(f)):
            bad = mu[~np.isfinite(f)][0]
            raise InputError(f"the test statistic is not finite at mu = {bad:.4g} mu_B of a "
                             "pseudo-experiment; the templates or data errors are not usable")
        k = int(np.argmin(f))
        f_min = float(f[k])
        if k > 0:
            lo, hi = mu[k - 1], mu[min(k + 1, mu.size - 1)]
            res = optimize.minimize_scalar(lambda m: float(_line(plane, axis, m)[0]),
                                           bounds=(lo, hi), method="bounded",
                                           options={"xatol": 1e-10 * hi})
            f_min = min(f_min, float(res.fun))
        above = np.flatnonzero(f[k:] - f_min > delta)
        if above.size:
            j = k + int(above[0])
            return float(optimize.brentq(_excess, mu[j - 1], mu[j], args=(plane, axis,
                                                                          f_min + delta),
                                         xtol=1e-14 * top, rtol=1e-10))
        top *= 2.0
    return float("inf")


def asymptotic_band(median: float, cl: float, n_sigma: float) -> float:
    """The limit on mu at n_sigma of the background-only distribution (E1), from the median."""
    z = math.sqrt(threshold(cl, 1))
    s = median**2 * (n_sigma + math.sqrt(z**2 + min(n_sigma, 0.0) ** 2)) / z
    return math.sqrt(max(s, 0.0))


@dataclass(frozen=True)
class ExpectedLimit:
    """The expected 1-d.o.f. limit on one moment (mu_B), the others zero.

    ``median``, ``band_68`` = (-1 sigma, +1 sigma), ``band_95`` = (-2 sigma, +2 sigma) edges;
    ``method`` "toys" (quantiles of ``limits``, the toys' limits; ``median_error`` is the
    median's Monte Carlo error) or "asimov" (eq. E1). ``observed`` is the data's limit and
    ``observed_quantile`` the fraction of toys whose limit is below it (toys only).
    """

    name: str
    median: float
    band_68: tuple[float, float]
    band_95: tuple[float, float]
    method: str
    observed: float = float("nan")
    n_toys: int = 0
    median_error: float = float("nan")
    observed_quantile: float = float("nan")
    limits: np.ndarray | None = field(default=None, repr=False, compare=False)

    def to_dict(self) -> dict:
        out = {"median": self.median, "band_68": list(self.band_68),
               "band_95": list(self.band_95), "method": self.method,
               "observed": self.observed}
        if self.n_toys:
            out.update(n_toys=self.n_toys, median_mc_error=self.median_error,
                       observed_quantile=self.observed_quantile,
                       toys_without_limit=int(np.sum(~np.isfinite(self.limits)))
                       if self.limits is not None else 0)
        return out


@dataclass(frozen=True)
class ExpectedContour:
    """The expected (median, Asimov) allowed region of one plane: the Asimov data's map on its
    own axes and the polylines at ``level`` (its minimum + the observed map's threshold)."""

    name: str
    flavours: tuple[str, str]
    mu_x: np.ndarray
    mu_y: np.ndarray
    chi2: np.ndarray
    level: float
    delta_chi2: float
    lines: list = field(repr=False)


@dataclass(frozen=True)
class ExpectedLimits:
    """Expected 1-d.o.f. limits of every moment (``limits``: ``mu_<fl>`` -> ExpectedLimit, by
    toys when ``n_toys`` > 0, else Asimov), the Asimov ones (``asimov``) and the expected
    contours of planes (``contours``: plane name -> ExpectedContour)."""

    cl: float
    limits: dict
    asimov: dict
    n_toys: int = 0
    seed: int = 0
    contours: dict = field(default_factory=dict)

    @property
    def method(self) -> str:
        return "toys" if self.n_toys else "asimov"

    def meaning(self) -> str:
        if self.n_toys:
            return (f"quantiles of the 1-d.o.f. limits of {self.n_toys} background-only "
                    "pseudo-experiments (mu = 0, nuisances at their fit to the data, auxiliary "
                    "measurements fluctuated): median, band_68 = -+1 sigma (68.3 %), band_95 = "
                    "-+2 sigma (95.4 %)")
        return ("Asimov: the median is the limit of the expected data at mu = 0 (nuisances at "
                "their fit to the data); bands from the asymptotic formula for a signal "
                "strength s = mu^2 >= 0 (Cowan et al. 2011): s(N) = sigma_s (N + sqrt(z^2 + "
                "min(N, 0)^2)), sigma_s = s_median / z, z^2 = chi2.ppf(cl, 1)")

    def summary(self) -> dict:
        """limits.json's ``one_dof_expected`` (and its companions)."""
        out = {"one_dof_expected": {k: v.to_dict() for k, v in self.limits.items()},
               "one_dof_expected_meaning": self.meaning(),
               "one_dof_expected_method": self.method}
        if self.n_toys:
            out["one_dof_expected_seed"] = self.seed
            out["one_dof_expected_asimov"] = {k: v.to_dict() for k, v in self.asimov.items()}
        return out

    def summary_lines(self) -> list[str]:
        how = f"{self.n_toys} toys" if self.n_toys else "Asimov, asymptotic bands"
        parts = []
        for k, e in self.limits.items():
            parts.append(f"{k} median {e.median:.3e} (68 %: {e.band_68[0]:.3e}-"
                         f"{e.band_68[1]:.3e}; 95 %: {e.band_95[0]:.3e}-{e.band_95[1]:.3e})")
        return [f"  expected 1 d.o.f. limits ({how}): " + ", ".join(parts)]


def _check_toys(lik, flavour_x: str, flavour_y: str):
    try:
        toys = lik.toys(flavour_x, flavour_y)
    except InputError as exc:
        raise InputError(f"expected limits need pseudo-experiments of the likelihood, which "
                         f"it cannot draw ({exc}); compute them for each experiment alone"
                         ) from None
    missing = [h for h in ("asimov", "with_data", "data_plane") if not hasattr(toys, h)]
    if missing:
        raise InputError(f"the toys of {type(lik).__name__} offer no {', '.join(missing)}; "
                         "expected limits need the optional toy hooks of experiments/"
                         "protocols.py")
    return toys


def _flavour_toys(lik, flavours=FLAVOURS) -> dict:
    return {fl: _check_toys(lik, fl, _other(fl, flavours)) for fl in flavours}


def require_toys(lik, flavours=FLAVOURS) -> None:
    """Raise the one-line error of expected limits now (before a scan) if ``lik`` cannot
    draw the pseudo-experiments they need."""
    _flavour_toys(lik, flavours)


def asimov_limits(lik, cl: float, observed: dict | None = None, flavours=FLAVOURS
                  ) -> dict[str, ExpectedLimit]:
    """Expected 1-d.o.f. limits of ``flavours`` from the Asimov data with the asymptotic
    bands (E1)."""
    delta = threshold(cl, 1)
    out = {}
    for fl, toys in _flavour_toys(lik, flavours).items():
        plane = toys.with_data(*toys.asimov(0.0, 0.0)).data_plane()
        median = line_limit(plane, 0, delta, lik.mu_scale(fl))
        if not np.isfinite(median):
            raise InputError(f"the Asimov data do not constrain mu_{fl}: no expected limit")
        band = {n: asymptotic_band(median, cl, n) for n in BAND_SIGMAS}
        obs = (observed or {}).get(f"mu_{fl}", float("nan"))
        out[f"mu_{fl}"] = ExpectedLimit(f"mu_{fl}", median, (band[-1], band[1]),
                                        (band[-2], band[2]), "asimov", float(obs))
    return out


def toy_rng(seed: int, k: int) -> np.random.Generator:
    """The generator of background-only pseudo-experiment ``k``."""
    return np.random.Generator(np.random.PCG64(np.random.SeedSequence(seed, spawn_key=(k,))))


def _draw(toys, rng):
    draw = getattr(toys, "draw_data", None)
    if draw is not None:
        obs, aux = draw(0.0, 0.0, rng, 1)
    else:
        obs, aux, _ = toys.pseudo_data(0.0, 0.0, rng, 1)
    return obs[0], aux[0]


def _toy_block(toys, k0: int, k1: int, seed: int, delta: float, scale: float, progress=None
               ) -> np.ndarray:
    out = np.empty(k1 - k0)
    for j, k in enumerate(range(k0, k1)):
        plane = toys.with_data(*_draw(toys, toy_rng(seed, k))).data_plane()
        out[j] = line_limit(plane, 0, delta, scale)
        if progress is not None:
            progress.update()
    return out


def toy_limits(lik, cl: float, n_toys: int, seed: int = 0, *, observed: dict | None = None,
               asimov: dict | None = None, jobs: int | None = 1, progress=None,
               flavours=FLAVOURS) -> dict[str, ExpectedLimit]:
    """Expected 1-d.o.f. limits of ``flavours`` from ``n_toys`` background-only
    pseudo-experiments.

    ``asimov`` (default: computed) gives each axis' scan scale; ``jobs`` threads share the toys
    (the result does not depend on them); ``progress`` is None or a factory
    ``progress(total, description)`` (one step per toy and flavour).
    """
    from joblib import Parallel, delayed

    from .neyman import MIN_TOYS, critical_value
    from .scan import resolve_jobs

    if n_toys < MIN_TOYS:
        raise ParameterError("n_toys", n_toys, f"must be >= {MIN_TOYS} pseudo-experiments")
    asimov = asimov if asimov is not None else asimov_limits(lik, cl, observed, flavours)
    delta = threshold(cl, 1)
    jobs = resolve_jobs(jobs)
    bar = progress(n_toys * len(flavours), f"expected limits ({n_toys} toys)") \
        if progress is not None else None
    cuts = np.linspace(0, n_toys, min(n_toys, 4 * jobs) + 1).astype(int)
    out = {}
    try:
        for fl, toys in _flavour_toys(lik, flavours).items():
            name = f"mu_{fl}"
            parts = Parallel(n_jobs=jobs, backend="threading")(
                delayed(_toy_block)(toys, a, b, seed, delta, asimov[name].median, bar)
                for a, b in itertools.pairwise(cuts) if b > a)
            lims = np.concatenate(parts)
            q = {n: critical_value(lims, lev)[0] for n, lev in zip(BAND_SIGMAS, BAND_LEVELS,
                                                                   strict=True)}
            err = critical_value(lims, 0.5)[1]
            obs = float((observed or {}).get(name, float("nan")))
            frac = float(np.mean(lims <= obs)) if np.isfinite(obs) else float("nan")
            out[name] = ExpectedLimit(name, q[0], (q[-1], q[1]), (q[-2], q[2]), "toys", obs,
                                      int(n_toys), err, frac, lims)
    finally:
        if bar is not None:
            bar.close()
    return out


def expected_contour(lik, grid, delta: float, cl: float, points: int = 101) -> ExpectedContour:
    """The Asimov data's region of the plane of ``grid`` (a PlaneGrid) at ``delta``.

    The axes run from 0 to the larger of the observed grid's maximum and 1.3 x the Asimov
    on-axis crossing, with ``points`` points each (at most the observed grid's).
    """
    from .contours import contour_lines

    fx, fy = grid.flavour_x, grid.flavour_y
    toys = _check_toys(lik, fx, fy)
    plane = toys.with_data(*toys.asimov(0.0, 0.0)).data_plane()
    tops = []
    for axis, fl, mu in ((0, fx, grid.mu_x), (1, fy, grid.mu_y)):
        cross = line_limit(plane, axis, delta, lik.mu_scale(fl))
        tops.append(max(float(mu[-1]), 1.3 * cross if np.isfinite(cross) else 0.0))
    n = int(min(points, max(grid.mu_x.size, grid.mu_y.size)))
    mu_x, mu_y = np.linspace(0.0, tops[0], n), np.linspace(0.0, tops[1], n)
    chi2 = np.empty((n, n))
    plane.evaluate(mu_x, mu_y, chi2)
    level = float(chi2.min()) + delta
    return ExpectedContour(grid.name, (fx, fy), mu_x, mu_y, chi2, level, delta,
                           contour_lines(mu_x, mu_y, chi2, level))


def expected_limits(lik, cl: float, n_toys: int = 0, seed: int = 0, *, grids=(),
                    delta_chi2: float | None = None, observed: dict | None = None,
                    jobs: int | None = 1, progress=None, flavours=FLAVOURS) -> ExpectedLimits:
    """Expected 1-d.o.f. limits of ``flavours`` (the constrained ones; toys when ``n_toys``
    > 0, else Asimov) and, for each PlaneGrid of ``grids``, the expected contour at
    ``delta_chi2`` (default chi2.ppf(cl, 2)).
    """
    if n_toys < 0:
        raise ParameterError("n_toys", n_toys, "must be >= 0 (0: Asimov only)")
    flavours = tuple(flavours)
    asimov = asimov_limits(lik, cl, observed, flavours)
    limits = toy_limits(lik, cl, n_toys, seed, observed=observed, asimov=asimov, jobs=jobs,
                        progress=progress, flavours=flavours) if n_toys else asimov
    delta = threshold(cl, 2) if delta_chi2 is None else float(delta_chi2)
    contours = {g.name: expected_contour(lik, g, delta, cl) for g in grids}
    return ExpectedLimits(cl, limits, asimov, int(n_toys), int(seed), contours)
