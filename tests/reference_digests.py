"""Digests of the numbers a results folder holds, and the pinned reference runs.

``digest_folder`` hashes every number `reproduce` writes (maps, critical values, contour
polylines, CSV tables, limits, fit summaries), but no wording, timing, path or version, so a
refactoring that keeps the physics and the numerics must reproduce the digests bit for bit.
``CASES`` are the runs pinned in ``tests/reference/reproduce_v0.2.0.json`` (written by
``tools/make_reference.py`` with cevns-scan 0.2.0, commit c9828a3).
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np

#: Reference runs: name -> (arguments of `cevns-scan reproduce`, config TOML text or None).
CASES = {
    "cdex_grid41": (["--grid", "41"], None),
    "cdex_modern_grid31": (["--grid", "31"], '[physics]\npreset = "modern"\n'),
    "cdex_neyman_grid9": (["--grid", "9", "--toys", "40", "--seed", "3"], None),
    "xenonnt_grid15": (["--grid", "15", "--data", "xenonnt-8b"], None),
    "xenonnt_neyman_grid4": (["--grid", "4", "--toys", "12", "--seed", "2", "--plane", "e-mu",
                              "--data", "xenonnt-8b"], None),
    "xenonnt_modern_grid9": (["--grid", "9", "--data", "xenonnt-8b"],
                             '[physics]\npreset = "modern"\n'),
    "joint_grid11": (["--grid", "11", "--data", "cdex10-asimov", "--data", "xenonnt-8b"], None),
}

#: JSON keys whose values are words, paths, timings or versions (not compared).
_SKIP_KEYS = {"warnings", "note", "command", "working_directory", "versions", "created_utc",
              "timings_s", "config_source", "source", "method", "published", "meaning",
              "two_dof_meaning", "one_dof_meaning", "level_meaning", "problems",
              "edge_warnings", "physics_choices", "dataset", "target", "units", "path"}
#: Keys added after 0.2.0 inside a pinned top-level entry (new numbers, not changed ones;
#: their own tests check them): the Monte Carlo errors of the Neyman limits (issue 17).
_SKIP_KEYS |= {"mc_error"}


def _h_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _h_array(a) -> str:
    a = np.asarray(a)
    if a.dtype.kind in "fiub":
        return _h_bytes(np.ascontiguousarray(a, dtype="<f8").tobytes())
    return _h_bytes(json.dumps(a.tolist()).encode())


def _numbers(obj):
    """The JSON value with wording keys removed (numbers and structure kept)."""
    if isinstance(obj, dict):
        return {k: _numbers(v) for k, v in sorted(obj.items()) if k not in _SKIP_KEYS}
    if isinstance(obj, list):
        return [_numbers(v) for v in obj]
    return obj


def _csv_numbers(path: Path) -> str:
    rows = [line for line in path.read_text().splitlines() if line and not line.startswith("#")]
    return _h_bytes("\n".join(rows).encode())


def digest_folder(folder: Path) -> dict:
    """Digest of every npz array, CSV table and top-level JSON entry of a results folder.

    Arrays and JSON entries are digested one by one, so that a later version may add arrays
    or keys (a comparison checks the reference's entries only).
    """
    out = {}
    for path in sorted(folder.glob("*.npz")):
        with np.load(path) as z:
            out[path.name] = {k: _h_array(z[k]) for k in sorted(z.files)}
    for path in sorted(folder.glob("*.csv")):
        out[path.name] = _csv_numbers(path)
    for path in sorted(folder.glob("*.json")):
        if path.name == "run.json":
            continue
        data = _numbers(json.loads(path.read_text()))
        out[path.name] = {k: _h_bytes(json.dumps(v, sort_keys=True).encode())
                          for k, v in data.items()}
    return out
