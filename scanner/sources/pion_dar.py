"""Pion decay at rest (pi-DAR): the neutrinos of a spallation source such as the SNS.

Positive pions stop in the target and decay at rest, pi+ -> mu+ nu_mu; the muons stop too and
decay, mu+ -> e+ nu_e anti-nu_mu. Per pi+ decay chain there is one neutrino of each of the
three flavours below, the "neutrinos per flavour" of the COHERENT releases.

Energy spectra (MeV; unit area):

* prompt nu_mu, a line (two-body decay at rest)::

      E_line = (m_pi^2 - m_mu^2) / (2 m_pi) = 29.79 MeV                              (P1)

* delayed nu_e and anti-nu_mu, the Michel spectra of mu+ decay at rest in the limit of a
  massless positron, x = E / m_mu, 0 <= E <= m_mu / 2::

      phi_e(E)     = (192 / m_mu) x^2 (1/2 - x)                                      (P2)
      phi_mubar(E) = ( 64 / m_mu) x^2 (3/4 - x)                                      (P3)

  with mean energies <E> = 3/10 m_mu (nu_e) and 7/20 m_mu (anti-nu_mu).

The rate kernels take a spectrum as a :class:`~cevns_scan.kernels.rates.Spectrum`: the line is
an exact delta term; the Michel spectra are tabulated on :data:`MICHEL_NODES` equally spaced
energies, fine enough that the piecewise-linear flux-averaged cross sections agree with those
of the exact polynomials to better than 1e-8 (relative; tests/test_pion_dar.py checks it
against ``scipy.integrate.quad``). The linear-interpolation error falls as the square of the
spacing: 10001 nodes give 6e-8 for nu_e, 40001 nodes 4e-9.

Arrival times (microseconds in the detector's clock). The proton-on-target (POT) trace is a
Gaussian of mean t_b and width s_b (numbers of each experiment); pions decay with lifetime
tau_pi, muons with tau_mu::

      g(t)         = N(t; t_b, s_b)                                                  (P4)
      rho_prompt   = g * Exp(tau_pi)                                                 (P5)
      rho_delayed  = g * Exp(tau_pi) * Exp(tau_mu)                                   (P6)

(* is a convolution, Exp(tau) the density e^{-t/tau}/tau on t >= 0). Their cumulative
distributions are closed forms: with z = (t - t_b)/s_b and Phi the standard normal CDF, the
exponentially modified Gaussian gives::

      F_tau(t) = Phi(z) - exp(-(t - t_b)/tau + s_b^2/(2 tau^2)) Phi(z - s_b/tau)     (P7)
      F_prompt = F_tau_pi
      F_delayed = (tau_mu F_tau_mu - tau_pi F_tau_pi) / (tau_mu - tau_pi)           (P8)

(P8) because Exp(tau_pi) * Exp(tau_mu) = (tau_mu Exp(tau_mu) - tau_pi Exp(tau_pi)) /
(tau_mu - tau_pi). The exponential factor of (P7) is evaluated as exp(a + log Phi(b)), so it
stays finite for s_b >> tau_pi. The fraction of a component's neutrinos arriving in
[t_lo, t_hi] is F(t_hi) - F(t_lo) (:func:`time_fractions`). The neutrino flight time
(L/c = 64 ns over 19.3 m) is part of t_b, which is given in the detector's clock.

Normalisation: r neutrinos per flavour per proton, isotropic, give at distance L the fluence
(neutrinos per cm^2 of each flavour)::

      Phi = r N_POT / (4 pi L^2)                                                    (P9)

No oscillation: with Delta m^2_31 = 2.5e-3 eV^2, L = 20-30 m and E >= 10 MeV the phase
1.27 Delta m^2 L / E is below 1e-2 rad, so P(nu_mu -> nu_e) < 1e-4.

Flavour of the magnetic-moment term: nu_mu and anti-nu_mu carry mu_mu, nu_e carries mu_e
(:attr:`DarComponent.mm_weights` is the (e, mu, tau) weight vector, the last axis of the
templates' ``mm`` arrays).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy.special import log_ndtr, ndtr

from ..errors import InputError
from ..kernels.constants import (
    CM_PER_M,
    M_MU_MEV,
    M_PI_CHARGED_MEV,
    S_PER_US,
    TAU_MU_S,
    TAU_PI_CHARGED_S,
)
from ..kernels.rates import Spectrum
from ..kernels.spectra import tail_moment_table

#: Equally spaced energies of the tabulated Michel spectra (0 to m_mu/2, spacing 1.32 keV).
MICHEL_NODES = 40001

#: Lifetimes in microseconds.
TAU_PI_US = TAU_PI_CHARGED_S / S_PER_US
TAU_MU_US = TAU_MU_S / S_PER_US

#: Component names, in the order of every component axis.
COMPONENTS = ("prompt_numu", "delayed_nue", "delayed_numubar")
#: Flavour order of the magnetic-moment weight vectors.
FLAVOURS = ("e", "mu", "tau")
#: Timing classes.
TIMINGS = ("prompt", "delayed")


def line_energy_mev() -> float:
    """Energy of the prompt nu_mu line, (m_pi^2 - m_mu^2) / (2 m_pi) in MeV (P1)."""
    return (M_PI_CHARGED_MEV**2 - M_MU_MEV**2) / (2.0 * M_PI_CHARGED_MEV)


def michel_end_point_mev() -> float:
    """End point m_mu / 2 of both Michel spectra in MeV."""
    return 0.5 * M_MU_MEV


def _michel(e_mev, norm: float, const: float) -> np.ndarray:
    e = np.asarray(e_mev, dtype=float)
    x = e / M_MU_MEV
    inside = (e >= 0.0) & (e <= michel_end_point_mev())
    return np.where(inside, norm / M_MU_MEV * x * x * (const - x), 0.0)


def michel_nue(e_mev) -> np.ndarray:
    """nu_e spectrum of mu+ decay at rest, (192/m)(E/m)^2 (1/2 - E/m) in MeV^-1 (P2)."""
    return _michel(e_mev, 192.0, 0.5)


def michel_numubar(e_mev) -> np.ndarray:
    """anti-nu_mu spectrum of mu+ decay at rest, (64/m)(E/m)^2 (3/4 - E/m) in MeV^-1 (P3)."""
    return _michel(e_mev, 64.0, 0.75)


def michel_table(density, n_nodes: int = MICHEL_NODES) -> Spectrum:
    """A Michel density tabulated on ``n_nodes`` equal steps from 0 to m_mu/2, no lines.

    The table is rescaled to unit area (its trapezoid area differs from 1 by ~(h/m)^2).
    """
    if int(n_nodes) < 3:
        raise InputError(f"n_nodes = {n_nodes!r} must be an integer >= 3")
    e = np.linspace(0.0, michel_end_point_mev(), int(n_nodes))
    f = density(e)
    f = f / np.trapezoid(f, e)
    return Spectrum(e, f, tail_moment_table(e, f), np.zeros(0), np.zeros(0))


def line_spectrum() -> Spectrum:
    """The prompt nu_mu line as an exact delta term of unit branching."""
    empty = np.zeros(0)
    return Spectrum(empty, empty, np.zeros((3, 0)), np.array([line_energy_mev()]),
                    np.array([1.0]))


@dataclass(frozen=True)
class DarComponent:
    """One neutrino of the pi-DAR chain.

    Attributes
    ----------
    name : str
        One of :data:`COMPONENTS`.
    label : str
        For tables and plots (``"prompt nu_mu"``).
    timing : {"prompt", "delayed"}
        Its arrival-time profile (P5) or (P6).
    flavour : {"e", "mu"}
        The flavour whose magnetic moment its magnetic-moment term carries.
    spectrum : Spectrum
        Unit-area energy spectrum for the rate kernels.
    mean_energy_mev : float
        Exact mean energy (the line energy; 3/10 or 7/20 m_mu).
    """

    name: str
    label: str
    timing: str
    flavour: str
    spectrum: Spectrum
    mean_energy_mev: float

    @property
    def mm_weights(self) -> np.ndarray:
        """(3,) weights of mu_e^2, mu_mu^2, mu_tau^2 in this component's MM term (0 or 1)."""
        w = np.zeros(len(FLAVOURS))
        w[FLAVOURS.index(self.flavour)] = 1.0
        return w


