"""The XENONnT solar-⁸B CEvNS public data release: importer and compact converted file.

The XENON collaboration published its solar-⁸B CEvNS search (science runs SR0, SR1, SR2) as
``XENONnT/cevns_data_release`` (Zenodo doi:10.5281/zenodo.20576156, CC-BY-4.0): selected events
(CSV), bin edges (YAML), background templates and mono-energetic nuclear-recoil efficiency
templates (HDF5, one file per template, 6915 files). :func:`import_release` reads and validates
that folder as published; :func:`write_release_file` stores everything a binned likelihood
needs in one compressed ``.npz`` (numpy only, no pickles, all numbers float64 and equal to the
HDF5 values bit for bit); :func:`load_release_file` reads it back with numpy alone. The
package ships the converted file as ``data/xenonnt_8b.npz``.

Conventions
-----------
Every run has four observables (cS2, S2-shadow quantile, S1 BDT score, S2 BDT score) with 3
bins each: a 4-D histogram of shape (3, 3, 3, 3), flattened to 81 bins in C order, i.e. the
flat bin index is ``((i0 * 3 + i1) * 3 + i2) * 3 + i3`` for bin ``i_k`` of observable ``k``
(``numpy.ravel_multi_index``; ``array.reshape(..., 3, 3, 3, 3)`` undoes it). Bins are
half-open ``[lo, hi)`` except the last of each axis, which includes its upper edge (the
convention of ``numpy.histogramdd``, which the release's own example uses).

The templates carry their bin edges at full float64 precision; the YAML binning files print the
same edges rounded to 12 decimals. Edges are checked to agree within :data:`EDGE_TOLERANCE` and
the template (HDF5) edges are kept.
"""

from __future__ import annotations

import ast
import csv
import hashlib
import importlib
import io
import json
import math
import os
import secrets
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ...errors import InputError

#: Science runs of the release, in the order of every run axis.
RUNS = ("sr0", "sr1", "sr2")
#: Number of observables (axes of each template).
N_OBSERVABLES = 4
#: Bins per observable.
N_BINS_PER_AXIS = 3
#: Shape of one run's 4-D histogram.
TEMPLATE_SHAPE = (N_BINS_PER_AXIS,) * N_OBSERVABLES
#: Bins per run after flattening (C order).
N_BINS = N_BINS_PER_AXIS**N_OBSERVABLES
#: Anchor values of the light-yield and charge-yield shifts t_ly, t_qy (dimensionless), (7,).
ANCHORS = np.arange(-3.0, 4.0)
#: Mono-energetic recoil energies in tenths of a keV_nr: 0.5 to 5.0 keV_nr in 0.1 keV steps.
MONO_ENERGY_TENTHS = tuple(range(5, 51))
#: Largest allowed difference between a template's bin edge and the YAML one (observable units).
EDGE_TOLERANCE = 1e-9

#: Format name and version of the converted file.
FORMAT_NAME = "cevns_scan.xenonnt_8b"
FORMAT_VERSION = 1

#: Provenance of the release this module was written for.
RELEASE_SOURCE = "XENONnT/cevns_data_release, https://github.com/XENONnT/cevns_data_release"
RELEASE_DOI = "10.5281/zenodo.20576156"
RELEASE_COMMIT = "60d230dd7a5646fd4aa2368c5fdfba575ee0cb88"
RELEASE_LICENSE = "CC-BY-4.0"
ATTRIBUTION = (
    "XENON Collaboration, XENONnT solar 8B neutrino and light dark matter data release "
    "(cevns_data_release), Zenodo, doi:10.5281/zenodo.20576156, licensed CC-BY-4.0. "
    "Cite E. Aprile et al. (XENON), Phys. Rev. Lett. 133, 191002 (2024), arXiv:2408.02877; "
    "Phys. Rev. Lett. 134, 111802 (2025); and arXiv:2604.06002 (2026), 'Probing the Solar 8B "
    "Neutrino Fog with XENONnT'. Changes: format conversion only (CSV/YAML/HDF5 to one numpy "
    ".npz by cevns-scan); the numbers are unchanged."
)

_INSTALL_HINT = "pip install 'cevns-scan[xenonnt]'"
#: Axis names the HDF5 files use where they differ from the YAML/CSV observable names.
_H5_AXIS_ALIASES = {"s2_shadow_s2_time_shadow_quantile": "s2_shadow_s2_time_shadow"}
_LICENSE_FIRST_LINE = "Attribution 4.0 International"


@dataclass(frozen=True)
class Provenance:
    """Where the numbers come from.

    Attributes
    ----------
    source, doi, commit, license, attribution : str
        The release's repository, Zenodo DOI, git commit, license and the attribution text
        (papers to cite and what was changed).
    inputs_sha256 : str
        SHA-256 (hex) of the text made of one line ``"<file sha256 hex>  <relative path>\\n"``
        per input file read, sorted by relative POSIX path (byte order): the output of
        ``sha256sum`` over those files sorted with ``LC_ALL=C sort -k2``.
    n_input_files : int
        Number of input files read.
    """

    source: str
    doi: str
    commit: str
    license: str
    attribution: str
    inputs_sha256: str
    n_input_files: int


