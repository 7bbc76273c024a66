"""Expected CEvNS counts of COHERENT CsI[Na] (full dataset) in (PE, t_rec) bins.

For each pi-DAR component c (:mod:`cevns_scan.sources.pion_dar`)

    N_c(i, k) = [ int dT dN_c/dT(T) P_i(E_ee(T)) ] f_c(k),                               (C1)

* dN_c/dT: recoils per keV_nr on Cs-133 and I-127, each with its own Z, N, mass, Helm radius
  and number per kg of CsI (eq. 12 per nucleus), fluence r N_POT / (4 pi L^2);
* E_ee(T) = a x + b x^2 + c x^3 + d x^4, x = T in MeV_nr, E_ee in MeV_ee: the release's
  scintillation response (nominal or a systematic model);                                (C2)
* P_i(E) = int_{PE bin i} eps(x) Gamma(x; k, theta) dx: the photoelectron count x is gamma
  distributed with mean LY E_ee and shape k = 1 + B E_ee (E_ee in keV_ee), theta = LY E / k,
  i.e. the density (a(1+b))^(1+b) / Gamma(1+b) x^b exp(-a(1+b) x) with a = 1/(LY E),
  b = B E of the COHERENT CsI release of 2018 (arXiv:1804.09459: a = 0.0749/E_ee,
  b = 9.56 E_ee, E_ee in keV_ee; 1/0.0749 = 13.35), with the light yield of the full
  dataset LY = 13.35 PE/keV_ee. eps is the release's efficiency sigmoid in reconstructed PE
  (clipped at 0). The x integral uses 8-point Gauss-Legendre on 0.5-PE pieces;    (C3)
* f_c(k) = int_{bin k} eps_T(t) rho_c(t) dt: arrival-time density (pi-DAR eqs. P5-P6) times
  the time efficiency eps_T(t) = 1 for t < 0.52 us, exp(-0.0494 (t - 0.52)/us) after, on
  8-point Gauss-Legendre pieces of at most 25 ns.                                        (C4)

The POT trace of the CsI clock is not in the release (nor is ``snsFlux2D.root`` in our copy):
its mean is fitted to the release's own neutrino-induced-neutron time distribution
(``ninTrec.txt``), which follows the delayed nu_e arrival profile (nu_e charged-current
reactions in the lead shield, neutron flight times of nanoseconds), with the SNS trace width
of 150 ns (LArParametersAnlA.yaml, the same beam): t_b = 0.473 us
(:func:`beam_timing_from_nin`).

Binning (:data:`PE_EDGES`, :data:`TIME_EDGES_US`): the CEvNS region PE < 60, t_rec < 6 us of
the release's supplemental material, in the bins of the paper's PE and time projections as
used by public fitters of this release: 4-PE bins over the efficiency turn-on (eps rises from
0 at 7.1 PE to 0.9 at 21 PE) and wider ones above where the spectrum is flat; 125-ns bins
over the prompt peak (POT width 150 ns) in the first microsecond, then 1-2 us bins over the
2.2-us delayed tail. The projections' first bin, 0-8 PE, is left out: the efficiency there is
below 7 % and its +-1 sigma curves move it by 100 % (a linear template difference would
turn the expectation negative at 0.7 sigma), and it holds 11 of the 1578 coincident events.
Finer bins would not help: with the background shape known, the Fisher information of the
released events gives +-29.9 CEvNS events in these bins and +-29.6 in 2-PE x 125-ns bins.

Numbers not in the release, with their sources (none could be checked against the text of
arXiv:2110.07730 itself here; see each constant):
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np
from scipy.stats import gamma

from ...errors import InputError
from ...kernels.constants import KEV_PER_MEV, MEV_PER_KEV
from ...sources import pion_dar
from .._coherent import RecoilSpectra, recoil_spectra

#: Protons on target: 3.198e23, i.e. 13.99 GWh at 983 MeV per proton. The full-dataset
#: exposure of arXiv:2110.07730 as used by public fitters of the release (Newtrinos.jl,
#: src/experiments/coherent/coherent_2020/coherent_csi.jl: 13.99 GWh; another public fitter:
#: 0.0848 x 3.198e23 neutrinos per flavour); not checked against the paper's text here.
POT = 3.198e23
#: Neutrinos per flavour per proton, 0.0848 +- 10 % (Newtrinos.jl src/physics/sns_flux.jl,
#: prior Normal(0.0848, 0.00848)); the ~10 % is the uncertainty of the COHERENT SNS flux
#: simulation (C.-H. Yu et al., "Simulating the neutrino flux from the Spallation Neutron
#: Source for the COHERENT experiment", Phys. Rev. D; ORNL publication record).
NU_PER_FLAVOUR_PER_POT = 0.0848
FLUX_SIGMA = 0.10
#: Distance from the SNS target (m) and CsI[Na] mass (kg): 19.3 m and 14.6 kg. The mass is
#: that of the detector of the first observation (B. Scholz, PhD thesis, arXiv:1904.01155:
#: "a low-background, 14.6-kg CsI[Na] scintillator"); csicheck.json of the COHERENT rate code
#: dukecevns (K. Scholberg, github schol/dukecevns) gives 1930 cm and 14.57 kg.
DISTANCE_M = 19.3
MASS_KG = 14.6
#: Light yield (PE/keV_ee) and the gamma-shape slope B (per keV_ee) of (C3): the gamma
#: parametrisation of the COHERENT CsI release of 2018 (arXiv:1804.09459), with the numbers
#: public fitters use for the full dataset (Newtrinos.jl coherent_csi.jl:
#: "light_yield = 13.35 # PE/keVee", "resolution = [0.0749, 9.56] # a/Eee and b*Eee"; another
#: public fitter the same); not checked against the text of arXiv:2110.07730 here.
LIGHT_YIELD_PE_PER_KEVEE = 13.35
GAMMA_B_PER_KEVEE = 9.56
#: Time efficiency (C4): flat to 0.52 us, then exp(-0.0494 (t - 0.52)); public fitters of the
#: release (Newtrinos.jl coherent_csi.jl and others). The anti-coincident events prefer this
#: shape over a flat one by 2 Delta ln L = 22 (tests/test_coherent_csi.py).
TIME_EFF_ONSET_US = 0.52
TIME_EFF_SLOPE_PER_US = 0.0494
#: SNS POT-trace width (us), LArParametersAnlA.yaml (Zenodo 3903810), the same beam.
POT_WIDTH_US = 0.15

#: Analysis bins (see the module docstring).
PE_EDGES = np.array([8.0, 12.0, 16.0, 20.0, 24.0, 32.0, 40.0, 50.0, 60.0])
TIME_EDGES_US = np.array([0.0, 0.125, 0.25, 0.375, 0.5, 0.625, 0.75, 0.875, 1.0, 2.0, 4.0,
                          6.0])
N_PE, N_TIME = PE_EDGES.size - 1, TIME_EDGES_US.size - 1
N_BINS = N_PE * N_TIME

#: Lower end of the recoil integral (keV_nr): recoils below it (E_ee < 0.003 keV_ee) never
#: reach 8 PE; lowering it to 0.01 keV_nr changes no count (tests/test_coherent_csi.py).
T_MIN_KEV = 0.05
#: Gauss-Legendre order and piece widths of the PE (C3) and time (C4) integrals.
PE_PIECE = 0.5
TIME_PIECE_US = 0.025
GL_ORDER = 8


@dataclass(frozen=True)
class CsITemplates:
    """Expected CEvNS events in the (PE, t) bins, per pi-DAR component.

    Attributes
    ----------
    components : tuple of str
    sm : ndarray, shape (3, 88)
        SM events per bin, C order of (8 PE, 11 time) bins.
    mm : ndarray, shape (3, 88, 3)
        Magnetic-moment events per mu_B^2 of flavour (e, mu, tau).
    pe_sm : ndarray, shape (3, 8)
        SM events per PE bin for all arrival times (before the time window and eps_T).
    time_fractions : ndarray, shape (3, 11)
        f_c(k) of (C4).
    beam : BeamTiming
    quenching, efficiency : str
        The models used.
    """

    components: tuple[str, ...]
    sm: np.ndarray
    mm: np.ndarray
    pe_sm: np.ndarray
    time_fractions: np.ndarray
    beam: pion_dar.BeamTiming
    quenching: str
    efficiency: str

    @property
    def total_sm(self) -> float:
        return float(self.sm.sum())


def _gl(order: int = GL_ORDER):
    return np.polynomial.legendre.leggauss(order)


def _pieces(edges: np.ndarray, width: float, cuts=()) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """GL nodes, weights and bin index on pieces of at most ``width`` inside each bin."""
    x, w = _gl()
    nodes, weights, index = [], [], []
    for i, (a, b) in enumerate(itertools.pairwise(edges)):
        inner = [c for c in cuts if a < c < b]
        bounds = [a, *inner, b]
        for lo, hi in itertools.pairwise(bounds):
            n = max(1, int(np.ceil((hi - lo) / width - 1e-9)))
            cuts_i = np.linspace(lo, hi, n + 1)
            half = 0.5 * np.diff(cuts_i)
            mid = 0.5 * (cuts_i[1:] + cuts_i[:-1])
            nodes.append((mid[:, None] + half[:, None] * x).ravel())
            weights.append((half[:, None] * w).ravel())
            index.append(np.full(nodes[-1].size, i))
    return np.concatenate(nodes), np.concatenate(weights), np.concatenate(index)


def quenched_kevee(t_kevnr, coefficients) -> np.ndarray:
    """E_ee in keV_ee of (C2) for T in keV_nr."""
    a, b, c, d = coefficients
    x = np.asarray(t_kevnr, dtype=float) * MEV_PER_KEV
    return (a * x + b * x**2 + c * x**3 + d * x**4) * KEV_PER_MEV


def pe_efficiency(pe, coefficients) -> np.ndarray:
    """eps(x) = a / (1 + exp(-b (x - c))) + d, clipped to [0, 1] (effCoefficients.txt)."""
    a, b, c, d = coefficients
    x = np.asarray(pe, dtype=float)
    return np.clip(a / (1.0 + np.exp(-b * (x - c))) + d, 0.0, 1.0)


def time_efficiency(t_us) -> np.ndarray:
    """eps_T(t) of (C4)."""
    t = np.asarray(t_us, dtype=float)
    return np.where(t < TIME_EFF_ONSET_US, 1.0,
                    np.exp(-TIME_EFF_SLOPE_PER_US * (t - TIME_EFF_ONSET_US)))


def time_efficiency_integrals(edges_us: np.ndarray) -> np.ndarray:
    """int eps_T dt over each bin (us), in closed form."""
    def primitive(t):
        t = np.asarray(t, dtype=float)
        late = TIME_EFF_ONSET_US + (1.0 - np.exp(-TIME_EFF_SLOPE_PER_US
                                                 * (t - TIME_EFF_ONSET_US))) / TIME_EFF_SLOPE_PER_US
        return np.where(t < TIME_EFF_ONSET_US, t, late)
    return np.diff(primitive(edges_us))


def pe_acceptance(e_kevee: np.ndarray, efficiency, pe_edges: np.ndarray = PE_EDGES,
                  light_yield: float = LIGHT_YIELD_PE_PER_KEVEE,
                  gamma_b: float = GAMMA_B_PER_KEVEE) -> np.ndarray:
    """P_i(E) of (C3), shape (Q, n_bins), for electron-equivalent energies ``e_kevee`` > 0."""
    e = np.asarray(e_kevee, dtype=float)
    if np.any(e <= 0):
        raise InputError("electron-equivalent energies must be > 0 keV_ee")
    x, w, idx = _pieces(pe_edges, PE_PIECE)
    k = 1.0 + gamma_b * e
    theta = light_yield * e / k
    dens = gamma.pdf(x[None, :], a=k[:, None], scale=theta[:, None])  # (Q, nodes)
    weighted = dens * (w * pe_efficiency(x, efficiency))[None, :]
    out = np.zeros((e.size, pe_edges.size - 1))
    for i in range(out.shape[1]):
        out[:, i] = weighted[:, idx == i].sum(axis=1)
    return out


def efficient_time_fractions(edges_us: np.ndarray, timing: str,
                             beam: pion_dar.BeamTiming) -> np.ndarray:
    """f_c(k) of (C4): the arrival density times eps_T integrated over each time bin."""
    x, w, idx = _pieces(edges_us, TIME_PIECE_US, cuts=(TIME_EFF_ONSET_US,))
    vals = w * time_efficiency(x) * pion_dar.arrival_density(x, timing, beam)
    return np.bincount(idx, weights=vals, minlength=edges_us.size - 1)


def beam_timing_from_nin(release, width_us: float = POT_WIDTH_US) -> pion_dar.BeamTiming:
    """POT-trace mean in the CsI clock, fitted to ``ninTrec.txt`` as a delayed profile.

    Least squares of the NIN time histogram (10-ns bins) against its total times the
    delayed arrival fractions (pi-DAR eq. P8) of a trace with the given width.
    """
    from scipy.optimize import least_squares

    from .release import TREC_CENTRES_US

    edges = np.append(TREC_CENTRES_US - 0.005, TREC_CENTRES_US[-1] + 0.005)
    y = np.asarray(release.nin_time, dtype=float)
    total = y.sum()

    def resid(p):
        return total * pion_dar.time_fractions(edges, "delayed",
                                               pion_dar.BeamTiming(p[0], width_us)) - y

    start = float((TREC_CENTRES_US * y).sum() / total) - pion_dar.TAU_MU_US
    fit = least_squares(resid, [max(start, 0.0)], xtol=1e-12, ftol=1e-14)
    return pion_dar.BeamTiming(float(fit.x[0]), width_us)


def csi_source(beam: pion_dar.BeamTiming, n_michel: int = pion_dar.MICHEL_NODES
               ) -> pion_dar.PionDARSource:
    """The SNS beam as the CsI[Na] detector saw it: the exposure constants above and the POT
    trace of the CsI clock (:func:`beam_timing_from_nin`)."""
    return pion_dar.pion_dar_source(NU_PER_FLAVOUR_PER_POT, POT, DISTANCE_M, FLUX_SIGMA, beam,
                                    n_michel)


def csi_model(release, model, beam: pion_dar.BeamTiming | None = None):
    """The analysis ``model`` (couplings, isotope choice) for CsI (Cs and I nuclei, each with
    its own Z, N, mass and form factor) seen by the SNS beam."""
    beam = beam or beam_timing_from_nin(release)
    return model.with_target("CsI").with_source(csi_source(beam))


def csi_spectra(model, t_min_kev: float = T_MIN_KEV) -> RecoilSpectra:
    """dN_c/dT of (C1) on Gauss-Legendre recoil nodes for the 14.6 kg of CsI."""
    return recoil_spectra(model, MASS_KG, t_min_kev)


def csi_templates(release, model, spectra: RecoilSpectra | None = None,
                  quenching: str = "nominal", efficiency: str = "nominal",
                  beam: pion_dar.BeamTiming | None = None) -> CsITemplates:
    """The CEvNS expectation (C1) per pi-DAR component in the (PE, t) bins.

    Parameters
    ----------
    release : CsIRelease
    model : cevns_scan.model.Model
        CsI seen by the SNS beam (:func:`csi_model`).
    spectra : RecoilSpectra, optional
        :func:`csi_spectra` of ``model`` (computed if not given).
    quenching : str
        A row of ``scintRespCoefficients.txt`` (:data:`.release.QUENCHING_MODELS`).
    efficiency : str
        A row of ``effCoefficients.txt`` (:data:`.release.EFFICIENCY_MODELS`).
    beam : BeamTiming, optional
        Another POT trace for the arrival times (a timing variation); default the model
        source's.
    """
    spectra = spectra or csi_spectra(model)
    source = model.source if beam is None else model.source.with_beam(beam)
    e_ee = quenched_kevee(spectra.t_kev, release.quenching[quenching])
    keep = e_ee > 0
    acc = np.zeros((e_ee.size, N_PE))
    acc[keep] = pe_acceptance(e_ee[keep], release.efficiency[efficiency])
    pe_sm = (spectra.sm * spectra.weights) @ acc  # (3, 8)
    pe_mm = np.einsum("cqf,q,qi->cif", spectra.mm, spectra.weights, acc)
    tf = np.stack([efficient_time_fractions(TIME_EDGES_US, source.timing(c), source.beam)
                   for c in spectra.components])
    sm = np.einsum("ci,ck->cik", pe_sm, tf).reshape(len(tf), -1)
    mm = np.einsum("cif,ck->cikf", pe_mm, tf).reshape(len(tf), -1, 3)
    return CsITemplates(tuple(c.name for c in spectra.components), sm, mm, pe_sm, tf,
                        source.beam, quenching, efficiency)


def histogram(events: np.ndarray) -> np.ndarray:
    """Events (PE, t) in the half-open region 8 <= PE < 60, 0 <= t < 6 us, counted in the
    analysis bins: (88,) in C order of (8 PE, 11 time) bins."""
    inside = (events[:, 0] < PE_EDGES[-1]) & (events[:, 1] < TIME_EDGES_US[-1])
    ev = events[inside]
    h, _, _ = np.histogram2d(ev[:, 0], ev[:, 1], bins=(PE_EDGES, TIME_EDGES_US))
    return h.ravel()
