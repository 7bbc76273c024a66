"""End-to-end: the CLI commands and the results contract (docs/design.md §5)."""

import contextlib
import csv
import io
import json
import os

import numpy as np
import pytest
from helpers import load_map
from scipy import stats

from cevns_scan.cli import main

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