@dataclass(frozen=True, eq=False)
class XenonntRelease:
    """Everything a binned likelihood of the XENONnT ⁸B CEvNS release needs.

    Arrays are float64 (counts int64) and read-only. ``R = 3`` runs, 81 bins per run in the C
    order of the (3, 3, 3, 3) histogram (see the module docstring).

    Attributes
    ----------
    runs : tuple of str
        Run names ``("sr0", "sr1", "sr2")``.
    observables : tuple of str
        The four observable names (YAML keys and CSV columns), in axis order.
    bin_edges : ndarray, shape (R, 4, 4)
        ``bin_edges[r, k]``: the 4 edges of observable ``k`` in run ``r`` (observable units:
        cS2 in PE, the others dimensionless), as stored in the templates.
    exposure_t_y : ndarray, shape (R,)
        Exposure of each run in tonne-year (the release's ``livetimes``).
    observed : ndarray of int64, shape (R, 81)
        Observed events per bin.
    events : tuple of R ndarrays, shape (n_events, 4)
        The selected events of each run, observable values in axis order.
    ac, er : ndarray, shape (R, 81)
        Accidental-coincidence and electronic-recoil backgrounds in events / (t·y) per bin.
    rg : ndarray, shape (R, 7, 7, 81)
        Radiogenic-neutron background in events / (t·y) per bin, ``rg[r, i, j]`` at
        ``t_ly = t_ly_anchors[i]``, ``t_qy = t_qy_anchors[j]``.
    mono : ndarray, shape (R, 7, 7, 46, 81)
        Detection efficiency per bin (dimensionless) of a nuclear recoil of energy
        ``mono_energy_kev[e]``: ``mono[r, i, j, e]`` at anchors ``i``, ``j`` as for ``rg``.
    t_ly_anchors, t_qy_anchors : ndarray, shape (7,)
        Anchor values of the light- and charge-yield shifts (dimensionless, -3 ... 3).
    mono_energy_kev : ndarray, shape (46,)
        Mono-energetic recoil energies in keV_nr (0.5 ... 5.0).
    provenance : Provenance
        Source, DOI, commit, license, attribution and a hash over the input files.
    format_name : str
        :data:`FORMAT_NAME`.
    format_version : int
        :data:`FORMAT_VERSION`.
    """

    runs: tuple[str, ...]
    observables: tuple[str, ...]
    bin_edges: np.ndarray
    exposure_t_y: np.ndarray
    observed: np.ndarray
    events: tuple[np.ndarray, ...]
    ac: np.ndarray
    er: np.ndarray
    rg: np.ndarray
    mono: np.ndarray
    t_ly_anchors: np.ndarray
    t_qy_anchors: np.ndarray
    mono_energy_kev: np.ndarray
    provenance: Provenance
    format_name: str = FORMAT_NAME
    format_version: int = FORMAT_VERSION

    def __post_init__(self):
        for name in _ARRAY_FIELDS:
            object.__setattr__(self, name, _read_only(getattr(self, name)))
        object.__setattr__(self, "events", tuple(_read_only(e) for e in self.events))


_ARRAY_FIELDS = ("bin_edges", "exposure_t_y", "observed", "ac", "er", "rg", "mono",
                 "t_ly_anchors", "t_qy_anchors", "mono_energy_kev")


def _read_only(values: np.ndarray) -> np.ndarray:
    """A read-only copy of ``values``."""
    out = np.array(values, copy=True)
    out.setflags(write=False)
    return out


# ---------------------------------------------------------------------------------------------
# File names of the release
# ---------------------------------------------------------------------------------------------


def _anchor_text(value: float) -> str:
    """Anchor as it appears in a file name, e.g. ``-3.0`` or ``0.0``."""
    return f"{value + 0.0:.1f}"


def _rg_name(run: str, t_ly: float, t_qy: float) -> str:
    """Relative path of a radiogenic-neutron template."""
    return (f"templates/{run}/rg/template_XENONnT_{run}_rg_cevns_"
            f"tly_{_anchor_text(t_ly)}_tqy_{_anchor_text(t_qy)}.h5")


def _mono_name(run: str, tenths: int, t_ly: float, t_qy: float) -> str:
    """Relative path of a mono-energetic efficiency template (energy in tenths of keV_nr)."""
    return (f"templates/{run}/mono/template_XENONnT_{run}_mono_{tenths / 10:.3f}_cevns_"
            f"tly_{_anchor_text(t_ly)}_tqy_{_anchor_text(t_qy)}.h5")


def _run_files(run: str) -> dict[str, str]:
    """Relative paths of the binning, events, AC and ER files of one run."""
    return {
        "binning": f"binning/{run}.yaml",
        "data": f"data/{run}.csv",
        "ac": f"templates/{run}/ac/template_XENONnT_{run}_ac_cevns.h5",
        "er": f"templates/{run}/er/template_XENONnT_{run}_er_cevns.h5",
    }


