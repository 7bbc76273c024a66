"""Output files and folders: one policy for every command that writes.

* A command never deletes or overwrites a file that cevns-scan did not write. Every file
  cevns-scan writes carries a provenance mark (:mod:`cevns_scan.provenance`), and only a file
  that carries one is ever replaced, and only with ``force``.
* An output path that is (or resolves to, through links or ``..``) an input of the same
  command is refused, whatever ``force`` says.
* A results folder (``out`` of ``reproduce``, ``merge``, ``figure2``) may be new, empty, or
  an earlier cevns-scan result, recognised by its own ``run.json``. Replacing an earlier result
  needs ``force`` and touches only the files that cevns-scan wrote there (listed in that
  ``run.json`` and still carrying the mark); any other file in the folder is kept. Every file
  of a results folder carries the mark.
* A non-empty folder without a cevns-scan ``run.json`` is refused, whatever ``force`` says.
* A single output file (the rates table, a dataset CSV, the bench JSON and plot)
  is replaced only with ``force`` and only if it carries the mark.
* Paths longer than the system allows are refused before any work.
* Everything is built under a temporary name and renamed into place when complete, so an
  interrupted or failed command leaves no partial output. Writability is checked (by creating
  and removing a probe) before any work starts.

Errors name the output by its parameter (``out``, ``folder``, ``json``): a
:class:`~cevns_scan.errors.PathError`, which the command line words as its option.
"""

from __future__ import annotations

import contextlib
import fnmatch
import io
import json
import os
import shutil
import tempfile
from pathlib import Path

import numpy as np

from .errors import InputError, PathError
from .provenance import MARK_KEY, carries_mark, mark_file, mark_json, mark_text, npz_members

#: The file that marks a folder as a cevns-scan result.
RUN_RECORD = "run.json"
#: Names cevns-scan writes into a results folder (used for folders from cevns-scan 0.1.0,
#: whose run.json does not list its files).
OWN_FILE_PATTERNS = ("run.json", "limits.json", "contours.json", "templates*.csv", "rates_*.csv",
                     "chi2_*.npz", "tcrit_*.npz", "fig*_*.png", "fig*_*.pdf", "expected_*.csv",
                     "sm_measurement.json", "coverage*.json", "coverage*.csv")
_TMP_PREFIX = ".cevns-scan-tmp-"


def _umask() -> int:
    old = os.umask(0)
    os.umask(old)
    return old


def _nearest_existing(path: Path) -> Path:
    parent = path.absolute()
    while not parent.exists():
        parent = parent.parent
    return parent


def probe_writable(folder: Path, what: str = "", *, name: str | None = None, path=None) -> None:
    """Create and remove a temporary entry in ``folder``; an OSError becomes one line.

    The line starts with ``what``, or is a :class:`~cevns_scan.errors.PathError` of the
    parameter ``name`` (given ``path``).
    """
    try:
        probe = tempfile.mkdtemp(prefix=_TMP_PREFIX + "probe-", dir=folder)
        os.rmdir(probe)
    except OSError as exc:
        problem = f"cannot write in {folder} ({exc.strerror or exc}); choose a writable location"
        if name is not None:
            raise PathError(name, path, problem) from None
        raise InputError(f"{what}: {problem}") from None


def _user_entries(folder: Path) -> list[Path]:
    """Entries of ``folder`` other than cevns-scan's own temporary ones."""
    return [p for p in folder.iterdir() if not p.name.startswith(_TMP_PREFIX)]


def _check_path_text(path, name: str) -> Path:
    if path is None or str(path).strip() == "":
        raise PathError(name, "" if path is None else path, "is empty; give a path")
    path = Path(path)
    check_path_length(path, name=name)
    return path


def _short(path, most: int = 80) -> str:
    """``path`` as text, shortened in the middle to ``most`` characters (for messages)."""
    text = str(path)
    return text if len(text) <= most else f"{text[:most // 2 - 2]}...{text[-(most // 2 - 1):]}"


def _limit(folder: str, name: str, default: int) -> int:
    try:
        return int(os.pathconf(folder, name))
    except (OSError, ValueError):
        return default


