"""Physical constants and fixed model parameters (CODATA via :mod:`scipy.constants`).

Every number used by the kernels is defined here once. Units: MeV, cm, s.
Numba freezes these module globals into the compiled code.
"""

import math

from scipy import constants as _sc

_pc = _sc.physical_constants

#: Fermi constant G_F in MeV^-2 (CODATA value is in GeV^-2).
G_F_MEV2 = _pc["Fermi coupling constant"][0] * 1.0e-6
#: hbar*c in MeV fm and MeV cm.
HBARC_MEV_FM = _pc["reduced Planck constant times c in MeV fm"][0]
HBARC_MEV_CM = HBARC_MEV_FM * 1.0e-13
#: Fine-structure constant.
ALPHA_EM = _sc.fine_structure
#: Electron mass and atomic mass unit in MeV.
M_E_MEV = _pc["electron mass energy equivalent in MeV"][0]
AMU_MEV = _pc["atomic mass constant energy equivalent in MeV"][0]
#: Avogadro constant (mol^-1).
N_AVOGADRO = _sc.Avogadro

SECONDS_PER_DAY = 86400.0
KEV_PER_MEV = 1.0e3
MEV_PER_KEV = 1.0e-3

#: Prefactor of eq. 2 in cm^2 MeV^-2: G_F^2 (hbar c)^2 / pi; times m_N (MeV) gives cm^2/MeV.
SM_PREFACTOR_CM2_MEV2 = G_F_MEV2**2 * HBARC_MEV_CM**2 / math.pi
#: Prefactor of eq. 6 in cm^2: pi alpha^2 / m_e^2 (hbar c)^2 (= 2.4947e-25 cm^2).
MM_PREFACTOR_CM2 = math.pi * ALPHA_EM**2 / M_E_MEV**2 * HBARC_MEV_CM**2

#: Helm form-factor parameters, Lewin & Smith (1996), in fm.
HELM_S_FM = 0.9
HELM_A_FM = 0.52
HELM_C_SLOPE_FM = 1.23
HELM_C_OFFSET_FM = 0.60
#: Below this q*R0 the Helm form factor uses its Taylor series (no 0/0).
HELM_SERIES_X = 0.1

#: Lindhard epsilon = LINDHARD_EPS_COEFF * Z^(-7/3) * T_nr[keV] (eq. 15).
LINDHARD_EPS_COEFF = 11.5

#: Pion decay at rest (cevns_scan.sources.pion_dar). The muon mass is CODATA (scipy.constants);
#: scipy has no pion data, so the charged-pion mass and both lifetimes are the PDG 2024 values
#: (S. Navas et al. (Particle Data Group), Phys. Rev. D 110, 030001 (2024), summary tables):
#: m_pi+ = 139.57039(18) MeV, tau_pi+ = 2.6033(5)e-8 s, tau_mu = 2.1969811(22)e-6 s.
M_MU_MEV = _pc["muon mass energy equivalent in MeV"][0]
M_PI_CHARGED_MEV = 139.57039
TAU_PI_CHARGED_S = 2.6033e-8
TAU_MU_S = 2.1969811e-6
#: Seconds per microsecond and centimetres per metre (unit conversions at the edges).
S_PER_US = 1.0e-6
CM_PER_M = 100.0
