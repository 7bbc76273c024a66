"""Binned Poisson likelihood of the COHERENT CsI[Na] full dataset on the compiled profiler.

Observed: the coincident events ``dataBeamOnC.txt`` in the 8 x 11 (PE, t_rec) bins of
:mod:`.response`. Expected counts

    lambda_b = r_cevns r_flux S_b + r_flux (u X_b + v Y_b) + r_ss SS_b + r_brn BRN_b
               + r_nin NIN_b + r_n sum_k s_k dS_kb,  r_n = r_cevns or r_flux              (L1)

* S: our SM CEvNS (:func:`.response.csi_templates`, the three pi-DAR components summed);
  X, Y: the magnetic-moment templates of the plane's flavours per unit of the kernel's u, v.
* SS, the steady-state background, measured by the anti-coincident sample: its PE histogram
  (events with 8 <= PE < 60, t < 6 us, in our PE bins) times the time shape eps_T(t), the
  two taken as independent (the release treats PE and t_rec of steady-state events as
  independent). The AC window has the length of the C window, so its count N_AC = 1291
  estimates the steady state in C: r_ss = 1 +- 1/sqrt(N_AC) (Poisson). The time shape
  carries the time efficiency because random events pass the same cuts: the 4890 AC events
  prefer eps_T over a flat distribution by 2 Delta ln L = 22 (fitted slope 0.040/us against
  0.0494/us). The statistical noise of the AC PE histogram (5-10 % per PE bin) is not
  propagated.
* BRN, NIN: beam-related and neutrino-induced neutrons, each the product of the release's PE
  spectrum (which already includes the PE efficiency) and time distribution (times eps_T),
  normalised to the paper's predictions in the region, 18.4 +- 4.6 (BRN) and 5.6 +- 2.0 (NIN)
  events, with those Gaussian priors (numbers of arXiv:2110.07730 as used by public fitters
  of the release, Newtrinos.jl: +-25 % and +-36 %; the release's files themselves give
  18.3 and 5.2 events in the region).
* Shape nuisances s_k, unit Gaussians, as linear template differences of our CEvNS:
  quenching models 0 and 1 of ``scintRespCoefficients.txt``, dS = (S_+1sigma - S_-1sigma)/2
  each; the efficiency, (S_+1sigma - S_-1sigma)/2 of ``effCoefficients.txt``; the timing
  offset, (S(t_b + 50 ns) - S(t_b - 50 ns))/2 (:data:`TIMING_SIGMA_US`, our estimate of how
  well the NIN time distribution fixes the CEvNS clock). In the SM fit they multiply r_cevns
  and have their part proportional to S removed (they move events, the count is r_cevns
  sum S); in magnetic-moment scans (r_cevns = 1) they multiply r_flux and keep their
  normalisation effect. The MM templates carry no shape nuisances.
* r_flux = 1 +- 0.10 (the SNS flux); r_cevns free in the SM fit (r_flux fixed at 1 there),
  fixed at 1 in magnetic-moment scans.

Shape nuisances are bounded by +-c, c = min_b lambda_b / sum_k |dS_kb| at the prior centres
(at most 5), so lambda stays >= 0 (:meth:`CsILikelihood.shape_bound`).
"""

from __future__ import annotations

import itertools
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
from . import response as R

RATE_PARAMETERS = ("cevns", "flux_sns", "steady_state", "brn", "nin", "quenching_0", "quenching_1",
                   "efficiency", "timing")
PARAMETERS = (*RATE_PARAMETERS, "s0", "s1", "u", "v")
I_CEVNS, I_FLUX, I_SS, I_BRN, I_NIN = range(5)
SHAPE_NUISANCES = RATE_PARAMETERS[5:]
I_S0, I_S1, I_U, I_V = (len(RATE_PARAMETERS) + k for k in range(4))
MAX_SHAPE_BOUND = 5.0

