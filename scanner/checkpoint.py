"""Batch scans: shards, checkpoint folders and their merge.

:func:`run_shard` computes one deterministic slice of a plane's chunks and checkpoints every
finished chunk; :func:`merge_scan` checks that every chunk of every plane is there, made from
the same inputs, and returns the :class:`~cevns_scan.results.AnalysisResult`.

Layout: ``DIR/<plane>/manifest.json`` (config, dataset, axes, chunking and the input hash) and
``DIR/<plane>/chunk_<index>.npz`` (rows i0:i1 of the chi^2 map, with the same hash). Every
file is written to a temporary name and renamed, so a killed scan leaves only whole files.
Chunks are the same for any shard count, so shards of different N can share a folder.
"""

from __future__ import annotations

import json
import re
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .errors import InputError, ParameterError, ScanInterrupted
from .outputs import atomic_write_bytes, load_npz, npz_bytes, write_json
from .scan import CONNECT_TIMEOUT, RESULT_COPIES, check_memory, map_bytes

CHUNK_RE = re.compile(r"^chunk_(\d{6})\.npz$")
#: The arrays of a chunk file.
CHUNK_MEMBERS = ("chi2", "i0", "i1", "index", "hash")


def shard_slice(n_chunks: int, shard: int, n_shards: int) -> range:
    """Chunk indices of shard ``shard`` (1-based) of ``n_shards``: a contiguous, balanced slice."""
    return range((shard - 1) * n_chunks // n_shards, shard * n_chunks // n_shards)


def _shard_list(shards: list[int], n_shards: int, most: int = 4) -> str:
    """'1/8, 5/8' (the first ``most`` of them, then '...')."""
    shown = ", ".join(f"{s}/{n_shards}" for s in shards[:most])
    return shown + (", ..." if len(shards) > most else "")


def parse_shard(text: str) -> tuple[int, int]:
    """'K/N' -> (K, N) with 1 <= K <= N."""
    m = re.fullmatch(r"\s*(\d+)\s*/\s*(\d+)\s*", text or "")
    if not m or not (1 <= int(m.group(1)) <= int(m.group(2))):
        raise ParameterError("shard", text, "is not K/N with 1 <= K <= N, e.g. 1/4")
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


def _flat(config: dict) -> dict:
    return {f"[{sec}] {key}": value for sec, keys in config.items() for key, value in keys.items()}


def manifest_differences(old: dict, new: dict) -> list[str]:
    """What differs between a scan folder's manifest and this run's, in words."""
    out = []
    if len(old.get("mu_x", [])) != len(new["mu_x"]) or len(old.get("mu_y", [])) != len(
            new["mu_y"]):
        out.append(f"grid {len(old.get('mu_x', []))} there, {len(new['mu_x'])} here")
    for axis in ("mu_x", "mu_y"):
        a, b = old.get(axis, [0.0])[-1:], new[axis][-1:]
        if a and b and not np.isclose(a[0], b[0], rtol=1e-12, atol=0):
            out.append(f"{axis} maximum {a[0]:.6g} there, {b[0]:.6g} here (the axis maximum, "
                       "mu_max)")
    fo, fn = _flat(old.get("config", {})), _flat(new["config"])
    for key in sorted(set(fo) | set(fn)):
        if key in ("[scan] grid",) or fo.get(key) == fn.get(key):
            continue
        out.append(f"{key} = {fo.get(key, 'unset')!r} there, {fn.get(key, 'unset')!r} here")
    if old.get("data") != new["data"]:
        out.append(f"dataset {old.get('dataset_label')!r} there, {new['dataset_label']!r} here "
                   "(other numbers)")
    if old.get("version") != new["version"]:
        out.append(f"cevns-scan {old.get('version')} there, {new['version']} here")
    return out or ["the input hash (same options, other inputs)"]


def open_plane_dir(plane_dir: Path, manifest: dict) -> None:
    """Create the plane folder and its manifest, or check that an existing one matches."""
    path = plane_dir / "manifest.json"
    if path.exists():
        old = read_manifest(plane_dir)
        if old.get("hash") != manifest["hash"]:
            diff = "; ".join(manifest_differences(old, manifest))
            raise InputError(
                f"{plane_dir}: holds a scan made with other inputs ({diff}); run this shard with "
                "the same inputs as the others, or into a new scan folder")
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
    """A chunk file's arrays; a damaged or incomplete file is one InputError naming it."""
    fix = "delete it and resume its shard, which computes it again"
    z = load_npz(path, fix)
    missing = [k for k in CHUNK_MEMBERS if k not in z]
    bad = missing or any(z[k].shape != () for k in CHUNK_MEMBERS[1:]) or z["chi2"].ndim < 2
    if bad:
        raise InputError(f"{path}: not a whole chunk file ("
                         + (f"no {', '.join(missing)}" if missing else "arrays of the wrong shape")
                         + f"); {fix}")
    return z


def finished_chunks(plane_dir: Path, digest: str, indices=None) -> set[int]:
    """Indices of chunk files present with the right hash (others are an error).

    ``indices``: only those chunks are looked at (a shard checks its own, not every file).
    """
    done = set()
    if not plane_dir.is_dir():
        return done
    if indices is None:
        paths = sorted(p for p in plane_dir.iterdir() if CHUNK_RE.match(p.name))
    else:
        paths = [p for p in (chunk_path(plane_dir, i) for i in sorted(indices)) if p.exists()]
    for p in paths:
        m = CHUNK_RE.match(p.name)
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
            "again with resume=True (each finishes its missing chunks) before merging")
    nx, ny = len(manifest["mu_x"]), len(manifest["mu_y"])
    extra = (len(manifest["neyman"]["channels"]),) if manifest.get("neyman") else ()
    check_memory(map_bytes(nx, ny, *extra), nx, f"the {nx}x{ny} map of {plane_dir}", None,
                 "merge on a machine with that much memory")
    out = np.full((nx, ny, *extra), np.nan)
    for index in range(n_chunks):
        z = read_chunk(chunk_path(plane_dir, index))
        i0, i1 = int(z["i0"]), int(z["i1"])
        if z["chi2"].shape != (i1 - i0, ny, *extra):
            raise InputError(f"{chunk_path(plane_dir, index)}: block shape {z['chi2'].shape} "
                             f"does not fit rows {i0}:{i1} of a {nx}x{ny} grid")
        out[i0:i1] = z["chi2"]
    if np.any(np.isnan(out)):
        raise InputError(f"{plane_dir}: chunks do not cover the grid; rerun the scan")
    return out


