"""The Neyman construction of a one-direction plane as a one-dimensional belt (issue 17).

When a plane's two magnetic-moment templates are proportional (rank 1, e.g. the paper's
constant flavour probabilities), -2 ln L depends on (mu_x, mu_y) only through

    s = w_x mu_x^2 + w_y mu_y^2                                                      (B1)

(:mod:`cevns_scan.bestfit`), and so do the toys' distribution of t and its critical value:
t_c(mu) = t_c(s). The construction of :mod:`cevns_scan.neyman` then needs one dimension, not
two. The belt has P points equally spaced in sqrt(s) from 0 to the axis maximum, each with N
toys drawn at (mu_x, 0) = (sqrt(s / w_x), 0) (``SeedSequence(seed, spawn_key=(k,))`` for
point k), whose CL quantile is t_c(s_k) with its Monte Carlo error. The Neyman interval in
s is {s : t_obs(s) <= t_c(s)}, with t_obs(s) = -2 ln L(s) - its minimum evaluated exactly
(the model) and t_c linear between belt points; its upper end s_up is found by root
finding. Each axis limit is the interval mapped back to the axis,

    mu_l = sqrt(s_up / w_l),                                                         (B2)

and the Neyman region in the plane is the quarter ellipse s <= s_up. Monte Carlo error: the
shift of s_up when t_c moves by -+ its error (eq. N2), propagated by (B2):
delta mu_l = mu_l delta s / (2 s_up).

With P = 41 points and 10 000 toys each the belt needs as many toys as a 20 x 20 map with
1000, but every toy sharpens the one t_c(s) that matters, and no limit is read off the most
outlying point of a noisy 2-D boundary.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
from scipy import optimize

from .errors import ParameterError
from .neyman import MIN_TOYS, QUANTILES, critical_value, point_rng


@dataclass(frozen=True)
class BeltResult:
    """The one-dimensional Neyman belt of a one-direction plane and the limits it gives.

    Attributes
    ----------
    flavours : (str, str)
        The plane's (x, y) flavours.
    weights : dict
        ``mu_<flavour>`` -> w of (B1); ``normalisation`` says over which flavours they sum
        to one.
    mu_axis : ndarray, shape (P,)
        The belt points as mu_x on the x axis (mu_B); ``s`` = w_x mu_axis^2 (mu_B^2).
    t_obs, tcrit, tcrit_err : ndarray, shape (P,)
        The data's statistic, the toys' critical value at ``cl`` and its MC error.
    quantiles : ndarray, shape (P, len(QUANTILES))
    n_toys, seed : int
    cl : float
    s_interval : (float, float)
        The Neyman interval of s (mu_B^2); lower 0 unless the data exclude mu = 0.
    s_error : float
        Monte Carlo error of its upper end.
    limits, mc_error : dict
        ``mu_<flavour>`` -> each axis limit (B2) and its MC error (mu_B).
    touches : bool
        The interval reaches the top of the belt: the limit is a lower bound.
    wilks : PlaneResult or None
        The plane's Wilks scan (for drawing).
    """

    flavours: tuple[str, str]
    weights: dict
    normalisation: str
    mu_axis: np.ndarray
    t_obs: np.ndarray
    tcrit: np.ndarray
    tcrit_err: np.ndarray
    quantiles: np.ndarray
    n_toys: int
    seed: int
    cl: float
    s_interval: tuple[float, float]
    s_error: float
    limits: dict
    mc_error: dict
    touches: bool = False
    wilks: object = field(default=None, repr=False)
    rank = 1

    @property
    def name(self) -> str:
        return f"{self.flavours[0]}_{self.flavours[1]}"

    @property
    def s(self) -> np.ndarray:
        """The belt points in s (mu_B^2)."""
        return self.weights[f"mu_{self.flavours[0]}"] * self.mu_axis**2

    @property
    def points(self) -> int:
        return int(self.mu_axis.size)

    @property
    def quantile_levels(self) -> tuple[float, ...]:
        return QUANTILES

    @property
    def method(self) -> str:
        return (f"1-D belt in s = sum_l w_l mu_l^2, {self.points} points from 0 to "
                f"mu_{self.flavours[0]} = {self.mu_axis[-1]:.4g} mu_B")

    @property
    def label(self) -> str:
        return f"{100 * self.cl:g} % CL Neyman belt ({self.n_toys} toys/point)"

    @property
    def lines(self) -> list:
        """The region's boundary s = s_up in the plane: one quarter-ellipse polyline."""
        s_up = self.s_interval[1]
        if not np.isfinite(s_up):
            return []
        ax, ay = (math.sqrt(s_up / self.weights[f"mu_{f}"]) for f in self.flavours)
        phi = np.linspace(0.0, 0.5 * np.pi, 200)
        return [np.column_stack([ax * np.cos(phi), ay * np.sin(phi)])]

    def problems(self) -> list[str]:
        """What makes the belt's limits untrustworthy, one line each."""
        from .limits import toy_count_problem

        out = []
        few = toy_count_problem(self.n_toys, self.cl)
        if few:
            out.append(few)
        lo, hi = self.s_interval
        if not np.isfinite(hi):
            out.append("no point of the belt lies in the Neyman region")
        elif self.touches:
            out.append(f"the Neyman interval reaches the top of the belt (mu_{self.flavours[0]}"
                       f" = {self.mu_axis[-1]:.4g} mu_B), so the limits are lower bounds; "
                       "raise the axis maximum")
        if lo > 0:
            out.append(f"mu = 0 lies outside the Neyman interval: s in [{lo:.4g}, {hi:.4g}] "
                       "mu_B^2 is an interval, not an upper limit")
        return out

    def npz(self) -> tuple[str, dict]:
        """(file name, arrays) of the belt in a results folder."""
        names = [f"mu_{f}" for f in self.flavours]
        return f"belt_{self.name}.npz", dict(
            mu_axis=self.mu_axis, s=self.s, t_obs=self.t_obs, tcrit=self.tcrit,
            tcrit_err=self.tcrit_err, quantiles=self.quantiles,
            quantile_levels=np.array(QUANTILES), weights=np.array([self.weights[n]
                                                                   for n in names]),
            normalisation=np.array(self.normalisation),
            toys_per_point=np.int64(self.n_toys), seed=np.int64(self.seed),
            cl=np.float64(self.cl), s_interval=np.array(self.s_interval),
            s_error=np.float64(self.s_error),
            limits=np.array([self.limits[n] for n in names]),
            mc_error=np.array([self.mc_error[n] for n in names]),
            flavours=np.array(self.flavours))

    def summary_dict(self) -> dict:
        lo, hi = self.s_interval
        return {"points": self.points, "weights": dict(self.weights),
                "normalisation": self.normalisation, "s_limit": hi, "s_limit_err": self.s_error,
                "s_lower": lo, "effective_moment_limit": math.sqrt(hi) if hi >= 0 else None,
                "mu_axis_max": float(self.mu_axis[-1])}

    def plot(self, ax=None, **kwargs):
        """The Wilks region of the plane (when known) with the belt's boundary."""
        from .plots import draw_allowed_region, draw_neyman_contour, new_axes

        ax = ax if ax is not None else new_axes()
        drawn = draw_allowed_region(ax, self.wilks, **kwargs) if self.wilks is not None else {}
        drawn["neyman"] = draw_neyman_contour(ax, self, exponent=kwargs.get("exponent"))
        return drawn