#: Predicted neutron backgrounds in the region (events) and their 1-sigma (module docstring).
BRN_EVENTS, BRN_SIGMA = 18.4, 4.6
NIN_EVENTS, NIN_SIGMA = 5.6, 2.0
#: Width of the CEvNS timing-offset nuisance (us).
TIMING_SIGMA_US = 0.05


def _rebin_time(values: np.ndarray, centres_us: np.ndarray, edges_us: np.ndarray) -> np.ndarray:
    """A fine histogram (equal bins at ``centres_us``) rebinned by overlap fraction."""
    h = centres_us[1] - centres_us[0]
    lo, hi = centres_us - 0.5 * h, centres_us + 0.5 * h
    out = np.zeros(edges_us.size - 1)
    for k, (a, b) in enumerate(itertools.pairwise(edges_us)):
        overlap = np.clip(np.minimum(hi, b) - np.maximum(lo, a), 0.0, None) / h
        out[k] = np.sum(values * overlap)
    return out


def neutron_template(pe_values: np.ndarray, time_values: np.ndarray, events: float
                     ) -> np.ndarray:
    """PE spectrum x (time distribution x eps_T), normalised to ``events`` in the region."""
    from .release import PE_CENTRES, TREC_CENTRES_US

    pe = np.array([pe_values[(PE_CENTRES > a) & (PE_CENTRES < b)].sum()
                   for a, b in zip(R.PE_EDGES[:-1], R.PE_EDGES[1:], strict=True)])
    t = _rebin_time(time_values * R.time_efficiency(TREC_CENTRES_US), TREC_CENTRES_US,
                    R.TIME_EDGES_US)
    shape = np.outer(pe, t).ravel()
    return events * shape / shape.sum()


def steady_state_template(anticoincident: np.ndarray) -> np.ndarray:
    """AC PE histogram x eps_T time shape, normalised to the AC count in the region."""
    h = R.histogram(anticoincident).reshape(R.N_PE, R.N_TIME)
    t = R.time_efficiency_integrals(R.TIME_EDGES_US)
    return np.outer(h.sum(axis=1), t / t.sum()).ravel()


