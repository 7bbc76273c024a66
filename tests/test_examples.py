"""The batch examples run as written, against a stand-in for SLURM's sbatch."""

import os
import stat
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"

FAKE_SBATCH = """#!/usr/bin/env bash
# A stand-in for sbatch: runs --wrap at once, once per array index, and prints a job id.
array=""; wrap=""
while [ $# -gt 0 ]; do
  case "$1" in
    --array=*) array="${1#--array=}";;
    --wrap) wrap="$2"; shift;;
    --wrap=*) wrap="${1#--wrap=}";;
  esac
  shift
done
if [ -n "$array" ]; then
  for i in $(seq ${array%-*} ${array#*-}); do
    SLURM_ARRAY_TASK_ID=$i SLURM_CPUS_PER_TASK=1 bash -c "$wrap" || exit 1
  done
else
  bash -c "$wrap" || exit 1
fi
echo 4242
"""


def _run_slurm_example(tmp_path, **variables):
    """examples/slurm_array.sh run in ``tmp_path`` with the stand-in ``sbatch`` above and
    an 'environment' whose activate puts this Python's bin first; ``variables`` are the
    script's settings (SHARDS, GRID, ...). Skips outside a repository checkout."""
    script = EXAMPLES / "slurm_array.sh"
    if not script.is_file():
        pytest.skip("examples/ is not beside the tests (not a repository checkout)")
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    sbatch = bin_dir / "sbatch"
    sbatch.write_text(FAKE_SBATCH)
    sbatch.chmod(sbatch.stat().st_mode | stat.S_IEXEC)
    venv = tmp_path / "env"
    (venv / "bin").mkdir(parents=True)
    (venv / "bin" / "activate").write_text(f'export PATH="{Path(sys.executable).parent}:$PATH"\n')
    env = dict(os.environ, PATH=f"{bin_dir}:{os.environ['PATH']}", VENV=str(venv), **variables)
    return subprocess.run(["bash", str(script)], cwd=tmp_path, env=env, capture_output=True,
                          text=True, timeout=900)


@pytest.mark.slow
@pytest.mark.parametrize("command", ["scan", "neyman"])
def test_slurm_array_example_runs_and_merges(tmp_path, command):
    proc = _run_slurm_example(tmp_path, SHARDS="3", GRID="11", SCAN="scans/run",
                              OUT="results/run", COMMAND=command, TOYS="20")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    out = tmp_path / "results" / "run"
    for plane in ("e_mu", "e_tau"):
        with np.load(out / f"chi2_{plane}.npz") as z:
            assert z["chi2"].shape == (11, 11)
    assert (out / "tcrit_e_mu.npz").is_file() == (command == "neyman")


COHERENT = Path(__file__).resolve().parents[2] / "shared" / "coherent"


@pytest.mark.slow
@pytest.mark.skipif(not (COHERENT / "lar2020").is_dir(), reason="the COHERENT releases are not "
                    "staged at ../shared/coherent (a fresh clone has no ../shared)")
def test_slurm_array_runs_the_global_fit_neyman(tmp_path):
    """The cluster recipe of the global fit: several --data, one plane, Neyman shards."""
    proc = _run_slurm_example(tmp_path, SHARDS="2", GRID="3", SCAN="scans/g", OUT="results/g",
                              COMMAND="neyman", TOYS="10", PLANES="e-mu",
                              DATA=f"xenonnt-8b {COHERENT / 'lar2020'} {COHERENT / 'csi2021'}")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    out = tmp_path / "results" / "g"
    with np.load(out / "tcrit_e_mu.npz") as z:
        assert z["tcrit"].shape == (3, 3) and np.all(np.isfinite(z["tcrit"]))
    assert not (out / "chi2_e_tau.npz").exists()
    run = (out / "run.json").read_text()
    assert "coherent_ar" in run and "coherent_csi" in run and "xenonnt-8b" in run


def test_slurm_example_merges_after_any_and_activates_its_environment():
    text = (Path(__file__).resolve().parents[1] / "examples" / "slurm_array.sh")
    if not text.is_file():
        pytest.skip("examples/ is not beside the tests (not a repository checkout)")
    script = text.read_text()
    assert "afterany" in script and "afterok" not in script
    assert script.count("$activate") >= 2 and "bin/activate" in script
