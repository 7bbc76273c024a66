"""Binned Poisson likelihood of COHERENT CENNS-10 Analysis A on the compiled profiler.

The collaboration's 3-D fit (energy x F90 x time, 960 bins, arXiv:2003.10630 and the release
note arXiv:2006.12659) as a :class:`~cevns_scan.kernels.poisson.PoissonModel`. Expected counts

    lambda_b = r_cevns r_flux S_b + r_flux (u X_b + v Y_b)
               + r_ss SS_b + r_brn (BRN_b + sum_k s_k dBRN_kb) + r_dbrn dBRN_b
               + r_n (s_F90 dS_F90,b + s_t dS_t,b),   r_n = r_cevns or r_flux             (L1)

with S our computed SM CEvNS (:mod:`.response`, all three pi-DAR components), X, Y the
magnetic-moment templates of the plane's two flavours per unit of the kernel's u, v, and the
release's steady-state (``bkgpdf``), prompt (``brnpdf``) and delayed (``delbrnpdf``)
beam-related-neutron PDFs. In the kernel's notation every term is one template with its
c_k(u, v) and the two rate multipliers of ``mult``; a shape difference carries its
component's normalisation and its own nuisance.

Shape systematics (each scaled by its own unit-Gaussian nuisance s, centre 0, width 1):

* two-sided, symmetrised: dT = (T_+1sigma - T_-1sigma) / 2 for the BRN energy scale
  (``brnpdf+-1sigEnergy``), the BRN timing mean (``brnpdf+-1sigBRNTimingMean``) and the
  CEvNS F90 (``cevnspdf+-1sigF90``);
* one-sided: dT = T_syst - T_nominal for the BRN timing width (``brnpdfBRNTimingWidthSyst``)
  and the CEvNS timing mean (``cevnspdfCEvNSTimingMeanSyst``).

The CEvNS differences are the release's, rescaled by (sum of S) / (sum of cevnspdf) so that
they are the same fraction of our prediction as of the collaboration's. They multiply the
signal's free normalisation: r_cevns in the SM fit (where r_flux = 1), r_flux in
magnetic-moment scans (where r_cevns = 1), written r_n in (L1). The magnetic-moment
templates carry no shape nuisances.

Priors (Gaussian constraints on the multipliers, centre and width in units of the template
sums; from ``LArParametersAnlA.yaml``): steady state 3154 +- 25 events, prompt BRN 497 +- 160,
delayed BRN 33 +- 33; the neutrino flux r_flux = 1 +- 0.10 (0.09 +- 0.009 nu per flavour per
POT). r_cevns is free (the SM fit) or fixed at 1 (magnetic-moment scans).

Positivity: every shape nuisance is bounded by +-c with c the largest value (at most
:data:`MAX_SHAPE_BOUND`) for which lambda_b >= 0 in every bin when all shape nuisances sit
at +-c with the signs that lower it and the normalisations at their prior centres,
c = min_b lambda_b / sum_k |dT_kb| (:meth:`ArgonLikelihood.shape_bound`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .._coherent import (  # noqa: F401 - SMFit, MU_UNIT, FLAVOUR_INDEX kept importable here
    FLAVOUR_INDEX,
    MU_UNIT,
    SIGNAL,
    CoherentLikelihood,
    SMFit,
)
from ..binned_poisson import BinnedPoisson

#: Rate multipliers r_0 .. r_9 of (L1), in the kernel's order.
RATE_PARAMETERS = ("cevns", "flux_sns", "steady_state", "brn", "delayed_brn", "brn_energy",
                   "brn_time_mean", "brn_time_width", "cevns_f90", "cevns_time_mean")
#: All kernel parameters: the rates, two (unused) shape parameters, u and v.
PARAMETERS = (*RATE_PARAMETERS, "s0", "s1", "u", "v")
I_CEVNS, I_FLUX, I_SS, I_BRN, I_DBRN = range(5)
SHAPE_NUISANCES = RATE_PARAMETERS[5:]
I_S0, I_S1, I_U, I_V = (len(RATE_PARAMETERS) + k for k in range(4))
#: Largest bound of a unit-Gaussian shape nuisance.
MAX_SHAPE_BOUND = 5.0
#: The owner of each shape term's normalisation (:data:`SIGNAL`: r_cevns or r_flux).
SHAPE_OWNERS = {"brn_energy": "brn", "brn_time_mean": "brn", "brn_time_width": "brn",
                "cevns_f90": SIGNAL, "cevns_time_mean": SIGNAL}


@dataclass(frozen=True)
class ArgonLikelihood(CoherentLikelihood, BinnedPoisson):
    """The likelihood arrays of (L1) and the fits built on them
    (:class:`~cevns_scan.experiments._coherent.CoherentLikelihood`).

    Attributes
    ----------
    release : LArRelease
    templates : ArgonTemplates
        Our CEvNS expectation (:func:`.response.argon_templates`).
    cevns_source : {"computed", "release"}
        Signal template S: ours, or the collaboration's ``cevnspdf`` (a cross-check of the
        likelihood alone).
    """

    release: object
    templates: object
    cevns_source: str = "computed"

    #: All kernel parameters in order.
    parameters = PARAMETERS
    #: Prefix of this likelihood's own parameters in a merged model.
    label = "coherent_ar"

    # -- arrays ---------------------------------------------------------------------------

    @property
    def observed(self) -> np.ndarray:
        return np.asarray(self.release.observed, dtype=float)

    @property
    def cevns_templates(self):
        return self.templates

    @property
    def signal(self) -> np.ndarray:
        """S of (L1), (960,)."""
        if self.cevns_source == "release":
            return np.asarray(self.release.cevns, dtype=float)
        return self.templates.sm.sum(axis=0)

    def backgrounds(self) -> dict[str, np.ndarray]:
        """Steady state, prompt and delayed BRN PDFs of the release, (960,) each."""
        r = self.release
        return {"steady_state": np.asarray(r.steady_state, dtype=float),
                "brn": np.asarray(r.brn, dtype=float),
                "delayed_brn": np.asarray(r.delayed_brn, dtype=float)}

    def shape_differences(self) -> dict[str, np.ndarray]:
        """dT of every shape nuisance, (960,) each (module docstring)."""
        r = self.release
        scale = self.signal.sum() / float(np.sum(r.cevns))
        return {
            "brn_energy": 0.5 * (r.brn_energy_plus - r.brn_energy_minus),
            "brn_time_mean": 0.5 * (r.brn_time_mean_plus - r.brn_time_mean_minus),
            "brn_time_width": r.brn_time_width - r.brn,
            "cevns_f90": 0.5 * (r.cevns_f90_plus - r.cevns_f90_minus) * scale,
            "cevns_time_mean": (r.cevns_time_mean - r.cevns) * scale,
        }

    def shape_terms(self, sm_fit: bool = False) -> list[tuple[str, np.ndarray, str]]:
        """(name, dT, owner) of every shape nuisance (the same in the SM fit)."""
        return [(name, diff, SHAPE_OWNERS[name])
                for name, diff in self.shape_differences().items()]

    def prior_centres(self) -> np.ndarray:
        """Centres of the normalisation multipliers (prediction / template sum)."""
        p = self.release.parameters.predicted
        c = np.zeros(len(RATE_PARAMETERS))
        c[I_CEVNS] = c[I_FLUX] = 1.0
        for name, tmpl in self.backgrounds().items():
            c[PARAMETERS.index(name)] = p[name][0] / tmpl.sum()
        return c

    def shape_bound(self) -> float:
        """c of the module docstring."""
        c = self.prior_centres()
        lam = c[I_CEVNS] * self.signal
        for name, tmpl in self.backgrounds().items():
            lam = lam + c[PARAMETERS.index(name)] * tmpl
        dsum = sum(np.abs(d) for d in self.shape_differences().values())
        mask = dsum > 0
        return float(min(MAX_SHAPE_BOUND, np.min(lam[mask] / dsum[mask])))

    def constraints(self, sm_fit: bool = False
                    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """(centre, sigma, lo, hi) of all parameters; sigma 0 means unconstrained."""
        n = len(PARAMETERS)
        p = self.release.parameters
        centre, sigma = np.zeros(n), np.zeros(n)
        lo, hi = np.zeros(n), np.full(n, np.inf)
        centre[:len(RATE_PARAMETERS)] = self.prior_centres()
        sigma[I_FLUX] = p.nu_per_flavour_per_pot_sigma / p.nu_per_flavour_per_pot
        for name, tmpl in self.backgrounds().items():
            sigma[PARAMETERS.index(name)] = p.predicted[name][1] / tmpl.sum()
        self.shape_constraints(centre, sigma, lo, hi, self.shape_bound())
        return centre, sigma, lo, hi

    def describe(self) -> dict:
        p = self.release.parameters
        return {
            "likelihood": "extended binned Poisson (Baker-Cousins deviance) over the 12 x 8 x 10 "
                          "(energy, F90, time) bins of CENNS-10 Analysis A, constrained "
                          "nuisances profiled by the compiled Newton method",
            "parameters": list(PARAMETERS[:I_S0]),
            "cevns_template": ("computed (pi-DAR source, quenching, resolution, acceptance)"
                               if self.cevns_source == "computed" else "the release's cevnspdf"),
            "flux_sns": f"1 +- {p.nu_per_flavour_per_pot_sigma / p.nu_per_flavour_per_pot:g} "
                        "(nu per flavour per POT, shared by name with other SNS detectors)",
            "priors_events": {k: list(v) for k, v in p.predicted.items()},
            "shape_systematics": list(SHAPE_NUISANCES),
            "shape_bound": self.shape_bound(),
        }
