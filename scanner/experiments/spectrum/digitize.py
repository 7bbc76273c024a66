"""Digitised spectrum figures (WebPlotDigitizer CSV exports) -> binned datasets.

A spectrum figure such as CDEX-10's (Geng et al. 2023, Fig. 1: points at the centres of
0.1 keV_ee bins from 0.16 keV_ee, rates in events / (keV_ee kg day)) is digitised twice: the
points, and the upper ends of their error bars. This module reads the exports, snaps the
digitised x of every point onto the regular bin grid, pairs each point with the upper end in
the same bin and returns a :class:`~cevns_scan.experiments.spectrum.datasets.Dataset`
(sigma = upper - point).

Files read
----------
* WebPlotDigitizer's per-dataset download ("View Data" -> "Download .CSV"): ``x<sep>y`` rows,
  no header. The column separator is the one set in that window (default ``", "``; ``"; "``
  when the browser's decimal separator is a comma, so ``0,21; 2,28``; a tab is possible).
* WebPlotDigitizer's "Export all data" file (``wpd_datasets.csv``): two header lines, the
  dataset names over their column pairs (``Default Dataset,`` or ``points,,upper,``) and the
  variables (``X,Y`` or ``X,Y,X,Y``), then the datasets side by side; a shorter dataset's
  cells are left empty.
* The same files after a spreadsheet round trip: a UTF-8 byte-order mark (Excel's "CSV UTF-8"),
  a UTF-16 "Unicode text" file, ``;`` separators with decimal commas, quoted cells.

The column separator is ``;`` if any content line holds one, else a tab if any holds one, else
``,`` if any holds one, else white space. A cell like ``0,21`` (one comma between digits) is a
decimal comma. Lines that are blank, start with ``#`` or hold only empty cells are skipped. A
row before the first data row is a header if no cell parses as a number and at least one cell
has a letter (``x,y``, ``X,Y``, ``Default Dataset,``); any other row that does not parse is an
error naming its line. Line numbers count physical lines as an editor does (1-based, blank,
comment and header lines included).
"""

from __future__ import annotations

import csv
import math
import re
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import numpy as np

from ...errors import InputError, ParameterError, PathError
from ...tables import parse_table, strip_bom
from .datasets import COLUMNS, Dataset, dataset_from_table

#: Default limit on |x - bin centre| of a digitised point, as a fraction of the bin width.
DEFAULT_MAX_SHIFT = 0.25
#: Inferred grids: the median spacing of the points must be within this fraction of the width.
SPACING_TOLERANCE = 0.2
#: Inferred grids: the first edge is rounded to a multiple of width / EDGE_STEPS_PER_BIN.
EDGE_STEPS_PER_BIN = 10

_NUMBER = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?")
_DECIMAL_COMMA = re.compile(r"[+-]?(?:\d+,\d*|,\d+)(?:[eE][+-]?\d+)?")


# --------------------------------------------------------------------------------------------
# Reading the exports
# --------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class XY:
    """One digitised dataset.

    Attributes
    ----------
    path : str
        The file it was read from (as named in error messages).
    name : str
        The dataset name from an "export all" header, or ``"dataset N"`` (N = column pair).
    x : numpy.ndarray
        Digitised x, keV_ee.
    y : numpy.ndarray
        Digitised y, events / (keV_ee kg day).
    lines : tuple of int
        Physical line (1-based, as an editor counts) of each point.
    """

    path: str
    name: str
    x: np.ndarray
    y: np.ndarray
    lines: tuple[int, ...]

    def where(self, i: int) -> str:
        """``'FILE line N'`` of point ``i``."""
        return f"{self.path} line {self.lines[i]}"


def read_text(path: str | Path, role: str = "points") -> str:
    """Read a digitiser export as text (UTF-8, or UTF-16 with a byte-order mark), BOM removed.

    Parameters
    ----------
    path : str or Path
        File to read.
    role : str
        ``"points"`` or ``"upper"``: the parameter of :func:`digitize` named in error messages.
    """
    try:
        raw = Path(path).read_bytes()
    except FileNotFoundError:
        raise PathError(role, path, "no such file; check the path") from None
    except IsADirectoryError:
        raise PathError(role, path, "is a folder, not a CSV file; check the path") from None
    except OSError as exc:
        raise PathError(role, path, f"cannot be read ({exc.strerror}); check the path") from None
    encoding = "utf-16" if raw.startswith((b"\xff\xfe", b"\xfe\xff")) else "utf-8"
    try:
        return strip_bom(raw.decode(encoding))
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise InputError(f"{path} line {line}: not {encoding.upper()} text; save the export "
                         "as CSV (UTF-8)") from None


