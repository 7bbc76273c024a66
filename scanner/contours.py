"""Confidence regions from chi^2 maps: contour polylines (contourpy) and 2-d.o.f. limits."""

from __future__ import annotations

import warnings

import contourpy
import numpy as np
from scipy import optimize


class EdgeWarning(UserWarning):
    """A contour reaches the upper edge of its grid: the limit read from it is a lower bound."""


def contour_lines(mu_x: np.ndarray, mu_y: np.ndarray, chi2: np.ndarray, level: float):
    """Polylines of chi2 = ``level`` as a list of (N, 2) arrays of (mu_x, mu_y).

    ``chi2[i, k]`` belongs to (mu_x[i], mu_y[k]); contourpy wants z[y, x], hence the transpose.
    """
    gen = contourpy.contour_generator(mu_x, mu_y, np.asarray(chi2).T,
                                      line_type=contourpy.LineType.Separate)
    return [np.asarray(line) for line in gen.lines(level) if len(line) > 1]


def extent_limits(lines, mu_x: np.ndarray, mu_y: np.ndarray, chi2: np.ndarray, level: float):
    """Extent of the region chi2 <= level along each axis (the 2-d.o.f. limits).

    Returns ``(limit_x, limit_y, touches)``: the largest mu_x and mu_y on the contour
    polylines (or the grid's upper edge when the allowed region reaches it), and the list of
    axes whose upper grid edge the allowed region touches.
    """
    inside = chi2 <= level
    touches = []
    if np.any(inside[-1, :]):
        touches.append("x")
    if np.any(inside[:, -1]):
        touches.append("y")
    xs = [line[:, 0].max() for line in lines]
    ys = [line[:, 1].max() for line in lines]
    ix, iy = np.nonzero(inside)
    lim_x = max(xs + ([mu_x[ix.max()]] if ix.size else []), default=float("nan"))
    lim_y = max(ys + ([mu_y[iy.max()]] if iy.size else []), default=float("nan"))
    return float(lim_x), float(lim_y), touches


def refine_minimum(chi2_fn, mu_x: np.ndarray, mu_y: np.ndarray, chi2: np.ndarray):
    """Global minimum over mu^2 >= 0: the grid minimum polished in (mu_x^2, mu_y^2) >= 0.

    ``chi2_fn(mx, my)`` evaluates the model; returns (chi2_min, mu_x_best, mu_y_best).
    """
    i, k = np.unravel_index(int(np.argmin(chi2)), chi2.shape)
    best = (float(chi2[i, k]), float(mu_x[i]), float(mu_y[k]))
    sx = max(float(mu_x[-1]), 1e-300) ** 2
    sy = max(float(mu_y[-1]), 1e-300) ** 2

    def f(p):
        return chi2_fn(np.sqrt(max(p[0], 0.0) * sx), np.sqrt(max(p[1], 0.0) * sy))

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        res = optimize.minimize(f, [mu_x[i] ** 2 / sx, mu_y[k] ** 2 / sy], method="L-BFGS-B",
                                bounds=[(0.0, None), (0.0, None)],
                                options={"ftol": 1e-15, "gtol": 1e-12})
    if res.fun < best[0]:
        return float(res.fun), float(np.sqrt(res.x[0] * sx)), float(np.sqrt(res.x[1] * sy))
    return best
