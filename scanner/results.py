"""Results of scans: per-plane results, the whole analysis result, and the results folder.

A :class:`PlaneResult` holds a map of -2 ln L (chi^2 for eq. 18), its global minimum, the CL
contour, the 2-d.o.f. limits and the goodness of fit; :meth:`PlaneResult.plot` draws it. An
:class:`AnalysisResult` adds the 1-d.o.f. limits and writes the results folder of
docs/design.md §5 (:meth:`AnalysisResult.write`).
"""

from __future__ import annotations

import dataclasses
import platform
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from scipy import stats

from .contours import contour_lines, extent_limits, refine_minimum
from .grid import PlaneGrid
from .limits import axis_interval, check_cl, check_limit, format_with_error, threshold
from .outputs import atomic_write_bytes, npz_bytes, write_csv, write_json

#: Panel order of the paper's Fig. 3.
PLANE_ORDER = {"e_mu": 0, "e_tau": 1}
#: Below this p-value the fit is reported as bad.
BAD_FIT_P = 0.01
#: Above this p-value the fit is too good: the errors are probably over-estimated.
TOO_GOOD_P = 0.99
#: What limits.json's goodness_of_fit note adds when the asymptotic p-value does not hold.
NO_P_NOTE = ("; p_value is the asymptotic chi2 value, not valid here: quote a p-value from toys "
             "(goodness_of_fit_toys) or none")


@dataclass(frozen=True)
class GoodnessOfFit:
    """chi^2 (or -2 ln L) at the global best fit of a plane, its d.o.f. and p-value.

    dof = data points - unconstrained nuisance parameters (a free background) - independent
    moment directions of the plane. ``p_value`` is asymptotic (chi^2 distribution). When the
    likelihood says that distribution does not hold (a non-empty ``note``, e.g. Poisson bins
    with few events), the p-value is not reported (``asymptotic`` False; ``p_value`` stays
    in the object and in limits.json's ``goodness_of_fit`` for comparison only): a p-value
    then comes from toys (:func:`cevns_scan.goodness.toy_goodness_of_fit`).
    """

    chi2_min: float
    dof: int
    p_value: float
    note: str = ""

    @property
    def asymptotic(self) -> bool:
        """True when the chi^2 distribution holds (no caveat from the likelihood)."""
        return not self.note

    @property
    def reported_p(self) -> float:
        """The p-value to quote: the asymptotic one where it holds, else NaN."""
        return self.p_value if self.asymptotic else float("nan")

    @property
    def bad(self) -> bool:
        """True when p < :data:`BAD_FIT_P`: the model does not describe the data."""
        return bool(self.reported_p < BAD_FIT_P)

    @property
    def too_good(self) -> bool:
        """True when p > :data:`TOO_GOOD_P`: the errors are probably over-estimated."""
        return bool(self.reported_p > TOO_GOOD_P)

    def to_dict(self) -> dict:
        out = {"chi2_min": self.chi2_min, "dof": self.dof, "p_value": self.p_value}
        return {**out, "note": self.note + self._no_p} if self.note else out

    @property
    def _no_p(self) -> str:
        return NO_P_NOTE

    def __str__(self) -> str:
        text = f"chi2_min = {self.chi2_min:.4g} for {self.dof} d.o.f."
        if not self.asymptotic:
            return f"{text}, no asymptotic p-value ({self.note})"
        return f"{text}, p = {self.p_value:.3g}"


def goodness_of_fit(chi2_min: float, dof: int, note: str = "") -> GoodnessOfFit:
    """The asymptotic p-value of ``chi2_min`` for ``dof`` degrees of freedom (nan if dof < 1)."""
    p = float(stats.chi2.sf(max(chi2_min, 0.0), dof)) if dof >= 1 else float("nan")
    return GoodnessOfFit(float(chi2_min), int(dof), p, note)


@dataclass(frozen=True)
class RankAwareRegion:
    """The allowed region at the threshold of the plane's rank (issue 17, item 1).

    The paper reads every plane with Delta chi^2 = chi2.ppf(cl, 2). When the data constrain
    one direction of the plane (``rank`` 1: the moments enter only through
    sum_l w_l mu_l^2), -2 ln L follows the one-direction distribution, chi^2_1 away from the
    boundary mu = 0 and the 1/2 chi^2_0 + 1/2 chi^2_1 mixture at it: the region at
    chi2.ppf(cl, rank) covers at least the CL, the 2-d.o.f. one over-covers.

    ``threshold`` is chi2.ppf(cl, rank); ``lines`` the contour at chi2_min + threshold;
    ``limits`` its extent along each axis (mu_B); ``checks`` each limit against the exact
    on-axis crossing (:class:`~cevns_scan.limits.LimitCheck`); ``origin_excluded`` when
    mu = 0 lies outside (the region is then an interval per axis, ``checks[...].on_axis``).
    """

    rank: int
    threshold: float
    lines: list = field(repr=False)
    limits: dict
    checks: dict
    touches: tuple[str, ...] = ()
    origin_excluded: bool = False

    def to_dict(self) -> dict:
        return {"rank": self.rank, "threshold": self.threshold, "limits": dict(self.limits),
                "origin_excluded": self.origin_excluded,
                "checks": {k: c.to_dict() for k, c in self.checks.items()}}


