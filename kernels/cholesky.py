"""In-place Cholesky factorisation shared by the compiled likelihoods.

Written as plain loops over the lower triangle, without views or allocation, so that it can
sit in the innermost loop of a scan or a toy fit.
"""

import math

from .jit import inline_kernel


@inline_kernel
def cholesky_columns(a, ncol, nrow, pivot_min):
    """Factor the first ``ncol`` columns of the symmetric matrix ``a[:nrow, :nrow]`` in place.

    Only the lower triangle is read. On success, column k < ncol holds column k of the
    Cholesky factor L (rows k..nrow-1), and the entries right of column ncol-1 are untouched,
    so with ncol = nrow - 1 the Schur complement of the leading block is
    ``a[n-1, n-1] - sum_q a[n-1, q]^2``.

    Parameters
    ----------
    a : ndarray, shape (>= nrow, >= nrow)
        Matrix whose lower triangle is factored (overwritten).
    ncol, nrow : int
        Columns to factor, rows of the matrix (ncol <= nrow).
    pivot_min : float
        Smallest accepted pivot (before its square root).

    Returns
    -------
    bool
        False (``a`` partly overwritten) as soon as a pivot is not above ``pivot_min``
        or is NaN.
    """
    for k in range(ncol):
        s = a[k, k]
        for q in range(k):
            s -= a[k, q] * a[k, q]
        if not s > pivot_min:
            return False
        d = math.sqrt(s)
        a[k, k] = d
        for row in range(k + 1, nrow):
            t = a[row, k]
            for q in range(k):
                t -= a[row, q] * a[k, q]
            a[row, k] = t / d
    return True
