"""Expected CEvNS counts of COHERENT CENNS-10 (Analysis A) in the release's 960 bins.

Computed, not taken from ``cevnspdf.txt``: for each pi-DAR component c (prompt nu_mu, delayed
nu_e, delayed anti-nu_mu; :mod:`cevns_scan.sources.pion_dar`)

    N_c(i, j, k) = [ int dT dN_c/dT(T) A_i(E_ee(T)) ] p_F(j | i) f_c(k),                (A1)

* dN_c/dT: recoils per keV_nr (eq. 12 on every argon isotope, fluence r N_POT / 4 pi L^2,
  fiducial mass M; all from the release's yaml);
* E_ee(T) = QF(T) T with QF = a + b T[keV_nr] (yaml ``larQF``);                        (A2)
* A_i(E) = int_{bin i} eps(E') N(E'; E, sigma(E)) dE', sigma(E) = 0.58 sqrt(E[keV_ee]) keV_ee
  (yaml ``energyResolution``), the acceptance eps(E') of ``CENNS10AnlAEfficiency.txt``
  interpolated linearly in reconstructed keV_ee between its bin centres (0 below 0.25 keV_ee,
  its last value 0.963 above 39.75 keV_ee, where argon CEvNS has < 1e-3 of its events); the
  Gaussian times a linear efficiency is integrated in closed form,               (A3)
      int_x0^x1 (c0 + c1 x) N(x; m, s) dx = [c0 Phi(z) + c1 (m Phi(z) - s phi(z))]_z0^z1;
* p_F(j | i): the F90 distribution of energy bin i, the F90 marginal of the release's CEvNS
  PDF in that bin, normalised (bins where the release has no CEvNS, above 50 keV_ee, take
  that of the highest bin that has);
* f_c(k): the fraction of component c's neutrinos arriving in time bin k (pi-DAR eq. P7-P8)
  for the yaml's POT trace (Gaussian, mean 440 ns, width 150 ns).

The T integral uses Gauss-Legendre panels (T_hi/T_lo <= 1.05, cut at every kinematic end
point) from :data:`T_MIN_KEV` to the largest recoil: recoils below 0.05 keV_nr (E_ee = 0.012
keV_ee) do not reach the acceptance, and starting at 0.01 keV_nr changes the SM counts by
< 1e-12 and the magnetic-moment counts by < 1e-9 (tests/test_coherent_ar.py). Argon is the
analysis's target model (one effective nucleus of the standard atomic weight by default, the
natural isotopes, 99.6 % Ar-40, with ``isotopes = "natural"``): the two differ by 0.33 % in
the SM counts, negligible beside the 13 % uncertainty of the prediction. The weak couplings
are the analysis's too (tree level for the paper's preset; the radiatively corrected ones of
the modern preset, which COHERENT's prediction uses, give about 2.6 % more events).

The bin conventions were checked against the release: our time marginal of (A1) matches that
of ``cevnspdf.txt`` with the bin edges -0.1, 0.4, ..., 4.9 us (centres +- 0.25 us) and t = 0
the release's clock, in which the POT mean is 440 ns (see :func:`marginals`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.special import ndtr

from ...sources import pion_dar
from .._coherent import recoil_spectra

#: Lower end of the recoil integral (keV_nr).
T_MIN_KEV = 0.05


@dataclass(frozen=True)
class ArgonTemplates:
    """Expected CEvNS events in the release's bins, per pi-DAR component.

    Attributes
    ----------
    components : tuple of str
        :data:`cevns_scan.sources.pion_dar.COMPONENTS`.
    sm : ndarray, shape (3, 960)
        SM events per bin (C order of (12 energy, 8 F90, 10 time)).
    mm : ndarray, shape (3, 960, 3)
        Magnetic-moment events per mu_B^2 of flavour (e, mu, tau).
    energy_sm : ndarray, shape (3, 12)
        SM events per energy bin, summed over F90 and all times.
    time_fractions : ndarray, shape (3, 10)
        Fraction of each component's neutrinos arriving in each time bin.
    f90 : ndarray, shape (12, 8)
        p_F(j | i) of (A1).
    beam : pion_dar.BeamTiming
    nuclei : tuple of str
    """

    components: tuple[str, ...]
    sm: np.ndarray
    mm: np.ndarray
    energy_sm: np.ndarray
    time_fractions: np.ndarray
    f90: np.ndarray
    beam: pion_dar.BeamTiming
    nuclei: tuple[str, ...]

    @property
    def total_sm(self) -> float:
        """All SM events in the 960 bins."""
        return float(self.sm.sum())


def quenched_kevee(t_kevnr, qf_a: float, qf_b_per_kevnr: float) -> np.ndarray:
    """E_ee = (a + b T) T in keV_ee for T in keV_nr (A2)."""
    t = np.asarray(t_kevnr, dtype=float)
    return (qf_a + qf_b_per_kevnr * t) * t


def efficiency_curve(release) -> tuple[np.ndarray, np.ndarray]:
    """(keV_ee nodes, efficiency) of the acceptance: the release's bin centres with their
    values, linear in between, 0 below the first node and constant above the last."""
    return np.asarray(release.efficiency_kevee), np.asarray(release.efficiency)


def smeared_acceptance(e_kevee: np.ndarray, edges_kevee: np.ndarray, eff_x: np.ndarray,
                       eff_y: np.ndarray, res_a: float) -> np.ndarray:
    """A_i(E) of (A3): Gaussian smearing times the acceptance, integrated over each bin.

    Parameters
    ----------
    e_kevee : ndarray, shape (Q,)
        True electron-equivalent energies (> 0).
    edges_kevee : ndarray, shape (n + 1,)
        Reconstructed-energy bin edges.
    eff_x, eff_y : ndarray
        Acceptance nodes (keV_ee) and values, linear in between, 0 below eff_x[0] and
        eff_y[-1] above eff_x[-1].
    res_a : float
        sigma = res_a sqrt(E) in keV_ee.

    Returns
    -------
    ndarray, shape (Q, n)
    """
    e = np.asarray(e_kevee, dtype=float)[:, None]
    s = res_a * np.sqrt(e)
    lo_all, hi_all = edges_kevee[0], edges_kevee[-1]
    cuts = np.unique(np.concatenate([edges_kevee, eff_x[(eff_x > lo_all) & (eff_x < hi_all)]]))
    out = np.zeros((e.shape[0], edges_kevee.size - 1))
    bin_of = np.searchsorted(edges_kevee, 0.5 * (cuts[1:] + cuts[:-1])) - 1
    for x0, x1, b in zip(cuts[:-1], cuts[1:], bin_of, strict=True):
        if x1 <= eff_x[0]:
            continue
        y0, y1 = np.interp([x0, x1], eff_x, eff_y, left=0.0, right=eff_y[-1])
        if x0 < eff_x[0]:  # the segment where the ramp starts from 0 at eff_x[0]
            x0, y0 = eff_x[0], 0.0
        c1 = (y1 - y0) / (x1 - x0)
        c0 = y0 - c1 * x0
        z0, z1 = (x0 - e) / s, (x1 - e) / s
        p0, p1 = ndtr(z0), ndtr(z1)
        g0 = np.exp(-0.5 * z0 * z0) / np.sqrt(2.0 * np.pi)
        g1 = np.exp(-0.5 * z1 * z1) / np.sqrt(2.0 * np.pi)
        out[:, b] += (c0 * (p1 - p0) + c1 * (e * (p1 - p0) - s * (g1 - g0)))[:, 0]
    return out


def f90_distribution(release) -> np.ndarray:
    """p_F(j | i), shape (12, 8): the release CEvNS PDF's F90 marginal per energy bin."""
    marg = np.asarray(release.cevns, dtype=float).reshape(12, 8, 10).sum(axis=2)
    out = np.zeros_like(marg)
    last = None
    for i in range(marg.shape[0]):
        if marg[i].sum() > 0:
            last = marg[i] / marg[i].sum()
        out[i] = last
    return out