def _physical_lines(text: str) -> list[str]:
    """Split on \\n, \\r\\n or \\r, as an editor numbers lines."""
    return text.replace("\r\n", "\n").replace("\r", "\n").split("\n")


def _is_content(line: str) -> bool:
    stripped = line.strip()
    return bool(stripped) and not stripped.startswith("#")


def _delimiter(lines: list[str]) -> str | None:
    """The column separator of a file (see the module docstring); None means white space."""
    content = [ln for ln in lines if _is_content(ln)]
    for delim in (";", "\t", ","):
        if any(delim in ln for ln in content):
            return delim
    return None


def _cells(line: str, delim: str | None) -> list[str]:
    """The stripped cells of one line, trailing empty cells dropped."""
    if delim is None:
        cells = line.split()
    else:
        cells = [c.strip() for c in next(csv.reader([line.strip()], delimiter=delim))]
    while cells and cells[-1] == "":
        cells.pop()
    return cells


def _normalise(cell: str) -> str:
    """A decimal comma becomes a decimal point (``0,21`` -> ``0.21``)."""
    return cell.replace(",", ".") if _DECIMAL_COMMA.fullmatch(cell) else cell


def _parses_as_float(cell: str) -> bool:
    try:
        float(_normalise(cell))
    except ValueError:
        return False
    return True


def looks_like_header(cells: list[str]) -> bool:
    """True if no cell parses as a number and at least one cell has a letter."""
    return (not any(_parses_as_float(c) for c in cells)
            and any(ch.isalpha() for c in cells for ch in c))


def _names_row(cells: list[str]) -> bool:
    """An "export all" names row: names over the first column of each x,y pair only."""
    return all(c == "" for c in cells[1::2])


def _value(cell: str, where: str, column: int) -> float:
    """A finite number from one cell, or an error naming the line and column."""
    text = _normalise(cell)
    if not _NUMBER.fullmatch(text):
        raise InputError(f"{where}: column {column} holds {cell!r}, not a number; correct it "
                         "(a decimal point or decimal comma, e.g. 0.21 or 0,21)")
    value = float(text)
    if not math.isfinite(value):
        raise InputError(f"{where}: column {column} holds {cell!r}, not a finite number; "
                         "correct it")
    return value


def _split_rows(lines: list[str], path: str):
    """Header rows and data rows as (line number, cells), in file order."""
    delim = _delimiter(lines)
    header: list[tuple[int, list[str]]] = []
    data: list[tuple[int, list[str]]] = []
    for number, line in enumerate(lines, start=1):
        if not _is_content(line):
            continue
        cells = _cells(line, delim)
        if not cells:
            continue
        if not data and looks_like_header(cells):
            header.append((number, cells))
        else:
            data.append((number, cells))
    if not data:
        raise InputError(f"{path}: no x,y rows; export the digitised dataset from "
                         "WebPlotDigitizer as CSV")
    return header, data


def _check_widths(header, data, path: str) -> int:
    """The number of columns (even); headerless files must have one x,y pair per row."""
    if header:
        line = header[-1][0]
        width = max(len(c) for _, c in header)
        width += width % 2  # a names row ends in its last name: "points,,upper"
        for number, cells in data:
            if len(cells) > width:
                raise InputError(f"{path} line {number}: {len(cells)} cells where the header "
                                 f"(line {line}) has {width}; remove the extra cells")
        return width
    for number, cells in data:
        if len(cells) > 2:
            raise InputError(
                f"{path} line {number}: {len(cells)} cells where x,y has 2; with decimal "
                "commas separate the columns with ';', and keep WebPlotDigitizer's two header "
                "lines for datasets side by side")
    return 2


