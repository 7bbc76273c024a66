"""The XENONnT solar-8B CEvNS release as an experiment: efficiency fold and Poisson likelihood.

Response (:class:`MonoEfficiencyFold`): expected events per analysis bin of run r,

    N_rb(t_ly, t_qy) = X_r * int dR/dT_nr(T) eps_rb(T; t_ly, t_qy) dT,         (X1)

with X_r the exposure (t y), dR/dT_nr the project's own rate (any target model, fluxes,
flavour probabilities) in events/(t y keV_nr), and eps_rb the release's mono-energetic
detection efficiencies, tabulated at T = 0.5 ... 5.0 keV_nr every 0.1 keV at 7 x 7 anchors of
the light- and charge-yield shifts. Between nodes eps is interpolated with a monotone cubic
(PCHIP): it rises by a factor 30 between 0.5 and 0.7 keV_nr, where linear interpolation
is biased by +0.5 % and log-linear by -0.5 %; PCHIP changes the fold by at most 0.05 %
(SM) and 0.06 % (MM) when the node spacing is halved (tests/test_xenonnt.py). The integral
uses 8-point Gauss-Legendre on every node interval, split where a spectrum's kinematic
endpoint falls. The release gives no
efficiency outside 0.5-5.0 keV_nr: it is taken as zero there (below 0.5 keV_nr it is < 1e-4
and falling; above 5 keV_nr the 8B rate on Xe vanishes). SM and magnetic-moment parts are
folded separately, per flux component (8B, hep) and flavour.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..kernels.constants import KEV_PER_MEV
from ..kernels.kinematics import t_nr_max

#: Gauss-Legendre nodes per efficiency-node interval of the fold (X1).
FOLD_GL_ORDER = 8
#: Days per year in "tonne-year" exposures (Julian year).
DAYS_PER_YEAR = 365.25
#: kg per tonne.
KG_PER_TONNE = 1000.0


@dataclass(frozen=True)
class FoldedTemplates:
    """Expected events per bin of every run, per flux component, at the 7 x 7 yield anchors.

    Attributes
    ----------
    components : tuple of str
        Flux components (index j): the ones that reach the efficiency range (8B, hep).
    sm : ndarray, shape (J, R, 7, 7, 81)
        SM CEvNS events in each bin (exposure included).
    mm : ndarray, shape (J, R, 7, 7, 81, 3)
        Magnetic-moment events per mu_B^2 for flavour e, mu, tau (flavour probabilities
        included).
    frac_sigma : ndarray, shape (J,)
        The model's fractional flux uncertainties (for reference; the likelihood has its own).
    """

    components: tuple[str, ...]
    sm: np.ndarray
    mm: np.ndarray
    frac_sigma: np.ndarray


def fold_nodes(e_nodes_kev: np.ndarray, breaks_kev=()) -> tuple[np.ndarray, np.ndarray]:
    """Quadrature nodes (keV_nr) and weights of (X1) over [e_nodes[0], e_nodes[-1]].

    Gauss-Legendre with :data:`FOLD_GL_ORDER` points on every interval between efficiency
    nodes, each interval also cut at ``breaks_kev`` (kinematic endpoints) that fall inside.
    """
    cuts = np.unique(np.concatenate([e_nodes_kev, [b for b in breaks_kev
                                                    if e_nodes_kev[0] < b < e_nodes_kev[-1]]]))
    x, w = np.polynomial.legendre.leggauss(FOLD_GL_ORDER)
    half = 0.5 * np.diff(cuts)
    mid = 0.5 * (cuts[1:] + cuts[:-1])
    return (mid[:, None] + half[:, None] * x).ravel(), (half[:, None] * w).ravel()


def interpolate_efficiency(e_nodes_kev: np.ndarray, eps: np.ndarray, t_kev: np.ndarray
                           ) -> np.ndarray:
    """Monotone cubic (PCHIP) interpolation of efficiencies along their last axis.

    ``eps[..., k]`` at ``e_nodes_kev[k]``; returns ``[..., q]`` at ``t_kev`` (inside the
    node range). PCHIP keeps the data's monotonicity and never leaves [min, max] of a
    neighbouring pair, so efficiencies stay in [0, 1].
    """
    from scipy.interpolate import PchipInterpolator

    return PchipInterpolator(e_nodes_kev, eps, axis=-1, extrapolate=False)(t_kev)


@dataclass(frozen=True)
class MonoEfficiencyFold:
    """The :class:`~cevns_scan.experiments.Response` of the XENONnT release (eq. X1)."""

    release: object
    components: tuple[str, ...] = ("8B", "hep")

    def breaks(self, model) -> list[float]:
        """Kinematic endpoints (keV_nr) of the folded components on the model's nuclei."""
        out = []
        for comp in model.components:
            for _, nucleus in model.nuclei:
                out.append(t_nr_max(comp.e_max_mev, nucleus.m_n) * KEV_PER_MEV)
        return out

    def write_outputs(self, experiment, out, result, figures: bool = True) -> None:
        """The SM measurement, expected events and the projections figure."""
        write_release_outputs(experiment, out, result, figures)

    def templates(self, model) -> FoldedTemplates:
        """Fold the model's SM and per-flavour MM rates of 8B and hep into the bins (X1)."""
        from ..rates import flavour_differential_rates

        rel = self.release
        model = model.with_components([c for c in self.components if c in model.component_names])
        e = np.asarray(rel.mono_energy_kev, dtype=float)
        t, w = fold_nodes(e, self.breaks(model))
        sm, mm = flavour_differential_rates(model, t)  # (J, Q), (J, Q, 3) per kg day keV
        per_ty = KG_PER_TONNE * DAYS_PER_YEAR
        rates = np.concatenate([sm[:, :, None], mm], axis=2) * (per_ty * w)[None, :, None]
        eps = interpolate_efficiency(e, np.moveaxis(rel.mono, 3, -1), t)  # (R, 7, 7, 81, Q)
        eps = np.nan_to_num(eps, nan=0.0)
        folded = np.einsum("rabkq,jqf->jrabkf", eps, rates)
        folded *= np.asarray(rel.exposure_t_y)[None, :, None, None, None, None]
        sigma = np.array([c.frac_sigma for c in model.components])
        return FoldedTemplates(model.component_names, np.ascontiguousarray(folded[..., 0]),
                               np.ascontiguousarray(folded[..., 1:]), sigma)


