"""Every documented command works from the repository root, where the source folders
(`scanner/`, `kernels/`, `data/`) sit on sys.path but must not shadow the installed package."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent

pytestmark = pytest.mark.slow


def _run(*cmd, timeout=300):
    proc = subprocess.run([str(c) for c in cmd], cwd=ROOT, capture_output=True, text=True,
                          timeout=timeout)
    assert proc.returncode == 0, f"{' '.join(map(str, cmd))}:\n{proc.stdout}\n{proc.stderr}"
    return proc.stdout


def test_python_m_cevns_scan_from_the_root(tmp_path):
    assert _run(sys.executable, "-m", "cevns_scan", "--version").startswith("cevns-scan ")
    out = _run(sys.executable, "-m", "cevns_scan", "rates", "--points", "2")
    assert out.splitlines()[1] == "T_nr_keV,SM,total_mu_1e-09,total_mu_8e-10,total_mu_4e-10"
    _run(sys.executable, "-m", "cevns_scan", "reproduce", "--grid", "11", "--quiet",
         "--out", tmp_path / "res")
    assert (tmp_path / "res" / "limits.json").is_file()


def test_pytest_collects_from_the_root():
    out = _run(sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider",
               "tests/test_constants.py")
    assert "test_constants.py::" in out


def test_bench_quick_from_the_root(tmp_path):
    out = _run(BIN / "cevns-scan", "bench", "--quick", "--json", tmp_path / "b.json",
               timeout=600)
    assert (tmp_path / "b.json").stat().st_size > 100 and (tmp_path / "b.png").is_file()
    # every section of the table: the generic ones, then each kind's own (its bench hook)
    r = json.loads((tmp_path / "b.json").read_text())
    for heading in ("numba first call", "scan throughput", "time against grid size",
                    "experiment kind spectrum:", "template set", "scipy.optimize per point",
                    "scipy.integrate.quad rates per point", "experiment kind xenonnt:",
                    "nuisances profiled", "Neyman toys"):
        assert heading in out, heading
    assert set(r["neyman_toys"]) >= {"cdex10-asimov", "xenonnt-8b"}
    for name in ("spectrum", "xenonnt"):
        rows = r["experiments"][name]["rows"]
        assert rows and all(row["quantity"] for row in rows)
    assert all(v["ratio"] > 1 for v in r["experiments"]["spectrum"]["rows"] if "ratio" in v)

