"""Profile likelihood of an extended binned Poisson model with morphing templates.

Parameters theta (length P + 4) are ``[r_0 .. r_{P-1}, s_0, s_1, u, v]``: rate multipliers,
two shape parameters and the squared magnetic moments u = mu_x^2, v = mu_y^2. The expected
counts in bin b are

    lambda_b = sum_k c_k(u, v) * prod_{m in mult[k]} r_m * T_k(s_0, s_1)_b,

with c_k = 1, u or v (``coef_index[k]`` = 0, 1, 2) and T_k the template ``tmpl[k, :, :, b]``
bilinearly interpolated on the anchor grids (``morph[k]``) or ``tmpl[k, 0, 0, b]``. The
objective is the Baker-Cousins deviance plus Gaussian constraints and one optional external
quadratic penalty,

    D = 2 sum_b [lambda_b - n_b + n_b ln(n_b / lambda_b)]
        + sum_i ((theta_i - centre_i) / sigma_i)^2 + q0 + q1 theta_p + q2 theta_p^2,

where the log term is absent for n_b = 0, sigma_i <= 0 or infinite means unconstrained and
p = ``pen_index`` (-1: no penalty).

Minimiser (:func:`profile`). lambda is multilinear in the factors (r, u, v) and bilinear in
(s_0, s_1) inside one morph cell, so on a cell the exact gradient and Hessian are cheap:

    grad D = 2 sum_b (1 - n/lambda) grad lambda,
    hess D = 2 sum_b [(1 - n/lambda) hess lambda + (n/lambda^2) grad lambda grad lambda^T].

Inside a cell (its edges are temporary bounds on s) a projected Newton method runs: variables
at a bound whose gradient points out of the box are held there (active set); the others take
the Newton step of the reduced system, Levenberg-Marquardt damped (Marquardt's diagonal
scaling) whenever the reduced Hessian is not numerically positive definite, which covers the
exactly degenerate u/v direction of a global fit; an Armijo backtracking line search on the
true objective along the projected arc accepts the step (a trial with lambda_b <= 0 for some
n_b > 0 has D = +inf and is rejected). A cell is done when the predicted decrease of the
Newton step is below ``tol``. If a shape parameter then sits on a cell edge that is an
interior anchor (not a global bound), the one-sided derivative into the neighbouring cell is
evaluated; if moving across descends, the minimisation continues in that cell, otherwise the
point is a kink minimum and the search stops there. Kinks can also make D locally concave at
an anchor, with a minimum on either side: a minimum within 5 % of a cell width of an interior
anchor is therefore probed across it too, and the lower one kept. The search is local
otherwise: if D has separate minima further apart (strongly non-monotone morphing), the one
downhill of the start is returned.

Cost. At fixed u and v, components sharing multipliers and morph flag are summed into one
group (their c_k folded in), and only the four corners of the current cell of the morphing
groups are kept, as polynomial coefficients a + b x + c y + d x y per bin. Bins with n_b = 0
contribute lambda_b only, linearly in the group templates, so they enter through template
sums and every per-bin loop runs over the bins with counts alone. Once a plain (undamped,
unclipped) Newton step predicts a decrease below sqrt(tol) / 10, it is the last one and is
checked with D alone: for a self-concordant objective (the Poisson term is) it lands within
about the square of that prediction, < tol / 100, of the minimum. Nothing is allocated
inside the Newton loop. All sums run in a fixed order without fastmath, so a result
does not depend on how a scan is cut into chunks.

Status codes: :data:`CONVERGED` (0), :data:`MAX_ITER` (1), :data:`LINE_SEARCH_FAILED` (2),
:data:`INFEASIBLE_START` (3: D = inf at the clipped start), :data:`CELL_LIMIT` (4: too many
cell switches), :data:`SINGULAR` (5: no damping made the Hessian factorisable). The returned
D is never NaN for a finite model and start: it is a value actually attained, or +inf with
status 3.
"""

import math
from typing import NamedTuple

import numpy as np

from .cholesky import cholesky_columns
from .jit import kernel

CONVERGED = 0
MAX_ITER = 1
LINE_SEARCH_FAILED = 2
INFEASIBLE_START = 3
CELL_LIMIT = 4
SINGULAR = 5

#: Newton iterations per profile (summed over morph cells).
DEFAULT_MAX_ITER = 100
#: Convergence: predicted decrease of the next Newton step below this (absolute, in D units).
DEFAULT_TOL = 1e-10

_ARMIJO = 1e-4
_PIVOT_MIN = 1e-11  # smallest accepted pivot of the unit-diagonal (scaled) reduced Hessian
_MU_CONVERGED = 1e-6  # largest damping with which a small decrement counts as convergence
_PROBE = 0.05  # a minimum this close to an interior anchor (in cell widths) is probed across


class PoissonModel(NamedTuple):
    """All inputs of the likelihood except theta (build with :func:`make_model`).

    Shapes: B bins, K components, anchor grids of n0 and n1 points, NP = P + 4 parameters.
    """

    n_obs: np.ndarray  #: (B,) float64, observed counts >= 0
    tmpl: np.ndarray  #: (K, n0, n1, B) float64, templates at the anchors
    morph: np.ndarray  #: (K,) bool, template morphs with (s0, s1); else tmpl[k, 0, 0]
    coef_index: np.ndarray  #: (K,) int64, 0: c_k = 1, 1: c_k = u, 2: c_k = v
    mult: np.ndarray  #: (K, 2) int64, rate-parameter indices in [0, P), -1 = none
    anchors0: np.ndarray  #: (n0,) float64, strictly increasing anchors of s0
    anchors1: np.ndarray  #: (n1,) float64, strictly increasing anchors of s1
    centre: np.ndarray  #: (NP,) float64, Gaussian constraint centres
    sigma: np.ndarray  #: (NP,) float64, widths; <= 0 or inf: unconstrained
    lo: np.ndarray  #: (NP,) float64, lower bounds (may be -inf)
    hi: np.ndarray  #: (NP,) float64, upper bounds (may be +inf)
    pen_index: int  #: parameter of the external quadratic penalty, -1 = none
    pen_q: np.ndarray  #: (3,) float64, q0, q1, q2 (q2 >= 0)