# -- likelihood -------------------------------------------------------------------------------

#: Names of the rate parameters r_0 .. r_7 of the likelihood, in order (docs/design.md §3).
RATE_PARAMETERS = ("flux_8B", "efficiency", "ac_sr0", "ac_sr1", "ac_sr2", "er", "neutron", "hep")
I_FLUX, I_EFF, I_AC, I_ER, I_N, I_HEP = 0, 1, 2, 5, 6, 7
#: All parameters: the rates, the light- and charge-yield shifts, u and v.
PARAMETERS = (*RATE_PARAMETERS, "t_ly", "t_qy", "u", "v")
N_PAR = len(PARAMETERS)
I_TLY, I_TQY, I_U, I_V = 8, 9, 10, 11


def _run_block(values: np.ndarray, run: int, n_runs: int) -> np.ndarray:
    """(..., 81) of one run placed into its slice of the concatenated (..., R * 81) bins."""
    out = np.zeros((*values.shape[:-1], n_runs * values.shape[-1]))
    out[..., run * values.shape[-1]:(run + 1) * values.shape[-1]] = values
    return out


def _concat_runs(values: np.ndarray) -> np.ndarray:
    """(R, ..., 81) -> (..., R * 81): the runs' bins one after the other (the likelihood's B)."""
    return np.concatenate(list(values), axis=-1)


