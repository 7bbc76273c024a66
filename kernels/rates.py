"""Flux-averaged cross sections and their recoil-bin integrals (eq. 12 and DESIGN.md section 2).

All functions here work per unit total flux of one component (phi has unit area, line
branchings sum to the component's share) and per target nucleus; the caller multiplies by
N_T * Phi and converts units. Energies in MeV, cross sections in cm^2/MeV, bin integrals in
cm^2. SM and magnetic-moment (per mu_B^2) parts are returned side by side; they do not
interfere (eq. 7).
"""

import numpy as np
from numba import njit

from .constants import MM_PREFACTOR_CM2, SM_PREFACTOR_CM2_MEV2
from .cross_sections import dsigma_mm, dsigma_sm
from .form_factor import helm_ff
from .kinematics import e_nu_min, t_nr_max
from .spectra import panel_index, tail_moments_in_panel


@njit(cache=True, nogil=True)
def _continuous_at(t_nr, k, e, f, cum, m_n, qw, z, r0_fm):
    """<dsigma/dT> of a tabulated spectrum at T (MeV), Emin(T) in panel k."""
    x = e_nu_min(t_nr, m_n)
    a0, a1, a2 = tail_moments_in_panel(x, k, e, f, cum)
    if a0 <= 0.0 and a1 <= 0.0:
        return 0.0, 0.0
    ff = helm_ff(t_nr, m_n, r0_fm)
    ff2 = ff * ff
    sm = SM_PREFACTOR_CM2_MEV2 * m_n * qw * qw * ff2 * max(a0 - 0.5 * m_n * t_nr * a2, 0.0)
    mm = MM_PREFACTOR_CM2 * z * z * ff2 * max(a0 / t_nr - a1, 0.0)
    return sm, mm

@njit(cache=True, nogil=True)
def continuous_dsigma(t_nr, e, f, cum, m_n, qw, z, r0_fm):
    """int_{E_min(T)}^{E_max} phi(E) dsigma/dT dE for a piecewise-linear spectrum (eq. 12).

    Parameters
    ----------
    t_nr : float
        Nuclear recoil in MeV (> 0).
    e, f, cum : ndarray
        Spectrum nodes (MeV), unit-area values (MeV^-1) and
        :func:`kernels.spectra.tail_moment_table`.
    m_n, qw, z, r0_fm : float
        Nuclear mass (MeV), weak charge, proton number, Helm radius (fm).

    Returns
    -------
    (float, float)
        SM part and magnetic-moment part per mu_B^2, in cm^2/MeV per unit flux.
    """
    if e.size < 2:
        return 0.0, 0.0
    k = panel_index(e, e_nu_min(t_nr, m_n))
    return _continuous_at(t_nr, k, e, f, cum, m_n, qw, z, r0_fm)

@njit(cache=True, nogil=True)
def lines_dsigma(t_nr, e_lines, b_lines, m_n, qw, z, r0_fm):
    """Monochromatic lines as exact delta terms: sum_l b_l dsigma/dT(E_l, T) for T <= T_max(E_l)."""
    ff = helm_ff(t_nr, m_n, r0_fm)
    sm = 0.0
    mm = 0.0
    for i in range(e_lines.size):
        el = e_lines[i]
        if t_nr <= t_nr_max(el, m_n):
            sm += b_lines[i] * dsigma_sm(el, t_nr, m_n, qw, ff)
            mm += b_lines[i] * dsigma_mm(el, t_nr, m_n, z, ff, 1.0)
    return sm, mm