@dataclass(frozen=True)
class CsILikelihood(CoherentLikelihood, BinnedPoisson):
    """The arrays of (L1) and the fits built on them.

    Attributes
    ----------
    release : CsIRelease
    nominal : CsITemplates
        Our CEvNS expectation with the nominal detector model.
    variations : dict
        Signal S (88,) of every systematic variation: ``model0_plus`` ... ``model1_minus``,
        ``eff_plus``, ``eff_minus``, ``time_plus``, ``time_minus``.
    """

    release: object
    nominal: object
    variations: dict

    #: All kernel parameters in order.
    parameters = PARAMETERS
    #: Prefix of this likelihood's own parameters in a merged model.
    label = "coherent_csi"

    @classmethod
    def build(cls, release, model) -> CsILikelihood:
        """Compute the nominal templates and all systematic variations.

        ``model`` is CsI seen by the SNS beam (:func:`.response.csi_model`).
        """
        spectra = R.csi_spectra(model)
        beam = model.source.beam
        nominal = R.csi_templates(release, model, spectra)
        var = {}
        for q in ("model0_plus", "model0_minus", "model1_plus", "model1_minus"):
            var[q] = R.csi_templates(release, model, spectra, quenching=q).sm.sum(axis=0)
        for e in ("plus", "minus"):
            var[f"eff_{e}"] = R.csi_templates(release, model, spectra,
                                              efficiency=e).sm.sum(axis=0)
        for sign, name in ((1.0, "time_plus"), (-1.0, "time_minus")):
            var[name] = R.csi_templates(release, model, spectra, beam=beam.shifted(
                sign * TIMING_SIGMA_US)).sm.sum(axis=0)
        return cls(release, nominal, var)

    # -- arrays ---------------------------------------------------------------------------

    @property
    def observed(self) -> np.ndarray:
        return R.histogram(self.release.coincident)

    @property
    def cevns_templates(self):
        return self.nominal

    @property
    def signal(self) -> np.ndarray:
        return self.nominal.sm.sum(axis=0)

    def backgrounds(self) -> dict[str, np.ndarray]:
        """Steady state, BRN and NIN templates (88,) at their prior centres."""
        r = self.release
        return {"steady_state": steady_state_template(r.anticoincident),
                "brn": neutron_template(r.brn_pe, r.brn_time, BRN_EVENTS),
                "nin": neutron_template(r.nin_pe, r.nin_time, NIN_EVENTS)}

    def shape_differences(self, shape_only: bool = False) -> dict[str, np.ndarray]:
        """dS of every shape nuisance, (88,) each.

        ``shape_only``: with the part proportional to S removed, dS - (sum dS / sum S) S,
        so that the nuisances move events between bins but keep their number; then
        r_cevns x sum S is the fitted number of CEvNS events (the SM fit).
        """
        v = self.variations
        out = {"quenching_0": 0.5 * (v["model0_plus"] - v["model0_minus"]),
               "quenching_1": 0.5 * (v["model1_plus"] - v["model1_minus"]),
               "efficiency": 0.5 * (v["eff_plus"] - v["eff_minus"]),
               "timing": 0.5 * (v["time_plus"] - v["time_minus"])}
        if shape_only:
            s = self.signal
            out = {k: d - d.sum() / s.sum() * s for k, d in out.items()}
        return out

    def shape_terms(self, sm_fit: bool = False) -> list[tuple[str, np.ndarray, str]]:
        """(name, dS, owner): every shape nuisance moves the signal (its count kept in the SM
        fit)."""
        return [(name, diff, SIGNAL) for name, diff in self.shape_differences(sm_fit).items()]

    def shape_bound(self, shape_only: bool = False) -> float:
        lam = self.signal + sum(self.backgrounds().values())
        dsum = sum(np.abs(d) for d in self.shape_differences(shape_only).values())
        mask = dsum > 0
        return float(min(MAX_SHAPE_BOUND, np.min(lam[mask] / dsum[mask])))

    def constraints(self, shape_only: bool = False):
        n = len(PARAMETERS)
        centre, sigma = np.zeros(n), np.zeros(n)
        lo, hi = np.zeros(n), np.full(n, np.inf)
        centre[:5] = 1.0
        sigma[I_FLUX] = R.FLUX_SIGMA
        sigma[I_SS] = 1.0 / np.sqrt(self.backgrounds()["steady_state"].sum())
        sigma[I_BRN] = BRN_SIGMA / BRN_EVENTS
        sigma[I_NIN] = NIN_SIGMA / NIN_EVENTS
        self.shape_constraints(centre, sigma, lo, hi, self.shape_bound(shape_only))
        return centre, sigma, lo, hi

    def describe(self) -> dict:
        return {
            "likelihood": "extended binned Poisson (Baker-Cousins deviance) over the 8 x 11 "
                          "(PE, time) bins of the CsI[Na] full dataset, constrained nuisances "
                          "profiled by the compiled Newton method",
            "parameters": list(PARAMETERS[:I_S0]),
            "flux": self.release.flux_used,
            "flux_sns": f"1 +- {R.FLUX_SIGMA:g} (shared by name with other SNS detectors)",
            "steady_state": "the anti-coincident sample (PE shape x time efficiency), "
                            "normalisation 1 +- 1/sqrt(N_AC)",
            "priors_events": {"brn": [BRN_EVENTS, BRN_SIGMA], "nin": [NIN_EVENTS, NIN_SIGMA]},
            "shape_systematics": list(SHAPE_NUISANCES),
            "beam_mean_us": self.nominal.beam.mean_us,
            "shape_bound": self.shape_bound(),
        }