def components(n_nodes: int = MICHEL_NODES) -> tuple[DarComponent, ...]:
    """The three pi-DAR neutrinos in the order of :data:`COMPONENTS`."""
    return (
        DarComponent("prompt_numu", "prompt nu_mu", "prompt", "mu", line_spectrum(),
                     line_energy_mev()),
        DarComponent("delayed_nue", "delayed nu_e", "delayed", "e",
                     michel_table(michel_nue, n_nodes), 0.3 * M_MU_MEV),
        DarComponent("delayed_numubar", "delayed anti-nu_mu", "delayed", "mu",
                     michel_table(michel_numubar, n_nodes), 0.35 * M_MU_MEV),
    )


@dataclass(frozen=True)
class BeamTiming:
    """Gaussian proton-on-target trace in the detector's clock (P4).

    Attributes
    ----------
    mean_us : float
        Mean t_b in microseconds.
    sigma_us : float
        Width s_b (standard deviation) in microseconds, > 0.
    """

    mean_us: float
    sigma_us: float

    def __post_init__(self):
        if not (math.isfinite(self.mean_us) and math.isfinite(self.sigma_us)
                and self.sigma_us > 0.0):
            raise InputError(f"beam timing mean {self.mean_us!r} us, width {self.sigma_us!r} "
                             "us: need finite numbers and a width > 0")

    def shifted(self, dt_us: float) -> BeamTiming:
        """The same trace moved by ``dt_us``."""
        return BeamTiming(self.mean_us + dt_us, self.sigma_us)


