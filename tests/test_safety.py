"""In a user's hands: no hang on a wrong scheduler, signals honoured, damaged chunks, big grids.

The issue "no file lost even with --force, no unit slip accepted, no hang" (the output-file
part is in test_output_policy.py): a dask scheduler that does not answer, Ctrl-C and SIGTERM
at any stage, a truncated chunk file, a grid that cannot fit, and memory in proportion to the
shard.
"""

import os
import signal
import socket
import subprocess
import sys
import threading
import time
import tracemalloc
from pathlib import Path

import numpy as np
import pytest

from cevns_scan import scan as scan_module
from cevns_scan.errors import InputError, ParameterError

CLI = [sys.executable, "-m", "cevns_scan"]


def _one_line(code, err, *needles):
    text = err.strip()
    assert code == 2, err
    assert len(text.splitlines()) == 1 and text.startswith("cevns-scan: error:"), err
    assert "Traceback" not in err
    for n in needles:
        assert n in text, text
    return text


# -- a dask scheduler that does not answer ---------------------------------------------------------

@pytest.fixture
def silent_server():
    """A TCP server that accepts connections and never says anything (as an HTTP port does)."""
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(8)
    held, stop = [], threading.Event()

    def accept():
        srv.settimeout(0.1)
        while not stop.is_set():
            try:
                held.append(srv.accept()[0])
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield f"tcp://127.0.0.1:{srv.getsockname()[1]}"
    stop.set()
    thread.join()
    for c in held:
        c.close()
    srv.close()


@pytest.fixture
def closed_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()  # nothing listens there now
    return f"tcp://127.0.0.1:{port}"


def test_a_silent_server_is_no_scheduler_within_the_timeout(silent_server):
    pytest.importorskip("distributed")
    t0 = time.perf_counter()
    with pytest.raises(ParameterError, match=r"does not answer as a dask scheduler within 0\.5 s"
                       ) as exc:
        scan_module.probe_scheduler(silent_server, timeout=0.5)
    assert time.perf_counter() - t0 < 3
    assert exc.value.name == "scheduler" and "--" not in str(exc.value)


def test_a_closed_port_is_refused_at_once(closed_port):
    t0 = time.perf_counter()
    with pytest.raises(ParameterError, match="cannot be reached"):
        scan_module.probe_scheduler(closed_port, timeout=20)
    assert time.perf_counter() - t0 < 2


@pytest.mark.parametrize("address", ["tcp://host:notaport", "tcp://host:8786/status",
                                     "http://host:8787", "host", "tcp://:8786", "", "tcp://h:0",
                                     "tcp://h:65536", "tcp://h h:1"])
def test_malformed_scheduler_addresses(address):
    with pytest.raises(ParameterError, match="is not a dask scheduler address"):
        scan_module.check_backend("dask", address)


@pytest.mark.parametrize("address", ["tcp://node1:8786", "node1:8786", "tls://10.0.0.1:8786",
                                     "tcp://[::1]:8786"])
def test_well_formed_scheduler_addresses(address):
    scan_module.check_backend("dask", address)


@pytest.mark.parametrize("which", ["silent", "closed"])
def test_scan_with_a_scheduler_that_does_not_answer_leaves_nothing(in_tmp, cli, silent_server,
                                                                   closed_port, which):
    pytest.importorskip("distributed")
    address = silent_server if which == "silent" else closed_port
    t0 = time.perf_counter()
    for command in (["scan", "--plane", "e-mu", "--out", "ck"],
                    ["reproduce", "--out", "res"]):
        code, _, err = cli(*command, "--grid", "11", "--quiet", "--backend", "dask",
                           "--scheduler", address, "--connect-timeout", "1")
        _one_line(code, err, f"--scheduler '{address}'")
    assert time.perf_counter() - t0 < 10
    assert list(in_tmp.iterdir()) == []  # no manifest, no folder


# -- damaged chunk files ---------------------------------------------------------------------------

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


def _scan(cli, *extra):
    code, _, err = cli("scan", "--plane", "e-mu", "--grid", "41", "--out", "sc", "--quiet",
                       *extra)
    assert code == 0, err