def make_model(n_obs, tmpl, morph, coef_index, mult, anchors0, anchors1, centre, sigma, lo, hi,
               pen_index=-1, pen_q=None):
    """Validate the inputs and return a :class:`PoissonModel` of the dtypes the kernels expect.

    Every array is converted to a C-contiguous array of the documented dtype, so all models
    share one compiled (and cached) specialisation of each kernel.
    """
    n_obs = np.ascontiguousarray(n_obs, dtype=np.float64)
    tmpl = np.ascontiguousarray(tmpl, dtype=np.float64)
    morph = np.ascontiguousarray(morph, dtype=np.bool_)
    coef_index = np.ascontiguousarray(coef_index, dtype=np.int64)
    mult = np.ascontiguousarray(mult, dtype=np.int64)
    anchors0 = np.ascontiguousarray(anchors0, dtype=np.float64)
    anchors1 = np.ascontiguousarray(anchors1, dtype=np.float64)
    centre = np.ascontiguousarray(centre, dtype=np.float64)
    sigma = np.ascontiguousarray(sigma, dtype=np.float64)
    lo = np.ascontiguousarray(lo, dtype=np.float64)
    hi = np.ascontiguousarray(hi, dtype=np.float64)
    pen_q = np.zeros(3) if pen_q is None else np.ascontiguousarray(pen_q, dtype=np.float64)
    if tmpl.ndim != 4:
        raise ValueError("tmpl must have shape (K, n0, n1, B)")
    n_comp, n0, n1, n_bins = tmpl.shape
    n_par = centre.size
    if n_obs.shape != (n_bins,) or not np.all(np.isfinite(n_obs)) or np.any(n_obs < 0):
        raise ValueError("n_obs must be (B,), finite and >= 0")
    if not np.all(np.isfinite(tmpl)):
        raise ValueError("templates must be finite")
    if morph.shape != (n_comp,) or coef_index.shape != (n_comp,) or mult.shape != (n_comp, 2):
        raise ValueError("morph, coef_index, mult must have shapes (K,), (K,), (K, 2)")
    if np.any((coef_index < 0) | (coef_index > 2)):
        raise ValueError("coef_index must be 0, 1 or 2")
    if n_par < 4 or any(a.shape != (n_par,) for a in (sigma, lo, hi)):
        raise ValueError("centre, sigma, lo, hi must all have shape (P + 4,)")
    if np.any((mult < -1) | (mult >= n_par - 4)):
        raise ValueError("mult entries must be -1 or rate-parameter indices in [0, P)")
    if anchors0.shape != (n0,) or anchors1.shape != (n1,):
        raise ValueError("anchors0, anchors1 must have shapes (n0,), (n1,)")
    if morph.any() and (n0 < 2 or n1 < 2):
        raise ValueError("morphing needs at least two anchors per shape parameter")
    if np.any(np.diff(anchors0) <= 0) or np.any(np.diff(anchors1) <= 0):
        raise ValueError("anchors must be strictly increasing")
    if np.any(np.isnan(lo)) or np.any(np.isnan(hi)) or np.any(lo > hi):
        raise ValueError("bounds must satisfy lo <= hi")
    pen_index = int(pen_index)
    if not -1 <= pen_index < n_par or pen_q.shape != (3,) or not pen_q[2] >= 0:
        raise ValueError("pen_index must be -1 or a parameter index; pen_q (3,) with q2 >= 0")
    return PoissonModel(n_obs, tmpl, morph, coef_index, mult, anchors0, anchors1, centre, sigma,
                        lo, hi, pen_index, pen_q)


# Workspace rows. Few, stacked arrays keep the workspace tuple small: numba passes it by
# value and reference-counts every member, which costs compile time and run time per call.
_GRP, _FOLD, _MGL, _GMORPH = 0, 1, 2, 3  # ik (4, K): group of each component, parameter
# folded into its constant (-1: none), the morphing groups, group morphs (0/1)
_POS, _FIDX, _IDX = 0, 1, 2  # ip (3, NP): compressed index of each parameter (-1: fixed),
# parameter of each compressed index, reduced index list
_INV_S2, _GLO, _GHI, _BLO, _BHI, _G, _G2, _HS, _RHS, _STEP, _TRIAL, _TSAVE = range(12)
# vp (12, NP): 1/sigma^2 (0: unconstrained), global bounds (s also within the anchors), bounds
# of the current cell, gradient (compressed), trial gradient, Marquardt scaling, Cholesky
# right-hand side, Newton step, trial point and saved point (full length)
_H, _H2, _CHOL = 0, 1, 2  # mp (3, NP, NP): Hessian, trial Hessian, Cholesky factor
_NOBS, _INVN, _LAM, _W1, _W2 = range(5)  # nv (5, N) over the bins with counts: n, 1/n,
# lambda, 1 - n/lambda, n/lambda^2
_TT, _D0, _D1 = 0, 1, 2  # kn (3, K, N): group templates at the current point, d/ds0, d/ds1
_GM, _GW = 0, 1  # pn (2, NP, N): d lambda / d theta_free per bin, the same times n/lambda^2
_ZPOLY, _SSUM = 0, 1  # k4 (2, K, 4): cell coefficients summed over the bins with n_b = 0;
# sums of (1 - n/lambda) (T, dT/ds0, dT/ds1, d2T/ds0ds1) over all bins
# kw (7, K): product of the factors of each group, its derivative w.r.t. each of the 3
# factor slots, its second derivative w.r.t. the slot pairs (0,1), (0,2), (1,2)


class _Work(NamedTuple):
    """Scratch and bookkeeping of one profiling run (built by :func:`_setup`)."""

    ne: int  # number of component groups
    nmg: int  # number of morphing groups
    nlk: int  # number of (group, factor slot) -> free parameter links
    nf: int  # number of free parameters
    ps0: int  # compressed index of s0 (-1: fixed or no morphing component)
    ps1: int
    ik: np.ndarray  # (4, K) int64, rows _GRP, _FOLD, _MGL, _GMORPH
    gfac: np.ndarray  # (K, 3) int64, factor parameters of each group (-1 = none)
    lk: np.ndarray  # (3, 3K) int64, links: group, slot, compressed index
    ip: np.ndarray  # (3, NP) int64, rows _POS, _FIDX, _IDX
    cell: np.ndarray  # (2,) int64, current cell
    nzb: np.ndarray  # (N,) int64, the bins with n_b > 0 (per-bin work runs over these)
    act: np.ndarray  # (NP,) bool, held on a bound
    zbin: np.ndarray  # (K, n0, n1) templates summed over the bins with n_b = 0 (NaN: not yet)
    vp: np.ndarray  # (12, NP) parameter vectors, rows _INV_S2 ... _TSAVE
    mp: np.ndarray  # (3, NP, NP) rows _H, _H2, _CHOL
    nv: np.ndarray  # (5, N) rows _NOBS ... _W2
    poly: np.ndarray  # (K, 4, N) a, b, c, d of every group in the current cell
    kn: np.ndarray  # (3, K, N) rows _TT, _D0, _D1
    pn: np.ndarray  # (2, NP, N) rows _GM, _GW
    k4: np.ndarray  # (2, K, 4) rows _ZPOLY, _SSUM
    kw: np.ndarray  # (7, K) group weights and their derivatives
    ws: np.ndarray  # (3,) cell offsets x, y of the current point, sum of lambda over n_b = 0