def _emg_cdf(t_us: np.ndarray, beam: BeamTiming, tau_us: float) -> np.ndarray:
    """CDF of a Gaussian convolved with Exp(tau), eq. (P7)."""
    z = (t_us - beam.mean_us) / beam.sigma_us
    k = beam.sigma_us / tau_us
    arg = -(t_us - beam.mean_us) / tau_us + 0.5 * k * k + log_ndtr(z - k)
    return ndtr(z) - np.exp(arg)


def _emg_pdf(t_us: np.ndarray, beam: BeamTiming, tau_us: float) -> np.ndarray:
    """Density of a Gaussian convolved with Exp(tau) (the derivative of (P7)), per us."""
    z = (t_us - beam.mean_us) / beam.sigma_us
    k = beam.sigma_us / tau_us
    arg = -(t_us - beam.mean_us) / tau_us + 0.5 * k * k + log_ndtr(z - k)
    return np.exp(arg) / tau_us


def _check_timing(timing: str) -> None:
    if timing not in TIMINGS:
        raise InputError(f"timing {timing!r} is not known; use 'prompt' or 'delayed'")


def arrival_cdf(t_us, timing: str, beam: BeamTiming) -> np.ndarray:
    """Fraction of a component's neutrinos that arrive before ``t_us`` (P7, P8).

    Parameters
    ----------
    t_us : array_like
        Times in microseconds (detector clock).
    timing : {"prompt", "delayed"}
    beam : BeamTiming

    Returns
    -------
    ndarray
        F(t) in [0, 1], non-decreasing.
    """
    _check_timing(timing)
    t = np.asarray(t_us, dtype=float)
    if timing == "prompt":
        return _emg_cdf(t, beam, TAU_PI_US)
    return ((TAU_MU_US * _emg_cdf(t, beam, TAU_MU_US) - TAU_PI_US * _emg_cdf(t, beam, TAU_PI_US))
            / (TAU_MU_US - TAU_PI_US))


def arrival_density(t_us, timing: str, beam: BeamTiming) -> np.ndarray:
    """Arrival-time density rho(t) in us^-1 (P5, P6): the derivative of :func:`arrival_cdf`."""
    _check_timing(timing)
    t = np.asarray(t_us, dtype=float)
    if timing == "prompt":
        return _emg_pdf(t, beam, TAU_PI_US)
    return ((TAU_MU_US * _emg_pdf(t, beam, TAU_MU_US) - TAU_PI_US * _emg_pdf(t, beam, TAU_PI_US))
            / (TAU_MU_US - TAU_PI_US))


def time_fractions(edges_us, timing: str, beam: BeamTiming) -> np.ndarray:
    """Fractions of a component's neutrinos arriving in the bins between ``edges_us``.

    Returns ``F(edges[k+1]) - F(edges[k])``, shape (len(edges) - 1,); the edges must increase.
    """
    edges = np.asarray(edges_us, dtype=float)
    if edges.ndim != 1 or edges.size < 2 or np.any(np.diff(edges) <= 0):
        raise InputError("time bin edges must be an increasing list of at least two times")
    return np.diff(arrival_cdf(edges, timing, beam))


def fluence_per_cm2(nu_per_flavour_per_pot: float, pot: float, distance_m: float) -> float:
    """Neutrinos of each flavour per cm^2 at the detector, r N_POT / (4 pi L^2) (P9)."""
    values = (nu_per_flavour_per_pot, pot, distance_m)
    if not all(math.isfinite(v) and v > 0 for v in values):
        raise InputError(f"neutrinos per POT {nu_per_flavour_per_pot!r}, POT {pot!r} and "
                         f"distance {distance_m!r} m must all be finite and > 0")
    distance_cm = distance_m * CM_PER_M
    return nu_per_flavour_per_pot * pot / (4.0 * math.pi * distance_cm * distance_cm)


# -- the Source of the physics model --------------------------------------------------------------

