"""Toy Monte Carlo Neyman construction of the confidence regions (docs/design.md §3).

Wilks' theorem does not hold here: mu_l^2 >= 0 puts the best fit on a boundary, the paper's
model constrains one direction of each plane, and counting experiments have few events per
bin. At every grid point mu the construction draws N pseudo-experiments from the model at mu
with the nuisance parameters at their conditional best fit to the observed data (the profile
construction), computes for each the same statistic as for the data,

    t(mu) = -2 ln L(mu, nuisances profiled) - min over mu'^2 >= 0 of the same,      (N1)

and takes its CL quantile t_c(mu). The Neyman region is {mu : t_obs(mu) <= t_c(mu)}.

Each t_c carries a Monte Carlo error delta t_c (the binomial spread of the order statistic).
A limit read off the region moves with it; its Monte Carlo error is

    delta mu = (extent{t_obs <= t_c + delta t_c} - extent{t_obs <= t_c - delta t_c}) / 2,  (N2)

the local linearisation d(limit)/d(t_c) times delta t_c. When the plane's data constrain one
direction, :mod:`cevns_scan.belt` does the construction in one dimension instead.

Each point's toys are drawn from ``numpy.random.SeedSequence(seed, spawn_key=(index,))`` with
``index = row * n_columns + column``, so a map does not depend on workers, chunks, shards or
backends. The toy fits themselves run in compiled code (kernels/gaussian_toys.py for the pull
chi^2, kernels/poisson/ for the binned Poisson likelihood).
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass, field

import numpy as np

#: Quantiles of the toy distribution stored besides t_c at the run's CL (so that a results
#: folder can be read at these CLs without new toys).
QUANTILES = (0.68, 0.90, 0.95, 0.99)
#: The fewest pseudo-experiments per point (library and command line): a 90 % quantile of fewer
#: toys is not defined.
MIN_TOYS = 10
#: The channels of a Neyman map, in order.
CHANNELS = ("chi2", "tcrit", "tcrit_err", *(f"q{round(100 * q)}" for q in QUANTILES))


#: The largest seed: numpy's SeedSequence takes any integer >= 0, but result files store the
#: seed as a 64-bit integer.
MAX_SEED = 2 ** 63 - 1


def check_seed(seed) -> int:
    """``seed`` as an int in [0, MAX_SEED]; otherwise a ParameterError (``seed``)."""
    from .errors import ParameterError

    if isinstance(seed, bool) or not isinstance(seed, int | np.integer) or not (
            0 <= int(seed) <= MAX_SEED):
        raise ParameterError("seed", seed, "must be an integer from 0 to 2**63 - 1 "
                             f"({MAX_SEED})")
    return int(seed)


def point_rng(seed: int, index: int) -> np.random.Generator:
    """The random-number generator of grid point ``index`` (deterministic, independent)."""
    return np.random.Generator(np.random.PCG64(np.random.SeedSequence(seed,
                                                                      spawn_key=(index,))))


def critical_value(t: np.ndarray, cl: float) -> tuple[float, float]:
    """The CL quantile of toy values ``t`` and its Monte Carlo error.

    The quantile is the ceil(cl N)-th smallest value (an order statistic); its error is half
    the distance between the order statistics at cl N -+ sqrt(N cl (1 - cl)) (the binomial
    spread of how many toys fall below a fixed value).
    """
    ts = np.sort(np.asarray(t, dtype=float))
    n = ts.size
    k = min(max(math.ceil(cl * n) - 1, 0), n - 1)
    d = math.sqrt(n * cl * (1.0 - cl))
    lo = ts[min(max(math.ceil(cl * n - d) - 1, 0), n - 1)]
    hi = ts[min(max(math.ceil(cl * n + d) - 1, 0), n - 1)]
    return float(ts[k]), 0.5 * float(hi - lo)


@dataclass(frozen=True)
class NeymanPlane:
    """A :class:`~cevns_scan.experiments.PlaneStatistic` with :data:`CHANNELS` per point.

    ``observed`` is the plane statistic of the data (channel 0); ``toys`` draws and fits the
    pseudo-experiments of one point: ``toys.statistics(u0, v0, rng, n) -> t (n,)``.
    """

    observed: object
    toys: object
    n_toys: int
    seed: int
    cl: float

    channels = len(CHANNELS)

    def __post_init__(self):
        check_seed(self.seed)

    def evaluate(self, mu_x: np.ndarray, mu_y: np.ndarray, out: np.ndarray, row0: int = 0):
        """Fill ``out`` (rows ``mu_x``, starting at grid row ``row0``) with :data:`CHANNELS`.

        A stop request of the scan (:func:`cevns_scan.scan.check_stop`) ends the chunk at the
        next grid point with :class:`~cevns_scan.scan.ChunkStopped`.
        """
        from .scan import check_stop

        chi2 = np.empty((mu_x.size, mu_y.size))
        self.observed.evaluate(mu_x, mu_y, chi2)
        out[..., 0] = chi2
        for i in range(mu_x.size):
            for k in range(mu_y.size):
                check_stop()
                index = (row0 + i) * mu_y.size + k
                t = self.toys.statistics(mu_x[i] ** 2, mu_y[k] ** 2, point_rng(self.seed, index),
                                         self.n_toys)
                out[i, k, 1:3] = critical_value(t, self.cl)
                for q, cl in enumerate(QUANTILES):
                    out[i, k, 3 + q] = critical_value(t, cl)[0]


def wilks_coverage_threshold(cl: float, dof: int = 2) -> float:
    from .limits import threshold

    return threshold(cl, dof)


@dataclass(frozen=True)
class NeymanResult:
    """The Neyman region of one plane: t_c(mu) from toys against t_obs(mu) = chi2 - chi2_min.

    Attributes
    ----------
    wilks : cevns_scan.results.PlaneResult
        The same map read with Wilks' threshold (axes, chi2, global minimum).
    tcrit, tcrit_err : ndarray, shape (len(mu_x), len(mu_y))
        Critical value at ``cl`` and its Monte Carlo error.
    quantiles : ndarray, shape (len(mu_x), len(mu_y), len(QUANTILES))
        The toy distribution's :data:`QUANTILES`.
    n_toys, seed : int
    cl : float
    lines : list of ndarray
        Boundary of {t_obs <= t_c}: polylines (N, 2) in mu_B.
    limits : dict
        ``mu_<flavour>`` -> the region's extent along each axis (mu_B).
    touches : tuple of str
        Axes whose upper grid edge the region reaches.
    mc_error : dict
        ``mu_<flavour>`` -> the Monte Carlo error of each limit (mu_B): half the change of
        the extent when every t_c moves by -+ its error (N2); NaN where unknown.
    checks : dict
        ``mu_<flavour>`` -> :class:`~cevns_scan.limits.LimitCheck` (grid resolution, edge,
        for one direction the extent against the on-axis crossing).
    rank : int
        The plane's independent moment directions (0: not known).
    """

    wilks: object
    tcrit: np.ndarray
    tcrit_err: np.ndarray
    quantiles: np.ndarray
    n_toys: int
    seed: int
    cl: float
    lines: list
    limits: dict
    touches: tuple[str, ...] = ()
    mc_error: dict = field(default_factory=dict)
    checks: dict = field(default_factory=dict)
    rank: int = 0

    def __repr__(self) -> str:
        pg = self.wilks.grid
        limits = ", ".join(f"{k} < {v:.4g}" for k, v in self.limits.items())
        return (f"NeymanResult({self.name}, grid {pg.mu_x.size}x{pg.mu_y.size}, CL {self.cl:g}, "
                f"{self.n_toys} toys/point, seed {self.seed}, {limits}; Wilks "
                + ", ".join(f"{k} < {v:.4g}" for k, v in self.wilks.limits.items()) + ")")

    @property
    def name(self) -> str:
        return self.wilks.name

    @property
    def method(self) -> str:
        pg = self.wilks.grid
        return f"2-D map, {pg.mu_x.size} x {pg.mu_y.size} grid points"

    @property
    def label(self) -> str:
        """Legend text of the region's boundary."""
        return f"{100 * self.cl:g} % CL Neyman ({self.n_toys} toys/point)"

    def npz(self) -> tuple[str, dict]:
        """(file name, arrays) of the critical-value map in a results folder."""
        pg = self.wilks.grid
        return f"tcrit_{pg.name}.npz", dict(
            mu_x=pg.mu_x, mu_y=pg.mu_y, tcrit=self.tcrit, tcrit_err=self.tcrit_err,
            quantiles=self.quantiles, quantile_levels=np.array(self.quantile_levels),
            toys_per_point=np.int64(self.n_toys), seed=np.int64(self.seed),
            cl=np.float64(self.cl), t_obs=self.t_obs,
            flavours=np.array([pg.flavour_x, pg.flavour_y]))

    @property
    def quantile_levels(self) -> tuple[float, ...]:
        """The CLs of :attr:`quantiles` (:data:`QUANTILES`)."""
        return QUANTILES

    @property
    def t_obs(self) -> np.ndarray:
        """t_obs(mu) = chi2(mu) - chi2_min, the statistic (N1) of the data."""
        return self.wilks.chi2 - self.wilks.chi2_min

    def problems(self) -> list[str]:
        """What makes a Neyman limit untrustworthy (too few toys, grid resolution, edge,
        MC noise against the on-axis crossing), one line each."""
        from .limits import toy_count_problem

        few = toy_count_problem(self.n_toys, self.cl)
        return ([few] if few else []) + [f"{name} limit {chk.extent:.4g} mu_B is not "
                                         f"resolved: {p}" for name, chk in self.checks.items()
                                         for p in chk.problems]

    def plot(self, ax=None, **kwargs):
        """Wilks and Neyman regions of this plane on ``ax`` (a new pyplot figure if None);
        keyword arguments style the Wilks region (see :meth:`PlaneResult.plot
        <cevns_scan.results.PlaneResult.plot>`)."""
        from .plots import draw_allowed_region, draw_neyman_contour, new_axes

        ax = ax if ax is not None else new_axes()
        drawn = draw_allowed_region(ax, self.wilks, **kwargs)
        drawn["neyman"] = draw_neyman_contour(ax, self, exponent=kwargs.get("exponent"))
        return drawn