@dataclass(frozen=True)
class PoissonPlane:
    """The :class:`~cevns_scan.experiments.PlaneStatistic` of the binned Poisson likelihood.

    ``scale`` (mu_B) makes the kernel's u, v of order one: u = (mu_x / scale)^2.
    """

    model: object  # kernels.poisson.PoissonModel
    theta0: np.ndarray
    free: np.ndarray
    scale: float

    def evaluate(self, mu_x: np.ndarray, mu_y: np.ndarray, out: np.ndarray) -> None:
        """-2 ln L (deviance + constraints) profiled at every (mu_x[i], mu_y[k])."""
        from ..kernels.poisson import profile_plane

        theta = np.empty((mu_x.size, mu_y.size, self.theta0.size))
        info = np.empty((mu_x.size, mu_y.size, 2), dtype=np.int64)
        profile_plane(np.ascontiguousarray(mu_x / self.scale),
                      np.ascontiguousarray(mu_y / self.scale), self.theta0, self.free,
                      self.model, out, theta, info)


@dataclass(frozen=True)
class PoissonToys:
    """Pseudo-experiments of the Poisson likelihood at one point (the profile construction).

    The nuisances are fitted to the data at the tested (u0, v0); toys draw Poisson counts
    from the expectation there and fluctuate the auxiliary measurements (the constraint
    centres of every constrained parameter) around the fitted values.
    """

    model: object  # kernels.poisson.PoissonModel of the data
    theta0: np.ndarray
    free: np.ndarray
    scale: float
    v_to_u: float = -1.0  # >= 0: the v templates are v_to_u times the u ones (one direction)

    def conditional(self, u0: float, v0: float) -> np.ndarray:
        """The nuisances' best fit to the data at (u0, v0) = (mu_x^2, mu_y^2) in mu_B^2."""
        from ..kernels.poisson import profile

        theta = self.theta0.copy()
        theta[I_U], theta[I_V] = u0 / self.scale**2, v0 / self.scale**2
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


