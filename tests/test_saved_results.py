"""scanner/saved_results.py: ``load_results`` gives back what ``reproduce`` or ``merge`` wrote,
``with_cl`` of a map read back, and other folders refused."""

import json

import numpy as np
import pytest

import cevns_scan as cs
from cevns_scan.errors import InputError


def test_load_results_gives_back_what_reproduce_wrote(in_tmp, cli, default_analysis):
    code, out, err = cli("reproduce", "--plane", "e-mu", "--grid", "21", "--toys", "20",
                         "--out", "r", "--quiet", "--no-figures")
    assert code == 0, err
    back = cs.load_results(in_tmp / "r")
    # the summary the run printed (a synthetic dataset's perfect fit is not flagged)
    assert back.summary_lines() == out.splitlines()[:len(back.summary_lines())]
    assert "[FIT TOO GOOD]" not in "\n".join(back.summary_lines())
    limits = json.loads((in_tmp / "r" / "limits.json").read_text())
    direct = default_analysis.scan("e-mu", grid=21)
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
    assert back.config.digest() == default_analysis.config.replace(scan={"grid": 21,
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


def test_with_cl_of_a_map_read_back_checks_against_the_grid(in_tmp, cli):
    assert cli("reproduce", "--plane", "e-mu", "--grid", "41", "--out", "r", "--quiet",
               "--no-figures")[0] == 0
    plane = cs.load_results(in_tmp / "r").plane("e-mu")
    assert plane.resolved and plane.analysis is None
    edge = plane.with_cl(0.9999)
    assert not edge.resolved
    assert any("grid edge" in p for p in edge.checks["mu_e"].problems)
    assert plane.with_cl(0.95).resolved


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
