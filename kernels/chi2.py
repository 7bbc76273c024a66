"""Pull-term chi^2 of eq. 18 with the pulls and a flat background profiled exactly.

For expected rates R_ij (bin i, flux component j), observations O_i and errors Delta_i,

    chi2 = min_{xi, B} sum_i ((O_i - R_i - B - sum_j xi_j c_ij) / Delta_i)^2 + sum_j xi_j^2,

with R_i = sum_j R_ij and c_ij = sigma_j R_ij. This is linear least squares in
theta = (xi_1..xi_J[, B]). With A = [c | 1], W = diag(1/Delta^2), r = O - R (- B if fixed),
the normal matrix is M = A^T W A + diag(1..1[, 0]) (positive definite) and

    chi2 = r^T W r - b^T M^-1 b,   b = A^T W r.

That is the last pivot of the Cholesky factorisation of the augmented Gram matrix
G = [[M, b], [b^T, r^T W r]], which is how it is computed (no explicit inverse).

At a grid point R_ij = S_ij + u X_ij + v Y_ij with u = mu_x^2, v = mu_y^2 (X, Y the
magnetic-moment templates of the two scanned flavours per mu_B^2). Every column of [A | r] is
linear in (1, u, v), so every entry of G is a quadratic polynomial in (u, v): its six
coefficients are summed over bins once per plane (:func:`gram_coefficients`), and a grid point
costs one polynomial evaluation per entry and a (P+1) x (P+1) Cholesky.

Rounding: chi2 is a difference of terms of size r^T W r, so it carries an absolute error of
order 1e-15 r^T W r; a negative result of that size is returned as 0.
"""

import math

import numpy as np

from .cholesky import cholesky_columns
from .jit import inline_kernel, kernel

#: Monomials of the Gram coefficients, in order: 1, u, v, u^2, u v, v^2.
N_MONOMIALS = 6


@kernel
def gram_coefficients(sm, mx, my, sigma, obs, delta, bg_free, bg_value):
    """Coefficients of the augmented Gram matrix G(u, v), shape (P+1, P+1, 6).

    Parameters
    ----------
    sm, mx, my : ndarray, shape (J, n)
        SM templates and the magnetic-moment templates (per mu_B^2) of the x and y flavours,
        events / (keV_ee kg day), for the J flux components that take a pull.
    sigma : ndarray, shape (J,)
        Fractional 1-sigma flux uncertainties.
    obs, delta : ndarray, shape (n,)
        Observed rates and their errors (same units; delta > 0).
    bg_free : bool
        Profile a flat background B (True) or subtract the fixed ``bg_value``.

    Returns
    -------
    ndarray
        ``coef[k, q, :]`` (k >= q filled) such that
        G[k, q] = c0 + c1 u + c2 v + c3 u^2 + c4 u v + c5 v^2; the +1 prior of the pulls is
        included in c0 of the first J diagonal entries.
    """
    n_comp, n_bins = sm.shape
    p = n_comp + (1 if bg_free else 0)
    cols = np.zeros((p + 1, 3, n_bins))  # column k of [A | r] as (const, u, v) per bin
    for i in range(n_bins):
        r0 = obs[i] - (0.0 if bg_free else bg_value)
        ru = 0.0
        rv = 0.0
        for j in range(n_comp):
            cols[j, 0, i] = sigma[j] * sm[j, i]
            cols[j, 1, i] = sigma[j] * mx[j, i]
            cols[j, 2, i] = sigma[j] * my[j, i]
            r0 -= sm[j, i]
            ru -= mx[j, i]
            rv -= my[j, i]
        if bg_free:
            cols[n_comp, 0, i] = 1.0
        cols[p, 0, i] = r0
        cols[p, 1, i] = ru
        cols[p, 2, i] = rv
    coef = np.zeros((p + 1, p + 1, N_MONOMIALS))
    for k in range(p + 1):
        for q in range(k + 1):
            for i in range(n_bins):
                w = 1.0 / (delta[i] * delta[i])
                a0, a1, a2 = cols[k, 0, i], cols[k, 1, i], cols[k, 2, i]
                b0, b1, b2 = cols[q, 0, i], cols[q, 1, i], cols[q, 2, i]
                coef[k, q, 0] += w * a0 * b0
                coef[k, q, 1] += w * (a0 * b1 + a1 * b0)
                coef[k, q, 2] += w * (a0 * b2 + a2 * b0)
                coef[k, q, 3] += w * a1 * b1
                coef[k, q, 4] += w * (a1 * b2 + a2 * b1)
                coef[k, q, 5] += w * a2 * b2
        if k < n_comp:
            coef[k, k, 0] += 1.0
    return coef


@kernel
def chi2_from_gram(coef, u, v, g):
    """chi^2 at (u, v) = (mu_x^2, mu_y^2): the last Cholesky pivot of G(u, v).

    ``g`` is (P+1, P+1) scratch. Returns NaN if G is not positive definite (never for
    delta > 0 and finite templates; the scan driver reports it as an error).
    """
    n = coef.shape[0]
    uu = u * u
    uv = u * v
    vv = v * v
    for k in range(n):
        for q in range(k + 1):
            c = coef[k, q]
            g[k, q] = c[0] + c[1] * u + c[2] * v + c[3] * uu + c[4] * uv + c[5] * vv
    return last_cholesky_pivot(g, n)


@inline_kernel
def last_cholesky_pivot(g, n):
    """Last pivot of the Cholesky factorisation of the leading n x n block of ``g``.

    Only the lower triangle of ``g`` is read; its first n - 1 columns are overwritten with the
    Cholesky factor L (callers solve with it). For the augmented Gram matrix of eq. 18 the last
    pivot is the profiled chi^2 (clipped at 0 against rounding). Returns NaN if the leading
    (n-1) x (n-1) block is not positive definite or the pivot is not finite.
    """
    if not cholesky_columns(g, n - 1, n, 0.0):
        return math.nan
    s = g[n - 1, n - 1]
    for q in range(n - 1):
        s -= g[n - 1, q] * g[n - 1, q]
    if not math.isfinite(s):
        return math.nan
    return max(s, 0.0)


@kernel
def chi2_grid(mu_x, mu_y, coef, out):
    """Fill ``out[i, k]`` with chi^2 at (mu_x[i], mu_y[k]) in mu_B.

    Every point is computed by the same arithmetic, so a map does not depend on how the
    grid is cut into chunks, workers or shards.
    """
    n = coef.shape[0]
    g = np.empty((n, n))
    for ix in range(mu_x.size):
        u = mu_x[ix] * mu_x[ix]
        for iy in range(mu_y.size):
            out[ix, iy] = chi2_from_gram(coef, u, mu_y[iy] * mu_y[iy], g)
