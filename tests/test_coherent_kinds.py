"""COHERENT argon and CsI as experiment kinds: recognised folders, joint fits, outputs, errors."""

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from helpers import assert_one_line_error
from scipy import optimize

SHARED = Path(__file__).resolve().parents[2] / "shared" / "coherent"
LAR, CSI = SHARED / "lar2020", SHARED / "csi2021"
pytestmark = pytest.mark.skipif(not (LAR.is_dir() and CSI.is_dir()), reason=(
    f"the COHERENT releases are not staged at {SHARED} (a fresh clone has no ../shared; the "
    "package does not ship them)"))


@pytest.fixture(scope="module")
def both():
    from cevns_scan import Analysis

    return Analysis.from_config(data=[str(LAR), str(CSI)])


def test_folders_are_recognised_by_their_kind():
    from cevns_scan.experiments import registry

    assert registry.recognise(str(LAR))[0].name == "coherent_ar"
    assert registry.recognise(str(CSI))[0].name == "coherent_csi"
    kind, rest = registry.recognise(f"coherent_csi:{CSI}")
    assert (kind.name, rest) == ("coherent_csi", str(CSI))


def test_shared_flux_is_one_parameter(both):
    """The joint statistic = min over the SNS flux factor f of the two experiments each
    profiled at f (their own constraint terms removed) plus one constraint on f."""
    from cevns_scan.experiments.binned_poisson import MergedPoisson

    lik = both.likelihood
    assert isinstance(lik, MergedPoisson) and lik.names == ("flux_sns",)
    assert lik.parameters.count("flux_sns") == 1
    ar, csi = (e.likelihood for e in both.experiments)
    sigma = 0.1
    mu = (1.7e-9, 1.1e-9, 0.0)

    def total(f):
        pull = ((f - 1.0) / sigma) ** 2
        return (ar.profile_at(mu, fixed={"flux_sns": f})[0] - pull
                + csi.profile_at(mu, fixed={"flux_sns": f})[0] - pull + pull)

    ref = optimize.minimize_scalar(total, bounds=(0.6, 1.4), method="bounded",
                                   options={"xatol": 1e-9})
    assert lik.statistic(mu) == pytest.approx(ref.fun, abs=2e-6)
    out = np.empty((1, 1))
    lik.plane("e", "mu").evaluate(np.array([mu[0]]), np.array([mu[1]]), out)
    assert out[0, 0] == pytest.approx(ref.fun, abs=2e-6)


def test_timing_separates_the_flavours(both):
    """Prompt nu_mu and delayed nu_e: COHERENT constrains mu_e and mu_mu independently (rank 2),
    and says nothing on mu_tau; with solar data the (e, mu) plane has rank 2 too."""
    from cevns_scan import Analysis

    assert both.moment_rank("e", "mu") == 2
    assert both.unconstrained == ("tau",)
    assert both.scannable_planes(["e-mu", "e-tau"]) == ["e-mu"]
    xe = Analysis.from_config(data="xenonnt-8b")
    assert xe.moment_rank("e", "mu") == 1
    glob = Analysis.from_config(data=["xenonnt-8b", str(LAR), str(CSI)])
    assert glob.moment_rank("e", "mu") == 2 and glob.unconstrained == ()
    # independent experiments add up; their toys merge into one compiled model
    mu = (1.2e-9, 0.8e-9, 0.5e-9)
    parts = xe.statistic(mu) + both.statistic(mu)
    assert glob.statistic(mu) == pytest.approx(parts, abs=1e-9)
    toys = glob.likelihood.toys("e", "mu")
    assert toys.model.n_obs.size == 243 + 960 + 88


def _reproduce(cli, *args):
    code, out, err = cli("reproduce", "--out", "out", "--quiet", *args)
    assert code == 0, err
    return out