def _dataset_names(header, n_pairs: int) -> list[str]:
    """Names of the column pairs, from the last "export all" names row if there is one."""
    names_rows = [cells for _, cells in header if _names_row(cells)]
    cells = names_rows[-1] if names_rows else []
    names = []
    for j in range(n_pairs):
        name = cells[2 * j] if 2 * j < len(cells) else ""
        names.append(name or f"dataset {j + 1}")
    return names


def _pair_values(number: int, cells: list[str], j: int, path: str):
    """(x, y) of column pair ``j`` on one row, None if both cells are empty."""
    x_cell = cells[2 * j] if 2 * j < len(cells) else ""
    y_cell = cells[2 * j + 1] if 2 * j + 1 < len(cells) else ""
    if x_cell == "" and y_cell == "":
        return None
    where = f"{path} line {number}"
    if x_cell == "":
        raise InputError(f"{where}: y = {y_cell} has no x value (column {2 * j + 1} is empty); "
                         "give x,y on every row")
    x = _value(x_cell, where, 2 * j + 1)
    if y_cell == "":
        raise InputError(f"{where}: x = {x_cell} has no y value (column {2 * j + 2} is empty); "
                         "give x,y on every row")
    return x, _value(y_cell, where, 2 * j + 2)


def parse_export(text: str, path: str) -> tuple[XY, ...]:
    """Parse a WebPlotDigitizer CSV export (any format of the module docstring).

    Parameters
    ----------
    text : str
        The file's text (a leading byte-order mark is removed).
    path : str
        The file name used in error messages.

    Returns
    -------
    tuple of XY
        One entry per x,y column pair, in column order (empty pairs included).
    """
    lines = _physical_lines(strip_bom(text))
    header, data = _split_rows(lines, path)
    n_pairs = _check_widths(header, data, path) // 2
    names = _dataset_names(header, n_pairs)
    points: list[list[tuple[float, float, int]]] = [[] for _ in range(n_pairs)]
    for number, cells in data:
        for j in range(n_pairs):
            xy = _pair_values(number, cells, j, path)
            if xy is not None:
                points[j].append((*xy, number))
    return tuple(_xy(path, names[j], points[j]) for j in range(n_pairs))


def _xy(path: str, name: str, rows: list[tuple[float, float, int]]) -> XY:
    x = np.array([r[0] for r in rows], dtype=float)
    y = np.array([r[1] for r in rows], dtype=float)
    return XY(path, name, x, y, tuple(r[2] for r in rows))


def read_export(path: str | Path, role: str = "points") -> tuple[XY, ...]:
    """Read a WebPlotDigitizer CSV export: :func:`read_text` then :func:`parse_export`."""
    return parse_export(read_text(path, role), str(path))


def _names(sets: tuple[XY, ...]) -> str:
    return ", ".join(repr(s.name) for s in sets)


def select_dataset(sets: tuple[XY, ...], name: str | None, role: str) -> XY:
    """Pick one dataset of an export by name (case-insensitive) or 1-based column-pair number.

    Parameters
    ----------
    sets : tuple of XY
        The datasets of one file (:func:`parse_export`).
    name : str or None
        The dataset to use; None is allowed when the file holds exactly one non-empty dataset.
    role : str
        ``"points"`` or ``"upper"``: names the parameters of :func:`digitize` in error messages.
    """
    path = sets[0].path
    if name is None:
        filled = [s for s in sets if s.x.size]
        if len(filled) == 1:
            return filled[0]
        raise InputError(f"{path}: holds {len(filled)} non-empty datasets ({_names(sets)}); "
                         f"choose one with {role}_dataset=...")
    key = name.strip().casefold()
    found = [s for s in sets if s.name.strip().casefold() == key]
    if not found and key.isdigit() and 1 <= int(key) <= len(sets):
        found = [sets[int(key) - 1]]
    if len(found) != 1:
        what = "no dataset" if not found else f"{len(found)} datasets"
        raise InputError(f"{path}: {what} named {name!r} (it holds {_names(sets)}); give "
                         f"{role}_dataset=... one of these names or a column-pair number")
    if not found[0].x.size:
        raise InputError(f"{path}: dataset {found[0].name!r} has no points; digitise it")
    return found[0]


