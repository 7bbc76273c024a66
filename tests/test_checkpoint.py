"""scanner/checkpoint.py: batch scans in shards, checkpoints, kill-and-resume, merge and its
checks, damaged chunk files, shards that do not fit, the dask backend."""

import os
import shlex
import shutil
import signal
import subprocess
import sys
import time
import tracemalloc
from pathlib import Path

import numpy as np
import pytest
from helpers import assert_one_line_error, run_cli

from cevns_scan import scan as scan_module
from cevns_scan.cli import main
from cevns_scan.errors import InputError

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


def _run(capsys, argv):
    """``cevns-scan ARGV`` in this process, in the ``work`` folder: (code, stdout, stderr)."""
    capsys.readouterr()
    code = main(argv)
    return (code, *capsys.readouterr())


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
    assert_one_line_error(_run(capsys, scan_args(d, "--shard", "1/2")), "add --resume")
    assert main(scan_args(d, "--shard", "1/2", "--resume")) == 0


def test_merge_refuses_missing_shard(work, capsys):
    d = work / "missing"
    for k in (1, 3):
        assert main(scan_args(d, "--shard", f"{k}/3")) == 0
    assert_one_line_error(_run(capsys, ["merge", str(d), "--out", "never"]), "shard(s) 2/3",
                          "again with --resume")
    assert not (work / "never").exists()


def test_merge_refuses_shard_with_other_config(work, capsys):
    a, b = work / "cfgA", work / "cfgB"
    assert main(scan_args(a, "--shard", "1/2")) == 0
    assert main(scan_args(b, "--shard", "2/2", config="other.toml")) == 0
    # writing into the first folder with another config is refused at scan time...
    assert_one_line_error(_run(capsys, scan_args(a, "--shard", "2/2", config="other.toml")),
                          "holds a scan made with other inputs")
    # ...and a shard copied in from elsewhere is refused at merge time
    for f in (b / "e_mu").glob("chunk_*.npz"):
        shutil.copy(f, a / "e_mu" / f.name)
    assert_one_line_error(_run(capsys, ["merge", str(a), "--out", "never2"]),
                          "another config or dataset")
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


# -- shards that do not fit -----------------------------------------------------------------------

def test_mismatched_shard_says_what_differs(in_tmp, cli):
    assert cli("scan", "--plane", "e-mu", "--grid", "41", "--out", "ck", "--quiet")[0] == 0
    chunks = sorted((in_tmp / "ck" / "e_mu").glob("chunk_*"))
    line = assert_one_line_error(cli("scan", "--plane", "e-mu", "--grid", "21", "--out", "ck",
                                     "--quiet", "--shard", "1/2", "--resume"),
                                 "grid 41 there, 21 here")
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


# -- damaged chunk files, plane folders, grids that do not fit the disk or the memory -------------

def _scan(cli, *extra):
    code, _, err = cli("scan", "--plane", "e-mu", "--grid", "41", "--out", "sc", "--quiet",
                       *extra)
    assert code == 0, err


def test_every_damaged_npz_is_one_input_error(tmp_path):
    from cevns_scan.checkpoint import read_chunk, write_chunk

    write_chunk(tmp_path, "h" * 64, 0, 0, 3, np.arange(60.0).reshape(3, 20), "1/1")
    good = (tmp_path / "chunk_000000.npz").read_bytes()
    bad = tmp_path / "chunk_000001.npz"
    rng = np.random.default_rng(1)
    variants = [good[:n] for n in range(0, len(good), 7)]
    for _ in range(150):  # flipped bytes anywhere: headers, data, zip directory
        data = bytearray(good)
        data[int(rng.integers(len(data)))] ^= 1 << int(rng.integers(8))
        variants.append(bytes(data))
    variants += [b"not a zip", np.lib.format.__name__.encode(), good + b"tail"]
    caught = 0
    for data in variants:
        bad.write_bytes(data)
        try:
            z = read_chunk(bad)
        except InputError as exc:
            assert str(bad) in str(exc) and "resume its shard" in str(exc)
            caught += 1
        else:  # a flip that leaves the arrays whole (e.g. in a time stamp) is harmless
            assert set(z) >= {"chi2", "i0", "i1", "index", "hash"}
    assert caught > len(variants) // 2


@pytest.mark.parametrize("cut", [0, 30, 200, -100, -1])
def test_a_truncated_chunk_stops_merge_and_resume_with_one_line(in_tmp, cli, cut):
    (in_tmp / "c.toml").write_text("[scan]\nchunk_points = 160\n")
    _scan(cli, "--config", "c.toml", "--shard", "1/2")
    chunk = in_tmp / "sc" / "e_mu" / "chunk_000001.npz"
    chunk.write_bytes(chunk.read_bytes()[:cut])
    assert_one_line_error(cli("merge", "sc", "--out", "merged", "--no-figures"),
                          "chunk_000001.npz", "delete it")
    assert not (in_tmp / "merged").exists()
    assert_one_line_error(cli("scan", "--config", "c.toml", "--plane", "e-mu", "--grid", "41",
                              "--out", "sc", "--quiet", "--shard", "1/2", "--resume"),
                          "chunk_000001.npz")


def test_merge_of_a_plane_folder_names_the_scan_folder(in_tmp, cli):
    _scan(cli, "--grid", "11")
    assert_one_line_error(cli("merge", "sc/e_mu", "--out", "m"),
                          "is the folder of plane e_mu", "merge the scan folder sc")
    assert not (in_tmp / "m").exists()


def test_a_scan_beyond_the_disk_is_refused_before_any_work(in_tmp, cli, monkeypatch):
    monkeypatch.setattr(scan_module, "available_disk", lambda path: 50 * 2 ** 30)
    assert_one_line_error(cli("scan", "--plane", "e-mu", "--grid", "100000", "--out", "ck",
                              "--quiet"),
                          "--grid 100000 needs about 74.6 GiB of chunk files", "50.0 GiB free",
                          "more shards", "smaller grid")
    assert list(in_tmp.iterdir()) == []


def test_merge_checks_the_memory_first(in_tmp, cli, monkeypatch):
    _scan(cli, "--grid", "11")
    monkeypatch.setattr(scan_module, "available_memory", lambda: 1000)
    assert_one_line_error(cli("merge", "sc", "--out", "m", "--no-figures"),
                          "--grid 11 needs about", "merging 1 plane(s) of sc")
    assert not (in_tmp / "m").exists()


def test_a_shard_holds_only_its_own_chunks(in_tmp, default_analysis):
    """Memory in proportion to the chunks in flight: a 1/16 shard of 2001^2 (32 MB map)."""
    from cevns_scan.checkpoint import run_shard

    run_shard(default_analysis, "e-mu", "warm", grid=21)  # compile, axes, caches
    tracemalloc.start()
    try:
        rep = run_shard(default_analysis, "e-mu", "sc", grid=2001, shard=(1, 16))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert rep.computed == 3  # 2001 columns: 32 rows (64k points) per chunk, 63 chunks
    assert peak < 6e6, peak  # the whole map alone would be 32e6 bytes
    rows = 0
    for p in (in_tmp / "sc" / "e_mu").glob("chunk_*"):
        with np.load(p) as z:
            rows += z["chi2"].shape[0]
    assert rows == 3 * 32
