"""scanner/plots.py: figures a journal would take (nothing clipped, titles that name the
dataset, target and physics preset, a best-fit mark clear of the tick labels, Fig. 2 for the
configured target) and overlays (per plane, in units of mu_B, never dropped)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from helpers import assert_one_line_error

import cevns_scan as cs
from cevns_scan.errors import InputError
from cevns_scan.experiments.spectrum.datasets import ASIMOV_NOTE
from cevns_scan.plots import figure3


@pytest.fixture(scope="module")
def planes():
    return cs.Analysis.from_config().run(grid=41).planes


def _inside(box, fig_box) -> bool:
    return (box.x0 >= fig_box.x0 - 0.5 and box.y0 >= fig_box.y0 - 0.5
            and box.x1 <= fig_box.x1 + 0.5 and box.y1 <= fig_box.y1 + 0.5)


@pytest.mark.parametrize("n", [1, 2])
def test_fig3_keeps_the_caveat_and_every_label_inside(planes, n):
    fig = figure3(planes[:n], "cdex10-asimov, Ge", ASIMOV_NOTE, physics="paper")
    fig.draw_without_rendering()  # runs the layout, as saving does
    texts = [fig._suptitle] + [t for ax in fig.axes
                               for t in (ax.title, ax.xaxis.label, ax.yaxis.label)]
    for text in texts:
        assert _inside(text.get_window_extent(), fig.bbox), text.get_text()
    # the whole caveat is there, only wrapped
    assert " ".join(fig._suptitle.get_text().split()) == ASIMOV_NOTE


def test_fig3_names_dataset_target_and_physics_preset(planes):
    fig = figure3(planes, "cdex10-asimov, Ge", "", physics="modern")
    titles = [" ".join(ax.get_title().split()) for ax in fig.axes]
    assert titles == ["(a) allowed region, dataset cdex10-asimov, Ge, modern physics",
                      "(b) allowed region, dataset cdex10-asimov, Ge, modern physics"]


def test_the_best_fit_mark_clears_the_zero_tick_labels(planes):
    res = planes[0]
    assert res.best == (0.0, 0.0)  # Asimov data: the best fit sits on the corner
    fig = figure3([res], "toy", "")
    fig.draw_without_rendering()
    ax = fig.axes[0]
    (best,) = [line for line in ax.lines if line.get_label() == "best fit"]
    mark = best.get_window_extent()  # includes the marker's size
    zeros = [t for t in ax.xaxis.get_ticklabels() + ax.yaxis.get_ticklabels()
             if t.get_text() and float(t.get_text().replace("\u2212", "-")) == 0.0]
    assert len(zeros) == 2
    points = fig.dpi / 72.0  # pixels per point
    for label in zeros:
        box = label.get_window_extent()
        assert not mark.overlaps(box), label.get_text()
        gap = max(box.x0 - mark.x1, mark.x0 - box.x1, box.y0 - mark.y1, mark.y0 - box.y1)
        assert gap >= 4 * points, (label.get_text(), gap / points)  # a clear white gap


def test_figure2_and_rate_tables_follow_the_configured_target(in_tmp, cli):
    from cevns_scan.rates import differential_rates, figure2_grid, figure2_tables

    cfg = cs.load_config(overrides={"target": {"name": "Ar"}})
    assert list(figure2_tables(cfg)) == ["Ar", "Xe"]
    assert list(figure2_tables(cs.load_config())) == ["Ge", "Xe"]
    assert list(figure2_tables(cs.load_config(overrides={"target": {"name": "xenon"}}))) == ["Xe"]
    (in_tmp / "ar.toml").write_text('[target]\nname = "Ar"\n')
    code, _, err = cli("reproduce", "--config", "ar.toml", "--plane", "e-mu", "--grid", "11",
                       "--out", "r", "--quiet", "--no-figures")  # `plot` draws them below
    assert code == 0, err
    names = sorted(p.name for p in (in_tmp / "r").glob("rates_*.csv"))
    assert names == ["rates_Ar.csv", "rates_Xe.csv"]
    lines = [ln for ln in (in_tmp / "r" / "rates_Ar.csv").read_text().splitlines()
             if not ln.startswith("#")]
    head = lines[0].split(",")
    sm_col = np.array([float(ln.split(",")[head.index("SM")]) for ln in lines[1:]])
    t = figure2_grid()
    sm, _ = differential_rates(cs.build_model(cfg).with_components(["8B"]), t)
    np.testing.assert_array_equal(sm_col, sm.sum(axis=0))
    assert cli("plot", "r")[0] == 0  # replot reads the tables that were written
    assert (in_tmp / "r" / "fig2_rates.png").is_file()
    assert cli("figure2", "--config", "ar.toml", "--out", "f2")[0] == 0
    assert (in_tmp / "f2" / "fig2_rates.png").is_file()


@pytest.mark.parametrize("n", [1, 2])
def test_fig3_of_a_joint_fit_has_one_legend_below_the_panels(planes, n):
    """The experiments' own boundaries reach the panels' corners: their legend goes below the
    panels (once per label), clear of every axes and label, and each experiment's boundary is
    told from the combined (blue) and expected (dotted) ones. The long title of three
    datasets stays inside a single panel too."""
    from matplotlib.colors import to_hex

    from cevns_scan.plots import LINE_COLOUR

    planes = planes[:n]
    parts = [(name, r.name, [line * scale for line in r.lines])
             for name, scale in (("xenonnt-8b", 1.1), ("coherent_ar", 2.5),
                                 ("coherent_csi", 1.8)) for r in planes]
    expected = {r.name: [line * 1.05 for line in r.lines] for r in planes}
    dataset = "xenonnt-8b + coherent_ar + coherent_csi, Xe + Ar + CsI"
    fig = figure3(planes, dataset, "", parts=parts, expected=expected, physics="paper")
    fig.draw_without_rendering()
    assert all(ax.get_legend() is None for ax in fig.axes)
    for ax in fig.axes:
        assert _inside(ax.title.get_window_extent(), fig.bbox), ax.title.get_text()
        assert " ".join(ax.get_title().split()).endswith(f"dataset {dataset}, paper physics")
    (legend,) = fig.legends
    labels = [t.get_text() for t in legend.get_texts()]
    assert len(labels) == len(set(labels))
    assert {"xenonnt-8b alone", "coherent_ar alone", "coherent_csi alone",
            "expected (median, Asimov)", "best fit"} <= set(labels)
    box = legend.get_window_extent()
    assert _inside(box, fig.bbox)
    for ax in fig.axes:
        for other in (ax.get_window_extent(), ax.xaxis.label.get_window_extent(),
                      *(t.get_window_extent() for t in ax.xaxis.get_ticklabels())):
            assert not box.overlaps(other)
        alone = [ln for ln in ax.lines if ln.get_label().endswith(" alone")]
        assert len(alone) == 3
        colours = {to_hex(ln.get_color()) for ln in alone}
        assert len(colours) == 3 and LINE_COLOUR not in colours
        assert all(ln.get_linestyle() != ":" for ln in alone)
        # every boundary is inside the frame (the axes extend to the experiments' regions)
        x_max, y_max = ax.get_xlim()[1], ax.get_ylim()[1]
        for ln in alone:
            assert np.max(ln.get_xdata()) <= x_max and np.max(ln.get_ydata()) <= y_max


def test_expected_limits_figure_keeps_a_long_title_and_the_caveat_inside():
    from cevns_scan.plots import figure_expected

    exp = cs.Analysis.from_config().expected_limits()
    dataset = "xenonnt-8b + coherent_ar + coherent_csi, Xe + Ar + CsI"
    fig = figure_expected(exp, dataset, ASIMOV_NOTE, physics="paper")
    fig.draw_without_rendering()
    title = fig.axes[0].title
    for text in (title, fig._suptitle):
        assert _inside(text.get_window_extent(), fig.bbox), text.get_text()
    assert " ".join(title.get_text().split()) == (
        f"dataset {dataset}, paper physics: each moment alone (Asimov median, asymptotic "
        "bands)")
    assert " ".join(fig._suptitle.get_text().split()) == ASIMOV_NOTE


def test_an_overlay_for_a_plane_not_drawn_is_refused_not_dropped(default_analysis):
    from cevns_scan.plots import Overlay, check_overlays

    res = default_analysis.scan("e-mu", grid=41)
    poly = np.array([[0, 0], [1e-8, 0], [0, 1e-8]])
    check_overlays([Overlay("X", poly, "e_mu", "x.csv", "0")], [res])  # its own plane: fine
    with pytest.raises(InputError, match=r"overlay 'X' is for plane e_tau, which is not among "
                                         r"the planes drawn \(e_mu\)"):
        check_overlays([Overlay("X", poly, "e_tau", "x.csv", "0")], [res])


# -- overlays, the best fit, Fig. 2's range -------------------------------------------------------

def test_best_fit_is_marked_on_fig3(default_analysis):
    res = default_analysis.scan("e-mu", grid=21)
    drawn = res.plot()
    assert drawn["best"] is not None
    x, y = drawn["best"].get_data()
    s = 10.0 ** math.floor(math.log10(max(res.mu_x[-1], res.mu_y[-1])))
    assert math.isclose(x[0] * s, res.best[0], abs_tol=1e-20)
    assert math.isclose(y[0] * s, res.best[1], abs_tol=1e-20)


@pytest.mark.slow
def test_overlays_per_plane_units_and_labels(in_tmp, cli):
    (in_tmp / "ok.csv").write_text("x,y\n0,0\n1e-8,0\n0,1e-8\n")
    (in_tmp / "bad.csv").write_text("x,y\n0,0\n2.9,0\n0,2.9\n")
    assert cli("reproduce", "--grid", "21", "--out", "r", "--quiet")[0] == 0
    code, _, err = cli("plot", "r", "--overlay", "X1T@e-tau=ok.csv", "--no-caveat")
    assert code == 0, err
    assert_one_line_error(cli("plot", "r", "--overlay", "COHERENT=bad.csv"), "units of mu_B")
    assert_one_line_error(cli("plot", "r", "--overlay", "=ok.csv"), "has an empty label")


def test_figure3_overlay_goes_to_its_plane_and_caveat_can_go(default_analysis):
    from cevns_scan.plots import Overlay, figure3

    res = default_analysis.run(grid=21)
    poly = np.array([[0, 0], [1e-8, 0], [0, 1e-8]])
    fig = figure3(res.planes, "toy", "", [Overlay("X1T", poly, "e_tau", "x.csv", "0")])
    (ax_mu, ax_tau) = fig.axes
    assert [p.get_label() for p in ax_tau.patches] == ["X1T"] and not ax_mu.patches
    assert fig._suptitle is None  # no caveat line


def test_figure2_x_range_follows_the_target():
    from cevns_scan import figure2, figure2_tables

    fig = figure2(figure2_tables())
    ge, xe = fig.axes
    # 8B neutrinos (<= 16 MeV) cannot give a Xe recoil far above 4 keV_nr
    assert xe.get_xlim()[1] < 7.0 and ge.get_xlim()[1] == pytest.approx(10.0)
