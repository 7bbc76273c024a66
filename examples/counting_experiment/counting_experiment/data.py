"""The data of a counting experiment: one ``.count.toml`` file, read and validated.

A file holds the observed count in one recoil-energy window, the expected background with
its 1-sigma, the exposure and the window::

    label = "argon-8b-demo"          # optional (default: the file name)
    description = "..."              # optional: what figures must say ("" for real data)
    source = "..."                   # optional: a citation
    observed = 44                    # events (an integer >= 0)
    background = 30.0                # expected background events (>= 0)
    background_sigma = 5.0           # its 1-sigma in events (> 0)
    exposure_kg_day = 36525.0        # target mass x live time x efficiency, kg day (> 0)
    window_kev_nr = [1.0, 10.0]      # recoil window, keV_nr (0 < low < high)

Every problem is one line naming the file and the key (:class:`cevns_scan.errors.InputError`),
raised before anything is computed.
"""

from __future__ import annotations

import difflib
import hashlib
import math
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from cevns_scan.errors import InputError

#: The file suffix this kind recognises (``--data NAME.count.toml``).
SUFFIX = ".count.toml"
#: Keys of a data file: required numbers, then optional texts.
NUMBERS = ("observed", "background", "background_sigma", "exposure_kg_day", "window_kev_nr")
TEXTS = ("label", "description", "source")


@dataclass(frozen=True)
class CountingData:
    """One counting measurement (a :class:`~cevns_scan.experiments.protocols.Dataset`).

    ``observed`` events in the window ``window_kev_nr`` (keV_nr) after ``exposure_kg_day``,
    with ``background`` expected background events of 1-sigma ``background_sigma``.
    """

    label: str
    observed: int
    background: float
    background_sigma: float
    exposure_kg_day: float
    window_kev_nr: tuple[float, float]
    source: str = ""
    description: str = ""
    metadata: dict = field(default_factory=dict)

    kind = "counting"

    def to_toml(self) -> str:
        """The data as the text of a ``.count.toml`` file (exact: floats by repr)."""
        lo, hi = self.window_kev_nr
        lines = [f"{key} = {_quote(getattr(self, key))}" for key in TEXTS]
        lines += [f"observed = {self.observed}", f"background = {self.background!r}",
                  f"background_sigma = {self.background_sigma!r}",
                  f"exposure_kg_day = {self.exposure_kg_day!r}",
                  f"window_kev_nr = [{lo!r}, {hi!r}]"]
        return "\n".join(lines) + "\n"

    def digest(self) -> str:
        """SHA-256 of the numbers (a checkpoint belongs to exactly these data)."""
        lo, hi = self.window_kev_nr
        numbers = (self.observed, self.background, self.background_sigma,
                   self.exposure_kg_day, lo, hi)
        return hashlib.sha256(repr(tuple(map(float, numbers))).encode()).hexdigest()


def _quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _number(where: str, key: str, value, ok, hint: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InputError(f"{where}: key {key} = {value!r} is not a number; give {hint}")
    if not (math.isfinite(value) and ok(value)):
        raise InputError(f"{where}: key {key} = {value!r} is out of range; give {hint}")
    return float(value)


def parse_counting(table: dict, where: str, default_label: str) -> CountingData:
    """Validate the keys of a data file (a parsed TOML table); ``where`` names it in errors."""
    known = (*NUMBERS, *TEXTS)
    for key in table:
        if key not in known:
            match = difflib.get_close_matches(key, known, n=1)
            hint = f"; did you mean {match[0]!r}?" if match else f" (keys: {', '.join(known)})"
            raise InputError(f"{where}: unknown key {key!r}{hint}")
    for key in NUMBERS:
        if key not in table:
            raise InputError(f"{where}: key {key} is missing (a counting file needs "
                             f"{', '.join(NUMBERS)})")
    for key in TEXTS:
        if not isinstance(table.get(key, ""), str):
            raise InputError(f"{where}: key {key} must be a text in quotes")
    observed = table["observed"]
    if isinstance(observed, bool) or not isinstance(observed, int) or observed < 0:
        raise InputError(f"{where}: key observed = {observed!r} must be a count (an integer "
                         ">= 0)")
    window = table["window_kev_nr"]
    if not (isinstance(window, list) and len(window) == 2):
        raise InputError(f"{where}: key window_kev_nr = {window!r} must be [low, high] in "
                         "keV_nr")
    lo = _number(where, "window_kev_nr", window[0], lambda v: v > 0, "[low, high] with "
                 "0 < low < high in keV_nr")
    hi = _number(where, "window_kev_nr", window[1], lambda v: v > lo, "[low, high] with "
                 "0 < low < high in keV_nr")
    return CountingData(
        label=table.get("label") or default_label,
        observed=int(observed),
        background=_number(where, "background", table["background"], lambda v: v >= 0,
                           "expected background events >= 0"),
        background_sigma=_number(where, "background_sigma", table["background_sigma"],
                                 lambda v: v > 0, "its 1-sigma in events, > 0"),
        exposure_kg_day=_number(where, "exposure_kg_day", table["exposure_kg_day"],
                                lambda v: v > 0, "an exposure > 0 in kg day"),
        window_kev_nr=(lo, hi),
        source=table.get("source") or where,
        description=table.get("description", ""),
        metadata={"exposure_kg_day": float(table["exposure_kg_day"]),
                  "window_kev_nr": f"{lo:g}-{hi:g}"})


def parse_text(text: str, where: str, default_label: str) -> CountingData:
    """A counting file's text -> validated data."""
    try:
        table = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise InputError(f"{where}: not valid TOML ({exc})") from None
    return parse_counting(table, where, default_label)


def load_counting(path: str | Path) -> CountingData:
    """Read and validate a ``.count.toml`` file."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"data {path}: no such file (a counting file NAME{SUFFIX})")
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"data {path}: cannot read it ({exc})") from None
    return parse_text(text, str(path), path.name[: -len(SUFFIX)] or path.name)
