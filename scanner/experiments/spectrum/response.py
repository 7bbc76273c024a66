"""Response of the CDEX-like experiment: Lindhard quenching into keV_ee bins (eqs. 15-17).

Binned templates: the SM rate S_ij and magnetic-moment rates M_ijl per mu_B^2 (docs/design.md §2).
For an electron-equivalent bin [a, b] the binned rate is (1/(b - a)) int dR/dT_nr dT_nr over
[T_nr(a), T_nr(b)], in events / (keV_ee kg day): eq. 17 integrated over the bin, so the
derivative of Q drops out. ``bin_rate = "centre"`` gives the paper's eq. 17 at the bin centre.
The quenching (Lindhard k, eq. 15, with the target's Z) is this detector's, not the model's.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np

from ...errors import InputError
from ...kernels.constants import MEV_PER_KEV
from ...kernels.quenching import lindhard_dq_dt, lindhard_q, t_nr_kev_from_t_ee_array
from ...kernels.rates import Quadrature, component_bin_integrals
from ...rates import differential_rates, flavour_differential_rates, nuclide_sum, per_flavour


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


#: The paper's Lindhard k (eq. 15), measured for germanium.
PAPER_K = 0.162


def _lindhard_z(model) -> float:
    """Z of Lindhard's eq. 15: the target must be one element."""
    tgt = model.target
    if tgt.is_compound:
        raise InputError(f"target {tgt.name} is a compound; the Lindhard quenching of eq. 15 "
                         "is defined for one element: choose an element as the target")
    return float(tgt.z)


def binned_templates(model, tee_lo, tee_hi, quenching_k: float = PAPER_K,
                     bin_rate: str = "integrated") -> Templates:
    """S_ij and M_ijl for the keV_ee bins [tee_lo[i], tee_hi[i]] (see module docstring).

    ``quenching_k`` is Lindhard's k (eq. 15; default the paper's germanium value) and
    ``bin_rate`` ``"integrated"`` (the bin average) or ``"centre"`` (the paper's eq. 17).
    Rates are summed over the target's nuclides (:func:`cevns_scan.rates.nuclide_sum`). With
    constant flavour probabilities M_ijl = P_el M_ij (eqs. 8-11); with MSW the P_el(E) weights
    sit inside the E_nu integral: M_ije from the spectrum phi P_ee, M_ij(mu, tau) from
    phi (1 - P_ee) cos^2/sin^2 theta23 (:func:`cevns_scan.rates.per_flavour`).
    """
    lo, hi = check_bins(tee_lo, tee_hi)
    if bin_rate == "centre":
        return _centre_templates(model, lo, hi, quenching_k)
    z, k = _lindhard_z(model), quenching_k
    n_comp = len(model.components)
    sm = np.zeros((n_comp, lo.size))
    mm_unit = np.zeros_like(sm)
    t_lo = t_nr_kev_from_t_ee_array(lo, z, k) * MEV_PER_KEV
    t_hi = t_nr_kev_from_t_ee_array(hi, z, k) * MEV_PER_KEV
    quad = Quadrature(*gauss_legendre(model.gl_order), model.max_ratio)
    width = hi - lo

    def evaluate(spec, nuc):
        return component_bin_integrals(t_lo, t_hi, spec, nuc, quad)

    mm = np.zeros((n_comp, lo.size, 3))
    for j, comp in enumerate(model.components):
        s, m = nuclide_sum(model, comp, lambda nuc, c=comp: evaluate(c.spectrum, nuc))
        sm[j] = s / width
        mm_unit[j] = m / width
        weights = model.source.flavour_weights(comp)
        if weights is None:
            mm[j] = per_flavour(model, comp, evaluate, m) / width[:, None]
        else:
            mm[j] = mm_unit[j][:, None] * np.asarray(weights)[None, :]
    sigma = np.array([c.frac_sigma for c in model.components])
    return Templates(model.component_names, lo, hi, sm, mm, sigma)


def _centre_templates(model, lo, hi, quenching_k: float) -> Templates:
    """``bin_rate = "centre"``: the paper's eq. 17, dR/dT_nr / (dT_ee/dT_nr) at the bin centre."""
    z, k = _lindhard_z(model), quenching_k
    centre = 0.5 * (lo + hi)
    t_c = t_nr_kev_from_t_ee_array(centre, z, k)
    jac = np.array([lindhard_q(t, z, k) + t * lindhard_dq_dt(t, z, k) for t in t_c])
    weights = {tuple(model.source.flavour_weights(c) or ()) for c in model.components}
    common = next(iter(weights)) if len(weights) == 1 else ()
    if common and common[0] > 0:  # one constant P_el for every component (the paper's)
        s, m = differential_rates(model, t_c, (1.0, 0.0, 0.0))
        sm = s / jac
        mm_unit = m / common[0] / jac
        mm = mm_unit[:, :, None] * np.asarray(common)[None, None, :]
    else:
        s, m = flavour_differential_rates(model, t_c)
        sm, mm = s / jac, m / jac[None, :, None]
    sigma = np.array([c.frac_sigma for c in model.components])
    return Templates(model.component_names, lo, hi, sm, mm, sigma)


@dataclass(frozen=True)
class QuenchedBins:
    """The :class:`~cevns_scan.experiments.protocols.Response` of electron-equivalent bins.

    ``tee_lo``, ``tee_hi``: bin edges in keV_ee; ``quenching_k``: Lindhard's k (eq. 15, with
    the target's Z); ``bin_rate``: ``"integrated"`` or ``"centre"`` (eq. 17 at the centre).
    """

    tee_lo: np.ndarray
    tee_hi: np.ndarray
    quenching_k: float = PAPER_K
    bin_rate: str = "integrated"

    def templates(self, model) -> Templates:
        """:func:`binned_templates` for these bins, events / (keV_ee kg day)."""
        return binned_templates(model, self.tee_lo, self.tee_hi, self.quenching_k,
                                self.bin_rate)
