"""Cross sections of eqs. 2 and 6 against their closed forms, written out here."""

import math

import pytest
from scipy import constants as sc

from cevns_scan.kernels.cross_sections import dsigma_mm, dsigma_sm, weak_charge
from cevns_scan.kernels.kinematics import t_nr_max

GF = sc.physical_constants["Fermi coupling constant"][0] * 1e-6
HBARC_CM = sc.physical_constants["reduced Planck constant times c in MeV fm"][0] * 1e-13
ME = sc.physical_constants["electron mass energy equivalent in MeV"][0]
Z, A = 32, 72.630
M = A * sc.physical_constants["atomic mass constant energy equivalent in MeV"][0]


def test_weak_charge():
    s2w = 0.23863
    assert math.isclose(weak_charge(Z, A - Z, s2w),
                        0.5 * (1 - 4 * s2w) * Z - 0.5 * (A - Z), rel_tol=1e-15)


@pytest.mark.parametrize(("e", "t"), [(10.0, 1e-3), (6.0, 5e-4), (15.0, 4e-3)])
def test_sm_closed_form(e, t):
    qw, ff = -19.5, 0.93
    ref = GF**2 * M / math.pi * (1 - M * t / (2 * e * e)) * (qw * ff) ** 2 * HBARC_CM**2
    assert math.isclose(dsigma_sm(e, t, M, qw, ff), ref, rel_tol=1e-13)


def test_sm_zero_where_bracket_negative():
    e = 5.0
    t_zero = 2 * e * e / M
    assert dsigma_sm(e, t_zero, M, -19.5, 1.0) == 0.0
    assert dsigma_sm(e, 1.01 * t_zero, M, -19.5, 1.0) == 0.0
    assert dsigma_sm(e, 0.99 * t_zero, M, -19.5, 1.0) > 0.0


def test_mm_closed_form_and_kinematic_edge():
    e, mu, ff = 10.0, 1e-9, 0.9
    t = 0.5 * t_nr_max(e, M)
    ref = math.pi * sc.fine_structure**2 / ME**2 * mu**2 * (1 / t - 1 / e) * (Z * ff) ** 2 \
        * HBARC_CM**2
    assert math.isclose(dsigma_mm(e, t, M, Z, ff, mu), ref, rel_tol=1e-13)
    tmax = t_nr_max(e, M)
    assert dsigma_mm(e, tmax, M, Z, ff, mu) > 0.0
    assert dsigma_mm(e, tmax * (1 + 1e-12), M, Z, ff, mu) == 0.0


def test_mm_scales_as_mu_squared():
    a = dsigma_mm(10.0, 1e-3, M, Z, 1.0, 1e-9)
    b = dsigma_mm(10.0, 1e-3, M, Z, 1.0, 3e-9)
    assert math.isclose(b / a, 9.0, rel_tol=1e-14)
