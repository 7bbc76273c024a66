"""Toy Monte Carlo of the pull chi^2 of eq. 18: conditional fits, global fits, test statistics.

The likelihood (docs/design.md §3) with an auxiliary centre a_j for each pull:

    chi2(u, v) = min_{xi, B} sum_i ((O_i - R_i - B - sum_j xi_j sigma_j R_ij) / Delta_i)^2
                 + sum_j (xi_j - a_j)^2,

R_ij = S_ij + u X_ij + v Y_ij (bin i, flux component j, u = mu_x^2, v = mu_y^2 >= 0),
R_i = sum_j R_ij; B is profiled (``bg_free``) or fixed at ``bg_value``. The observed data
have a = 0.

Profile at fixed (u, v). The residual is linear in theta = (xi_1..xi_J[, B]): with sqrt-weighted
columns A (bins) and r = (O - sum_j S_j - B_fixed - u sum_j X_j - v sum_j Y_j) / Delta, plus one
row xi_j = a_j per pull, the augmented Gram matrix

    G(u, v) = [[M, b], [b^T, c]],  M = A^T A + I_J (+) 0,  b = A^T r + (a, 0),  c = r^T r + a^T a,

has entries quadratic in (u, v) (six coefficients each, as in :mod:`.chi2`), and
chi2 = c - b^T M^-1 b is the square of the last Cholesky pivot. Only the last row of G depends
on the data (O, a), so a toy costs three dot products per column to update it.

Derivatives (variable projection, envelope theorem). With t = (theta_hat, -1),
chi2 = t^T G t, and because M theta_hat = b,

    d chi2 / du = t^T G_u t,
    d2 chi2 / du dv = t^T G_uv t - 2 g_u^T M^-1 g_v,   g_u = (G_u t)[:P],

exactly (G_u, G_uv: derivatives of the coefficient polynomials). One Cholesky gives the value,
the gradient and the Hessian of the profiled chi^2 in (u, v).

Global minimum over u, v >= 0 (:func:`global_fit`). (u, v) are rescaled so that one unit is
a signal of one Delta summed in quadrature over the bins (templates per mu_B^2 make u ~ 1e-16).
A local minimiser runs from each of three starts: the given point (for toys: the truth), the
origin, and the minimum of the unconstrained-in-sign quadratic model at the given point,
projected on the quarter plane (skipped when the first run's first step went exactly there,
as it does whenever that step is the full Newton step). The local minimiser is a
Newton method with the exact 2 x 2 Hessian, eigen-decomposed: curvature directions take the
Newton step, directions with no curvature (X proportional to Y makes one exactly flat, up to
rounding) or negative curvature take a step of the trust radius down the gradient or nothing
when the gradient along them is at rounding level, and the step is capped by the trust radius.
The bounds are an active set (a variable at 0 whose gradient points out is held; a step that
leaves the quarter plane is cut at the boundary, which the variable then joins exactly). A
step is taken when the actual decrease is at least 1e-4 of the quadratic model's prediction,
otherwise the radius shrinks; the run stops when the predicted decrease is below
``1e-13 (1 + r^T r)`` (the rounding level of chi^2). The best of the three ends is returned,
and never a value above chi2 at the given point, which is feasible: test statistics are >= 0.

Limits of the search. The profiled chi^2 is not convex: where a flux factor 1 + sigma_j xi_j
can reach zero at an affordable prior cost (sigma_j of order 0.5 or more, few bins, extreme
centres a_j) separate valleys appear, and the three starts can miss one; and the infimum can
lie at infinity (a flux factor going to zero while u or v grows), where the search stops once
the slope is at the rounding level. Against L-BFGS-B with a grid search on random models with
sigma_j <= 0.3-0.4 and at least a few bins per component, neither has been seen.

Toys (:func:`toy_statistics`), the profile construction: the nuisances are fitted to the
observed data at (u0, v0); pseudo-data are O*_i = R_i(u0, v0; xi_hat, B_hat) + Delta_i z_ki and
auxiliary centres a_kj = xi_hat_j + z'_kj, with the standard-normal z, z' given by the caller
(so that its seeds fix them). t_k = chi2_k(u0, v0) - min_{u, v >= 0} chi2_k(u, v), both
profiled over (xi, B), by the same arithmetic as :func:`observed_statistic`.
"""