def _expected_files() -> list[str]:
    """Every relative path the importer reads."""
    files = ["LICENSE", "plot.ipynb"]
    for run in RUNS:
        files += _run_files(run).values()
        files += [_rg_name(run, a, b) for a in ANCHORS for b in ANCHORS]
        files += [_mono_name(run, e, a, b) for a in ANCHORS for b in ANCHORS
                  for e in MONO_ENERGY_TENTHS]
    return files


def _check_complete(root: Path) -> None:
    """Raise unless the release folder holds every run and every file the importer reads."""
    if not root.is_dir():
        raise InputError(f"XENONnT release folder {root} does not exist; give the folder of "
                         f"the unpacked release (doi:{RELEASE_DOI})")
    for run in RUNS:
        run_paths = (root / "binning" / f"{run}.yaml", root / "data" / f"{run}.csv",
                     root / "templates" / run)
        if not any(p.exists() for p in run_paths):
            raise InputError(f"run {run} is missing from the XENONnT release {root} (no "
                             f"binning/{run}.yaml, data/{run}.csv or templates/{run}/); use the "
                             f"complete release (doi:{RELEASE_DOI})")
    missing = [rel for rel in _expected_files() if not (root / rel).is_file()]
    if missing:
        more = f" and {len(missing) - 1} more" if len(missing) > 1 else ""
        raise InputError(f"{root / missing[0]} is missing from the XENONnT release{more}; "
                         f"re-download the complete release (doi:{RELEASE_DOI})")


# ---------------------------------------------------------------------------------------------
# Reading the input files
# ---------------------------------------------------------------------------------------------


class _Inputs:
    """Reads the release's files as bytes and records each file's SHA-256."""

    def __init__(self, root: Path):
        self.root = root
        self.digests: dict[str, str] = {}

    def read(self, rel: str) -> bytes:
        """Contents of the file at relative path ``rel``."""
        path = self.root / rel
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise InputError(f"{path}: cannot be read ({exc.strerror}); check its "
                             "permissions or re-download the release") from None
        self.digests[rel] = hashlib.sha256(data).hexdigest()
        return data

    def text(self, rel: str) -> str:
        """Contents of a UTF-8 text file."""
        try:
            return self.read(rel).decode("utf-8")
        except UnicodeDecodeError:
            raise InputError(f"{self.root / rel}: not a UTF-8 text file; re-download the "
                             "release") from None

    def combined_sha256(self) -> str:
        """SHA-256 over the sorted ``sha256sum`` lines of every file read (see Provenance)."""
        lines = "".join(f"{self.digests[rel]}  {rel}\n" for rel in sorted(self.digests))
        return hashlib.sha256(lines.encode("utf-8")).hexdigest()


def _import_optional(name: str, purpose: str):
    """Import ``h5py`` or ``yaml``, or raise an InputError saying how to install it."""
    try:
        return importlib.import_module(name)
    except ImportError:
        raise InputError(f"{purpose} needs the Python package {name}, which is not installed; "
                         f"run {_INSTALL_HINT}") from None


def _check_license(inputs: _Inputs) -> None:
    """Raise unless the release's LICENSE is the CC-BY-4.0 legal code."""
    text = inputs.text("LICENSE").strip()
    if not text.startswith(_LICENSE_FIRST_LINE):
        raise InputError(f"{inputs.root / 'LICENSE'}: expected the CC-BY-4.0 license (first "
                         f"line {_LICENSE_FIRST_LINE!r}); use the release as published")


def _read_binning(inputs: _Inputs, rel: str, yaml) -> tuple[tuple[str, ...], np.ndarray]:
    """Observable names and bin edges (4, 4) from a YAML binning file."""
    path = inputs.root / rel
    try:
        content = yaml.safe_load(inputs.text(rel))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" line {mark.line + 1}" if mark is not None else ""
        raise InputError(f"{path}{where}: not valid YAML ({getattr(exc, 'problem', exc)}); "
                         "re-download the release") from None
    if not isinstance(content, dict) or len(content) != N_OBSERVABLES:
        raise InputError(f"{path}: expected a mapping of {N_OBSERVABLES} observables to bin "
                         "edges; re-download the release")
    names = tuple(str(key) for key in content)
    edges = np.array([_edges_of(path, str(key), value) for key, value in content.items()])
    return names, edges


def _edges_of(path: Path, name: str, values) -> np.ndarray:
    """One observable's bin edges: N_BINS_PER_AXIS + 1 finite, strictly increasing numbers."""
    ok = (isinstance(values, list) and len(values) == N_BINS_PER_AXIS + 1
          and all(isinstance(v, int | float) and not isinstance(v, bool) for v in values))
    edges = np.array(values, dtype=np.float64) if ok else np.array([])
    if not ok or not np.all(np.isfinite(edges)) or np.any(np.diff(edges) <= 0.0):
        raise InputError(f"{path} key {name}: expected {N_BINS_PER_AXIS + 1} finite, strictly "
                         f"increasing bin edges, got {values!r}; re-download the release")
    return edges


