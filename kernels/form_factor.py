"""Helm nuclear form factor with Lewin-Smith parameters (paper ref. [30]).

F(q) = 3 j1(q R0) / (q R0) * exp(-q^2 s^2 / 2), with |q|^2 = 2 m_N T_nr and
R0^2 = c^2 + (7/3) pi^2 a^2 - 5 s^2, c = 1.23 A^(1/3) - 0.60 fm. ``helm_ff`` returns F,
never F^2.
"""

import math

from .constants import (
    HBARC_MEV_FM,
    HELM_A_FM,
    HELM_C_OFFSET_FM,
    HELM_C_SLOPE_FM,
    HELM_S_FM,
    HELM_SERIES_X,
)
from .jit import kernel


@kernel
def helm_radius_fm(a_mass):
    """Helm radius R0 in fm for mass number (or molar mass) ``a_mass``."""
    c = HELM_C_SLOPE_FM * a_mass ** (1.0 / 3.0) - HELM_C_OFFSET_FM
    return math.sqrt(c * c + (7.0 / 3.0) * math.pi**2 * HELM_A_FM**2 - 5.0 * HELM_S_FM**2)


@kernel
def spherical_j1_over_x(x):
    """3 j1(x) / x, with its Taylor series below ``HELM_SERIES_X`` (equals 1 at x = 0).

    The series 1 - x^2/10 + x^4/280 - x^6/15120 + x^8/1330560 is truncated at a relative
    error below 1e-20 for x < 0.1; the closed form loses about eps/x^2 there, so the two
    branches agree to ~1e-14 at the switch.
    """
    if x < HELM_SERIES_X:
        x2 = x * x
        return 1.0 - x2 / 10.0 * (1.0 - x2 / 28.0 * (1.0 - x2 / 54.0 * (1.0 - x2 / 88.0)))
    return 3.0 * (math.sin(x) - x * math.cos(x)) / (x * x * x)


@kernel
def helm_ff(t_nr, m_n, r0_fm):
    """Helm form factor F (not F^2) at nuclear recoil ``t_nr``.

    Parameters
    ----------
    t_nr : float
        Nuclear recoil energy in MeV (>= 0).
    m_n : float
        Nuclear mass in MeV.
    r0_fm : float
        Helm radius R0 in fm (:func:`helm_radius_fm`).

    Returns
    -------
    float
        F(|q|), dimensionless, F(0) = 1.
    """
    q_fm = math.sqrt(2.0 * m_n * t_nr) / HBARC_MEV_FM
    qs = q_fm * HELM_S_FM
    return spherical_j1_over_x(q_fm * r0_fm) * math.exp(-0.5 * qs * qs)
