"""scanner/results.py: the result objects as a notebook user meets them (plots that Jupyter
shows and that take style keywords, several CLs on one Axes, short reprs, ``with_cl`` that
checks again) and the results folder they write (it rebuilds the fit and says what it holds)."""

from __future__ import annotations

import json
import math

import matplotlib.pyplot as plt
import numpy as np
import pytest
from helpers import quiet
from scipy import optimize, stats

import cevns_scan as cs
from cevns_scan.errors import ParameterError


@pytest.fixture(scope="module")
def res41(default_analysis):
    return default_analysis.scan("e-mu", grid=41)


# -- plot() ---------------------------------------------------------------------------------------

def test_plot_without_an_axes_makes_a_pyplot_figure_with_constrained_layout(res41):
    from matplotlib.layout_engine import ConstrainedLayoutEngine

    before = set(plt.get_fignums())
    drawn = res41.plot()
    assert plt.fignum_exists(drawn.figure.number)  # Jupyter's inline backend shows it
    assert set(plt.get_fignums()) - before == {drawn.figure.number}
    assert isinstance(drawn.figure.get_layout_engine(), ConstrainedLayoutEngine)
    assert drawn["best"] is not None and drawn.ax is drawn["region"].axes
    # nothing is cut off: every label lies inside the saved figure
    drawn.figure.canvas.draw()
    fig_box = drawn.figure.bbox
    for text in (drawn.ax.xaxis.label, drawn.ax.yaxis.label):
        box = text.get_window_extent()
        assert box.x0 >= fig_box.x0 and box.y0 >= fig_box.y0
        assert box.x1 <= fig_box.x1 and box.y1 <= fig_box.y1
    assert len(repr(drawn)) < 300


def test_plot_on_a_given_axes_makes_no_new_figure(res41):
    fig, ax = plt.subplots()
    before = plt.get_fignums()
    drawn = res41.plot(ax=ax)
    assert plt.get_fignums() == before and drawn.ax is ax and drawn.figure is fig


def test_plot_takes_style_keywords(res41):
    _, ax = plt.subplots()
    drawn = res41.plot(ax=ax, color="red", linestyle=":", linewidth=3, label="mine")
    line = drawn["lines"][0]
    assert line.get_color() == "red" and line.get_linestyle() == ":"
    assert line.get_linewidth() == 3
    assert "mine" in [t.get_text() for t in ax.get_legend().get_texts()]
    drawn = res41.plot(ax=ax, c="b", ls="--", fill=False, best_fit=False)
    assert drawn["region"] is None and drawn["best"] is None
    assert drawn["lines"][0].get_color() == "b" and drawn["lines"][0].get_linestyle() == "--"


def test_several_cls_on_one_axes_are_distinguishable_with_one_legend(res41):
    _, ax = plt.subplots()
    drawn = [res41.with_cl(cl).plot(ax=ax) for cl in (0.68, 0.90, 0.95)]
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert len(labels) == len(set(labels)) == 4  # three CLs and one best fit
    assert labels.count("best fit") == 1
    assert [lab for lab in labels if "CL" in lab] == [
        "68 % CL (2 d.o.f., Wilks)", "90 % CL (2 d.o.f., Wilks)", "95 % CL (2 d.o.f., Wilks)"]
    styles = {(d["lines"][0].get_color(), d["lines"][0].get_linestyle()) for d in drawn}
    assert len({c for c, _ in styles}) == 3 and len({s for _, s in styles}) == 3
    assert drawn[0]["region"] is not None and drawn[1]["region"] is None  # one fill
    # the regions are nested as their thresholds are
    assert drawn[0]["lines"][0].get_xdata().max() < drawn[2]["lines"][0].get_xdata().max()


def test_a_whole_result_plots_every_plane(default_analysis, in_tmp, cli):
    full = default_analysis.run(grid=41)
    before = set(plt.get_fignums())
    drawn = full.plot(color="k")
    assert [d.ax.get_title() for d in drawn] == [r"plane ($\mu_e$, $\mu_\mu$)",
                                                 r"plane ($\mu_e$, $\mu_\tau$)"]
    assert len({d.figure for d in drawn}) == 1
    assert set(plt.get_fignums()) - before == {drawn[0].figure.number}
    assert all(d["lines"][0].get_color() == "k" for d in drawn)
    _, axes = plt.subplots(1, 2)
    assert [d.ax for d in full.plot(axes=axes)] == list(axes)
    with pytest.raises(ParameterError, match=r"axes = 1 must be one Axes per plane \(2\)"):
        full.plot(axes=[axes[0]])
    assert cli("reproduce", "--grid", "41", "--out", "r", "--quiet", "--no-figures")[0] == 0
    assert len(cs.load_results(in_tmp / "r").plot()) == 2


# -- short reprs ----------------------------------------------------------------------------------

def test_reprs_are_short_and_say_what_matters(default_analysis, res41):
    text = repr(res41)
    assert len(text) < 200
    assert text == (f"PlaneResult(e_mu, grid 41x41, CL 0.9, chi2_min {res41.chi2_min:.4g}, "
                    f"mu_e < {res41.limits['mu_e']:.4g}, mu_mu < {res41.limits['mu_mu']:.4g})")
    assert "NOT RESOLVED" in repr(res41.with_cl(0.9999))
    assert repr(default_analysis) == "Analysis(cdex10-asimov on Ge, preset paper, CL 0.9)"
    for obj in (default_analysis.model, res41.grid, default_analysis.experiments[0],
                default_analysis.run(planes=["e-tau"], grid=41),
                quiet(lambda: default_analysis.neyman("e-mu", grid=5, toys=20))):
        assert len(repr(obj)) < 300, type(obj).__name__