import math
from typing import NamedTuple

import numpy as np

from .chi2 import last_cholesky_pivot
from .jit import kernel

#: Newton iterations per local minimisation.
MAX_ITER = 100
#: Convergence: predicted decrease below this times (1 + r^T r) (chi^2 rounding level).
REL_TOL = 1e-13

_ACCEPT = 1e-4  # fraction of the predicted decrease a step must achieve
_FLAT = 1e-12  # curvature below this times the largest |eigenvalue| counts as none
_RADIUS0 = 10.0  # initial trust radius (scaled units) beyond |start|


class GaussModel(NamedTuple):
    """Inputs of the pull chi^2 of one (mu_x, mu_y) plane (build with :func:`make_gauss_model`).

    Shapes: J flux components, n bins. Rates in events / (keV_ee kg day).
    """

    sm: np.ndarray  #: (J, n) SM templates
    mx: np.ndarray  #: (J, n) magnetic-moment templates of the x flavour per mu_B^2
    my: np.ndarray  #: (J, n) the same for the y flavour
    sigma: np.ndarray  #: (J,) fractional flux uncertainties
    obs: np.ndarray  #: (n,) observed rates
    delta: np.ndarray  #: (n,) their errors, > 0
    bg_free: bool  #: profile a flat background B, else subtract bg_value
    bg_value: float


def make_gauss_model(sm, mx, my, sigma, obs, delta, bg_free, bg_value=0.0):
    """Validate the inputs and return a :class:`GaussModel` of the dtypes the kernels expect.

    Every array becomes a C-contiguous float64 array, so all models share one compiled (and
    cached) specialisation of each kernel.
    """
    sm, mx, my = (np.ascontiguousarray(a, dtype=np.float64) for a in (sm, mx, my))
    sigma, obs, delta = (np.ascontiguousarray(a, dtype=np.float64) for a in (sigma, obs, delta))
    if sm.ndim != 2 or mx.shape != sm.shape or my.shape != sm.shape:
        raise ValueError("sm, mx, my must have one shape (J, n)")
    n_comp, n_bins = sm.shape
    if n_comp < 1 or n_bins < 1:
        raise ValueError("need at least one flux component and one bin")
    if sigma.shape != (n_comp,) or obs.shape != (n_bins,) or delta.shape != (n_bins,):
        raise ValueError("sigma must be (J,), obs and delta (n,)")
    for name, a in (("sm", sm), ("mx", mx), ("my", my), ("sigma", sigma), ("obs", obs)):
        if not np.all(np.isfinite(a)):
            raise ValueError(f"{name} must be finite")
    if not np.all(np.isfinite(delta)) or np.any(delta <= 0):
        raise ValueError("delta must be finite and > 0")
    if not math.isfinite(bg_value):
        raise ValueError("bg_value must be finite")
    return GaussModel(sm, mx, my, sigma, obs, delta, bool(bg_free), float(bg_value))


class _Work(NamedTuple):
    """Scaled columns, Gram coefficients and scratch of one model (built by :func:`_prepare`)."""

    scale: np.ndarray  # (2,) u = scale[0] * x, v = scale[1] * y (x, y: internal coordinates)
    ac: np.ndarray  # (P, n) sqrt-weighted columns of A: constant part,
    au: np.ndarray  # x part,
    av: np.ndarray  # y part
    ru: np.ndarray  # (n,) x part of the sqrt-weighted residual column
    rv: np.ndarray  # (n,) y part
    base: np.ndarray  # (P+1, 6) last row of the coefficients without the data terms
    coef: np.ndarray  # (P+1, P+1, 6) Gram coefficients in (x, y), k >= q filled
    r0: np.ndarray  # (n,) sqrt-weighted data part of the residual column
    g: np.ndarray  # (P+1, P+1) Gram matrix / Cholesky factor
    tvec: np.ndarray  # (P+1,) (theta_hat, -1)
    gu: np.ndarray  # (P+1,) G_x t
    gv: np.ndarray  # (P+1,) G_y t
    out: np.ndarray  # (7,) chi2, gradient (2), Hessian (3), r^T r


