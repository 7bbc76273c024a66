"""Issue 8: no command prints a wrong number silently, and every failure is one line.

The data-loss items live in test_output_policy.py, the digitisation reader in
test_digitize.py; this module covers the rest of the issue, item by item.
"""

import json
import math
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from helpers import load_map
from scipy import optimize, stats

SLOW_CLI = str(Path(__file__).with_name("slow_cli.py"))


def _one_line_error(code, err, *needles):
    lines = err.strip().splitlines()
    assert code == 2 and len(lines) == 1 and lines[0].startswith("cevns-scan: error:"), err
    assert "Traceback" not in err
    for n in needles:
        assert n in lines[0], lines[0]
    return lines[0]


# -- item 2: a limit the grid cannot resolve is never printed plainly -------------------------

@pytest.mark.parametrize("extra", [
    pytest.param(["--grid", "2"], id="grid2"),
    pytest.param(["--grid", "3"], id="grid3"),
    pytest.param(["--mu-max", "e=1e-5", "--mu-max", "mu=1e-5"], id="mu-max-too-wide"),
])
def test_unresolved_limits_are_flagged(in_tmp, cli, extra):
    code, out, err = cli("reproduce", "--plane", "e-mu", "--out", "r", "--quiet", "--no-figures",
                         *extra)
    assert code == 0, err
    lim = json.loads((in_tmp / "r" / "limits.json").read_text())
    chk = lim["two_dof_checks"]["e_mu"]["mu_e"]
    assert chk["resolved"] is False and chk["problems"]
    assert "mu_max_e = " in chk["problems"][0]  # the fix is suggested
    # the exact on-axis crossing is the true 2-d.o.f. limit (one constrained direction)
    assert math.isclose(chk["on_axis_upper"], 2.2192e-08, rel_tol=1e-3)
    assert "warning: plane e_mu, mu_e limit" in err and "not resolved" in err
    assert re.search(r"mu_e < \S+ \[NOT RESOLVED", out)


def test_default_grid_limits_are_resolved_and_match_the_exact_crossing(in_tmp, cli):
    code, out, err = cli("reproduce", "--plane", "e-mu", "--grid", "101", "--out", "r", "--quiet",
                         "--no-figures")
    assert code == 0 and "warning" not in err and "NOT RESOLVED" not in out
    lim = json.loads((in_tmp / "r" / "limits.json").read_text())
    for name in ("mu_e", "mu_mu"):
        chk = lim["two_dof_checks"]["e_mu"][name]
        assert chk["resolved"] and chk["cells_spanned"] > 50
        assert abs(chk["limit"] - chk["on_axis_upper"]) < chk["grid_cell"]


# -- item 3: bad fits are reported as such ------------------------------------------------------

def test_fixed_background_needs_a_value(in_tmp, cli):
    (in_tmp / "c.toml").write_text('[fit]\nbackground = "fixed"\n')
    code, _, err = cli("reproduce", "--config", "c.toml", "--out", "r", "--grid", "11")
    _one_line_error(code, err, "c.toml", "background_value")
    assert not (in_tmp / "r").exists()


def test_bad_fit_prints_gof_warns_and_reports_intervals(in_tmp, cli):
    (in_tmp / "c.toml").write_text('[fit]\nbackground = "fixed"\nbackground_value = 0.0\n')
    code, out, err = cli("reproduce", "--config", "c.toml", "--no-figures", "--plane", "e-mu",
                         "--grid", "41",
                         "--out", "r", "--quiet")
    assert code == 0, err
    lim = json.loads((in_tmp / "r" / "limits.json").read_text())
    gof = lim["goodness_of_fit"]["e_mu"]
    # the Asimov data hold b0 = 2.0 per bin, the fit fixes B = 0: chi2_min ~ 462 for 19 d.o.f.
    assert gof["dof"] == 19 and gof["chi2_min"] > 400 and gof["bad_fit"] is True
    assert math.isclose(gof["p_value"], stats.chi2.sf(gof["chi2_min"], 19), rel_tol=1e-9)
    assert "bad fit" in err and "[BAD FIT]" in out
    assert lim["origin_excluded"]["e_mu"] is True
    assert "mu_e in [" in out and "mu_e <" not in out.split("1 d.o.f.")[0]
    lo, hi = lim["one_dof_intervals"]["mu_e"]
    assert 0 < lo < hi