# --------------------------------------------------------------------------------------------
# The bin grid
# --------------------------------------------------------------------------------------------

def _dec(value: float) -> Decimal:
    """The decimal a float was written as (its shortest repr: 0.16 -> Decimal('0.16'))."""
    return Decimal(repr(float(value)))


@dataclass(frozen=True)
class BinGrid:
    """Regular bins of width ``width`` with low edges ``first_edge + k * width`` (keV_ee).

    Edges are computed in decimal arithmetic from the decimal forms of ``first_edge`` and
    ``width``, so they carry no float noise (0.16 + 0.1 -> 0.26, not 0.26000000000000001).
    """

    first_edge: float
    width: float
    inferred: bool = False

    def edge(self, k: int) -> float:
        """Low edge of bin ``k`` (keV_ee)."""
        return float(_dec(self.first_edge) + int(k) * _dec(self.width))

    def index(self, x: np.ndarray) -> np.ndarray:
        """Bin index of each x (keV_ee); bin k is [edge(k), edge(k + 1))."""
        return np.floor((np.asarray(x) - self.first_edge) / self.width).astype(np.int64)

    def shift(self, x: np.ndarray) -> np.ndarray:
        """x minus the centre of its bin (keV_ee)."""
        k = self.index(x)
        return np.asarray(x) - (self.first_edge + (k + 0.5) * self.width)


def _check_spacing(xy: XY, width: float) -> None:
    """The median spacing of the sorted x must agree with the bin width.

    Spacings below a quarter of the width (two points in one bin, which :func:`snap` reports
    with both lines) are left out.
    """
    gaps = np.diff(np.sort(xy.x))
    gaps = gaps[gaps >= 0.25 * width]
    if gaps.size == 0:
        return
    spacing = float(np.median(gaps))
    if abs(spacing - width) > SPACING_TOLERANCE * width:
        raise InputError(
            f"{xy.path}: the points are {spacing:.4g} keV_ee apart (median), not the bin width "
            f"{width:g} keV_ee (within {SPACING_TOLERANCE:.0%}); check the bin width "
            "(bin_width=...), or give the first bin edge (first_edge=...) if bins are missing "
            "from the figure")


def _grid_offset(x: np.ndarray, width: float) -> float:
    """Where the bin edges lie modulo the width: a robust circular median of x - w/2."""
    phase = np.mod(x - 0.5 * width, width)
    angle = 2.0 * np.pi * phase / width
    ref = math.atan2(float(np.mean(np.sin(angle))), float(np.mean(np.cos(angle))))
    ref = ref * width / (2.0 * np.pi)
    dev = np.mod(phase - ref + 0.5 * width, width) - 0.5 * width
    return ref + float(np.median(dev))


def infer_grid(xy: XY, width: float) -> BinGrid:
    """The bin grid of digitised points at bin centres.

    Parameters
    ----------
    xy : XY
        The digitised points (x = bin centre, keV_ee).
    width : float
        Bin width, keV_ee.

    Returns
    -------
    BinGrid
        First edge = low edge of the lowest point's bin. The edge offset is a circular median
        of (x - w/2) mod w, rounded to a multiple of w / EDGE_STEPS_PER_BIN (0.01 keV_ee for
        w = 0.1 keV_ee). Give ``first_edge`` to :func:`dataset_from_digitized` for a finer edge.
    """
    _check_spacing(xy, width)
    step = _dec(width) / EDGE_STEPS_PER_BIN
    offset = round(_grid_offset(xy.x, width) / float(step)) * step
    i = int(np.argmin(xy.x))
    k_min = math.floor((float(xy.x[i]) - float(offset)) / width)
    first = offset + k_min * _dec(width)
    if first <= 0:
        raise InputError(f"{xy.where(i)}: x = {xy.x[i]:g} keV_ee lies in a bin starting at "
                         f"{float(first):g} keV_ee; bins must start above 0 keV_ee, check the x "
                         "axis calibration or give the first bin edge (first_edge=...)")
    return BinGrid(float(first), width, inferred=True)


# --------------------------------------------------------------------------------------------
# Snapping and matching
# --------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Snapped:
    """Digitised points on the bin grid: bin index and |x - bin centre| of each point."""

    xy: XY
    index: np.ndarray
    shift: np.ndarray