@kernel
def _prepare(model):
    sm, mx, my, sigma = model.sm, model.mx, model.my, model.sigma
    delta = model.delta
    n_comp, n_bins = sm.shape
    p = n_comp + (1 if model.bg_free else 0)
    su = 0.0
    sv = 0.0
    for i in range(n_bins):
        tx = 0.0
        ty = 0.0
        for j in range(n_comp):
            tx += mx[j, i]
            ty += my[j, i]
        su += (tx / delta[i]) ** 2
        sv += (ty / delta[i]) ** 2
    scale = np.ones(2)
    if su > 0.0:
        scale[0] = 1.0 / math.sqrt(su)
    if sv > 0.0:
        scale[1] = 1.0 / math.sqrt(sv)
    ac = np.zeros((p, n_bins))
    au = np.zeros((p, n_bins))
    av = np.zeros((p, n_bins))
    ru = np.zeros(n_bins)
    rv = np.zeros(n_bins)
    for i in range(n_bins):
        w = 1.0 / delta[i]
        for j in range(n_comp):
            ac[j, i] = sigma[j] * sm[j, i] * w
            au[j, i] = sigma[j] * mx[j, i] * scale[0] * w
            av[j, i] = sigma[j] * my[j, i] * scale[1] * w
            ru[i] -= mx[j, i] * scale[0] * w
            rv[i] -= my[j, i] * scale[1] * w
        if model.bg_free:
            ac[n_comp, i] = w
    coef = np.zeros((p + 1, p + 1, 6))
    base = np.zeros((p + 1, 6))
    for k in range(p):
        for q in range(k + 1):
            c = coef[k, q]
            for i in range(n_bins):
                a0, a1, a2 = ac[k, i], au[k, i], av[k, i]
                b0, b1, b2 = ac[q, i], au[q, i], av[q, i]
                c[0] += a0 * b0
                c[1] += a0 * b1 + a1 * b0
                c[2] += a0 * b2 + a2 * b0
                c[3] += a1 * b1
                c[4] += a1 * b2 + a2 * b1
                c[5] += a2 * b2
        if k < n_comp:
            coef[k, k, 0] += 1.0
        c = base[k]
        for i in range(n_bins):
            c[1] += ac[k, i] * ru[i]
            c[2] += ac[k, i] * rv[i]
            c[3] += au[k, i] * ru[i]
            c[4] += au[k, i] * rv[i] + av[k, i] * ru[i]
            c[5] += av[k, i] * rv[i]
    c = base[p]
    for i in range(n_bins):
        c[3] += ru[i] * ru[i]
        c[4] += 2.0 * ru[i] * rv[i]
        c[5] += rv[i] * rv[i]
    n = p + 1
    return _Work(scale, ac, au, av, ru, rv, base, coef, np.zeros(n_bins), np.zeros((n, n)),
                 np.zeros(n), np.zeros(n), np.zeros(n), np.zeros(7))


@kernel
def _residual_from_obs(model, work, obs):
    """work.r0 = (obs - sum_j S_j - B_fixed) / Delta."""
    sm = model.sm
    n_comp, n_bins = sm.shape
    bg = 0.0 if model.bg_free else model.bg_value
    for i in range(n_bins):
        s = obs[i] - bg
        for j in range(n_comp):
            s -= sm[j, i]
        work.r0[i] = s / model.delta[i]


