"""Inputs of the likelihood: the model tuple :class:`PoissonModel` and :func:`make_model`,
which checks them and converts every array to the dtype the kernels expect (so all models
share one compiled, cached specialisation of each kernel).
"""

from typing import NamedTuple

import numpy as np


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