def _bin_text(grid: BinGrid, k: int) -> str:
    return f"[{grid.edge(k):g}, {grid.edge(k + 1):g}] keV_ee"


def _check_shift(xy: XY, i: int, k: int, shift: float, grid: BinGrid, max_shift: float):
    w = grid.width
    if k < 0 and not grid.inferred:
        raise InputError(f"{xy.where(i)}: x = {xy.x[i]:g} keV_ee lies below the first bin edge "
                         f"{grid.first_edge:g} keV_ee; lower the first bin edge (first_edge=...) "
                         "or remove the point")
    if abs(shift) > max_shift * w:
        raise InputError(
            f"{xy.where(i)}: x = {xy.x[i]:.6g} keV_ee is {shift:+.3g} keV_ee "
            f"({shift / w:+.2f} bin widths) from the centre of bin {_bin_text(grid, k)}, beyond "
            f"the limit of {max_shift:g} bin widths; re-digitise it, or check the bin width "
            "(bin_width=...) and first edge (first_edge=...), or raise the limit "
            "(max_shift=...)")


def _check_one_per_bin(xy: XY, index: np.ndarray, grid: BinGrid, role: str) -> None:
    seen: dict[int, int] = {}
    for i in np.argsort(xy.lines, kind="stable"):
        k = int(index[i])
        if k in seen:
            j = seen[k]
            raise InputError(
                f"{xy.where(i)}: x = {xy.x[i]:g} keV_ee falls in bin {_bin_text(grid, k)} "
                f"with line {xy.lines[j]} (x = {xy.x[j]:g}); keep one {role} per bin (delete "
                "the duplicate) and check the bin width (bin_width=...)")
        seen[k] = int(i)


def snap(xy: XY, grid: BinGrid, max_shift: float, role: str = "points") -> Snapped:
    """Assign each point to its bin; refuse large shifts and two points in one bin.

    Parameters
    ----------
    xy : XY
        Digitised points (x = bin centre, keV_ee).
    grid : BinGrid
        The bins.
    max_shift : float
        Largest allowed |x - bin centre|, as a fraction of the bin width.
    role : str
        ``"points"`` or ``"upper"`` (for messages).
    """
    index = grid.index(xy.x)
    shift = grid.shift(xy.x)
    for i in np.argsort(xy.lines, kind="stable"):
        _check_shift(xy, int(i), int(index[i]), float(shift[i]), grid, max_shift)
    _check_one_per_bin(xy, index, grid, "point" if role == "points" else "upper end")
    return Snapped(xy, index, np.abs(shift))


def _sigmas(points: Snapped, upper: Snapped, grid: BinGrid) -> dict[int, tuple[float, float]]:
    """(rate, sigma) per bin index: each point with the upper end in the same bin."""
    p, u = points.xy, upper.xy
    up_at = {int(k): j for j, k in enumerate(upper.index)}
    pt_at = {int(k): i for i, k in enumerate(points.index)}
    out = {}
    for k, i in sorted(pt_at.items(), key=lambda kv: p.lines[kv[1]]):
        if k not in up_at:
            raise InputError(f"{p.where(i)}: no upper error-bar end in bin {_bin_text(grid, k)} "
                             f"(point x = {p.x[i]:g}); digitise it in {u.path}")
        j = up_at[k]
        sigma = _dec(u.y[j]) - _dec(p.y[i])
        if sigma <= 0:
            raise InputError(
                f"{u.where(j)}: upper end y = {u.y[j]:g} is not above the point y = {p.y[i]:g} "
                f"({p.where(i)}) in bin {_bin_text(grid, k)}; check that the upper file/dataset "
                "holds the upper error-bar ends (upper=..., upper_dataset=...)")
        out[k] = (float(p.y[i]), float(sigma))
    for k, j in sorted(up_at.items(), key=lambda kv: u.lines[kv[1]]):
        if k not in pt_at:
            raise InputError(f"{u.where(j)}: upper end x = {u.x[j]:g} keV_ee is in bin "
                             f"{_bin_text(grid, k)}, which has no point in {p.path}; digitise "
                             "the point or delete this upper end")
    return out