@kernel
def _set_data(work, aux):
    """Fill the data-dependent last row of the coefficients from work.r0 and the centres aux."""
    p = work.ac.shape[0]
    n_aux = aux.size
    coef, base, r0 = work.coef, work.base, work.r0
    n_bins = r0.size
    for k in range(p):
        c = coef[p, k]
        for m in range(6):
            c[m] = base[k, m]
        s0 = 0.0
        s1 = 0.0
        s2 = 0.0
        for i in range(n_bins):
            s0 += work.ac[k, i] * r0[i]
            s1 += work.au[k, i] * r0[i]
            s2 += work.av[k, i] * r0[i]
        c[0] += s0 + (aux[k] if k < n_aux else 0.0)
        c[1] += s1
        c[2] += s2
    c = coef[p, p]
    for m in range(6):
        c[m] = base[p, m]
    s0 = 0.0
    s1 = 0.0
    s2 = 0.0
    for i in range(n_bins):
        s0 += r0[i] * r0[i]
        s1 += r0[i] * work.ru[i]
        s2 += r0[i] * work.rv[i]
    for j in range(n_aux):
        s0 += aux[j] * aux[j]
    c[0] += s0
    c[1] += 2.0 * s1
    c[2] += 2.0 * s2


@kernel
def _evaluate(work, x, y, order):
    """Profiled chi^2 at internal (x, y); order >= 1 also theta_hat (work.tvec) and the
    gradient, order 2 the Hessian, into work.out. NaN if G is not positive definite."""
    return _evaluate_arrays(work.coef, work.g, work.tvec, work.gu, work.gv, work.out, x, y,
                            order)


@kernel
def _evaluate_arrays(coef, g, tv, gu, gv, out, x, y, order):
    # no array views in here: they cost reference counting in the innermost loop
    n = coef.shape[0]
    p = n - 1
    xx = x * x
    xy = x * y
    yy = y * y
    for k in range(n):
        for q in range(k + 1):
            g[k, q] = (coef[k, q, 0] + coef[k, q, 1] * x + coef[k, q, 2] * y
                       + coef[k, q, 3] * xx + coef[k, q, 4] * xy + coef[k, q, 5] * yy)
    out[6] = g[p, p]
    f = last_cholesky_pivot(g, n)
    out[0] = f
    if math.isnan(f):
        return math.nan
    if order == 0:
        return f
    for k in range(p - 1, -1, -1):
        t = g[p, k]
        for q in range(k + 1, p):
            t -= g[q, k] * tv[q]
        tv[k] = t / g[k, k]
    tv[p] = -1.0
    fx = 0.0
    fy = 0.0
    hxx = 0.0
    hxy = 0.0
    hyy = 0.0
    x2 = 2.0 * x
    y2 = 2.0 * y
    for k in range(n):
        sx = 0.0
        sy = 0.0
        cxx = 0.0
        cxy = 0.0
        cyy = 0.0
        for q in range(n):
            a = k if q <= k else q
            b = q if q <= k else k
            c3 = coef[a, b, 3]
            c4 = coef[a, b, 4]
            c5 = coef[a, b, 5]
            tq = tv[q]
            sx += (coef[a, b, 1] + c3 * x2 + c4 * y) * tq
            sy += (coef[a, b, 2] + c4 * x + c5 * y2) * tq
            cxx += c3 * tq
            cxy += c4 * tq
            cyy += c5 * tq
        gu[k] = sx
        gv[k] = sy
        fx += tv[k] * sx
        fy += tv[k] * sy
        hxx += tv[k] * cxx
        hxy += tv[k] * cxy
        hyy += tv[k] * cyy
    out[1] = fx
    out[2] = fy
    if order < 2:
        return f
    # forward solves L y = g_x[:P], L y = g_y[:P] in place, then the M^-1 quadratic forms
    qxx = 0.0
    qxy = 0.0
    qyy = 0.0
    for k in range(p):
        sx = gu[k]
        sy = gv[k]
        for q in range(k):
            sx -= g[k, q] * gu[q]
            sy -= g[k, q] * gv[q]
        sx /= g[k, k]
        sy /= g[k, k]
        gu[k] = sx
        gv[k] = sy
        qxx += sx * sx
        qxy += sx * sy
        qyy += sy * sy
    out[3] = 2.0 * hxx - 2.0 * qxx
    out[4] = hxy - 2.0 * qxy
    out[5] = 2.0 * hyy - 2.0 * qyy
    return f