def read_neyman(wilks, maps: np.ndarray, n_toys: int, seed: int, map_cl: float
                ) -> NeymanResult:
    """The Neyman region at ``wilks.cl`` from the toy channels (CHANNELS[1:]) of a map.

    ``map_cl`` is the CL the toys' t_c was computed at; ``wilks.cl`` must be that or one of
    :data:`QUANTILES`.
    """
    cl = wilks.cl
    from .contours import contour_lines, extent_limits
    from .errors import ParameterError

    tcrit, err = maps[..., 0], maps[..., 1]
    quantiles = maps[..., 2:]
    if not math.isclose(cl, map_cl):
        hits = [q for q, value in enumerate(QUANTILES) if math.isclose(value, cl)]
        if not hits:
            raise ParameterError("cl", cl, "has no Neyman critical values in these maps (the "
                                 f"toys stored CL {map_cl:g} and "
                                 f"{', '.join(f'{q:g}' for q in QUANTILES)})")
        tcrit, err = quantiles[..., hits[0]], np.full(tcrit.shape, np.nan)
    from .limits import check_neyman_limit

    pg = wilks.grid
    t_obs = wilks.chi2 - wilks.chi2_min
    diff = t_obs - tcrit
    lines = contour_lines(pg.mu_x, pg.mu_y, diff, 0.0)
    lim_x, lim_y, touches = extent_limits(lines, pg.mu_x, pg.mu_y, diff, 0.0)
    names = (f"mu_{pg.flavour_x}", f"mu_{pg.flavour_y}")
    limits = dict(zip(names, (lim_x, lim_y), strict=True))
    # (N2): the extents with every t_c moved by -+ its Monte Carlo error
    shifted = []
    for sign in (-1.0, 1.0):
        d = diff - sign * err
        if np.all(np.isfinite(d)):
            shifted.append(extent_limits(contour_lines(pg.mu_x, pg.mu_y, d, 0.0), pg.mu_x,
                                         pg.mu_y, d, 0.0)[:2])
        else:
            shifted.append((float("nan"), float("nan")))
    mc_error = {n: 0.5 * abs(shifted[1][q] - shifted[0][q]) for q, n in enumerate(names)}
    rank = int(getattr(wilks, "rank", 0))
    checks = {}
    for q, (name, axis, edge) in enumerate(zip(names, (pg.mu_x, pg.mu_y), "xy", strict=True)):
        line = diff[:, 0] if q == 0 else diff[0, :]
        checks[name] = check_neyman_limit(name, limits[name], axis_region(axis, line), axis,
                                          rank, edge in touches)
    return NeymanResult(wilks, tcrit, err, quantiles, int(n_toys), int(seed), float(cl), lines,
                        limits, tuple(touches), mc_error, checks, rank)


