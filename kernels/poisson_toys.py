"""Pseudo-experiments of the binned Poisson likelihood (kernels/poisson/) for the Neyman
construction (docs/design.md §3).

Each toy replaces the observed counts and the constraint centres (the auxiliary
measurements) and is fitted twice: at the tested point (u0, v0), the nuisances profiled,
and over the plane (u, v free, >= 0). Its statistic is t = D(u0, v0) - min(D(u0, v0),
D_global) >= 0, the same as for the data. The random numbers come from the caller.
"""

import numpy as np

from .jit import kernel
from .poisson import PoissonModel, global_fit, profile


@kernel
def _global_1d(theta_toy, free, toy, v_to_u):
    """Global fit when the v template is ``1 / v_to_u`` times the u one (one direction).

    Then lambda depends on u + v_to_u v only, and the minimum over u, v >= 0 is the minimum
    over u >= 0 at v = 0, started from the toy's own conditional minimum mapped onto the u axis
    (and from u = 0 if that does not converge). A second start from u = 0 after a converged
    first one never found a lower minimum in 1200 XENONnT toys at four points, so it is
    left out: it cost a third of the time.
    """
    n_par = theta_toy.size
    iu = n_par - 2
    fr = free.copy()
    fr[iu] = True
    fr[iu + 1] = False
    start = theta_toy.copy()
    start[iu] = theta_toy[iu] + v_to_u * theta_toy[iu + 1]
    start[iu + 1] = 0.0
    d1, best, _, s1 = profile(start, fr, toy)
    if s1 != 0 and best[iu] > 0.0:  # not converged: try again from the boundary
        start[iu] = 0.0
        d2, _, _, s2 = profile(start, fr, toy)
        if d2 < d1 or s2 == 0:
            return d2, s2
    return d1, s1


@kernel
def toy_statistics(model, theta_hat, free, counts, centres, v_to_u, out_t):
    """t of N toys into ``out_t`` (N,); returns the number of fits that did not converge.

    Parameters
    ----------
    model : PoissonModel
        The model of the data (its ``n_obs`` and ``centre`` are replaced per toy).
    theta_hat : ndarray, shape (P + 4,)
        The conditional fit to the data at the tested point (its u, v are the point);
        every fit of a toy starts there.
    free : ndarray of bool, shape (P + 4,)
        The nuisances to profile (u and v are fixed for the conditional fit and freed by the
        global one).
    counts : ndarray, shape (N, B)
        Pseudo-data counts.
    centres : ndarray, shape (N, P + 4)
        The toys' constraint centres.
    v_to_u : float
        >= 0 when lambda depends on (u, v) only through u + v_to_u v, i.e. every v template is
        v_to_u times the u one (the paper's constant flavour probabilities): the global fit
        is then one-dimensional, exactly. < 0: a general two-dimensional global fit.
    """
    failed = 0
    for k in range(counts.shape[0]):
        toy = PoissonModel(counts[k], model.tmpl, model.morph, model.coef_index, model.mult,
                           model.anchors0, model.anchors1, centres[k], model.sigma, model.lo,
                           model.hi, model.pen_index, model.pen_q)
        d0, theta_toy, _, s0 = profile(theta_hat, free, toy)
        # the global fit starts from the toy's own conditional minimum (and from the origin)
        if v_to_u >= 0.0:
            d1, s1 = _global_1d(theta_toy, free, toy, v_to_u)
        else:
            d1, _, _, s1 = global_fit(theta_toy, free, toy)
        if s0 != 0 or s1 != 0:
            failed += 1
        out_t[k] = d0 - d1 if d1 < d0 else 0.0
    return failed


@kernel
def expected_counts(model, theta):
    """lambda_b at ``theta`` (the kernel model's expectation), shape (B,)."""
    n_par = theta.size
    a0, a1 = model.anchors0, model.anchors1
    i = 0
    j = 0
    x = 0.0
    y = 0.0
    if a0.size > 1 and a1.size > 1:  # a model without morphing has one anchor per axis
        s0 = min(max(theta[n_par - 4], a0[0]), a0[-1])
        s1 = min(max(theta[n_par - 3], a1[0]), a1[-1])
        while i < a0.size - 2 and s0 > a0[i + 1]:
            i += 1
        while j < a1.size - 2 and s1 > a1[j + 1]:
            j += 1
        x = (s0 - a0[i]) / (a0[i + 1] - a0[i])
        y = (s1 - a1[j]) / (a1[j + 1] - a1[j])
    n_comp, _, _, n_bins = model.tmpl.shape
    lam = np.zeros(n_bins)
    for k in range(n_comp):
        c = 1.0
        if model.coef_index[k] == 1:
            c = theta[n_par - 2]
        elif model.coef_index[k] == 2:
            c = theta[n_par - 1]
        for m in range(2):
            if model.mult[k, m] >= 0:
                c *= theta[model.mult[k, m]]
        if c == 0.0:
            continue
        t = model.tmpl[k]
        for b in range(n_bins):
            if model.morph[k]:
                v = ((1 - x) * (1 - y) * t[i, j, b] + x * (1 - y) * t[i + 1, j, b]
                     + (1 - x) * y * t[i, j + 1, b] + x * y * t[i + 1, j + 1, b])
            else:
                v = t[0, 0, b]
            lam[b] += c * v
    return lam