def _read_events(inputs: _Inputs, rel: str, names: tuple[str, ...]) -> tuple[np.ndarray, list]:
    """Events (n, 4) in axis order and their line numbers, from a release CSV file."""
    path = inputs.root / rel
    reader = csv.reader(io.StringIO(inputs.text(rel)))
    header = next(reader, None)
    if header is None or [h.strip() for h in header[1:]] != list(names):
        raise InputError(f"{path} line 1: header {header!r} should be an index column followed "
                         f"by {','.join(names)} (the observables of the binning file); "
                         "re-download the release")
    rows, lines = [], []
    for fields in reader:
        if not fields:
            continue
        rows.append(_event_row(path, reader.line_num, fields))
        lines.append(reader.line_num)
    return np.array(rows, dtype=np.float64).reshape(-1, N_OBSERVABLES), lines


def _event_row(path: Path, line: int, fields: list[str]) -> list[float]:
    """The observable values of one CSV line (after its index column)."""
    if len(fields) != N_OBSERVABLES + 1:
        raise InputError(f"{path} line {line}: {len(fields)} fields where the header has "
                         f"{N_OBSERVABLES + 1}; fix the line or re-download the release")
    try:
        int(fields[0])
        values = [float(f) for f in fields[1:]]
    except ValueError:
        raise InputError(f"{path} line {line}: {','.join(fields)!r} is not an integer index "
                         "and four numbers; fix the line or re-download the release") from None
    if not all(math.isfinite(v) for v in values):
        raise InputError(f"{path} line {line}: non-finite value in {','.join(fields)!r}; "
                         "fix the line or re-download the release")
    return values


def _read_exposures(inputs: _Inputs) -> np.ndarray:
    """Exposures in tonne-year (3,) from the ``livetimes`` dict of the release's plot.ipynb."""
    path = inputs.root / "plot.ipynb"
    assignments = _livetimes_assignments(path, inputs.text("plot.ipynb"))
    if len(assignments) != 1:
        raise InputError(f"{path}: found {len(assignments)} assignments 'livetimes = {{...}}' "
                         "in its code cells, expected one; use the release's plot.ipynb as "
                         "published")
    try:
        livetimes = ast.literal_eval(assignments[0])
    except ValueError:
        livetimes = None
    if not isinstance(livetimes, dict) or set(livetimes) != set(RUNS):
        raise InputError(f"{path}: 'livetimes' is not a literal dict with keys "
                         f"{', '.join(RUNS)}; use the release's plot.ipynb as published")
    exposure = np.array([_exposure_value(path, run, livetimes[run]) for run in RUNS])
    return exposure


def _exposure_value(path: Path, run: str, value) -> float:
    """One run's exposure, a positive finite number (tonne-year)."""
    if isinstance(value, bool) or not isinstance(value, int | float) or not (
            math.isfinite(value) and value > 0):
        raise InputError(f"{path}: livetimes[{run!r}] = {value!r} is not a positive exposure "
                         "in tonne-year; use the release's plot.ipynb as published")
    return float(value)


def _livetimes_assignments(path: Path, text: str) -> list[ast.expr]:
    """Right-hand sides of every ``livetimes = ...`` in the notebook's code cells."""
    try:
        notebook = json.loads(text)
        cells = notebook["cells"]
        sources = [c.get("source", "") for c in cells if c.get("cell_type") == "code"]
    except (ValueError, KeyError, TypeError, AttributeError):
        raise InputError(f"{path}: not a Jupyter notebook (JSON with code cells); use the "
                         "release's plot.ipynb as published") from None
    found = []
    for source in sources:
        code = "".join(source) if isinstance(source, list) else str(source)
        if "livetimes" not in code:
            continue
        try:
            tree = ast.parse(code)
        except SyntaxError:
            continue
        found += [node.value for node in ast.walk(tree) if isinstance(node, ast.Assign)
                  and any(isinstance(t, ast.Name) and t.id == "livetimes" for t in node.targets)]
    return found


def _read_template(inputs: _Inputs, rel: str, h5py, names, yaml_edges, yaml_rel) -> tuple:
    """Template values (3, 3, 3, 3) and bin edges (4, 4) of one HDF5 file, checked."""
    path = inputs.root / rel
    try:
        with h5py.File(io.BytesIO(inputs.read(rel)), "r") as handle:
            values = np.asarray(_h5_dataset(handle, path, "templates/template")[()],
                                dtype=np.float64)
            edges = [_h5_axis(handle, path, k, names[k]) for k in range(N_OBSERVABLES)]
    except OSError as exc:
        raise InputError(f"{path}: not a readable HDF5 file ({exc}); re-download the "
                         "release") from None
    if values.shape != TEMPLATE_SHAPE:
        raise InputError(f"{path}: template has shape {values.shape}, expected "
                         f"{TEMPLATE_SHAPE} (3 bins per observable of {yaml_rel}); "
                         "re-download the release")
    for k, axis_edges in enumerate(edges):
        _check_axis_edges(path, k, names[k], axis_edges, yaml_edges[k], yaml_rel)
    _check_values(values, str(path))
    return values, np.array(edges)


