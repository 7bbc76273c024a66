"""Batch scans: shards, checkpoints, kill-and-resume, merge checks, the dask backend."""

import os
import shlex
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from helpers import run_cli

from cevns_scan.cli import main

SLOW_CLI = str(Path(__file__).with_name("slow_cli.py"))

CONFIG = "[scan]\nchunk_points = 160\n"  # 41 x 41 grid -> rows of 3 -> 14 chunks
GRID = "41"


def scan_args(out, *extra, config="cfg.toml"):
    return ["scan", "--config", config, "--grid", GRID, "--plane", "e-mu", "--out", str(out),
            "--quiet", *extra]


@pytest.fixture(scope="module")
def work(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("batch")
    (tmp / "cfg.toml").write_text(CONFIG)
    (tmp / "other.toml").write_text(CONFIG + "[asimov]\nbackground = 2.5\n")
    old = os.getcwd()
    os.chdir(tmp)
    try:
        # reference: the single-process map as `reproduce` makes it
        assert main(["reproduce", "--config", "cfg.toml", "--grid", GRID, "--out", "ref",
                     "--quiet", "--no-figures"]) == 0
        yield tmp
    finally:
        os.chdir(old)


def ref_map(work):
    with np.load(work / "ref" / "chi2_e_mu.npz") as z:
        return z["chi2"]


def merged_map(work, scan_dir, name):
    assert main(["merge", str(scan_dir), "--out", name, "--no-figures"]) == 0
    with np.load(work / name / "chi2_e_mu.npz") as z:
        return z["chi2"]


@pytest.mark.parametrize("n_shards", [1, 2, pytest.param(3, marks=pytest.mark.slow),
                                      pytest.param(5, marks=pytest.mark.slow)])
def test_shards_merge_to_single_process_map(work, n_shards):
    d = work / f"shards{n_shards}"
    for k in range(n_shards, 0, -1):  # any order
        assert main(scan_args(d, "--shard", f"{k}/{n_shards}")) == 0
    assert len(list((d / "e_mu").glob("chunk_*.npz"))) == 14
    assert np.array_equal(merged_map(work, d, f"merged{n_shards}"), ref_map(work))


def test_rerun_without_resume_is_refused(work, capsys):
    d = work / "rerun"
    assert main(scan_args(d, "--shard", "1/2")) == 0
    capsys.readouterr()
    assert main(scan_args(d, "--shard", "1/2")) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "--resume" in err
    assert main(scan_args(d, "--shard", "1/2", "--resume")) == 0


def test_merge_refuses_missing_shard(work, capsys):
    d = work / "missing"
    for k in (1, 3):
        assert main(scan_args(d, "--shard", f"{k}/3")) == 0
    capsys.readouterr()
    assert main(["merge", str(d), "--out", "never"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "shard(s) 2/3" in err and "Traceback" not in err
    assert not (work / "never").exists()


def test_merge_refuses_shard_with_other_config(work, capsys):
    a, b = work / "cfgA", work / "cfgB"
    assert main(scan_args(a, "--shard", "1/2")) == 0
    assert main(scan_args(b, "--shard", "2/2", config="other.toml")) == 0
    # writing into the first folder with another config is refused at scan time...
    capsys.readouterr()
    assert main(scan_args(a, "--shard", "2/2", config="other.toml")) == 2
    assert "holds a scan made with other inputs" in capsys.readouterr().err
    # ...and a shard copied in from elsewhere is refused at merge time
    for f in (b / "e_mu").glob("chunk_*.npz"):
        shutil.copy(f, a / "e_mu" / f.name)
    assert main(["merge", str(a), "--out", "never2"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "another config or dataset" in err
    assert not (work / "never2").exists()


def _wait_for_chunks(folder, n, proc, timeout=120):
    t0 = time.time()
    while time.time() - t0 < timeout:
        if len(list(folder.glob("chunk_*.npz"))) >= n:
            return
        if proc.poll() is not None:
            raise AssertionError(f"scan ended early: {proc.communicate()}")
        time.sleep(0.05)
    raise AssertionError("scan made no progress")


def _start_scan(work, d):
    return subprocess.Popen([sys.executable, SLOW_CLI, "0.4", *scan_args(d)], cwd=work,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


@pytest.mark.slow
def test_sigkill_then_resume_is_bit_identical(work):
    d = work / "killed"
    proc = _start_scan(work, d)
    _wait_for_chunks(d / "e_mu", 3, proc)
    proc.send_signal(signal.SIGKILL)
    proc.communicate(timeout=60)
    done = len(list((d / "e_mu").glob("chunk_*.npz")))
    assert 3 <= done < 14
    run_cli(*scan_args(d, "--resume"), cwd=work)
    assert np.array_equal(merged_map(work, d, "merged_killed"), ref_map(work))


@pytest.mark.slow
def test_sigterm_stops_after_chunk_and_resume_completes(work):
    d = work / "terminated"
    proc = _start_scan(work, d)
    _wait_for_chunks(d / "e_mu", 2, proc)
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 128 + signal.SIGTERM
    lines = err.strip().splitlines()
    assert len(lines) == 2 and "Traceback" not in err  # the acknowledgement, then the end
    assert "SIGTERM received: stopping after the current chunk" in lines[0]
    del lines[0]
    assert "interrupted by SIGTERM" in lines[0] and "--resume" in lines[0]
    done = len(list((d / "e_mu").glob("chunk_*.npz")))
    assert 2 <= done < 14
    assert not list((d / "e_mu").glob(".*tmp"))  # stopped between chunks: no torn file
    # the message's resume command works as printed
    assert f"kept in {d / 'e_mu'}" in lines[0]
    resume = shlex.split(lines[0].split("resume with: ", 1)[1])
    assert resume[0] == "cevns-scan"
    run_cli(*resume[1:], cwd=work)
    assert np.array_equal(merged_map(work, d, "merged_terminated"), ref_map(work))


@pytest.mark.slow
def test_dask_backend_on_local_cluster_equals_single_process(work):
    distributed = pytest.importorskip("dask.distributed")
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  host="127.0.0.1", dashboard_address=None) as cluster:
        d = work / "dask"
        assert main(scan_args(d, "--backend", "dask", "--scheduler",
                              cluster.scheduler_address)) == 0
    assert np.array_equal(merged_map(work, d, "merged_dask"), ref_map(work))


@pytest.mark.slow
def test_interrupted_reproduce_leaves_no_output(work):
    proc = subprocess.Popen([sys.executable, SLOW_CLI, "0.4", "reproduce", "--config", "cfg.toml",
                             "--grid", GRID, "--out", "half"], cwd=work,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    first = proc.stderr.readline()  # the first progress line: the scan is running
    assert "chunks" in first, first
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 128 + signal.SIGINT, err
    last = err.strip().splitlines()[-1]
    assert "interrupted by SIGINT" in last and "nothing was written" in last
    assert "Traceback" not in err
    assert not (work / "half").exists()
    assert not [p for p in work.iterdir() if p.name.startswith(".half")]
