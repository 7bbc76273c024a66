"""Likelihood of the CDEX-like experiment: the pull chi^2 of eq. 18, profiled analytically.

For expected rates R_ij(mu) (bin i, flux component j), observations O_i with errors Delta_i,

    chi2(mu) = min_{xi, B} sum_i ((O_i - R_i - B - sum_j xi_j c_ij) / Delta_i)^2 + sum_j xi_j^2,

c_ij = sigma_j R_ij(mu). The pulls and the flat background B (free, or fixed by
configuration) enter linearly, so the minimum is exact (:mod:`cevns_scan.kernels.chi2`).
Flux components whose templates vanish in every bin drop out of eq. 18 exactly.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ...config import FLAVOURS
from ...errors import InputError
from ...kernels.chi2 import chi2_grid, gram_coefficients
from ...kernels.gaussian_toys import (
    conditional_fit,
    global_fit,
    make_gauss_model,
    toy_statistics_from,
)
from ..protocols import NuisanceFit

#: Unit of the flat background B and of the rates of eq. 18.
RATE_UNIT = "events/(keV_ee kg day)"


@dataclass(frozen=True)
class GaussianPlane:
    """The :class:`~cevns_scan.experiments.PlaneStatistic` of eq. 18: Gram coefficients."""

    coef: np.ndarray

    def evaluate(self, mu_x: np.ndarray, mu_y: np.ndarray, out: np.ndarray) -> None:
        """chi^2 at every (mu_x[i], mu_y[k]) (mu_B) into ``out[i, k]``; one numba call."""
        chi2_grid(mu_x, mu_y, self.coef, out)


@dataclass(frozen=True)
class GaussianDataPlane:
    """The :class:`~cevns_scan.experiments.PlaneStatistic` of eq. 18 for data ``model.obs``
    with pull centres ``aux`` (a pseudo-experiment), one compiled conditional fit a point."""

    model: object  # GaussModel
    aux: np.ndarray

    def evaluate(self, mu_x: np.ndarray, mu_y: np.ndarray, out: np.ndarray) -> None:
        for i in range(mu_x.size):
            for k in range(mu_y.size):
                out[i, k] = conditional_fit(self.model, self.model.obs, self.aux,
                                            float(mu_x[i]) ** 2, float(mu_y[k]) ** 2)[0]


@dataclass(frozen=True)
class GaussianToys:
    """Pseudo-experiments of eq. 18 at one point (kernels/gaussian_toys.py).

    Toy data R(u0, v0; xi_hat, B_hat) + Delta z with pull centres xi_hat + z', the nuisances
    at their conditional fit to ``model.obs`` (with pull centres ``aux_obs``, zero for the
    data); each toy's t = chi2(u0, v0) - min over u, v >= 0, both profiled exactly.
    """

    model: object  # GaussModel
    aux_obs: np.ndarray

    def draws(self, rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray]:
        """Standard normals for ``n`` toys: bins (n, bins) and pull centres (n, J)."""
        return (rng.standard_normal((n, self.model.obs.size)),
                rng.standard_normal((n, self.model.sm.shape[0])))

    def statistics(self, u0: float, v0: float, rng: np.random.Generator, n: int) -> np.ndarray:
        """t of ``n`` toys at (u0, v0) = (mu_x^2, mu_y^2)."""
        z_bins, z_aux = self.draws(rng, n)
        out = np.empty(n)
        toy_statistics_from(self.model, self.aux_obs, float(u0), float(v0), z_bins, z_aux, out)
        return out

    def pseudo_data(self, u0: float, v0: float, rng: np.random.Generator, n: int):
        """``n`` pseudo-experiments as data: (obs (n, bins), pull centres (n, J), t (n,))."""
        z_bins, z_aux = self.draws(rng, n)
        t = np.empty(n)
        toy_statistics_from(self.model, self.aux_obs, float(u0), float(v0), z_bins, z_aux, t)
        _, xi, b = conditional_fit(self.model, self.model.obs, self.aux_obs, float(u0), float(v0))
        m = self.model
        mean = b + ((1.0 + m.sigma[:, None] * xi[:, None]) * (m.sm + u0 * m.mx + v0 * m.my)).sum(0)
        return mean + m.delta * z_bins, xi + z_aux, t

    def _mean(self, u0: float, v0: float):
        """(expected rates, pull values) with the nuisances at their conditional fit."""
        _, xi, b = conditional_fit(self.model, self.model.obs, self.aux_obs, float(u0), float(v0))
        m = self.model
        mean = b + ((1.0 + m.sigma[:, None] * xi[:, None]) * (m.sm + u0 * m.mx + v0 * m.my)).sum(0)
        return mean, xi

    def draw_data(self, u0: float, v0: float, rng: np.random.Generator, n: int):
        """``n`` pseudo-experiments as data, (obs, pull centres), without their statistics
        (the draws of :meth:`pseudo_data` for the same ``rng``)."""
        z_bins, z_aux = self.draws(rng, n)
        mean, xi = self._mean(u0, v0)
        return mean + self.model.delta * z_bins, xi + z_aux

    def asimov(self, u0: float, v0: float):
        """The expected data at (u0, v0): (rates, pull centres), the nuisances at their
        conditional fit to the data."""
        mean, xi = self._mean(u0, v0)
        return mean, np.array(xi, dtype=float)

    def data_plane(self) -> GaussianDataPlane:
        """chi^2 of these toys' own data (with their pull centres) on the plane."""
        return GaussianDataPlane(self.model, self.aux_obs)

    def with_data(self, obs: np.ndarray, aux: np.ndarray) -> GaussianToys:
        """The same model with other data (a pseudo-experiment) as the observation."""
        return GaussianToys(self.model._replace(obs=np.ascontiguousarray(obs)),
                            np.ascontiguousarray(aux))

    def minima(self, u0: float, v0: float, rng: np.random.Generator, n: int) -> np.ndarray:
        """chi^2_min over u, v >= 0 of ``n`` toys drawn at (u0, v0) (goodness of fit)."""
        obs, aux, _ = self.pseudo_data(u0, v0, rng, n)
        out = np.empty(n)
        for k in range(n):
            out[k] = global_fit(self.model, np.ascontiguousarray(obs[k]),
                                np.ascontiguousarray(aux[k]), float(u0), float(v0))[0]
        return out


