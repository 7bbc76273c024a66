"""Flux-averaged cross sections and their recoil-bin integrals (eq. 12, docs/design.md §2).

All functions here work per unit total flux of one component (phi has unit area, line
branchings sum to the component's share) and per target nucleus; the caller multiplies by
N_T * Phi and converts units. Energies in MeV, cross sections in cm^2/MeV, bin integrals in
cm^2. SM and magnetic-moment (per mu_B^2) parts are returned side by side; they do not
interfere (eq. 7).

The arrays travel in three NamedTuples (numba compiles and caches them as tuples):
:class:`Spectrum` (one flux component's shape and lines), :class:`Nucleus` and
:class:`Quadrature`.
"""

from typing import NamedTuple

import numpy as np

from .constants import MM_PREFACTOR_CM2, SM_PREFACTOR_CM2_MEV2
from .cross_sections import dsigma_mm, dsigma_sm
from .form_factor import helm_ff
from .jit import kernel
from .kinematics import e_nu_min, t_nr_max
from .spectra import panel_index, tail_moments_in_panel


class Spectrum(NamedTuple):
    """One flux component per unit flux: a piecewise-linear shape and monochromatic lines.

    ``e`` nodes (MeV), ``f`` unit-area density (MeV^-1), ``cum`` its
    :func:`~cevns_scan.kernels.spectra.tail_moment_table`; ``line_e`` line energies (MeV) and
    ``line_b`` their branchings. Either part may be empty.
    """

    e: np.ndarray
    f: np.ndarray
    cum: np.ndarray
    line_e: np.ndarray
    line_b: np.ndarray


class Nucleus(NamedTuple):
    """Target nucleus: mass (MeV), weak charge g_V^p Z + g_V^n N, Z, Helm radius (fm)."""

    m_n: float
    qw: float
    z: float
    r0_fm: float


class Quadrature(NamedTuple):
    """Gauss-Legendre nodes/weights on [-1, 1] and the widest recoil piece T_hi / T_lo."""

    gl_x: np.ndarray
    gl_w: np.ndarray
    max_ratio: float


@kernel
def _continuous_at(t_nr, k, spec, nuc):
    """<dsigma/dT> of a tabulated spectrum at T (MeV), Emin(T) in panel k."""
    x = e_nu_min(t_nr, nuc.m_n)
    a0, a1, a2 = tail_moments_in_panel(x, k, spec.e, spec.f, spec.cum)
    if a0 <= 0.0 and a1 <= 0.0:
        return 0.0, 0.0
    ff = helm_ff(t_nr, nuc.m_n, nuc.r0_fm)
    ff2 = ff * ff
    sm = (SM_PREFACTOR_CM2_MEV2 * nuc.m_n * nuc.qw * nuc.qw * ff2
          * max(a0 - 0.5 * nuc.m_n * t_nr * a2, 0.0))
    mm = MM_PREFACTOR_CM2 * nuc.z * nuc.z * ff2 * max(a0 / t_nr - a1, 0.0)
    return sm, mm


@kernel
def continuous_dsigma(t_nr, spec, nuc):
    """int_{E_min(T)}^{E_max} phi(E) dsigma/dT dE for a piecewise-linear spectrum (eq. 12).

    Parameters
    ----------
    t_nr : float
        Nuclear recoil in MeV (> 0).
    spec : Spectrum
    nuc : Nucleus

    Returns
    -------
    (float, float)
        SM part and magnetic-moment part per mu_B^2, in cm^2/MeV per unit flux.
    """
    if spec.e.size < 2:
        return 0.0, 0.0
    k = panel_index(spec.e, e_nu_min(t_nr, nuc.m_n))
    return _continuous_at(t_nr, k, spec, nuc)


@kernel
def lines_dsigma(t_nr, spec, nuc):
    """Monochromatic lines as exact delta terms: sum_l b_l dsigma/dT(E_l, T) for T <= T_max(E_l)."""
    ff = helm_ff(t_nr, nuc.m_n, nuc.r0_fm)
    sm = 0.0
    mm = 0.0
    for i in range(spec.line_e.size):
        el = spec.line_e[i]
        if t_nr <= t_nr_max(el, nuc.m_n):
            sm += spec.line_b[i] * dsigma_sm(el, t_nr, nuc.m_n, nuc.qw, ff)
            mm += spec.line_b[i] * dsigma_mm(el, t_nr, nuc.m_n, nuc.z, ff, 1.0)
    return sm, mm


