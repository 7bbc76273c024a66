"""Differential CEvNS cross sections dsigma/dT_nr in cm^2/MeV (eqs. 2-3 and 6).

The form factor is passed in (``ff`` = F(|q|^2), not squared) so that a rate integral over
neutrino energy evaluates it once per recoil energy.
"""

from .constants import MM_PREFACTOR_CM2, SM_PREFACTOR_CM2_MEV2
from .jit import kernel
from .kinematics import t_nr_max


@kernel
def weak_charge(z, n_neutrons, sin2_theta_w):
    """Coherent weak charge g_V^p Z + g_V^n N of eq. 2 (g_V^p = (1 - 4 s_W^2)/2, g_V^n = -1/2)."""
    return 0.5 * (1.0 - 4.0 * sin2_theta_w) * z - 0.5 * n_neutrons


@kernel
def dsigma_sm(e_nu, t_nr, m_n, qw, ff):
    """SM CEvNS cross section of eq. 2 in cm^2/MeV.

    G_F^2 m_N / pi (1 - m_N T / (2 E^2)) (qw F)^2 (hbar c)^2, and zero where the bracket is
    <= 0. ``qw`` is :func:`weak_charge`, ``ff`` the form factor F at ``t_nr`` (MeV).
    """
    k = 1.0 - m_n * t_nr / (2.0 * e_nu * e_nu)
    if k <= 0.0:
        return 0.0
    a = qw * ff
    return SM_PREFACTOR_CM2_MEV2 * m_n * k * a * a


@kernel
def dsigma_mm(e_nu, t_nr, m_n, z, ff, mu_b):
    """Magnetic-moment cross section of eq. 6 in cm^2/MeV, mu in Bohr magnetons.

    pi alpha^2 / m_e^2 mu^2 (1/T - 1/E) (Z F)^2 (hbar c)^2, zero where T > T_max(E).
    """
    if t_nr > t_nr_max(e_nu, m_n):
        return 0.0
    a = z * ff
    return MM_PREFACTOR_CM2 * mu_b * mu_b * (1.0 / t_nr - 1.0 / e_nu) * a * a
