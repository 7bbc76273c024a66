"""Binned Poisson likelihoods with constrained nuisances, profiled in compiled code.

The pieces every counting experiment shares (XENONnT today, COHERENT next): the plane
statistic and the toys of a :class:`~cevns_scan.kernels.poisson.PoissonModel`, and
:class:`BinnedPoisson`, the :class:`~cevns_scan.experiments.protocols.Likelihood` methods
written once on top of a subclass's model arrays.

The kernel's parameters are ``[r_0 .. r_{P-1}, s_0, s_1, u, v]``: rate multipliers, two
morphing shape parameters and the squared magnetic moments u = (mu_x / scale)^2,
v = (mu_y / scale)^2 (``scale`` in mu_B makes them of order one). Expected counts

    lambda_b = sum_k c_k(u, v) prod_{m in mult[k]} r_m T_k(s_0, s_1)_b,        (P1)

and -2 ln L is the Baker-Cousins deviance plus Gaussian constraints (kernels/poisson).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import InputError
from .parts import Parts


@dataclass(frozen=True)
class PoissonPlane:
    """The :class:`~cevns_scan.experiments.protocols.PlaneStatistic` of a binned Poisson model.

    ``scale`` (mu_B) makes the kernel's u, v of order one: u = (mu_x / scale)^2.
    """

    model: object  # kernels.poisson.PoissonModel
    theta0: np.ndarray
    free: np.ndarray
    scale: float

    def evaluate(self, mu_x: np.ndarray, mu_y: np.ndarray, out: np.ndarray) -> None:
        """-2 ln L (deviance + constraints) profiled at every (mu_x[i], mu_y[k]).

        Warm starts along each row (:func:`~cevns_scan.kernels.poisson.profile_plane`); a
        point whose warm start did not converge is profiled again from ``theta0``.
        """
        from ..kernels.poisson import CONVERGED, profile, profile_plane

        theta = np.empty((mu_x.size, mu_y.size, self.theta0.size))
        info = np.empty((mu_x.size, mu_y.size, 2), dtype=np.int64)
        ux = np.ascontiguousarray(mu_x / self.scale)
        vy = np.ascontiguousarray(mu_y / self.scale)
        profile_plane(ux, vy, self.theta0, self.free, self.model, out, theta, info)
        for i, k in np.argwhere(info[..., 1] != CONVERGED):
            start = self.theta0.copy()
            start[-2], start[-1] = ux[i] ** 2, vy[k] ** 2
            d, _, _, status = profile(start, self.free, self.model)
            if status == CONVERGED or d < out[i, k]:
                out[i, k] = d


@dataclass(frozen=True)
class PenalisedPlane:
    """A Poisson plane with an external quadratic penalty q0 + q1 f + q2 f^2 on parameter
    ``index`` whose coefficients are maps of other likelihoods (a shared parameter).

    ``penalties`` are plane statistics of the other likelihood at f = 0, 1, 2; their values
    at a point give the exact quadratic in f (:func:`quadratic_in_flux`).
    """

    penalties: tuple
    model: object  # kernels.poisson.PoissonModel with pen_index set
    theta0: np.ndarray
    free: np.ndarray
    scale: float
    i_u: int

    def evaluate(self, mu_x: np.ndarray, mu_y: np.ndarray, out: np.ndarray) -> None:
        from ..kernels.poisson import CONVERGED, profile

        c = []
        for g in self.penalties:
            m = np.empty((mu_x.size, mu_y.size))
            g.evaluate(mu_x, mu_y, m)
            c.append(m)
        q0, q1, q2 = quadratic_in_flux(*c)
        i_u, i_v = self.i_u, self.i_u + 1
        for i in range(mu_x.size):
            theta = self.theta0.copy()
            for k in range(mu_y.size):
                theta[i_u] = (mu_x[i] / self.scale) ** 2
                theta[i_v] = (mu_y[k] / self.scale) ** 2
                model = self.model._replace(pen_q=np.array([q0[i, k], q1[i, k], q2[i, k]]))
                d, best, _, status = profile(theta, self.free, model)
                out[i, k] = d
                theta = best if status == CONVERGED else self.theta0.copy()


def quadratic_in_flux(c0, c1, c2):
    """(q0, q1, q2) of the parabola through (0, c0), (1, c1), (2, c2) (exact for a quadratic)."""
    return c0, (-3.0 * c0 + 4.0 * c1 - c2) / 2.0, (c0 - 2.0 * c1 + c2) / 2.0


@dataclass(frozen=True)
class PoissonToys:
    """Pseudo-experiments of a binned Poisson likelihood at one point (profile construction).

    The nuisances are fitted to the data at the tested (u0, v0); toys draw Poisson counts
    from the expectation there and fluctuate the auxiliary measurements (the constraint
    centres of every constrained parameter) around the fitted values.
    """

    model: object  # kernels.poisson.PoissonModel of the data
    theta0: np.ndarray
    free: np.ndarray
    scale: float
    v_to_u: float = -1.0  # >= 0: the v templates are v_to_u times the u ones (one direction)

    @property
    def _iu(self) -> int:
        return self.theta0.size - 2

    def conditional(self, u0: float, v0: float) -> np.ndarray:
        """The nuisances' best fit to the data at (u0, v0) = (mu_x^2, mu_y^2) in mu_B^2."""
        from ..kernels.poisson import profile

        theta = self.theta0.copy()
        theta[self._iu], theta[self._iu + 1] = u0 / self.scale**2, v0 / self.scale**2
        return profile(theta, self.free, self.model)[1]

    def draw(self, theta: np.ndarray, rng: np.random.Generator, n: int):
        """Counts (n, B) and constraint centres (n, P + 4) of ``n`` toys around ``theta``."""
        from ..kernels.poisson_toys import expected_counts

        lam = expected_counts(self.model, theta)
        counts = rng.poisson(lam, size=(n, lam.size)).astype(float)
        sigma = self.model.sigma
        constrained = np.flatnonzero((sigma > 0) & np.isfinite(sigma))
        centres = np.repeat(self.model.centre[None, :], n, axis=0)
        z = rng.standard_normal((n, constrained.size))
        centres[:, constrained] = theta[constrained] + sigma[constrained] * z
        return counts, centres

    def _fit(self, theta, counts, centres) -> np.ndarray:
        from ..kernels.poisson_toys import toy_statistics

        out = np.empty(counts.shape[0])
        toy_statistics(self.model, theta, self.free, counts, centres, self.v_to_u, out)
        return out

    def statistics(self, u0: float, v0: float, rng: np.random.Generator, n: int) -> np.ndarray:
        """t of ``n`` toys at (u0, v0) = (mu_x^2, mu_y^2) in mu_B^2."""
        theta = self.conditional(u0, v0)
        return self._fit(theta, *self.draw(theta, rng, n))

    def pseudo_data(self, u0: float, v0: float, rng: np.random.Generator, n: int):
        """``n`` pseudo-experiments as data: (counts, centres, t)."""
        theta = self.conditional(u0, v0)
        counts, centres = self.draw(theta, rng, n)
        return counts, centres, self._fit(theta, counts, centres)

    def draw_data(self, u0: float, v0: float, rng: np.random.Generator, n: int):
        """``n`` pseudo-experiments as data, (counts, centres), without their statistics
        (the draws of :meth:`pseudo_data` for the same ``rng``)."""
        return self.draw(self.conditional(u0, v0), rng, n)

    def asimov(self, u0: float, v0: float):
        """The expected data at (u0, v0): (counts lambda_b, centres), the nuisances at their
        conditional fit to the data and every constrained centre at its fitted value."""
        from ..kernels.poisson_toys import expected_counts

        theta = self.conditional(u0, v0)
        sigma = self.model.sigma
        constrained = np.flatnonzero((sigma > 0) & np.isfinite(sigma))
        centres = np.array(self.model.centre, dtype=float)
        centres[constrained] = theta[constrained]
        return expected_counts(self.model, theta), centres

    def data_plane(self) -> PoissonPlane:
        """-2 ln L of these toys' own data on the plane (nuisances profiled)."""
        return PoissonPlane(self.model, self.theta0, self.free, self.scale)

    def minima(self, u0: float, v0: float, rng: np.random.Generator, n: int) -> np.ndarray:
        """-2 ln L minimised over u, v >= 0 and the nuisances, for ``n`` toys drawn at
        (u0, v0) as :meth:`statistics` draws them (the goodness-of-fit statistic)."""
        from ..kernels.poisson import global_fit, profile
        from ..kernels.poisson_toys import _global_1d

        theta = self.conditional(u0, v0)
        counts, centres = self.draw(theta, rng, n)
        out = np.empty(n)
        for k in range(n):
            toy = self.model._replace(n_obs=np.ascontiguousarray(counts[k]),
                                      centre=np.ascontiguousarray(centres[k]))
            d0, start, _, _ = profile(theta, self.free, toy)
            if self.v_to_u >= 0.0:
                d1 = _global_1d(start, self.free, toy, self.v_to_u)[0]
            else:
                d1 = global_fit(start, self.free, toy)[0]
            out[k] = min(d0, d1)
        return out

    def with_data(self, counts: np.ndarray, centres: np.ndarray) -> PoissonToys:
        """The same model with a pseudo-experiment as the data."""
        return PoissonToys(self.model._replace(n_obs=np.ascontiguousarray(counts),
                                               centre=np.ascontiguousarray(centres)),
                           self.theta0, self.free, self.scale, self.v_to_u)


