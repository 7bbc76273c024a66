"""The minimiser: projected damped Newton inside a morph cell, and the moves between cells.

On a cell, D's exact gradient and Hessian come from :mod:`.objective`.

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

Once a plain (undamped, unclipped) Newton step predicts a decrease below sqrt(tol) / 10, it
is the last one and is checked with D alone: for a self-concordant objective (the Poisson
term is) it lands within about the square of that prediction, < tol / 100, of the minimum.

Status codes (documented in :mod:`cevns_scan.kernels.poisson`) and the default iteration
limit and tolerance of the drivers are defined here.
"""

import math

from ..cholesky import cholesky_columns
from ..jit import kernel
from .objective import _build_poly, _dev_full, _dev_value
from .workspace import (
    _BHI,
    _BLO,
    _CHOL,
    _FIDX,
    _G,
    _G2,
    _GHI,
    _GLO,
    _H,
    _H2,
    _HS,
    _IDX,
    _RHS,
    _STEP,
    _TRIAL,
    _TSAVE,
    _cell_of,
    _set_box,
)

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