@kernel
def _setup(model, free):
    """Group the components for the free mask ``free`` and allocate the workspace.

    Components with the same factors (rate multipliers, and u or v where that is free) and
    the same morph flag form one group; a fixed u or v is folded into the group's templates.
    """
    n_comp, n0, n1, n_bins = model.tmpl.shape
    n_par = model.centre.size
    iu = n_par - 2
    ik = np.zeros((4, n_comp), np.int64)
    grp = ik[_GRP]
    fold = ik[_FOLD]
    mgl = ik[_MGL]
    gmorph = ik[_GMORPH]
    gfac = np.full((n_comp, 3), -1, np.int64)
    for k in range(n_comp):
        fold[k] = -1
    ne = 0
    for k in range(n_comp):
        ci = model.coef_index[k]
        f2 = -1
        if ci > 0:
            if free[iu + ci - 1]:
                f2 = iu + ci - 1
            else:
                fold[k] = iu + ci - 1
        m0 = model.mult[k, 0]
        m1 = model.mult[k, 1]
        if m0 < 0 or (m1 >= 0 and m1 < m0):
            m0, m1 = m1, m0
        mk = 1 if model.morph[k] else 0
        e = -1
        for q in range(ne):
            if gfac[q, 0] == m0 and gfac[q, 1] == m1 and gfac[q, 2] == f2 and gmorph[q] == mk:
                e = q
                break
        if e < 0:
            e = ne
            ne += 1
            gfac[e, 0] = m0
            gfac[e, 1] = m1
            gfac[e, 2] = f2
            gmorph[e] = mk
        grp[k] = e
    nmg = 0
    for e in range(ne):
        if gmorph[e]:
            mgl[nmg] = e
            nmg += 1
    ip = np.zeros((3, n_par), np.int64)
    pos = ip[_POS]
    fidx = ip[_FIDX]
    nf = 0
    for i in range(n_par):
        pos[i] = -1
        if free[i]:
            pos[i] = nf
            fidx[nf] = i
            nf += 1
    lk = np.zeros((3, 3 * n_comp), np.int64)
    nlk = 0
    for e in range(ne):
        for j in range(3):
            p = gfac[e, j]
            if p >= 0 and pos[p] >= 0:
                lk[0, nlk] = e
                lk[1, nlk] = j
                lk[2, nlk] = pos[p]
                nlk += 1
    is0 = n_par - 4
    ps0 = pos[is0] if nmg > 0 else -1
    ps1 = pos[is0 + 1] if nmg > 0 else -1
    vp = np.zeros((12, n_par))
    for i in range(n_par):
        s = model.sigma[i]
        if s > 0.0 and s < math.inf:
            vp[_INV_S2, i] = 1.0 / (s * s)
        vp[_GLO, i] = model.lo[i]
        vp[_GHI, i] = model.hi[i]
    if nmg > 0:
        a0 = model.anchors0
        a1 = model.anchors1
        vp[_GLO, is0] = max(vp[_GLO, is0], a0[0])
        vp[_GHI, is0] = min(vp[_GHI, is0], a0[a0.size - 1])
        vp[_GLO, is0 + 1] = max(vp[_GLO, is0 + 1], a1[0])
        vp[_GHI, is0 + 1] = min(vp[_GHI, is0 + 1], a1[a1.size - 1])
    n_nzb = 0
    for b in range(n_bins):
        if model.n_obs[b] > 0.0:
            n_nzb += 1
    nzb = np.empty(n_nzb, np.int64)
    nv = np.zeros((5, n_nzb))
    j = 0
    for b in range(n_bins):
        if model.n_obs[b] > 0.0:
            nzb[j] = b
            nv[_NOBS, j] = model.n_obs[b]
            nv[_INVN, j] = 1.0 / model.n_obs[b]
            j += 1
    zbin = np.full((n_comp, n0, n1), math.nan)  # filled on first use (_zero_bin_sum)
    return _Work(ne, nmg, nlk, nf, ps0, ps1, ik, gfac, lk, ip, np.zeros(2, np.int64), nzb,
                 np.zeros(n_par, np.bool_), zbin, vp, np.zeros((3, n_par, n_par)), nv,
                 np.zeros((n_comp, 4, n_nzb)), np.zeros((3, n_comp, n_nzb)),
                 np.zeros((2, n_par, n_nzb)), np.zeros((2, n_comp, 4)), np.zeros((7, n_comp)),
                 np.zeros(3))


@kernel
def _cell_of(a, s):
    """Cell index c with a[c] <= s < a[c+1], clamped to [0, a.size - 2]."""
    n = a.size
    c = 0
    while c < n - 2 and a[c + 1] <= s:
        c += 1
    return c


@kernel
def _zero_bin_sum(model, zbin, k, i, q):
    """Template k at anchor (i, q) summed over the bins with n_b = 0, computed once."""
    if math.isnan(zbin[k, i, q]):
        t = model.tmpl[k, i, q]
        n_obs = model.n_obs
        acc = 0.0
        for b in range(n_obs.size):
            if not n_obs[b] > 0.0:
                acc += t[b]
        zbin[k, i, q] = acc
    return zbin[k, i, q]