def axis_region(axis: np.ndarray, diff: np.ndarray) -> tuple[float, float]:
    """(lower, upper) of {diff <= 0} along one grid line, linear between grid points.

    lower is 0 when the first point is inside; both are NaN when no point is; upper is the
    last point when the region reaches the end.
    """
    inside = np.flatnonzero(diff <= 0)
    if inside.size == 0:
        return float("nan"), float("nan")

    def cross(i, j):  # diff[i] <= 0 < diff[j] or the reverse: the zero between them
        return float(axis[i] + (axis[j] - axis[i]) * diff[i] / (diff[i] - diff[j]))

    first, last = int(inside[0]), int(inside[-1])
    lower = 0.0 if first == 0 else cross(first, first - 1)
    upper = float(axis[-1]) if last == axis.size - 1 else cross(last, last + 1)
    return lower, upper


@dataclass(frozen=True)
class CoveragePoint:
    """How often the Wilks and the Neyman regions cover a true point, over pseudo-experiments.

    ``wilks`` and ``neyman`` are fractions of ``n`` toys; their binomial standard errors are
    :meth:`error`. Each toy's Neyman region at the truth uses its own ``inner`` toys, drawn
    from that toy's conditional fit (as the construction does for the data).
    """

    mu_x: float
    mu_y: float
    n: int
    inner: int
    wilks: float
    neyman: float

    cl: float = 0.9

    @staticmethod
    def error(p: float, n: int) -> float:
        return math.sqrt(max(p * (1.0 - p), 1.0 / n) / n)

    @property
    def neyman_expected(self) -> float:
        """The Neyman coverage that ``inner`` toys give when t is pivotal (N3).

        t_c is the k-th smallest of ``inner`` inner toys, k = ceil(cl inner). When the outer
        toy's t and its inner toys come from one continuous distribution, t is equally likely
        to fall in any of the inner + 1 gaps, so P(t <= t_c) = k / (inner + 1) exactly: the
        bias that finite inner toys cause (-0.09 % for 1000 at 90 % CL).
        """
        k = min(max(math.ceil(self.cl * self.inner), 1), self.inner)
        return k / (self.inner + 1)

    def to_dict(self) -> dict:
        return {"mu_x": self.mu_x, "mu_y": self.mu_y, "toys": self.n, "inner_toys": self.inner,
                "wilks": self.wilks, "wilks_err": self.error(self.wilks, self.n),
                "neyman": self.neyman, "neyman_err": self.error(self.neyman, self.n),
                "neyman_expected_from_inner_toys": self.neyman_expected}


