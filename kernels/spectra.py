"""Exact energy moments of a piecewise-linear neutrino spectrum.

The flux x cross-section integral of eq. 12 needs, at the lower limit x = E_min(T),

    A_p(x) = int_x^{E_last} phi(E) E^p dE,   p = 0, -1, -2,

because both cross sections (eqs. 2 and 6) are polynomials in 1/E at fixed T once the form
factor (a function of T only) is taken out. For a spectrum that is linear between table rows
each panel integral has a closed form, so A_p is a suffix sum over whole panels plus one
partial panel starting exactly at x: there is no quadrature in E and no kinematic step inside
a panel. Energies in MeV, phi in MeV^-1 (unit area).
"""

import math

import numpy as np

from .jit import kernel


@kernel
def _r_minus_log1p(r):
    """r - log(1 + r) without cancellation for small r."""
    if r < 1e-3:
        return r * r * (0.5 - r * (1.0 / 3.0 - r * (0.25 - r * (0.2 - r / 6.0))))
    return r - math.log1p(r)


@kernel
def _log1p_minus_r_over_1pr(r):
    """log(1 + r) - r / (1 + r) without cancellation for small r."""
    if r < 1e-3:
        return r * r * (0.5 - r * (2.0 / 3.0 - r * (0.75 - r * (0.8 - r * 5.0 / 6.0))))
    return math.log1p(r) - r / (1.0 + r)


@kernel
def panel_tail_moments(e0, e1, f0, f1, x):
    """Moments int_x^{e1} phi(E) E^p dE, p = 0, -1, -2, for phi linear on [e0, e1].

    Parameters
    ----------
    e0, e1 : float
        Panel edges in MeV, 0 < e0 <= x <= e1.
    f0, f1 : float
        phi at the edges (MeV^-1).
    x : float
        Lower limit in MeV.

    Returns
    -------
    (float, float, float)
        The three moments (dimensionless, MeV^-1, MeV^-2).
    """
    h = e1 - x
    if h <= 0.0:
        return 0.0, 0.0, 0.0
    s = (f1 - f0) / (e1 - e0)
    fx = f0 + s * (x - e0)
    r = h / x
    lg = math.log1p(r)
    m0 = 0.5 * h * (fx + f1)
    m1 = fx * lg + s * x * _r_minus_log1p(r)
    m2 = fx * h / (x * e1) + s * _log1p_minus_r_over_1pr(r)
    return m0, m1, m2


@kernel
def tail_moment_table(e, f):
    """Suffix sums ``cum[p, k]`` = moments of phi over [e[k], e[-1]] (shape (3, n)).

    A panel that starts at E = 0 has divergent inverse moments; they are stored as +inf and
    never used, because E_min(T) > 0 for every T > 0.
    """
    n = e.size
    cum = np.zeros((3, n))
    for m in range(n - 2, -1, -1):
        if e[m] > 0.0:
            m0, m1, m2 = panel_tail_moments(e[m], e[m + 1], f[m], f[m + 1], e[m])
        else:
            m0 = 0.5 * (e[m + 1] - e[m]) * (f[m] + f[m + 1])
            m1 = math.inf
            m2 = math.inf
        cum[0, m] = cum[0, m + 1] + m0
        cum[1, m] = cum[1, m + 1] + m1
        cum[2, m] = cum[2, m + 1] + m2
    return cum


@kernel
def panel_index(e, x):
    """Index k with e[k] <= x < e[k+1]; -1 below the table, n-1 at or above its end."""
    n = e.size
    if x < e[0]:
        return -1
    if x >= e[n - 1]:
        return n - 1
    lo = 0
    hi = n - 1
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if e[mid] <= x:
            lo = mid
        else:
            hi = mid
    return lo


@kernel
def tail_moments_in_panel(x, k, e, f, cum):
    """Moments from x to the end of the table, given the panel index k of x."""
    n = e.size
    if k < 0:
        return cum[0, 0], cum[1, 0], cum[2, 0]
    if k >= n - 1:
        return 0.0, 0.0, 0.0
    m0, m1, m2 = panel_tail_moments(e[k], e[k + 1], f[k], f[k + 1], x)
    return m0 + cum[0, k + 1], m1 + cum[1, k + 1], m2 + cum[2, k + 1]


@kernel
def tail_moments(x, e, f, cum):
    """A_p(x) = int_{max(x, e[0])}^{e[-1]} phi(E) E^p dE for p = 0, -1, -2."""
    if e.size < 2:
        return 0.0, 0.0, 0.0
    return tail_moments_in_panel(x, panel_index(e, x), e, f, cum)