@kernel
def _build_poly(theta, model, w):
    """Group templates of the cell ``w.cell`` as a + b x + c y + d x y per bin with n_b > 0.

    x = s0 - anchors0[c0], y = s1 - anchors1[c1]; non-morphing groups fill ``a`` only (and
    their templates ``kn[_TT]``, which do not depend on s). The coefficients summed over the
    bins with n_b = 0 go to ``k4[_ZPOLY]``. Fixed u and v are folded into the coefficients.
    """
    tmpl = model.tmpl
    morph = model.morph
    poly = w.poly
    zpoly = w.k4[_ZPOLY]
    tt = w.kn[_TT]
    zbin = w.zbin
    nzb = w.nzb
    grp = w.ik[_GRP]
    fold = w.ik[_FOLD]
    gmorph = w.ik[_GMORPH]
    ne = w.ne
    n_nz = nzb.size
    c0 = w.cell[0]
    c1 = w.cell[1]
    ih0 = 0.0
    ih1 = 0.0
    if w.nmg > 0:
        ih0 = 1.0 / (model.anchors0[c0 + 1] - model.anchors0[c0])
        ih1 = 1.0 / (model.anchors1[c1 + 1] - model.anchors1[c1])
    for e in range(ne):
        for q in range(4):
            zpoly[e, q] = 0.0
        for q in range(4 if gmorph[e] else 1):
            row = poly[e, q]
            for j in range(n_nz):
                row[j] = 0.0
    for k in range(tmpl.shape[0]):
        e = grp[k]
        fac = 1.0 if fold[k] < 0 else theta[fold[k]]
        if fac == 0.0:
            continue
        pa = poly[e, 0]
        if morph[k]:
            pb = poly[e, 1]
            pc = poly[e, 2]
            pd = poly[e, 3]
            fb = fac * ih0
            fc = fac * ih1
            fd = fac * ih0 * ih1
            t00 = tmpl[k, c0, c1]
            t10 = tmpl[k, c0 + 1, c1]
            t01 = tmpl[k, c0, c1 + 1]
            t11 = tmpl[k, c0 + 1, c1 + 1]
            for j in range(n_nz):
                b = nzb[j]
                pa[j] += fac * t00[b]
                pb[j] += fb * (t10[b] - t00[b])
                pc[j] += fc * (t01[b] - t00[b])
                pd[j] += fd * ((t11[b] - t10[b]) - (t01[b] - t00[b]))
            z00 = _zero_bin_sum(model, zbin, k, c0, c1)
            z10 = _zero_bin_sum(model, zbin, k, c0 + 1, c1)
            z01 = _zero_bin_sum(model, zbin, k, c0, c1 + 1)
            z11 = _zero_bin_sum(model, zbin, k, c0 + 1, c1 + 1)
            zpoly[e, 0] += fac * z00
            zpoly[e, 1] += fb * (z10 - z00)
            zpoly[e, 2] += fc * (z01 - z00)
            zpoly[e, 3] += fd * ((z11 - z10) - (z01 - z00))
        else:
            t = tmpl[k, 0, 0]
            for j in range(n_nz):
                pa[j] += fac * t[nzb[j]]
            zpoly[e, 0] += fac * _zero_bin_sum(model, zbin, k, 0, 0)
    for e in range(ne):
        if not gmorph[e]:
            src = poly[e, 0]
            dst = tt[e]
            for j in range(n_nz):
                dst[j] = src[j]


@kernel
def _weights(theta, gfac, kw, ne):
    """Products of the factors of every group and their first and second derivatives."""
    for e in range(ne):
        f = gfac[e, 0]
        t0 = theta[f] if f >= 0 else 1.0
        f = gfac[e, 1]
        t1 = theta[f] if f >= 0 else 1.0
        f = gfac[e, 2]
        t2 = theta[f] if f >= 0 else 1.0
        kw[0, e] = t0 * t1 * t2
        kw[1, e] = t1 * t2
        kw[2, e] = t0 * t2
        kw[3, e] = t0 * t1
        kw[4, e] = t2
        kw[5, e] = t1
        kw[6, e] = t0


@kernel
def _zero_bins_template(zpoly, e, morph, x, y):
    """Sum of group e over the bins with n_b = 0 at the cell offsets (x, y)."""
    if not morph:
        return zpoly[e, 0]
    return zpoly[e, 0] + zpoly[e, 2] * y + x * (zpoly[e, 1] + zpoly[e, 3] * y)


@kernel
def _lambda(theta, model, w, derivs):
    """Expected counts ``nv[_LAM]`` in the bins with n_b > 0 and their sum over the others.

    With ``derivs`` also the s-derivatives of the morphing templates. ``w.ws`` gets the cell
    offsets x, y and the n_b = 0 sum.
    """
    poly = w.poly
    tt = w.kn[_TT]
    dd0 = w.kn[_D0]
    dd1 = w.kn[_D1]
    lam = w.nv[_LAM]
    zpoly = w.k4[_ZPOLY]
    kw = w.kw
    mgl = w.ik[_MGL]
    gmorph = w.ik[_GMORPH]
    ws = w.ws
    ne = w.ne
    nmg = w.nmg
    cell = w.cell
    a0 = model.anchors0
    a1 = model.anchors1
    i0 = theta.size - 4
    _weights(theta, w.gfac, kw, ne)
    x = 0.0
    y = 0.0
    if nmg > 0:
        x = theta[i0] - a0[cell[0]]
        y = theta[i0 + 1] - a1[cell[1]]
    ws[0] = x
    ws[1] = y
    n_nz = lam.size
    for q in range(nmg):
        e = mgl[q]
        pa = poly[e, 0]
        pb = poly[e, 1]
        pc = poly[e, 2]
        pd = poly[e, 3]
        te = tt[e]
        if derivs:
            d0 = dd0[e]
            d1 = dd1[e]
            for j in range(n_nz):
                s = pb[j] + pd[j] * y
                d0[j] = s
                d1[j] = pc[j] + pd[j] * x
                te[j] = pa[j] + pc[j] * y + x * s
        else:
            for j in range(n_nz):
                s = pb[j] + pd[j] * y
                te[j] = pa[j] + pc[j] * y + x * s
    for j in range(n_nz):
        lam[j] = 0.0
    lz = 0.0
    for e in range(ne):
        t = tt[e]
        we = kw[0, e]
        for j in range(n_nz):
            lam[j] += we * t[j]
        lz += we * _zero_bins_template(zpoly, e, gmorph[e], x, y)
    ws[2] = lz


@kernel
def _dot(x, y):
    """sum_j x_j y_j with four interleaved partial sums (a fixed, reproducible order)."""
    n = x.size
    m = n - n % 4
    s0 = 0.0
    s1 = 0.0
    s2 = 0.0
    s3 = 0.0
    for j in range(0, m, 4):
        s0 += x[j] * y[j]
        s1 += x[j + 1] * y[j + 1]
        s2 += x[j + 2] * y[j + 2]
        s3 += x[j + 3] * y[j + 3]
    for j in range(m, n):
        s0 += x[j] * y[j]
    return (s0 + s1) + (s2 + s3)


