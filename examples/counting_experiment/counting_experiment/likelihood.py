"""The likelihood of one counting bin: Poisson with a Gaussian-constrained background.

With n observed events, signal s(mu) = S + sum_l mu_l^2 M_l (SM plus magnetic moment, eq. C1
of :mod:`.counts`) and a background b measured as b0 +- sigma,

    -2 ln L(mu, b) = 2 (lam - n + n ln(n / lam)) + ((b - b0) / sigma)^2,   lam = s + b,   (C2)

the Baker-Cousins form (0 at lam = n), so that -2 ln L is chi^2-like. At fixed mu the
background is profiled in closed form: d/db = 0 is the quadratic

    b^2 + (s - b0 + sigma^2) b + sigma^2 (s - n) - b0 s = 0,                         (C3)

whose larger root is the minimum on lam > 0 (C2 is convex in b), clipped at b >= 0. A fixed
background (``[counting] background = "fixed"``) is sigma = 0: b = b0.

Every function works on NumPy arrays (a whole plane, or many toys, in one call).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
from scipy.special import xlogy

from cevns_scan.config import FLAVOURS
from cevns_scan.errors import InputError


def poisson_deviance(lam, n):
    """2 (lam - n + n ln(n / lam)): the Baker-Cousins Poisson term of (C2) (0 at lam = n).

    Mathematically >= 0; rounding below zero near lam = n is clipped.
    """
    lam = np.asarray(lam, dtype=float)
    return np.maximum(2.0 * (lam - n + xlogy(n, n / lam)), 0.0)


def profiled_background(s, n, b0, sigma):
    """The background b >= 0 minimising (C2) at signal ``s``: the larger root of (C3).

    Written without cancellation: -2 c0 / (c1 + sqrt(disc)) when c1 > 0.
    """
    s, n, b0 = (np.asarray(x, dtype=float) for x in (s, n, b0))
    if sigma == 0:
        return np.broadcast_to(b0, np.broadcast_shapes(s.shape, n.shape, b0.shape)).copy()
    v = sigma * sigma
    c1 = s - b0 + v
    c0 = v * (s - n) - b0 * s
    root = np.sqrt(np.maximum(c1 * c1 - 4.0 * c0, 0.0))
    with np.errstate(divide="ignore", invalid="ignore"):
        b = np.where(c1 > 0, -2.0 * c0 / (c1 + root), 0.5 * (root - c1))
    return np.maximum(b, 0.0)


def profiled_statistic(s, n, b0, sigma):
    """(C2) at signal ``s`` with the background profiled (C3)."""
    b = profiled_background(s, n, b0, sigma)
    out = poisson_deviance(np.asarray(s) + b, n)
    if sigma > 0:
        out = out + ((b - b0) / sigma) ** 2
    return out


def minimum_over_signal(s_min, n, b0, sigma):
    """min of (C2) over s >= ``s_min`` and b >= 0 (the global fit of a toy; mu^2 >= 0).

    (C2) is convex in (s, b): its free minimum lam = n, b = b0 (value 0) when that point is
    allowed, else the smaller of the minima on the two edges s = s_min (b profiled) and
    b = 0 (lam = max(n, s_min)).
    """
    n, b0 = np.asarray(n, dtype=float), np.asarray(b0, dtype=float)
    if sigma == 0:
        return poisson_deviance(np.maximum(n, s_min + b0), n)
    edge_s = profiled_statistic(s_min, n, b0, sigma)
    edge_b = poisson_deviance(np.maximum(n, s_min), n) + (b0 / sigma) ** 2
    inside = (b0 >= 0) & (n - b0 >= s_min)
    return np.where(inside, 0.0, np.minimum(edge_s, edge_b))


@dataclass(frozen=True)
class CountingPlane:
    """The :class:`~cevns_scan.experiments.protocols.PlaneStatistic` of (C2) on a plane:
    s = sm + mx mu_x^2 + my mu_y^2 (events; mx, my per mu_B^2)."""

    sm: float
    mx: float
    my: float
    observed: float
    background: float
    sigma: float

    def evaluate(self, mu_x: np.ndarray, mu_y: np.ndarray, out: np.ndarray) -> None:
        s = self.sm + self.mx * mu_x[:, None] ** 2 + self.my * mu_y[None, :] ** 2
        out[...] = profiled_statistic(s, self.observed, self.background, self.sigma)


@dataclass(frozen=True)
class CountingToys:
    """Pseudo-experiments of (C2) at a tested point (the profile construction).

    At (u0, v0) = (mu_x^2, mu_y^2) the background is fitted to the data (C3); a toy counts
    n' ~ Poisson(s0 + b_hat) and measures its background b0' ~ Normal(b_hat, sigma); its
    t = (C2)(s0; n', b0') - min over s >= sm (:func:`minimum_over_signal`), b profiled.
    """

    plane: CountingPlane

    def _draw(self, u0: float, v0: float, rng: np.random.Generator, n: int):
        p = self.plane
        s0 = p.sm + p.mx * u0 + p.my * v0
        b_hat = float(profiled_background(s0, p.observed, p.background, p.sigma))
        counts = rng.poisson(s0 + b_hat, n).astype(float)
        centres = (b_hat + p.sigma * rng.standard_normal(n) if p.sigma > 0
                   else np.full(n, p.background))
        t = (profiled_statistic(s0, counts, centres, p.sigma)
             - minimum_over_signal(p.sm, counts, centres, p.sigma))
        return counts, centres, np.maximum(t, 0.0)

    def statistics(self, u0: float, v0: float, rng: np.random.Generator, n: int) -> np.ndarray:
        """t of ``n`` toys at (u0, v0) in mu_B^2."""
        return self._draw(u0, v0, rng, n)[2]

    def pseudo_data(self, u0: float, v0: float, rng: np.random.Generator, n: int):
        """``n`` pseudo-experiments: (counts (n, 1), background centres (n, 1), t (n,))."""
        counts, centres, t = self._draw(u0, v0, rng, n)
        return counts[:, None], centres[:, None], t

    def with_data(self, observation, auxiliary) -> CountingToys:
        """The same model with one pseudo-experiment (count, background centre) as the data."""
        return CountingToys(replace(self.plane, observed=float(np.ravel(observation)[0]),
                                    background=float(np.ravel(auxiliary)[0])))


@dataclass(frozen=True)
class CountingLikelihood:
    """The :class:`~cevns_scan.experiments.protocols.Likelihood` of one counting bin (C2).

    ``sm`` SM events and ``mm`` (3,) magnetic-moment events per mu_B^2 in the window;
    ``observed`` events; ``background`` +- ``sigma`` (0: fixed) background events.
    """

    sm: float
    mm: np.ndarray
    observed: int
    background: float
    sigma: float

    #: One bin: the count is the data point; the background is constrained, not free.
    n_data = 1
    n_unconstrained = 0
    #: No goodness of fit: one count and one signal direction leave no degree of freedom.
    gof_note = ("counting window: one bin whose count the signal can always match, so it has "
                "no goodness of fit of its own")
    #: The 8B flux is fixed at the model's value here, so there is nothing to share.
    shared = ()

    def _m(self, flavour: str) -> float:
        return float(self.mm[FLAVOURS.index(flavour)])

    def plane(self, flavour_x: str, flavour_y: str) -> CountingPlane:
        return CountingPlane(self.sm, self._m(flavour_x), self._m(flavour_y),
                             float(self.observed), self.background, self.sigma)

    def toys(self, flavour_x: str, flavour_y: str) -> CountingToys:
        return CountingToys(self.plane(flavour_x, flavour_y))

    def statistic(self, mu) -> float:
        """(C2) at (mu_e, mu_mu, mu_tau) in mu_B, the background profiled."""
        s = self.sm + float(self.mm @ (np.asarray(mu, dtype=float) ** 2))
        return float(profiled_statistic(s, float(self.observed), self.background, self.sigma))

    def mu_scale(self, flavour: str) -> float:
        """mu (mu_B) whose signal is one standard deviation of the count and background."""
        m = self._m(flavour)
        if not m > 0:
            raise InputError(f"the window gives no magnetic-moment events of flavour "
                             f"{flavour}; no limit on mu_{flavour}")
        return float(np.sqrt(np.sqrt(max(self.observed, 1) + self.sigma**2) / m))

    def moment_rank(self, flavour_x: str, flavour_y: str) -> int:
        """1: one count sees only mx mu_x^2 + my mu_y^2."""
        return 1

    def moment_columns(self, flavour_x: str, flavour_y: str) -> np.ndarray:
        """(1, 2): the two moments' events in the bin (for the rank of joint fits)."""
        return np.array([[self._m(flavour_x), self._m(flavour_y)]])

    def describe(self) -> dict:
        return {"likelihood": "Poisson count in one window with a Gaussian-constrained "
                              "background (Baker-Cousins), background profiled in closed form"
                              if self.sigma > 0 else
                              "Poisson count in one window, background fixed",
                "observed": int(self.observed), "background": self.background,
                "background_sigma": self.sigma, "expected_sm": self.sm,
                "mm_per_mu_b2": dict(zip(FLAVOURS, map(float, self.mm), strict=True)),
                "flux_8B": "fixed at the model's value (no flux uncertainty; not shared)"}
