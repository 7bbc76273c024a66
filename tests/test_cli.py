"""scanner/cli.py: the commands end to end and the results contract (docs/design.md §5); the
options (one stated minimum, plane spellings, help and examples, suggestions, ``--debug``).

The table of bad inputs, each one line and exit code 2, is tests/test_cli_errors.py."""

import contextlib
import csv
import io
import json
import os
import subprocess
import sys

import numpy as np
import pytest
from helpers import assert_one_line_error, load_map
from scipy import stats

import cevns_scan as cs
from cevns_scan.cli import main
from cevns_scan.errors import InputError, ParameterError

FILES = ["run.json", "rates_Ge.csv", "rates_Xe.csv", "templates.csv",
         "templates_components.csv", "chi2_e_mu.npz",
         "chi2_e_tau.npz", "contours.json", "limits.json", "fig2_rates.png", "fig2_rates.pdf",
         "fig3_contours.png", "fig3_contours.pdf"]


def _csv(path):
    lines = [line for line in path.read_text().splitlines() if not line.startswith("#")]
    rows = list(csv.reader(lines))
    return rows[0], np.array(rows[1:], dtype=float)


def run_cli(*argv, cwd):
    """cevns-scan ARGV in this process, in folder ``cwd``; its stdout, and exit code 0 asserted."""
    old = os.getcwd()
    out, err = io.StringIO(), io.StringIO()
    os.chdir(cwd)
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = main([str(a) for a in argv])
    finally:
        os.chdir(old)
    assert code == 0, f"exit {code}: {err.getvalue()}"
    return out.getvalue()