def belt_interval(mu_axis: np.ndarray, t_obs, tcrit: np.ndarray
                  ) -> tuple[float, float, bool]:
    """(lower, upper, touches) of {t_obs(mu) <= t_c(mu)} along the belt (mu_B on the x axis).

    ``t_obs`` is a function of mu (exact) or an array at the belt points (then linear);
    ``tcrit`` is linear between the points. The upper end is the last belt point inside the
    region, refined to the crossing with the next (Brent); the lower end is 0 when the first
    point is inside, else the crossing before the first point inside. NaN when no point is.
    """
    if callable(t_obs):
        f_obs = t_obs
        nodes = np.array([f_obs(m) for m in mu_axis])
    else:
        nodes = np.asarray(t_obs, dtype=float)

        def f_obs(m):
            return float(np.interp(m, mu_axis, nodes))

    def g(m):
        return f_obs(m) - float(np.interp(m, mu_axis, tcrit))

    inside = np.flatnonzero(nodes - tcrit <= 0.0)
    if inside.size == 0:
        return float("nan"), float("nan"), False
    first, last = int(inside[0]), int(inside[-1])
    if last == mu_axis.size - 1:
        upper, touches = float(mu_axis[-1]), True
    else:
        upper = float(optimize.brentq(g, mu_axis[last], mu_axis[last + 1], xtol=1e-14 *
                                      mu_axis[-1], rtol=1e-12)) if g(mu_axis[last]) < 0 else \
            float(mu_axis[last])
        touches = False
    lower = 0.0
    if first > 0:
        lower = float(optimize.brentq(g, mu_axis[first - 1], mu_axis[first], xtol=1e-14 *
                                      mu_axis[-1], rtol=1e-12)) if g(mu_axis[first]) < 0 else \
            float(mu_axis[first])
    return lower, upper, touches


def _belt_limits(flavours, weights, mu_axis, t_obs, tcrit, err):
    """(s_interval, s_error, limits, mc_error, touches) from a belt's critical values."""
    wx = weights[f"mu_{flavours[0]}"]
    lo, hi, touches = belt_interval(mu_axis, t_obs, tcrit)
    ends = [belt_interval(mu_axis, t_obs, tcrit + sign * err)[1] for sign in (-1.0, 1.0)]
    mu_err = 0.5 * abs(ends[1] - ends[0]) if np.all(np.isfinite(err)) else float("nan")
    s_lo, s_hi = wx * lo**2, wx * hi**2
    s_err = wx * 0.5 * abs(ends[1] ** 2 - ends[0] ** 2) if np.isfinite(mu_err) else float("nan")
    limits, mc_error = {}, {}
    for f in flavours:
        name = f"mu_{f}"
        limits[name] = math.sqrt(s_hi / weights[name]) if np.isfinite(s_hi) else float("nan")
        mc_error[name] = limits[name] * mu_err / hi if hi > 0 else float("nan")
    return (s_lo, s_hi), s_err, limits, mc_error, touches


