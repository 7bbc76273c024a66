"""Workspace of one profiling run: the grouping of the components for a free mask, the
compressed indices of the free parameters, and every scratch array, allocated once by
:func:`_setup` (nothing is allocated inside the Newton loop); and the helpers of the current
morph cell (which cell a point lies in, the cell's box).
"""

import math
from typing import NamedTuple

import numpy as np

from ..jit import kernel

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