@pytest.fixture(scope="module")
def reproduced(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("repro")
    stdout = run_cli("reproduce", "--grid", "41", "--out", "out", "--quiet", cwd=tmp)
    return tmp / "out", stdout


def test_reproduce_writes_every_file_with_its_schema(reproduced):
    out, stdout = reproduced
    assert sorted(p.name for p in out.iterdir()) == sorted(FILES)
    assert [p.name for p in out.parent.iterdir()] == ["out"]  # no temporary folders left
    assert "expected sensitivity" in stdout

    run = json.loads((out / "run.json").read_text())
    assert run["command"][:2] == ["cevns-scan", "reproduce"]
    assert run["config"]["fluxes"]["model"] == "BS05-OP"
    assert len(run["input_sha256"]) == 64 and len(run["dataset"]["sha256"]) == 64
    assert run["dataset"]["synthetic"] is True and "not the published" in run["dataset"]["note"]
    assert {"numpy", "scipy", "numba", "cevns-scan"} <= set(run["versions"])
    assert "B16-GS98" in run["flux_uncertainties"]

    for target in ("Ge", "Xe"):
        header, data = _csv(out / f"rates_{target}.csv")
        assert header == ["T_nr_keV", "SM", "total_mu_1e-09", "total_mu_8e-10", "total_mu_4e-10"]
        assert data.shape == (200, 5)
        assert np.isclose(data[0, 0], 0.1) and np.isclose(data[-1, 0], 10.0)
        assert np.all(data[:, 2] >= data[:, 3]) and np.all(data[:, 3] >= data[:, 4])
        assert np.all(data[:, 4] >= data[:, 1]) and data[0, 1] > 0

    header, data = _csv(out / "templates.csv")
    assert header == ["Tee_lo_keV", "Tee_hi_keV", "observed", "sigma", "SM", "MM_e", "MM_mu",
                      "MM_tau"]
    assert data.shape == (20, 8)
    assert np.allclose(data[:, 0], 0.16 + 0.1 * np.arange(20))
    assert np.allclose(data[:, 2], data[:, 4] + 2.0)  # Asimov: SM + b0

    for plane in ("e_mu", "e_tau"):
        with np.load(out / f"chi2_{plane}.npz") as z:
            assert z["chi2"].shape == (41, 41) == (z["mu_x"].size, z["mu_y"].size)
            assert z["mu_x"][0] == 0 and z["mu_y"][0] == 0
            assert np.isclose(z["delta_chi2"], stats.chi2.ppf(0.9, 2)) and z["cl"] == 0.9
            assert np.isclose(z["chi2_min"], z["chi2"].min(), atol=1e-9)

    cont = json.loads((out / "contours.json").read_text())
    assert set(cont["planes"]) == {"e_mu", "e_tau"} and cont["cl"] == 0.9
    line = np.array(cont["planes"]["e_mu"]["lines"][0])
    assert line.ndim == 2 and line.shape[1] == 2

    lim = json.loads((out / "limits.json").read_text())
    assert set(lim["two_dof"]["e_mu"]) == {"mu_e", "mu_mu"}
    assert set(lim["two_dof"]["e_tau"]) == {"mu_e", "mu_tau"}
    assert set(lim["one_dof"]) == {"mu_e", "mu_mu", "mu_tau"}
    assert lim["cl"] == 0.9 and lim["dataset"] == "cdex10-asimov" and lim["edge_warnings"] == []
    for plane, fl in (("e_mu", "mu_mu"), ("e_tau", "mu_tau")):
        assert lim["two_dof"][plane][fl] > lim["one_dof"][fl]

    for name in FILES:
        if name.endswith(".png"):
            assert (out / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        if name.endswith(".pdf"):
            assert (out / name).read_bytes()[:5] == b"%PDF-"


@pytest.mark.slow
def test_reproduce_jobs_2_identical_and_replaces_output(reproduced):
    out, _ = reproduced
    ref = {p: load_map(out / f"chi2_{p}.npz") for p in ("e_mu", "e_tau")}
    run_cli("reproduce", "--grid", "41", "--jobs", "2", "--out", out, "--quiet", "--force",
            cwd=out.parent)
    for plane, chi2 in ref.items():
        assert np.array_equal(load_map(out / f"chi2_{plane}.npz"), chi2)
    assert [p.name for p in out.parent.iterdir()] == ["out"]


@pytest.mark.slow
def test_plot_redraws_from_saved_maps(reproduced):
    out, _ = reproduced
    (out / "fig3_contours.png").unlink()
    run_cli("plot", out, cwd=out.parent)
    assert (out / "fig3_contours.png").stat().st_size > 1000


def test_rates_command(tmp_path):
    run_cli("rates", "--target", "Xe", "--flux", "8B,hep", "--mu", "1e-9", "--points", "5",
            "--out", "r.csv", cwd=tmp_path)
    header, data = _csv(tmp_path / "r.csv")
    assert header == ["T_nr_keV", "SM", "total_mu_1e-09"]
    assert data.shape == (5, 3) and np.all(data[:, 2] >= data[:, 1])
    assert np.all(data[:4, 2] > data[:4, 1]) and data[-1, 1] == 0.0  # 10 keV: beyond 8B on Xe


def test_figure2_command(tmp_path):
    run_cli("figure2", "--out", "figs", cwd=tmp_path)
    assert (tmp_path / "figs" / "fig2_rates.png").stat().st_size > 1000
    assert (tmp_path / "figs" / "fig2_rates.pdf").stat().st_size > 1000


def test_dataset_from_digitized_round_trip(tmp_path):
    centres = 0.21 + 0.1 * np.arange(5)
    rates = np.array([2.5, 2.1, 1.9, 2.2, 2.0])
    sig = np.array([0.3, 0.25, 0.2, 0.2, 0.3])
    # WebPlotDigitizer exports: no header, x,y rows, not necessarily in order
    (tmp_path / "p.csv").write_text("".join(f"{x},{y}\n" for x, y in
                                            zip(centres[::-1], rates[::-1], strict=True)))
    (tmp_path / "u.csv").write_text("".join(f"{x + 0.003},{y + s}\n" for x, y, s in
                                            zip(centres, rates, sig, strict=True)))
    run_cli("dataset", "from-digitized", "--points", "p.csv", "--upper", "u.csv",
            "--bin-width", "0.1", "--label", "geng2023-digitised", "--out", "d.csv",
            cwd=tmp_path)
    header, data = _csv(tmp_path / "d.csv")
    assert header == ["Tee_lo_keV", "Tee_hi_keV", "rate", "sigma"]
    assert np.allclose(data[:, 0], centres - 0.05) and np.allclose(data[:, 1], centres + 0.05)
    assert np.allclose(data[:, 2], rates) and np.allclose(data[:, 3], sig)
    # and the result is a valid dataset for the analysis
    stdout = run_cli("reproduce", "--data", "d.csv", "--grid", "21", "--out", "res", "--quiet",
                     cwd=tmp_path)
    lim = json.loads((tmp_path / "res" / "limits.json").read_text())
    assert lim["dataset"] == "geng2023-digitised"
    assert "expected sensitivity" not in stdout


# -- options: one stated minimum, plane spellings, --debug, negative numbers, toy counts ----------

def test_one_minimum_per_option_in_library_config_and_cli(default_analysis):
    from cevns_scan.cli import positive_int
    from cevns_scan.config import MIN_GRID, validate
    from cevns_scan.neyman import MIN_TOYS

    assert (MIN_GRID, MIN_TOYS) == (2, 10)
    with pytest.raises(ParameterError, match=r"^grid = 1 must be >= 2 points per axis$"):
        default_analysis.plane_grid("e-mu", 1)
    with pytest.raises(InputError, match=r"\[scan\] grid = 1 is out of range; use an integer >= "
                                         r"2 points per axis"):
        validate({"scan": {"grid": 1}}, "x")
    with pytest.raises(ParameterError, match=r"^toys = 9 must be >= 10 pseudo-experiments"):
        default_analysis.neyman_plane("e", "mu", 9, 0)
    from cevns_scan.neyman import coverage

    with pytest.raises(ParameterError, match=r"^inner = 9 must be >= 10") as err:
        coverage(default_analysis, "e-mu", [(0.0, 0.0)], toys=10, inner=9)
    assert err.value.as_option("--inner-toys").startswith("--inner-toys 9 must be >= 10")
    # the command line takes the same minimum (MIN_GRID, MIN_TOYS), not >= 1
    assert positive_int("--grid", MIN_GRID)("2") == 2
    with pytest.raises(InputError, match=r"--grid 1 must be >= 2"):
        positive_int("--grid", MIN_GRID)("1")


@pytest.mark.parametrize("spelling", ["e-mu", "e_mu"])
def test_plane_names_as_the_outputs_spell_them(in_tmp, cli, spelling):
    code, _, err = cli("reproduce", "--plane", spelling, "--grid", "11", "--out", "r",
                       "--quiet", "--no-figures")
    assert code == 0, err
    assert json.loads((in_tmp / "r" / "limits.json").read_text())["two_dof"].keys() == {"e_mu"}
    code, _, err = cli("scan", "--plane", spelling, "--grid", "5", "--out", "sc", "--quiet")
    assert code == 0, err
    assert (in_tmp / "sc" / "e_mu" / "manifest.json").is_file()
    code, out, err = cli("coverage", "--plane", spelling, "--at", "e=1e-8", "--toys", "10",
                         "--inner-toys", "10")
    assert code == 0, err
    assert "plane e-mu" in out
    (in_tmp / "ov.csv").write_text("x,y\n0,0\n1e-8,0\n0,1e-8\n")
    code, _, err = cli("plot", "r", "--overlay", f"X@{spelling}=ov.csv")
    assert code == 0, err
    back = cs.load_results(in_tmp / "r")
    assert back.plane(spelling).name == "e_mu"
    with pytest.raises(KeyError, match=r"plane 'e-tau' is not among the results \(planes: "
                                       r"e_mu\)"):
        back.plane("e-tau")


def test_debug_before_the_command_is_accepted(in_tmp, cli):
    code, out, err = cli("--debug", "rates", "--points", "2", "--tnr-min", "1")
    assert code == 0, err
    assert out.splitlines()[1] == "T_nr_keV,SM,total_mu_1e-09,total_mu_8e-10,total_mu_4e-10"


def test_a_negative_number_list_reaches_the_value_check(cli):
    line = assert_one_line_error(cli("probabilities", "--energies", "-1,5"))
    assert line == "cevns-scan: error: --energies -1: a neutrino energy must be > 0 (MeV)"
    assert_one_line_error(cli("probabilities", "--energies", "1,-5e0"),
                          "--energies -5: a neutrino energy must be > 0 (MeV)")


@pytest.mark.parametrize("option", ["--gof-toys", "--expected"])
def test_toy_counts_of_reproduce_are_checked_before_the_scan(cli, monkeypatch, option):
    """Every toy count states the one minimum (neyman.MIN_TOYS) and is refused before any map
    is computed (--gof-toys 5 used to fail in the library after the scans)."""
    import cevns_scan.scan
    from cevns_scan.neyman import MIN_TOYS

    def no_scan(*args, **kwargs):
        raise AssertionError("a map was computed before the toy count was checked")

    monkeypatch.setattr(cevns_scan.scan, "scan_map", no_scan)
    line = assert_one_line_error(cli("reproduce", "--grid", "11", "--quiet", "--out", "out",
                                     option, MIN_TOYS - 1))
    assert line == (f"cevns-scan: error: {option} {MIN_TOYS - 1} must be >= {MIN_TOYS} "
                    "pseudo-experiments" + (", or 0 (or no value) for the Asimov expectation"
                                            if option == "--expected" else ""))


# -- help, examples, suggestions, --jobs, the compile notice --------------------------------------

def test_debug_after_the_command_is_one_line(cli):
    assert_one_line_error(cli("reproduce", "--debug"), "--debug", "before the command")


def test_jobs_minus_one_means_all_cores(in_tmp, cli):
    code, _, err = cli("reproduce", "--plane", "e-mu", "--grid", "11", "--out", "r", "--quiet",
                       "--jobs", "-1", "--no-figures")
    assert code == 0, err
    assert_one_line_error(cli("reproduce", "--jobs", "0", "--out", "r2"), "--jobs 0")


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
    assert_one_line_error(cli("reproduce", "--gird", "11"), "did you mean --grid",
                          "cevns-scan reproduce --help")
    assert_one_line_error(cli("reproduce", "--data", "cdex10-asimv"), "did you mean "
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


def test_unit_slip_in_a_true_point_is_caught_before_compiling(tmp_path):
    """``coverage --at e=2`` (2 for 2e-8) is refused by the cheap range check, before any
    template is built: on a cold numba cache the answer is the error line alone."""
    env = dict(os.environ, NUMBA_CACHE_DIR=str(tmp_path / "cache"))
    proc = subprocess.run([sys.executable, "-m", "cevns_scan", "coverage", "--at", "e=2"],
                          cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    assert proc.stderr.strip().splitlines() == [
        "cevns-scan: error: --at 'e=2': mu_e = 2 is out of range; use a magnetic moment in "
        "[0, 1e-4] mu_B (e.g. 2e-8, not 2)"]
    assert proc.returncode == 2