@njit(cache=True, nogil=True)
def continuous_bin_integral(t_lo, t_hi, e, f, cum, m_n, qw, z, r0_fm, gl_x, gl_w, max_ratio):
    """int_{t_lo}^{t_hi} <dsigma/dT> dT (cm^2 per unit flux) for a tabulated spectrum.

    The recoil range is cut wherever E_min(T) crosses a table node (so the integrand is
    smooth on every piece) and into pieces no wider than ``max_ratio`` in T_hi/T_lo; each
    piece gets Gauss-Legendre nodes ``gl_x`` (on [-1, 1]) and weights ``gl_w``.
    """
    n = e.size
    if n < 2 or t_hi <= t_lo:
        return 0.0, 0.0
    t_end = min(t_hi, t_nr_max(e[n - 1], m_n))
    if t_end <= t_lo:
        return 0.0, 0.0
    k = panel_index(e, e_nu_min(t_lo, m_n))
    a = t_lo
    sm_sum = 0.0
    mm_sum = 0.0
    while a < t_end and k < n - 1:
        t_node = t_nr_max(e[k + 1], m_n)
        if t_node <= a:
            k += 1
            continue
        b = min(t_end, a * max_ratio, t_node)
        half = 0.5 * (b - a)
        mid = 0.5 * (b + a)
        for g in range(gl_x.size):
            sm, mm = _continuous_at(mid + half * gl_x[g], k, e, f, cum, m_n, qw, z, r0_fm)
            sm_sum += gl_w[g] * half * sm
            mm_sum += gl_w[g] * half * mm
        if b == t_node:
            k += 1
        a = b
    return sm_sum, mm_sum

@njit(cache=True, nogil=True)
def lines_bin_integral(t_lo, t_hi, e_lines, b_lines, m_n, qw, z, r0_fm, gl_x, gl_w, max_ratio):
    """int_{t_lo}^{t_hi} sum_l b_l dsigma/dT(E_l, T) dT, each line cut at T_max(E_l)."""
    sm_sum = 0.0
    mm_sum = 0.0
    for i in range(e_lines.size):
        el = e_lines[i]
        t_end = min(t_hi, t_nr_max(el, m_n))
        a = t_lo
        while a < t_end:
            b = min(t_end, a * max_ratio)
            half = 0.5 * (b - a)
            mid = 0.5 * (b + a)
            for g in range(gl_x.size):
                t = mid + half * gl_x[g]
                ff = helm_ff(t, m_n, r0_fm)
                sm_sum += gl_w[g] * half * b_lines[i] * dsigma_sm(el, t, m_n, qw, ff)
                mm_sum += gl_w[g] * half * b_lines[i] * dsigma_mm(el, t, m_n, z, ff, 1.0)
            a = b
    return sm_sum, mm_sum

@njit(cache=True, nogil=True)
def component_dsigma(t_nr, e, f, cum, e_lines, b_lines, m_n, qw, z, r0_fm):
    """Flux-averaged SM and MM (per mu_B^2) cross sections of one flux component at each T.

    ``t_nr`` is an array of recoils in MeV; returns two arrays in cm^2/MeV per unit flux.
    """
    sm = np.zeros(t_nr.size)
    mm = np.zeros(t_nr.size)
    for i in range(t_nr.size):
        s1, m1 = continuous_dsigma(t_nr[i], e, f, cum, m_n, qw, z, r0_fm)
        s2, m2 = lines_dsigma(t_nr[i], e_lines, b_lines, m_n, qw, z, r0_fm)
        sm[i] = s1 + s2
        mm[i] = m1 + m2
    return sm, mm

@njit(cache=True, nogil=True)
def component_bin_integrals(
    t_lo, t_hi, e, f, cum, e_lines, b_lines, m_n, qw, z, r0_fm, gl_x, gl_w, max_ratio
):
    """Recoil-bin integrals of one flux component for bins [t_lo[i], t_hi[i]] (MeV).

    Returns two arrays (SM, MM per mu_B^2) in cm^2 per unit flux.
    """
    sm = np.zeros(t_lo.size)
    mm = np.zeros(t_lo.size)
    for i in range(t_lo.size):
        s1, m1 = continuous_bin_integral(
            t_lo[i], t_hi[i], e, f, cum, m_n, qw, z, r0_fm, gl_x, gl_w, max_ratio
        )
        s2, m2 = lines_bin_integral(
            t_lo[i], t_hi[i], e_lines, b_lines, m_n, qw, z, r0_fm, gl_x, gl_w, max_ratio
        )
        sm[i] = s1 + s2
        mm[i] = m1 + m2
    return sm, mm