@kernel
def _flat_component(gk, lam, radius, ftol, flat_steps):
    """Step along an eigen-direction without usable positive curvature."""
    if not flat_steps:
        return 0.0
    if abs(gk) * radius > ftol:
        return -radius if gk > 0.0 else radius
    if lam < 0.0:
        return radius
    return 0.0


@kernel
def _direction(fx, fy, hxx, hxy, hyy, free_x, free_y, radius, ftol, flat_steps):
    """Modified Newton step in the free variables, capped at ``radius``."""
    dx = 0.0
    dy = 0.0
    hs = max(abs(hxx), abs(hyy), abs(hxy))
    if free_x and free_y:
        m = 0.5 * (hxx + hyy)
        d = 0.5 * (hxx - hyy)
        r = math.hypot(d, hxy)
        l1 = m + r
        l2 = m - r
        if r == 0.0:
            ex, ey = 1.0, 0.0
        else:
            if d >= 0.0:
                ex, ey = d + r, hxy
            else:
                ex, ey = hxy, r - d
            nrm = math.hypot(ex, ey)
            ex /= nrm
            ey /= nrm
        hs = max(abs(l1), abs(l2))
        g1 = ex * fx + ey * fy
        g2 = -ey * fx + ex * fy
        if l1 > _FLAT * hs:
            d1 = -g1 / l1
        else:
            d1 = _flat_component(g1, l1, radius, ftol, flat_steps)
        if l2 > _FLAT * hs:
            d2 = -g2 / l2
        else:
            d2 = _flat_component(g2, l2, radius, ftol, flat_steps)
        dx = ex * d1 - ey * d2
        dy = ey * d1 + ex * d2
    elif free_x:
        if hxx > _FLAT * hs:
            dx = -fx / hxx
        else:
            dx = _flat_component(fx, hxx, radius, ftol, flat_steps)
    elif free_y:
        if hyy > _FLAT * hs:
            dy = -fy / hyy
        else:
            dy = _flat_component(fy, hyy, radius, ftol, flat_steps)
    nrm = math.hypot(dx, dy)
    if nrm > radius:
        dx *= radius / nrm
        dy *= radius / nrm
    return dx, dy


@kernel
def _local_min(work, x, y, evaluated):
    """Local minimum of the profiled chi^2 over x, y >= 0 from a feasible (x, y).

    ``evaluated``: work.out already holds the order-2 evaluation at (x, y). Returns
    (chi2, x, y, iterations, x1, y1), (x1, y1) the first point taken (the start if none).
    """
    coef, g, tv, gu, gv, out = work.coef, work.g, work.tvec, work.gu, work.gv, work.out
    if evaluated:
        f = out[0]
    else:
        f = _evaluate_arrays(coef, g, tv, gu, gv, out, x, y, 2)
    x1 = x
    y1 = y
    if not math.isfinite(f):
        return f, x, y, 0, x1, y1
    radius = _RADIUS0 + math.hypot(x, y)
    it = 0
    while it < MAX_ITER:
        it += 1
        fx, fy, hxx, hxy, hyy = out[1], out[2], out[3], out[4], out[5]
        ftol = REL_TOL * (1.0 + out[6])
        done = False
        while True:
            free_x = x > 0.0 or fx < 0.0
            free_y = y > 0.0 or fy < 0.0
            dx, dy = _direction(fx, fy, hxx, hxy, hyy, free_x, free_y, radius, ftol, True)
            if free_x and free_y and ((x == 0.0 and dx < 0.0) or (y == 0.0 and dy < 0.0)):
                # the coupled step leaves the quarter plane at once: hold that variable
                if x == 0.0 and dx < 0.0:
                    free_x = False
                else:
                    free_y = False
                dx, dy = _direction(fx, fy, hxx, hxy, hyy, free_x, free_y, radius, ftol, True)
            # cut the step at the boundary; the variable that reaches it joins it exactly
            alpha = 1.0
            hit = -1
            if dx < 0.0 and x + dx <= 0.0:
                alpha = x / -dx
                hit = 0
            if dy < 0.0 and y + dy <= 0.0 and y / -dy < alpha:
                alpha = y / -dy
                hit = 1
            sx = alpha * dx
            sy = alpha * dy
            pred = -(fx * sx + fy * sy + 0.5 * (hxx * sx * sx + 2.0 * hxy * sx * sy
                                               + hyy * sy * sy))
            if not pred > ftol:
                done = True
                break
            xn = max(x + sx, 0.0)
            yn = max(y + sy, 0.0)
            if hit == 0:
                xn = 0.0
            elif hit == 1:
                yn = 0.0
            fn = _evaluate_arrays(coef, g, tv, gu, gv, out, xn, yn, 2)
            if fn <= f - _ACCEPT * pred:
                step = math.hypot(sx, sy)
                if fn <= f - 0.75 * pred and step >= 0.99 * radius:
                    radius *= 4.0
                if it == 1:
                    x1 = xn
                    y1 = yn
                x, y, f = xn, yn, fn
                break
            radius = 0.25 * math.hypot(sx, sy)
            if radius <= 1e-15 * (1.0 + math.hypot(x, y)):
                done = True
                break
        if done:
            break
    return f, x, y, it, x1, y1


