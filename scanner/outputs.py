"""Atomic output: whole folders appear only when complete, single files by rename."""

from __future__ import annotations

import contextlib
import io
import json
import os
import shutil
import tempfile
from pathlib import Path

import numpy as np

from .errors import InputError


def _umask() -> int:
    old = os.umask(0)
    os.umask(old)
    return old


def check_output_dir(path: str | Path, option: str = "--out") -> Path:
    """Check that ``path`` can become an output folder, without creating anything.

    The nearest existing ancestor must be a writable folder, and ``path`` itself, if it
    exists, must be a folder.
    """
    path = Path(path)
    if path.exists() and not path.is_dir():
        raise InputError(f"{option} {path}: exists and is not a folder; choose a folder path")
    parent = path.absolute().parent
    while not parent.exists():
        parent = parent.parent
    if not parent.is_dir():
        raise InputError(f"{option} {path}: {parent} is a file, not a folder; choose another path")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise InputError(f"{option} {path}: {parent} is not writable; choose a writable folder")
    return path


def check_output_file(path: str | Path, option: str = "--out") -> Path:
    """Check that ``path`` can become an output file: not a folder, in a writable folder."""
    path = Path(path)
    if path.is_dir():
        raise InputError(f"{option} {path}: is a folder; give a file name")
    check_output_dir(path.parent, option)
    return path


def load_npz(path: str | Path, fix: str) -> dict:
    """All arrays of an .npz file (no pickles); an unreadable file is an error saying ``fix``."""
    try:
        with np.load(path, allow_pickle=False) as z:
            return {k: z[k] for k in z.files}
    except (OSError, ValueError, EOFError):
        raise InputError(f"{path}: unreadable .npz file; {fix}") from None


@contextlib.contextmanager
def atomic_dir(target: str | Path):
    """Yield a temporary folder beside ``target``; rename it to ``target`` on success.

    An existing ``target`` is replaced only after the new one is complete. On any error or
    interruption the temporary folder is removed and ``target`` is left as it was.
    """
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.tmp-", dir=target.parent))
    try:
        os.chmod(tmp, 0o777 & ~_umask())
        yield tmp
        if target.exists():
            old = Path(tempfile.mkdtemp(prefix=f".{target.name}.old-", dir=target.parent))
            os.replace(target, old / "previous")
            os.replace(tmp, target)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(tmp, target)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def atomic_write_bytes(path: str | Path, data: bytes) -> None:
    """Write ``data`` to a temporary file beside ``path``, then rename it into place."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def npz_bytes(**arrays) -> bytes:
    """An uncompressed .npz archive of ``arrays`` as bytes."""
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    return buf.getvalue()


def write_json(path: str | Path, obj) -> None:
    atomic_write_bytes(path, (json.dumps(obj, indent=2, sort_keys=False) + "\n").encode())


def write_csv(path: str | Path, header: list[str], columns: list[np.ndarray],
              comments: list[str] = ()) -> None:
    """A CSV with ``#`` comment lines, a header and float columns (repr precision)."""
    lines = [f"# {c}" for c in comments] + [",".join(header)]
    for row in zip(*columns, strict=True):
        lines.append(",".join(repr(float(v)) for v in row))  # shortest exact round trip
    atomic_write_bytes(path, ("\n".join(lines) + "\n").encode())
