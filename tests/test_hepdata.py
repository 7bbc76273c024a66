"""HEPData export (scanner/hepdata.py): a results folder becomes a submission that
hepdata-validator accepts, holding the numbers of limits.json, contours.json and the maps."""

from __future__ import annotations

import gc
import json
import tarfile
import warnings
from pathlib import Path

import numpy as np
import pytest
import yaml
from helpers import assert_one_line_error

with warnings.catch_warnings():  # the validator imports a deprecated jsonschema API
    warnings.simplefilter("ignore", DeprecationWarning)
    hepdata_lib = pytest.importorskip(
        "hepdata_lib", reason="hepdata_lib is not installed (pip install 'cevns-scan[hepdata]')")
    from hepdata_validator.full_submission_validator import FullSubmissionValidator


def _validate(**where) -> bool:
    validator = FullSubmissionValidator(autoload_remote_schemas=False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        warnings.simplefilter("ignore", ResourceWarning)  # the validator leaves files open
        ok = validator.validate(**where)
        gc.collect()
    assert ok, validator.get_messages()
    return ok


def _table(folder: Path, name: str) -> dict:
    return yaml.safe_load((folder / name).read_text())


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    from cevns_scan.cli import main

    root = tmp_path_factory.mktemp("hepdata")
    res, out = root / "res", root / "sub"
    assert main(["reproduce", "--out", str(res), "--grid", "21", "--quiet", "--no-figures",
                 "--expected"]) == 0
    assert main(["export-hepdata", str(res), "--out", str(out)]) == 0
    return res, out


@pytest.mark.slow
def test_submission_validates_and_holds_the_numbers(exported, tmp_path):
    res, out = exported
    archive = tmp_path / "submission.tar.gz"  # what one uploads: the YAML files alone
    with tarfile.open(archive, "w:gz") as tar:
        for path in sorted(out.glob("*.yaml")):
            tar.add(path, arcname=path.name)
    assert _validate(archive=str(archive))
    clean = tmp_path / "yaml"  # the folder also holds cevns-scan's run.json
    clean.mkdir()
    for path in out.glob("*.yaml"):
        (clean / path.name).write_bytes(path.read_bytes())
    assert _validate(directory=str(clean))
    from cevns_scan.provenance import carries_mark

    assert all(carries_mark(p) for p in out.iterdir())  # --force may replace them later
    limits = json.loads((res / "limits.json").read_text())
    one = _table(out, "1-dof_limits.yaml")
    names = ["mu_e", "mu_mu", "mu_tau"]
    observed = [v["value"] for v in one["dependent_variables"][0]["values"]]
    assert observed == pytest.approx([limits["one_dof"][n] for n in names], rel=1e-6)
    expected = one["dependent_variables"][1]["values"]
    for n, row in zip(names, expected, strict=True):
        exp = limits["one_dof_expected"][n]
        assert row["value"] == pytest.approx(exp["median"], rel=1e-6)
        band = {e["label"]: e["asymerror"] for e in row["errors"]}
        assert exp["median"] + band["1 sigma"]["minus"] == pytest.approx(exp["band_68"][0],
                                                                         rel=1e-5)
        assert exp["median"] + band["2 sigma"]["plus"] == pytest.approx(exp["band_95"][1],
                                                                        rel=1e-5)
    with np.load(res / "chi2_e_mu.npz") as z:
        chi2, chi2_min, mu_x = z["chi2"], float(z["chi2_min"]), z["mu_x"]
    grid = _table(out, "delta_chi2_e_mu.yaml")
    values = np.array([v["value"] for v in grid["dependent_variables"][0]["values"]])
    assert values.size == chi2.size
    assert np.allclose(values, (chi2 - chi2_min).ravel(), rtol=1e-5, atol=1e-9)
    xs = np.array([v["value"] for v in grid["independent_variables"][0]["values"]])
    assert np.allclose(np.unique(xs), mu_x, rtol=1e-6)
    contours = json.loads((res / "contours.json").read_text())
    line = np.asarray(contours["planes"]["e_mu"]["lines"][0])
    tab = _table(out, "contour_e_mu.yaml")
    assert np.allclose([v["value"] for v in tab["dependent_variables"][0]["values"]],
                       line[:, 1], rtol=1e-6)
    assert (out / "expected_contour_e_mu.yaml").is_file()
    sub = (out / "submission.yaml").read_text()
    assert "cdex10-asimov" in sub and "expected sensitivity" in sub
    assert "BSM-2023" in sub
    run = json.loads((out / "run.json").read_text())
    assert sorted(run["hepdata_files"]) == sorted(p.name for p in out.glob("*.yaml"))


@pytest.mark.slow
def test_output_policy_and_bad_input(exported, cli, tmp_path):
    res, out = exported
    assert_one_line_error(cli("export-hepdata", str(res), "--out", str(out)), "--force")
    assert cli("export-hepdata", str(res), "--out", str(out), "--force")[0] == 0
    (tmp_path / "plain").mkdir()
    assert_one_line_error(cli("export-hepdata", str(tmp_path / "plain"), "--out", "x"),
                          "not a cevns-scan results folder")
    assert not Path("x").exists()


@pytest.mark.slow
def test_missing_hepdata_lib_is_one_line(exported, cli, monkeypatch):
    import sys

    res, _ = exported
    monkeypatch.setitem(sys.modules, "hepdata_lib", None)
    assert_one_line_error(cli("export-hepdata", str(res), "--out", "y"),
                          "pip install 'cevns-scan[hepdata]'")
    assert not Path("y").exists()
