"""Thresholds and one-dimensional profiles of any likelihood: on-axis minima, crossings, limits.

Works with every :class:`~cevns_scan.experiments.Likelihood` (or an analysis that sums them):
only ``statistic(mu)`` and ``mu_scale(flavour)`` are used.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import optimize, stats

from .config import FLAVOURS
from .errors import InputError, ParameterError


def check_cl(cl, name: str = "cl") -> float:
    """``cl`` as a float if it is a confidence level in (0, 1); else a ParameterError.

    Every function that takes a CL checks it here first, so that ``cl=1.5`` (or 90 for
    90 %) is named as the problem rather than showing up as a NaN threshold later.
    """
    if (isinstance(cl, bool) or not isinstance(cl, int | float | np.floating)
            or not 0.0 < float(cl) < 1.0):
        raise ParameterError(name, cl, "must be a confidence level in (0, 1), e.g. 0.9 for "
                             "90 %")
    return float(cl)


def threshold(cl: float, dof: int) -> float:
    """Delta chi^2 of a confidence level (Wilks): scipy.stats.chi2.ppf(cl, dof)."""
    return float(stats.chi2.ppf(check_cl(cl), dof))


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
        raise InputError(f"the test statistic is {value} at mu_{flavour} = {m:.4g} mu_B: an "
                         "experiment's expected values or data are not finite there; check "
                         "its dataset and the model configuration")
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


#: A true point or overlay whose moment exceeds the analysis's natural scale this many times is
#: in the wrong units (as :data:`cevns_scan.plots.OVERLAY_UNITS_FACTOR` for overlays).
MU_UNITS_FACTOR = 100.0


def check_moment(name: str, value) -> float:
    """One magnetic moment ``value`` in mu_B, checked without any physics: finite, >= 0 and
    at most the plausible 1e-4 mu_B (:data:`cevns_scan.config.MU_RANGE`; ``2`` for 2e-8 is a
    unit slip). Cheap, so callers check it before building templates."""
    from .config import MU_RANGE, number_text

    if isinstance(value, bool) or not isinstance(value, int | float | np.floating) or not (
            np.isfinite(value) and value >= 0):
        raise InputError(f"{name} = {value!r} must be a finite magnetic moment >= 0 in mu_B")
    value = float(value)
    if value > MU_RANGE.high:
        raise InputError(f"{name} = {value:g} is out of range; use a magnetic moment in "
                         f"[0, {number_text(MU_RANGE.high)}] mu_B (e.g. 2e-8, not 2)")
    return value


def check_true_point(lik, flavours: tuple[str, str], point, cl: float) -> tuple[float, float]:
    """A true point (mu_x, mu_y) in mu_B of a plane, checked like an overlay's values.

    Each moment must pass :func:`check_moment` and be at most :data:`MU_UNITS_FACTOR` times the
    exact 2-d.o.f. on-axis crossing of its flavour at ``cl`` (``e=2`` for 2e-8 is a unit slip).
    """
    out = []
    for fl, value in zip(flavours, point, strict=True):
        name = f"mu_{fl}"
        value = check_moment(name, value)
        if value > 0:
            crossing = axis_crossing(lik, fl, threshold(cl, 2))
            if np.isfinite(crossing) and value > MU_UNITS_FACTOR * crossing:
                raise InputError(
                    f"{name} = {value:g} mu_B is {value / crossing:.3g} times the "
                    f"{100 * cl:g} % CL on-axis crossing {crossing:.3g} mu_B of this analysis; "
                    f"give the point in mu_B, within {MU_UNITS_FACTOR:g} times that crossing")
        out.append(value)
    return out[0], out[1]


def one_dof_intervals(lik, cl: float, flavours=FLAVOURS) -> dict[str, tuple[float, float]]:
    """1-d.o.f. intervals of each mu of ``flavours`` (others at zero), Delta chi^2 =
    chi2.ppf(cl, 1).

    The lower end is 0 (an upper limit) unless the data exclude mu = 0.
    """
    thr = threshold(cl, 1)
    return {f"mu_{fl}": axis_interval(lik, fl, thr) for fl in flavours}


def one_dof_limits(lik, cl: float) -> dict[str, float]:
    """1-d.o.f. upper limits on each mu (others at zero), Delta chi^2 = chi2.ppf(cl, 1)."""
    return {k: hi for k, (_, hi) in one_dof_intervals(lik, cl).items()}


#: A 2-d.o.f. limit is resolved when its region spans at least this many grid cells.
MIN_CELLS = 10


@dataclass(frozen=True)
class LimitCheck:
    """Whether the grid resolves one 2-d.o.f. limit, from the exact on-axis crossings.

    ``extent`` is the limit read off the contour (mu_B); ``on_axis`` = (lower, upper) is the
    exact interval of that moment (the other at zero) where the statistic is within
    delta_chi2 of the global minimum (lower = 0 when the origin is allowed; NaN when the axis
    never enters the region); ``cell`` is the grid spacing of the axis. ``problems`` lists
    what makes the printed limit untrustworthy, each with the fix; empty when resolved.
    """

    name: str
    extent: float
    on_axis: tuple[float, float]
    cell: float
    problems: tuple[str, ...] = ()

    @property
    def resolved(self) -> bool:
        return not self.problems

    @property
    def cells(self) -> float:
        """How many grid cells the allowed region spans along this axis."""
        return self.extent / self.cell if self.cell > 0 else float("inf")

    def to_dict(self) -> dict:
        return {"limit": self.extent, "on_axis_lower": self.on_axis[0],
                "on_axis_upper": self.on_axis[1], "grid_cell": self.cell,
                "cells_spanned": self.cells, "resolved": self.resolved,
                "problems": list(self.problems)}


def _grid_problems(region: str, fl: str, extent: float, axis: np.ndarray, cell: float,
                   touches: bool, fix_none: str, fix_edge: str, fix_cells: str) -> list[str]:
    """What the grid does to a limit read off a region (Wilks' or Neyman's): no region on the
    grid, a region reaching the grid edge (a lower bound only) or one spanning fewer than
    :data:`MIN_CELLS` cells; each message ends with its fix."""
    if not np.isfinite(extent):
        return [f"no {region} on the grid; {fix_none}"]
    if touches:
        return [f"the {region} reaches the grid edge mu_{fl} = {axis[-1]:.4g} mu_B, so the "
                f"limit is only a lower bound; {fix_edge}"]
    if extent / cell < MIN_CELLS:
        return [f"the {region} spans only {extent / cell:.2g} grid cells (of {cell:.3g} mu_B) "
                f"along mu_{fl}; {fix_cells}"]
    return []


def check_limit(name: str, extent: float, on_axis: tuple[float, float], axis: np.ndarray,
                rank: int, touches: bool) -> LimitCheck:
    """Compare a contour extent with the exact on-axis crossing (see :class:`LimitCheck`).

    A limit is flagged when the region spans fewer than :data:`MIN_CELLS` cells, when the
    extent falls short of the exact crossing by more than one cell (or, with one constrained
    direction, ``rank == 1``, differs from it by more than one cell), when the region reaches
    the grid edge, or when there is no region on the grid.
    """
    fl = name.removeprefix("mu_")
    cell = float(axis[-1] - axis[0]) / max(axis.size - 1, 1)
    upper = on_axis[1]
    target = 1.3 * upper if np.isfinite(upper) and upper > 0 else None
    fix = (f"set the axis maximum mu_max_{fl} = {target:.2g} (about 1.3 x the exact crossing) "
           "and a grid of at least 101 points" if target
           else f"check the axis range of mu_{fl} and the grid")
    problems = _grid_problems("allowed region", fl, extent, axis, cell, touches, fix, fix, fix)
    if np.isfinite(extent) and np.isfinite(upper) and (
            upper - extent > cell or (rank == 1 and abs(extent - upper) > cell)):
        problems.append(f"the contour extent {extent:.4g} and the exact on-axis crossing "
                        f"{upper:.4g} mu_B differ by {abs(extent - upper) / cell:.2g} grid "
                        f"cells; {fix}")
    return LimitCheck(name, float(extent), (float(on_axis[0]), float(upper)), cell,
                      tuple(problems))


def check_neyman_limit(name: str, extent: float, on_axis: tuple[float, float],
                       axis: np.ndarray, rank: int, touches: bool) -> LimitCheck:
    """Whether a toy-MC Neyman limit read off a 2-D map is resolved (see :class:`LimitCheck`).

    ``on_axis`` is the region's crossing along the axis itself (the other moment zero),
    interpolated on the grid. A limit is flagged when there is no region, when the region
    reaches the grid edge, when it spans fewer than :data:`MIN_CELLS` cells, or, with one
    constrained direction (``rank == 1``, where the extent is the on-axis crossing), when the
    two differ by more than a grid cell (the critical values' Monte Carlo noise, read off
    the most outlying grid point, or a coarse grid).
    """
    fl = name.removeprefix("mu_")
    cell = float(axis[-1] - axis[0]) / max(axis.size - 1, 1)
    upper = float(on_axis[1])
    problems = _grid_problems("Neyman region", fl, extent, axis, cell, touches,
                              f"check the axis range of mu_{fl}", "raise the axis maximum",
                              "use a finer grid or a smaller axis maximum")
    if rank == 1 and np.isfinite(extent) and np.isfinite(upper) and abs(extent - upper) > cell:
        problems.append(f"the Neyman region's extent {extent:.4g} and its crossing on the "
                        f"axis {upper:.4g} mu_B differ by {abs(extent - upper) / cell:.2g} "
                        "grid cells (Monte Carlo noise of t_c or a coarse grid); use more "
                        "toys per point, a finer grid, or the one-dimensional belt")
    return LimitCheck(name, float(extent), (float(on_axis[0]), upper), cell, tuple(problems))


#: Toys beyond the CL quantile below which critical values are too coarse to trust.
MIN_TOYS_BEYOND = 10


def toy_count_problem(n_toys: int, cl: float, what: str = "toys per point") -> str:
    """A warning when fewer than :data:`MIN_TOYS_BEYOND` of ``n_toys`` lie beyond the CL
    quantile (n (1 - cl) < 10): its order statistic is then coarse and noisy. "" if enough."""
    beyond = n_toys * (1.0 - cl)
    if beyond >= MIN_TOYS_BEYOND * (1.0 - 1e-9):  # 100 x (1 - 0.9) is 9.999999999999998
        return ""
    need = int(np.ceil(MIN_TOYS_BEYOND / (1.0 - cl) - 1e-9))
    return (f"only {beyond:.3g} of {n_toys} {what} lie beyond the {100 * cl:g} % quantile, so "
            f"the critical values are coarse and noisy; use at least {need} {what}")


def format_with_error(value: float, error: float) -> str:
    """``value`` with its 1-sigma ``error`` in the last digits: ``1.603(21)e-09``.

    The error keeps two significant digits when its three leading digits are 100-354 and one
    when they are 355-949 (949-999 round up to two digits of the next decade), the Particle
    Data Group's rule; the value is rounded to the same decimal. Without a usable error the
    value is printed to four digits (``1.603e-09``); an error as large as the value gives
    ``1.6e-10 +- 2.1e-09``.
    """
    if not np.isfinite(value):
        return f"{value}"
    if not (np.isfinite(error) and error > 0) or value == 0:
        return f"{value:.4g}" if value == 0 else f"{value:.3e}"
    k = int(np.floor(np.log10(error)))
    three = round(float(error) / 10.0 ** (k - 2))
    if three >= 1000:  # 999.6 rounds into the next decade
        k, three = k + 1, 100
    if three <= 354:
        digits = 2
    elif three <= 949:
        digits = 1
    else:
        k, digits = k + 1, 2  # 0.0095 -> 0.010
    last = k - digits + 1  # decimal exponent of the last digit shown
    exponent = int(np.floor(np.log10(abs(value))))
    if exponent < last or error >= abs(value):  # no significant digit of the value
        return f"{value:.2g} +- {error:.2g}"
    mantissa = round(value / 10.0**exponent, exponent - last)
    if abs(mantissa) >= 10.0:
        exponent += 1
        mantissa = round(value / 10.0**exponent, exponent - last)
    err_digits = round(float(error) / 10.0**last)
    return f"{mantissa:.{exponent - last}f}({err_digits})e{exponent:+03d}"