def one_direction_ratio(x: np.ndarray, y: np.ndarray) -> float:
    """r with y = r x exactly (to rounding), or -1 when x and y are not proportional."""
    sx, sy = float(x.sum()), float(y.sum())
    if not sx > 0:
        return -1.0
    r = sy / sx
    return r if np.max(np.abs(y - r * x)) <= 1e-12 * max(np.max(np.abs(y)), 1e-300) else -1.0


class BinnedPoisson:
    """The Likelihood methods of a binned Poisson model, written once.

    A subclass (a frozen dataclass) provides

    * ``parameters``: names of the kernel parameters, ``(*rates, s0, s1, "u", "v")``;
    * ``scale``: mu_B of the kernel's unit u, v;
    * ``kernel_model(mx, my, n_obs=None, centre=None, **options)``: the
      :class:`~cevns_scan.kernels.poisson.PoissonModel` with magnetic-moment templates
      ``mx``, ``my`` per unit u and v;
    * ``start(**options)``: (theta, free) of a profile (u, v fixed);
    * ``mm_all()``: the magnetic-moment templates of (e, mu, tau) per unit u, in the layout
      ``kernel_model`` takes, stacked on a last axis of 3;
    * ``shared``: the names of shareable parameters (each one of ``parameters``);
    * ``n_data``, ``n_unconstrained``, ``gof_note``, ``mu_scale``, ``describe``.

    ``options`` are the subclass's model variants (e.g. XENONnT's free 8B flux).
    """

    def parameter_index(self, name: str) -> int:
        """Index of the kernel parameter ``name``."""
        try:
            return self.parameters.index(name)
        except ValueError:
            raise InputError(f"the likelihood has no parameter {name!r} (it has "
                             f"{', '.join(self.parameters)})") from None

    @property
    def i_u(self) -> int:
        return len(self.parameters) - 2

    def _mm(self, flavour: str) -> np.ndarray:
        from ..config import FLAVOURS

        return np.ascontiguousarray(self.mm_all()[..., FLAVOURS.index(flavour)])

    def plane(self, flavour_x: str, flavour_y: str) -> PoissonPlane:
        """The compiled statistic of the (mu_x, mu_y) plane (third moment zero)."""
        theta, free = self.start()
        return PoissonPlane(self.kernel_model(self._mm(flavour_x), self._mm(flavour_y)), theta,
                            free, self.scale)

    def toys(self, flavour_x: str, flavour_y: str) -> PoissonToys:
        """Pseudo-experiments of the (mu_x, mu_y) plane (third moment zero)."""
        theta, free = self.start()
        mx, my = self._mm(flavour_x), self._mm(flavour_y)
        return PoissonToys(self.kernel_model(mx, my), theta, free, self.scale,
                           one_direction_ratio(mx, my))

    def profile_at(self, mu, fixed: dict | None = None, penalty=None, **options):
        """(D, theta) profiled at (mu_e, mu_mu, mu_tau) mu_B; ``fixed`` pins parameters.

        ``penalty`` = (name, (q0, q1, q2)) adds q0 + q1 f + q2 f^2 on the parameter ``name``
        (another likelihood sharing it, :mod:`cevns_scan.experiments.joint`).
        """
        from ..kernels.poisson import profile

        mu2 = (np.asarray(mu, dtype=float) / self.scale) ** 2
        mm = self.mm_all()
        model = self.kernel_model(mm @ mu2, np.zeros_like(mm[..., 0]), **options)
        if penalty is not None:
            name, q = penalty
            model = model._replace(pen_index=self.parameter_index(name),
                                   pen_q=np.asarray(q, dtype=float))
        theta, free = self.start(**options)
        theta[self.i_u] = 1.0
        for name, value in (fixed or {}).items():
            i = self.parameter_index(name)
            theta[i] = value
            free[i] = False
        d, best, _, _ = profile(theta, free, model)
        return float(d), best

    def statistic(self, mu) -> float:
        """-2 ln L profiled over the nuisances at (mu_e, mu_mu, mu_tau) in mu_B."""
        return self.profile_at(mu)[0]

    def nuisances_at(self, mu, **options) -> dict:
        """The profiled nuisances at (mu_e, mu_mu, mu_tau) mu_B, by name (``parameters``).

        Each is a :class:`~cevns_scan.experiments.protocols.NuisanceFit` with its Gaussian
        constraint (sigma 0: unconstrained) and its lower bound; parameters held fixed
        (e.g. a rate fixed at the model) are left out. ``error`` is NaN: the bounded Newton
        profile does not report a covariance.
        """
        from .protocols import NuisanceFit

        _, best = self.profile_at(mu, **options)
        _, free = self.start(**options)
        mm = self.mm_all()
        model = self.kernel_model(mm[..., 0], mm[..., 0], **options)  # its constraints only
        out = {}
        for i, name in enumerate(self.parameters[:self.i_u]):
            if not free[i]:
                continue
            sigma = float(model.sigma[i])
            sigma = sigma if 0.0 < sigma < np.inf else 0.0
            out[name] = NuisanceFit(float(best[i]), float(model.centre[i]), sigma,
                                    lower=float(model.lo[i]))
        return out

    def moment_rank(self, flavour_x: str, flavour_y: str) -> int:
        """Independent signal directions of the two moments' templates (1 or 2)."""
        cols = np.stack([self._mm(f).ravel() for f in (flavour_x, flavour_y)], axis=1)
        return int(np.linalg.matrix_rank(cols, tol=1e-9 * np.abs(cols).max()))

    def constrains(self, flavour: str) -> bool:
        """True when the moment of ``flavour`` has a signal in some bin."""
        return bool(np.any(self._mm(flavour) != 0))

    def merge(self, other, names: tuple[str, ...]):
        """One compiled model of this and ``other`` with the parameters ``names`` shared
        (:class:`MergedPoisson`), or None when the two cannot be merged."""
        return MergedPoisson.of(self, other, names)

    def moment_columns(self, flavour_x: str, flavour_y: str) -> np.ndarray:
        """(n, 2): the two moments' templates over every bin (for the rank of joint fits)."""
        return np.stack([self._mm(f).ravel() for f in (flavour_x, flavour_y)], axis=1)

    # -- sharing a parameter with a likelihood that is quadratic in it (joint fits) ----------

    def penalised_plane(self, flavour_x: str, flavour_y: str, name: str, penalties
                        ) -> PenalisedPlane:
        """The plane with the shared parameter ``name`` penalised by other likelihoods'
        exact quadratics, given as their plane statistics at f = 0, 1, 2."""
        theta, free = self.start()
        model = self.kernel_model(self._mm(flavour_x), self._mm(flavour_y))._replace(
            pen_index=self.parameter_index(name))
        return PenalisedPlane(tuple(penalties), model, theta, free, self.scale, self.i_u)

    def penalised_statistic(self, mu, name: str, q) -> float:
        """-2 ln L at mu with q0 + q1 f + q2 f^2 added on the shared parameter ``name``."""
        return self.profile_at(mu, penalty=(name, q))[0]


