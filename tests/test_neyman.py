"""The toy-MC Neyman construction (issue 11): critical values, determinism, coverage, outputs."""

import json
import math
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pytest
from helpers import assert_one_line_error, quiet
from scipy import stats

from cevns_scan.errors import CevnsScanWarning
from cevns_scan.neyman import CHANNELS, NeymanPlane, coverage, critical_value
from cevns_scan.scan import make_chunks, scan_map

SLOW_CLI = str(Path(__file__).with_name("slow_cli.py"))


def test_critical_value_is_the_order_statistic_with_a_binomial_error():
    rng = np.random.default_rng(0)
    t = rng.uniform(0.0, 1.0, 10_000)
    tc, err = critical_value(t, 0.9)
    assert tc == np.quantile(t, 0.9, method="inverted_cdf")
    # for U(0, 1) the quantile's spread is sqrt(cl (1 - cl) / N) = 0.003
    assert math.isclose(err, math.sqrt(0.9 * 0.1 / t.size), rel_tol=0.3)  # itself a sample
    assert abs(tc - 0.9) < 4 * err


@pytest.fixture(scope="module")
def toy_plane(default_analysis):
    lik = default_analysis.experiments[0].likelihood
    return default_analysis, NeymanPlane(default_analysis.plane("e", "mu"),
                                         lik.toys("e", "mu"), 2000, 11, 0.9)


def test_critical_values_at_the_boundary_and_inside(toy_plane):
    """One constrained direction: chi2_1 away from mu = 0, the 1/2 chi2_0 + 1/2 chi2_1 mixture
    at the origin (the kernels' own tests check the same with 40 000 toys)."""
    analysis, plane = toy_plane
    cross = analysis.plane_grid("e-mu", 3).mu_x[-1] / 1.3  # the 2-d.o.f. on-axis crossing
    mu_x = np.array([0.0, 1.5 * cross])
    out = np.empty((2, 1, len(CHANNELS)))
    plane.evaluate(mu_x, np.zeros(1), out)
    mixture = stats.chi2.ppf(0.8, 1)  # P(t <= c) = 1/2 + 1/2 P(chi2_1 <= c) = 0.9
    assert math.isclose(mixture, 1.6424, rel_tol=1e-4)
    for (tc, err), expected in zip(out[:, 0, 1:3], (mixture, stats.chi2.ppf(0.9, 1)),
                                   strict=True):
        assert abs(tc - expected) < 4 * err + 0.02, (tc, err, expected)


def test_neyman_maps_do_not_depend_on_workers_chunks_or_backend(toy_plane):
    analysis, plane = toy_plane
    plane = NeymanPlane(plane.observed, plane.toys, 50, 5, 0.9)
    pg = analysis.plane_grid("e-mu", 7)
    ref = scan_map(plane, pg.mu_x, pg.mu_y, make_chunks(7, 7, 49), jobs=1)
    assert ref.shape == (7, 7, len(CHANNELS)) and np.all(np.isfinite(ref))
    for jobs, points, backend in ((2, 7, "threading"), (2, 14, "loky"), (1, 1, "threading")):
        got = scan_map(plane, pg.mu_x, pg.mu_y, make_chunks(7, 7, points), jobs=jobs,
                       backend=backend)
        assert np.array_equal(got, ref), (jobs, points, backend)


def test_neyman_region_covers_the_truth_at_the_nominal_rate(default_analysis):
    (row,) = coverage(default_analysis, "e-mu", [(1.2e-8, 0.0)], toys=300, inner=600, seed=2,
                      jobs=2)
    err = row.error(0.9, row.n)
    # finite inner toys make each toy's t_c noisy; allow their small bias besides 3 sigma
    assert abs(row.neyman - 0.9) < 3 * err + 0.02, row
    assert row.wilks > 0.93  # Wilks over-covers: the boundary and the one direction