@kernel
def _constraints(theta, model, inv_s2):
    """Gaussian constraints plus the external quadratic penalty."""
    centre = model.centre
    q = model.pen_q
    p = model.pen_index
    acc = 0.0
    for i in range(theta.size):
        if inv_s2[i] > 0.0:
            z = theta[i] - centre[i]
            acc += z * z * inv_s2[i]
    if p >= 0:
        t = theta[p]
        acc += q[0] + q[1] * t + q[2] * t * t
    return acc


@kernel
def _poisson_sum(nv, lz, weights):
    """sum_b [lambda - n + n ln(n/lambda)] from ``nv[_LAM]`` plus ``lz``, the lambda sum over
    the bins with n_b = 0 (+inf if lambda_b <= 0 < n_b).

    With ``weights`` also fills ``nv[_W1]`` = 1 - n/lambda and ``nv[_W2]`` = n/lambda^2.
    """
    n_nz = nv[_NOBS]
    inv_n = nv[_INVN]
    lam = nv[_LAM]
    w1 = nv[_W1]
    w2 = nv[_W2]
    acc = 0.0
    for j in range(lam.size):
        lb = lam[j]
        if not lb > 0.0:
            return math.inf
        n = n_nz[j]
        acc += lb - n - n * math.log(lb * inv_n[j])
        if weights:
            r = n / lb
            w1[j] = 1.0 - r
            w2[j] = r / lb
    return acc + lz


@kernel
def _dev_value(theta, model, w):
    """D at theta in the current cell (``w.poly`` built); +inf if lambda_b <= 0 < n_b."""
    _lambda(theta, model, w, False)
    acc = _poisson_sum(w.nv, w.ws[2], False)
    if not acc < math.inf:
        return math.inf
    return 2.0 * acc + _constraints(theta, model, w.vp[_INV_S2])


@kernel
def _add_upper(h, a, c, v):
    if a <= c:
        h[a, c] += v
    else:
        h[c, a] += v


@kernel
def _dev_full(theta, model, w, g, h):
    """D at theta with its gradient ``g`` and Hessian ``h`` over the free parameters.

    Same arithmetic for D as :func:`_dev_value`. Returns +inf (g, h undefined) if some
    lambda_b <= 0 where n_b > 0. The bins with n_b = 0 have 1 - n/lambda = 1 and
    n/lambda^2 = 0, so they enter only through the template sums ``k4[_ZPOLY]``.
    """
    _lambda(theta, model, w, True)
    nv = w.nv
    acc = _poisson_sum(nv, w.ws[2], True)
    if not acc < math.inf:
        return math.inf
    nf = w.nf
    ne = w.ne
    nmg = w.nmg
    ps0 = w.ps0
    ps1 = w.ps1
    poly = w.poly
    tt = w.kn[_TT]
    dd0 = w.kn[_D0]
    dd1 = w.kn[_D1]
    gm = w.pn[_GM]
    gw = w.pn[_GW]
    zpoly = w.k4[_ZPOLY]
    ssum = w.k4[_SSUM]
    kw = w.kw
    gfac = w.gfac
    lk = w.lk
    mgl = w.ik[_MGL]
    gmorph = w.ik[_GMORPH]
    pos = w.ip[_POS]
    fidx = w.ip[_FIDX]
    inv_s2 = w.vp[_INV_S2]
    w1 = nv[_W1]
    w2 = nv[_W2]
    n_nz = w1.size
    x = w.ws[0]
    y = w.ws[1]
    # sums of (1 - n/lambda) times the templates and their s-derivatives, all bins
    for e in range(ne):
        ssum[e, 0] = _dot(w1, tt[e]) + _zero_bins_template(zpoly, e, gmorph[e], x, y)
        if gmorph[e]:
            ssum[e, 1] = _dot(w1, dd0[e]) + (zpoly[e, 1] + zpoly[e, 3] * y)
            ssum[e, 2] = _dot(w1, dd1[e]) + (zpoly[e, 2] + zpoly[e, 3] * x)
            ssum[e, 3] = _dot(w1, poly[e, 3]) + zpoly[e, 3]
    # gradient, and the gradient of lambda per bin, one row per free parameter
    for a in range(nf):
        g[a] = 0.0
        row = gm[a]
        for j in range(n_nz):
            row[j] = 0.0
    for q in range(w.nlk):
        e = lk[0, q]
        c = kw[1 + lk[1, q], e]
        a = lk[2, q]
        g[a] += c * ssum[e, 0]
        row = gm[a]
        t = tt[e]
        for j in range(n_nz):
            row[j] += c * t[j]
    for q in range(nmg):
        e = mgl[q]
        we = kw[0, e]
        if ps0 >= 0:
            g[ps0] += we * ssum[e, 1]
            row = gm[ps0]
            d0 = dd0[e]
            for j in range(n_nz):
                row[j] += we * d0[j]
        if ps1 >= 0:
            g[ps1] += we * ssum[e, 2]
            row = gm[ps1]
            d1 = dd1[e]
            for j in range(n_nz):
                row[j] += we * d1[j]
    # (n/lambda^2) grad lambda grad lambda^T
    for a in range(nf):
        src = gm[a]
        dst = gw[a]
        for j in range(n_nz):
            dst[j] = w2[j] * src[j]
    for a in range(nf):
        for c in range(a, nf):
            h[a, c] = _dot(gw[a], gm[c])
    # (1 - n/lambda) hess lambda, from the sums per group
    for e in range(ne):
        st = ssum[e, 0]
        for pair in range(3):
            j0 = 0 if pair < 2 else 1
            j1 = 1 if pair == 0 else 2
            p = gfac[e, j0]
            q = gfac[e, j1]
            if p < 0 or q < 0 or pos[p] < 0 or pos[q] < 0:
                continue
            v = kw[4 + pair, e] * st
            if pos[p] == pos[q]:
                h[pos[p], pos[p]] += 2.0 * v
            else:
                _add_upper(h, pos[p], pos[q], v)
        if gmorph[e]:
            for j in range(3):
                p = gfac[e, j]
                if p < 0 or pos[p] < 0:
                    continue
                if ps0 >= 0:
                    _add_upper(h, pos[p], ps0, kw[1 + j, e] * ssum[e, 1])
                if ps1 >= 0:
                    _add_upper(h, pos[p], ps1, kw[1 + j, e] * ssum[e, 2])
            if ps0 >= 0 and ps1 >= 0:
                _add_upper(h, ps0, ps1, kw[0, e] * ssum[e, 3])
    for a in range(nf):
        g[a] *= 2.0
        for c in range(a, nf):
            h[a, c] *= 2.0
            h[c, a] = h[a, c]
    # constraints and penalty
    centre = model.centre
    for a in range(nf):
        i = fidx[a]
        if inv_s2[i] > 0.0:
            g[a] += 2.0 * (theta[i] - centre[i]) * inv_s2[i]
            h[a, a] += 2.0 * inv_s2[i]
    p = model.pen_index
    if p >= 0 and pos[p] >= 0:
        g[pos[p]] += model.pen_q[1] + 2.0 * model.pen_q[2] * theta[p]
        h[pos[p], pos[p]] += 2.0 * model.pen_q[2]
    return 2.0 * acc + _constraints(theta, model, inv_s2)


