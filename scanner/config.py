"""Configuration: the packaged default (the paper's setup), user TOML files and validation.

A configuration is a two-level mapping ``section -> key -> value``. The packaged
``default.toml`` holds every key; a user's file names only the keys it changes. Every key is
checked for its type and range, and an unknown key is reported with the closest valid one.
"""

from __future__ import annotations

import copy
import difflib
import hashlib
import json
import math
import tomllib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .errors import InputError
from .tables import data_file

FLUX_COMPONENTS = ("pp", "pep", "hep", "7Be", "8B", "13N", "15O", "17F")
FLAVOURS = ("e", "mu", "tau")


@dataclass(frozen=True)
class Field:
    """One configuration key: its kind, a range check and a hint for the error message."""

    kind: str  # "float", "int", "str", "list", "table", "float_or_auto"
    check: Callable[[Any], bool] = lambda v: True
    hint: str = ""
    optional: bool = False


def _positive(v):
    return v > 0


def _non_negative(v):
    return v >= 0


def _unit_interval(v):
    return 0.0 <= v <= 1.0


def _open_unit(v):
    return 0.0 < v < 1.0


SCHEMA: dict[str, dict[str, Field]] = {
    "target": {
        "name": Field("str", lambda v: v.strip() != "", "a non-empty label such as 'Ge'"),
        "z": Field("int", lambda v: 1 <= v <= 120, "an integer proton number 1-120", True),
        "molar_mass": Field("float", _positive, "a molar mass > 0 in g/mol", True),
    },
    "physics": {
        "sin2_theta_w": Field("float", _open_unit, "a number in (0, 1)"),
        "quenching_k": Field("float", _positive, "a number > 0"),
        "bin_rate": Field("str", lambda v: v in ("integrated", "centre"),
                          "'integrated' or 'centre'"),
    },
    "fluxes": {
        "model": Field("str", hint="a model of data/solar_fluxes.csv"),
        "sigma_model": Field("str", hint="a model of data/solar_fluxes.csv with uncertainties"),
        "components": Field("list", lambda v: len(v) > 0 and len(set(v)) == len(v)
                            and all(c in FLUX_COMPONENTS for c in v),
                            "distinct names from " + ", ".join(FLUX_COMPONENTS)),
        "spectrum_8B": Field("str", lambda v: v in ("winter2006", "bahcall1996"),
                             "'winter2006' or 'bahcall1996'"),
        "sigma": Field("table", hint="component = fractional 1-sigma (>= 0)"),
    },
    "oscillation": {
        "sin2_theta12": Field("float", _unit_interval, "a number in [0, 1]"),
        "sin2_theta23": Field("float", _unit_interval, "a number in [0, 1]"),
        "sin2_theta13": Field("float", _unit_interval, "a number in [0, 1]"),
    },
    "fit": {
        "background": Field("str", lambda v: v in ("free", "fixed"), "'free' or 'fixed'"),
        "background_value": Field("float", _non_negative, "a rate >= 0 in events/(keV_ee kg day)"),
        "cl": Field("float", _open_unit, "a confidence level in (0, 1), e.g. 0.9"),
    },
    "asimov": {
        "background": Field("float", _non_negative, "a rate >= 0 in events/(keV_ee kg day)"),
        "exposure_kg_day": Field("float", _positive, "an exposure > 0 in kg day"),
        "tee_min_kev": Field("float", _positive, "an energy > 0 in keV_ee"),
        "bin_width_kev": Field("float", _positive, "a width > 0 in keV_ee"),
        "n_bins": Field("int", lambda v: 1 <= v <= 10000, "an integer 1-10000"),
    },
    "scan": {
        "grid": Field("int", lambda v: 2 <= v <= 100001, "an integer >= 2 (points per axis)"),
        "planes": Field("list", lambda v: len(v) > 0, "a non-empty list such as ['e-mu', 'e-tau']"),
        "mu_max_e": Field("float_or_auto", _positive, "'auto' or a maximum > 0 in mu_B"),
        "mu_max_mu": Field("float_or_auto", _positive, "'auto' or a maximum > 0 in mu_B"),
        "mu_max_tau": Field("float_or_auto", _positive, "'auto' or a maximum > 0 in mu_B"),
        "auto_margin": Field("float", lambda v: v >= 1.0, "a factor >= 1"),
        "chunk_points": Field("int", lambda v: v >= 1, "an integer >= 1"),
    },
    "numerics": {
        "gl_order": Field("int", lambda v: 2 <= v <= 64, "an integer 2-64"),
        "max_ratio": Field("float", lambda v: 1.0 < v <= 2.0, "a ratio in (1, 2]"),
    },
}


