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