def _chunk_rows(n_cols: int, chunk_points: int) -> int:
    """Rows per chunk (as :func:`cevns_scan.scan.make_chunks` cuts them)."""
    return max(1, chunk_points // max(n_cols, 1))


def shard_rows(n_rows: int, n_cols: int, chunk_points: int, shard: tuple[int, int]) -> int:
    """Grid rows that shard ``shard = (K, N)`` computes (without listing the chunks)."""
    rows = _chunk_rows(n_cols, chunk_points)
    mine = shard_slice(-(-n_rows // rows), *shard)
    return max(min(mine.stop * rows, n_rows) - mine.start * rows, 0) if len(mine) else 0


def check_shard_fits(grid: int, chunk_points: int, shard: tuple[int, int], out, *,
                     toys: int = 0, jobs: int | None = 1) -> None:
    """Refuse, before any work, a shard whose chunk files cannot fit on the disk of ``out``,
    or whose chunks in flight cannot fit in memory (a shard holds no map: only its chunks).
    """
    from .neyman import CHANNELS
    from .scan import available_disk, resolve_jobs, seconds_lower_bound, size_text, time_text

    ch = len(CHANNELS) if toys else 0
    rows = shard_rows(grid, grid, chunk_points, shard)
    per_row = 8 * grid * max(ch, 1)
    chunk_rows = _chunk_rows(grid, chunk_points)
    seconds = seconds_lower_bound(rows * grid, toys)
    k, n = shard
    check_memory(4 * resolve_jobs(jobs) * chunk_rows * per_row, grid,
                 f"the chunks in flight of shard {k}/{n}", seconds,
                 "lower scan.chunk_points (a chunk is at least one row), or use a smaller grid")
    need = rows * per_row + 1024 * -(-rows // chunk_rows)  # + a zip header per file
    free = available_disk(out)
    if free is not None and need > free:
        raise ParameterError("grid", grid, f"needs about {size_text(need)} of chunk files for "
                             f"shard {k}/{n} ({rows} rows of {grid} points), more than the "
                             f"{size_text(free)} free on the disk of {out} (and at least "
                             f"{time_text(seconds)} of computing on one core); split the plane "
                             "into more shards on other disks, or use a smaller grid")


def merge_memory(grid: int, planes: int = 1, toys: int = 0) -> int:
    """Bytes that merging ``planes`` planes of a ``grid`` x ``grid`` scan needs (estimate)."""
    from .neyman import CHANNELS

    ch = len(CHANNELS) if toys else 1
    return planes * map_bytes(grid, grid) * (ch + RESULT_COPIES - 1)


@dataclass(frozen=True)
class ShardReport:
    """What one :func:`run_shard` call did."""

    plane_dir: Path
    shard: str
    computed: int
    already: int
    seconds: float
    note: str = ""


def _manifest(analysis, pg, digest: str, n_chunks: int, n_shards: int, command,
              toys: int = 0, seed: int = 0) -> dict:
    """What a plane folder records about the scan it holds."""
    from . import __version__
    from .neyman import CHANNELS

    neyman = {"toys": int(toys), "seed": int(seed), "channels": list(CHANNELS)} if toys else None
    return {
        "neyman": neyman,
        "data": [data_spec(e.dataset) for e in analysis.experiments],
        "hash": digest, "plane": pg.name, "flavours": [pg.flavour_x, pg.flavour_y],
        "n_chunks": n_chunks, "n_shards": n_shards,
        "chunk_points": analysis.config.scan.chunk_points,
        "mu_x": pg.mu_x.tolist(), "mu_y": pg.mu_y.tolist(), "config": analysis.config.to_dict(),
        "dataset_label": analysis.label,
        "version": __version__, "command": list(command),
    }


def data_spec(ds) -> dict:
    """How a manifest records one experiment's data (its kind writes it, and rebuilds it in
    :func:`data_from_spec`)."""
    from .experiments import registry

    return registry.kind_of(ds).manifest(ds)


def data_from_spec(spec: dict, where: str):
    """The dataset a manifest recorded (its kind reloads it and checks its hash)."""
    from .experiments import registry

    return registry.from_manifest(spec, where)


def run_shard(analysis, plane: str, out, *, shard: tuple[int, int] = (1, 1),
              resume: bool = False, grid: int | None = None, jobs: int = 1,
              backend: str = "threading", scheduler: str | None = None, progress=None,
              command: list[str] = (), resume_command: str = "", toys: int = 0,
              seed: int = 0, connect_timeout: float = CONNECT_TIMEOUT) -> ShardReport:
    """Compute shard ``shard = (K, N)`` of a plane's chunks into the scan folder ``out``.

    Every finished chunk is written atomically to ``out/<plane>/chunk_*.npz`` with the hash
    of the inputs; a folder made from other inputs is refused. With ``resume``, chunks
    already there are skipped; without it, finding any is an error. ``progress`` is None or a
    factory ``progress(total, description)``; ``command`` is recorded in the manifest and
    ``resume_command`` is quoted if the scan is interrupted. With ``toys`` > 0 every point
    also gets the toy-MC Neyman critical values (:mod:`cevns_scan.neyman`), seeded from
    (``seed``, point index).

    A shard holds only the chunks in flight, never the plane's map (``merge_scan`` assembles
    it). Before anything is written, the grid is checked against the disk and memory, and a
    dask ``scheduler`` must answer within ``connect_timeout`` seconds; if the shard fails or
    is interrupted before its first chunk, the folders and manifest it created are removed.
    """
    from .neyman import check_seed
    from .outputs import check_scan_dir
    from .scan import check_backend, make_chunks, probe_scheduler, scan_map

    k, n_shards = shard
    if not 1 <= k <= n_shards:
        raise ParameterError("shard", f"{k}/{n_shards}", "needs 1 <= K <= N")
    if toys:
        seed = check_seed(seed)
    check_backend(backend, scheduler)
    root = check_scan_dir(out)
    pg = analysis.plane_grid(plane, grid)
    scan = analysis.config.scan
    chunk_points = scan.neyman_chunk_points if toys else scan.chunk_points
    check_shard_fits(pg.mu_x.size, chunk_points, shard, root, toys=toys, jobs=jobs)
    if scheduler:
        probe_scheduler(scheduler, connect_timeout)
    digest = analysis.plane_digest(pg, toys, seed)
    statistic = (analysis.neyman_plane(pg.flavour_x, pg.flavour_y, toys, seed) if toys
                 else analysis.plane(pg.flavour_x, pg.flavour_y))
    chunks = make_chunks(pg.mu_x.size, pg.mu_y.size, chunk_points)
    mine = [chunks[i] for i in shard_slice(len(chunks), k, n_shards)]
    plane_dir = root / pg.name
    if (plane_dir / "manifest.json").is_file():  # another shard's folder: same inputs?
        open_plane_dir(plane_dir, _manifest(analysis, pg, digest, len(chunks), n_shards,
                                            command, toys, seed))
    done = finished_chunks(plane_dir, digest, [c.index for c in mine])
    already = [c.index for c in mine if c.index in done]
    spec = f"{k}/{n_shards}"
    if already and not resume:
        raise InputError(f"{plane_dir}: {len(already)} chunk(s) of shard {spec} are already "
                         "finished; pass resume=True to continue, or scan into a new folder")
    todo = [c for c in mine if c.index not in done]
    if not mine:
        busy = [s for s in range(1, n_shards + 1) if shard_slice(len(chunks), s, n_shards)]
        note = (f"shard {spec} has no chunks: the {pg.mu_x.size}x{pg.mu_y.size} grid of plane "
                f"{pg.name} has only {len(chunks)} chunk(s) for {n_shards} shards, computed by "
                f"shard(s) {_shard_list(busy, n_shards)}; use fewer shards or a smaller "
                "scan.chunk_points")
    else:
        note = ""
    created = [p for p in (*reversed(plane_dir.parents), plane_dir, plane_dir / "manifest.json")
               if not p.exists()]  # in the order open_plane_dir makes them
    written = []

    def on_chunk(c, block):
        write_chunk(plane_dir, digest, c.index, c.i0, c.i1, block, spec)
        written.append(c.index)

    try:
        open_plane_dir(plane_dir, _manifest(analysis, pg, digest, len(chunks), n_shards,
                                            command, toys, seed))
        t0 = time.perf_counter()
        bar = progress(len(todo), f"shard {spec} scan {pg.name} ({pg.mu_x.size}x"
                       f"{pg.mu_y.size})") if progress is not None else None
        hint = f"finished chunks are kept in {plane_dir}"
        scan_map(statistic, pg.mu_x, pg.mu_y, todo, jobs=jobs, backend=backend,
                 scheduler=scheduler, progress=bar, on_chunk=on_chunk, keep_map=False,
                 connect_timeout=connect_timeout,
                 resume_hint=f"{hint}; resume with: {resume_command}" if resume_command
                 else hint)
    except ScanInterrupted as exc:
        if written:
            raise
        _remove_created(created)  # nothing of this run to keep: leave the folder as it was
        again = f"; resume with: {resume_command}" if resume_command else ""
        raise ScanInterrupted(f"{str(exc).split(';')[0]}; no chunk had finished, nothing was "
                              f"kept{again}", exc.signum) from None
    except BaseException:
        if not written:
            _remove_created(created)
        raise
    return ShardReport(plane_dir, spec, len(todo), len(mine) - len(todo),
                       time.perf_counter() - t0, note)


def _remove_created(paths: list[Path]) -> None:
    """Remove what a shard created (deepest first), as long as nothing else came in since."""
    import contextlib

    for path in reversed(paths):
        with contextlib.suppress(OSError):
            if path.is_dir():
                path.rmdir()  # only if empty
            elif path.exists():
                path.unlink()


def merge_scan(scan_dir, cl: float | None = None):
    """Assemble every plane of a scan folder into an :class:`~cevns_scan.results.AnalysisResult`.

    Every chunk of every plane must be present and carry the hash of the plane's manifest;
    all planes must come from one analysis (same config and dataset).
    """
    from .analysis import Analysis
    from .config import config_from_json
    from .grid import PlaneGrid
    from .neyman import read_neyman
    from .results import AnalysisResult, plane_result

    root = Path(scan_dir)
    if not root.is_dir():
        raise InputError(f"{root}: no such scan folder")
    if (root / "manifest.json").is_file():
        raise InputError(f"{root}: is the folder of plane {root.name} inside a scan folder; "
                         f"merge the scan folder {root.parent}, which holds every plane")
    plane_dirs = sorted(p for p in root.iterdir() if (p / "manifest.json").is_file())
    if not plane_dirs:
        raise InputError(f"{root}: holds no scan (no <plane>/manifest.json); "
                         "scan into it first")
    mans = [read_manifest(p) for p in plane_dirs]
    need = sum(merge_memory(max(len(m.get("mu_x", [])), len(m.get("mu_y", []))), 1,
                            bool(m.get("neyman"))) for m in mans)
    grid = max(len(m.get("mu_x", [])) for m in mans)
    check_memory(need, grid, f"merging {len(mans)} plane(s) of {root}", None,
                 "merge on a machine with that much memory")
    analysis, results, neyman = None, [], []
    for plane_dir, man in zip(plane_dirs, mans, strict=True):
        where = f"{plane_dir}/manifest.json"
        cfg = config_from_json(json.dumps(man["config"]), where)
        if "data" not in man:
            raise InputError(f"{where}: made by an older cevns-scan (no 'data' record); rerun "
                             "the scan with this version")
        a = Analysis.from_config(cfg, [data_from_spec(s, where) for s in man["data"]])
        if analysis is None:
            analysis = a
        elif a.digest() != analysis.digest():
            raise InputError(f"{plane_dir}: made with another config or dataset than "
                             f"{plane_dirs[0]}; merge planes of one analysis only")
        pg = PlaneGrid(*man["flavours"], np.array(man["mu_x"]), np.array(man["mu_y"]))
        ney = man.get("neyman") or {}
        toys, seed = int(ney.get("toys", 0)), int(ney.get("seed", 0))
        if a.plane_digest(pg, toys, seed) != man["hash"]:
            raise InputError(f"{where}: its hash does not match its config and dataset "
                             "(made by another cevns-scan version?); rerun the scan")
        maps = assemble(plane_dir, man)
        if toys:
            wilks = plane_result(a, pg, np.ascontiguousarray(maps[..., 0]), cl)
            neyman.append(read_neyman(wilks, maps[..., 1:], toys, seed, a.cl))
            results.append(wilks)
        else:
            results.append(plane_result(a, pg, maps, cl))
    return AnalysisResult(analysis, tuple(results), analysis.one_dof_intervals(cl), {},
                          tuple(neyman))
