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

from ...errors import InputError
from .._coherent import count_interval, profile_grid
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
#: The kernel's unit of the squared moments: u = (mu / MU_UNIT)^2.
MU_UNIT = 1e-9
#: Flavour index of the templates' last axis.
FLAVOUR_INDEX = {"e": 0, "mu": 1, "tau": 2}


@dataclass(frozen=True)
class SMFit:
    """The SM fit: CEvNS count with its 68 % profile-likelihood interval, the nuisances.

    ``counts`` maps steady_state, brn, delayed_brn, cevns to fitted events (multiplier x
    template sum); ``theta`` is the best fit; ``deviance`` -2 ln L at the minimum.
    """

    cevns: float
    cevns_lo: float
    cevns_hi: float
    counts: dict
    theta: np.ndarray
    deviance: float
    predicted_cevns: float


@dataclass(frozen=True)
class ArgonLikelihood(BinnedPoisson):
    """The likelihood arrays of (L1) and the fits built on them.

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

    # -- arrays ---------------------------------------------------------------------------

    @property
    def observed(self) -> np.ndarray:
        return np.asarray(self.release.observed, dtype=float)

    @property
    def signal(self) -> np.ndarray:
        """S of (L1), (960,)."""
        if self.cevns_source == "release":
            return np.asarray(self.release.cevns, dtype=float)
        return self.templates.sm.sum(axis=0)

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

    def prior_centres(self) -> np.ndarray:
        """Centres of the normalisation multipliers (prediction / template sum)."""
        p = self.release.parameters.predicted
        c = np.zeros(len(RATE_PARAMETERS))
        c[I_CEVNS] = c[I_FLUX] = 1.0
        for i, name, tmpl in self._backgrounds():
            c[i] = p[name][0] / tmpl.sum()
        return c

    def _backgrounds(self):
        r = self.release
        return ((I_SS, "steady_state", np.asarray(r.steady_state, dtype=float)),
                (I_BRN, "brn", np.asarray(r.brn, dtype=float)),
                (I_DBRN, "delayed_brn", np.asarray(r.delayed_brn, dtype=float)))

    def shape_bound(self) -> float:
        """c of the module docstring."""
        c = self.prior_centres()
        lam = c[I_CEVNS] * self.signal
        for i, _, tmpl in self._backgrounds():
            lam = lam + c[i] * tmpl
        dsum = sum(np.abs(d) for d in self.shape_differences().values())
        mask = dsum > 0
        return float(min(MAX_SHAPE_BOUND, np.min(lam[mask] / dsum[mask])))

    def constraints(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """(centre, sigma, lo, hi) of all parameters; sigma 0 means unconstrained."""
        n = len(PARAMETERS)
        p = self.release.parameters
        centre, sigma = np.zeros(n), np.zeros(n)
        lo, hi = np.zeros(n), np.full(n, np.inf)
        centre[:len(RATE_PARAMETERS)] = self.prior_centres()
        sigma[I_FLUX] = p.nu_per_flavour_per_pot_sigma / p.nu_per_flavour_per_pot
        for i, name, tmpl in self._backgrounds():
            sigma[i] = p.predicted[name][1] / tmpl.sum()
        c = self.shape_bound()
        for name in SHAPE_NUISANCES:
            i = PARAMETERS.index(name)
            centre[i], sigma[i], lo[i], hi[i] = 0.0, 1.0, -c, c
        lo[I_S0] = lo[I_S1] = -np.inf
        return centre, sigma, lo, hi

    def mm_template(self, flavour: str) -> np.ndarray:
        """Magnetic-moment events per unit of the kernel's u (mu = MU_UNIT), (960,)."""
        return self.templates.mm[..., FLAVOUR_INDEX[flavour]].sum(axis=0) * MU_UNIT**2

    def kernel_model(self, mx: np.ndarray | None = None, my: np.ndarray | None = None,
                     n_obs: np.ndarray | None = None, sm_fit: bool = False):
        """The :class:`~cevns_scan.kernels.poisson.PoissonModel` of (L1).

        ``mx``, ``my``: the (960,) templates of u and v (default zero). ``sm_fit``: the CEvNS
        shape differences are scaled by r_cevns (the SM fit), otherwise by r_flux
        (magnetic-moment scans, where r_cevns = 1).
        """
        from ...kernels.poisson import make_model

        zero = np.zeros(self.observed.size)
        mx = zero if mx is None else mx
        my = zero if my is None else my
        tmpl, coef, mult = [], [], []

        def add(values, c, m0, m1=-1):
            tmpl.append(values)
            coef.append(c)
            mult.append((m0, m1))

        add(self.signal, 0, I_CEVNS, I_FLUX)
        add(mx, 1, I_FLUX)
        add(my, 2, I_FLUX)
        for i, _, values in self._backgrounds():
            add(values, 0, i)
        signal_owner = I_CEVNS if sm_fit else I_FLUX
        owner = {"brn_energy": I_BRN, "brn_time_mean": I_BRN, "brn_time_width": I_BRN,
                 "cevns_f90": signal_owner, "cevns_time_mean": signal_owner}
        for name, diff in self.shape_differences().items():
            add(diff, 0, owner[name], PARAMETERS.index(name))
        centre, sigma, lo, hi = self.constraints()
        stack = np.stack(tmpl)[:, None, None, :]
        return make_model(self.observed if n_obs is None else n_obs, stack,
                          np.zeros(len(tmpl), bool), coef, mult, [0.0], [0.0], centre, sigma,
                          lo, hi)

    def start(self, sm_fit: bool = False) -> tuple[np.ndarray, np.ndarray]:
        """Start (the prior centres, u = v = 0) and the free mask.

        SM fit: r_cevns free, r_flux fixed at 1 (degenerate with r_cevns; it changes the
        cross section, not the fitted count). Magnetic-moment scans: r_cevns fixed at 1,
        r_flux constrained.
        """
        centre, _, _, _ = self.constraints()
        theta = centre.copy()
        free = np.ones(len(PARAMETERS), dtype=bool)
        free[[I_S0, I_S1, I_U, I_V]] = False
        free[I_FLUX if sm_fit else I_CEVNS] = False
        return theta, free

    # -- the Likelihood interface (the rest comes from BinnedPoisson) ------------------------

    #: Prefix of this likelihood's own parameters in a merged model.
    label = "coherent_ar"
    #: All kernel parameters in order.
    parameters = PARAMETERS
    #: mu_B of the kernel's unit u, v.
    scale = MU_UNIT
    #: One neutrino flux for every detector at the SNS: a joint fit shares it by this name.
    shared = ("flux_sns",)
    #: A few events per bin: the chi2 distribution of -2 ln L is only indicative.
    gof_note = ("Poisson bins with few events: the chi2 distribution of -2 ln L is only "
                "indicative here")
    #: Nuisances without a constraint in a magnetic-moment scan (r_cevns is fixed there).
    n_unconstrained = 0

    @property
    def n_data(self) -> int:
        return int(self.observed.size)

    def mm_all(self) -> np.ndarray:
        """Magnetic-moment events per unit u = (mu / MU_UNIT)^2 of (e, mu, tau), (B, 3)."""
        return self.templates.mm.sum(axis=0) * MU_UNIT**2

    def mu_scale(self, flavour: str) -> float:
        """Where the magnetic-moment events reach the square root of all events (mu_B)."""
        signal = float(self._mm(flavour).sum()) / MU_UNIT**2
        if not signal > 0:
            raise InputError(f"the mu_{flavour} templates vanish: this experiment does not "
                             f"constrain mu_{flavour}")
        return (float(self.observed.sum()) ** 0.5 / signal) ** 0.5

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

    # -- fits ------------------------------------------------------------------------------

    def sm_fit(self) -> SMFit:
        """Fit r_cevns with everything else profiled; the 68 % interval from Delta(-2 ln L)=1."""
        from ...kernels.poisson import profile

        model = self.kernel_model(sm_fit=True)
        theta, free = self.start(sm_fit=True)
        r_hat, r_lo, r_hi, best = count_interval(model, theta, free, I_CEVNS)
        d, _, _, _ = profile(best, free, model)
        total = self.signal.sum()
        counts = {"cevns": r_hat * total}
        for i, name, tmpl in self._backgrounds():
            counts[name] = float(best[i] * tmpl.sum())
        return SMFit(r_hat * total, r_lo * total, r_hi * total, counts, best, float(d), total)

    def profile_grid(self, mu_x: np.ndarray, mu_y: np.ndarray, flavours=("e", "mu")):
        """-2 ln L profiled over all nuisances on a (mu_x, mu_y) grid in mu_B.

        Returns (D (nx, ny), seconds per grid point); see
        :func:`cevns_scan.experiments._coherent.profile_grid`.
        """
        model = self.kernel_model(self.mm_template(flavours[0]), self.mm_template(flavours[1]))
        theta, free = self.start(sm_fit=False)
        return profile_grid(model, theta, free, np.asarray(mu_x) / MU_UNIT,
                            np.asarray(mu_y) / MU_UNIT)
