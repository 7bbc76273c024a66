"""The library as a notebook user meets it (issue 18, item 5): the public names, plots that
Jupyter shows and that take style keywords, several CLs on one Axes, ``cl=`` on the scans,
config overrides, results folders read back, warnings through ``warnings``, short reprs,
``with_cl`` that checks again, and datasets built in Python checked like CSV files."""

from __future__ import annotations

import dataclasses
import json
import re
import warnings
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pytest
from scipy import stats

import cevns_scan as cs
from cevns_scan.errors import CevnsScanWarning, InputError, ParameterError

README = Path(__file__).resolve().parents[1] / "README.md"


@pytest.fixture(scope="module")
def ana():
    return cs.Analysis.from_config()


@pytest.fixture(scope="module")
def res41(ana):
    return ana.scan("e-mu", grid=41)


# -- the public names -----------------------------------------------------------------------------

def test_dir_lists_the_public_api_and_only_it():
    names = dir(cs)
    assert names == sorted(cs.__all__)
    for name in names:
        assert getattr(cs, name) is not None
    assert not [n for n in names if n.startswith("_") and n != "__version__"]
    # no module-level helpers or imported modules leak into it
    for leaked in ("warnings", "import_module", "version", "PackageNotFoundError"):
        assert leaked not in names


def test_every_name_the_readme_uses_is_importable():
    if not README.is_file():
        pytest.skip("README.md is not beside the tests (not a repository checkout)")
    text = README.read_text(encoding="utf-8")
    used = set(re.findall(r"\bcs\.([A-Za-z_]\w*)", text))
    assert {"Analysis", "load_config", "load_results", "CevnsScanWarning"} <= used
    classes = {"NeymanResult", "PlaneResult", "AnalysisResult", "SavedResult", "Analysis",
               "Model", "PlaneGrid", "CevnsScanWarning"}
    assert classes <= set(re.findall(r"`(?:cs\.)?([A-Z]\w+)", text)) | used
    for name in used | classes:
        assert hasattr(cs, name), name
    assert cs.NeymanResult.__name__ == "NeymanResult"


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