def check_shared(lik, name: str) -> None:
    """Refuse a shared name the likelihood does not declare."""
    if name not in lik.shared:
        raise InputError(f"likelihood {type(lik).__name__} does not share a parameter {name!r} "
                         f"(it shares: {', '.join(lik.shared) or 'none'})")


def _zeros(part):
    z = np.zeros(part.mm_all().shape[:-1])
    return z, z


def _morphs(part) -> bool:
    """Whether a binned Poisson likelihood morphs any template with its shape parameters."""
    return bool(part.kernel_model(*_zeros(part)).morph.any())


def _pad(values: np.ndarray, before: int, after: int) -> np.ndarray:
    """Templates (..., B) padded with zero bins before and after."""
    width = [(0, 0)] * (values.ndim - 1) + [(before, after)]
    return np.pad(values, width)


class MergedPoisson(Parts, BinnedPoisson):
    """Several binned Poisson likelihoods in one compiled model, some parameters shared.

    The bins of the parts follow one another; every part's templates are zero in the other
    parts' bins. A parameter named in ``names`` is one parameter (its constraint must be the
    same in every part that has it); every other parameter stays the part's own, named
    ``LABEL.NAME`` (``LABEL`` the likelihood's ``label``). At most one part may morph its
    templates (the kernel has two shape parameters). Experiments that share nothing can be
    merged too: then the global fit of a toy is one compiled fit, which the Neyman
    construction of several experiments needs.
    """

    def __init__(self, parts: tuple, names: tuple[str, ...]):
        self.parts = tuple(parts)
        self.names = tuple(names)
        self._rates: list[list[str]] = []
        rates: list[str] = []
        for k, part in enumerate(self.parts):
            label = getattr(part, "label", f"part{k}")
            own = [r if r in self.names else f"{label}.{r}" for r in part.parameters[:-4]]
            self._rates.append(own)
            rates += [r for r in own if r not in rates]
        self._morphing = [k for k, p in enumerate(self.parts) if _morphs(p)]
        shapes = (tuple(self.parts[self._morphing[0]].parameters[-4:-2]) if self._morphing
                  else ("s0", "s1"))
        self.parameters = (*rates, *shapes, "u", "v")
        self.scale = self.parts[0].scale
        self.shared = tuple(dict.fromkeys(n for p in self.parts for n in p.shared
                                          if n not in self.names))

    @classmethod
    def of(cls, a, b, names: tuple[str, ...]):
        """The merged likelihood, or None if the parts cannot be merged."""
        parts = (*(a.parts if isinstance(a, MergedPoisson) else (a,)),
                 *(b.parts if isinstance(b, MergedPoisson) else (b,)))
        if not all(isinstance(p, BinnedPoisson) for p in parts):
            return None
        if len({p.scale for p in parts}) != 1 or sum(_morphs(p) for p in parts) > 1:
            return None
        done = [*(a.names if isinstance(a, MergedPoisson) else ()),
                *(b.names if isinstance(b, MergedPoisson) else ())]
        for name in names:  # the shared parameter's constraint must agree
            rows = set()
            for p in parts:
                if name in p.parameters:
                    m, i = p.kernel_model(*_zeros(p)), p.parameter_index(name)
                    rows.add((float(m.centre[i]), float(m.sigma[i]), float(m.lo[i]),
                              float(m.hi[i])))
            if len(rows) > 1 and not all(np.allclose(r, next(iter(rows)), rtol=1e-9, atol=0)
                                         for r in rows):
                raise InputError(f"the experiments share {name} but constrain it differently "
                                 f"({sorted(rows)}); give them one constraint")
        return cls(parts, tuple(dict.fromkeys((*done, *names))))

    # -- layout ------------------------------------------------------------------------------

    def _sizes(self) -> list[int]:
        return [int(np.prod(p.mm_all().shape[:-1])) for p in self.parts]

    def mm_all(self) -> np.ndarray:
        """Every part's magnetic-moment templates, flattened and concatenated, (B, 3)."""
        return np.concatenate([p.mm_all().reshape(-1, 3) for p in self.parts], axis=0)

    def _split(self, values: np.ndarray) -> list[np.ndarray]:
        out, i = [], 0
        for p, n in zip(self.parts, self._sizes(), strict=True):
            out.append(np.ascontiguousarray(values[i:i + n]).reshape(p.mm_all().shape[:-1]))
            i += n
        return out

    def _index_map(self, k: int) -> np.ndarray:
        """Merged index of each of part ``k``'s parameters."""
        n = len(self.parameters)
        return np.array([self.parameters.index(r) for r in self._rates[k]]
                        + [n - 4, n - 3, n - 2, n - 1])

    def kernel_model(self, mx: np.ndarray, my: np.ndarray, n_obs=None, centre=None,
                     **options):
        """The parts' models side by side: templates padded, parameters remapped."""
        from ..kernels.poisson import make_model

        models = [p.kernel_model(x, y, **options)
                  for p, x, y in zip(self.parts, self._split(mx), self._split(my), strict=True)]
        n_bins = [m.n_obs.size for m in models]
        ref = models[self._morphing[0]] if self._morphing else models[0]
        n0, n1 = ref.anchors0.size, ref.anchors1.size
        n_par = len(self.parameters)
        cen, sig = np.zeros(n_par), np.zeros(n_par)
        lo, hi = np.zeros(n_par), np.full(n_par, np.inf)
        lo[n_par - 4:n_par - 2] = -np.inf
        tmpl, morph, coef, mult = [], [], [], []
        before = 0
        for k, (m, nb) in enumerate(zip(models, n_bins, strict=True)):
            idx = self._index_map(k)
            after = sum(n_bins) - before - nb
            for j in range(m.tmpl.shape[0]):
                t = m.tmpl[j] if m.morph[j] else m.tmpl[j, :1, :1]
                tmpl.append(_pad(np.broadcast_to(t, (n0, n1, nb)), before, after))
                morph.append(bool(m.morph[j]))
                coef.append(int(m.coef_index[j]))
                mult.append([int(idx[q]) if q >= 0 else -1 for q in m.mult[j]])
            rows = range(len(idx)) if k in self._morphing else [
                q for q in range(len(idx)) if q < len(idx) - 4 or q >= len(idx) - 2]
            for q in rows:
                g = idx[q]
                cen[g], sig[g], lo[g], hi[g] = m.centre[q], m.sigma[q], m.lo[q], m.hi[q]
            before += nb
        obs = np.concatenate([m.n_obs for m in models]) if n_obs is None else n_obs
        return make_model(obs, np.stack(tmpl), np.array(morph), np.array(coef),
                          np.array(mult), ref.anchors0, ref.anchors1,
                          cen if centre is None else centre, sig, lo, hi)

    def start(self, **options) -> tuple[np.ndarray, np.ndarray]:
        n_par = len(self.parameters)
        theta, free = np.zeros(n_par), np.zeros(n_par, dtype=bool)
        for k, part in enumerate(self.parts):
            t, f = part.start(**options)
            idx = self._index_map(k)
            for q, g in enumerate(idx):
                if len(idx) - 4 <= q < len(idx) - 2 and k not in self._morphing:
                    continue  # the unused shape parameters of a part that does not morph
                if not free[g]:
                    theta[g] = t[q]
                free[g] = free[g] or f[q]
        return theta, free

    # -- the rest of the Likelihood interface --------------------------------------------------

    def describe(self) -> dict:
        return {"likelihood": "one compiled binned Poisson model of "
                              f"{len(self.parts)} experiments"
                              + (f", {', '.join(self.names)} shared (one parameter)"
                                 if self.names else ", no parameter shared"),
                "shared": list(self.names), "parts": [p.describe() for p in self.parts]}


