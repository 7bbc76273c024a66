"""Reading and validating the packaged input tables (``data/``, installed as ``cevns_scan.data``).

Every table is a CSV file with ``#`` citation lines on top, one header row of column names
and numeric (or, for label columns, text) rows. Problems are reported as
:class:`~cevns_scan.errors.InputError` naming the file and the line.
"""

from __future__ import annotations

import csv
import io
import math
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import numpy as np

from .errors import InputError

#: Relative tolerance on the area of a unit-normalised spectral shape before renormalising.
UNIT_AREA_TOLERANCE = 1e-3


def data_file(name: str) -> Path:
    """Path of a packaged data file (works for installed and editable packages)."""
    path = resources.files("cevns_scan.data").joinpath(name)
    if not path.is_file():
        raise InputError(f"packaged data file {name} is missing: reinstall cevns-scan")
    return Path(str(path))


@dataclass(frozen=True)
class Table:
    """A parsed CSV table: header comments, column names and rows (as strings)."""

    path: str
    comments: tuple[str, ...]
    columns: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    line_numbers: tuple[int, ...]

    def numeric(self, column: str, *, allow_empty: bool = False) -> np.ndarray:
        """One column as float64; a non-number or non-finite value is an error naming its line."""
        j = self.columns.index(column)
        out = np.empty(len(self.rows))
        for i, (row, line) in enumerate(zip(self.rows, self.line_numbers, strict=True)):
            text = row[j].strip()
            if text == "" and allow_empty:
                out[i] = math.nan
                continue
            try:
                value = float(text)
            except ValueError:
                raise InputError(
                    f"{self.path} line {line}: column {column!r} holds {text!r}, not a number"
                ) from None
            if not math.isfinite(value):
                raise InputError(
                    f"{self.path} line {line}: column {column!r} is {text}; use a finite number"
                )
            out[i] = value
        return out


#: The UTF-8 byte-order mark that Excel's "CSV UTF-8" puts in front of a file.
BOM = "\ufeff"


def strip_bom(text: str) -> str:
    """Remove a leading UTF-8 byte-order mark, if any."""
    return text[1:] if text.startswith(BOM) else text


def read_table(path: str | Path, required: tuple[str, ...], *, label: str | None = None) -> Table:
    """Parse a CSV table with ``#`` comments and check its header and row lengths.

    Parameters
    ----------
    path : str or Path
        File to read.
    required : tuple of str
        Columns that must be present in the header.
    label : str, optional
        Name used in error messages (defaults to the file name).
    """
    path = Path(path)
    label = label or str(path)
    try:
        text = strip_bom(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputError(f"{label}: no such file; check the path") from None
    except IsADirectoryError:
        raise InputError(f"{label}: is a folder, not a CSV file") from None
    except UnicodeDecodeError:
        raise InputError(f"{label}: not a UTF-8 text file; export the table as CSV") from None
    except OSError as exc:
        raise InputError(f"{label}: cannot be read ({exc.strerror})") from None
    return parse_table(text, required, label)


def parse_table(text: str, required: tuple[str, ...], label: str) -> Table:
    """Parse CSV ``text`` (see :func:`read_table`)."""
    comments: list[str] = []
    header: list[str] | None = None
    header_line = 0
    rows: list[tuple[str, ...]] = []
    lines: list[int] = []
    for number, raw in enumerate(io.StringIO(text), start=1):
        stripped = raw.strip()
        if stripped == "":
            continue
        if stripped.startswith("#"):
            if header is None:
                comments.append(stripped.lstrip("#").strip())
            continue
        fields = next(csv.reader([stripped]))
        if header is None:
            header = [f.strip() for f in fields]
            header_line = number
            if len(header) == 1 and any(d in stripped for d in (";", "\t", " ")):
                raise InputError(
                    f"{label} line {number}: header {stripped!r} is not comma-separated; "
                    "use ',' as the delimiter"
                )
            missing = [c for c in required if c not in header]
            if missing:
                raise InputError(
                    f"{label} line {number}: header lacks column(s) {', '.join(missing)}; "
                    f"expected {','.join(required)}"
                )
            continue
        if len(fields) != len(header):
            raise InputError(
                f"{label} line {number}: {len(fields)} fields where the header "
                f"(line {header_line}) has {len(header)}; use ',' as the delimiter"
            )
        rows.append(tuple(fields))
        lines.append(number)
    if header is None:
        raise InputError(f"{label}: empty file (no header row); expected {','.join(required)}")
    if not rows:
        raise InputError(f"{label}: no data rows after the header on line {header_line}")
    return Table(label, tuple(comments), tuple(header), tuple(rows), tuple(lines))


def check_increasing(table: Table, column: str, values: np.ndarray) -> None:
    """Raise unless ``values`` are strictly increasing (naming the first offending line)."""
    bad = np.nonzero(np.diff(values) <= 0.0)[0]
    if bad.size:
        i = int(bad[0]) + 1
        raise InputError(
            f"{table.path} line {table.line_numbers[i]}: {column} = {values[i]:g} does not "
            f"exceed the previous row ({values[i - 1]:g}); sort the rows by {column}"
        )


def check_non_negative(table: Table, column: str, values: np.ndarray) -> None:
    """Raise unless every value is >= 0 (naming the first offending line)."""
    bad = np.nonzero(values < 0.0)[0]
    if bad.size:
        i = int(bad[0])
        raise InputError(
            f"{table.path} line {table.line_numbers[i]}: {column} = {values[i]:g} is negative; "
            "a spectrum or flux cannot be negative"
        )


@dataclass(frozen=True)
class Spectrum:
    """A unit-area piecewise-linear spectral shape: nodes in MeV, density in MeV^-1."""

    e_mev: np.ndarray
    density: np.ndarray
    source: str


def load_spectrum(path: str | Path, column: str = "dN_dE_per_MeV", label: str | None = None):
    """Load a spectral shape, check it, and renormalise its trapezoid area to exactly 1.

    The table must have strictly increasing energies, finite non-negative values and an
    area within :data:`UNIT_AREA_TOLERANCE` of 1 (a larger deviation means a wrong column or
    units, which renormalising would hide).
    """
    table = read_table(path, ("E_nu_MeV", column), label=label)
    e = table.numeric("E_nu_MeV")
    f = table.numeric(column)
    if e.size < 2:
        raise InputError(f"{table.path}: a spectrum needs at least two rows")
    check_increasing(table, "E_nu_MeV", e)
    check_non_negative(table, "E_nu_MeV", e)
    check_non_negative(table, column, f)
    area = float(np.sum(0.5 * np.diff(e) * (f[1:] + f[:-1])))
    if not abs(area - 1.0) <= UNIT_AREA_TOLERANCE:
        raise InputError(
            f"{table.path}: column {column} has area {area:.6g} over E_nu_MeV, not 1 within "
            f"{UNIT_AREA_TOLERANCE:g}; give a unit-area shape in MeV^-1"
        )
    return Spectrum(e, f / area, " ".join(table.comments))