def _quiet(call):
    """``call()`` with cevns-scan's caveats (coarse test grids are not resolved) silenced."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", CevnsScanWarning)
        return call()


def test_a_whole_result_plots_every_plane(ana, in_tmp, cli):
    full = ana.run(grid=41)
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


def test_neyman_plot_keeps_one_legend_entry_per_label(ana):
    ney = _quiet(lambda: ana.neyman("e-mu", grid=7, toys=20, seed=2))
    _, ax = plt.subplots()
    ney.plot(ax=ax)
    ney.plot(ax=ax)
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert len(labels) == len(set(labels))


# -- cl= and config overrides ---------------------------------------------------------------------

def test_cl_on_scan_neyman_and_run(ana, res41):
    from cevns_scan.limits import axis_interval

    res95 = ana.scan("e-mu", grid=41, cl=0.95)
    at95 = cs.Analysis.from_config(ana.config.replace(fit={"cl": 0.95}))
    same = at95.scan("e-mu", grid=41)
    assert res95.cl == 0.95 and ana.cl == 0.9  # the analysis itself is unchanged
    assert res95.delta_chi2 == pytest.approx(stats.chi2.ppf(0.95, 2), rel=1e-12)
    np.testing.assert_array_equal(res95.chi2, same.chi2)  # auto axes follow the CL
    assert res95.limits == same.limits and res95.resolved
    exact = axis_interval(ana, "e", stats.chi2.ppf(0.95, 2), res95.chi2_min)[1]
    cell = res95.mu_x[1] - res95.mu_x[0]
    assert abs(res95.limits["mu_e"] - exact) < cell and exact > res41.limits["mu_e"]
    full = ana.run(planes=["e-mu"], grid=41, cl=0.95)
    assert full.cl == 0.95 and full.plane("e-mu").limits == res95.limits
    assert full.one_dof_intervals == ana.one_dof_intervals(0.95)
    assert full.analysis.config.fit.cl == 0.95
    ney = _quiet(lambda: ana.neyman("e-mu", grid=5, toys=20, seed=3, cl=0.68))
    ref = _quiet(lambda: cs.Analysis.from_config(ana.config.replace(fit={"cl": 0.68})).neyman(
        "e-mu", grid=5, toys=20, seed=3))
    assert ney.cl == 0.68 and ney.wilks.cl == 0.68
    np.testing.assert_array_equal(ney.tcrit, ref.tcrit)
    for call in (lambda: ana.scan("e-mu", grid=5, cl=1.5),
                 lambda: ana.run(grid=5, cl=0.0),
                 lambda: ana.neyman("e-mu", grid=5, toys=20, cl=90)):
        with pytest.raises(ParameterError, match=r"^cl = .* must be a confidence level in "
                                                 r"\(0, 1\)"):
            call()


def test_config_replace_and_overrides():
    cfg = cs.load_config()
    new = cfg.replace(scan={"grid": 101}, fit={"cl": 0.95})
    assert (new.scan.grid, new.fit.cl, cfg.scan.grid, cfg.fit.cl) == (101, 0.95, 201, 0.9)
    assert new.to_dict()["spectrum"] == cfg.to_dict()["spectrum"]
    assert cs.load_config(overrides={"scan": {"grid": 101}, "fit": {"cl": 0.95}}) \
        .digest() == new.digest()
    with pytest.raises(InputError, match=r"unknown key \[scan\] 'gird'; did you mean 'grid'"):
        cfg.replace(scan={"gird": 11})
    with pytest.raises(InputError, match=r"replace\(scan=\.\.\.\) takes a dict of keys"):
        cfg.replace(scan=11)


# -- results folders read back --------------------------------------------------------------------

def test_load_results_gives_back_what_reproduce_wrote(in_tmp, cli, ana):
    code, out, err = cli("reproduce", "--plane", "e-mu", "--grid", "21", "--toys", "20",
                         "--out", "r", "--quiet", "--no-figures")
    assert code == 0, err
    back = cs.load_results(in_tmp / "r")
    # the summary the run printed (a synthetic dataset's perfect fit is not flagged)
    assert back.summary_lines() == out.splitlines()[:len(back.summary_lines())]
    assert "[FIT TOO GOOD]" not in "\n".join(back.summary_lines())
    limits = json.loads((in_tmp / "r" / "limits.json").read_text())
    direct = ana.scan("e-mu", grid=21)
    plane = back.plane("e-mu")
    assert back.plane("e_mu") is plane and [r.name for r in back.planes] == ["e_mu"]
    np.testing.assert_array_equal(plane.chi2, direct.chi2)
    assert plane.limits == direct.limits == limits["two_dof"]["e_mu"]
    assert plane.chi2_min == direct.chi2_min and plane.best == direct.best
    assert plane.gof == direct.gof
    assert plane.checks["mu_e"].on_axis == direct.checks["mu_e"].on_axis
    assert plane.resolved == direct.resolved
    assert back.one_dof == limits["one_dof"] and back.cl == 0.9
    assert [n.limits for n in back.neyman] == [limits["neyman"]["two_dof"]["e_mu"]]
    assert back.neyman[0].n_toys == 20
    assert back.label == "cdex10-asimov" and back.target_label == "Ge"
    assert back.config.digest() == ana.config.replace(scan={"grid": 21,
                                                            "planes": ["e-mu"]}).digest()
    assert back.summary_lines()[1] == f"  2 d.o.f., plane e_mu: mu_e < " \
        f"{direct.limits['mu_e']:.3e}, mu_mu < {direct.limits['mu_mu']:.3e}"
    assert len(repr(back)) < 300


def test_load_results_of_a_folder_merged_from_shards(in_tmp, cli):
    (in_tmp / "c.toml").write_text("[scan]\nchunk_points = 200\n")
    for k in (1, 2, 3):
        code, _, err = cli("scan", "--config", "c.toml", "--plane", "e-tau", "--grid", "31",
                           "--shard", f"{k}/3", "--out", "sc", "--quiet")
        assert code == 0, err
    code, _, err = cli("merge", "sc", "--out", "merged", "--no-figures")
    assert code == 0, err
    back = cs.load_results(in_tmp / "merged")
    direct = cs.Analysis.from_config(cs.load_config(in_tmp / "c.toml")).scan("e-tau", grid=31)
    np.testing.assert_array_equal(back.plane("e-tau").chi2, direct.chi2)
    assert back.plane("e-tau").limits == direct.limits
    assert back.run["merged_from"] == "sc"


def test_load_results_refuses_other_folders(in_tmp):
    (in_tmp / "mine").mkdir()
    (in_tmp / "mine" / "notes.txt").write_text("x")
    with pytest.raises(InputError, match=r"mine: not a cevns-scan results folder"):
        cs.load_results(in_tmp / "mine")
    with pytest.raises(InputError, match=r"nowhere: no such results folder"):
        cs.load_results(in_tmp / "nowhere")


# -- warnings -------------------------------------------------------------------------------------

def test_caveats_are_python_warnings_and_the_cli_prints_them_as_lines(in_tmp, cli, ana):
    with pytest.warns(CevnsScanWarning) as record:
        res = ana.scan("e-mu", grid=5)
    messages = [str(w.message) for w in record]
    assert messages == res.warnings() and not res.resolved
    assert all("is not resolved" in m for m in messages)
    assert issubclass(CevnsScanWarning, UserWarning)
    with pytest.warns(CevnsScanWarning) as record:
        full = ana.run(grid=5)
    messages = [str(w.message) for w in record]
    # once each: 2 planes x 2 limits, each read at 2 d.o.f. and at the plane's rank (rank 1)
    assert messages == list(dict.fromkeys(full.warnings())) and len(messages) == 8
    assert sum("rank-aware" in m for m in messages) == 4
    with warnings.catch_warnings():
        warnings.simplefilter("error", CevnsScanWarning)
        with pytest.raises(CevnsScanWarning):
            ana.scan("e-mu", grid=5)
    code, _, err = cli("reproduce", "--grid", "5", "--out", "r", "--quiet", "--no-figures")
    assert code == 0
    lines = err.strip().splitlines()
    assert lines == [f"warning: {m}" for m in messages]


# -- short reprs ----------------------------------------------------------------------------------

def test_reprs_are_short_and_say_what_matters(ana, res41):
    text = repr(res41)
    assert len(text) < 200
    assert text == (f"PlaneResult(e_mu, grid 41x41, CL 0.9, chi2_min {res41.chi2_min:.4g}, "
                    f"mu_e < {res41.limits['mu_e']:.4g}, mu_mu < {res41.limits['mu_mu']:.4g})")
    assert "NOT RESOLVED" in repr(res41.with_cl(0.9999))
    assert repr(ana) == "Analysis(cdex10-asimov on Ge, preset paper, CL 0.9)"
    for obj in (ana.model, res41.grid, ana.experiments[0], ana.run(planes=["e-tau"], grid=41),
                _quiet(lambda: ana.neyman("e-mu", grid=5, toys=20))):
        assert len(repr(obj)) < 300, type(obj).__name__


# -- with_cl ----------------------------------------------------------------------------------

def test_with_cl_validates_the_level(res41):
    for bad in (1.5, 0.0, 1.0, -0.1, 90, float("nan"), "0.9", True):
        with pytest.raises(ParameterError, match=r"must be a confidence level in \(0, 1\)"):
            res41.with_cl(bad)


def test_with_cl_checks_the_limits_again(ana, res41):
    from cevns_scan.limits import axis_interval

    res95 = res41.with_cl(0.95)
    thr = stats.chi2.ppf(0.95, 2)
    exact = axis_interval(ana, "e", thr, res41.chi2_min)[1]  # root finding on the statistic
    assert res95.checks["mu_e"].on_axis[1] == pytest.approx(exact, rel=1e-12)
    assert res95.checks["mu_e"].on_axis[1] > res41.checks["mu_e"].on_axis[1]
    assert res95.resolved
    # at 99.99 % CL the region runs past the grid edge (1.3 x the 90 % crossing): not resolved
    edge = res41.with_cl(0.9999)
    assert axis_interval(ana, "e", stats.chi2.ppf(0.9999, 2), res41.chi2_min)[1] > res41.mu_x[-1]
    assert not edge.resolved and "x" in edge.touches
    assert any("grid edge" in w for w in edge.warnings())


def test_with_cl_of_a_map_read_back_checks_against_the_grid(in_tmp, cli):
    assert cli("reproduce", "--plane", "e-mu", "--grid", "41", "--out", "r", "--quiet",
               "--no-figures")[0] == 0
    plane = cs.load_results(in_tmp / "r").plane("e-mu")
    assert plane.resolved and plane.analysis is None
    edge = plane.with_cl(0.9999)
    assert not edge.resolved
    assert any("grid edge" in p for p in edge.checks["mu_e"].problems)
    assert plane.with_cl(0.95).resolved


# -- datasets built in Python --------------------------------------------------------------------

def _dataset(**changes):
    from cevns_scan.experiments.spectrum.datasets import Dataset

    args = {"label": "mine", "tee_lo": [0.16, 0.26, 0.36], "tee_hi": [0.26, 0.36, 0.46],
            "rate": [5.0, 4.0, 3.0], "sigma": [0.5, 0.4, 0.3], "source": "notebook"}
    args.update(changes)
    return Dataset(**{k: np.asarray(v) if isinstance(v, list) else v for k, v in args.items()})


@pytest.mark.parametrize(("changes", "pattern"), [
    ({"sigma": [0.5, -0.1, 0.3]}, r"dataset mine bin 1: sigma = -0\.1 must be > 0"),
    ({"sigma": [0.5, 0.0, 0.3]}, r"dataset mine bin 1: sigma = 0 must be > 0"),
    ({"rate": [5.0, float("nan"), 3.0]}, r"dataset mine bin 1: rate = nan is not finite"),
    ({"tee_hi": [0.26, 0.36, 0.36]}, r"bin 2: \[0\.36, 0\.36\] keV_ee needs 0 < Tee_lo_keV"),
    ({"tee_lo": [0.16, 0.20, 0.36]}, r"bin 1: \[0\.2, 0\.36\] keV_ee starts below the end"),
    ({"rate": [5.0, 4.0]}, r"tee_lo, tee_hi, rate and sigma need the same non-zero length"),
    ({"sigma": "abc"}, r"sigma is not an array of numbers"),
])
def test_datasets_built_in_python_are_checked_like_csv(changes, pattern):
    with pytest.raises(InputError, match=pattern):
        _dataset(**changes)


def test_a_valid_python_dataset_fits_and_a_replaced_one_is_checked_again():
    ds = _dataset()
    assert ds.rate.size == 3
    with pytest.raises(InputError, match=r"sigma = -1 must be > 0"):
        dataclasses.replace(ds, sigma=np.array([0.5, -1.0, 0.3]))
    ana = cs.Analysis.from_config(data=ds)
    assert ana.label == "mine" and np.isfinite(ana.statistic(np.zeros(3)))


def test_load_results_of_a_poisson_run_with_a_belt(in_tmp, cli):
    """A XENONnT run: its fit note reads back as the likelihood worded it (limits.json adds
    that the asymptotic p-value is not valid), the plane's rank and valley come back, and the
    Neyman belt is among the Neyman results with the interval the run solved for (not the
    one interpolated between its 5 points, 1 % lower)."""
    code, _, err = cli("reproduce", "--data", "xenonnt-8b", "--plane", "e-mu", "--grid", "21",
                       "--toys", "20", "--belt", "--belt-points", "5", "--out", "r", "--quiet",
                       "--no-figures")
    assert code == 0, err
    limits = json.loads((in_tmp / "r" / "limits.json").read_text())
    direct = cs.Analysis.from_config(data="xenonnt-8b")
    with pytest.warns(cs.CevnsScanWarning):  # 20 toys per point are too few: flagged
        run = direct.run(planes=["e-mu"], grid=21, toys=20, belt=True, belt_points=5)
    back = cs.load_results(in_tmp / "r")
    plane, mine = back.plane("e-mu"), run.plane("e-mu")
    assert plane.gof == mine.gof and not plane.gof.asymptotic
    assert limits["goodness_of_fit"]["e_mu"]["note"] != plane.gof.note  # the suffix is gone
    assert plane.rank == mine.rank == 1 and plane.valley.weights == mine.valley.weights
    (belt,) = back.neyman
    assert belt.limits == limits["neyman"]["two_dof"]["e_mu"] == run.neyman[0].limits
    assert belt.s_interval == run.neyman[0].s_interval and belt.n_toys == 20
    assert belt.mc_error == run.neyman[0].mc_error
    assert plane.rank_aware.limits == mine.rank_aware.limits
    assert plane.rank_aware.checks == mine.rank_aware.checks
    assert plane.best_fit.text() == mine.best_fit.text()  # valley, nuisances and pulls
    # what the run printed, up to the SM measurement (which limits.json does not hold)
    printed = [ln for ln in run.summary_lines() if "SM measurement" not in ln]
    assert back.summary_lines() == printed