@dataclass(frozen=True)
class PlaneResult:
    """The scan of one (mu_x, mu_y) plane and what is read off it.

    Attributes
    ----------
    grid : PlaneGrid
        The axes (mu_B).
    chi2 : ndarray, shape (len(mu_x), len(mu_y))
        -2 ln L profiled over the nuisances; ``chi2[i, k]`` at (mu_x[i], mu_y[k]).
    chi2_min : float
        Global minimum over mu^2 >= 0 (grid minimum polished by L-BFGS-B).
    best : (float, float)
        Where it is, (mu_x, mu_y) in mu_B.
    cl, delta_chi2 : float
        Confidence level and its 2-d.o.f. Wilks threshold chi2.ppf(cl, 2).
    lines : list of ndarray
        Contour polylines of chi2 = chi2_min + delta_chi2, each (N, 2) in mu_B.
    limits : dict
        ``mu_<flavour>`` -> the region's extent along that axis (the 2-d.o.f. limit).
    touches : tuple of str
        Axes ('x', 'y') whose upper grid edge the allowed region reaches.
    gof : GoodnessOfFit or None
        Goodness of fit at the best fit (None when read back without the model).
    checks : dict or None
        ``mu_<flavour>`` -> :class:`LimitCheck` (None when read back without the model).
    origin_excluded : bool
        True when mu = 0 lies outside the allowed region: the region is then an interval per
        axis (``checks[...].on_axis``), not an upper limit.
    rank : int
        Independent moment directions the data constrain in this plane (0: not known).
    rank_aware : RankAwareRegion or None
        The region at the rank's threshold (None when read back without the model).
    best_fit : cevns_scan.bestfit.BestFit or None
        The best fit (a valley in a one-direction plane) with the nuisances there.
    analysis : Analysis or None
        The analysis the map came from (None when read back from a file): :meth:`with_cl`
        uses it to re-check the limits against the exact on-axis crossings.
    """

    grid: PlaneGrid
    chi2: np.ndarray
    chi2_min: float
    best: tuple[float, float]
    cl: float
    delta_chi2: float
    lines: list = field(repr=False)
    limits: dict
    touches: tuple[str, ...] = ()
    gof: GoodnessOfFit | None = None
    checks: dict | None = None
    origin_excluded: bool = False
    rank: int = 0
    rank_aware: RankAwareRegion | None = None
    best_fit: object = None  # cevns_scan.bestfit.BestFit
    analysis: object = field(default=None, repr=False, compare=False)

    def __repr__(self) -> str:
        pg = self.grid
        limits = ", ".join(f"{k} < {v:.4g}" for k, v in self.limits.items())
        flag = "" if self.resolved else ", NOT RESOLVED (see .warnings())"
        return (f"PlaneResult({self.name}, grid {pg.mu_x.size}x{pg.mu_y.size}, CL {self.cl:g}, "
                f"chi2_min {self.chi2_min:.4g}, {limits}{flag})")

    @property
    def name(self) -> str:
        return self.grid.name

    @property
    def valley(self):
        """The best-fit valley of a one-direction plane (:class:`~cevns_scan.bestfit.Valley`),
        or None."""
        return getattr(self.best_fit, "valley", None)

    @property
    def level(self) -> float:
        """The contour level, chi2_min + delta_chi2 (absolute)."""
        return self.chi2_min + self.delta_chi2

    @property
    def mu_x(self) -> np.ndarray:
        return self.grid.mu_x

    @property
    def mu_y(self) -> np.ndarray:
        return self.grid.mu_y

    def with_cl(self, cl: float) -> PlaneResult:
        """The same map read off at another confidence level (no rescan).

        ``cl`` must lie in (0, 1). The limits are checked again at the new level: against the
        exact on-axis crossings when the analysis is known, else against the grid alone (a
        region at the grid edge or spanning too few cells is not resolved). The rank-aware
        region is read at the new level too when the analysis is known (else None); the best
        fit does not depend on the level.
        """
        check_cl(cl)
        res = read_plane(self.grid, self.chi2, self.chi2_min, self.best, cl, self.gof,
                         self.analysis)
        return dataclasses.replace(res, rank=res.rank or self.rank, best_fit=self.best_fit)

    @property
    def resolved(self) -> bool:
        """True unless a limit check found a problem."""
        return all(c.resolved for c in (self.checks or {}).values())

    def warnings(self) -> list[str]:
        """What makes this plane's numbers less than plain: one line each, with the fix.

        A fit that is too good is not flagged for a synthetic dataset (an analysis with a
        caveat), whose errors are not measured ones.
        """
        out = []
        for name, chk in (self.checks or {}).items():
            out += [f"plane {self.name}, {name} limit {chk.extent:.4g} mu_B is not resolved: {p}"
                    for p in chk.problems]
        if self.rank_aware is not None:
            for name, chk in self.rank_aware.checks.items():
                out += [f"plane {self.name}, rank-aware {name} limit {chk.extent:.4g} mu_B is "
                        f"not resolved: {p}" for p in chk.problems]
        if self.gof is not None and self.gof.bad:
            out.append(f"plane {self.name}: bad fit, {self.gof}; the model does not describe the "
                       "data, so its limits mean little (check the background treatment "
                       "[fit] and the dataset's errors)")
        synthetic = bool(getattr(self.analysis, "caveat", ""))
        if self.gof is not None and self.gof.too_good and not synthetic:
            out.append(f"plane {self.name}: the fit is too good, {self.gof} > {TOO_GOOD_P:g}: the "
                       "data's errors are probably over-estimated (or correlated), which "
                       "makes the limits too weak; check the dataset's sigma column")
        if self.best_fit is not None:
            out += [f"plane {self.name}: {p}" for p in self.best_fit.problems()]
        if self.origin_excluded:
            out.append(f"plane {self.name}: mu = 0 lies outside the {100 * self.cl:g} % CL "
                       "region; the region is reported as intervals, not upper limits")
        return out

    def plot(self, ax=None, **style):
        """Draw the allowed region, its contour and the best fit.

        ``ax`` None draws on a new pyplot figure (shown by Jupyter, ``plt.show()`` in a
        script); otherwise on ``ax``. Style keywords (``color``, ``linestyle``, ``linewidth``,
        ``label``, ``fill``, ``alpha``...) go to :func:`cevns_scan.plots.draw_allowed_region`;
        a second region on the same Axes (another CL, say) takes the next colour and line
        style, and the legend lists each label once. Returns the artists drawn
        (:class:`~cevns_scan.plots.Drawn`: a dict with ``.ax`` and ``.figure``).
        """
        from .plots import draw_allowed_region, new_axes

        return draw_allowed_region(ax if ax is not None else new_axes(), self, **style)


