"""The numbers `reproduce` writes are those of cevns-scan 0.1.0 (before the library restructure).

``tests/reference/reproduce_v0.1.0.json`` holds SHA-256 digests of the chi^2 maps, axes,
contour polylines and CSV numbers, and the exact limits, written by cevns-scan 0.1.0
(commit e7f5a86) with the default configuration. Every later version must write the same
numbers for the same inputs (bit for bit).
"""

import hashlib
import json
from pathlib import Path

import numpy as np
import pytest

REFERENCE = json.loads((Path(__file__).parent / "reference" / "reproduce_v0.1.0.json").read_text())


def _h(a) -> str:
    return hashlib.sha256(np.ascontiguousarray(a, dtype="<f8").tobytes()).hexdigest()


def _csv_digest(path: Path) -> dict:
    rows = [line for line in path.read_text().splitlines() if not line.startswith("#")]
    return {"header": rows[0],
            "sha256_numbers": hashlib.sha256("\n".join(rows[1:]).encode()).hexdigest()}


def _digests(folder: Path) -> dict:
    out = {}
    for plane in ("e_mu", "e_tau"):
        with np.load(folder / f"chi2_{plane}.npz") as z:
            out[f"chi2_{plane}"] = {
                "sha256_chi2": _h(z["chi2"]), "sha256_mu_x": _h(z["mu_x"]),
                "sha256_mu_y": _h(z["mu_y"]), "chi2_min": float(z["chi2_min"]),
                "shape": list(z["chi2"].shape), "mu_x_max": float(z["mu_x"][-1]),
                "mu_y_max": float(z["mu_y"][-1])}
    cont = json.loads((folder / "contours.json").read_text())
    out["contours"] = {p: {"sha256_lines": hashlib.sha256(json.dumps(v["lines"]).encode())
                           .hexdigest(), "level": v["level"], "best_fit": v["best_fit"],
                           "chi2_min": v["chi2_min"]} for p, v in cont["planes"].items()}
    lim = json.loads((folder / "limits.json").read_text())
    out["limits"] = {"two_dof": lim["two_dof"], "one_dof": lim["one_dof"]}
    for name in ("templates.csv", "rates_Ge.csv", "rates_Xe.csv"):
        out[name] = _csv_digest(folder / name)
    return out


@pytest.mark.parametrize("grid", [pytest.param(41, id="grid41"),
                                  pytest.param(201, id="grid201", marks=pytest.mark.slow)])
def test_reproduce_writes_the_numbers_of_version_0_1_0(in_tmp, cli, grid):
    argv = ["reproduce", "--out", "out", "--quiet", "--no-figures"] + (
        [] if grid == 201 else ["--grid", "41"])
    code, _, err = cli(*argv)
    assert code == 0, err
    got = _digests(in_tmp / "out")
    ref = REFERENCE[f"grid{grid}"]
    for key in ref:
        assert got[key] == ref[key], key


def _run_case(in_tmp, cli, name):
    from reference_digests import CASES, digest_folder

    args, config = CASES[name]
    argv = ["reproduce", "--out", "out", "--quiet", "--no-figures", "--jobs", "1", *args]
    if config is not None:
        (in_tmp / "config.toml").write_text(config)
        argv += ["--config", "config.toml"]
    code, _, err = cli(*argv)
    assert code == 0, err
    return digest_folder(in_tmp / "out")


REFERENCE_V020 = json.loads((Path(__file__).parent / "reference"
                             / "reproduce_v0.2.0.json").read_text())


@pytest.mark.parametrize("name", sorted(REFERENCE_V020))
def test_reproduce_writes_the_numbers_of_version_0_2_0(in_tmp, cli, name):
    """Every number of every pinned run (CDEX-like and XENONnT, Wilks and Neyman, paper and
    modern presets, the joint fit) is bit-identical to cevns-scan 0.2.0."""
    got = _run_case(in_tmp, cli, name)
    for file, entries in REFERENCE_V020[name].items():
        assert file in got, f"{name}: {file} is not written any more"
        if isinstance(entries, dict):
            for key, digest in entries.items():
                assert got[file].get(key) == digest, f"{name}: {file} {key}"
        else:
            assert got[file] == entries, f"{name}: {file}"
