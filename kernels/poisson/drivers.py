"""The compiled entry points: :func:`profile` (one point), :func:`profile_plane` (a grid of
(u, v) with warm starts) and :func:`global_fit` (the minimum over the plane). Each allocates
one workspace and runs the minimiser of :mod:`.newton`.
"""

import numpy as np

from ..jit import kernel
from .newton import CONVERGED, DEFAULT_MAX_ITER, DEFAULT_TOL, _profile_ws
from .workspace import _setup


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
