"""The likelihood of the XENONnT solar-8B CEvNS release (docs/design.md §3) and its data.

Extended binned Poisson over the 3 x 81 bins of the science runs SR0-SR2, as the
Baker-Cousins deviance, with Gaussian constraints on the 8B flux (SNO, or free), the signal
efficiency, the accidental-coincidence rate of each run, the ER and neutron rates, and the
light- and charge-yield shifts t_ly, t_qy (unit Gaussians) that morph the signal and neutron
templates between the 7 x 7 anchors (bilinearly). hep CEvNS is fixed at the model's flux.
The Likelihood methods are those of :class:`~cevns_scan.experiments.binned_poisson.BinnedPoisson`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ...errors import InputError
from ..binned_poisson import BinnedPoisson
from .fold import FoldedTemplates, MonoEfficiencyFold

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
class PoissonLikelihood(BinnedPoisson):
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
    #: (name, value) of parameters held fixed at a value in every fit (modelling variations:
    #: a fixed efficiency, fixed yields, hep off), beside those fixed by the model (hep).
    pinned: tuple[tuple[str, float], ...] = ()

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
        from ...kernels.poisson import make_model

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
        for name, value in self.pinned:
            i = self.parameter_index(name)
            theta[i] = value
            free[i] = False
        return theta, free

    def pin(self, **values: float) -> PoissonLikelihood:
        """The same likelihood with parameters held at ``values`` (e.g. ``efficiency=1.0``)."""
        import dataclasses

        for name in values:
            self.parameter_index(name)  # known?
        merged = dict(self.pinned) | {k: float(v) for k, v in values.items()}
        return dataclasses.replace(self, pinned=tuple(merged.items()))

    def mm_all(self) -> np.ndarray:
        """Magnetic-moment events per unit u = (mu / scale)^2, (J, R, 7, 7, 81, 3)."""
        return self.templates.mm * self.scale**2

    # -- the Likelihood interface ------------------------------------------------------------

    #: Parameters a joint fit may share by name: the 8B flux (with CDEX-like eq. 18, say).
    shared = ("flux_8B",)
    #: Few events per bin: the chi2 distribution of -2 ln L is only indicative.
    gof_note = ("Poisson bins with few events: the chi2 distribution of -2 ln L is only "
                "indicative here")
    #: Prefix of this likelihood's own parameters in a merged model.
    label = "xenonnt"
    #: All kernel parameters in order (rates, yields, u, v).
    parameters = PARAMETERS

    @property
    def n_data(self) -> int:
        return int(np.asarray(self.release.observed).size)

    @property
    def n_unconstrained(self) -> int:
        return 1 if self.settings.flux_8B == "free" else 0

    def mu_scale(self, flavour: str) -> float:
        """Where the magnetic-moment events reach the square root of the background (mu_B)."""
        from ...config import FLAVOURS

        rel = self.release
        signal = float(self.templates.mm[:, :, 3, 3, :, FLAVOURS.index(flavour)].sum())
        background = float((np.asarray(rel.ac).sum(1) * rel.exposure_t_y).sum())
        if not signal > 0:
            raise InputError(f"the mu_{flavour} templates of {rel.format_name} vanish; no "
                             f"limit on mu_{flavour}")
        return (max(background, 1.0) ** 0.5 / signal) ** 0.5

    def sm_measurement(self, toys: int = 0, seed: int = 0):
        """The Standard-Model measurement (8B flux, nested CEvNS significance; ``toys`` > 0
        adds the toy-based significance): :func:`.measurement.sm_measurement`."""
        from .measurement import sm_measurement

        return sm_measurement(self, toys, seed)[0]

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
            **({"pinned": dict(self.pinned)} if self.pinned else {}),
            "morphing": "bilinear between the 7 x 7 (t_ly, t_qy) anchors",
            "fold": "PCHIP efficiency x rate, Gauss-Legendre, 0.5-5.0 keV_nr (zero outside)",
        }


# -- data and experiment ----------------------------------------------------------------------

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
                "citation": p.attribution,
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

    #: The experiment kind of the XENONnT release (:mod:`cevns_scan.experiments.xenonnt`).
    kind = "xenonnt"


def load_release_data(spec: str) -> ReleaseData:
    """``'xenonnt-8b'`` (the shipped file) or the path of a file made by ``import-xenonnt``."""
    from ...tables import data_file
    from .release import load_release_file

    if spec == RELEASE_NAME:
        return ReleaseData(RELEASE_NAME, load_release_file(data_file("xenonnt_8b.npz")),
                           "cevns_scan.data/xenonnt_8b.npz")
    from pathlib import Path

    return ReleaseData(Path(spec).stem, load_release_file(spec), str(spec))


def xenonnt_experiment(data: ReleaseData, model, config):
    """The XENONnT experiment: the fold on xenon (whatever the config's target) + likelihood."""
    from ..protocols import Experiment

    xe = model.with_target("Xe")
    response = MonoEfficiencyFold(data.release)
    templates = response.templates(xe)
    flux = next(c.flux for c in xe.components if c.name == "8B")
    lik = PoissonLikelihood(data.release, templates, config.xenonnt, flux, MU_UNIT)
    return Experiment(data.label, data, response, templates, lik, "Xe", "xenonnt")


#: The kernel's unit of the squared moments: u = (mu / MU_UNIT)^2 keeps its numbers of order 1.
MU_UNIT = 1e-9