@pytest.mark.parametrize("cut", [0, 30, 200, -100, -1])
def test_a_truncated_chunk_stops_merge_and_resume_with_one_line(in_tmp, cli, cut):
    (in_tmp / "c.toml").write_text("[scan]\nchunk_points = 160\n")
    _scan(cli, "--config", "c.toml", "--shard", "1/2")
    chunk = in_tmp / "sc" / "e_mu" / "chunk_000001.npz"
    chunk.write_bytes(chunk.read_bytes()[:cut])
    code, _, err = cli("merge", "sc", "--out", "merged", "--no-figures")
    _one_line(code, err, "chunk_000001.npz", "delete it")
    assert not (in_tmp / "merged").exists()
    code, _, err = cli("scan", "--config", "c.toml", "--plane", "e-mu", "--grid", "41", "--out",
                       "sc", "--quiet", "--shard", "1/2", "--resume")
    _one_line(code, err, "chunk_000001.npz")


def test_merge_of_a_plane_folder_names_the_scan_folder(in_tmp, cli):
    _scan(cli, "--grid", "11")
    code, _, err = cli("merge", "sc/e_mu", "--out", "m")
    _one_line(code, err, "is the folder of plane e_mu", "merge the scan folder sc")
    assert not (in_tmp / "m").exists()


# -- grids that cannot fit -------------------------------------------------------------------------

def test_a_scan_beyond_the_disk_is_refused_before_any_work(in_tmp, cli, monkeypatch):
    monkeypatch.setattr(scan_module, "available_disk", lambda path: 50 * 2 ** 30)
    code, _, err = cli("scan", "--plane", "e-mu", "--grid", "100000", "--out", "ck", "--quiet")
    _one_line(code, err, "--grid 100000 needs about 74.6 GiB of chunk files", "50.0 GiB free",
              "more shards", "smaller grid")
    assert list(in_tmp.iterdir()) == []


def test_a_map_beyond_the_memory_is_refused(in_tmp, cli, monkeypatch):
    monkeypatch.setattr(scan_module, "available_memory", lambda: 2 ** 30)
    code, _, err = cli("reproduce", "--grid", "20001", "--quiet", "--out", "r")
    _one_line(code, err, "--grid 20001 needs about", "1.0 GiB available", "shards")
    from cevns_scan.analysis import Analysis

    with pytest.raises(ParameterError, match=r"grid = 20001 needs about 3\.0 GiB") as exc:
        Analysis.from_config().scan("e-mu", grid=20001)
    assert "--" not in str(exc.value)
    assert list(in_tmp.iterdir()) == []


def test_merge_checks_the_memory_first(in_tmp, cli, monkeypatch):
    _scan(cli, "--grid", "11")
    monkeypatch.setattr(scan_module, "available_memory", lambda: 1000)
    code, _, err = cli("merge", "sc", "--out", "m", "--no-figures")
    _one_line(code, err, "--grid 11 needs about", "merging 1 plane(s) of sc")
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


# -- signals at any stage --------------------------------------------------------------------------

def _start(tmp_path, *argv, group=True):
    return subprocess.Popen([*CLI, *argv], cwd=tmp_path, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, start_new_session=group)


def _wait_for(path: Path, proc, timeout=120):
    t0 = time.time()
    while not path.exists():
        if proc.poll() is not None or time.time() - t0 > timeout:
            os.killpg(proc.pid, signal.SIGKILL)
            raise AssertionError(proc.communicate())
        time.sleep(0.05)


def _stop_time(proc, send, timeout=60):
    t0 = time.time()
    send()
    _, err = proc.communicate(timeout=timeout)
    return time.time() - t0, err


@pytest.mark.slow
@pytest.mark.parametrize("backend", ["threading", "loky"])
def test_ctrl_c_ends_a_long_neyman_chunk_within_seconds(tmp_path, backend):
    """A XENONnT Neyman chunk takes minutes; Ctrl-C ends it at the next grid point."""
    proc = _start(tmp_path, "neyman", "--data", "xenonnt-8b", "--plane", "e-mu", "--grid", "21",
                  "--toys", "300", "--jobs", "2", "--backend", backend, "--out", "ny", "--quiet")
    _wait_for(tmp_path / "ny" / "e_mu" / "manifest.json", proc)
    time.sleep(3)  # inside the first chunks (each ~250 points of ~0.2 s)
    took, err = _stop_time(proc, lambda: os.killpg(proc.pid, signal.SIGINT))
    assert proc.returncode == 128 + signal.SIGINT, err
    assert took < 4, (took, err)
    lines = err.strip().splitlines()
    assert len(lines) == 2 and "Traceback" not in err, err
    assert "SIGINT received: stopping after the current chunk" in lines[0]
    assert "no chunk had finished, nothing was kept; resume with: cevns-scan neyman" in lines[1]
    assert lines[1].endswith("--resume")
    assert not (tmp_path / "ny").exists()  # the manifest it had made is gone again