def _covers(toys, u: float, v: float, obs, aux, t_true, cl, wilks_thr, seed, p, j0, inner,
            started=None):
    """(Wilks covers, Neyman covers) for outer toys j0, j0 + 1, ... of point p.

    Stops between toys when the run that began at ``started`` is asked to stop.
    """
    from .scan import check_stop, stop_scope

    with stop_scope(started):
        return _covers_in_scope(toys, u, v, obs, aux, t_true, cl, wilks_thr, seed, p, j0, inner,
                                check_stop)


def _covers_in_scope(toys, u, v, obs, aux, t_true, cl, wilks_thr, seed, p, j0, inner, check_stop):
    out = []
    for j in range(len(t_true)):
        check_stop()
        own = toys.with_data(obs[j], aux[j])
        rng = np.random.Generator(np.random.PCG64(np.random.SeedSequence(
            seed, spawn_key=(p, j0 + j + 1))))
        tc, _ = critical_value(own.statistics(u, v, rng, inner), cl)
        out.append((t_true[j] <= wilks_thr, t_true[j] <= tc))
    return out


def coverage(analysis, plane: str, points, *, toys: int = 200, inner: int = 1000,
             seed: int = 0, jobs: int | None = 1) -> list[CoveragePoint]:
    """Coverage of the Wilks and Neyman regions at true points of a plane.

    ``points`` are (mu_x, mu_y) in mu_B. At each, ``toys`` pseudo-experiments are drawn from
    the model at the truth with the nuisances at their conditional fit to the data; a toy is
    covered by Wilks when t(truth) <= chi2.ppf(cl, 2), and by Neyman when t(truth) is below
    the CL quantile of ``inner`` toys drawn from that toy's own conditional fit.

    On SIGINT or SIGTERM (in the main thread) the threads stop at their next toy and
    :class:`~cevns_scan.errors.ScanInterrupted` is raised.
    """
    import time

    from joblib import Parallel, delayed

    from .config import parse_plane
    from .errors import ParameterError
    from .limits import check_true_point, threshold
    from .scan import interruptible, resolve_jobs

    fx, fy = parse_plane(plane, "plane")
    seed = check_seed(seed)
    for name, n in (("toys", toys), ("inner", inner)):
        if n < MIN_TOYS:
            raise ParameterError(name, n, f"must be >= {MIN_TOYS} pseudo-experiments")
    points = [check_true_point(analysis, (fx, fy), p, analysis.cl) for p in points]
    base = analysis.likelihood.toys(fx, fy)
    cl, thr = analysis.cl, threshold(analysis.cl, 2)
    jobs = resolve_jobs(jobs)
    out = []
    started = time.time()
    with interruptible("coverage", "nothing was written; rerun the same command"):
        for p, (mx, my) in enumerate(points):
            u, v = float(mx) ** 2, float(my) ** 2
            rng = np.random.Generator(np.random.PCG64(np.random.SeedSequence(
                seed, spawn_key=(p, 0))))
            obs, aux, t_true = base.pseudo_data(u, v, rng, toys)
            cuts = np.linspace(0, toys, min(toys, 8 * jobs) + 1).astype(int)
            parts = Parallel(n_jobs=jobs, backend="threading")(
                delayed(_covers)(base, u, v, obs[a:b], aux[a:b], t_true[a:b], cl, thr, seed, p,
                                 a, inner, started) for a, b in itertools.pairwise(cuts) if b > a)
            flags = np.array([f for part in parts for f in part], dtype=bool)
            out.append(CoveragePoint(float(mx), float(my), toys, inner,
                                     float(flags[:, 0].mean()), float(flags[:, 1].mean()),
                                     float(cl)))
    return out