def read_plane(pg: PlaneGrid, chi2: np.ndarray, chi2_min: float, best, cl: float,
               gof: GoodnessOfFit | None = None, analysis=None) -> PlaneResult:
    """Contours, 2-d.o.f. limits and their checks of a map whose minimum is known.

    With ``analysis`` the limits are checked against its exact on-axis crossings
    (:func:`check_plane`), else against the grid alone.
    """
    thr = threshold(cl, 2)
    level = chi2_min + thr
    lines = contour_lines(pg.mu_x, pg.mu_y, chi2, level)
    lim_x, lim_y, touches = extent_limits(lines, pg.mu_x, pg.mu_y, chi2, level)
    res = PlaneResult(pg, chi2, float(chi2_min), (float(best[0]), float(best[1])), cl, thr,
                      lines, {f"mu_{pg.flavour_x}": lim_x, f"mu_{pg.flavour_y}": lim_y},
                      tuple(touches), gof)
    return check_plane(res, analysis)


def check_plane(res: PlaneResult, analysis=None) -> PlaneResult:
    """``res`` with its limit checks and whether the origin is excluded.

    With the analysis, each 2-d.o.f. limit is compared with the exact on-axis crossing
    (:func:`~cevns_scan.limits.check_limit`), and the plane gets its rank and rank-aware
    region (:func:`rank_aware_region`); without it (a map read from a file), only what the
    grid shows is checked: the region at the grid edge, too few cells, no region. The origin
    is excluded when the statistic there exceeds the contour level.
    """
    pg = res.grid
    rank = analysis.moment_rank(pg.flavour_x, pg.flavour_y) if analysis is not None else 2
    checks = {}
    for fl, axis, edge in ((pg.flavour_x, pg.mu_x, "x"), (pg.flavour_y, pg.mu_y, "y")):
        name = f"mu_{fl}"
        if analysis is not None:
            on_axis = axis_interval(analysis, fl, res.delta_chi2, res.chi2_min)
        else:
            on_axis = (float("nan"), float("nan"))
        checks[name] = check_limit(name, res.limits[name], on_axis, axis, rank,
                                   edge in res.touches)
    if analysis is not None:
        t_origin = analysis.statistic(np.zeros(3)) - res.chi2_min
    elif pg.mu_x[0] == 0.0 and pg.mu_y[0] == 0.0:
        t_origin = float(res.chi2[0, 0]) - res.chi2_min
    else:
        t_origin = float("-inf")  # the origin is not on this grid: nothing to say
    excluded = bool(t_origin > res.delta_chi2)
    res = dataclasses.replace(res, checks=checks, origin_excluded=excluded, analysis=analysis)
    if analysis is None:
        return res
    return dataclasses.replace(res, rank=rank,
                               rank_aware=rank_aware_region(analysis, res, rank, t_origin))