@kernel
def _global_min(work, x0, y0):
    """Best local minimum from (x0, y0), the origin and the projected unconstrained
    quadratic-model minimum at (x0, y0); never above chi2(x0, y0).

    Returns (chi2_min, x, y, chi2(x0, y0), iterations).
    """
    out = work.out
    f0 = _evaluate(work, x0, y0, 2)
    if not math.isfinite(f0):
        return f0, x0, y0, f0, 0
    radius = 1e6 * (1.0 + math.hypot(x0, y0))
    dx, dy = _direction(out[1], out[2], out[3], out[4], out[5], True, True, radius, 0.0, False)
    xl = max(x0 + dx, 0.0)
    yl = max(y0 + dy, 0.0)
    best, bx, by = f0, x0, y0
    f, x, y, iters, x1, y1 = _local_min(work, x0, y0, True)
    if f < best:
        best, bx, by = f, x, y
    if x0 != 0.0 or y0 != 0.0:
        f, x, y, it, _, _ = _local_min(work, 0.0, 0.0, False)
        iters += it
        if f < best:
            best, bx, by = f, x, y
    # the linearised start, unless the first run's first step went exactly there
    if (xl != x1 or yl != y1) and (xl != x0 or yl != y0) and (xl != 0.0 or yl != 0.0):
        f, x, y, it, _, _ = _local_min(work, xl, yl, False)
        iters += it
        if f < best:
            best, bx, by = f, x, y
    return best, bx, by, f0, iters


@kernel
def _check_point(u, v):
    if not (u >= 0.0 and v >= 0.0 and math.isfinite(u) and math.isfinite(v)):
        raise ValueError("u = mu_x^2 and v = mu_y^2 must be finite and >= 0")


@kernel
def conditional_fit(model, obs, aux, u, v):
    """chi^2 at (u, v) with the pulls and B at their best fit to ``obs`` with centres ``aux``.

    Returns (chi2, xi (J,), B); B is ``model.bg_value`` when the background is fixed.
    """
    work = _prepare(model)
    _residual_from_obs(model, work, obs)
    _set_data(work, aux)
    f = _evaluate(work, u / work.scale[0], v / work.scale[1], 1)
    n_comp = model.sm.shape[0]
    xi = work.tvec[:n_comp].copy()
    b = work.tvec[n_comp] if model.bg_free else model.bg_value
    return f, xi, b


@kernel
def global_fit(model, obs, aux, u_start, v_start):
    """Minimum of the profiled chi^2 over u, v >= 0 for data ``obs``, centres ``aux``.

    The local searches start at (u_start, v_start) (which must be >= 0), at the origin and at
    the projected quadratic-model minimum. Returns (chi2_min, u, v).
    """
    _check_point(u_start, v_start)
    work = _prepare(model)
    _residual_from_obs(model, work, obs)
    _set_data(work, aux)
    su, sv = work.scale[0], work.scale[1]
    f, x, y, _, _ = _global_min(work, u_start / su, v_start / sv)
    return f, x * su, y * sv