@dataclass(frozen=True)
class PionDARSource:
    """A pi-DAR beam seen by one detector: the :class:`~cevns_scan.sources.Source` protocol.

    The components' ``flux`` is the fluence of each flavour at the detector, r N_POT /
    (4 pi L^2) in cm^-2 (P9), so ``exposure_seconds`` = 1 and rates come out in events per kg
    of target over the whole exposure. ``frac_sigma`` is the fractional 1-sigma of r (the
    neutrino yield per proton; the same for all three flavours, fully correlated).

    Attributes
    ----------
    nu_per_flavour_per_pot, pot, distance_m : float
        r, N_POT and L of (P9).
    frac_sigma : float
        Fractional 1-sigma of r.
    beam : BeamTiming
        The POT trace in the detector's clock (P4).
    components : tuple of FluxComponent
        prompt nu_mu, delayed nu_e, delayed anti-nu_mu (:data:`COMPONENTS`), or a subset.
    """

    nu_per_flavour_per_pot: float
    pot: float
    distance_m: float
    frac_sigma: float
    beam: BeamTiming
    components: tuple

    name = "pion-dar"
    exposure_seconds = 1.0

    @property
    def component_names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.components)

    def flavour_weights(self, component) -> tuple[float, float, float]:
        """(w_e, w_mu, w_tau): nu_mu and anti-nu_mu carry mu_mu, nu_e carries mu_e."""
        return tuple(float(w) for w in _DAR[component.name].mm_weights)

    def split_flavours(self, model, component, evaluate, mm_all, factor: float = 1.0):
        """Constant weights: the magnetic-moment part times :meth:`flavour_weights`."""
        from . import constant_split

        return constant_split(mm_all, self.flavour_weights(component))

    def timing(self, component) -> str:
        """``"prompt"`` or ``"delayed"``."""
        return _DAR[component.name].timing

    def time_fractions(self, component, t_lo_us, t_hi_us) -> np.ndarray:
        """Fractions of the component's neutrinos arriving in [t_lo[k], t_hi[k]] (P7, P8)."""
        lo = np.atleast_1d(np.asarray(t_lo_us, dtype=float))
        hi = np.atleast_1d(np.asarray(t_hi_us, dtype=float))
        if lo.shape != hi.shape or np.any(hi <= lo):
            raise InputError("time bins need matching lower and upper edges with t_lo < t_hi")
        t = self.timing(component)
        return arrival_cdf(hi, t, self.beam) - arrival_cdf(lo, t, self.beam)

    def with_components(self, names) -> PionDARSource:
        unknown = [n for n in names if n not in self.component_names]
        if unknown:
            raise InputError(f"unknown pi-DAR component(s) {', '.join(unknown)}; use names from "
                             f"{', '.join(self.component_names)}")
        return PionDARSource(self.nu_per_flavour_per_pot, self.pot, self.distance_m,
                             self.frac_sigma, self.beam,
                             tuple(c for c in self.components if c.name in names))

    def with_beam(self, beam: BeamTiming) -> PionDARSource:
        """The same source with another POT trace (a timing offset, another detector clock)."""
        return PionDARSource(self.nu_per_flavour_per_pot, self.pot, self.distance_m,
                             self.frac_sigma, beam, self.components)

    def describe(self) -> dict:
        return {"source": "pion decay at rest (prompt nu_mu line, Michel nu_e and anti-nu_mu)",
                "nu_per_flavour_per_pot": self.nu_per_flavour_per_pot,
                "nu_per_flavour_per_pot_frac_sigma": self.frac_sigma, "pot": self.pot,
                "distance_m": self.distance_m,
                "fluence_per_flavour_cm2": fluence_per_cm2(self.nu_per_flavour_per_pot,
                                                            self.pot, self.distance_m),
                "beam_mean_us": self.beam.mean_us, "beam_sigma_us": self.beam.sigma_us}


#: The three chain neutrinos by name (their spectra are built once, lazily).
class _Chain(dict):
    def __missing__(self, name):
        for comp in components():
            self[comp.name] = comp
        if name not in self:
            raise InputError(f"unknown pi-DAR component {name!r}; use one of "
                             f"{', '.join(COMPONENTS)}")
        return self[name]


_DAR = _Chain()


def pion_dar_source(nu_per_flavour_per_pot: float, pot: float, distance_m: float,
                    frac_sigma: float, beam: BeamTiming,
                    n_nodes: int = MICHEL_NODES) -> PionDARSource:
    """The :class:`PionDARSource` of an experiment: its yield, exposure, distance and clock."""
    from . import FluxComponent

    fluence = fluence_per_cm2(nu_per_flavour_per_pot, pot, distance_m)
    comps = []
    for dar in components(n_nodes):
        s = dar.spectrum
        comps.append(FluxComponent(dar.name, fluence, float(frac_sigma), s.e, s.f, s.cum,
                                   s.line_e, s.line_b))
    return PionDARSource(float(nu_per_flavour_per_pot), float(pot), float(distance_m),
                         float(frac_sigma), beam, tuple(comps))