@dataclass(frozen=True)
class PullChi2:
    """The :class:`~cevns_scan.experiments.Likelihood` of eq. 18 for one binned dataset.

    ``sm`` (J, n), ``mm`` (J, n, 3) per mu_B^2, ``sigma`` (J,), ``obs`` and ``delta`` (n,),
    all in events / (keV_ee kg day), restricted to the J flux components that contribute;
    ``bg_free`` or a fixed ``bg_value``.
    """

    components: tuple[str, ...]
    sm: np.ndarray
    mm: np.ndarray
    sigma: np.ndarray
    obs: np.ndarray
    delta: np.ndarray
    bg_free: bool
    bg_value: float

    #: The chi2 distribution of eq. 18 holds for Gaussian data: no caveat.
    gof_note = ""

    @property
    def shared(self) -> tuple[str, ...]:
        """``("flux_8B",)`` when the 8B flux enters: a joint fit shares it by that name."""
        return ("flux_8B",) if "8B" in self.components else ()

    def quadratic_nodes(self, name: str) -> tuple[PullChi2, PullChi2, PullChi2]:
        """Eq. 18 with the shared flux ``name`` at f = 0, 1, 2 times the model's, no own pull.

        At fixed mu, eq. 18 is an exact quadratic in the 8B flux factor f (the minimum of a
        quadratic form over linear parameters), so three evaluations give it exactly; a joint
        fit adds it as a penalty on the shared parameter of another likelihood
        (:mod:`cevns_scan.experiments.joint`). The flux is then constrained once, by that
        likelihood, so eq. 18 drops its own 8B pull.
        """
        if name not in self.shared:
            raise InputError(f"the pull chi2 of {', '.join(self.components)} has no shared "
                             f"parameter {name!r}")
        return tuple(self._scaled_8b(f) for f in (0.0, 1.0, 2.0))

    def constraint_sigma(self, name: str) -> float:
        """Fractional 1-sigma of the shared 8B flux (its pull's width in eq. 18)."""
        return float(self.sigma[self.components.index("8B")])

    def constrains(self, flavour: str) -> bool:
        """True when the moment of ``flavour`` has a signal in some bin."""
        return bool(np.any(self.mm[:, :, FLAVOURS.index(flavour)] != 0))

    def moment_columns(self, flavour_x: str, flavour_y: str) -> np.ndarray:
        """(n, 2): the two moments' templates over components and bins, in units of Delta."""
        return np.stack([(self.mm[:, :, FLAVOURS.index(f)] / self.delta).ravel()
                         for f in (flavour_x, flavour_y)], axis=1)

    def _scaled_8b(self, f: float) -> PullChi2:
        """Eq. 18 with the 8B templates times ``f`` and no 8B pull (sigma 0)."""
        import dataclasses

        j = self.components.index("8B")
        sm, mm, sigma = self.sm.copy(), self.mm.copy(), self.sigma.copy()
        sm[j] *= f
        mm[j] *= f
        sigma[j] = 0.0
        return dataclasses.replace(self, sm=sm, mm=mm, sigma=sigma)

    @property
    def n_data(self) -> int:
        return int(self.obs.size)

    @property
    def n_unconstrained(self) -> int:
        return 1 if self.bg_free else 0

    def coefficients(self, flavour_x: str, flavour_y: str) -> np.ndarray:
        """Gram coefficients of the (mu_x, mu_y) plane (third moment at zero)."""
        lx, ly = FLAVOURS.index(flavour_x), FLAVOURS.index(flavour_y)
        return gram_coefficients(self.sm, np.ascontiguousarray(self.mm[:, :, lx]),
                                 np.ascontiguousarray(self.mm[:, :, ly]), self.sigma, self.obs,
                                 self.delta, self.bg_free, self.bg_value)

    def plane(self, flavour_x: str, flavour_y: str) -> GaussianPlane:
        return GaussianPlane(self.coefficients(flavour_x, flavour_y))

    def toys(self, flavour_x: str, flavour_y: str) -> GaussianToys:
        """Pseudo-experiments of the (mu_x, mu_y) plane (third moment zero)."""
        lx, ly = FLAVOURS.index(flavour_x), FLAVOURS.index(flavour_y)
        model = make_gauss_model(self.sm, self.mm[:, :, lx], self.mm[:, :, ly], self.sigma,
                                 self.obs, self.delta, self.bg_free, self.bg_value)
        return GaussianToys(model, np.zeros(self.sm.shape[0]))

    def statistic(self, mu) -> float:
        """chi^2 of eq. 18 at (mu_e, mu_mu, mu_tau) in mu_B, pulls and background profiled."""
        mm = np.ascontiguousarray(self.mm @ (np.asarray(mu, dtype=float) ** 2))
        coef = gram_coefficients(self.sm, mm, np.zeros_like(mm), self.sigma, self.obs,
                                 self.delta, self.bg_free, self.bg_value)
        out = np.empty((1, 1))
        chi2_grid(np.ones(1), np.zeros(1), coef, out)
        return float(out[0, 0])

    def nuisances_at(self, mu) -> dict[str, NuisanceFit]:
        """The pulls xi_j and the free background B of eq. 18 at their best fit at ``mu``.

        At fixed mu eq. 18 is linear least squares in theta = (xi_1..xi_J[, B]): with the
        columns A = [c_1..c_J | 1] (c_ij = sigma_j R_ij(mu)), W = diag(1 / Delta_i^2) and
        r = O - R(mu) (- B if fixed), the normal equations are M theta = A^T W r with
        M = A^T W A + diag(1..1[, 0]). chi^2 is quadratic in theta with Hessian 2 M, so the
        covariance of theta (Delta chi^2 = 1) is M^-1: the ``error`` of each entry (at fixed
        mu). Names ``xi_<component>`` (centre 0, sigma 1; the flux factor 1 + sigma_j xi_j
        must stay >= 0) and ``background`` (events/(keV_ee kg day), unconstrained, >= 0).
        """
        mu2 = np.asarray(mu, dtype=float) ** 2
        rates = self.sm + self.mm @ mu2  # (J, n)
        cols = [self.sigma[j] * rates[j] for j in range(len(self.components))]
        if self.bg_free:
            cols.append(np.ones(self.obs.size))
        a = np.stack(cols, axis=1)
        w = 1.0 / self.delta**2
        r = self.obs - rates.sum(axis=0) - (0.0 if self.bg_free else self.bg_value)
        m = a.T @ (w[:, None] * a)
        n_comp = len(self.components)
        m[np.arange(n_comp), np.arange(n_comp)] += 1.0
        theta = np.linalg.solve(m, a.T @ (w * r))
        err = np.sqrt(np.diag(np.linalg.inv(m)))
        out = {}
        for j, name in enumerate(self.components):
            if self.sigma[j] > 0:  # a component without uncertainty has no pull (xi = 0)
                out[f"xi_{name}"] = NuisanceFit(float(theta[j]), 0.0, 1.0, float(err[j]),
                                                -1.0 / self.sigma[j])
        if self.bg_free:
            out["background"] = NuisanceFit(float(theta[-1]), float("nan"), 0.0,
                                            float(err[-1]), 0.0, RATE_UNIT)
        return out

    def moment_rank(self, flavour_x: str, flavour_y: str) -> int:
        """How many independent directions the two moments' templates span (1 or 2).

        1 when the flavours share one spectral shape (the paper's constant probabilities):
        the statistic then depends on mu_x^2 P_x + mu_y^2 P_y only.
        """
        cols = np.stack([self.mm[:, :, FLAVOURS.index(f)].ravel() for f in (flavour_x, flavour_y)],
                        axis=1)
        return int(np.linalg.matrix_rank(cols, tol=1e-9 * np.abs(cols).max()))

    def mu_scale(self, flavour: str) -> float:
        """Where the magnetic-moment rate is about one data error per bin (mu_B)."""
        m = self.mm[:, :, FLAVOURS.index(flavour)].sum(axis=0)
        s = float(np.sqrt(np.sum((m / self.delta) ** 2)))
        if not s > 0:
            raise InputError(f"the mu_{flavour} templates vanish in every bin; "
                             f"no limit on mu_{flavour}")
        return s**-0.5

    def describe(self) -> dict:
        return {
            "likelihood": "pull chi2 of eq. 18 (Gaussian), pulls and background profiled exactly",
            "pull_components": list(self.components),
            "frac_sigma": dict(zip(self.components, map(float, self.sigma), strict=True)),
            "background": "free" if self.bg_free else f"fixed at {self.bg_value:g} "
                                                      "events/(keV_ee kg day)",
        }