def plane_result(analysis, pg: PlaneGrid, chi2: np.ndarray,
                 cl: float | None = None) -> PlaneResult:
    """Global minimum (polished with the model), contour and checked 2-d.o.f. limits of a map."""
    chi2_min, bx, by = refine_minimum(
        lambda a, b: analysis.statistic(pg.mu_vector(a, b)), pg.mu_x, pg.mu_y, chi2)
    rank = analysis.moment_rank(pg.flavour_x, pg.flavour_y)
    dof = analysis.n_data - analysis.n_unconstrained - rank
    res = read_plane(pg, chi2, chi2_min, (bx, by), analysis.cl if cl is None else cl,
                     goodness_of_fit(chi2_min, dof, analysis.gof_note), analysis)
    from .bestfit import best_fit

    return dataclasses.replace(res, best_fit=best_fit(analysis, pg, res.best))


def find_plane(results, name: str):
    """The result of plane ``name`` (``'e-mu'``, ``'e_mu'``) among ``results``; a KeyError
    naming the planes there otherwise."""
    from .config import parse_plane

    key = "_".join(parse_plane(name, "plane"))
    for r in results:
        if r.name == key:
            return r
    raise KeyError(f"plane {name!r} is not among the results (planes: "
                   f"{', '.join(r.name for r in results) or 'none'})")


def rank_aware_region(analysis, res: PlaneResult, rank: int,
                      t_origin: float | None = None) -> RankAwareRegion:
    """The region of a map at Delta chi^2 = chi2.ppf(cl, rank), with its limit checks.

    ``t_origin`` is the statistic at mu = 0 minus the minimum (computed when not given).
    """
    pg = res.grid
    thr = threshold(res.cl, rank)
    if t_origin is None:
        t_origin = analysis.statistic(np.zeros(3)) - res.chi2_min
    level = res.chi2_min + thr
    lines = contour_lines(pg.mu_x, pg.mu_y, res.chi2, level)
    lim_x, lim_y, touches = extent_limits(lines, pg.mu_x, pg.mu_y, res.chi2, level)
    limits = {f"mu_{pg.flavour_x}": lim_x, f"mu_{pg.flavour_y}": lim_y}
    checks = {}
    for fl, axis, edge in ((pg.flavour_x, pg.mu_x, "x"), (pg.flavour_y, pg.mu_y, "y")):
        name = f"mu_{fl}"
        on_axis = axis_interval(analysis, fl, thr, res.chi2_min)
        checks[name] = check_limit(name, limits[name], on_axis, axis, rank, edge in touches)
    return RankAwareRegion(int(rank), thr, lines, limits, checks, tuple(touches),
                           bool(t_origin > thr))


def sm_measurements(analysis, toys: int = 0, seed: int = 0) -> dict:
    """Experiment name -> the SM measurement of each experiment whose likelihood offers one
    (optional hook ``sm_measurement(toys, seed)``, see experiments/protocols.py)."""
    out = {}
    for e in analysis.experiments:
        measure = getattr(e.likelihood, "sm_measurement", None)
        if measure is not None:
            out[e.name] = measure(toys=toys, seed=seed)
    return out


def experiment_lines(parts) -> list:
    """(label, plane name, contour polylines) of each experiment scanned alone (Fig. 3)."""
    return [(p.label, r.name, r.lines) for p in parts for r in p.planes]


def sort_planes(results) -> list:
    """Planes in the paper's panel order (e-mu, e-tau, then the rest)."""
    return sorted(results, key=lambda r: PLANE_ORDER.get(r.name, len(PLANE_ORDER)))


def edge_messages(results) -> list[str]:
    """Warnings for contours that reach the upper edge of their grid."""
    out = []
    for r in results:
        pg = r.grid
        for axis in r.touches:
            fl = pg.flavour_x if axis == "x" else pg.flavour_y
            out.append(f"warning: the allowed region of plane {pg.name} reaches the "
                       f"grid edge mu_{fl} = {(pg.mu_x if axis == 'x' else pg.mu_y)[-1]:.4g} mu_B; "
                       f"the mu_{fl} limit is a lower bound: raise [scan] mu_max_{fl}")
    return out


def element_z(name: str) -> list[int]:
    """Z of each element of a target name (a symbol or a formula; data/elements.csv), or []
    for a custom target label."""
    from .errors import InputError
    from .targets import make_target

    try:
        target = make_target(name)
    except InputError:
        return []
    return sorted({n.z for n in target.nuclides})


def _dataset_record(ds) -> dict:
    """run.json's account of one experiment's data."""
    return {"label": ds.label, "kind": ds.kind, "source": ds.source, "sha256": ds.digest(),
            "note": ds.description, "metadata": {k: str(v) for k, v in ds.metadata.items()},
            "synthetic": bool(ds.description)}


def package_versions() -> dict:
    import contourpy
    import joblib
    import matplotlib
    import numba
    import scipy

    from . import __version__

    return {"cevns-scan": __version__, "python": platform.python_version(),
            "numpy": np.__version__, "scipy": scipy.__version__, "numba": numba.__version__,
            "joblib": joblib.__version__, "matplotlib": matplotlib.__version__,
            "contourpy": contourpy.__version__, "platform": platform.platform()}


