"""Exact moments of piecewise-linear spectra (kernels.spectra) against scipy.integrate.quad."""

import math

import numpy as np
import pytest
from scipy.integrate import quad

from cevns_scan.kernels.spectra import panel_tail_moments, tail_moment_table, tail_moments

E = np.array([0.5, 1.0, 2.5, 4.0, 4.001, 9.0])
F = np.array([0.0, 0.3, 0.2, 0.05, 0.05, 0.0])


def _ref(x, p):
    f = lambda e: np.interp(e, E, F) * e**p  # noqa: E731
    pts = [e for e in E if e > x]
    total = 0.0
    a = max(x, E[0])
    for b in pts:
        total += quad(f, a, b, epsabs=0, epsrel=1e-13)[0]
        a = b
    return total


@pytest.mark.parametrize("x", [0.1, 0.5, 0.77, 1.0, 3.999, 4.0005, 8.9999, 9.0, 12.0])
def test_tail_moments_vs_quad(x):
    cum = tail_moment_table(E, F)
    got = tail_moments(x, E, F, cum)
    for p, value in zip((0, -1, -2), got, strict=True):
        ref = _ref(x, p)
        assert math.isclose(value, ref, rel_tol=1e-12, abs_tol=1e-15), (x, p, value, ref)


@pytest.mark.parametrize("x", [10.0, 10.0 + 1e-9, 10.0 + 1e-5, 10.05, 10.4])
def test_small_panel_remainder_has_no_cancellation(x):
    # the r - log1p(r) and log1p(r) - r/(1+r) branches near the panel end
    e0, e1, f0, f1 = 10.0, 10.5, 2.0, 1.0
    got = panel_tail_moments(e0, e1, f0, f1, x)
    f = lambda e: f0 + (f1 - f0) * (e - e0) / (e1 - e0)  # noqa: E731
    for p, value in zip((0, -1, -2), got, strict=True):
        ref = quad(lambda e: f(e) * e**p, x, e1, epsabs=0, epsrel=1e-13)[0]  # noqa: B023
        assert math.isclose(value, ref, rel_tol=1e-12), (x, p)


def test_spectrum_starting_at_zero_energy():
    e = np.array([0.0, 1.0, 2.0])
    f = np.array([0.0, 1.0, 0.0])
    cum = tail_moment_table(e, f)
    assert cum[0, 0] == 1.0
    assert math.isinf(cum[1, 0]) and math.isinf(cum[2, 0])
    m0, m1, m2 = tail_moments(0.5, e, f, cum)
    assert math.isclose(m0, 1.0 - 0.125, rel_tol=1e-14)
    # int_0.5^1 dE + int_1^2 (2 - E)/E dE = 0.5 + 2 ln 2 - 1
    assert math.isclose(m1, 0.5 + 2 * math.log(2) - 1, rel_tol=1e-13)
    # int_0.5^1 dE/E + int_1^2 (2 - E)/E^2 dE = ln 2 + (1 - ln 2) = 1
    assert math.isclose(m2, 1.0, rel_tol=1e-13)