def check_path_length(path, what: str = "", *, name: str | None = None) -> None:
    """Refuse a path that the system cannot open (ENAMETOOLONG) before any work.

    Each name must fit the file system's NAME_MAX (255 bytes on most) and the whole absolute
    path its PATH_MAX (4096 bytes on Linux). ``what`` starts the one-line message, or it is a
    :class:`~cevns_scan.errors.PathError` of the parameter ``name`` (the path shortened).
    """
    text = os.fsencode(os.path.abspath(os.fspath(path)))
    anc = os.path.abspath(os.fspath(path))
    while not os.path.isdir(anc) and os.path.dirname(anc) != anc:
        anc = os.path.dirname(anc)
    name_max = _limit(anc, "PC_NAME_MAX", 255)
    path_max = _limit(anc, "PC_PATH_MAX", 4096)
    longest = max((len(os.fsencode(p)) for p in Path(path).parts), default=0)
    if longest > name_max:
        problem = (f"a name in this path is {longest} bytes long, more than the {name_max} the "
                   "file system allows; use a shorter name")
    elif len(text) >= path_max:
        problem = (f"the path is {len(text)} bytes long, more than the {path_max - 1} the "
                   "system allows; use a shorter path")
    else:
        return
    if name is not None:
        raise PathError(name, _short(path), problem)
    raise InputError(f"{what}: {problem}")


def same_file(a, b) -> bool:
    """Whether two paths name the same file (after links, ``.`` and ``..``; hard links too)."""
    try:
        if os.path.realpath(a) == os.path.realpath(b):
            return True
        return os.path.samefile(a, b)
    except (OSError, ValueError):
        return False


def check_not_input(path, name: str, inputs=()) -> None:
    """Refuse an output ``path`` (the parameter ``name``) that is one of the command's
    ``inputs`` ((label, path) pairs; the label starts the message's "is the input ...")."""
    for in_label, in_path in inputs:
        if in_path is not None and str(in_path) != "" and same_file(path, in_path):
            raise PathError(name, path, f"is the input {in_label} {in_path}; an output never "
                            "replaces an input: choose another name")


def check_distinct_outputs(outputs) -> None:
    """Refuse two outputs ((parameter name, path) pairs, None skipped) that name one file."""
    given = [(o, p) for o, p in outputs if p is not None]
    for k, (name, path) in enumerate(given):
        for other, other_path in given[:k]:
            if os.path.abspath(path) == os.path.abspath(other_path) or same_file(path,
                                                                                  other_path):
                raise PathError(name, path, f"is also {other}={str(other_path)!r}; give the "
                                "two outputs different names")