@dataclass(frozen=True)
class PoissonLikelihood:
    """The :class:`~cevns_scan.experiments.Likelihood` of the XENONnT release (docs §3).

    Extended binned Poisson over the 3 x 81 bins, as the Baker-Cousins deviance (chi^2-like),
    with Gaussian constraints: the 8B flux (SNO, or free), the signal efficiency, the
    accidental-coincidence rate of each run, the ER and neutron rates, and the light- and
    charge-yield shifts t_ly, t_qy (unit Gaussians) that morph the signal and neutron
    templates between the 7 x 7 anchors (bilinearly). hep CEvNS is fixed at the model's flux.
    Everything is profiled by the compiled Newton method of :mod:`cevns_scan.kernels.poisson`.
    """

    release: object
    templates: FoldedTemplates
    settings: object  # config.XenonntSection
    flux_8b_model: float  # the model's 8B flux, cm^-2 s^-1
    scale: float  # mu_B of the kernel's unit u, v

    # -- the model arrays ---------------------------------------------------------------------

    def _component(self, name: str) -> int:
        return self.templates.components.index(name)

    def template_stack(self, mx: np.ndarray, my: np.ndarray) -> tuple:
        """(tmpl (K, 7, 7, B), morph, coef_index, mult) with the MM templates ``mx``, ``my``.

        ``mx``, ``my``: (J, R, 7, 7, 81) magnetic-moment events of the plane's two
        directions per unit of the kernel's u and v.
        """
        rel, tp = self.release, self.templates
        n_runs = len(rel.runs)
        exposure = np.asarray(rel.exposure_t_y)
        tmpl, morph, coef, mult = [], [], [], []

        def add(values, is_morph, c, m):
            tmpl.append(values)
            morph.append(is_morph)
            coef.append(c)
            mult.append(m)

        for name, rate in (("8B", I_FLUX), ("hep", I_HEP)):
            if name not in tp.components:
                continue
            j = self._component(name)
            for c, values in ((0, tp.sm[j]), (1, mx[j]), (2, my[j])):
                add(_concat_runs(values), True, c, (rate, I_EFF))
        for r in range(n_runs):
            ac = _run_block(rel.ac[r] * exposure[r], r, n_runs)
            add(np.broadcast_to(ac, (7, 7, ac.size)), False, 0, (I_AC + r, -1))
        er = _concat_runs(rel.er * exposure[:, None])
        add(np.broadcast_to(er, (7, 7, er.size)), False, 0, (I_ER, -1))
        add(_concat_runs(rel.rg * exposure[:, None, None, None]), True, 0, (I_N, -1))
        return (np.ascontiguousarray(np.stack(tmpl)), np.array(morph), np.array(coef),
                np.array(mult))

    def constraints(self, flux: str | None = None) -> tuple[np.ndarray, ...]:
        """(centre, sigma, lo, hi) of every parameter (sigma 0: unconstrained)."""
        s = self.settings
        flux = flux or s.flux_8B
        centre = np.zeros(N_PAR)
        sigma = np.zeros(N_PAR)
        lo = np.zeros(N_PAR)
        hi = np.full(N_PAR, np.inf)
        centre[:I_TLY] = 1.0
        if flux == "sno":
            centre[I_FLUX] = s.sno_flux / self.flux_8b_model
            sigma[I_FLUX] = s.sno_flux_sigma / self.flux_8b_model
        sigma[I_EFF] = s.sigma_efficiency
        lo[I_EFF], hi[I_EFF] = s.efficiency_min, s.efficiency_max
        sigma[I_AC:I_AC + 3] = s.sigma_ac
        sigma[I_ER] = s.sigma_er
        sigma[I_N] = s.sigma_neutron
        sigma[I_TLY] = sigma[I_TQY] = 1.0
        lo[I_TLY] = lo[I_TQY] = float(self.release.t_ly_anchors[0])
        hi[I_TLY] = hi[I_TQY] = float(self.release.t_ly_anchors[-1])
        return centre, sigma, lo, hi

    def kernel_model(self, mx: np.ndarray, my: np.ndarray, flux: str | None = None,
                     n_obs: np.ndarray | None = None, centre: np.ndarray | None = None):
        """The :class:`~cevns_scan.kernels.poisson.PoissonModel` with MM templates mx, my."""
        from ..kernels.poisson import make_model

        tmpl, morph, coef, mult = self.template_stack(mx, my)
        c, sigma, lo, hi = self.constraints(flux)
        rel = self.release
        obs = _concat_runs(np.asarray(rel.observed, dtype=float)) if n_obs is None else n_obs
        return make_model(obs, tmpl, morph, coef, mult, rel.t_ly_anchors, rel.t_qy_anchors,
                          c if centre is None else centre, sigma, lo, hi)

    def start(self, flux: str | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Start values (the constraint centres, yields at 0) and the free mask of a profile."""
        centre, _, _, _ = self.constraints(flux)
        theta = centre.copy()
        theta[I_U] = theta[I_V] = 0.0
        free = np.ones(N_PAR, dtype=bool)
        free[[I_HEP, I_U, I_V]] = False
        return theta, free

    def _mm(self, flavour: str) -> np.ndarray:
        from ..config import FLAVOURS

        return self.templates.mm[..., FLAVOURS.index(flavour)] * self.scale**2

    # -- the Likelihood interface ------------------------------------------------------------

    @property
    def n_data(self) -> int:
        return int(np.asarray(self.release.observed).size)

    @property
    def n_unconstrained(self) -> int:
        return 1 if self.settings.flux_8B == "free" else 0

    def plane(self, flavour_x: str, flavour_y: str) -> PoissonPlane:
        theta, free = self.start()
        return PoissonPlane(self.kernel_model(self._mm(flavour_x), self._mm(flavour_y)), theta,
                            free, self.scale)

    def toys(self, flavour_x: str, flavour_y: str) -> PoissonToys:
        """Pseudo-experiments of the (mu_x, mu_y) plane (third moment zero)."""
        theta, free = self.start()
        mx, my = self._mm(flavour_x), self._mm(flavour_y)
        return PoissonToys(self.kernel_model(mx, my), theta, free, self.scale,
                           one_direction_ratio(mx, my))

    def profile_at(self, mu, flux: str | None = None, fixed: dict | None = None,
                   penalty=None):
        """(D, theta) profiled at (mu_e, mu_mu, mu_tau) mu_B; ``fixed`` pins parameters.

        ``penalty`` = (q0, q1, q2) adds q0 + q1 f + q2 f^2 on the 8B flux factor f (a second
        experiment sharing the flux, experiments/joint.py).
        """
        from ..kernels.poisson import profile

        mu2 = (np.asarray(mu, dtype=float) / self.scale) ** 2
        mm = self.templates.mm * self.scale**2
        model = self.kernel_model(mm @ mu2, np.zeros_like(mm[..., 0]), flux)
        if penalty is not None:
            model = model._replace(pen_index=I_FLUX, pen_q=np.asarray(penalty, dtype=float))
        theta, free = self.start(flux)
        theta[I_U] = 1.0
        for name, value in (fixed or {}).items():
            i = PARAMETERS.index(name)
            theta[i] = value
            free[i] = False
        d, best, _, _ = profile(theta, free, model)
        return float(d), best

    def statistic(self, mu) -> float:
        """-2 ln L profiled over the nuisances at (mu_e, mu_mu, mu_tau) in mu_B."""
        return self.profile_at(mu)[0]

    def mu_scale(self, flavour: str) -> float:
        """Where the magnetic-moment events reach the square root of the background (mu_B)."""
        from ..config import FLAVOURS

        rel = self.release
        signal = float(self.templates.mm[:, :, 3, 3, :, FLAVOURS.index(flavour)].sum())
        background = float((np.asarray(rel.ac).sum(1) * rel.exposure_t_y).sum())
        if not signal > 0:
            from ..errors import InputError

            raise InputError(f"the mu_{flavour} templates of {rel.format_name} vanish; no "
                             f"limit on mu_{flavour}")
        return (max(background, 1.0) ** 0.5 / signal) ** 0.5

    def moment_rank(self, flavour_x: str, flavour_y: str) -> int:
        cols = np.stack([self._mm(f).ravel() for f in (flavour_x, flavour_y)], axis=1)
        return int(np.linalg.matrix_rank(cols, tol=1e-9 * np.abs(cols).max()))

    def describe(self) -> dict:
        s = self.settings
        return {
            "likelihood": "extended binned Poisson (Baker-Cousins deviance) over the 3 x 81 bins "
                          "of SR0-SR2 with Gaussian-constrained nuisances, profiled by the "
                          "compiled Newton method",
            "parameters": list(PARAMETERS[:I_U]),
            "flux_8B": (f"constrained by SNO: {s.sno_flux:g} +- {s.sno_flux_sigma:g} cm^-2 s^-1"
                        if s.flux_8B == "sno" else "free"),
            "model_flux_8B": self.flux_8b_model,
            "sigma": {"efficiency": s.sigma_efficiency, "ac": list(s.sigma_ac),
                      "er": s.sigma_er, "neutron": s.sigma_neutron, "t_ly": 1.0, "t_qy": 1.0},
            "efficiency_range": [s.efficiency_min, s.efficiency_max],
            "hep": "fixed at the model's flux",
            "morphing": "bilinear between the 7 x 7 (t_ly, t_qy) anchors",
            "fold": "PCHIP efficiency x rate, Gauss-Legendre, 0.5-5.0 keV_nr (zero outside)",
        }


# -- data and experiment ------------------------------------------------------------------------

#: The built-in name of the shipped release file.
RELEASE_NAME = "xenonnt-8b"


@dataclass(frozen=True)
class ReleaseData:
    """The observed events of the XENONnT release as an experiment's dataset."""

    label: str
    release: object
    source: str
    description: str = ""

    @property
    def metadata(self) -> dict:
        p = self.release.provenance
        return {"doi": p.doi, "commit": p.commit, "license": p.license,
                "exposure_t_y": [float(x) for x in self.release.exposure_t_y],
                "events": int(np.asarray(self.release.observed).sum())}

    def digest(self) -> str:
        """SHA-256 of the release's input fingerprint, counts and exposures."""
        import hashlib

        h = hashlib.sha256(self.label.encode())
        h.update(str(self.release.provenance.inputs_sha256).encode())
        for arr in (self.release.observed, self.release.exposure_t_y):
            h.update(np.ascontiguousarray(arr, dtype="<f8").tobytes())
        return h.hexdigest()

    def spec(self) -> dict:
        """How a checkpoint manifest refers to these data (rebuilt and checked by merge)."""
        return {"kind": "xenonnt", "label": self.label, "source": self.source,
                "sha256": self.digest()}


def load_release_data(spec: str) -> ReleaseData:
    """``'xenonnt-8b'`` (the shipped file) or the path of a file made by ``import-xenonnt``."""
    from ..tables import data_file
    from ..xenonnt_release import load_release_file

    if spec == RELEASE_NAME:
        return ReleaseData(RELEASE_NAME, load_release_file(data_file("xenonnt_8b.npz")),
                           "cevns_scan.data/xenonnt_8b.npz")
    from pathlib import Path

    return ReleaseData(Path(spec).stem, load_release_file(spec), str(spec))


def xenonnt_experiment(data: ReleaseData, model, config):
    """The XENONnT experiment: the fold on xenon (whatever the config's target) + likelihood."""
    from . import Experiment

    xe = model.with_target("Xe")
    response = MonoEfficiencyFold(data.release)
    templates = response.templates(xe)
    flux = next(c.flux for c in xe.components if c.name == "8B")
    lik = PoissonLikelihood(data.release, templates, config.xenonnt, flux, MU_UNIT)
    return Experiment(data.label, data, response, templates, lik, "Xe")


#: The kernel's unit of the squared moments: u = (mu / MU_UNIT)^2 keeps its numbers of order 1.
MU_UNIT = 1e-9


# -- the SM measurement and the outputs of a results folder -----------------------------------

@dataclass(frozen=True)
class SMMeasurement:
    """The 8B CEvNS measurement at mu = 0 with the 8B flux free (no SNO constraint).

    ``flux`` and ``interval`` in cm^-2 s^-1 (68 % CL, Delta(-2 ln L) = 1, nuisances
    profiled); ``q0`` = -2 ln L(no CEvNS: 8B and hep off) - the best fit; ``significance`` =
    sqrt(q0) (Wilks, one parameter at its boundary); ``signal_events`` are the fitted CEvNS
    events per run.
    """

    flux: float
    interval: tuple[float, float]
    q0: float
    significance: float
    signal_events: tuple[float, ...]
    background_events: tuple[float, ...]
    observed_events: tuple[int, ...]

    def to_dict(self) -> dict:
        return {"flux_8B_cm2_s": self.flux, "flux_68cl_cm2_s": list(self.interval),
                "q0": self.q0, "significance_sigma": self.significance,
                "signal_events_per_run": list(self.signal_events),
                "background_events_per_run": list(self.background_events),
                "observed_events_per_run": list(self.observed_events),
                "method": "profile likelihood, 8B flux free, mu = 0; q0 against 8B and hep "
                          "CEvNS switched off; significance sqrt(q0)"}


def component_events(lik: PoissonLikelihood, theta: np.ndarray) -> dict[str, np.ndarray]:
    """Expected events per run of each component at ``theta`` (mu = 0): name -> (R,)."""
    from ..kernels.poisson_toys import expected_counts

    zero = np.zeros_like(lik.templates.mm[..., 0])
    model = lik.kernel_model(zero, zero)
    n_runs = len(lik.release.runs)
    stack = model.tmpl
    out = {}
    names = [n for n in ("8B", "hep") if n in lik.templates.components for _ in range(3)]
    labels = [*(f"CEvNS {n}" for n in names), *(f"AC {r}" for r in lik.release.runs), "ER",
              "neutron"]
    for k, label in enumerate(labels):
        if label.startswith("CEvNS") and model.coef_index[k] != 0:
            continue
        single = model._replace(tmpl=stack[k:k + 1], morph=model.morph[k:k + 1],
                                coef_index=model.coef_index[k:k + 1], mult=model.mult[k:k + 1])
        lam = expected_counts(single, theta)
        key = label.split(" sr")[0] if label.startswith("AC") else label
        out[key] = out.get(key, 0) + lam.reshape(n_runs, -1).sum(axis=1)
    return out


def sm_measurement(lik: PoissonLikelihood) -> tuple[SMMeasurement, np.ndarray]:
    """Fit mu = 0 with the 8B flux free: the measurement and its best-fit parameters."""
    from scipy import optimize

    d_hat, theta = lik.profile_at(np.zeros(3), flux="free")
    d_bkg, _ = lik.profile_at(np.zeros(3), flux="free", fixed={"flux_8B": 0.0, "hep": 0.0})
    q0 = max(d_bkg - d_hat, 0.0)
    f_hat = theta[I_FLUX]

    def excess(f):
        return lik.profile_at(np.zeros(3), flux="free", fixed={"flux_8B": f})[0] - d_hat - 1.0

    lo = 0.0 if excess(0.0) <= 0 else optimize.brentq(excess, 0.0, f_hat, xtol=1e-6)
    hi = f_hat * 2 + 1.0
    while excess(hi) < 0:
        hi *= 2
    hi = optimize.brentq(excess, f_hat, hi, xtol=1e-6)
    events = component_events(lik, theta)
    signal = sum(v for k, v in events.items() if k.startswith("CEvNS"))
    background = sum(v for k, v in events.items() if not k.startswith("CEvNS"))
    obs = np.asarray(lik.release.observed).sum(axis=1)
    flux = lik.flux_8b_model
    return SMMeasurement(float(f_hat * flux), (float(lo * flux), float(hi * flux)), float(q0),
                         float(np.sqrt(q0)), tuple(map(float, signal)),
                         tuple(map(float, background)), tuple(int(n) for n in obs)), theta


def projections(lik: PoissonLikelihood, theta: np.ndarray, mu=None) -> dict:
    """Observed and expected events projected on each observable (summed over runs).

    Returns ``{observable: {"observed": (3,), component: (3,), ..., "MM": (3,)}}``; the
    components at ``theta`` (mu = 0), ``MM`` the extra events of the moments ``mu`` (mu_B).
    """
    from ..kernels.poisson_toys import expected_counts

    rel = lik.release
    n_runs = len(rel.runs)
    shape = (n_runs, 3, 3, 3, 3)
    zero = np.zeros_like(lik.templates.mm[..., 0])
    base = lik.kernel_model(zero, zero)
    per_bin = {}
    labels = []
    for name in ("8B", "hep"):
        if name in lik.templates.components:
            labels += [f"CEvNS {name}", None, None]
    labels += ["AC"] * n_runs + ["ER", "neutron"]
    for k, label in enumerate(labels):
        if label is None:
            continue
        single = base._replace(tmpl=base.tmpl[k:k + 1], morph=base.morph[k:k + 1],
                               coef_index=base.coef_index[k:k + 1], mult=base.mult[k:k + 1])
        key = "CEvNS (SM)" if label.startswith("CEvNS") else label
        per_bin[key] = per_bin.get(key, 0) + expected_counts(single, theta)
    if mu is not None:
        mu2 = (np.asarray(mu, dtype=float) / lik.scale) ** 2
        mm = lik.kernel_model((lik.templates.mm * lik.scale**2) @ mu2, zero)
        th = theta.copy()
        th[I_U], th[I_V] = 1.0, 0.0
        per_bin["MM"] = expected_counts(mm, th) - expected_counts(mm._replace(
            coef_index=np.where(mm.coef_index == 1, 0, mm.coef_index),
            tmpl=np.where((mm.coef_index == 1)[:, None, None, None], 0.0, mm.tmpl)), th)
    per_bin["observed"] = np.asarray(rel.observed, dtype=float).ravel()
    out = {}
    for axis, name in enumerate(rel.observables):
        others = tuple(a + 1 for a in range(4) if a != axis)
        out[name] = {k: v.reshape(shape).sum(axis=(0, *others)) for k, v in per_bin.items()}
    return out


def draw_projections(fig, proj: dict, mu_label: str = "") -> list:
    """Four panels: stacked post-fit expectation, observed counts, the MM signal at the limit."""
    axes = fig.subplots(1, len(proj))
    colours = {"AC": "#bdbdbd", "ER": "#9ecae1", "neutron": "#a1d99b", "CEvNS (SM)": "#fc9272"}
    for ax, (name, vals) in zip(axes, proj.items(), strict=True):
        x = np.arange(3)
        bottom = np.zeros(3)
        for key in ("AC", "ER", "neutron", "CEvNS (SM)"):
            ax.bar(x, vals[key], bottom=bottom, color=colours[key], label=key, width=0.8)
            bottom = bottom + vals[key]
        if "MM" in vals:
            top = bottom + vals["MM"]
            ax.step(np.append(x - 0.4, 2.4), np.append(top, top[-1]), where="post",
                    color="#cb181d", ls="--", label=f"+ MM {mu_label}")
        obs = vals["observed"]
        ax.errorbar(x, obs, yerr=np.sqrt(np.maximum(obs, 1)), fmt="ko", ms=4, label="observed")
        ax.set_xticks(x, ["bin 1", "bin 2", "bin 3"])
        ax.set_title(name, fontsize=8)
        ax.set_ylabel("events (SR0 + SR1 + SR2)")
    axes[0].legend(fontsize=6)
    return list(axes)


def write_release_outputs(experiment, out, result, figures: bool = True) -> None:
    """xenonnt_sm_measurement.json, xenonnt_expected.csv and fig_xenonnt_projections."""
    from matplotlib.figure import Figure

    from ..outputs import csv_cell, write_json
    from ..plots import save_figure

    lik = experiment.likelihood
    meas, theta = sm_measurement(lik)
    write_json(out / "xenonnt_sm_measurement.json", {
        **meas.to_dict(), "dataset": experiment.name,
        "published": "XENONnT 2026 (arXiv:2604.06002, SR0+SR1+SR2): about 3.3 sigma; 2024 "
                     "(SR0+SR1): 4.7 (+3.6 -2.3) x 10^6 cm^-2 s^-1, 2.73 sigma",
        "best_fit_parameters": dict(zip(PARAMETERS[:I_U], map(float, theta[:I_U]),
                                        strict=True))})
    prefit, _ = lik.start()
    pre, post = component_events(lik, prefit), component_events(lik, theta)
    lines = ["# expected events per science run and component: prefit (nominal nuisances, "
             "model 8B flux) and postfit (the SM measurement: mu = 0, 8B flux free)",
             "run,component,prefit,postfit,observed"]
    obs = np.asarray(lik.release.observed).sum(axis=1)
    for r, run in enumerate(lik.release.runs):
        for comp in pre:
            lines.append(f"{run},{comp},{csv_cell(pre[comp][r])},{csv_cell(post[comp][r])},")
        lines.append(f"{run},observed,,,{int(obs[r])}")
    (out / "xenonnt_expected.csv").write_text("\n".join(lines) + "\n")
    if not figures:
        return
    limit = result.one_dof.get("mu_e", float("nan"))
    mu = (limit, 0.0, 0.0) if np.isfinite(limit) else None
    fig = Figure(figsize=(13, 3.6), layout="constrained")
    draw_projections(fig, projections(lik, theta, mu),
                     f"mu_e = {limit:.2g} mu_B (1 d.o.f. limit)" if mu else "")
    fig.suptitle(f"{experiment.name}: observed and post-fit expected events (CC-BY-4.0 XENON "
                 "collaboration data release)", fontsize=9)
    save_figure(fig, out, "fig_xenonnt_projections")
