"""Lindhard quenching (eqs. 15-16): T_ee = Q(T_nr) T_nr and its exact inverse. Energies in keV."""

import math

import numpy as np

from .constants import LINDHARD_EPS_COEFF
from .jit import kernel


@kernel
def _eps_per_kev(z):
    return LINDHARD_EPS_COEFF * z ** (-7.0 / 3.0)


@kernel
def lindhard_q(t_nr_kev, z, k):
    """Lindhard quenching factor (eq. 15).

    Q = k g / (1 + k g), g = 3 eps^0.15 + 0.7 eps^0.6 + eps, eps = 11.5 Z^(-7/3) T_nr[keV].
    """
    if t_nr_kev <= 0.0:
        return 0.0
    eps = _eps_per_kev(z) * t_nr_kev
    g = 3.0 * eps**0.15 + 0.7 * eps**0.6 + eps
    return k * g / (1.0 + k * g)


@kernel
def lindhard_dq_dt(t_nr_kev, z, k):
    """dQ/dT_nr in keV^-1 (needed by the bin-centre form of eq. 17)."""
    if t_nr_kev <= 0.0:
        return math.inf
    c = _eps_per_kev(z)
    eps = c * t_nr_kev
    g = 3.0 * eps**0.15 + 0.7 * eps**0.6 + eps
    dg = 0.45 * eps**-0.85 + 0.42 * eps**-0.4 + 1.0
    return k * dg * c / (1.0 + k * g) ** 2


@kernel
def t_ee_kev(t_nr_kev, z, k):
    """Electron-equivalent energy T_ee = Q(T_nr) T_nr in keV_ee (eq. 16)."""
    return lindhard_q(t_nr_kev, z, k) * t_nr_kev


@kernel
def t_nr_kev_from_t_ee(t_ee, z, k):
    """Exact inverse of :func:`t_ee_kev`: the T_nr (keV_nr) with Q(T_nr) T_nr = ``t_ee`` (keV_ee).

    T_ee(T_nr) is strictly increasing, and T_ee <= T_nr <= T_ee / Q(T_ee) brackets the root.
    Newton steps are kept inside the bracket (bisection otherwise) until the bracket or the
    step is at machine precision.
    """
    if t_ee <= 0.0:
        return 0.0
    lo = t_ee
    hi = t_ee / lindhard_q(t_ee, z, k)
    x = 0.5 * (lo + hi)
    for _ in range(200):
        q = lindhard_q(x, z, k)
        f = q * x - t_ee
        if f == 0.0:
            return x
        if f > 0.0:
            hi = x
        else:
            lo = x
        df = q + x * lindhard_dq_dt(x, z, k)
        step = f / df
        xn = x - step
        if not (lo < xn < hi):
            xn = 0.5 * (lo + hi)
        if abs(xn - x) <= 2e-16 * x or hi - lo <= 4e-16 * hi:
            return xn
        x = xn
    return x


@kernel
def t_nr_kev_from_t_ee_array(t_ee, z, k):
    """:func:`t_nr_kev_from_t_ee` for each element of the array ``t_ee`` (keV_ee)."""
    out = np.empty(t_ee.size)
    for i in range(t_ee.size):
        out[i] = t_nr_kev_from_t_ee(t_ee[i], z, k)
    return out
