"""The objective D, its gradient and its Hessian over the free parameters, on one morph cell.

lambda is multilinear in the factors (r, u, v) and bilinear in (s_0, s_1) inside one morph
cell, so on a cell the exact gradient and Hessian are cheap:

    grad D = 2 sum_b (1 - n/lambda) grad lambda,
    hess D = 2 sum_b [(1 - n/lambda) hess lambda + (n/lambda^2) grad lambda grad lambda^T].

Cost. At fixed u and v, components sharing multipliers and morph flag are summed into one
group (their c_k folded in), and only the four corners of the current cell of the morphing
groups are kept, as polynomial coefficients a + b x + c y + d x y per bin. Bins with n_b = 0
contribute lambda_b only, linearly in the group templates, so they enter through template
sums and every per-bin loop runs over the bins with counts alone.
"""

import math

import numpy as np

from ..jit import kernel
from .workspace import (
    _D0,
    _D1,
    _FIDX,
    _FOLD,
    _GM,
    _GMORPH,
    _GRP,
    _GW,
    _INV_S2,
    _INVN,
    _LAM,
    _MGL,
    _NOBS,
    _POS,
    _SSUM,
    _TT,
    _W1,
    _W2,
    _ZPOLY,
    _cell_of,
    _setup,
)


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