def test_gof_is_recorded_for_every_run(in_tmp, cli):
    code, out, _ = cli("reproduce", "--plane", "e-mu", "--grid", "21", "--out", "r", "--quiet",
                       "--no-figures")
    assert code == 0 and "fit, plane e_mu: chi2_min =" in out
    lim = json.loads((in_tmp / "r" / "limits.json").read_text())
    assert lim["goodness_of_fit"]["e_mu"]["dof"] == 18  # 20 bins - free B - 1 direction


def test_best_fit_is_marked_on_fig3(default_analysis):
    res = default_analysis.scan("e-mu", grid=21)
    drawn = res.plot()
    assert drawn["best"] is not None
    x, y = drawn["best"].get_data()
    s = 10.0 ** math.floor(math.log10(max(res.mu_x[-1], res.mu_y[-1])))
    assert math.isclose(x[0] * s, res.best[0], abs_tol=1e-20)
    assert math.isclose(y[0] * s, res.best[1], abs_tol=1e-20)


# -- items 4 and 5: digitisations and BOMs ------------------------------------------------------

def test_from_digitized_with_jitter_options_and_metadata(in_tmp, cli):
    rng = np.random.default_rng(3)
    centres = 0.21 + 0.1 * np.arange(20)
    rates = rng.uniform(1.5, 3.0, 20)
    sig = rng.uniform(0.1, 0.4, 20)
    jitter = rng.normal(0.0, 0.004, (2, 20))
    (in_tmp / "p.csv").write_text("\ufeff" + "".join(
        f"{x + j:.5f},{y:.4f}\n" for x, j, y in zip(centres, jitter[0], rates, strict=True)))
    (in_tmp / "u.csv").write_text("".join(
        f"{x + j:.5f},{y + s:.4f}\n" for x, j, y, s in zip(centres, jitter[1], rates, sig,
                                                            strict=True)))
    code, out, err = cli("dataset", "from-digitized", "--points", "p.csv", "--upper", "u.csv",
                         "--bin-width", "0.1", "--first-edge", "0.16", "--exposure-kg-day",
                         "205.4", "--source", "Geng et al. 2023 Fig. 1", "--out", "d.csv")
    assert code == 0, err
    assert "largest" in out  # the largest shift is reported
    text = (in_tmp / "d.csv").read_text()
    assert "\n0.16,0.26," in text and "\n2.06,2.16," in text  # no float noise in the edges
    assert "# exposure_kg_day: 205.4" in text and "# source: Geng et al. 2023 Fig. 1" in text


def test_bom_in_a_dataset_file_is_read(in_tmp, cli):
    rows = "".join(f"{0.16 + 0.1 * i:.2f},{0.26 + 0.1 * i:.2f},{2.5 - 0.05 * i},0.3\n"
                   for i in range(10))
    (in_tmp / "d.csv").write_text("\ufeffTee_lo_keV,Tee_hi_keV,rate,sigma\n" + rows,
                                  encoding="utf-8")
    code, _, err = cli("reproduce", "--data", "d.csv", "--no-figures", "--plane", "e-mu",
                       "--grid", "11",
                       "--out", "r", "--quiet")
    assert code == 0, err
    head, rows = _csv_rows(in_tmp / "r" / "templates.csv")
    assert head[0] == "Tee_lo_keV" and len(rows) == 10


# -- item 6: every other failure is one line and exit 2 ------------------------------------------

def _dataset(path, sigmas):
    rows = "".join(f"{0.16 + 0.1 * i:.2f},{0.26 + 0.1 * i:.2f},2.5,{s}\n"
                   for i, s in enumerate(sigmas))
    path.write_text("Tee_lo_keV,Tee_hi_keV,rate,sigma\n" + rows)


@pytest.mark.parametrize("sigmas,needle", [
    ([0.3], "free flat background"),
    ([0.3, 1e-9, 0.3, 0.3], "cannot be computed"),
    ([0.3, 1e-12, 0.3, 0.3], "cannot be computed"),
    ([0.3, 1e-20, 0.3, 0.3], "cannot be computed"),
    ([0.3, 1e-30, 0.3, 0.3], "cannot be computed"),
])
def test_degenerate_datasets_are_one_line(in_tmp, cli, sigmas, needle):
    _dataset(in_tmp / "d.csv", sigmas)
    code, _, err = cli("reproduce", "--data", "d.csv", "--grid", "11", "--out", "r")
    _one_line_error(code, err, needle)
    assert not (in_tmp / "r").exists()