def _h5_dataset(handle, path: Path, key: str):
    """A numeric HDF5 dataset of ``handle`` (the h5py object), or an InputError naming it."""
    dataset = handle.get(key)
    if dataset is None or not hasattr(dataset, "dtype") or dataset.dtype.kind not in "fiu":
        raise InputError(f"{path}: no numeric dataset {key!r}; re-download the release")
    return dataset


def _h5_axis(handle, path: Path, k: int, expected: str) -> np.ndarray:
    """Bin edges of axis ``k``, after checking the axis ``name`` attribute."""
    dataset = _h5_dataset(handle, path, f"bins/{k}")
    name = dataset.attrs.get("name")
    name = name.decode() if isinstance(name, bytes) else name
    if name not in (expected, _H5_AXIS_ALIASES.get(expected)):
        raise InputError(f"{path}: axis {k} (bins/{k}) is named {name!r}, expected "
                         f"{expected!r}; the template and the binning must come from the same "
                         "release")
    return np.asarray(dataset[()], dtype=np.float64)


def _check_axis_edges(path, k, name, edges, yaml_edges, yaml_rel) -> None:
    """Raise unless a template axis has the YAML's edges within EDGE_TOLERANCE."""
    if edges.shape != yaml_edges.shape or not np.all(np.abs(edges - yaml_edges)
                                                     <= EDGE_TOLERANCE):
        raise InputError(f"{path}: bin edges of axis {k} ({name}) are {edges.tolist()} but "
                         f"{yaml_rel} has {yaml_edges.tolist()}; the template and the binning "
                         "must come from the same release")


def _check_values(values: np.ndarray, where: str) -> None:
    """Raise unless every value is finite and non-negative."""
    bad = ~np.isfinite(values) | (values < 0.0)
    if np.any(bad):
        value = float(values[bad].flat[0])
        raise InputError(f"{where}: holds {value!r} in bin {int(np.argmax(bad.ravel()))} (flat C "
                         "order); rates and efficiencies must be finite and >= 0, re-download "
                         "the release")


def _check_efficiency(values: np.ndarray, where: str) -> None:
    """Raise unless efficiencies are <= 1 per bin and in total over the bins."""
    worst = float(np.max(values))
    total = float(np.sum(values))
    if worst > 1.0 or total > 1.0:
        raise InputError(f"{where}: efficiency {max(worst, total)!r} exceeds 1 (largest bin "
                         f"{worst!r}, sum over bins {total!r}); a detection efficiency is at "
                         "most 1, re-download the release")


# ---------------------------------------------------------------------------------------------
# Binning the events
# ---------------------------------------------------------------------------------------------


