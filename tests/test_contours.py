"""Orientation of maps, contours and plots on an asymmetric toy problem."""

import math

import numpy as np

from cevns_scan.analysis import PlaneGrid
from cevns_scan.contours import contour_lines, extent_limits, refine_minimum
from cevns_scan.experiments.spectrum.pull_chi2 import PullChi2 as Problem
from cevns_scan.plots import figure3, save_figure
from cevns_scan.results import read_plane
from cevns_scan.scan import make_chunks, scan_map


def toy():
    """mu_e is 25x more constrained than mu_tau (MM templates differ by 625 in mu^2)."""
    n = 10
    sm = np.full((1, n), 0.05)
    shape = np.linspace(2.0, 0.2, n)
    mm = np.zeros((1, n, 3))
    mm[0, :, 0] = 625.0 * shape
    mm[0, :, 2] = shape
    obs = sm[0] + 1.0
    return Problem(("8B",), sm, mm, np.array([0.1]), obs, np.full(n, 0.2), True, 0.0)


def test_map_index_order_and_plot_orientation(tmp_path):
    p = toy()
    mu_x = np.linspace(0, 0.06, 61)   # mu_e
    mu_y = np.linspace(0, 1.5, 41)    # mu_tau: non-square on purpose
    chi2 = scan_map(p.plane("e", "tau"), mu_x, mu_y, make_chunks(61, 41, 100), jobs=1)
    assert chi2.shape == (61, 41)
    for i, k in [(5, 30), (60, 0), (0, 40), (33, 17)]:
        assert math.isclose(chi2[i, k], p.statistic([mu_x[i], 0.0, mu_y[k]]), rel_tol=1e-12)
    level = chi2.min() + 4.605170185988091  # chi2.ppf(0.9, 2)
    lines = contour_lines(mu_x, mu_y, chi2, level)
    lx, ly, touches = extent_limits(lines, mu_x, mu_y, chi2, level)
    assert touches == []
    # extents are in the units of their own axis: mu_tau ~ 25 x mu_e
    assert 20 < ly / lx < 30
    for line in lines:  # every contour vertex is on the level set
        for x, y in line[:: max(1, len(line) // 5)]:
            assert abs(p.statistic([x, 0, y]) - level) < 0.05 * level
    i, k = np.unravel_index(np.argmin(chi2), chi2.shape)
    res = read_plane(PlaneGrid("e", "tau", mu_x, mu_y), chi2, chi2.min(), (mu_x[i], mu_y[k]),
                     0.9)
    fig = figure3([res], "toy", "")
    ax = fig.axes[0]
    assert "nu_e" in ax.get_xlabel() and "nu_\\tau" in ax.get_ylabel()
    assert "(a)" not in ax.get_title()  # a single panel carries no panel letter
    drawn = ax.lines[0]
    s = 10.0 ** np.floor(np.log10(max(mu_x[-1], mu_y[-1])))  # one exponent for both axes
    assert math.isclose(np.max(drawn.get_xdata()) * s, lx, rel_tol=1e-12)
    assert math.isclose(np.max(drawn.get_ydata()) * s, ly, rel_tol=1e-12)
    save_figure(fig, tmp_path, "fig3_contours")
    assert (tmp_path / "fig3_contours.png").stat().st_size > 1000


def test_edge_touch_is_reported():
    p = toy()
    mu_x = np.linspace(0, 0.01, 21)  # far inside the allowed region along x
    mu_y = np.linspace(0, 1.5, 21)
    chi2 = scan_map(p.plane("e", "tau"), mu_x, mu_y, make_chunks(21, 21, 50))
    level = chi2.min() + 4.605
    _, _, touches = extent_limits(contour_lines(mu_x, mu_y, chi2, level), mu_x, mu_y, chi2,
                                  level)
    assert touches == ["x"]


def test_refine_minimum_finds_interior_minimum():
    p = toy()
    # data with a magnetic-moment excess: the minimum moves off the origin
    true = np.array([0.02, 0.0, 0.0])
    obs = p.sm[0] + p.mm[0] @ true**2 + 1.0
    q = Problem(p.components, p.sm, p.mm, p.sigma, obs, p.delta, True, 0.0)
    mu_x = np.linspace(0, 0.05, 11)
    mu_y = np.linspace(0, 1.0, 11)
    chi2 = scan_map(q.plane("e", "tau"), mu_x, mu_y, make_chunks(11, 11, 30))
    best, bx, by = refine_minimum(lambda a, b: q.statistic([a, 0, b]), mu_x, mu_y, chi2)
    assert best < chi2.min()
    assert best < 1e-10
    assert math.isclose(bx**2 + by**2 / 625, true[0] ** 2, rel_tol=1e-4)