@pytest.mark.parametrize("role", ["--points", "--upper"])
def test_binary_digitisation_file_is_one_line(in_tmp, cli, role):
    (in_tmp / "ok.csv").write_text("0.21,2.0\n0.31,1.5\n")
    (in_tmp / "bin.csv").write_bytes(bytes(range(256)) * 4)
    files = {"--points": "ok.csv", "--upper": "ok.csv", role: "bin.csv"}
    code, _, err = cli("dataset", "from-digitized", "--points", files["--points"], "--upper",
                       files["--upper"], "--bin-width", "0.1", "--out", "d.csv")
    _one_line_error(code, err, "bin.csv")


def test_debug_after_the_command_is_one_line(cli):
    code, _, err = cli("reproduce", "--debug")
    _one_line_error(code, err, "--debug", "before the command")


@pytest.mark.parametrize("argv", [
    ["figure2", "--out", "/proc/cevns-scan-x"],
    ["rates", "--points", "2", "--out", "/proc/cevns-scan-x/r.csv"],
    ["dataset", "from-digitized", "--points", "p.csv", "--upper", "p.csv", "--bin-width", "0.1",
     "--out", "/proc/cevns-scan-x/d.csv"],
])
def test_unwritable_targets_fail_before_work(in_tmp, cli, argv):
    (in_tmp / "p.csv").write_text("0.21,2.0\n")
    code, _, err = cli(*argv)
    _one_line_error(code, err, "cannot write")


def test_bench_checks_writability_before_running(in_tmp, cli):
    t0 = time.perf_counter()
    code, _, err = cli("bench", "--json", "/proc/cevns-scan-x/b.json")
    _one_line_error(code, err, "--json")
    assert time.perf_counter() - t0 < 5  # refused before the 25 s of measurements


# -- item 7: Ctrl-C to the whole process group, every backend ----------------------------------

@pytest.mark.slow
@pytest.mark.parametrize("backend", ["threading", "loky", "dask"])
def test_ctrl_c_to_the_process_group(tmp_path, backend):
    if backend == "dask":
        pytest.importorskip("dask.distributed")
    (tmp_path / "c.toml").write_text("[scan]\nchunk_points = 160\n")
    argv = ["scan", "--config", "c.toml", "--grid", "41", "--plane", "e-mu", "--out", "ck",
            "--quiet", "--jobs", "2", "--backend", backend]
    proc = subprocess.Popen([sys.executable, SLOW_CLI, "1.0", *argv], cwd=tmp_path,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True)
    t0 = time.time()
    while len(list((tmp_path / "ck" / "e_mu").glob("chunk_*.npz"))) < 2:
        if proc.poll() is not None or time.time() - t0 > 120:
            os.killpg(proc.pid, signal.SIGKILL)
            raise AssertionError(proc.communicate())
        time.sleep(0.1)
    os.killpg(proc.pid, signal.SIGINT)  # what a terminal's Ctrl-C does
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 128 + signal.SIGINT, err
    lines = err.strip().splitlines()
    assert len(lines) == 2, err  # no worker tracebacks, no joblib warnings
    assert lines[0] == ("cevns-scan: SIGINT received: stopping after the current chunk... "
                        "(again: stop at once)")
    assert "interrupted by SIGINT" in lines[1] and "--resume" in lines[1]
    assert "no partial output" not in lines[1]


# -- item 8: shards that do not fit ---------------------------------------------------------------

def test_mismatched_shard_says_what_differs(in_tmp, cli):
    assert cli("scan", "--plane", "e-mu", "--grid", "41", "--out", "ck", "--quiet")[0] == 0
    chunks = sorted((in_tmp / "ck" / "e_mu").glob("chunk_*"))
    code, _, err = cli("scan", "--plane", "e-mu", "--grid", "21", "--out", "ck", "--quiet",
                       "--shard", "1/2", "--resume")
    line = _one_line_error(code, err, "grid 41 there, 21 here")
    assert "remove" not in line and "delete" not in line
    assert sorted((in_tmp / "ck" / "e_mu").glob("chunk_*")) == chunks