@pytest.mark.slow
def test_a_second_ctrl_c_stops_at_once_and_sigterm_within_the_grace(tmp_path):
    """Compiled chunks of ~15 s: the first signal waits for them (at most STOP_GRACE s)."""
    (tmp_path / "big.toml").write_text("[scan]\nchunk_points = 400000\n")
    argv = ["scan", "--config", "big.toml", "--data", "xenonnt-8b", "--plane", "e-mu", "--grid",
            "601", "--jobs", "2", "--quiet"]
    proc = _start(tmp_path, *argv, "--out", "a")
    _wait_for(tmp_path / "a" / "e_mu" / "manifest.json", proc)
    time.sleep(2)

    def twice():
        os.killpg(proc.pid, signal.SIGINT)
        time.sleep(0.3)
        os.killpg(proc.pid, signal.SIGINT)

    took, err = _stop_time(proc, twice)
    assert proc.returncode == 128 + signal.SIGINT and took < 2.5, (took, err)
    lines = err.strip().splitlines()
    assert len(lines) == 2 and "Traceback" not in err and "resume with:" in lines[1], err

    proc = _start(tmp_path, *argv, "--out", "b", group=False)
    _wait_for(tmp_path / "b" / "e_mu" / "manifest.json", proc)
    time.sleep(2)
    took, err = _stop_time(proc, lambda: proc.send_signal(signal.SIGTERM))  # the parent only
    assert proc.returncode == 128 + signal.SIGTERM, err
    assert scan_module.STOP_GRACE - 0.5 < took < scan_module.STOP_GRACE + 3, (took, err)
    assert "SIGTERM received" in err and "resume with:" in err and "Traceback" not in err


@pytest.mark.slow
def test_ctrl_c_during_coverage_and_before_the_scan(tmp_path):
    proc = _start(tmp_path, "coverage", "--data", "xenonnt-8b", "--toys", "200", "--inner-toys",
                  "500", "--at", "e=0,mu=0", "--jobs", "2", "--json", "c.json")
    time.sleep(9)  # the analysis is built, the toys run
    took, err = _stop_time(proc, lambda: os.killpg(proc.pid, signal.SIGINT))
    assert proc.returncode == 128 + signal.SIGINT and took < 4, (took, err)
    assert "coverage interrupted by SIGINT" in err.strip().splitlines()[-1]
    assert "Traceback" not in err and not (tmp_path / "c.json").exists()
    # SIGTERM while the analysis is still being built (before any scan): nothing left behind
    proc = _start(tmp_path, "scan", "--data", "xenonnt-8b", "--plane", "e-mu", "--grid", "101",
                  "--out", "early", "--quiet")
    time.sleep(1.5)
    took, err = _stop_time(proc, lambda: proc.send_signal(signal.SIGTERM))
    assert proc.returncode == 128 + signal.SIGTERM and took < 3, (took, err)
    assert "Traceback" not in err and not (tmp_path / "early").exists()


@pytest.mark.slow
@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_signals_stop_the_wait_for_a_scheduler(tmp_path, silent_server, sig):
    """The wait for an answer (30 s by default) ends at once on SIGTERM or SIGINT."""
    pytest.importorskip("distributed")
    proc = _start(tmp_path, "scan", "--plane", "e-mu", "--grid", "11", "--out", "sc", "--quiet",
                  "--backend", "dask", "--scheduler", silent_server, group=False)
    time.sleep(4)  # started, waiting for the server's answer
    took, err = _stop_time(proc, lambda: proc.send_signal(sig))
    assert proc.returncode == 128 + sig and took < 3, (took, err)
    assert f"interrupted by {sig.name}" in err and "Traceback" not in err
    assert list(tmp_path.iterdir()) == []