@pytest.mark.slow
def test_reproduce_with_toys_writes_neyman_results(in_tmp, cli):
    code, out, err = cli("reproduce", "--plane", "e-mu", "--grid", "15", "--toys", "100",
                         "--seed", "3", "--out", "r", "--quiet")
    assert code == 0, err
    assert "Neyman (toy MC, 100 toys/point), plane e_mu" in out
    with np.load(in_tmp / "r" / "tcrit_e_mu.npz") as z:
        assert z["tcrit"].shape == (15, 15) and int(z["toys_per_point"]) == 100
        assert np.all(z["tcrit_err"] >= 0) and int(z["seed"]) == 3
        assert np.all(z["tcrit"] <= z["quantiles"][..., 2])  # q90 <= q95
    lim = json.loads((in_tmp / "r" / "limits.json").read_text())
    ney = lim["neyman"]["two_dof"]["e_mu"]
    assert 0 < ney["mu_e"] < lim["two_dof"]["e_mu"]["mu_e"]  # Wilks is conservative here
    assert cli("plot", "r", "--cl", "0.95")[0] == 0
    assert_one_line_error(cli("plot", "r", "--cl", "0.8"), "no Neyman critical values")


@pytest.mark.slow
def test_neyman_shards_merge_to_the_in_process_result(in_tmp, cli):
    args = ["--plane", "e-mu", "--grid", "9", "--toys", "60", "--seed", "4", "--quiet"]
    (in_tmp / "c.toml").write_text("[scan]\nneyman_chunk_points = 18\n")
    assert cli("reproduce", "--config", "c.toml", *args, "--out", "ref", "--no-figures")[0] == 0
    for k in (3, 1, 2):
        assert cli("neyman", "--config", "c.toml", *args, "--shard", f"{k}/3", "--out",
                   "ns")[0] == 0
    assert cli("merge", "ns", "--out", "merged", "--no-figures")[0] == 0
    for name in ("tcrit_e_mu.npz", "chi2_e_mu.npz"):
        with np.load(in_tmp / "ref" / name) as a, np.load(in_tmp / "merged" / name) as b:
            key = "tcrit" if name.startswith("tcrit") else "chi2"
            assert np.array_equal(a[key], b[key])


@pytest.mark.slow
def test_neyman_sigkill_then_resume_is_bit_identical(tmp_path):
    (tmp_path / "c.toml").write_text("[scan]\nneyman_chunk_points = 22\n")
    argv = ["neyman", "--config", "c.toml", "--plane", "e-mu", "--grid", "11", "--toys", "50",
            "--out", "ck", "--quiet"]
    proc = subprocess.Popen([sys.executable, SLOW_CLI, "0.5", *argv], cwd=tmp_path,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            start_new_session=True)
    t0 = time.time()
    while len(list((tmp_path / "ck" / "e_mu").glob("chunk_*.npz"))) < 2:
        assert proc.poll() is None and time.time() - t0 < 120
        time.sleep(0.05)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.communicate(timeout=60)
    done = len(list((tmp_path / "ck" / "e_mu").glob("chunk_*.npz")))
    assert 2 <= done < 6
    env = dict(os.environ)
    for d, extra in (("ck", ["--resume"]), ("full", [])):
        args = [a if a != "ck" else d for a in argv] + extra
        subprocess.run([sys.executable, "-m", "cevns_scan", *args], cwd=tmp_path, check=True,
                       env=env, capture_output=True)
    for d in ("ck", "full"):
        subprocess.run([sys.executable, "-m", "cevns_scan", "merge", d, "--out", f"m_{d}"],
                       cwd=tmp_path, check=True, capture_output=True)
    with np.load(tmp_path / "m_ck" / "tcrit_e_mu.npz") as a, \
            np.load(tmp_path / "m_full" / "tcrit_e_mu.npz") as b:
        assert np.array_equal(a["tcrit"], b["tcrit"])


def test_coverage_command_prints_a_table(in_tmp, cli):
    code, out, err = cli("coverage", "--at", "e=1e-8,mu=0", "--toys", "20", "--inner-toys",
                         "50", "--json", "cov.json")
    assert code == 0, err
    assert "Wilks" in out and "Neyman" in out
    rec = json.loads((in_tmp / "cov.json").read_text())
    assert rec["points"][0]["toys"] == 20 and 0 <= rec["points"][0]["neyman"] <= 1
    assert_one_line_error(cli("coverage", "--at", "x=1", "--toys", "20"), "--at")


# -- issue 17: Monte Carlo errors, flags, the inner-toy effect on coverage ----------------------

