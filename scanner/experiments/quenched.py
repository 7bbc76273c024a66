"""Response of the CDEX-like experiment: Lindhard quenching into keV_ee bins (eqs. 15-17).

Binned templates: the SM rate S_ij and magnetic-moment rates M_ijl per mu_B^2 (docs/design.md §2).
For an electron-equivalent bin [a, b] the binned rate is (1/(b - a)) int dR/dT_nr dT_nr over
[T_nr(a), T_nr(b)], in events / (keV_ee kg day): eq. 17 integrated over the bin, so the
derivative of Q drops out. ``bin_rate = "centre"`` gives the paper's eq. 17 at the bin centre.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np

from ..errors import InputError
from ..kernels.constants import MEV_PER_KEV
from ..kernels.quenching import lindhard_dq_dt, lindhard_q, t_nr_kev_from_t_ee_array
from ..kernels.rates import Quadrature, component_bin_integrals
from ..outputs import atomic_write_bytes, csv_cell
from ..rates import (
    differential_rates,
    electron_part,
    flavour_differential_rates,
    flavour_split,
    nuclide_sum,
)


@functools.cache
def gauss_legendre(order: int) -> tuple[np.ndarray, np.ndarray]:
    """Gauss-Legendre nodes and weights on [-1, 1]."""
    x, w = np.polynomial.legendre.leggauss(order)
    return np.ascontiguousarray(x), np.ascontiguousarray(w)


@dataclass(frozen=True)
class Templates:
    """Per-bin expected rates of every flux component, events / (keV_ee kg day).

    Attributes
    ----------
    components : tuple of str
        Flux component names (index j).
    tee_lo, tee_hi : ndarray, shape (n,)
        Bin edges in keV_ee (index i).
    sm : ndarray, shape (J, n)
        S_ij, SM rate.
    mm : ndarray, shape (J, n, 3)
        M_ijl, magnetic-moment rate per mu_B^2 for flavour l = e, mu, tau (weighted by P_el).
    frac_sigma : ndarray, shape (J,)
        Fractional 1-sigma flux uncertainty sigma_j.
    """

    components: tuple[str, ...]
    tee_lo: np.ndarray
    tee_hi: np.ndarray
    sm: np.ndarray
    mm: np.ndarray
    frac_sigma: np.ndarray

    def expected(self, mu) -> np.ndarray:
        """R_ij(mu) = S_ij + sum_l mu_l^2 M_ijl, shape (J, n)."""
        mu2 = np.asarray(mu, dtype=float) ** 2
        return self.sm + self.mm @ mu2


#: Relative overlap (in units of the bin width) still read as touching bins (rounding).
BIN_EDGE_TOLERANCE = 1e-9


def check_bins(tee_lo, tee_hi) -> tuple[np.ndarray, np.ndarray]:
    """Bins must be finite, 0 < lo < hi, ordered and non-overlapping."""
    lo = np.ascontiguousarray(np.asarray(tee_lo, dtype=float))
    hi = np.ascontiguousarray(np.asarray(tee_hi, dtype=float))
    if lo.ndim != 1 or lo.shape != hi.shape or lo.size == 0:
        raise InputError("bins need matching, non-empty lists of lower and upper edges (keV_ee)")
    if not (np.all(np.isfinite(lo)) and np.all(np.isfinite(hi))):
        raise InputError("bin edges must be finite numbers in keV_ee")
    if np.any(lo <= 0) or np.any(hi <= lo):
        i = int(np.nonzero((lo <= 0) | (hi <= lo))[0][0])
        raise InputError(f"bin {i}: [{lo[i]:g}, {hi[i]:g}] keV_ee needs 0 < low edge < high edge")
    overlap = lo[1:] < hi[:-1] - BIN_EDGE_TOLERANCE * (hi[:-1] - lo[:-1])
    if np.any(overlap):
        i = int(np.nonzero(overlap)[0][0]) + 1
        raise InputError(f"bin {i} starts at {lo[i]:g} keV_ee, inside the previous bin; "
                         "bins must be ordered and non-overlapping")
    return lo, hi


def binned_templates(model, tee_lo, tee_hi) -> Templates:
    """S_ij and M_ijl for the keV_ee bins [tee_lo[i], tee_hi[i]] (see module docstring).

    Rates are summed over the target's nuclides (:func:`cevns_scan.rates.nuclide_sum`). With
    the constant flavour model M_ijl = P_el M_ij (eqs. 8-11); with MSW the P_el(E) weights sit
    inside the E_nu integral: M_ije from the spectrum phi P_ee, M_ij(mu, tau) from
    phi (1 - P_ee) cos^2/sin^2 theta23 (:func:`cevns_scan.rates.flavour_split`).
    """
    lo, hi = check_bins(tee_lo, tee_hi)
    if model.bin_rate == "centre":
        return _centre_templates(model, lo, hi)
    tgt = model.target
    z, k = float(tgt.z), model.quenching_k
    n_comp = len(model.components)
    sm = np.zeros((n_comp, lo.size))
    mm_unit = np.zeros_like(sm)
    t_lo = t_nr_kev_from_t_ee_array(lo, z, k) * MEV_PER_KEV
    t_hi = t_nr_kev_from_t_ee_array(hi, z, k) * MEV_PER_KEV
    quad = Quadrature(*gauss_legendre(model.gl_order), model.max_ratio)
    width = hi - lo

    def evaluate(spec, nuc):
        return component_bin_integrals(t_lo, t_hi, spec, nuc, quad)

    msw = model.flavour_model == "msw"
    mm = np.zeros((n_comp, lo.size, 3))
    for j, comp in enumerate(model.components):
        s, m = nuclide_sum(model, comp, lambda nuc, c=comp: evaluate(c.spectrum, nuc))
        sm[j] = s / width
        mm_unit[j] = m / width
        if msw:
            m_ee = electron_part(model, comp, evaluate, m)
            mm[j] = flavour_split(model, m, m_ee) / width[:, None]
    if not msw:
        mm = mm_unit[:, :, None] * np.asarray(model.probabilities)[None, None, :]
    sigma = np.array([c.frac_sigma for c in model.components])
    return Templates(model.component_names, lo, hi, sm, mm, sigma)


def _centre_templates(model, lo, hi) -> Templates:
    """``bin_rate = "centre"``: the paper's eq. 17, dR/dT_nr / (dT_ee/dT_nr) at the bin centre."""
    tgt = model.target
    z, k = float(tgt.z), model.quenching_k
    centre = 0.5 * (lo + hi)
    t_c = t_nr_kev_from_t_ee_array(centre, z, k)
    jac = np.array([lindhard_q(t, z, k) + t * lindhard_dq_dt(t, z, k) for t in t_c])
    if model.flavour_model == "constant":
        s, m = differential_rates(model, t_c, (1.0, 0.0, 0.0))
        sm = s / jac
        mm_unit = m / model.probabilities[0] / jac
        mm = mm_unit[:, :, None] * np.asarray(model.probabilities)[None, None, :]
    else:
        s, m = flavour_differential_rates(model, t_c)
        sm, mm = s / jac, m / jac[None, :, None]
    sigma = np.array([c.frac_sigma for c in model.components])
    return Templates(model.component_names, lo, hi, sm, mm, sigma)