@kernel
def _damped_solve(g, h, vp, mp, ip, act, nf):
    """Newton step of the reduced system over the non-held variables into ``vp[_STEP]``.

    Solves (H_RR + mu diag(H_RR)) d = -g_R (Marquardt scaling by ``vp[_HS]``), with mu = 0
    first and then 1e-10, 1e-8, ... until the Cholesky factorisation has pivots above
    ``_PIVOT_MIN``. Returns (ok, mu).
    """
    hs = vp[_HS]
    z = vp[_RHS]
    step = vp[_STEP]
    ch = mp[_CHOL]
    idx = ip[_IDX]
    m = 0
    for a in range(nf):
        step[a] = 0.0
        if not act[a]:
            idx[m] = a
            m += 1
    if m == 0:
        return True, 0.0
    mu = 0.0
    for _ in range(14):
        for r in range(m):
            ar = idx[r]
            for c in range(r + 1):
                ac = idx[c]
                ch[r, c] = h[ar, ac] / (hs[ar] * hs[ac])
            ch[r, r] += mu
        if cholesky_columns(ch, m, m, _PIVOT_MIN):
            for r in range(m):
                t = -g[idx[r]] / hs[idx[r]]
                for c in range(r):
                    t -= ch[r, c] * z[c]
                z[r] = t / ch[r, r]
            for r in range(m - 1, -1, -1):
                t = z[r]
                for c in range(r + 1, m):
                    t -= ch[c, r] * z[c]
                z[r] = t / ch[r, r]
            for r in range(m):
                step[idx[r]] = z[r] / hs[idx[r]]
            return True, mu
        mu = 1e-10 if mu == 0.0 else mu * 100.0
    return False, mu


@kernel
def _project_trial(theta, alpha, vp, fidx, nf):
    """vp[_TRIAL] = clip(theta + alpha * step) on the cell box.

    Returns g . (trial - theta) and whether the box clipped any coordinate.
    """
    trial = vp[_TRIAL]
    step = vp[_STEP]
    g = vp[_G]
    lo = vp[_BLO]
    hi = vp[_BHI]
    for i in range(theta.size):
        trial[i] = theta[i]
    slope = 0.0
    clipped = False
    for a in range(nf):
        i = fidx[a]
        t = theta[i] + alpha * step[a]
        c = min(max(t, lo[i]), hi[i])
        clipped = clipped or c != t
        trial[i] = c
        slope += g[a] * (c - theta[i])
    return slope, clipped


@kernel
def _newton_box(theta, model, w, max_iter, tol):
    """Projected damped Newton on the box ``vp[_BLO/_BHI]`` (one morph cell), theta in place.

    Returns (D, status, iterations).
    """
    nf = w.nf
    vp = w.vp
    mp = w.mp
    ip = w.ip
    act = w.act
    fidx = ip[_FIDX]
    lo = vp[_BLO]
    hi = vp[_BHI]
    g = vp[_G]
    g2 = vp[_G2]
    hs = vp[_HS]
    step = vp[_STEP]
    trial = vp[_TRIAL]
    h = mp[_H]
    h2 = mp[_H2]
    d_cur = _dev_full(theta, model, w, g, h)
    if not d_cur < math.inf:
        return math.inf, INFEASIBLE_START, 0
    for it in range(max_iter):
        hmax = 0.0
        for a in range(nf):
            hmax = max(hmax, h[a, a])
        floor = max(hmax * 1e-14, 1e-300)
        for a in range(nf):
            hs[a] = math.sqrt(max(h[a, a], floor))
            i = fidx[a]
            act[a] = (theta[i] <= lo[i] and g[a] > 0.0) or (theta[i] >= hi[i] and g[a] < 0.0)
        # Newton decrement with the gradient-active set held: the convergence test
        ok, mu = _damped_solve(g, h, vp, mp, ip, act, nf)
        if not ok:
            return d_cur, SINGULAR, it
        dec = 0.0
        for a in range(nf):
            dec -= g[a] * step[a]
        if dec <= 2.0 * tol and mu <= _MU_CONVERGED:
            return d_cur, CONVERGED, it
        # also hold free variables on a bound whose Newton step points out of the box
        held = False
        for _ in range(nf):
            changed = False
            for a in range(nf):
                if not act[a]:
                    i = fidx[a]
                    if ((theta[i] <= lo[i] and step[a] < 0.0)
                            or (theta[i] >= hi[i] and step[a] > 0.0)):
                        act[a] = True
                        changed = True
            if not changed:
                break
            held = True
            ok, mu = _damped_solve(g, h, vp, mp, ip, act, nf)
            if not ok:
                return d_cur, SINGULAR, it
        # Armijo line search along the projected arc: the full step, then halving
        slope, clipped = _project_trial(theta, 1.0, vp, fidx, nf)
        accepted = False
        d_new = math.inf
        if slope < 0.0:
            if not held and not clipped and mu == 0.0 and 0.25 * dec * dec <= 0.01 * tol:
                # a plain Newton step from a decrement this small ends within ~(dec/2)^2 of
                # the minimum (self-concordance of the Poisson term): the last step
                d_new = _dev_value(trial, model, w)
                if d_new <= d_cur + _ARMIJO * slope:
                    for i in range(theta.size):
                        theta[i] = trial[i]
                    return d_new, CONVERGED, it + 1
            else:
                d_new = _dev_full(trial, model, w, g2, h2)
                accepted = d_new <= d_cur + _ARMIJO * slope
        full = accepted
        if not accepted:
            alpha = 0.5
            while alpha > 1e-14:
                slope, clipped = _project_trial(theta, alpha, vp, fidx, nf)
                if slope < 0.0:
                    d_new = _dev_value(trial, model, w)
                    if d_new <= d_cur + _ARMIJO * slope:
                        accepted = True
                        break
                alpha *= 0.5
        if not accepted:  # no decrease found: converged if only rounding was left to gain
            if dec <= 20.0 * tol or dec <= 1e-12 * abs(d_cur):
                return d_cur, CONVERGED, it
            return d_cur, LINE_SEARCH_FAILED, it
        if not full:
            d_new = _dev_full(trial, model, w, g2, h2)
        for i in range(theta.size):
            theta[i] = trial[i]
        d_cur = d_new
        for a in range(nf):
            g[a] = g2[a]
            for c in range(nf):
                h[a, c] = h2[a, c]
    return d_cur, MAX_ITER, max_iter


