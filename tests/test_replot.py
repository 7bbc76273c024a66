"""scanner/replot.py: ``cevns-scan plot`` redraws a results folder's figures from its saved
files, at another confidence level without a rescan, titled as the run titled them."""

import json
import math

import numpy as np
import pytest
from helpers import load_map
from scipy import stats


@pytest.mark.slow
def test_plot_and_merge_take_cl_without_rescanning(in_tmp, cli):
    assert cli("scan", "--plane", "e-mu", "--grid", "41", "--out", "ck", "--quiet")[0] == 0
    assert cli("merge", "ck", "--out", "m90", "--no-figures")[0] == 0
    assert cli("merge", "ck", "--out", "m95", "--cl", "0.95", "--no-figures")[0] == 0
    with np.load(in_tmp / "m95" / "chi2_e_mu.npz") as z:
        assert "delta_chi2_90" not in z.files
        assert float(z["cl"]) == 0.95
        assert math.isclose(float(z["delta_chi2"]), stats.chi2.ppf(0.95, 2), rel_tol=1e-12)
    assert np.array_equal(load_map(in_tmp / "m95" / "chi2_e_mu.npz"),
                          load_map(in_tmp / "m90" / "chi2_e_mu.npz"))
    l90 = json.loads((in_tmp / "m90" / "limits.json").read_text())
    l95 = json.loads((in_tmp / "m95" / "limits.json").read_text())
    assert l95["two_dof"]["e_mu"]["mu_e"] > l90["two_dof"]["e_mu"]["mu_e"]
    assert l95["one_dof"]["mu_e"] > l90["one_dof"]["mu_e"] and l95["cl"] == 0.95
    code, _, err = cli("plot", "m90", "--cl", "0.95")
    assert code == 0, err


def test_write_and_replot_title_fig3_alike(in_tmp, cli, monkeypatch):
    (in_tmp / "c.toml").write_text('[physics]\npreset = "modern"\n')
    assert cli("reproduce", "--config", "c.toml", "--plane", "e-mu", "--grid", "21",
               "--out", "r", "--quiet")[0] == 0
    import cevns_scan.plots
    import cevns_scan.replot

    seen = []
    real = cevns_scan.plots.figure3

    def spy(*args, **kwargs):
        seen.append((args[1], args[2], kwargs.get("physics")))
        return real(*args, **kwargs)

    monkeypatch.setattr(cevns_scan.replot, "figure3", spy)
    assert cli("plot", "r")[0] == 0
    rec = json.loads((in_tmp / "r" / "run.json").read_text())
    assert seen == [("cdex10-asimov, Ge", rec["dataset"]["note"], "modern")]