def _closest(name: str, candidates) -> str:
    match = difflib.get_close_matches(name, list(candidates), n=1, cutoff=0.4)
    return f"; did you mean {match[0]!r}?" if match else f"; valid keys: {', '.join(candidates)}"


def _coerce(source: str, where: str, field: Field, value: Any) -> Any:
    """Check one value's type and range; return it in its canonical Python type."""
    bad = f"{source}: key {where} = {value!r}"
    kind = field.kind
    if kind == "float_or_auto" and value == "auto":
        return "auto"
    if kind in ("float", "float_or_auto"):
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise InputError(f"{bad} is not a number; use {field.hint}")
        value = float(value)
        if not math.isfinite(value):
            raise InputError(f"{bad} is not finite; use {field.hint}")
    elif kind == "int":
        if isinstance(value, bool) or not isinstance(value, int):
            raise InputError(f"{bad} is not an integer; use {field.hint}")
    elif kind == "str":
        if not isinstance(value, str):
            raise InputError(f"{bad} is not a string; use {field.hint}")
    elif kind == "list":
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise InputError(f"{bad} is not a list of strings; use {field.hint}")
    elif kind == "table":
        if not isinstance(value, dict):
            raise InputError(f"{bad} is not a table; use {field.hint}")
        return value
    if not field.check(value):
        raise InputError(f"{bad} is out of range; use {field.hint}")
    return value


def _check_sigma_table(source: str, table: dict) -> dict:
    out = {}
    for comp, value in table.items():
        where = f"[fluxes.sigma] {comp}"
        if comp not in FLUX_COMPONENTS:
            raise InputError(f"{source}: unknown key {where}{_closest(comp, FLUX_COMPONENTS)}")
        if (isinstance(value, bool) or not isinstance(value, int | float)
                or not math.isfinite(value)):
            raise InputError(f"{source}: key {where} = {value!r} is not a number; "
                             "use a fractional 1-sigma >= 0")
        if value < 0:
            raise InputError(f"{source}: key {where} = {value!r} is negative; "
                             "use a fractional 1-sigma >= 0 (0.12 = 12 %)")
        out[comp] = float(value)
    return out


@dataclass(frozen=True)
class Config:
    """A validated configuration. ``data`` is ``section -> key -> value``."""

    data: dict
    source: str

    def __getitem__(self, section: str) -> dict:
        return self.data[section]

    def to_json(self) -> str:
        """Canonical JSON text (sorted keys): what run.json records and what the hash covers."""
        return json.dumps(self.data, sort_keys=True, separators=(",", ":"))

    def digest(self) -> str:
        """SHA-256 of :meth:`to_json`."""
        return hashlib.sha256(self.to_json().encode()).hexdigest()

    def with_overrides(self, overrides: dict[str, dict[str, Any]], source: str) -> Config:
        """A new validated config with ``overrides`` (same shape as ``data``) applied."""
        return validate(overrides, source, base=self.data)


def default_data() -> dict:
    """The packaged default configuration as a plain nested dict."""
    with open(data_file("default.toml"), "rb") as fh:
        return tomllib.load(fh)