def profile_timing(lik, mu_max: float, grid: int, repeat: int) -> dict:
    """Seconds per grid point of the compiled profile of ``lik`` and of one scipy fit of it.

    For the ``bench`` hook of a kind whose likelihood is a :class:`BinnedPoisson`: the (e, mu)
    plane on a ``grid`` x ``grid`` square from 0 to ``mu_max`` (mu_B), median of ``repeat``
    runs after one call that compiles or loads the kernels; then the same deviance minimised
    by ``scipy.optimize.minimize`` (L-BFGS-B, numerical gradient, the nuisances' bounds) at
    mu_e = mu_max / 2, as a hand-written fit would do. Returns ``seconds_per_point``,
    ``scipy_fit_s``, their ``ratio``, ``grid`` and the number of profiled ``nuisances``.
    """
    import time

    from scipy.optimize import minimize

    from ..bench import median_time
    from ..kernels.poisson import deviance

    plane = lik.plane("e", "mu")
    mu = np.linspace(0.0, mu_max, grid)
    out = np.empty((grid, grid))
    plane.evaluate(mu[:2], mu[:2], out[:2, :2])  # compile or load
    per_point = median_time(lambda: plane.evaluate(mu, mu, out), repeat) / grid**2
    theta0, free = plane.theta0.copy(), plane.free
    theta0[lik.i_u] = (0.5 * mu_max / plane.scale) ** 2
    idx = np.flatnonzero(free)
    lo, hi = plane.model.lo[idx], plane.model.hi[idx]
    bounds = list(zip(np.where(np.isfinite(lo), lo, None), np.where(np.isfinite(hi), hi, None),
                      strict=True))

    def f(x):
        th = theta0.copy()
        th[idx] = x
        return deviance(th, plane.model)

    n_fit = 3 if repeat == 1 else 10
    t0 = time.perf_counter()
    for _ in range(n_fit):
        minimize(f, theta0[idx], method="L-BFGS-B", bounds=bounds)
    scipy_s = (time.perf_counter() - t0) / n_fit
    return {"grid": grid, "seconds_per_point": per_point, "scipy_fit_s": scipy_s,
            "ratio": scipy_s / per_point, "nuisances": int(idx.size)}