@pytest.mark.slow
def test_reproduce_argon_writes_its_measurement(in_tmp, cli):
    out = _reproduce(cli, "--data", LAR, "--grid", "31")
    assert "mu_tau: not constrained" in out
    folder = in_tmp / "out"
    assert not (folder / "chi2_e_tau.npz").exists()
    lim = json.loads((folder / "limits.json").read_text())
    assert set(lim["one_dof"]) == {"mu_e", "mu_mu"} and "mu_tau" in lim["unconstrained"]
    meas = json.loads((folder / "coherent_ar_sm_measurement.json").read_text())
    lo, hi = meas["cevns_events_fitted_68cl"]
    assert lo < meas["cevns_events_fitted"] < hi
    assert meas["cevns_events_fitted_err"] == pytest.approx(
        [meas["cevns_events_fitted"] - lo, hi - meas["cevns_events_fitted"]])
    # the collaboration: 159 +- 43 fitted, 3.5 sigma
    assert abs(meas["cevns_events_fitted"] - 159.0) < 43.0
    assert meas["significance_sigma"] == pytest.approx(3.5, abs=0.5)
    assert meas["best_fit_nuisances"]["brn"]["pull"] is not None
    expected = [ln for ln in (folder / "coherent_ar_expected.csv").read_text().splitlines()
                if not ln.startswith("#")]
    assert expected[0] == "component,SM_events,MM_e,MM_mu,MM_tau"
    assert {ln.split(",")[0] for ln in expected[1:]} == {"prompt_numu", "delayed_nue",
                                                        "delayed_numubar"}


@pytest.mark.slow
def test_global_fit_draws_every_experiment(in_tmp, cli, monkeypatch):
    out = _reproduce(cli, "--data", "xenonnt-8b", "--data", LAR, "--data", CSI, "--grid", "21",
                     "--plane", "e-mu")
    for name in ("xenonnt-8b alone", "coherent_ar alone", "coherent_csi alone"):
        assert name in out
    lim = json.loads((in_tmp / "out" / "limits.json").read_text())
    each = lim["experiments"]
    assert set(each) == {"xenonnt-8b", "coherent_ar", "coherent_csi"}
    # the combination is stronger than every experiment alone
    for fl in ("mu_e", "mu_mu"):
        assert lim["one_dof"][fl] < min(e["one_dof"][fl] for e in each.values())
    cont = json.loads((in_tmp / "out" / "contours.json").read_text())
    assert set(cont["experiments"]) == set(each)
    # plot redraws Fig. 3 with each experiment's own boundary, as the run drew it
    import cevns_scan.plots
    import cevns_scan.replot

    drawn = []
    real = cevns_scan.plots.figure3

    def spy(*args, **kwargs):
        drawn.append(kwargs.get("parts"))
        return real(*args, **kwargs)

    monkeypatch.setattr(cevns_scan.replot, "figure3", spy)
    assert cli("plot", "out")[0] == 0
    (parts,) = drawn
    assert {label for label, _, _ in parts} == set(each)
    for label, plane, lines in parts:
        saved = cont["experiments"][label][plane]["lines"]
        assert [line.tolist() for line in lines] == saved


def _copy(tmp_path, src):
    dst = tmp_path / src.name
    shutil.copytree(src, dst)
    for f in dst.iterdir():
        f.chmod(0o644)
    return dst


@pytest.mark.parametrize("damage", ["missing", "modified", "truncated"])
@pytest.mark.parametrize("src,name", [(LAR, "bkgpdf.txt"), (CSI, "ninPE.txt")])
def test_damaged_release_is_refused_in_one_line(in_tmp, cli, damage, src, name):
    folder = _copy(in_tmp, src)
    path = folder / name
    if damage == "missing":
        path.unlink()
    elif damage == "modified":
        text = path.read_text()
        path.write_text(text.replace("0", "1", 1))
    else:
        path.write_bytes(path.read_bytes()[: len(path.read_bytes()) // 2])
    assert_one_line_error(cli("reproduce", "--data", folder, "--out", "res", "--quiet"), name)
    assert not (in_tmp / "res").exists()