@dataclass(frozen=True)
class QuenchedBins:
    """The :class:`~cevns_scan.experiments.Response` of electron-equivalent energy bins.

    ``tee_lo``, ``tee_hi``: bin edges in keV_ee; the quenching (Lindhard k, Z) comes from the
    physics model.
    """

    tee_lo: np.ndarray
    tee_hi: np.ndarray

    def templates(self, model) -> Templates:
        """:func:`binned_templates` for these bins, events / (keV_ee kg day)."""
        return binned_templates(model, self.tee_lo, self.tee_hi)

    def write_outputs(self, experiment, out, result, figures: bool = True) -> None:
        """templates.csv (per bin) and templates_components.csv (per flux component)."""
        from ..outputs import write_csv

        ds, tp, model = experiment.dataset, experiment.templates, result.analysis.model
        write_csv(out / "templates.csv",
                  ["Tee_lo_keV", "Tee_hi_keV", "observed", "sigma", "SM", "MM_e", "MM_mu",
                   "MM_tau"],
                  [ds.tee_lo, ds.tee_hi, ds.rate, ds.sigma, tp.sm.sum(0), *tp.mm.sum(0).T],
                  [f"dataset {ds.label}: {ds.description or ds.source}",
                   "rates in events/(keV_ee kg day); MM_l per mu_B^2 for flavour l, weighted by "
                   "P_el, summed over flux components; per component in "
                   "templates_components.csv",
                   "physics: " + ", ".join(f"{k} = {v}" for k, v in model.choices.items())])
        write_component_templates(out, tp, experiment.likelihood)


def write_component_templates(out, tp: Templates, lik) -> None:
    """templates_components.csv: everything eq. 18 needs, per flux component and bin."""
    n = tp.tee_lo.size
    rows = {"component": [], "frac_sigma": [], "pull": [], "Tee_lo_keV": [],
            "Tee_hi_keV": [], "SM": [], "MM_e": [], "MM_mu": [], "MM_tau": []}
    for j, name in enumerate(tp.components):
        rows["component"] += [name] * n
        rows["frac_sigma"] += [float(tp.frac_sigma[j])] * n
        rows["pull"] += [int(name in lik.components)] * n
        rows["Tee_lo_keV"] += list(tp.tee_lo)
        rows["Tee_hi_keV"] += list(tp.tee_hi)
        rows["SM"] += list(tp.sm[j])
        for k, fl in enumerate(("e", "mu", "tau")):
            rows[f"MM_{fl}"] += list(tp.mm[j, :, k])
    lines = ["# per flux component j and analysis bin i: S_ij (SM) and M_ijl per mu_B^2 "
             "(flavour-weighted), events/(keV_ee kg day); frac_sigma = sigma_j of eq. 18; "
             "pull = 1 if the component takes a pull (0: its templates vanish in every bin)",
             f"# background: {lik.describe()['background']}; observed and sigma per bin are "
             "in templates.csv", ",".join(rows)]
    for i in range(len(rows["component"])):
        lines.append(",".join(csv_cell(v[i]) for v in rows.values()))
    atomic_write_bytes(out / "templates_components.csv", ("\n".join(lines) + "\n").encode())

