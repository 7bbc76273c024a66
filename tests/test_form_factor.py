"""Helm form factor: F(0) = 1, continuity at the series switch, closed form elsewhere."""

import math

import numpy as np
import pytest
from scipy.special import spherical_jn

from cevns_scan.kernels.constants import HBARC_MEV_FM, HELM_SERIES_X
from cevns_scan.kernels.form_factor import helm_ff, helm_radius_fm, spherical_j1_over_x

A_GE = 72.630
M_GE = A_GE * 931.49410242


def test_f_at_zero_is_one():
    assert helm_ff(0.0, M_GE, helm_radius_fm(A_GE)) == 1.0
    assert spherical_j1_over_x(0.0) == 1.0


def test_continuous_across_series_branch():
    x0 = HELM_SERIES_X
    below = spherical_j1_over_x(np.nextafter(x0, 0.0))
    above = spherical_j1_over_x(x0)
    assert abs(below - above) < 1e-12


@pytest.mark.parametrize("x", [1e-6, 1e-3, 0.05, 0.0999, 0.1, 0.5, 2.0, 4.0])
def test_j1_over_x_matches_scipy(x):
    ref = 3.0 * spherical_jn(1, x) / x
    assert math.isclose(spherical_j1_over_x(x), ref, rel_tol=1e-11)


def test_helm_radius_lewin_smith():
    c = 1.23 * A_GE ** (1 / 3) - 0.60
    ref = math.sqrt(c * c + 7 / 3 * math.pi**2 * 0.52**2 - 5 * 0.9**2)
    assert math.isclose(helm_radius_fm(A_GE), ref, rel_tol=1e-14)


@pytest.mark.parametrize("t_kev", [0.1, 1.0, 5.0, 30.0])
def test_helm_closed_form(t_kev):
    r0 = helm_radius_fm(A_GE)
    q = math.sqrt(2 * M_GE * t_kev * 1e-3) / HBARC_MEV_FM
    ref = 3 * spherical_jn(1, q * r0) / (q * r0) * math.exp(-0.5 * (q * 0.9) ** 2)
    assert math.isclose(helm_ff(t_kev * 1e-3, M_GE, r0), ref, rel_tol=1e-11)
