"""Experiments fitted together, with the 8B flux as one shared nuisance parameter.

For the CDEX-like pull chi^2 (eq. 18) and the XENONnT Poisson likelihood the joint statistic
at a point mu is

    -2 ln L(mu) = min over f, nuisances [ chi2_C(mu; f) + D_X(mu; f, nuisances) ],      (J1)

where f is the 8B flux in units of the model's flux. chi2_C(mu; f) is eq. 18 with the 8B
templates scaled by f and without their own pull (the flux is constrained once, by SNO, in
D_X); its other pulls and the background are profiled exactly. At fixed mu, chi2_C is an exact
quadratic in f (the minimum of a quadratic form over linear parameters), so it enters the
compiled Poisson profile as the external quadratic penalty q0 + q1 f + q2 f^2 on f, with q from
chi2_C at f = 0, 1, 2. Experiments that share no nuisance are simply added.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np

from ..errors import ParameterError
from .gaussian import PullChi2
from .xenonnt import I_FLUX, I_U, I_V, PoissonLikelihood

#: Flux factors at which eq. 18 is evaluated to read off its exact quadratic in f.
F_NODES = (0.0, 1.0, 2.0)


def quadratic_in_flux(c0, c1, c2):
    """(q0, q1, q2) of the parabola through (0, c0), (1, c1), (2, c2) (exact for a quadratic)."""
    return c0, (-3.0 * c0 + 4.0 * c1 - c2) / 2.0, (c0 - 2.0 * c1 + c2) / 2.0


def scaled_8b(gauss: PullChi2, f: float) -> PullChi2:
    """Eq. 18 with the 8B templates times ``f`` and no 8B pull (sigma 0)."""
    j = gauss.components.index("8B")
    sm, mm, sigma = gauss.sm.copy(), gauss.mm.copy(), gauss.sigma.copy()
    sm[j] *= f
    mm[j] *= f
    sigma[j] = 0.0
    return dataclasses.replace(gauss, sm=sm, mm=mm, sigma=sigma)


@dataclass(frozen=True)
class SharedFluxPlane:
    """The plane statistic of (J1): three eq.-18 maps give the penalty of each point."""

    gauss: tuple  # GaussianPlane at F_NODES
    model: object  # kernels.poisson.PoissonModel (pen_index = I_FLUX)
    theta0: np.ndarray
    free: np.ndarray
    scale: float

    def evaluate(self, mu_x: np.ndarray, mu_y: np.ndarray, out: np.ndarray) -> None:
        from ..kernels.poisson import CONVERGED, profile

        c = []
        for g in self.gauss:
            m = np.empty((mu_x.size, mu_y.size))
            g.evaluate(mu_x, mu_y, m)
            c.append(m)
        q0, q1, q2 = quadratic_in_flux(*c)
        for i in range(mu_x.size):
            theta = self.theta0.copy()
            for k in range(mu_y.size):
                theta[I_U] = (mu_x[i] / self.scale) ** 2
                theta[I_V] = (mu_y[k] / self.scale) ** 2
                model = self.model._replace(pen_q=np.array([q0[i, k], q1[i, k], q2[i, k]]))
                d, best, _, status = profile(theta, self.free, model)
                out[i, k] = d
                theta = best if status == CONVERGED else self.theta0.copy()


@dataclass(frozen=True)
class SharedFluxLikelihood:
    """(J1): the CDEX-like pull chi^2 and the XENONnT Poisson likelihood, 8B flux shared."""

    gauss: PullChi2
    poisson: PoissonLikelihood

    def __post_init__(self):
        if "8B" not in self.gauss.components:
            raise ParameterError("data", "cdex10-asimov", "has no 8B templates to share")

    @property
    def n_data(self) -> int:
        return self.gauss.n_data + self.poisson.n_data

    @property
    def n_unconstrained(self) -> int:
        return self.gauss.n_unconstrained + self.poisson.n_unconstrained

    def _gauss_nodes(self) -> tuple[PullChi2, ...]:
        return tuple(scaled_8b(self.gauss, f) for f in F_NODES)

    def plane(self, flavour_x: str, flavour_y: str) -> SharedFluxPlane:
        lik = self.poisson
        theta, free = lik.start()
        model = lik.kernel_model(lik._mm(flavour_x), lik._mm(flavour_y))._replace(
            pen_index=I_FLUX)
        return SharedFluxPlane(tuple(g.plane(flavour_x, flavour_y) for g in self._gauss_nodes()),
                               model, theta, free, lik.scale)

    def statistic(self, mu) -> float:
        q = quadratic_in_flux(*(g.statistic(mu) for g in self._gauss_nodes()))
        return self.poisson.profile_at(mu, penalty=q)[0]

    def mu_scale(self, flavour: str) -> float:
        return min(self.gauss.mu_scale(flavour), self.poisson.mu_scale(flavour))

    def moment_rank(self, flavour_x: str, flavour_y: str) -> int:
        return max(self.gauss.moment_rank(flavour_x, flavour_y),
                   self.poisson.moment_rank(flavour_x, flavour_y))

    def describe(self) -> dict:
        return {"likelihood": "joint fit, 8B flux shared (one parameter, constrained once by "
                              "SNO in the XENONnT likelihood; eq. 18 drops its own 8B pull)",
                "parts": [self.gauss.describe(), self.poisson.describe()]}


@dataclass(frozen=True)
class SumPlane:
    """The sum of independent experiments' plane statistics (no shared nuisances)."""

    parts: tuple

    def evaluate(self, mu_x: np.ndarray, mu_y: np.ndarray, out: np.ndarray) -> None:
        buf = np.empty_like(out)
        self.parts[0].evaluate(mu_x, mu_y, out)
        for part in self.parts[1:]:
            part.evaluate(mu_x, mu_y, buf)
            out += buf


@dataclass(frozen=True)
class SumLikelihood:
    """Independent experiments: -2 ln L adds up."""

    parts: tuple

    @property
    def n_data(self) -> int:
        return sum(p.n_data for p in self.parts)

    @property
    def n_unconstrained(self) -> int:
        return sum(p.n_unconstrained for p in self.parts)

    def plane(self, flavour_x: str, flavour_y: str) -> SumPlane:
        return SumPlane(tuple(p.plane(flavour_x, flavour_y) for p in self.parts))

    def statistic(self, mu) -> float:
        return float(sum(p.statistic(mu) for p in self.parts))

    def mu_scale(self, flavour: str) -> float:
        return min(p.mu_scale(flavour) for p in self.parts)

    def moment_rank(self, flavour_x: str, flavour_y: str) -> int:
        return max(p.moment_rank(flavour_x, flavour_y) for p in self.parts)

    def describe(self) -> dict:
        return {"likelihood": "sum of independent experiments",
                "parts": [p.describe() for p in self.parts]}


def combine(likelihoods) -> object:
    """One likelihood for several experiments: the 8B flux is shared where it can be.

    A CDEX-like pull chi^2 with a XENONnT likelihood -> :class:`SharedFluxLikelihood`; one
    experiment -> itself; anything else -> :class:`SumLikelihood` of independent parts.
    """
    liks = list(likelihoods)
    if len(liks) == 1:
        return liks[0]
    gauss = [lk for lk in liks if isinstance(lk, PullChi2)]
    poisson = [lk for lk in liks if isinstance(lk, PoissonLikelihood)]
    if len(liks) == 2 and len(gauss) == 1 and len(poisson) == 1:
        return SharedFluxLikelihood(gauss[0], poisson[0])
    return SumLikelihood(tuple(liks))