@kernel
def _set_box(model, w):
    """Box of the current cell: global bounds, s limited to the cell's anchors."""
    vp = w.vp
    n_par = vp.shape[1]
    for i in range(n_par):
        vp[_BLO, i] = vp[_GLO, i]
        vp[_BHI, i] = vp[_GHI, i]
    if w.nmg > 0:
        i0 = n_par - 4
        a0 = model.anchors0
        a1 = model.anchors1
        c0 = w.cell[0]
        c1 = w.cell[1]
        vp[_BLO, i0] = max(vp[_GLO, i0], a0[c0])
        vp[_BHI, i0] = min(vp[_GHI, i0], a0[c0 + 1])
        vp[_BLO, i0 + 1] = max(vp[_GLO, i0 + 1], a1[c1])
        vp[_BHI, i0 + 1] = min(vp[_GHI, i0 + 1], a1[c1 + 1])


@kernel
def _cross_gain(theta, model, w, axis, new_cell, sign, tol):
    """Evaluate the neighbouring cell across an edge of s_axis: does moving into it descend?"""
    cell = w.cell
    g2 = w.vp[_G2]
    h2 = w.mp[_H2]
    a = w.ps0 if axis == 0 else w.ps1
    old = cell[axis]
    cell[axis] = new_cell
    _build_poly(theta, model, w)
    d = _dev_full(theta, model, w, g2, h2)
    cell[axis] = old
    if not d < math.inf:
        return False
    gs = sign * g2[a]
    if not gs < 0.0:
        return False
    hss = h2[a, a]
    return hss <= 0.0 or gs * gs > 0.2 * tol * hss


@kernel
def _edge_switch(theta, model, w, tol):
    """At a converged point on an interior cell edge: move into the neighbour if it descends."""
    i0 = theta.size - 4
    cell = w.cell
    glo = w.vp[_GLO]
    ghi = w.vp[_GHI]
    ps0 = w.ps0
    ps1 = w.ps1
    a0 = model.anchors0
    a1 = model.anchors1
    for axis in range(2):
        if (ps0 if axis == 0 else ps1) < 0:
            continue
        anc = a0 if axis == 0 else a1
        c = cell[axis]
        s = theta[i0 + axis]
        if c > 0 and s == anc[c] and anc[c] > glo[i0 + axis]:
            if _cross_gain(theta, model, w, axis, c - 1, -1.0, tol):
                cell[axis] = c - 1
                return True
        if c < anc.size - 2 and s == anc[c + 1] and anc[c + 1] < ghi[i0 + axis]:
            if _cross_gain(theta, model, w, axis, c + 1, 1.0, tol):
                cell[axis] = c + 1
                return True
    return False


@kernel
def _probe_across(theta, d, model, w, max_iter, tol):
    """A minimum close to an interior anchor may have a lower twin across it (kinks of the
    bilinear morphing can make D locally concave there). Put s on the anchor; if the
    neighbouring cell descends from it, minimise there. Keeps the lower minimum.

    Returns (improved, D, iterations); theta and ``w.cell`` are restored unless improved.
    """
    i0 = theta.size - 4
    cell = w.cell
    glo = w.vp[_GLO]
    ghi = w.vp[_GHI]
    tsave = w.vp[_TSAVE]
    ps0 = w.ps0
    ps1 = w.ps1
    a0 = model.anchors0
    a1 = model.anchors1
    total = 0
    for axis in range(2):
        if (ps0 if axis == 0 else ps1) < 0:
            continue
        anc = a0 if axis == 0 else a1
        c = cell[axis]
        s = theta[i0 + axis]
        near = _PROBE * (anc[c + 1] - anc[c])
        side = 0
        if c > 0 and anc[c] > glo[i0 + axis] and s - anc[c] <= near:
            side = -1
        elif c < anc.size - 2 and anc[c + 1] < ghi[i0 + axis] and anc[c + 1] - s <= near:
            side = 1
        if side == 0 or total >= max_iter:
            continue
        for i in range(theta.size):
            tsave[i] = theta[i]
        theta[i0 + axis] = anc[c] if side < 0 else anc[c + 1]
        if _cross_gain(theta, model, w, axis, c + side, float(side), tol):
            cell[axis] = c + side
            _build_poly(theta, model, w)
            _set_box(model, w)
            d2, status, nit = _newton_box(theta, model, w, max_iter - total, tol)
            total += nit
            if status == CONVERGED and d2 < d - tol:
                return True, d2, total
            cell[axis] = c
        for i in range(theta.size):
            theta[i] = tsave[i]
    return False, d, total


@kernel
def _profile_ws(theta, model, w, max_iter, tol):
    """Minimise D over the free parameters of ``w`` from theta (in place).

    Free parameters are first clipped into their bounds (free s into the anchor range);
    fixed ones are used as given. Returns (D, iterations, status).
    """
    i0 = theta.size - 4
    fidx = w.ip[_FIDX]
    glo = w.vp[_GLO]
    ghi = w.vp[_GHI]
    cell = w.cell
    a0 = model.anchors0
    a1 = model.anchors1
    for a in range(w.nf):
        i = fidx[a]
        theta[i] = min(max(theta[i], glo[i]), ghi[i])
    cell[0] = _cell_of(a0, theta[i0])
    cell[1] = _cell_of(a1, theta[i0 + 1])
    total = 0
    d = math.inf
    for _ in range(2 * (a0.size + a1.size) + 2):
        if total >= max_iter:
            return d, total, MAX_ITER
        _build_poly(theta, model, w)
        _set_box(model, w)
        d, status, nit = _newton_box(theta, model, w, max_iter - total, tol)
        total += nit
        if status != CONVERGED:
            return d, total, status
        if _edge_switch(theta, model, w, tol):
            continue
        improved, d, nit = _probe_across(theta, d, model, w, max_iter - total, tol)
        total += nit
        if not improved:
            return d, total, CONVERGED
    return d, total, CELL_LIMIT