# --------------------------------------------------------------------------------------------
# The dataset
# --------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Digitized:
    """A dataset built from a digitised figure, with how well the points sat on the grid.

    Attributes
    ----------
    dataset : Dataset
        The validated dataset (as a reload of its CSV would give it).
    grid : BinGrid
        The bin grid used (given or inferred).
    max_shift_kev : float
        Largest |x - bin centre| over the points and upper ends, keV_ee.
    max_shift_at : str
        Where it occurs: ``'FILE line N (x = ...)'``.
    max_shift_limit : float
        The limit that was applied, as a fraction of the bin width.
    """

    dataset: Dataset
    grid: BinGrid
    max_shift_kev: float
    max_shift_at: str
    max_shift_limit: float

    def summary(self) -> str:
        """One line for the command line to print."""
        ds = self.dataset
        text = _report(self.grid, ds.rate.size, ds.tee_lo[0], self.max_shift_kev,
                       self.max_shift_limit)
        return f"{text} at {self.max_shift_at}"


def _report(grid: BinGrid, n_bins: int, lo: float, shift_kev: float, limit: float) -> str:
    """Grid and largest shift in words (the ``# digitized:`` metadata line)."""
    how = "inferred from the points" if grid.inferred else "given"
    return (f"{n_bins} bins of {grid.width:g} keV_ee from {lo:g} keV_ee (grid edge {how}); "
            f"largest |x - bin centre| {shift_kev:.3g} keV_ee = {shift_kev / grid.width:.3f} "
            f"bin widths (limit {limit:g})")


def _check_arguments(bin_width, first_edge, max_shift, exposure_kg_day) -> None:
    if not (math.isfinite(bin_width) and bin_width > 0):
        raise ParameterError("bin_width", bin_width, "must be > 0 (keV_ee)")
    if first_edge is not None and not (math.isfinite(first_edge) and first_edge > 0):
        raise ParameterError("first_edge", first_edge, "must be > 0 (keV_ee, the low edge of "
                             "the first bin)")
    if not (math.isfinite(max_shift) and 0 < max_shift < 0.5):
        raise ParameterError("max_shift", max_shift, "must be > 0 and < 0.5 (a fraction of the "
                             f"bin width; default {DEFAULT_MAX_SHIFT:g})")
    if exposure_kg_day is not None and not (math.isfinite(exposure_kg_day)
                                            and exposure_kg_day > 0):
        raise ParameterError("exposure_kg_day", exposure_kg_day, "must be > 0 (kg day)")


def _one_line(text: str, name: str) -> str:
    value = " ".join(str(text).split())
    if not value:
        raise ParameterError(name, text, "is empty; give a one-line text")
    return value


def _load(points: str, upper: str | None, points_dataset, upper_dataset) -> tuple[XY, XY]:
    """The points and upper ends, from two files or from two datasets of one file."""
    sets = read_export(points, "points")
    if upper is not None:
        return (select_dataset(sets, points_dataset, "points"),
                select_dataset(read_export(upper, "upper"), upper_dataset, "upper"))
    filled = [s for s in sets if s.x.size]
    if points_dataset is None and upper_dataset is None:
        if len(filled) != 2:
            raise InputError(f"{points}: holds {len(filled)} non-empty datasets; without "
                             "upper=... it needs two side by side (points, then upper ends, as "
                             "WebPlotDigitizer's 'export all' writes them), or give the upper "
                             "ends' file (upper=...)")
        return filled[0], filled[1]
    p = select_dataset(sets, points_dataset, "points") if points_dataset else None
    u = select_dataset(sets, upper_dataset, "upper") if upper_dataset else None
    if p is not None and u is not None:
        return p, u
    rest = [s for s in filled if s is not p and s is not u]
    if len(rest) != 1:
        raise InputError(f"{points}: name both points_dataset=... and upper_dataset=... (it "
                         f"holds {_names(sets)})")
    return (p or rest[0]), (u or rest[0])


def _metadata(exposure_kg_day, source, text: str) -> dict[str, str]:
    meta = {}
    if exposure_kg_day is not None:
        meta["exposure_kg_day"] = f"{float(exposure_kg_day):.15g}"
    if source is not None:
        meta["source"] = source
    meta["digitized"] = text
    return meta


