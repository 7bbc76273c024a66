"""Provenance marks: how cevns-scan recognises the files that it wrote.

Every file cevns-scan writes carries a mark that names cevns-scan and its version, in the
place its format has for it:

========  ==========================================================================
CSV/text  a first line ``# written by cevns-scan X.Y.Z`` (``#`` lines are comments to
          every cevns-scan table reader)
JSON      the first key ``"_written_by": "cevns-scan X.Y.Z"`` of the top-level object
NPZ       a member ``_written_by`` (a converted XENONnT release is recognised by its
          ``format_name`` member, ``cevns_scan.xenonnt_8b``)
PNG       a ``tEXt`` chunk ``Software`` = ``cevns-scan X.Y.Z``
PDF       the document information entry ``/Creator (cevns-scan X.Y.Z)``
========  ==========================================================================

:func:`carries_mark` reads a file's own bytes (never its name) and says whether it carries a
mark of any cevns-scan version. The output policy (:mod:`cevns_scan.outputs`) replaces only
files that do.
"""

from __future__ import annotations

import json
import re
import struct
import zipfile
from pathlib import Path

import numpy as np

#: The JSON key and the NPZ member that hold the mark.
MARK_KEY = "_written_by"
#: How much of a file's head (and a PDF's tail) is read to find a mark.
_HEAD = 1 << 16

_TEXT_RE = re.compile(rb"^(?:\xef\xbb\xbf)?#\s*written by cevns-scan[\s\r\n]")
_JSON_RE = re.compile(rb'^(?:\xef\xbb\xbf)?\s*\{\s*(?:"' + MARK_KEY.encode()
                      + rb'"\s*:\s*"cevns-scan[ "]|"command"\s*:\s*\[\s*"cevns-scan")')
_PDF_RE = re.compile(rb"/Creator\s*\(cevns-scan[ )]")
_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def mark() -> str:
    """``cevns-scan X.Y.Z``: who wrote a file."""
    from . import __version__

    return f"cevns-scan {__version__}"


def text_mark_line() -> str:
    """The first line of a CSV or text file that cevns-scan wrote."""
    return f"# written by {mark()}"


def mark_text(data):
    """``data`` (str or bytes) with the mark line in front, unless it has one already."""
    if isinstance(data, bytes):
        if _TEXT_RE.match(data):
            return data
        return (text_mark_line() + "\n").encode() + data
    if _TEXT_RE.match(data.encode()):
        return data
    return text_mark_line() + "\n" + data


def mark_json(obj):
    """A JSON object with the mark as its first key (other values are returned as they are)."""
    if not isinstance(obj, dict):
        return obj
    return {MARK_KEY: mark(), **{k: v for k, v in obj.items() if k != MARK_KEY}}


def npz_members() -> dict[str, np.ndarray]:
    """The extra member of a marked .npz archive."""
    return {MARK_KEY: np.array(mark())}


def figure_metadata(fmt: str) -> dict[str, str]:
    """``metadata=`` for matplotlib's savefig: the mark in a PNG or PDF, nothing otherwise."""
    if fmt == "png":
        return {"Software": mark()}
    if fmt == "pdf":
        return {"Creator": mark()}
    return {}


def _png_marked(head: bytes) -> bool:
    pos = len(_PNG_SIGNATURE)
    while pos + 8 <= len(head):
        length, kind = struct.unpack(">I4s", head[pos:pos + 8])
        data = head[pos + 8:pos + 8 + length]
        if kind in (b"tEXt", b"iTXt"):
            key, _, value = data.partition(b"\x00")
            if kind == b"iTXt":  # compression flag, method, language\0, translated key\0
                value = value[2:].split(b"\x00", 2)[-1]
            if key == b"Software" and value.startswith(b"cevns-scan"):
                return True
        if kind in (b"IDAT", b"IEND"):
            return False
        pos += 12 + length
    return False


def _npz_marked(path: Path) -> bool:
    with zipfile.ZipFile(path) as zf:
        names = set(zf.namelist())
        for member, prefix in ((MARK_KEY, "cevns-scan"), ("format_name", "cevns_scan.")):
            if f"{member}.npy" in names:
                with zf.open(f"{member}.npy") as fh:
                    value = np.lib.format.read_array(fh, allow_pickle=False)
                if value.dtype.kind == "U" and value.ndim == 0 and str(value).startswith(prefix):
                    return True
    return False


def carries_mark(path) -> bool:
    """Whether the file at ``path`` carries a cevns-scan mark (any version; see the module).

    A file that cannot be read, a folder and a missing file carry none.
    """
    path = Path(path)
    try:
        with open(path, "rb") as fh:
            head = fh.read(_HEAD)
            if head.startswith(b"%PDF"):
                fh.seek(0, 2)
                size = fh.tell()
                fh.seek(max(size - _HEAD, 0))
                return bool(_PDF_RE.search(fh.read()) or _PDF_RE.search(head))
    except OSError:
        return False
    try:
        if head.startswith(_PNG_SIGNATURE):
            return _png_marked(head)
        if head.startswith(b"PK\x03\x04"):
            return _npz_marked(path)
    except Exception:  # a damaged file of that kind: not one of ours to replace
        return False
    return bool(_TEXT_RE.match(head) or _JSON_RE.match(head))


def mark_file(path) -> None:
    """Put the mark into a CSV/text or JSON file that cevns-scan has just written without one.

    For the files of a results folder that their writers leave unmarked; other kinds (and
    files that already carry a mark) are left as they are. Rewrites the file in place: use it
    on files in a temporary folder only.
    """
    path = Path(path)
    if path.suffix not in (".csv", ".txt", ".json") or carries_mark(path):
        return
    data = path.read_bytes()
    if path.suffix == ".json":
        try:
            obj = json.loads(data)
        except (UnicodeDecodeError, json.JSONDecodeError):
            return
        if isinstance(obj, dict):
            path.write_text(json.dumps(mark_json(obj), indent=2) + "\n")
        return
    path.write_bytes(mark_text(data))
