"""Best fits that mean something: the fitted nuisances with their pulls, and the valley of a
one-direction plane.

When a plane's two magnetic-moment templates are proportional (rank 1, e.g. the paper's
constant flavour probabilities), -2 ln L depends on (mu_x, mu_y) only through

    s = w_x mu_x^2 + w_y mu_y^2,                                                    (V1)

so the minimum is a curve (a quarter ellipse, or the origin when s_hat = 0), not a point.
The weights come from the templates: w_y / w_x is the ratio of the two moments' signal
templates. They are normalised to sum to one over e, mu and tau when all three flavours
share the shape (then w_l = P_el for constant probabilities and sqrt(s) is the solar
effective moment), else over the plane's two flavours.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from .config import FLAVOURS

#: A nuisance this far below its physical minimum (in units of its error, or absolutely when
#: the error is unknown) makes the fit unphysical.
UNPHYSICAL_TOL = 1e-9


def _template_ratio(lik, a: str, b: str) -> float:
    """w_b / w_a from the likelihood's moment templates (NaN when it does not give them)."""
    columns = getattr(lik, "moment_columns", None)
    cols = columns(a, b) if columns is not None else None
    if cols is None:
        return float("nan")
    ca, cb = np.asarray(cols[:, 0], dtype=float), np.asarray(cols[:, 1], dtype=float)
    norm = float(ca @ ca)
    return float(ca @ cb) / norm if norm > 0 else float("nan")


def _crossing_ratio(analysis, a: str, b: str) -> float:
    """w_b / w_a from where the statistic rises by 1 on each axis: w_a c_a^2 = w_b c_b^2."""
    from .limits import axis_crossing

    ca, cb = axis_crossing(analysis, a, 1.0), axis_crossing(analysis, b, 1.0)
    return (ca / cb) ** 2 if np.isfinite(ca) and np.isfinite(cb) and cb > 0 else float("nan")


def _ratio(analysis, a: str, b: str) -> float:
    r = _template_ratio(analysis.likelihood, a, b)
    return r if np.isfinite(r) else _crossing_ratio(analysis, a, b)


@dataclass(frozen=True)
class Valley:
    """The constrained combination (V1) of a one-direction plane and its best-fit value.

    ``weights``: ``mu_<flavour>`` -> w (dimensionless); ``value``: s_hat in mu_B^2;
    ``normalisation``: over which flavours the weights sum to one.
    """

    weights: dict
    value: float
    normalisation: str

    @property
    def effective_moment(self) -> float:
        """sqrt(s_hat) in mu_B (the solar effective moment for constant probabilities)."""
        return math.sqrt(max(self.value, 0.0))

    def axis_value(self, name: str, s: float | None = None) -> float:
        """Where the curve s = const (default s_hat) meets the axis of ``name`` (mu_B)."""
        s = self.value if s is None else s
        return math.sqrt(max(s, 0.0) / self.weights[name])

    def curve(self, s: float | None = None, n: int = 200) -> np.ndarray:
        """(n, 2) points (mu_x, mu_y) of w_x mu_x^2 + w_y mu_y^2 = s (default s_hat)."""
        ax, ay = (self.axis_value(k, s) for k in self.weights)
        phi = np.linspace(0.0, 0.5 * np.pi, n)
        return np.column_stack([ax * np.cos(phi), ay * np.sin(phi)])

    def expression(self) -> str:
        return " + ".join(f"{w:.4g} {k}^2" for k, w in self.weights.items())

    def to_dict(self) -> dict:
        return {"expression": "sum_l w_l mu_l^2", "weights": dict(self.weights),
                "value": self.value, "units": "mu_B^2",
                "effective_moment": self.effective_moment,
                "normalisation": self.normalisation}


def valley_weights(analysis, flavour_x: str, flavour_y: str):
    """(weights, normalisation) of a one-direction plane (V1), or None when it has two.

    ``weights`` maps ``mu_<flavour>`` to w; the ratio comes from the likelihood's
    ``moment_columns`` (or, without them, from the on-axis crossings of the statistic).
    """
    if analysis.moment_rank(flavour_x, flavour_y) != 1:
        return None
    r = _ratio(analysis, flavour_x, flavour_y)
    if not (np.isfinite(r) and r > 0):
        return None
    third = next(f for f in FLAVOURS if f not in (flavour_x, flavour_y))
    r3 = _ratio(analysis, flavour_x, third) if analysis.moment_rank(flavour_x, third) == 1 \
        else float("nan")
    if np.isfinite(r3) and r3 >= 0:
        total, norm = 1.0 + r + r3, "the weights of e, mu and tau sum to 1"
    else:
        total, norm = 1.0 + r, "the weights of the plane's two flavours sum to 1"
    return {f"mu_{flavour_x}": 1.0 / total, f"mu_{flavour_y}": r / total}, norm