def validate(user: dict, source: str, base: dict | None = None) -> Config:
    """Merge ``user`` over ``base`` (default: the packaged config) and validate every key.

    Raises
    ------
    InputError
        One line naming ``source`` and the offending key, with what would fix it.
    """
    data = copy.deepcopy(base if base is not None else default_data())
    for section, keys in user.items():
        if section not in SCHEMA:
            raise InputError(f"{source}: unknown section [{section}]{_closest(section, SCHEMA)}")
        if not isinstance(keys, dict):
            raise InputError(f"{source}: [{section}] must be a table of keys, not a value")
        for key, value in keys.items():
            fields = SCHEMA[section]
            if key not in fields:
                raise InputError(
                    f"{source}: unknown key [{section}] {key!r}{_closest(key, fields)}"
                )
            if key == "sigma":
                data[section][key] = _check_sigma_table(source, value)
            else:
                data[section][key] = _coerce(source, f"[{section}] {key}", fields[key], value)
    for section, fields in SCHEMA.items():
        data.setdefault(section, {})
        for key, field in fields.items():
            if key not in data[section] and not field.optional:
                raise InputError(f"{source}: key [{section}] {key} is missing")
    _check_consistency(data, source)
    return Config(data, source)


def _check_consistency(data: dict, source: str) -> None:
    """Cross-key checks: target definition, flux models, planes."""
    from .model import KNOWN_TARGETS, flux_models

    tgt = data["target"]
    if tgt["name"] not in KNOWN_TARGETS and ("z" not in tgt or "molar_mass" not in tgt):
        raise InputError(
            f"{source}: key [target] name = {tgt['name']!r} is not built in "
            f"({', '.join(KNOWN_TARGETS)}); give [target] z and molar_mass for another element"
        )
    if "z" in tgt and "molar_mass" in tgt and tgt["molar_mass"] <= tgt["z"]:
        raise InputError(
            f"{source}: key [target] molar_mass = {tgt['molar_mass']} is not above z = {tgt['z']}; "
            "give the molar mass in g/mol"
        )
    models = flux_models()
    for key in ("model", "sigma_model"):
        if data["fluxes"][key] not in models:
            raise InputError(
                f"{source}: key [fluxes] {key} = {data['fluxes'][key]!r} is not in "
                f"data/solar_fluxes.csv{_closest(data['fluxes'][key], models)}"
            )
    for plane in data["scan"]["planes"]:
        parse_plane(plane, f"{source}: key [scan] planes")


def parse_plane(text: str, where: str) -> tuple[str, str]:
    """'e-mu' -> ('e', 'mu'); two distinct flavours from e, mu, tau."""
    parts = text.split("-")
    if len(parts) != 2 or not all(p in FLAVOURS for p in parts) or parts[0] == parts[1]:
        raise InputError(
            f"{where}: plane {text!r} is not two distinct flavours joined by '-'; "
            "use e-mu, e-tau or mu-tau"
        )
    return parts[0], parts[1]


def load_config(path: str | Path | None = None) -> Config:
    """The packaged default, or a user's TOML file merged over it, validated."""
    if path is None:
        return validate({}, "default config")
    path = Path(path)
    try:
        with open(path, "rb") as fh:
            user = tomllib.load(fh)
    except FileNotFoundError:
        raise InputError(f"{path}: config file not found; check the --config path") from None
    except IsADirectoryError:
        raise InputError(f"{path}: is a folder; --config takes a TOML file") from None
    except tomllib.TOMLDecodeError as exc:
        raise InputError(f"{path}: not valid TOML ({exc})") from None
    except OSError as exc:
        raise InputError(f"{path}: cannot be read ({exc.strerror})") from None
    return validate(user, str(path))


def config_from_json(text: str, source: str) -> Config:
    """Rebuild a config saved by :meth:`Config.to_json` (checkpoints, run.json)."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputError(f"{source}: stored config is not valid JSON ({exc.msg})") from None
    return validate(data, source)