# -- with_cl ----------------------------------------------------------------------------------

def test_with_cl_validates_the_level(res41):
    for bad in (1.5, 0.0, 1.0, -0.1, 90, float("nan"), "0.9", True):
        with pytest.raises(ParameterError, match=r"must be a confidence level in \(0, 1\)"):
            res41.with_cl(bad)


def test_with_cl_checks_the_limits_again(default_analysis, res41):
    from cevns_scan.limits import axis_interval

    res95 = res41.with_cl(0.95)
    thr = stats.chi2.ppf(0.95, 2)
    # root finding on the statistic
    exact = axis_interval(default_analysis, "e", thr, res41.chi2_min)[1]
    assert res95.checks["mu_e"].on_axis[1] == pytest.approx(exact, rel=1e-12)
    assert res95.checks["mu_e"].on_axis[1] > res41.checks["mu_e"].on_axis[1]
    assert res95.resolved
    # at 99.99 % CL the region runs past the grid edge (1.3 x the 90 % crossing): not resolved
    edge = res41.with_cl(0.9999)
    thr = stats.chi2.ppf(0.9999, 2)
    assert axis_interval(default_analysis, "e", thr, res41.chi2_min)[1] > res41.mu_x[-1]
    assert not edge.resolved and "x" in edge.touches
    assert any("grid edge" in w for w in edge.warnings())


# -- the results folder rebuilds the fit and says what it holds; another target -------------------

def _csv_rows(path):
    lines = [ln for ln in path.read_text().splitlines() if not ln.startswith("#")]
    return lines[0].split(","), [ln.split(",") for ln in lines[1:]]


def test_results_folder_alone_rebuilds_eq18(in_tmp, cli):
    assert cli("reproduce", "--plane", "e-mu", "--grid", "11", "--out", "r", "--quiet",
               "--no-figures")[0] == 0
    out = in_tmp / "r"
    head, rows = _csv_rows(out / "templates.csv")
    obs = np.array([float(r[head.index("observed")]) for r in rows])
    sigma = np.array([float(r[head.index("sigma")]) for r in rows])
    head, rows = _csv_rows(out / "templates_components.csv")
    comps = {}
    for r in rows:
        if r[head.index("pull")] == "1":
            c = comps.setdefault(r[0], {"s": float(r[1]), "sm": [], "e": [], "mu": []})
            c["sm"].append(float(r[head.index("SM")]))
            c["e"].append(float(r[head.index("MM_e")]))
            c["mu"].append(float(r[head.index("MM_mu")]))
    run = json.loads((out / "run.json").read_text())
    assert run["likelihood"]["background"] == "free"
    with np.load(out / "chi2_e_mu.npz") as z:
        mu_x, mu_y, chi2 = z["mu_x"], z["mu_y"], z["chi2"]
    for i, k in [(3, 7), (10, 10), (6, 0)]:
        r_ij = np.array([np.array(c["sm"]) + mu_x[i] ** 2 * np.array(c["e"])
                         + mu_y[k] ** 2 * np.array(c["mu"]) for c in comps.values()])
        s = np.array([c["s"] for c in comps.values()])

        def resid(theta, r_ij=r_ij, s=s):
            xi, b = theta[:-1], theta[-1]
            model = r_ij.sum(0) + b + (xi * s) @ r_ij
            return np.concatenate([(obs - model) / sigma, xi])

        fit = optimize.least_squares(resid, np.zeros(len(comps) + 1), xtol=1e-15, ftol=1e-15,
                                     gtol=1e-15)
        assert math.isclose(np.sum(fit.fun**2), chi2[i, k], rel_tol=1e-7, abs_tol=1e-9)


def test_limits_contours_and_run_record_say_what_they_hold(in_tmp, cli):
    assert cli("scan", "--plane", "e-mu", "--grid", "21", "--out", "ck", "--quiet")[0] == 0
    assert cli("merge", "ck", "--out", "m", "--no-figures")[0] == 0
    lim = json.loads((in_tmp / "m" / "limits.json").read_text())
    assert "held at zero" in lim["one_dof_meaning"] and lim["target"] == "Ge"
    cont = json.loads((in_tmp / "m" / "contours.json").read_text())
    assert "absolute" in cont["level_meaning"]
    run = json.loads((in_tmp / "m" / "run.json").read_text())
    assert run["working_directory"] == str(in_tmp)
    assert run["dataset"]["source"] == "cdex10-asimov"  # the original, not the manifest
    assert run["dataset"]["metadata"]["exposure_kg_day"] == "205.4"


def test_non_germanium_target_warns_and_is_named(in_tmp, cli):
    (in_tmp / "c.toml").write_text('[target]\nname = "Ar"\n')
    code, out, err = cli("reproduce", "--config", "c.toml", "--plane", "e-mu", "--grid", "11",
                         "--out", "r", "--quiet", "--no-figures")
    assert code == 0, err
    assert "Lindhard k = 0.162 measured for germanium" in err
    assert "cdex10-asimov is a CDEX-10 (germanium) exposure" in err
    assert "target Ar" in out
    lim = json.loads((in_tmp / "r" / "limits.json").read_text())
    run = json.loads((in_tmp / "r" / "run.json").read_text())
    assert lim["target"] == "Ar" and run["target"] == {"name": "Ar", "z": [18]}
    assert any("germanium" in w for w in lim["warnings"])