@dataclass(frozen=True)
class BestFit:
    """The best fit of one plane: a point (two directions) or a valley (one), and the
    nuisances there (:class:`~cevns_scan.experiments.protocols.NuisanceFit` by name).

    ``point`` is (mu_x, mu_y) in mu_B where the nuisances were evaluated; in a one-direction
    plane it is the valley's point on the x axis, one of infinitely many.
    """

    plane: str
    rank: int
    point: tuple[float, float]
    flavours: tuple[str, str]
    valley: Valley | None = None
    nuisances: dict = field(default_factory=dict)
    available: bool = True

    def problems(self) -> list[str]:
        """Unphysical nuisances (below their physical minimum), one line each."""
        out = []
        for name, n in self.nuisances.items():
            tol = UNPHYSICAL_TOL * (abs(n.error) if np.isfinite(n.error) else 1.0)
            if n.value < n.lower - tol:
                unit = f" {n.unit}" if n.unit else ""
                out.append(f"the best fit has {name} = {n.value:.4g}{unit}, below its physical "
                           f"minimum {n.lower:.4g}: the fit is unphysical, so its limits mean "
                           "little (check the data's errors and the background model)")
        return out

    def text(self) -> str:
        """One line for the summary."""
        if self.valley is not None:
            v = self.valley
            where = (f"a valley, not a point: {v.expression()} = {v.value:.4g} mu_B^2"
                     + (" (mu = 0)" if v.value <= 0 else
                        f" (effective moment {v.effective_moment:.4g} mu_B)"))
        else:
            where = (f"mu_{self.flavours[0]} = {self.point[0]:.4g}, "
                     f"mu_{self.flavours[1]} = {self.point[1]:.4g} mu_B")
        parts = []
        for name, n in self.nuisances.items():
            if np.isfinite(n.error) and n.error > 0:  # the value to the error's precision
                d = max(0, 1 - math.floor(math.log10(n.error)))
                text = f"{name} = {round(n.value, d) + 0.0:.{d}f} +- {n.error:.{d}f}"
            else:
                text = f"{name} = {n.value:.4g}"
            if n.unit:
                text += f" {n.unit}"
            if n.constrained:
                text += f" (pull {round(n.pull, 2) + 0.0:+.2f})"
            parts.append(text)
        nuis = "; ".join(parts) if parts else (
            "the likelihood does not report its nuisances" if not self.available else "none")
        return f"{where}; nuisances: {nuis}"

    def to_dict(self) -> dict:
        def finite(x):
            return float(x) if np.isfinite(x) else None

        n = self.nuisances
        out = {"rank": self.rank,
               "combination": self.valley.to_dict() if self.valley is not None else None,
               "point": None if self.valley is not None else
               {f"mu_{self.flavours[0]}": self.point[0], f"mu_{self.flavours[1]}": self.point[1]},
               "nuisances_at": {f"mu_{self.flavours[0]}": self.point[0],
                                f"mu_{self.flavours[1]}": self.point[1]},
               "nuisances": {k: v.value for k, v in n.items()},
               "pulls": {k: finite(v.pull) for k, v in n.items()},
               "uncertainties": {k: finite(v.error) for k, v in n.items()},
               "centres": {k: finite(v.centre) for k, v in n.items() if v.constrained},
               "sigmas": {k: v.sigma for k, v in n.items() if v.constrained},
               "units": {k: v.unit for k, v in n.items() if v.unit},
               "unphysical": self.problems()}
        if not self.available:
            out["note"] = "the likelihood does not report its nuisance parameters"
        return out


def best_fit(analysis, pg, best: tuple[float, float]) -> BestFit:
    """The best fit of plane ``pg`` whose global minimum is at ``best`` (mu_B).

    One direction: s_hat from the exact minimum along the x axis (the valley meets it), the
    nuisances there. Two: the nuisances at ``best``. Uncertainties of the nuisances are at
    fixed moments (the likelihood's ``nuisances_at``).
    """
    from .limits import flavour_mu, line_minimum

    fx, fy = pg.flavour_x, pg.flavour_y
    found = valley_weights(analysis, fx, fy)
    if found is not None:
        weights, norm = found
        mu_x, _ = line_minimum(analysis, fx)
        valley = Valley(weights, weights[f"mu_{fx}"] * mu_x**2, norm)
        point, mu = (mu_x, 0.0), flavour_mu(fx, mu_x)
        rank = 1
    else:
        valley, point, mu = None, (float(best[0]), float(best[1])), pg.mu_vector(*best)
        rank = analysis.moment_rank(fx, fy)
    at = getattr(analysis.likelihood, "nuisances_at", None)
    nuisances = at(mu) if at is not None else {}
    return BestFit(pg.name, rank, (float(point[0]), float(point[1])), (fx, fy), valley,
                   nuisances, at is not None)