def digitize(points: str, upper: str | None, bin_width: float, label: str, *,
             first_edge: float | None = None, max_shift: float = DEFAULT_MAX_SHIFT,
             exposure_kg_day: float | None = None, source: str | None = None,
             points_dataset: str | None = None, upper_dataset: str | None = None) -> Digitized:
    """Turn digitised point centres and upper error-bar ends into a dataset, with a report.

    Parameters
    ----------
    points : str
        CSV export of the points (x = bin centre in keV_ee, y = rate in
        events / (keV_ee kg day)); with ``upper=None`` it holds the upper ends as well, as a
        second dataset side by side (WebPlotDigitizer's "export all").
    upper : str or None
        CSV export of the upper error-bar ends (same units).
    bin_width : float
        Bin width, keV_ee.
    label : str
        Dataset label (one line).
    first_edge : float, optional
        Low edge of the first bin of the figure, keV_ee (e.g. 0.16); the grid anchor. Default:
        inferred from the points (:func:`infer_grid`). Points below it are refused; bins
        without a point are left out.
    max_shift : float
        Largest allowed |x - bin centre| of a point or upper end, as a fraction of the bin
        width (0 < max_shift < 0.5).
    exposure_kg_day : float, optional
        Exposure, kg day; written as ``# exposure_kg_day:`` metadata.
    source : str, optional
        Citation of the figure; written as ``# source:`` metadata.
    points_dataset, upper_dataset : str, optional
        Dataset name (or 1-based column-pair number) in a file holding several datasets.

    Returns
    -------
    Digitized
        The dataset (sigma = upper - point, computed on the decimals as written), the grid and
        the largest shift. The dataset's metadata also carries ``digitized`` (grid and shift).
    """
    _check_arguments(bin_width, first_edge, max_shift, exposure_kg_day)
    label = _one_line(label, "label")
    source = None if source is None else _one_line(source, "source")
    p, u = _load(points, upper, points_dataset, upper_dataset)
    if first_edge is None:
        grid = infer_grid(p, bin_width)
    else:
        grid = BinGrid(float(first_edge), float(bin_width))
    sp, su = snap(p, grid, max_shift, "points"), snap(u, grid, max_shift, "upper")
    rows = _sigmas(sp, su, grid)
    ks = sorted(rows)
    at, worst = _largest_shift(sp, su)
    lo = np.array([grid.edge(k) for k in ks])
    hi = np.array([grid.edge(k + 1) for k in ks])
    rate = np.array([rows[k][0] for k in ks])
    sigma = np.array([rows[k][1] for k in ks])
    meta = _metadata(exposure_kg_day, source,
                     _report(grid, len(ks), lo[0], worst, max_shift))
    text = Dataset(label, lo, hi, rate, sigma, source=str(points), metadata=meta).to_csv()
    dataset = dataset_from_table(parse_table(text, COLUMNS, str(points)))
    return Digitized(dataset, grid, worst, at, max_shift)


def _largest_shift(*snapped: Snapped) -> tuple[str, float]:
    """Where the largest |x - bin centre| occurs (``'FILE line N (x = ...)'``) and its value."""
    best = max(((s, int(np.argmax(s.shift))) for s in snapped if s.shift.size),
               key=lambda si: si[0].shift[si[1]])
    s, i = best
    return f"{s.xy.where(i)} (x = {s.xy.x[i]:g})", float(s.shift[i])


def dataset_from_digitized(points: str, upper: str | None, bin_width: float, label: str, *,
                           first_edge: float | None = None,
                           max_shift: float = DEFAULT_MAX_SHIFT,
                           exposure_kg_day: float | None = None, source: str | None = None,
                           points_dataset: str | None = None,
                           upper_dataset: str | None = None) -> Dataset:
    """The dataset of :func:`digitize` (same parameters); its metadata has the shift report."""
    return digitize(points, upper, bin_width, label, first_edge=first_edge,
                    max_shift=max_shift, exposure_kg_day=exposure_kg_day, source=source,
                    points_dataset=points_dataset, upper_dataset=upper_dataset).dataset