def argon_source(release, beam: pion_dar.BeamTiming | None = None,
                 n_michel: int = pion_dar.MICHEL_NODES) -> pion_dar.PionDARSource:
    """The SNS beam as CENNS-10 sees it: the yaml's nu per flavour per POT (with its
    uncertainty), POT, distance and POT trace (or ``beam``)."""
    p = release.parameters
    beam = beam or pion_dar.BeamTiming(p.pot_mean_us, p.pot_width_us)
    return pion_dar.pion_dar_source(p.nu_per_flavour_per_pot, p.pot, p.distance_m,
                                    p.nu_per_flavour_per_pot_sigma / p.nu_per_flavour_per_pot,
                                    beam, n_michel)


def argon_model(release, model, beam: pion_dar.BeamTiming | None = None):
    """The analysis ``model`` (couplings, isotope choice) for argon seen by the SNS beam."""
    return model.with_target("Ar").with_source(argon_source(release, beam))


def argon_templates(release, model, t_min_kev: float = T_MIN_KEV) -> ArgonTemplates:
    """The CEvNS expectation (A1) of every pi-DAR component in the release's 960 bins.

    Parameters
    ----------
    release : LArRelease
        :func:`cevns_scan.experiments.coherent_ar.release.read_release`.
    model : cevns_scan.model.Model
        Argon seen by the SNS beam (:func:`argon_model`): couplings and isotopes are the
        analysis's, the source the release's exposure and POT trace.
    t_min_kev : float
        Lower end of the recoil integral.
    """
    p = release.parameters
    spectra = recoil_spectra(model, p.mass_kg, t_min_kev)
    t, w = spectra.t_kev, spectra.weights
    e_ee = quenched_kevee(t, p.qf_a, p.qf_b_per_kevnr)
    acc = smeared_acceptance(e_ee, release.energy_edges_kevee, *efficiency_curve(release),
                             p.resolution_a_sqrt_kevee)  # (Q, 12)
    energy_sm = (spectra.sm * w) @ acc  # (C, 12)
    energy_mm = np.einsum("cqf,q,qi->cif", spectra.mm, w, acc)  # (C, 12, 3)
    f90 = f90_distribution(release)
    edges = release.time_edges_us
    tf = np.stack([model.source.time_fractions(c, edges[:-1], edges[1:])
                   for c in model.components])  # (C, 10)
    n_c = len(model.components)
    sm = np.einsum("ci,ij,ck->cijk", energy_sm, f90, tf).reshape(n_c, -1)
    mm = np.einsum("cif,ij,ck->cijkf", energy_mm, f90, tf).reshape(n_c, -1, 3)
    labels = tuple(f"{n.element}{round(n.a_mass)}" if model.target.isotopes == "natural"
                   else n.element for n in model.target.nuclides)
    return ArgonTemplates(model.component_names, sm, mm, energy_sm, tf, f90,
                          model.source.beam, labels)


def marginals(values: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Energy (12,), F90 (8,) and time (10,) marginals of 960 bin values (summed over the
    leading axes too)."""
    v = np.asarray(values, dtype=float).reshape(-1, 12, 8, 10).sum(axis=0)
    return v.sum(axis=(1, 2)), v.sum(axis=(0, 2)), v.sum(axis=(0, 1))