def test_neyman_limit_mc_error_is_the_shift_with_t_c():
    """t_obs = (mu_x/a)^2 + (mu_y/b)^2 and t_c = c +- e everywhere: the extent is a sqrt(c),
    its MC error a (sqrt(c + e) - sqrt(c - e)) / 2 (closed forms; fine grid)."""
    from cevns_scan.grid import PlaneGrid
    from cevns_scan.neyman import QUANTILES, read_neyman
    from cevns_scan.results import read_plane

    a, b, c, e = 2.0e-9, 3.0e-9, 2.5, 0.1
    pg = PlaneGrid("e", "mu", np.linspace(0, 2 * a, 801), np.linspace(0, 2 * b, 801))
    t = (pg.mu_x[:, None] / a) ** 2 + (pg.mu_y[None, :] / b) ** 2
    wilks = read_plane(pg, t, 0.0, (0.0, 0.0), 0.9)
    maps = np.zeros((801, 801, 2 + len(QUANTILES)))
    maps[..., 0], maps[..., 1] = c, e
    ney = read_neyman(wilks, maps, 1000, 0, 0.9)
    assert ney.limits["mu_e"] == pytest.approx(a * math.sqrt(c), rel=1e-5)
    assert ney.mc_error["mu_e"] == pytest.approx(a * (math.sqrt(c + e) - math.sqrt(c - e)) / 2,
                                                 rel=1e-3)
    assert ney.mc_error["mu_mu"] == pytest.approx(b * (math.sqrt(c + e) - math.sqrt(c - e)) / 2,
                                                  rel=1e-3)
    assert ney.checks["mu_e"].on_axis[1] == pytest.approx(a * math.sqrt(c), rel=1e-5)
    assert not ney.problems()
    few = read_neyman(wilks, maps, 50, 0, 0.9)
    assert "at least 100 toys per point" in few.problems()[0]


def test_unresolved_neyman_limits_are_flagged(default_analysis):
    from cevns_scan.results import AnalysisResult

    with pytest.warns(CevnsScanWarning) as record:
        ney = default_analysis.neyman("e-mu", grid=6, toys=100, seed=1)
    assert any("Neyman: mu_e limit" in str(w.message) and "not resolved" in str(w.message)
               for w in record)
    assert not ney.checks["mu_e"].resolved and "spans only" in ney.checks["mu_e"].problems[0]
    result = AnalysisResult(default_analysis, (ney.wilks,), {}, {}, (ney,))
    line = next(ln for ln in result.summary_lines() if ln.lstrip().startswith("Neyman"))
    assert "[NOT RESOLVED, see warning]" in line and "Neyman (toy MC, 100 toys/point)" in line
    assert "(" in line.split("mu_e < ")[1].split(",")[0]  # printed with its MC error
    assert any("Neyman: mu_e limit" in w and "not resolved" in w for w in result.warnings())
    rec = result.neyman_summary()
    assert set(rec["mc_error"]["e_mu"]) == {"mu_e", "mu_mu"}
    assert rec["mc_error"]["e_mu"]["mu_e"] > 0


def test_finite_inner_toys_cover_k_over_n_plus_one(default_analysis):
    """t_c from 20 inner toys is their 18th smallest: a pivotal t is below it with probability
    18/21 = 85.7 %, not 90 % (eq. N3). Far from the boundary the pull chi^2 is pivotal."""
    cross = default_analysis.plane_grid("e-mu", 3).mu_x[-1] / 1.3
    (row,) = coverage(default_analysis, "e-mu", [(1.5 * cross, 0.0)], toys=3000, inner=20,
                      seed=8, jobs=2)
    assert row.neyman_expected == pytest.approx(18 / 21)
    err = row.error(row.neyman_expected, row.n)
    assert abs(row.neyman - 18 / 21) < 3.5 * err, row
    assert abs(row.neyman - 0.9) > 4 * err  # the effect is resolved
    assert row.to_dict()["neyman_expected_from_inner_toys"] == pytest.approx(18 / 21)


def test_neyman_plot_keeps_one_legend_entry_per_label(default_analysis):
    ney = quiet(lambda: default_analysis.neyman("e-mu", grid=7, toys=20, seed=2))
    _, ax = plt.subplots()
    ney.plot(ax=ax)
    ney.plot(ax=ax)
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert len(labels) == len(set(labels))
