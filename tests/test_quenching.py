"""Lindhard quenching (eqs. 15-16) and its inverse."""

import math

import numpy as np
import pytest
from scipy.optimize import brentq

from cevns_scan.kernels.quenching import (
    lindhard_dq_dt,
    lindhard_q,
    t_ee_kev,
    t_nr_kev_from_t_ee,
    t_nr_kev_from_t_ee_array,
)

K = 0.162


@pytest.mark.parametrize("z", [32, 54])
@pytest.mark.parametrize("t", [1e-3, 0.1, 0.254, 1.0, 3.3, 20.0, 300.0])
def test_closed_form(z, t):
    eps = 11.5 * z ** (-7 / 3) * t
    g = 3 * eps**0.15 + 0.7 * eps**0.6 + eps
    assert math.isclose(lindhard_q(t, z, K), K * g / (1 + K * g), rel_tol=1e-14)
    assert math.isclose(t_ee_kev(t, z, K), t * K * g / (1 + K * g), rel_tol=1e-14)


@pytest.mark.parametrize("z", [32, 54])
@pytest.mark.parametrize("t_ee", [1e-4, 0.16, 0.26, 1.0, 2.16, 50.0])
def test_inverse_round_trips(z, t_ee):
    t_nr = t_nr_kev_from_t_ee(t_ee, z, K)
    assert math.isclose(t_ee_kev(t_nr, z, K), t_ee, rel_tol=1e-12)
    ref = brentq(lambda x: t_ee_kev(x, z, K) - t_ee, t_ee, 100 * t_ee, xtol=1e-300, rtol=1e-15)
    assert math.isclose(t_nr, ref, rel_tol=1e-12)


def test_inverse_monotone():
    t_ee = np.linspace(0.01, 5.0, 2000)
    t_nr = t_nr_kev_from_t_ee_array(t_ee, 32.0, K)
    assert np.all(np.diff(t_nr) > 0)
    assert np.all(t_nr > t_ee)


def test_derivative_matches_finite_difference():
    t, h = 1.3, 1e-6
    fd = (lindhard_q(t + h, 32, K) - lindhard_q(t - h, 32, K)) / (2 * h)
    assert math.isclose(lindhard_dq_dt(t, 32, K), fd, rel_tol=1e-7)