#: chi^2 must be computable to this absolute accuracy (a small fraction of any threshold).
CHI2_ACCURACY = 1e-3


def _check_precision(dataset, expected: np.ndarray) -> None:
    """Refuse rates that are not finite, and errors so small that chi^2 drowns in rounding.

    eq. 18 is evaluated as a difference of terms of size sum_i (O_i / Delta_i)^2, which
    carries an absolute rounding error of about 1e3 machine epsilons times that size; if
    that exceeds :data:`CHI2_ACCURACY`, contours and limits would be noise. The message names
    what is wrong: the model's expected rate, the data's rate, or sigma.
    """
    def where(i):
        return (f"dataset {dataset.label} bin {i} ({dataset.tee_lo[i]:g}-{dataset.tee_hi[i]:g} "
                "keV_ee)")

    for name, values, fix in (
            ("the model's expected rate", expected, "the model gives no finite rate there; "
             "check the target, flux and [numerics] configuration"),
            ("rate", dataset.rate, "check the rate column"),
            ("sigma", dataset.sigma, "check the sigma column")):
        bad = np.flatnonzero(~np.isfinite(values))
        if bad.size:
            raise InputError(f"{where(int(bad[0]))}: {name} is {values[bad[0]]:g}, not a finite "
                             f"number; {fix} (events/(keV_ee kg day))")
    with np.errstate(over="ignore"):
        scale = (np.abs(dataset.rate) + np.abs(expected)) / dataset.sigma
        size = float(np.sum(scale**2))
    if not size * 1e3 * np.finfo(float).eps <= CHI2_ACCURACY:
        i = int(np.argmax(scale))
        larger = ("rate", dataset.rate[i]) if abs(dataset.rate[i]) >= abs(expected[i]) else (
            "expected rate", expected[i])
        raise InputError(
            f"{where(i)}: the {larger[0]} {larger[1]:g} is {scale[i]:.3g} times sigma = "
            f"{dataset.sigma[i]:g}, so chi^2 cannot be computed to the accuracy a contour "
            "needs; check the rate and sigma columns (both in events/(keV_ee kg day))")


def make_pull_chi2(templates, dataset, settings) -> PullChi2:
    """Combine templates (for the dataset's bins) with the data and the background choice.

    ``settings`` has ``background`` (``"free"`` or ``"fixed"``) and ``background_value``
    (events/(keV_ee kg day)): the ``[spectrum]`` config section.
    """
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
    _check_precision(dataset, templates.sm.sum(axis=0))
    bg_free = settings.background == "free"
    if dataset.rate.size <= (1 if bg_free else 0):
        raise InputError(f"dataset {dataset.label}: {dataset.rate.size} bin(s) and a free flat "
                         "background: the background absorbs any signal, so no moment is "
                         "constrained; use more bins or a fixed background (config [spectrum] "
                         "background = 'fixed' with background_value)")
    names = tuple(n for n, a in zip(templates.components, active, strict=True) if a)
    return PullChi2(names, np.ascontiguousarray(templates.sm[active]),
                    np.ascontiguousarray(templates.mm[active]),
                    np.ascontiguousarray(templates.frac_sigma[active]),
                    np.ascontiguousarray(dataset.rate), np.ascontiguousarray(dataset.sigma),
                    bg_free, 0.0 if bg_free else float(settings.background_value))