def neyman_line(ney) -> str:
    """The summary line of a Neyman region (a 2-D map or a one-direction belt): its limits
    with their Monte Carlo errors, flagged where unresolved."""
    parts = []
    for name, value in ney.limits.items():
        text = f"{name} < {format_with_error(value, ney.mc_error.get(name, float('nan')))}"
        chk = getattr(ney, "checks", {}).get(name)
        if chk is not None and not chk.resolved:
            text += " [NOT RESOLVED, see warning]"
        parts.append(text)
    kind = " belt" if hasattr(ney, "s_interval") else ""
    return (f"  Neyman (toy MC{kind}, {ney.n_toys} toys/point), plane {ney.name}: "
            + ", ".join(parts))


def summary_lines(label: str, target: str, cl: float, planes, neyman, one_dof_intervals: dict,
                  *, unconstrained=(), experiments=(), goodness_toys: dict | None = None,
                  synthetic: bool = False) -> list[str]:
    """The printed summary of a result (or of a results folder read back): 2-d.o.f. limits
    (flagged where unresolved), rank-aware regions, Neyman limits, 1-d.o.f. intervals, the
    ``unconstrained`` flavours, each experiment alone (``experiments``,
    :class:`ExperimentResult`), fit quality (with ``goodness_toys``; a fit too good is not
    flagged for a ``synthetic`` dataset) and best fits."""
    lines = [f"limits at {100 * cl:g} % CL, dataset {label}, target {target} (mu_B):"]
    for r in planes:
        parts = []
        for name, value in r.limits.items():
            chk = (r.checks or {}).get(name)
            if r.origin_excluded and chk is not None:
                text = f"{name} in [{chk.on_axis[0]:.3e}, {chk.on_axis[1]:.3e}] on its axis"
            else:
                text = f"{name} < {value:.3e}"
            if chk is not None and not chk.resolved:
                text += " [NOT RESOLVED by the grid, see warning]"
            parts.append(text)
        lines.append(f"  2 d.o.f., plane {r.name}: " + ", ".join(parts))
    for r in planes:
        ra = r.rank_aware
        if ra is None or ra.rank == 2:
            continue
        parts = []
        for name, value in ra.limits.items():
            chk = ra.checks[name]
            text = (f"{name} in [{chk.on_axis[0]:.3e}, {chk.on_axis[1]:.3e}] on its axis"
                    if ra.origin_excluded else f"{name} < {value:.3e}")
            if not chk.resolved:
                text += " [NOT RESOLVED by the grid, see warning]"
            parts.append(text)
        lines.append(f"  rank-aware (rank {ra.rank}, Delta chi2 = {ra.threshold:.4g}), plane "
                     f"{r.name}: " + ", ".join(parts))
    lines += [neyman_line(ney) for ney in neyman]
    one = [f"{k} in [{lo:.3e}, {hi:.3e}]" if lo > 0 else f"{k} < {hi:.3e}"
           for k, (lo, hi) in one_dof_intervals.items()]
    lines.append("  1 d.o.f. (each moment alone, the others zero): " + ", ".join(one))
    for fl in unconstrained:
        lines.append(f"  mu_{fl}: not constrained by these data (no limit)")
    for part in experiments:
        two = "; ".join(f"plane {r.name}: " + ", ".join(f"{k} < {v:.3e}"
                                                       for k, v in r.limits.items())
                        for r in part.planes)
        one = ", ".join(f"{k} < {hi:.3e}" for k, (_, hi) in part.one_dof_intervals.items())
        lines.append(f"  {part.label} alone: 2 d.o.f. {two or '-'}; 1 d.o.f. {one}"
                     + (f"; mu_{', mu_'.join(part.unconstrained)} unconstrained"
                        if part.unconstrained else ""))
    for r in planes:
        if r.gof is not None:
            flag = "  [BAD FIT]" if r.gof.bad else ""
            if r.gof.too_good and not synthetic:
                flag = "  [FIT TOO GOOD]"
            toy = (goodness_toys or {}).get(r.name)
            extra = f"; saturated model, {toy}" if toy is not None else ""
            lines.append(f"  fit, plane {r.name}: {r.gof}{extra}{flag}")
        if r.best_fit is not None:
            lines.append(f"  best fit, plane {r.name}: {r.best_fit.text()}")
    return lines


@dataclass(frozen=True)
class ExperimentResult:
    """One experiment of a joint fit scanned alone: its own planes and 1-d.o.f. intervals.

    ``unconstrained`` lists the flavours its data do not constrain (their planes and limits
    are left out).
    """

    label: str
    planes: tuple[PlaneResult, ...]
    one_dof_intervals: dict
    unconstrained: tuple[str, ...] = ()

    def __post_init__(self):
        object.__setattr__(self, "planes", tuple(sort_planes(self.planes)))

    def plane(self, name: str) -> PlaneResult | None:
        key = name.replace("-", "_")
        return next((r for r in self.planes if r.name == key), None)

    def summary(self) -> dict:
        """limits.json's account of this experiment alone."""
        return {"two_dof": {r.name: r.limits for r in self.planes},
                "one_dof": {k: hi for k, (_, hi) in self.one_dof_intervals.items()},
                "one_dof_intervals": {k: list(v) for k, v in self.one_dof_intervals.items()},
                "unconstrained": [f"mu_{f}" for f in self.unconstrained]}