@kernel
def deviance(theta, model):
    """The objective D(theta) (deviance + constraints + penalty).

    Parameters
    ----------
    theta : ndarray, shape (P + 4,)
        ``[r_0 .. r_{P-1}, s0, s1, u, v]``. s outside the anchor range is extrapolated
        linearly from the edge cell.
    model : PoissonModel

    Returns
    -------
    float
        D, or +inf if lambda_b <= 0 in a bin with n_b > 0.
    """
    w = _setup(model, np.zeros(theta.size, np.bool_))
    i0 = theta.size - 4
    w.cell[0] = _cell_of(model.anchors0, theta[i0])
    w.cell[1] = _cell_of(model.anchors1, theta[i0 + 1])
    _build_poly(theta, model, w)
    return _dev_value(theta, model, w)


@kernel
def profile(theta0, free, model, max_iter=DEFAULT_MAX_ITER, tol=DEFAULT_TOL):
    """Minimise D over the parameters with ``free[i]``, the others fixed at ``theta0``.

    Parameters
    ----------
    theta0 : ndarray, shape (P + 4,)
        Start (free entries are clipped into [lo, hi], free s into the anchor range) and the
        values of the fixed parameters.
    free : ndarray of bool, shape (P + 4,)
        Parameters to profile.
    model : PoissonModel
    max_iter : int
        Newton iterations, summed over the morph cells visited.
    tol : float
        Stop when the predicted decrease of the next Newton step is below ``tol``.

    Returns
    -------
    (float, ndarray, int, int)
        D at the minimum, the minimising theta (a new array), the number of Newton
        iterations and the status code (:data:`CONVERGED` = 0 on success).
    """
    w = _setup(model, free)
    theta = theta0.copy()
    d, nit, status = _profile_ws(theta, model, w, max_iter, tol)
    return d, theta, nit, status


@kernel
def profile_plane(mu_x, mu_y, theta0, free, model, out_d, out_theta, out_info):
    """Profiled D on the grid (u, v) = (mu_x[i]^2, mu_y[j]^2), nuisances ``free`` profiled.

    Warm starts, row by row (each row on its own): the first point of a row starts from
    ``theta0``; point j starts from the minimum theta_{j-1} of point j-1, linearly
    extrapolated in v when point j-2 is available,

        start_j = theta_{j-1} + r (theta_{j-1} - theta_{j-2}),
        r = (v_j - v_{j-1}) / (v_{j-1} - v_{j-2})   (0 if the denominator is 0),

    where only converged points count: theta_{j-2} is used only if points j-2 and j-1 both
    converged, theta_{j-1} only if point j-1 converged (else the start is ``theta0``).
    :func:`profile` then clips the start into the bounds. Row i therefore depends only on
    mu_x[i], mu_y, theta0, free and model: maps computed in chunks of whole rows are
    bit-identical to one computed in one go, and every point equals :func:`profile` called
    with the start given by this rule.

    Parameters
    ----------
    mu_x, mu_y : ndarray, shape (nx,), (ny,)
    theta0 : ndarray, shape (P + 4,)
        Start and fixed values; its u and v are replaced by the grid values.
    free : ndarray of bool, shape (P + 4,)
        Nuisances to profile; u and v are always fixed here.
    model : PoissonModel
    out_d : ndarray, shape (nx, ny)
        Filled with the profiled D.
    out_theta : ndarray, shape (nx, ny, P + 4)
        Filled with the minimising parameters.
    out_info : ndarray of int64, shape (nx, ny, 2)
        Filled with (Newton iterations, status).
    """
    n_par = theta0.size
    iu = n_par - 2
    fr = free.copy()
    fr[iu] = False
    fr[iu + 1] = False
    w = _setup(model, fr)
    theta = np.empty(n_par)
    for ix in range(mu_x.size):
        u = mu_x[ix] * mu_x[ix]
        for iy in range(mu_y.size):
            v = mu_y[iy] * mu_y[iy]
            if iy >= 1 and out_info[ix, iy - 1, 1] == CONVERGED:
                prev = out_theta[ix, iy - 1]
                if iy >= 2 and out_info[ix, iy - 2, 1] == CONVERGED:
                    v1 = mu_y[iy - 1] * mu_y[iy - 1]
                    dv = v1 - mu_y[iy - 2] * mu_y[iy - 2]
                    r = (v - v1) / dv if dv != 0.0 else 0.0
                    prev2 = out_theta[ix, iy - 2]
                    for i in range(n_par):
                        theta[i] = prev[i] + r * (prev[i] - prev2[i])
                else:
                    theta[:] = prev
            else:
                theta[:] = theta0
            theta[iu] = u
            theta[iu + 1] = v
            d, nit, status = _profile_ws(theta, model, w, DEFAULT_MAX_ITER, DEFAULT_TOL)
            out_d[ix, iy] = d
            out_theta[ix, iy, :] = theta
            out_info[ix, iy, 0] = nit
            out_info[ix, iy, 1] = status


@kernel
def global_fit(theta0, free, model):
    """Minimum of D over the plane: u and v free (>= 0 through lo) with the ``free`` nuisances.

    Two starts, ``theta0`` and ``theta0`` with u = v = 0; the lower converged minimum wins
    (a non-converged result only if neither converged). The exactly degenerate case
    (X proportional to Y) is handled by the damping: any point of the minimising line is
    returned.

    Returns
    -------
    (float, ndarray, int, int)
        As :func:`profile`; the iteration count is summed over the starts.
    """
    n_par = theta0.size
    iu = n_par - 2
    fr = free.copy()
    fr[iu] = True
    fr[iu + 1] = True
    w = _setup(model, fr)
    best = theta0.copy()
    theta = theta0.copy()
    d_best, total, st_best = _profile_ws(best, model, w, DEFAULT_MAX_ITER, DEFAULT_TOL)
    if theta0[iu] != 0.0 or theta0[iu + 1] != 0.0:
        theta[iu] = 0.0
        theta[iu + 1] = 0.0
        d, nit, status = _profile_ws(theta, model, w, DEFAULT_MAX_ITER, DEFAULT_TOL)
        total += nit
        better = d < d_best
        if (status == CONVERGED) != (st_best == CONVERGED):
            better = status == CONVERGED
        if better:
            d_best = d
            st_best = status
            best[:] = theta
    return d_best, best, total, st_best