def _bin_indices(events: np.ndarray, edges: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Flat C-order bin index of each event and a mask of events inside the binning.

    ``events`` (n, 4), ``edges`` (4, 4); bins ``[lo, hi)``, the last one ``[lo, hi]``.
    """
    inside = np.all((events >= edges[:, 0]) & (events <= edges[:, -1]), axis=1)
    index = np.empty(events.shape, dtype=np.int64)
    for k in range(N_OBSERVABLES):
        i = np.searchsorted(edges[k], events[:, k], side="right") - 1
        index[:, k] = np.clip(i, 0, N_BINS_PER_AXIS - 1)
    return np.ravel_multi_index(index.T, TEMPLATE_SHAPE), inside


def _check_inside(events: np.ndarray, lines: list, edges: np.ndarray, where: str) -> None:
    """Raise, naming the file and line, unless every event lies inside the binning."""
    _, inside = _bin_indices(events, edges)
    if not np.all(inside):
        i = int(np.argmin(inside))
        raise InputError(f"{where} line {lines[i]}: event {events[i].tolist()} lies outside "
                         f"the binning {edges[:, [0, -1]].tolist()}; the release's events must "
                         "lie inside its analysis region, re-download the release")


def _count_events(events, lines, edges, yaml_edges, where: str) -> np.ndarray:
    """Observed events per flat bin (81,), int64, with the template edges ``edges``.

    Every event must lie inside the binning and fall in the same bin with the YAML edges.
    """
    _check_inside(events, lines, edges, where)
    flat, _ = _bin_indices(events, edges)
    flat_yaml, _ = _bin_indices(events, yaml_edges)
    if np.any(flat_yaml != flat):
        i = int(np.argmax(flat_yaml != flat))
        raise InputError(f"{where} line {lines[i]}: event {events[i].tolist()} falls in "
                         "different bins with the YAML and the template bin edges; the release "
                         "is inconsistent")
    return np.bincount(flat, minlength=N_BINS).astype(np.int64)


# ---------------------------------------------------------------------------------------------
# The importer
# ---------------------------------------------------------------------------------------------


def _read_run_text(inputs: _Inputs, run: str, yaml) -> dict:
    """Binning and events of one run (the small text files, read before any template)."""
    files = _run_files(run)
    names, yaml_edges = _read_binning(inputs, files["binning"], yaml)
    events, lines = _read_events(inputs, files["data"], names)
    _check_inside(events, lines, yaml_edges, str(inputs.root / files["data"]))
    return {"names": names, "yaml_edges": yaml_edges, "events": events, "lines": lines}


def _read_run_templates(inputs: _Inputs, run: str, text: dict, h5py) -> dict:
    """Templates of one run, checked against its binning, and its observed counts."""
    files = _run_files(run)
    template_args = (h5py, text["names"], text["yaml_edges"], inputs.root / files["binning"])
    ac, edges = _read_template(inputs, files["ac"], *template_args)
    observed = _count_events(text["events"], text["lines"], edges, text["yaml_edges"],
                             str(inputs.root / files["data"]))
    er, _ = _checked_same_edges(inputs, files["er"], edges, template_args)
    rg = np.empty((len(ANCHORS), len(ANCHORS), N_BINS))
    mono = np.empty((len(ANCHORS), len(ANCHORS), len(MONO_ENERGY_TENTHS), N_BINS))
    for i, t_ly in enumerate(ANCHORS):
        for j, t_qy in enumerate(ANCHORS):
            rg[i, j], _ = _checked_same_edges(inputs, _rg_name(run, t_ly, t_qy), edges,
                                              template_args)
            for e, tenths in enumerate(MONO_ENERGY_TENTHS):
                rel = _mono_name(run, tenths, t_ly, t_qy)
                mono[i, j, e], _ = _checked_same_edges(inputs, rel, edges, template_args)
                _check_efficiency(mono[i, j, e], str(inputs.root / rel))
    return {"names": text["names"], "edges": edges, "events": text["events"],
            "observed": observed, "ac": ac.ravel(), "er": er.ravel(), "rg": rg, "mono": mono}


def _checked_same_edges(inputs: _Inputs, rel: str, edges: np.ndarray, template_args) -> tuple:
    """A template (81,) whose edges equal ``edges`` (those of the run's AC template) exactly."""
    values, own = _read_template(inputs, rel, *template_args)
    if not np.array_equal(own, edges):
        k = int(np.argmax(np.any(own != edges, axis=1)))
        raise InputError(f"{inputs.root / rel}: bin edges of axis {k} differ from those of the "
                         "run's AC template; the templates must come from the same release")
    return values.ravel(), own


def import_release(release_dir: str | os.PathLike, *, commit: str = RELEASE_COMMIT,
                   doi: str = RELEASE_DOI) -> XenonntRelease:
    """Read and validate the XENONnT solar-⁸B CEvNS data release as published.

    Parameters
    ----------
    release_dir : str or path-like
        The release folder (holding ``binning/``, ``data/``, ``templates/``, ``plot.ipynb``
        and ``LICENSE``).
    commit, doi : str, optional
        Git commit and Zenodo DOI of the release read, recorded in the provenance. The
        defaults describe the release this module was written for.

    Returns
    -------
    XenonntRelease
        Events, observed counts, templates, exposures and provenance of runs SR0, SR1, SR2.

    Raises
    ------
    InputError
        On the first problem found: a missing run or file, an unreadable file, a template of
        the wrong shape or with bin edges that disagree with the YAML, a non-finite or
        negative value, an efficiency above 1, a malformed or out-of-range event, or
        exposures that cannot be read from ``plot.ipynb``. Needs h5py and PyYAML
        (``pip install 'cevns-scan[xenonnt]'``).
    """
    root = Path(release_dir)
    _check_complete(root)
    h5py = _import_optional("h5py", "reading the XENONnT release's HDF5 templates")
    yaml = _import_optional("yaml", "reading the XENONnT release's YAML binning")
    inputs = _Inputs(root)
    _check_license(inputs)
    exposure = _read_exposures(inputs)
    texts = [_read_run_text(inputs, run, yaml) for run in RUNS]
    _check_same_observables(root, texts)
    per_run = [_read_run_templates(inputs, run, text, h5py)
               for run, text in zip(RUNS, texts, strict=True)]
    provenance = Provenance(RELEASE_SOURCE, doi, commit, RELEASE_LICENSE, ATTRIBUTION,
                            inputs.combined_sha256(), len(inputs.digests))
    return _assemble(per_run, exposure, provenance)


def _check_same_observables(root: Path, per_run: list[dict]) -> None:
    """Raise unless every run has the observables of the first, in the same order."""
    for run, data in zip(RUNS, per_run, strict=True):
        if data["names"] != per_run[0]["names"]:
            raise InputError(f"{root / 'binning' / (run + '.yaml')}: observables "
                             f"{list(data['names'])} differ from those of {RUNS[0]} "
                             f"{list(per_run[0]['names'])}; use the release as published")


def _assemble(per_run: list[dict], exposure: np.ndarray, provenance: Provenance):
    """Stack the per-run arrays into an XenonntRelease."""
    return XenonntRelease(
        runs=RUNS,
        observables=per_run[0]["names"],
        bin_edges=np.stack([d["edges"] for d in per_run]),
        exposure_t_y=exposure,
        observed=np.stack([d["observed"] for d in per_run]),
        events=tuple(d["events"] for d in per_run),
        ac=np.stack([d["ac"] for d in per_run]),
        er=np.stack([d["er"] for d in per_run]),
        rg=np.stack([d["rg"] for d in per_run]),
        mono=np.stack([d["mono"] for d in per_run]),
        t_ly_anchors=ANCHORS,
        t_qy_anchors=ANCHORS,
        mono_energy_kev=np.array(MONO_ENERGY_TENTHS, dtype=np.float64) / 10.0,
        provenance=provenance,
    )


# ---------------------------------------------------------------------------------------------
# The converted file
# ---------------------------------------------------------------------------------------------

_PROVENANCE_TEXT = ("source", "doi", "commit", "license", "attribution", "inputs_sha256")
_TEXT_KEYS = ("format_name", *(f"provenance_{k}" for k in _PROVENANCE_TEXT))
_INT_SCALAR_KEYS = ("format_version", "provenance_n_input_files")


def _shapes(n_events: int) -> dict[str, tuple[int, ...]]:
    """Expected shape of every array of the converted file."""
    r, a, e = len(RUNS), len(ANCHORS), len(MONO_ENERGY_TENTHS)
    return {"runs": (r,), "observables": (N_OBSERVABLES,),
            "bin_edges": (r, N_OBSERVABLES, N_BINS_PER_AXIS + 1), "exposure_t_y": (r,),
            "observed": (r, N_BINS), "events": (n_events, N_OBSERVABLES),
            "events_per_run": (r,), "ac": (r, N_BINS), "er": (r, N_BINS),
            "rg": (r, a, a, N_BINS), "mono": (r, a, a, e, N_BINS), "t_ly_anchors": (a,),
            "t_qy_anchors": (a,), "mono_energy_kev": (e,)}


def _to_arrays(release: XenonntRelease) -> dict[str, np.ndarray]:
    """The release as named numpy arrays (no objects, strings as unicode arrays)."""
    arrays = {name: np.asarray(getattr(release, name)) for name in _ARRAY_FIELDS}
    arrays["runs"] = np.array(release.runs, dtype=str)
    arrays["observables"] = np.array(release.observables, dtype=str)
    arrays["events"] = np.concatenate(release.events, axis=0)
    arrays["events_per_run"] = np.array([len(e) for e in release.events], dtype=np.int64)
    arrays["format_name"] = np.array(release.format_name, dtype=str)
    arrays["format_version"] = np.array(release.format_version, dtype=np.int64)
    for key in _PROVENANCE_TEXT:
        arrays[f"provenance_{key}"] = np.array(getattr(release.provenance, key), dtype=str)
    arrays["provenance_n_input_files"] = np.array(release.provenance.n_input_files,
                                                  dtype=np.int64)
    return arrays


def write_release_file(release: XenonntRelease, path: str | os.PathLike) -> Path:
    """Write ``release`` to a compressed ``.npz`` (numpy arrays only, no pickles).

    The file is written to a temporary file beside ``path`` and renamed, so ``path`` never
    holds a partial file.

    Parameters
    ----------
    release : XenonntRelease
        What to store.
    path : str or path-like
        Destination, conventionally ending in ``.npz``.

    Returns
    -------
    Path
        ``path``.
    """
    path = Path(path)
    arrays = _to_arrays(release)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp")
    try:
        with open(tmp, "xb") as handle:  # "x": a new file with the usual (umask) permissions
            np.savez_compressed(handle, **arrays)
        os.replace(tmp, path)
    except OSError as exc:
        raise InputError(f"{path}: cannot be written ({exc.strerror or exc}); choose an "
                         "existing, writable folder") from None
    finally:
        tmp.unlink(missing_ok=True)
    return path


def load_release_file(path: str | os.PathLike) -> XenonntRelease:
    """Read a file written by :func:`write_release_file` (numpy only).

    Parameters
    ----------
    path : str or path-like
        The ``.npz`` file, e.g. ``cevns_scan.tables.data_file("xenonnt_8b.npz")``.

    Returns
    -------
    XenonntRelease

    Raises
    ------
    InputError
        If the file is missing, unreadable or corrupt, of another format or version, has
        arrays of the wrong shape or type, or holds values a release cannot hold.
    """
    path = Path(path)
    arrays = _read_npz(path)
    _check_keys(path, arrays)
    _check_format(path, arrays)
    _check_arrays(path, arrays)
    return _release_from_arrays(arrays)


def _read_npz(path: Path) -> dict[str, np.ndarray]:
    """Every array of an ``.npz`` file, read eagerly (so a corrupt member is caught here)."""
    hint = f"regenerate it with {__name__}.write_release_file or reinstall"
    try:
        with open(path, "rb") as handle:
            npz = np.load(handle, allow_pickle=False)
            if not isinstance(npz, np.lib.npyio.NpzFile):
                raise ValueError("a single .npy array, not an .npz archive")
            with npz:
                return {key: npz[key] for key in npz.files}
    except FileNotFoundError:
        raise InputError(f"{path}: no such file; check the path") from None
    except (OSError, ValueError, EOFError, zipfile.BadZipFile, zlib.error) as exc:
        detail = " ".join(str(exc).split())[:120]
        raise InputError(f"{path}: not a readable converted XENONnT release file "
                         f"({type(exc).__name__}: {detail}); {hint}") from None


def _check_keys(path: Path, arrays: dict[str, np.ndarray]) -> None:
    """Raise unless the file holds exactly the expected arrays."""
    expected = set(_shapes(0)) | set(_TEXT_KEYS) | set(_INT_SCALAR_KEYS)
    missing, extra = sorted(expected - set(arrays)), sorted(set(arrays) - expected)
    if missing or extra:
        raise InputError(f"{path}: not a {FORMAT_NAME} file (missing arrays {missing}, "
                         f"unexpected arrays {extra}); regenerate it with write_release_file")


def _check_format(path: Path, arrays: dict[str, np.ndarray]) -> None:
    """Raise unless the format name, version and scalar types are the expected ones."""
    for key in _TEXT_KEYS:
        if arrays[key].dtype.kind != "U" or arrays[key].ndim != 0:
            raise InputError(f"{path} key {key}: expected a text scalar; regenerate the file")
    for key in _INT_SCALAR_KEYS:
        if arrays[key].dtype.kind != "i" or arrays[key].ndim != 0:
            raise InputError(f"{path} key {key}: expected an integer scalar; regenerate "
                             "the file")
    name, version = str(arrays["format_name"]), int(arrays["format_version"])
    if name != FORMAT_NAME or version != FORMAT_VERSION:
        raise InputError(f"{path}: format {name!r} version {version}, this cevns-scan reads "
                         f"{FORMAT_NAME!r} version {FORMAT_VERSION}; regenerate the file with "
                         "this version's write_release_file or upgrade cevns-scan")


def _check_arrays(path: Path, arrays: dict[str, np.ndarray]) -> None:
    """Raise unless every array has its shape and type and plausible values."""
    shapes = _shapes(len(arrays["events"]) if arrays["events"].ndim == 2 else -1)
    for key, shape in shapes.items():
        kind = {"runs": "U", "observables": "U", "observed": "i", "events_per_run": "i"}
        if arrays[key].shape != shape or arrays[key].dtype.kind != kind.get(key, "f"):
            raise InputError(f"{path} key {key}: shape {arrays[key].shape} dtype "
                             f"{arrays[key].dtype}, expected shape {shape}; regenerate the file")
    if tuple(str(s) for s in arrays["runs"]) != RUNS:
        raise InputError(f"{path} key runs: {arrays['runs'].tolist()}, expected {list(RUNS)}; "
                         "regenerate the file")
    for key in ("bin_edges", "exposure_t_y", "ac", "er", "rg", "mono"):
        _check_values(arrays[key], f"{path} key {key}")
    if np.any(np.diff(arrays["bin_edges"], axis=-1) <= 0.0) or not np.all(
            np.isfinite(arrays["events"])):
        raise InputError(f"{path} keys bin_edges/events: edges not increasing or events not "
                         "finite; regenerate the file")
    _check_efficiency_all(path, arrays["mono"])
    _check_counts(path, arrays)


def _check_efficiency_all(path: Path, mono: np.ndarray) -> None:
    """Raise unless every mono template's efficiencies sum to at most 1."""
    totals = mono.sum(axis=-1)
    if np.any(totals > 1.0) or np.any(mono > 1.0):
        raise InputError(f"{path} key mono: an efficiency exceeds 1 (largest sum over bins "
                         f"{float(totals.max())!r}); regenerate the file")


def _check_counts(path: Path, arrays: dict[str, np.ndarray]) -> None:
    """Raise unless the events split by run and binned give the stored observed counts."""
    per_run = arrays["events_per_run"]
    if np.any(per_run < 0) or int(per_run.sum()) != len(arrays["events"]):
        raise InputError(f"{path} key events_per_run: {per_run.tolist()} does not add up to "
                         f"{len(arrays['events'])} events; regenerate the file")
    for r, events in enumerate(np.split(arrays["events"], np.cumsum(per_run)[:-1])):
        flat, inside = _bin_indices(events, arrays["bin_edges"][r])
        counts = np.bincount(flat[inside], minlength=N_BINS)
        if not np.all(inside) or not np.array_equal(counts, arrays["observed"][r]):
            raise InputError(f"{path} key observed: run {RUNS[r]} counts disagree with its "
                             "events binned with bin_edges; regenerate the file")


def _release_from_arrays(arrays: dict[str, np.ndarray]) -> XenonntRelease:
    """Build the release from validated arrays."""
    split = np.cumsum(arrays["events_per_run"])[:-1]
    provenance = Provenance(*(str(arrays[f"provenance_{k}"]) for k in _PROVENANCE_TEXT),
                            n_input_files=int(arrays["provenance_n_input_files"]))
    return XenonntRelease(
        runs=tuple(str(s) for s in arrays["runs"]),
        observables=tuple(str(s) for s in arrays["observables"]),
        events=tuple(np.split(arrays["events"], split)),
        provenance=provenance,
        format_name=str(arrays["format_name"]),
        format_version=int(arrays["format_version"]),
        **{name: arrays[name] for name in _ARRAY_FIELDS},
    )
