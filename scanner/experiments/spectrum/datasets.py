"""Binned datasets: CSV loading and validation, the built-in ``cdex10-asimov``, digitised imports.

A dataset CSV has the columns ``Tee_lo_keV,Tee_hi_keV,rate,sigma`` (rate and sigma in
events / (keV_ee kg day)) and optional ``# key: value`` metadata lines before the header
(``label``, ``exposure_kg_day``, ``source``, ``units``).
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ...errors import InputError
from ...tables import Table, read_table
from .response import BIN_EDGE_TOLERANCE

COLUMNS = ("Tee_lo_keV", "Tee_hi_keV", "rate", "sigma")
RATE_UNITS = "events/(keV_ee kg day)"
#: Spellings of the rate unit accepted in a ``# units:`` line.
UNIT_ALIASES = {RATE_UNITS, "events/(kev kg day)", "events/(kev_ee kg day)", "cpkkd",
                "counts/(kev kg day)", "counts/(kev_ee kg day)", "/(kev kg day)"}
ASIMOV_NAME = "cdex10-asimov"
ASIMOV_NOTE = ("expected sensitivity for a CDEX-10-like exposure (Asimov data: SM expectation "
               "plus a flat background), not the published CDEX-10 data points")


@dataclass(frozen=True)
class Dataset:
    """Observed binned rates with 1-sigma errors, events / (keV_ee kg day)."""

    label: str
    tee_lo: np.ndarray
    tee_hi: np.ndarray
    rate: np.ndarray
    sigma: np.ndarray
    source: str
    description: str = ""
    metadata: dict = field(default_factory=dict)

    #: The experiment kind of binned keV_ee spectra (:mod:`cevns_scan.experiments.spectrum`).
    kind = "spectrum"

    def __post_init__(self):
        check_dataset_arrays(self)

    def __repr__(self) -> str:
        return (f"Dataset({self.label!r}, {self.rate.size} bins "
                f"{self.tee_lo[0]:g}-{self.tee_hi[-1]:g} keV_ee, source={self.source!r})")

    def to_csv(self) -> str:
        """The dataset in its CSV schema (metadata lines first)."""
        lines = [f"# label: {self.label}", f"# units: {RATE_UNITS}"]
        lines += [f"# {k}: {v}" for k, v in self.metadata.items() if k not in ("label", "units")]
        if self.description:
            lines.append(f"# note: {self.description}")
        lines.append(",".join(COLUMNS))
        for row in zip(self.tee_lo, self.tee_hi, self.rate, self.sigma, strict=True):
            lines.append(",".join(repr(float(x)) for x in row))
        return "\n".join(lines) + "\n"

    def digest(self) -> str:
        """SHA-256 of the numbers (exact bytes) and the label."""
        h = hashlib.sha256(self.label.encode())
        for arr in (self.tee_lo, self.tee_hi, self.rate, self.sigma):
            h.update(np.ascontiguousarray(arr, dtype="<f8").tobytes())
        return h.hexdigest()


def _check_bin(where: str, lo: float, hi: float, sigma: float) -> None:
    """One bin [lo, hi] keV_ee with its 1-sigma error; ``where`` names it (file and line, or
    dataset and bin) in the one-line error."""
    if lo <= 0 or hi <= lo:
        raise InputError(f"{where}: [{lo:g}, {hi:g}] keV_ee needs 0 < Tee_lo_keV < Tee_hi_keV")
    if sigma <= 0:
        raise InputError(f"{where}: sigma = {sigma:g} must be > 0 "
                         "(a 1-sigma error in events/(keV_ee kg day))")


def _metadata(table: Table) -> dict[str, str]:
    meta = {}
    for line in table.comments:
        if ":" in line:
            key, value = line.split(":", 1)
            key = key.strip().lower()
            if key and " " not in key:
                meta[key] = value.strip()
    return meta


def dataset_from_table(table: Table) -> Dataset:
    """Validate a parsed dataset table (ordering, overlaps, finite values, sigma > 0)."""
    meta = _metadata(table)
    units = meta.get("units")
    if units is not None and units.lower().replace(" ", "") not in {
            u.replace(" ", "") for u in UNIT_ALIASES}:
        raise InputError(f"{table.path}: '# units: {units}' is not {RATE_UNITS}; "
                         "convert rate and sigma to events per keV_ee per kg per day")
    lo, hi, rate, sigma = (table.numeric(c) for c in COLUMNS)
    for i, line in enumerate(table.line_numbers):
        where = f"{table.path} line {line}"
        _check_bin(where, lo[i], hi[i], sigma[i])
        if i > 0:
            if lo[i] < lo[i - 1]:
                raise InputError(f"{where}: bin starts at {lo[i]:g} keV_ee, below the previous "
                                 "bin; sort the rows by Tee_lo_keV")
            if lo[i] < hi[i - 1] - BIN_EDGE_TOLERANCE * (hi[i - 1] - lo[i - 1]):
                raise InputError(f"{where}: bin [{lo[i]:g}, {hi[i]:g}] overlaps the previous "
                                 f"bin ending at {hi[i - 1]:g} keV_ee; bins must not overlap")
    if "exposure_kg_day" in meta:
        try:
            exposure = float(meta["exposure_kg_day"])
        except ValueError:
            exposure = math.nan
        if not (math.isfinite(exposure) and exposure > 0):
            raise InputError(f"{table.path}: '# exposure_kg_day: {meta['exposure_kg_day']}' "
                             "must be a number > 0 (kg day)")
    label = meta.get("label") or Path(table.path).stem
    return Dataset(label, lo, hi, rate, sigma, table.path, meta.get("note", ""),
                   {k: v for k, v in meta.items() if k not in ("label", "note")})


def load_dataset(path: str | Path) -> Dataset:
    """Read and validate a dataset CSV (see module docstring)."""
    return dataset_from_table(read_table(path, COLUMNS))


def asimov_dataset(model, asimov, response) -> Dataset:
    """The built-in ``cdex10-asimov`` dataset (docs/design.md §4).

    ``asimov`` is the ``[asimov]`` config section: bins of ``bin_width_kev`` from
    ``tee_min_kev``; observed = SM expectation of the model (all its flux components) seen by
    the detector's ``response`` settings (``quenching_k``, ``bin_rate``: the ``[spectrum]``
    section) + flat background b0; Delta_i = Poisson error of the expected counts,
    sqrt(N_i) / (exposure * width), N_i = (S_i + b0) * exposure * width.
    """
    from .response import binned_templates

    a = asimov
    edges = a.tee_min_kev + a.bin_width_kev * np.arange(a.n_bins + 1)
    lo, hi = edges[:-1], edges[1:]
    width = hi - lo
    sm = binned_templates(model, lo, hi, response.quenching_k, response.bin_rate).sm.sum(axis=0)
    rate = sm + a.background
    counts = rate * a.exposure_kg_day * width
    if np.any(counts <= 0):
        raise InputError("config [asimov]: expected counts are zero in some bin, so the Poisson "
                         "error vanishes; set [asimov] background > 0")
    sigma = np.sqrt(counts) / (a.exposure_kg_day * width)
    meta = {"exposure_kg_day": a.exposure_kg_day, "background": a.background,
            "source": f"Asimov: SM ({model.flux_model}, {model.target.name}) + flat background"}
    return Dataset(ASIMOV_NAME, lo, hi, rate, sigma, ASIMOV_NAME, ASIMOV_NOTE, meta)


def check_dataset_arrays(ds) -> None:
    """The checks of the CSV reader for a dataset built in Python: equal-length finite arrays,
    0 < lo < hi, ordered non-overlapping bins, sigma > 0 (one line naming the bin)."""
    arrays = {}
    for name in ("tee_lo", "tee_hi", "rate", "sigma"):
        try:
            a = np.asarray(getattr(ds, name), dtype=float)
        except (TypeError, ValueError):
            raise InputError(f"dataset {ds.label}: {name} is not an array of numbers") from None
        if a.ndim != 1:
            raise InputError(f"dataset {ds.label}: {name} must be one-dimensional")
        arrays[name] = a
    n = arrays["tee_lo"].size
    if n == 0 or any(a.size != n for a in arrays.values()):
        raise InputError(f"dataset {ds.label}: tee_lo, tee_hi, rate and sigma need the same "
                         "non-zero length")
    for name, a in arrays.items():
        if not np.all(np.isfinite(a)):
            i = int(np.nonzero(~np.isfinite(a))[0][0])
            raise InputError(f"dataset {ds.label} bin {i}: {name} = {float(a[i])!r} is not finite")
    lo, hi, sigma = arrays["tee_lo"], arrays["tee_hi"], arrays["sigma"]
    for i in range(n):
        _check_bin(f"dataset {ds.label} bin {i}", lo[i], hi[i], sigma[i])
        if i > 0 and lo[i] < hi[i - 1] - BIN_EDGE_TOLERANCE * (hi[i - 1] - lo[i - 1]):
            raise InputError(f"dataset {ds.label} bin {i}: [{lo[i]:g}, {hi[i]:g}] keV_ee starts "
                             f"below the end of the previous bin ({hi[i - 1]:g}); bins must be "
                             "ordered and must not overlap")
