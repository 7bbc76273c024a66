"""Recoil kinematics (eqs. 13-14)."""

import math

import numpy as np
import pytest

from cevns_scan.kernels.kinematics import e_nu_min, t_nr_max

M_GE = 72.630 * 931.49410242  # MeV


@pytest.mark.parametrize("t_kev", [1e-4, 1e-2, 0.16, 1.0, 4.0, 50.0])
def test_tmax_inverts_emin(t_kev):
    t = t_kev * 1e-3
    assert math.isclose(t_nr_max(e_nu_min(t, M_GE), M_GE), t, rel_tol=1e-12)


@pytest.mark.parametrize("e", [0.3843, 1.442, 8.0, 16.0])
def test_emin_inverts_tmax(e):
    assert math.isclose(e_nu_min(t_nr_max(e, M_GE), M_GE), e, rel_tol=1e-12)


def test_nonrelativistic_limit():
    # for E << m_N: T_max -> 2 E^2 / m_N and E_min -> sqrt(m_N T / 2)
    e = 10.0
    assert math.isclose(t_nr_max(e, M_GE), 2 * e * e / M_GE, rel_tol=3 * e / M_GE)
    t = 1e-3
    assert math.isclose(e_nu_min(t, M_GE), math.sqrt(M_GE * t / 2), rel_tol=1e-3)


def test_emin_increasing():
    t = np.geomspace(1e-6, 1e-1, 200)
    e = np.array([e_nu_min(x, M_GE) for x in t])
    assert np.all(np.diff(e) > 0)