@kernel
def continuous_bin_integral(t_lo, t_hi, spec, nuc, quad):
    """int_{t_lo}^{t_hi} <dsigma/dT> dT (cm^2 per unit flux) for a tabulated spectrum.

    The recoil range is cut wherever E_min(T) crosses a table node (so the integrand is
    smooth on every piece) and into pieces no wider than ``quad.max_ratio`` in T_hi/T_lo;
    each piece gets the Gauss-Legendre nodes of ``quad``.
    """
    e = spec.e
    n = e.size
    if n < 2 or t_hi <= t_lo:
        return 0.0, 0.0
    t_end = min(t_hi, t_nr_max(e[n - 1], nuc.m_n))
    if t_end <= t_lo:
        return 0.0, 0.0
    k = panel_index(e, e_nu_min(t_lo, nuc.m_n))
    a = t_lo
    sm_sum = 0.0
    mm_sum = 0.0
    while a < t_end and k < n - 1:
        t_node = t_nr_max(e[k + 1], nuc.m_n)
        if t_node <= a:
            k += 1
            continue
        b = min(t_end, a * quad.max_ratio, t_node)
        half = 0.5 * (b - a)
        mid = 0.5 * (b + a)
        for g in range(quad.gl_x.size):
            sm, mm = _continuous_at(mid + half * quad.gl_x[g], k, spec, nuc)
            sm_sum += quad.gl_w[g] * half * sm
            mm_sum += quad.gl_w[g] * half * mm
        if b == t_node:
            k += 1
        a = b
    return sm_sum, mm_sum


@kernel
def lines_bin_integral(t_lo, t_hi, spec, nuc, quad):
    """int_{t_lo}^{t_hi} sum_l b_l dsigma/dT(E_l, T) dT, each line cut at T_max(E_l)."""
    sm_sum = 0.0
    mm_sum = 0.0
    for i in range(spec.line_e.size):
        el = spec.line_e[i]
        t_end = min(t_hi, t_nr_max(el, nuc.m_n))
        a = t_lo
        while a < t_end:
            b = min(t_end, a * quad.max_ratio)
            half = 0.5 * (b - a)
            mid = 0.5 * (b + a)
            for g in range(quad.gl_x.size):
                t = mid + half * quad.gl_x[g]
                ff = helm_ff(t, nuc.m_n, nuc.r0_fm)
                sm_sum += (quad.gl_w[g] * half * spec.line_b[i]
                           * dsigma_sm(el, t, nuc.m_n, nuc.qw, ff))
                mm_sum += (quad.gl_w[g] * half * spec.line_b[i]
                           * dsigma_mm(el, t, nuc.m_n, nuc.z, ff, 1.0))
            a = b
    return sm_sum, mm_sum


@kernel
def component_dsigma(t_nr, spec, nuc):
    """Flux-averaged SM and MM (per mu_B^2) cross sections of one flux component at each T.

    ``t_nr`` is an array of recoils in MeV; returns two arrays in cm^2/MeV per unit flux.
    """
    sm = np.zeros(t_nr.size)
    mm = np.zeros(t_nr.size)
    for i in range(t_nr.size):
        s1, m1 = continuous_dsigma(t_nr[i], spec, nuc)
        s2, m2 = lines_dsigma(t_nr[i], spec, nuc)
        sm[i] = s1 + s2
        mm[i] = m1 + m2
    return sm, mm


@kernel
def component_bin_integrals(t_lo, t_hi, spec, nuc, quad):
    """Recoil-bin integrals of one flux component for bins [t_lo[i], t_hi[i]] (MeV).

    Returns two arrays (SM, MM per mu_B^2) in cm^2 per unit flux.
    """
    sm = np.zeros(t_lo.size)
    mm = np.zeros(t_lo.size)
    for i in range(t_lo.size):
        s1, m1 = continuous_bin_integral(t_lo[i], t_hi[i], spec, nuc, quad)
        s2, m2 = lines_bin_integral(t_lo[i], t_hi[i], spec, nuc, quad)
        sm[i] = s1 + s2
        mm[i] = m1 + m2
    return sm, mm