@kernel
def observed_statistic(model, u0, v0):
    """t_obs(u0, v0) = chi2_obs(u0, v0) - min_{u, v >= 0} chi2_obs, as for the toys (>= 0)."""
    _check_point(u0, v0)
    work = _prepare(model)
    _residual_from_obs(model, work, model.obs)
    _set_data(work, np.zeros(model.sm.shape[0]))
    f, _, _, f0, _ = _global_min(work, u0 / work.scale[0], v0 / work.scale[1])
    return f0 - f


@kernel
def toy_statistics(model, u0, v0, z_bins, z_aux, out_t):
    """t of N toys at (u0, v0) into ``out_t`` (N,); returns the Newton iterations summed
    over toys and starts (a diagnostic).

    ``z_bins`` (N, n) and ``z_aux`` (N, J) are standard-normal numbers: toy k has pseudo-data
    R(u0, v0; xi_hat, B_hat) + Delta z_bins[k] and centres xi_hat + z_aux[k], where (xi_hat,
    B_hat) is the conditional fit to the observed data at (u0, v0). Toy k depends on row k
    only, so any split of the rows gives bit-identical results.
    """
    return toy_statistics_from(model, np.zeros(model.sm.shape[0]), u0, v0, z_bins, z_aux,
                               out_t)


@kernel
def toy_statistics_from(model, aux_obs, u0, v0, z_bins, z_aux, out_t):
    """:func:`toy_statistics` for data ``model.obs`` whose pull centres are ``aux_obs`` (J,).

    The observed data have centres 0; a pseudo-experiment used as data (nested toys for a
    coverage study) has its own fluctuated centres.
    """
    _check_point(u0, v0)
    sm, mx, my, sigma = model.sm, model.mx, model.my, model.sigma
    n_comp, n_bins = sm.shape
    n_toys = z_bins.shape[0]
    if z_bins.shape[1] != n_bins or z_aux.shape[0] != n_toys or z_aux.shape[1] != n_comp:
        raise ValueError("z_bins must be (N, n) and z_aux (N, J)")
    if out_t.shape[0] != n_toys:
        raise ValueError("out_t must be (N,)")
    work = _prepare(model)
    su, sv = work.scale[0], work.scale[1]
    x0 = u0 / su
    y0 = v0 / sv
    _residual_from_obs(model, work, model.obs)
    _set_data(work, aux_obs)
    _evaluate(work, x0, y0, 1)
    xi = work.tvec[:n_comp].copy()
    bg = work.tvec[n_comp] if model.bg_free else model.bg_value
    # expected rates with the nuisances at their conditional fit -> weighted residual base
    mean = np.empty(n_bins)
    for i in range(n_bins):
        s = bg
        for j in range(n_comp):
            s += (1.0 + sigma[j] * xi[j]) * (sm[j, i] + u0 * mx[j, i] + v0 * my[j, i])
        mean[i] = s
    _residual_from_obs(model, work, mean)
    r0_mean = work.r0.copy()
    aux = np.empty(n_comp)
    iters = 0
    for k in range(n_toys):
        for i in range(n_bins):
            work.r0[i] = r0_mean[i] + z_bins[k, i]
        for j in range(n_comp):
            aux[j] = xi[j] + z_aux[k, j]
        _set_data(work, aux)
        f, _, _, f0, it = _global_min(work, x0, y0)
        out_t[k] = f0 - f
        iters += it
    return iters


@kernel
def toy_statistics_grid(model, u_points, v_points, z_bins, z_aux, out_t):
    """:func:`toy_statistics` at m points: z_bins (m, N, n), z_aux (m, N, J), out_t (m, N).

    Returns the Newton iterations summed over all toys.
    """
    iters = 0
    for m in range(u_points.size):
        iters += toy_statistics(model, u_points[m], v_points[m], z_bins[m], z_aux[m], out_t[m])
    return iters
