"""Binned datasets: CSV loading and validation, the built-in ``cdex10-asimov``, digitised imports.

A dataset CSV has the columns ``Tee_lo_keV,Tee_hi_keV,rate,sigma`` (rate and sigma in
events / (keV_ee kg day)) and optional ``# key: value`` metadata lines before the header
(``label``, ``exposure_kg_day``, ``source``, ``units``).
"""

from __future__ import annotations

import difflib
import hashlib
import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .errors import InputError
from .experiments.quenched import BIN_EDGE_TOLERANCE
from .tables import Table, read_table

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
        if lo[i] <= 0 or hi[i] <= lo[i]:
            raise InputError(f"{where}: bin [{lo[i]:g}, {hi[i]:g}] keV_ee needs "
                             "0 < Tee_lo_keV < Tee_hi_keV")
        if sigma[i] <= 0:
            raise InputError(f"{where}: sigma = {sigma[i]:g} must be > 0 "
                             "(a 1-sigma error in events/(keV_ee kg day))")
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


def asimov_dataset(model, asimov) -> Dataset:
    """The built-in ``cdex10-asimov`` dataset (docs/design.md §4).

    ``asimov`` is the :class:`~cevns_scan.config.AsimovSection`: bins of ``bin_width_kev``
    from ``tee_min_kev``; observed = SM expectation of the model (all its flux components) +
    flat background b0; Delta_i = Poisson error of the expected counts,
    sqrt(N_i) / (exposure * width), N_i = (S_i + b0) * exposure * width.
    """
    from .experiments.quenched import binned_templates

    a = asimov
    edges = a.tee_min_kev + a.bin_width_kev * np.arange(a.n_bins + 1)
    lo, hi = edges[:-1], edges[1:]
    width = hi - lo
    sm = binned_templates(model, lo, hi).sm.sum(axis=0)
    rate = sm + a.background
    counts = rate * a.exposure_kg_day * width
    if np.any(counts <= 0):
        raise InputError("config [asimov]: expected counts are zero in some bin, so the Poisson "
                         "error vanishes; set [asimov] background > 0")
    sigma = np.sqrt(counts) / (a.exposure_kg_day * width)
    meta = {"exposure_kg_day": a.exposure_kg_day, "background": a.background,
            "source": f"Asimov: SM ({model.flux_model}, {model.target.name}) + flat background"}
    return Dataset(ASIMOV_NAME, lo, hi, rate, sigma, ASIMOV_NAME, ASIMOV_NOTE, meta)


#: Datasets built in (``--data NAME``).
BUILT_IN = (ASIMOV_NAME, "xenonnt-8b")


def resolve_dataset(spec: str | None, model, config) -> Dataset:
    """``None`` or ``'cdex10-asimov'`` -> the Asimov dataset; anything else is a CSV path.

    A path that does not exist but is close to a built-in name gets a did-you-mean.
    """
    if spec in (None, ASIMOV_NAME):
        return asimov_dataset(model, config.asimov)
    if not Path(spec).exists():
        match = difflib.get_close_matches(spec, BUILT_IN, n=1, cutoff=0.6)
        if match:
            raise InputError(f"--data {spec}: no such file, and not a built-in dataset; did you "
                             f"mean {match[0]!r}? (built in: {', '.join(BUILT_IN)})")
    return load_dataset(spec)