@dataclass(frozen=True)
class AnalysisResult:
    """Every plane of an analysis, the 1-d.o.f. intervals, and how long it took.

    ``one_dof_intervals``: ``mu_<flavour>`` -> (lower, upper) in mu_B with the other two
    moments at zero; lower = 0 unless the data exclude mu = 0. ``neyman`` holds a
    :class:`~cevns_scan.neyman.NeymanResult` (2-D map) or a
    :class:`~cevns_scan.belt.BeltResult` (one-direction belt) per plane with toys;
    ``goodness_toys`` maps a plane name to its
    :class:`~cevns_scan.goodness.ToyGoodnessOfFit` when asked for. ``experiments`` holds, for a
    joint fit, each experiment scanned alone (:class:`ExperimentResult`).
    """

    analysis: object  # cevns_scan.analysis.Analysis
    planes: tuple[PlaneResult, ...]
    one_dof_intervals: dict
    timings: dict = field(default_factory=dict)
    neyman: tuple = ()
    goodness_toys: dict = field(default_factory=dict)
    experiments: tuple = ()
    #: Experiment name -> its SM measurement (the likelihoods' optional ``sm_measurement``);
    #: None: measured (without toys) when first asked for (:meth:`sm_measurements`).
    measurements: dict | None = None
    #: Expected limits and contours (:class:`~cevns_scan.expected.ExpectedLimits`) or None.
    expected: object = None

    def __post_init__(self):
        object.__setattr__(self, "planes", tuple(sort_planes(self.planes)))
        object.__setattr__(self, "neyman", tuple(sort_planes(self.neyman)))

    @property
    def cl(self) -> float:
        return self.planes[0].cl if self.planes else self.analysis.cl

    @property
    def one_dof(self) -> dict[str, float]:
        """1-d.o.f. upper ends, ``mu_<flavour>`` -> mu_B (others at zero)."""
        return {k: hi for k, (_, hi) in self.one_dof_intervals.items()}

    def sm_measurements(self) -> dict:
        """Experiment name -> SM measurement, for the experiments whose likelihood has one."""
        if self.measurements is None:
            object.__setattr__(self, "measurements", sm_measurements(self.analysis))
        return self.measurements

    def warnings(self) -> list[str]:
        """Everything that makes a printed number less than plain: one line each, with the fix."""
        out = [w for r in self.planes for w in r.warnings()]
        for name, (lo, _) in self.one_dof_intervals.items():
            if lo > 0:
                out.append(f"1 d.o.f.: mu = 0 is excluded for {name}; reported as an interval")
        for ney in self.neyman:
            out += [f"plane {ney.name}, Neyman: {p}" for p in ney.problems()]
        return out + self.analysis.warnings()

    def summary_lines(self) -> list[str]:
        """The printed summary: limits (flagged where unresolved), intervals, fit quality."""
        ana = self.analysis
        lines = summary_lines(ana.label, ana.target_label, self.cl, self.planes, self.neyman,
                              self.one_dof_intervals, unconstrained=ana.unconstrained,
                              experiments=self.experiments, goodness_toys=self.goodness_toys,
                              synthetic=bool(ana.caveat))
        if self.expected is not None:
            lines += self.expected.summary_lines()
        for name, meas in self.sm_measurements().items():
            lines.append(f"  SM measurement, {name}: {meas.summary_line()}")
        return lines

    def plane(self, name: str) -> PlaneResult:
        """The result of plane ``'e_mu'`` (or ``'e-mu'``)."""
        return find_plane(self.planes, name)

    def plot(self, axes=None, **style) -> list:
        """Every plane's region (and Neyman boundary) on its own panel of a new pyplot figure,
        or on ``axes`` (one per plane); style keywords as :meth:`PlaneResult.plot`. Returns
        one :class:`~cevns_scan.plots.Drawn` per plane."""
        from .plots import plot_planes

        return plot_planes(self.planes, self.neyman, axes=axes, **style)

    def __repr__(self) -> str:
        ana = self.analysis
        one = ", ".join(f"{k} < {v:.4g}" for k, v in self.one_dof.items())
        extra = f", Neyman on {len(self.neyman)}" if self.neyman else ""
        return (f"AnalysisResult({ana.label}, {ana.target_label}, CL {self.cl:g}, planes "
                f"{', '.join(r.name for r in self.planes)}{extra}; 1 d.o.f. {one})")

    def limits_summary(self) -> dict:
        """limits.json content (docs/design.md §5)."""
        return {
            "two_dof": {r.name: r.limits for r in self.planes},
            "one_dof": self.one_dof,
            "cl": self.cl,
            "dataset": self.analysis.label,
            "target": self.analysis.target_label,
            "physics_choices": self.analysis.model.choices,
            "units": "mu_B",
            "note": self.analysis.caveat or f"fit to dataset {self.analysis.label}",
            "two_dof_meaning": "extent of the 2-d.o.f. allowed region along each axis of the "
                               "plane (third moment zero), Wilks threshold chi2.ppf(cl, 2)",
            "one_dof_meaning": "each moment alone with the other two held at zero, Wilks "
                               "threshold chi2.ppf(cl, 1)",
            "one_dof_intervals": {k: list(v) for k, v in self.one_dof_intervals.items()},
            "two_dof_checks": {r.name: {k: c.to_dict() for k, c in (r.checks or {}).items()}
                               for r in self.planes},
            "origin_excluded": {r.name: r.origin_excluded for r in self.planes},
            "goodness_of_fit": {r.name: dict(r.gof.to_dict(), bad_fit=r.gof.bad)
                                for r in self.planes if r.gof is not None},
            "goodness_of_fit_p_value": {r.name: self._p_value_record(r) for r in self.planes
                                        if r.gof is not None},
            **({"goodness_of_fit_toys": {k: v.to_dict() for k, v in self.goodness_toys.items()}}
               if self.goodness_toys else {}),
            "rank_aware": {r.name: r.rank_aware.to_dict() for r in self.planes
                           if r.rank_aware is not None},
            "rank_aware_meaning": "extent of the region at Delta chi2 = chi2.ppf(cl, rank) "
                                  "along each axis; rank = independent moment directions the "
                                  "data constrain in the plane (from the templates). With rank "
                                  "1 the statistic follows the one-direction distribution "
                                  "(chi2_1, or 1/2 chi2_0 + 1/2 chi2_1 at mu = 0), so this "
                                  "region covers at least the CL and the 2-d.o.f. one "
                                  "over-covers",
            "best_fit": {r.name: r.best_fit.to_dict() for r in self.planes
                         if r.best_fit is not None},
            "warnings": self.warnings(),
            "edge_warnings": edge_messages(self.planes),
            "unconstrained": {f"mu_{f}": "no experiment of the fit constrains this moment "
                                         "(its templates vanish): no limit"
                              for f in self.analysis.unconstrained},
            **({"experiments": {p.label: p.summary() for p in self.experiments}}
               if self.experiments else {}),
            **({"neyman": self.neyman_summary()} if self.neyman else {}),
            **(self.expected.summary() if self.expected is not None else {}),
        }

    def _p_value_record(self, r: PlaneResult) -> dict:
        """The p-value of a plane's fit to quote, and how it was obtained."""
        toy = self.goodness_toys.get(r.name)
        if toy is not None:
            return {"p_value": toy.p_value, "p_value_err": toy.p_value_err,
                    "method": f"toys ({toy.toys}), saturated model"}
        if r.gof.asymptotic:
            return {"p_value": r.gof.p_value, "p_value_err": 0.0,
                    "method": f"asymptotic chi2({r.gof.dof})"}
        return {"p_value": None, "p_value_err": None,
                "method": f"none: {r.gof.note}; a p-value needs toys"}

    def neyman_summary(self) -> dict:
        """limits.json's Neyman section: toy-MC 2-d.o.f. limits per plane, their Monte Carlo
        errors, and for belts the interval in s."""
        def finite(x):
            return float(x) if np.isfinite(x) else None

        belts = {n.name: n.summary_dict() for n in self.neyman if hasattr(n, "summary_dict")}
        return {
            "meaning": "extent of the toy-MC Neyman region {t_obs <= t_c} along each axis; "
                       "t = -2 ln L(mu) - its minimum over mu^2 >= 0, nuisances at their "
                       "conditional fit to the data (profile construction); mc_error: half "
                       "the shift of the limit when every t_c moves by -+ its Monte Carlo error",
            "two_dof": {n.name: n.limits for n in self.neyman},
            "mc_error": {n.name: {k: finite(v) for k, v in n.mc_error.items()}
                         for n in self.neyman},
            "toys_per_point": {n.name: n.n_toys for n in self.neyman},
            "seed": {n.name: n.seed for n in self.neyman},
            "problems": {n.name: n.problems() for n in self.neyman},
            "method": {n.name: n.method for n in self.neyman},
            **({"belt": belts} if belts else {}),
        }

    def contours_summary(self) -> dict:
        """contours.json content: per plane the CL polylines in mu_B."""
        return {
            "cl": self.cl, "dof": 2, "delta_chi2": threshold(self.cl, 2), "units": "mu_B",
            "level_meaning": "each plane's 'level' is the absolute value of the statistic on its "
                             "contour: chi2_min + delta_chi2 (not a difference)",
            "dataset": self.analysis.label,
            "planes": {r.name: {
                "x": f"mu_{r.grid.flavour_x}", "y": f"mu_{r.grid.flavour_y}",
                "chi2_min": r.chi2_min, "best_fit": list(r.best), "level": r.level,
                "lines": [line.tolist() for line in r.lines]} for r in self.planes},
            **({"experiments": {p.label: {r.name: {"level": r.level,
                                                   "lines": [ln.tolist() for ln in r.lines]}
                                          for r in p.planes}
                                for p in self.experiments}} if self.experiments else {}),
            **({"expected": {name: {
                "meaning": "median expected region: the Asimov data (mu = 0, nuisances at their "
                           "fit to the data) at the same Delta chi2",
                "level": c.level, "delta_chi2": c.delta_chi2,
                "lines": [line.tolist() for line in c.lines]}
                for name, c in self.expected.contours.items()}}
               if self.expected is not None and self.expected.contours else {}),
        }

    def run_record(self, argv: list[str], timings: dict, extra: dict | None = None) -> dict:
        """run.json content: enough to reproduce the result."""
        ana = self.analysis
        datasets = [_dataset_record(e.dataset) for e in ana.experiments]
        rec = {
            "command": ["cevns-scan", *argv],
            "working_directory": str(Path.cwd()),
            "versions": package_versions(),
            "config_source": ana.config.source,
            "config": ana.config.to_dict(),
            "config_sha256": ana.config.digest(),
            "dataset": datasets[0],
            "datasets": datasets,
            "input_sha256": ana.digest(),
            "target": {"name": ana.target_label,
                        "z": sorted({z for e in ana.experiments for z in element_z(e.target)})},
            "experiments": [{"name": e.name, "kind": e.kind, "target": e.target,
                             "likelihood": e.likelihood.describe()} for e in ana.experiments],
            "likelihood": ana.likelihood.describe(),
            **ana.model.source.describe(),
            "physics_choices": ana.model.choices,
            "timings_s": timings,
            "created_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        }
        if extra:
            rec.update(extra)
        return rec

    def write(self, folder, argv: list[str] = (), *, force: bool = False, overlays=(),
              extra: dict | None = None, caveat: bool = True, figures: bool = True) -> dict:
        """Write the results folder of docs/design.md §5 under the output policy.

        Returns the limits summary. ``folder`` may be new, empty or an earlier cevns-scan
        result (with ``force``); see :mod:`cevns_scan.outputs`. ``figures=False`` writes the
        numbers only (``cevns-scan plot`` draws Figs. 2 and 3 from them later).
        """
        from .outputs import results_dir

        with results_dir(folder, force=force) as tmp:
            return self.write_files(tmp, list(argv), overlays, extra, caveat, figures)

    def write_files(self, out: Path, argv: list[str], overlays=(), extra: dict | None = None,
                    caveat: bool = True, figures: bool = True) -> dict:
        """Write every result file into the existing folder ``out`` (no policy checks)."""
        from .plots import figure2, figure3, save_figure
        from .rates import figure2_grid, figure2_tables

        ana = self.analysis
        t0 = time.perf_counter()
        for e in ana.experiments:
            e.write_outputs(out, self, figures)
        tables = figure2_tables(ana.config, figure2_grid())
        for name, cols in tables.items():
            write_csv(out / f"rates_{name}.csv", list(cols), list(cols.values()),
                      [f"Fig. 2: 8B ({ana.model.flux_model}) CEvNS rate on {name}, "
                       "events/(kg day keV_nr); total_mu_X = SM + magnetic moment with "
                       "mu_e = mu_mu = mu_tau = X mu_B"])
        for r in self.planes:
            pg = r.grid
            valley = r.valley
            valley_arrays = {} if valley is None else {
                "valley_weights": np.array(list(valley.weights.values())),
                "valley_value": np.float64(valley.value)}
            atomic_write_bytes(out / f"chi2_{pg.name}.npz", npz_bytes(
                mu_x=pg.mu_x, mu_y=pg.mu_y, chi2=r.chi2, chi2_min=np.float64(r.chi2_min),
                cl=np.float64(r.cl),
                delta_chi2=np.float64(r.delta_chi2), best_fit=np.array(r.best),
                flavours=np.array([pg.flavour_x, pg.flavour_y]),
                dataset=np.array(ana.label), rank=np.int64(r.rank), **valley_arrays))
        for ney in self.neyman:
            name, arrays = ney.npz()
            atomic_write_bytes(out / name, npz_bytes(**arrays))
        limits = self.limits_summary()
        write_json(out / "contours.json", self.contours_summary())
        write_json(out / "limits.json", limits)
        timings = dict(self.timings, tables_s=time.perf_counter() - t0)
        t1 = time.perf_counter()
        if figures:
            save_figure(figure2(tables), out, "fig2_rates")
            expected = ({n: c.lines for n, c in self.expected.contours.items()}
                        if self.expected is not None else {})
            save_figure(figure3(self.planes, f"{ana.label}, {ana.target_label}",
                                ana.caveat if caveat else "", overlays, self.neyman,
                                parts=experiment_lines(self.experiments),
                                expected=expected, physics=ana.model.choices["preset"]),
                        out, "fig3_contours")
            if self.expected is not None:
                from .plots import figure_expected

                save_figure(figure_expected(self.expected, f"{ana.label}, {ana.target_label}",
                                            ana.caveat if caveat else "",
                                            physics=ana.model.choices["preset"]), out,
                            "fig_expected_limits")
        timings["figures_s"] = time.perf_counter() - t1
        rec = self.run_record(argv, timings, extra)
        rec["overlays"] = [{"label": o.label, "plane": o.plane, "file": o.path,
                            "sha256": o.sha256} for o in overlays]
        write_json(out / "run.json", rec)
        return limits
