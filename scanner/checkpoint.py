"""Checkpoint folders of batch scans: a manifest per plane and one atomic file per chunk.

Layout: ``DIR/<plane>/manifest.json`` (config, dataset, axes, chunking and the input hash) and
``DIR/<plane>/chunk_<index>.npz`` (rows i0:i1 of the chi^2 map, with the same hash). Every
file is written to a temporary name and renamed, so a killed scan leaves only whole files.
Chunks are the same for any shard count, so shards of different N can share a folder.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np

from .errors import InputError
from .outputs import atomic_write_bytes, load_npz, npz_bytes, write_json

CHUNK_RE = re.compile(r"^chunk_(\d{6})\.npz$")


def shard_slice(n_chunks: int, shard: int, n_shards: int) -> range:
    """Chunk indices of shard ``shard`` (1-based) of ``n_shards``: a contiguous, balanced slice."""
    return range((shard - 1) * n_chunks // n_shards, shard * n_chunks // n_shards)


def parse_shard(text: str) -> tuple[int, int]:
    """'K/N' -> (K, N) with 1 <= K <= N."""
    m = re.fullmatch(r"\s*(\d+)\s*/\s*(\d+)\s*", text or "")
    if not m or not (1 <= int(m.group(1)) <= int(m.group(2))):
        raise InputError(f"--shard {text!r}: use K/N with 1 <= K <= N, e.g. --shard 1/4")
    return int(m.group(1)), int(m.group(2))


def chunk_path(plane_dir: Path, index: int) -> Path:
    return plane_dir / f"chunk_{index:06d}.npz"


def read_manifest(plane_dir: Path) -> dict:
    path = plane_dir / "manifest.json"
    try:
        return json.loads(path.read_text())
    except FileNotFoundError:
        raise InputError(f"{path}: missing; this is not a scan folder made by `cevns-scan scan`"
                         ) from None
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise InputError(f"{path}: corrupt manifest; rerun the scan into a new folder") from None


def open_plane_dir(plane_dir: Path, manifest: dict) -> None:
    """Create the plane folder and its manifest, or check that an existing one matches."""
    path = plane_dir / "manifest.json"
    if path.exists():
        old = read_manifest(plane_dir)
        if old.get("hash") != manifest["hash"]:
            raise InputError(
                f"{plane_dir}: holds a scan made with another config, dataset or grid "
                f"(hash {str(old.get('hash'))[:12]}, this run {manifest['hash'][:12]}); "
                "use a new --out folder or the same inputs")
        return
    plane_dir.mkdir(parents=True, exist_ok=True)
    write_json(path, manifest)


def write_chunk(plane_dir: Path, digest: str, index: int, i0: int, i1: int, block: np.ndarray,
                shard: str) -> None:
    """One finished chunk, atomically."""
    atomic_write_bytes(chunk_path(plane_dir, index), npz_bytes(
        chi2=block, i0=np.int64(i0), i1=np.int64(i1), index=np.int64(index),
        hash=np.array(digest), shard=np.array(shard)))


def read_chunk(path: Path) -> dict:
    return load_npz(path, "delete it and rerun its shard with --resume")


def finished_chunks(plane_dir: Path, digest: str) -> set[int]:
    """Indices of chunk files present with the right hash (others are an error)."""
    done = set()
    if not plane_dir.is_dir():
        return done
    for p in sorted(plane_dir.iterdir()):
        m = CHUNK_RE.match(p.name)
        if not m:
            continue
        z = read_chunk(p)
        if str(z["hash"]) != digest:
            raise InputError(
                f"{p}: was made with another config or dataset (hash {str(z['hash'])[:12]}, "
                f"expected {digest[:12]}); remove it and rerun its shard")
        done.add(int(m.group(1)))
    return done


def assemble(plane_dir: Path, manifest: dict) -> np.ndarray:
    """The full chi^2 map of a plane; every chunk present and with the manifest's hash."""
    n_chunks = manifest["n_chunks"]
    done = finished_chunks(plane_dir, manifest["hash"])
    missing = sorted(set(range(n_chunks)) - done)
    if missing:
        n_shards = int(manifest.get("n_shards", 1))
        shards = sorted({k for k in range(1, n_shards + 1)
                         if set(shard_slice(n_chunks, k, n_shards)) & set(missing)})
        raise InputError(
            f"{plane_dir}: {len(missing)} of {n_chunks} chunks missing (first {missing[0]}), "
            f"from shard(s) {', '.join(f'{k}/{n_shards}' for k in shards)}; run them "
            "(cevns-scan scan ... --shard K/N --resume) before merging")
    nx, ny = len(manifest["mu_x"]), len(manifest["mu_y"])
    out = np.full((nx, ny), np.nan)
    for index in range(n_chunks):
        z = read_chunk(chunk_path(plane_dir, index))
        i0, i1 = int(z["i0"]), int(z["i1"])
        if z["chi2"].shape != (i1 - i0, ny):
            raise InputError(f"{chunk_path(plane_dir, index)}: block shape {z['chi2'].shape} "
                             f"does not fit rows {i0}:{i1} of a {nx}x{ny} grid")
        out[i0:i1] = z["chi2"]
    if np.any(np.isnan(out)):
        raise InputError(f"{plane_dir}: chunks do not cover the grid; rerun the scan")
    return out