# -- the significance of a signal: a nested test -------------------------------------------------

@dataclass(frozen=True)
class Significance:
    """A nested test of a signal against its absence in a binned Poisson likelihood.

    ``q0`` = D(signal parameters at 0) - D(best fit), every other parameter profiled in both
    and everything else (fixed components included) the same in both hypotheses (S1).
    ``z`` = sqrt(q0), Wilks with one parameter on its boundary (Chernoff: q0 follows
    chi2_1 / 2 plus a point mass at 0, so p = Phi(-sqrt(q0))). With toys: ``n_toys``
    pseudo-experiments from the null's best fit (auxiliary measurements fluctuated), ``p_toys``
    = the fraction with q0 >= the observed one, ``p_toys_error`` its binomial error and
    ``z_toys`` = Phi^-1(1 - p_toys) (NaN when no toy reaches q0: then p < 1 / n_toys).
    """

    signal: tuple[str, ...]
    q0: float
    z: float
    d_null: float
    d_best: float
    n_toys: int = 0
    seed: int = 0
    n_exceeding: int = 0
    n_failed: int = 0

    @property
    def p_value(self) -> float:
        """Asymptotic p-value, Phi(-sqrt(q0))."""
        from scipy import stats

        return float(stats.norm.sf(self.z))

    @property
    def p_toys(self) -> float:
        return self.n_exceeding / self.n_toys if self.n_toys else float("nan")

    @property
    def p_toys_error(self) -> float:
        """Binomial error of :attr:`p_toys` (with p -> 1/N when no toy exceeds)."""
        if not self.n_toys:
            return float("nan")
        p = max(self.n_exceeding, 1) / self.n_toys
        return float(np.sqrt(p * (1.0 - p) / self.n_toys))

    @property
    def z_toys(self) -> float:
        from scipy import stats

        if not self.n_toys or not self.n_exceeding:
            return float("nan")
        return float(stats.norm.isf(self.p_toys))

    @property
    def z_toys_error(self) -> float:
        """Error of :attr:`z_toys` from that of the p-value: dp / phi(z)."""
        from scipy import stats

        z = self.z_toys
        return float(self.p_toys_error / stats.norm.pdf(z)) if np.isfinite(z) else float("nan")

    @property
    def z_toys_bound(self) -> float:
        """Phi^-1(1 - 1/N): the toys show z above this when none of them reaches q0."""
        from scipy import stats

        return float(stats.norm.isf(1.0 / self.n_toys)) if self.n_toys else float("nan")

    def text(self) -> str:
        """One phrase: '3.25 sigma (asymptotic), 3.2(1) sigma from 10000 toys'."""
        out = f"{self.z:.2f} sigma (asymptotic)"
        if self.n_toys:
            if self.n_exceeding:
                out += (f", {self.z_toys:.2f} +- {self.z_toys_error:.2f} sigma from "
                        f"{self.n_toys} toys")
            else:
                out += (f", > {self.z_toys_bound:.2f} sigma from {self.n_toys} toys (none "
                        "reached q0)")
        return out

    def to_dict(self) -> dict:
        out = {"signal_parameters": list(self.signal), "q0": self.q0,
               "significance_sigma": self.z, "p_value": self.p_value,
               "minus2lnL_null": self.d_null, "minus2lnL_best": self.d_best}
        if self.n_toys:
            out["toys"] = {"n": self.n_toys, "seed": self.seed,
                           "n_q0_at_least_observed": self.n_exceeding,
                           "p_value": self.p_toys, "p_value_error": self.p_toys_error,
                           "significance_sigma": self.z_toys,
                           "significance_sigma_error": self.z_toys_error,
                           "significance_lower_bound": (self.z_toys_bound
                                                        if not self.n_exceeding else None),
                           "fits_not_converged": self.n_failed}
        return out