def _run_record(folder: Path) -> dict | None:
    """The ``run.json`` of a cevns-scan results folder, or None."""
    try:
        rec = json.loads((folder / RUN_RECORD).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        return None
    if not isinstance(rec, dict):
        return None
    command = rec.get("command")
    if not (isinstance(command, list) and command and command[0] == "cevns-scan"):
        return None
    return rec


def previous_result_files(folder: Path) -> list[str] | None:
    """The files of an earlier cevns-scan result in ``folder``, or None if it is not one.

    A results folder is recognised by a ``run.json`` that cevns-scan wrote (a JSON object
    whose ``command`` starts with ``cevns-scan``). Its ``files`` list names what it wrote;
    older results without the list are matched against :data:`OWN_FILE_PATTERNS`.
    """
    rec = _run_record(folder)
    if rec is None:
        return None
    files = rec.get("files")
    if isinstance(files, list) and all(isinstance(f, str) for f in files):
        names = files
    else:
        names = [p.name for p in folder.iterdir()
                 if any(fnmatch.fnmatch(p.name, pat) for pat in OWN_FILE_PATTERNS)]
    return sorted({n for n in names if n and "/" not in n and "\\" not in n
                   and not n.startswith(".") and (folder / n).is_file()})


def _unmarked_but_ours(folder: Path) -> set[str]:
    """Files of a results folder written before files were marked (cevns-scan 0.2.0 and older).

    A folder whose ``run.json`` carries the mark was written by a version that marks every
    file, so there a file without the mark is not cevns-scan's (any more).
    """
    rec = _run_record(folder)
    if rec is None or MARK_KEY in rec:
        return set()
    return set(previous_result_files(folder) or ())


def replaceable(folder: Path, name: str, legacy: set[str] = frozenset()) -> bool:
    """Whether ``folder/name`` may be replaced or removed: absent, or cevns-scan's own file.

    Its own: the file carries the provenance mark, or it is one of ``legacy`` (the unmarked
    files that an earlier cevns-scan version listed in its ``run.json``).
    """
    path = folder / name
    if not path.exists() and not path.is_symlink():
        return True
    if path.is_dir():
        return False
    return name in legacy or carries_mark(path)


def _refuse_unmarked(folder: Path, names, name: str) -> None:
    legacy = _unmarked_but_ours(folder)
    blocked = sorted(n for n in names if not replaceable(folder, n, legacy))
    if blocked:
        more = f" (and {len(blocked) - 1} more)" if len(blocked) > 1 else ""
        raise PathError(name, folder, f"{blocked[0]}{more} there does not carry cevns-scan's "
                        "mark (changed or put there by you); cevns-scan replaces only its own "
                        "files: move it out of the folder, then rerun")


def check_replaceable(folder: Path, names, name: str = "folder") -> None:
    """Refuse, before any work, to replace files of ``folder`` that are not cevns-scan's.

    ``name``: the parameter that gave ``folder`` (for the message).
    """
    _refuse_unmarked(Path(folder), names, name)


def _folder_target(path, name: str) -> tuple[Path, Path]:
    """(path, nearest existing ancestor) of an output folder that is not a file."""
    path = _check_path_text(path, name)
    if path.exists() and not path.is_dir():
        raise PathError(name, path, "exists and is not a folder; choose a folder path")
    anc = _nearest_existing(path)
    if not anc.is_dir():
        raise PathError(name, path, f"{anc} is a file, not a folder; choose another path")
    return path, anc


def check_results_dir(path, *, force: bool = False, name: str = "out", inputs=()) -> Path:
    """Check, before any work, that ``path`` may receive a results folder (module policy).

    ``name`` is the parameter that gave ``path`` (for the messages). ``inputs`` are the
    command's (label, path) inputs: one that is a file of the earlier result there (which the
    new one replaces) is refused.
    """
    path, anc = _folder_target(path, name)
    if path.is_dir() and _user_entries(path):
        old = previous_result_files(path)
        if old is None:
            raise PathError(name, path, "folder exists and holds files that cevns-scan did not "
                            "write (no cevns-scan run.json); choose a new or empty folder")
        if not force:
            raise PathError(name, path, "holds an earlier cevns-scan result; pass force=True to "
                            "replace its files (other files are kept), or choose a new folder")
        for in_label, in_path in inputs:
            for file in old:
                if in_path is not None and same_file(path / file, in_path):
                    raise PathError(name, path, f"its file {file}, which this run replaces, is "
                                    f"the input {in_label} {in_path}; copy the input elsewhere "
                                    "first")
        _refuse_unmarked(path, old, name)
    probe_writable(anc, name=name, path=path)
    return path


def check_scan_dir(path, name: str = "out") -> Path:
    """A checkpoint folder: new, empty, or one that holds scans (``<plane>/manifest.json``)."""
    path, anc = _folder_target(path, name)
    if path.is_dir() and _user_entries(path):
        if not any((p / "manifest.json").is_file() for p in path.iterdir() if p.is_dir()):
            raise PathError(name, path, "folder exists and is not a cevns-scan scan folder (no "
                            "<plane>/manifest.json); choose a new or empty folder")
    probe_writable(anc, name=name, path=path)
    return path


def check_output_file(path, *, force: bool = False, name: str = "out", inputs=()) -> Path:
    """Check, before any work, that ``path`` may become an output file (module policy).

    An existing file is replaced only with ``force`` and only if it carries cevns-scan's mark;
    ``path`` may not be any of ``inputs`` ((label, path) pairs), with or without ``force``.
    ``name`` is the parameter that gave ``path`` (for the messages).
    """
    path = _check_path_text(path, name)
    if path.is_dir():
        raise PathError(name, path, "is a folder; give a file name")
    check_not_input(path, name, inputs)
    if path.exists() or path.is_symlink():
        if not carries_mark(path):
            raise PathError(name, path, "exists and was not written by cevns-scan (it carries "
                            "no cevns-scan mark); it is never replaced, with or without "
                            "force=True: choose another name, or move the file away")
        if not force:
            raise PathError(name, path, "file exists (written by cevns-scan); pass force=True "
                            "to replace it, or choose another name")
    anc = _nearest_existing(path.parent if str(path.parent) else Path("."))
    if not anc.is_dir():
        raise PathError(name, path, f"{anc} is a file, not a folder; choose another path")
    probe_writable(anc, name=name, path=path)
    return path


def _mkdirs(folder: Path, name: str, path) -> None:
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise PathError(name, path, f"cannot create {folder} ({exc.strerror or exc}); choose a "
                        "writable location") from None


@contextlib.contextmanager
def results_dir(target, *, force: bool = False, name: str = "out"):
    """Yield a temporary folder; on success move its files into ``target`` (module policy).

    The files written to the temporary folder must include ``run.json``; its ``files`` entry
    is set to the list of files written. A new ``target`` appears in one rename. An existing
    one (empty, or an earlier result with ``force``) receives the new files one rename each,
    ``run.json`` last; files of the earlier result that the new one does not write are
    removed, and nothing else is touched. On any error or interruption the temporary folder is
    removed and ``target`` is left as it was.
    """
    target = check_results_dir(target, force=force, name=name)
    exists = target.is_dir()
    home = target if exists else target.parent
    _mkdirs(home, name, target)
    try:
        tmp = Path(tempfile.mkdtemp(prefix=_TMP_PREFIX if exists else f".{target.name}.tmp-",
                                    dir=home))
    except OSError as exc:
        raise PathError(name, target, f"cannot write there ({exc.strerror or exc})") from None
    try:
        os.chmod(tmp, 0o777 & ~_umask())
        yield tmp
        _commit(tmp, target, force=force, name=name)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def _commit(tmp: Path, target: Path, *, force: bool, name: str) -> None:
    names = sorted(p.name for p in tmp.iterdir())
    record = tmp / RUN_RECORD
    if not record.is_file():
        raise RuntimeError("a results folder must contain run.json")  # a bug, not bad input
    for file in names:  # every file of a results folder carries the mark
        mark_file(tmp / file)
    rec = json.loads(record.read_text())
    rec["files"] = names
    write_json(record, rec)
    if not target.exists():
        os.replace(tmp, target)
        return
    check_results_dir(target, force=force, name=name)  # nothing changed meanwhile
    old = previous_result_files(target) or []
    _refuse_unmarked(target, set(names) | set(old), name)  # a file of yours named like ours
    with contextlib.suppress(FileNotFoundError):
        (target / RUN_RECORD).unlink()  # while replacing, the folder is not a whole result
    for file in names:
        if file != RUN_RECORD:
            os.replace(tmp / file, target / file)
    for file in old:
        if file not in names:
            with contextlib.suppress(FileNotFoundError):
                (target / file).unlink()
    os.replace(record, target / RUN_RECORD)
    tmp.rmdir()


def load_npz(path: str | Path, fix: str, members=None) -> dict:
    """All arrays of an .npz file (no pickles); an unreadable file is an error saying ``fix``.

    Every way a damaged archive fails (truncated, a bad CRC, a member that is not an array, a
    ``.npy`` file instead of an archive, ...) is the same one-line error. ``members`` reads
    only those arrays (each must be there).
    """
    try:
        with open(path, "rb") as fh, np.load(fh, allow_pickle=False) as z:  # fh: always closed
            names = z.files if members is None else members
            return {k: z[k] for k in names}
    except MemoryError:
        raise
    except FileNotFoundError:
        raise InputError(f"{path}: no such file; {fix}") from None
    except Exception as exc:  # zipfile, zlib, numpy and OS errors alike
        detail = " ".join(str(exc).split())[:80]
        raise InputError(f"{path}: unreadable or damaged .npz file ({type(exc).__name__}"
                         f"{': ' + detail if detail else ''}); {fix}") from None


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


def write_output_file(path, data: bytes, *, force: bool = False, name: str = "out",
                      inputs=()) -> None:
    """Write one output file under the module policy (checked again, then atomic).

    ``data`` must carry the provenance mark (:mod:`cevns_scan.provenance`). A link at
    ``path`` (to a file cevns-scan wrote) stays a link: its target is replaced.
    """
    path = check_output_file(path, force=force, name=name, inputs=inputs)
    if path.is_symlink():
        path = Path(os.path.realpath(path))
    _mkdirs(path.parent, name, path)
    try:
        atomic_write_bytes(path, data)
    except OSError as exc:
        raise PathError(name, path, f"cannot write ({exc.strerror or exc}); choose a writable "
                        "location") from None


def npz_bytes(**arrays) -> bytes:
    """An uncompressed .npz archive of ``arrays`` as bytes."""
    buf = io.BytesIO()
    np.savez(buf, **arrays, **npz_members())
    return buf.getvalue()


def json_bytes(obj) -> bytes:
    """JSON text of ``obj``; an object gets the provenance mark as its first key."""
    return (json.dumps(mark_json(obj), indent=2, sort_keys=False) + "\n").encode()


def write_json(path: str | Path, obj) -> None:
    atomic_write_bytes(path, json_bytes(obj))


def csv_cell(value) -> str:
    """A CSV field: text as is, integers plainly, floats with the shortest exact repr."""
    if isinstance(value, str):
        return value
    if isinstance(value, int | np.integer):
        return str(int(value))
    return repr(float(value))


def csv_bytes(header: list[str], columns: list[np.ndarray], comments: list[str] = ()) -> bytes:
    """A CSV with the provenance mark and ``#`` comment lines, a header and float columns."""
    lines = [f"# {c}" for c in comments] + [",".join(header)]
    for row in zip(*columns, strict=True):
        lines.append(",".join(repr(float(v)) for v in row))  # shortest exact round trip
    return mark_text(("\n".join(lines) + "\n").encode())


def write_csv(path: str | Path, header: list[str], columns: list[np.ndarray],
              comments: list[str] = ()) -> None:
    atomic_write_bytes(path, csv_bytes(header, columns, comments))
