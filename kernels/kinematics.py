"""Recoil kinematics of elastic neutrino-nucleus scattering (eqs. 13-14). Energies in MeV."""

import math

from .jit import kernel


@kernel
def e_nu_min(t_nr, m_n):
    """Smallest neutrino energy that can give a nuclear recoil ``t_nr`` (eq. 13).

    Parameters
    ----------
    t_nr : float
        Nuclear recoil kinetic energy T_nr in MeV (> 0).
    m_n : float
        Nuclear mass m_N in MeV.

    Returns
    -------
    float
        E_nu^min = T/2 (1 + sqrt(1 + 2 m_N / T)) in MeV.
    """
    return 0.5 * t_nr * (1.0 + math.sqrt(1.0 + 2.0 * m_n / t_nr))


@kernel
def t_nr_max(e_nu, m_n):
    """Largest nuclear recoil a neutrino of energy ``e_nu`` can give (eq. 14).

    Returns T_max = 2 E^2 / (2 E + m_N) in MeV; the exact inverse of :func:`e_nu_min`.
    """
    return 2.0 * e_nu * e_nu / (2.0 * e_nu + m_n)