def neyman_belt(analysis, plane: str, *, points: int = 41, toys: int = 10_000, seed: int = 0,
                jobs: int | None = 1, mu_max: float | None = None, wilks=None) -> BeltResult:
    """The Neyman construction of a one-direction plane as a belt in s (B1, B2).

    Parameters
    ----------
    analysis : cevns_scan.analysis.Analysis
    plane : str
        ``'e-mu'`` etc.; its data must constrain one direction (rank 1).
    points : int
        Belt points, equally spaced in sqrt(s) from 0 to ``mu_max`` on the x axis.
    toys : int
        Pseudo-experiments per point.
    seed : int
        Point k's toys come from ``SeedSequence(seed, spawn_key=(k,))``.
    jobs : int or None
        joblib threads over the points (None or -1: all cores); the result does not depend
        on it.
    mu_max : float, optional
        Top of the belt as mu_x in mu_B (default: the analysis' axis maximum of mu_x).
    wilks : PlaneResult, optional
        The plane's Wilks scan, kept for drawing.
    """
    from joblib import Parallel, delayed

    from .config import parse_plane
    from .limits import flavour_mu, line_minimum
    from .scan import resolve_jobs

    fx, fy = parse_plane(plane, "plane")
    found = analysis.valley_weights(fx, fy)
    if found is None:
        raise ParameterError("plane", plane, "has two constrained directions (rank "
                             f"{analysis.moment_rank(fx, fy)}); the one-dimensional belt "
                             "needs one: use the 2-D Neyman map")
    if int(points) < 3:
        raise ParameterError("points", points, "must be >= 3 belt points")
    if int(toys) < MIN_TOYS:
        raise ParameterError("toys", toys, f"must be >= {MIN_TOYS} pseudo-experiments per point")
    weights, norm = found
    top = analysis.axis_maximum(fx) if mu_max is None else float(mu_max)
    if not top > 0:
        raise ParameterError("mu_max", mu_max, "must be > 0 (mu_B)")
    mu_axis = np.linspace(0.0, top, int(points))
    chi2_min = line_minimum(analysis, fx)[1]  # one direction: the global minimum

    def t_obs(m):
        return max(analysis.statistic(flavour_mu(fx, m)) - chi2_min, 0.0)

    toy_model = analysis.likelihood.toys(fx, fy)
    cl = analysis.cl

    def one(k):
        t = toy_model.statistics(mu_axis[k] ** 2, 0.0, point_rng(seed, k), int(toys))
        tc, err = critical_value(t, cl)
        return tc, err, [critical_value(t, q)[0] for q in QUANTILES]

    rows = Parallel(n_jobs=resolve_jobs(jobs), backend="threading")(
        delayed(one)(k) for k in range(mu_axis.size))
    tcrit = np.array([r[0] for r in rows])
    err = np.array([r[1] for r in rows])
    quantiles = np.array([r[2] for r in rows])
    nodes = np.array([t_obs(m) for m in mu_axis])
    s_int, s_err, limits, mc_error, touches = _belt_limits((fx, fy), weights, mu_axis, t_obs,
                                                           tcrit, err)
    return BeltResult((fx, fy), weights, norm, mu_axis, nodes, tcrit, err, quantiles,
                      int(toys), int(seed), float(cl), s_int, s_err, limits, mc_error,
                      touches, wilks)


def read_belt(arrays: dict, cl: float | None = None, wilks=None) -> BeltResult:
    """A :class:`BeltResult` from the arrays of ``belt_<plane>.npz`` (t_obs linear between
    the points), at its own CL or at one of :data:`~cevns_scan.neyman.QUANTILES`."""
    flavours = tuple(str(f) for f in arrays["flavours"])
    weights = {f"mu_{f}": float(w) for f, w in zip(flavours, arrays["weights"], strict=True)}
    stored = float(arrays["cl"])
    cl = stored if cl is None else float(cl)
    mu_axis, t_obs = arrays["mu_axis"], arrays["t_obs"]
    if math.isclose(cl, stored):
        tcrit, err = arrays["tcrit"], arrays["tcrit_err"]
    else:
        hits = [q for q, v in enumerate(QUANTILES) if math.isclose(v, cl)]
        if not hits:
            raise ParameterError("cl", cl, "has no Neyman critical values in this belt (the "
                                 f"toys stored CL {stored:g} and "
                                 f"{', '.join(f'{q:g}' for q in QUANTILES)})")
        tcrit, err = arrays["quantiles"][:, hits[0]], np.full(mu_axis.size, np.nan)
    s_int, s_err, limits, mc_error, touches = _belt_limits(flavours, weights, mu_axis, t_obs,
                                                           tcrit, err)
    return BeltResult(flavours, weights, str(arrays["normalisation"]), mu_axis, t_obs, tcrit,
                      err, arrays["quantiles"], int(arrays["toys_per_point"]),
                      int(arrays["seed"]), cl, s_int, s_err, limits, mc_error, touches, wilks)