def _q0(model, theta_best, free, theta_null, free_null) -> tuple[float, float, float, object,
                                                               object, int]:
    """(q0, D_null, D_best, theta_null_hat, theta_best_hat, failures) of one dataset."""
    from ..kernels.poisson import CONVERGED, profile

    d1, th1, _, s1 = profile(theta_best, free, model)
    d0, th0, _, s0 = profile(theta_null, free_null, model)
    if d0 < d1:  # the null is nested: the best fit cannot be worse; start it from the null
        d1b, th1b, _, s1b = profile(th0, free, model)
        if d1b < d1:
            d1, th1, s1 = d1b, th1b, s1b
    failed = int(s0 != CONVERGED) + int(s1 != CONVERGED)
    return max(d0 - d1, 0.0), float(d0), float(d1), th0, th1, failed


def nested_significance_of_model(model, theta, free, signal: tuple[int, ...], names=None, *,
                                 toys: int = 0, seed: int = 0, scale: float = 1.0
                                 ) -> Significance:
    """The nested test (S1) of a :class:`~cevns_scan.kernels.poisson.PoissonModel`.

    ``theta``, ``free``: the start and free mask of the best fit (the signal parameters
    ``signal``, indices, among the free ones); the null sets them to 0 and fixes them, and
    changes nothing else. ``toys`` > 0 adds the toy-based p-value: pseudo-experiments drawn
    from the null's best fit (Poisson counts; the centres of the constrained parameters
    fluctuated around it), toy k from ``SeedSequence(seed, spawn_key=(k,))``, each fitted
    under both hypotheses from the data's fits.
    """
    signal = tuple(int(i) for i in signal)
    names = tuple(names) if names is not None else tuple(f"theta[{i}]" for i in signal)
    theta = np.array(theta, dtype=float)
    free = np.array(free, dtype=bool)
    if not all(free[i] for i in signal):
        raise InputError(f"the signal parameters {', '.join(names)} must be free in the best "
                         "fit of a significance test")
    theta_null, free_null = theta.copy(), free.copy()
    theta_null[list(signal)] = 0.0
    free_null[list(signal)] = False
    q0, d0, d1, th0, th1, _ = _q0(model, theta, free, theta_null, free_null)
    if toys <= 0:
        return Significance(names, float(q0), float(np.sqrt(q0)), d0, d1)
    from ..kernels.poisson import CONVERGED, profile

    sampler = PoissonToys(model, th0, free_null, scale)
    exceed = failed = 0
    for k in range(int(toys)):
        rng = np.random.Generator(np.random.PCG64(np.random.SeedSequence(seed, spawn_key=(k,))))
        counts, centres = sampler.draw(th0, rng, 1)
        toy = model._replace(n_obs=counts[0], centre=centres[0])
        t0, _, _, s0 = profile(th0, free_null, toy)
        t1, _, _, s1 = profile(th1, free, toy)
        if t0 < t1:
            t1b, _, _, s1b = profile(th0, free, toy)  # the null's fit is a start of the best
            if t1b < t1:
                t1, s1 = t1b, s1b
        failed += int(s0 != CONVERGED) + int(s1 != CONVERGED)
        exceed += int(max(t0 - t1, 0.0) >= q0)
    return Significance(names, float(q0), float(np.sqrt(q0)), d0, d1, int(toys), int(seed),
                        exceed, failed)