def test_more_shards_than_chunks_says_so(in_tmp, cli):
    # one chunk, four balanced shards: 1/4..3/4 are empty and 4/4 computes the chunk
    code, _, err = cli("scan", "--plane", "e-mu", "--grid", "11", "--out", "ck", "--quiet",
                       "--shard", "3/4")
    assert code == 0 and "shard 3/4 has no chunks" in err
    assert "only 1 chunk(s) for 4 shards, computed by shard(s) 4/4;" in err
    assert not list((in_tmp / "ck" / "e_mu").glob("chunk_*"))
    code, _, err = cli("scan", "--plane", "e-mu", "--grid", "11", "--out", "ck", "--quiet",
                       "--shard", "4/4")
    assert code == 0 and "no chunks" not in err
    assert len(list((in_tmp / "ck" / "e_mu").glob("chunk_*"))) == 1


def test_slurm_example_merges_after_any_and_activates_its_environment():
    text = (Path(__file__).resolve().parents[1] / "examples" / "slurm_array.sh")
    if not text.is_file():
        pytest.skip("examples/ is not beside the tests (not a repository checkout)")
    script = text.read_text()
    assert "afterany" in script and "afterok" not in script
    assert script.count("$activate") >= 2 and "bin/activate" in script


# -- item 9: the confidence level without a rescan -------------------------------------------------

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


# -- item 11: Fig. 3 -----------------------------------------------------------------------------

@pytest.mark.slow
def test_overlays_per_plane_units_and_labels(in_tmp, cli):
    (in_tmp / "ok.csv").write_text("x,y\n0,0\n1e-8,0\n0,1e-8\n")
    (in_tmp / "bad.csv").write_text("x,y\n0,0\n2.9,0\n0,2.9\n")
    assert cli("reproduce", "--grid", "21", "--out", "r", "--quiet")[0] == 0
    code, _, err = cli("plot", "r", "--overlay", "X1T@e-tau=ok.csv", "--no-caveat")
    assert code == 0, err
    _one_line_error(*cli("plot", "r", "--overlay", "COHERENT=bad.csv")[::2], "units of mu_B")
    _one_line_error(*cli("plot", "r", "--overlay", "=ok.csv")[::2], "has an empty label")


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


# -- item 12: the results folder rebuilds the fit ------------------------------------------------

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


# -- item 13: options -----------------------------------------------------------------------------

def test_jobs_minus_one_means_all_cores(in_tmp, cli):
    code, _, err = cli("reproduce", "--plane", "e-mu", "--grid", "11", "--out", "r", "--quiet",
                       "--jobs", "-1", "--no-figures")
    assert code == 0, err
    _one_line_error(*cli("reproduce", "--jobs", "0", "--out", "r2")[::2], "--jobs 0")


def test_every_option_has_help_and_every_command_an_example():
    import argparse

    from cevns_scan.cli import build_parser

    def walk(parser, name):
        assert parser.epilog and "example:" in parser.epilog, name
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                for sub_name, sub in action.choices.items():
                    walk(sub, f"{name} {sub_name}")
            elif action.dest != "help":
                assert action.help, f"{name} {action.option_strings or action.dest}"

    walk(build_parser(), "cevns-scan")


def test_misspelt_option_and_dataset_get_suggestions(cli):
    _one_line_error(*cli("reproduce", "--gird", "11")[::2], "did you mean --grid",
                    "cevns-scan reproduce --help")
    _one_line_error(*cli("reproduce", "--data", "cdex10-asimv")[::2], "did you mean "
                    "'cdex10-asimov'")


@pytest.mark.slow
def test_cold_numba_cache_prints_one_compiling_line(tmp_path):
    env = dict(os.environ, NUMBA_CACHE_DIR=str(tmp_path / "cache"))
    proc = subprocess.run([sys.executable, "-m", "cevns_scan", "rates", "--points", "2"],
                          cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0
    assert proc.stderr.count("compiling the numba kernels") == 1
    again = subprocess.run([sys.executable, "-m", "cevns_scan", "rates", "--points", "2"],
                           cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    assert "compiling" not in again.stderr


# -- item 10: another target ---------------------------------------------------------------------

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
