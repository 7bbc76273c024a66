"""Closed-form checks of the prefactors in kernels.constants."""

import math

from scipy import constants as sc

from cevns_scan.kernels import constants as c


def test_mm_prefactor_closed_form():
    # pi alpha^2 / m_e^2 (hbar c)^2 = 2.4947e-25 cm^2 (docs/design.md §2)
    assert math.isclose(c.MM_PREFACTOR_CM2, 2.4947e-25, rel_tol=1e-4)


def test_sm_prefactor_from_codata():
    gf = 1.1663787e-5 * 1e-6  # GeV^-2 -> MeV^-2 (CODATA 2018)
    hbarc_cm = sc.hbar * sc.c / (sc.e * 1e6) * 100.0  # MeV cm
    assert math.isclose(c.SM_PREFACTOR_CM2_MEV2, gf**2 * hbarc_cm**2 / math.pi, rel_tol=1e-8)


def test_unit_conversions():
    assert c.HBARC_MEV_CM == c.HBARC_MEV_FM * 1e-13
    assert math.isclose(c.HBARC_MEV_FM, 197.3269804, rel_tol=1e-9)
    # CODATA 2018 931.49410242, CODATA 2022 931.49410372 (scipy >= 1.15)
    assert math.isclose(c.AMU_MEV, 931.4941, rel_tol=1e-8)