def nested_significance(lik, signal, *, toys: int = 0, seed: int = 0, **options
                        ) -> Significance:
    """The significance of a signal in a :class:`BinnedPoisson` likelihood at mu = 0 (S1).

    ``signal``: the name(s) of the rate parameter(s) that switch the signal off at 0 (e.g.
    ``"flux_8B"`` for solar 8B CEvNS, a CEvNS normalisation for a beam experiment); they must
    be free in the likelihood's fit with ``options`` (e.g. XENONnT's ``flux="free"``).
    Everything else, fixed components included, is the same in both hypotheses. ``toys`` > 0
    adds the toy-based p-value (:func:`nested_significance_of_model`).
    """
    names = (signal,) if isinstance(signal, str) else tuple(signal)
    index = tuple(lik.parameter_index(n) for n in names)
    zero = np.zeros_like(lik.mm_all()[..., 0])
    model = lik.kernel_model(zero, zero, **options)
    theta, free = lik.start(**options)
    if not all(free[i] for i in index):
        raise InputError(f"parameter(s) {', '.join(names)} are not free in this fit, so their "
                         "significance cannot be tested; free them (e.g. no constraint)")
    return nested_significance_of_model(model, theta, free, index, names, toys=toys, seed=seed,
                                        scale=lik.scale)
