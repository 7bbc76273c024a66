"""Configuration: typed, frozen sections read as ``cfg.scan.grid``.

The packaged ``default.toml`` (the paper's setup) holds every key; a user's TOML file names
only the keys it changes. Each section is a frozen dataclass whose fields carry their own
validation (kind, range check, hint); an unknown section or key is reported with the closest
valid one, and every error is one line naming the source and the key.

Stdlib dataclasses rather than a validation library: the design card fixes the dependencies,
the schema is small and flat, and the one-line messages with did-you-mean are ours to word.
"""

from __future__ import annotations

import copy
import dataclasses
import difflib
import hashlib
import json
import math
import tomllib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .errors import InputError
from .tables import data_file

FLUX_COMPONENTS = ("pp", "pep", "hep", "7Be", "8B", "13N", "15O", "17F")
FLAVOURS = ("e", "mu", "tau")

#: The physics choices and their allowed values (docs/design.md §2): flavour probabilities,
#: target nuclei, weak couplings. The first value of each is the paper's.
CHOICES = {
    "oscillation": ("constant", "msw"),
    "isotopes": ("effective", "natural"),
    "couplings": ("tree", "radiative"),
}
#: ``[physics] preset`` -> the choice it implies for each key of :data:`CHOICES`.
PRESETS = {
    "paper": {"oscillation": "constant", "isotopes": "effective", "couplings": "tree"},
    "modern": {"oscillation": "msw", "isotopes": "natural", "couplings": "radiative"},
}
#: Where each choice is configured: choice -> (section, key).
CHOICE_KEYS = {"oscillation": ("oscillation", "model"), "isotopes": ("target", "isotopes"),
               "couplings": ("physics", "couplings")}


def number_text(x: float) -> str:
    """A short rendering of a range end: 5.25e6, 7.5e-5, 0.12, 100."""
    if x != 0 and not 1e-3 <= abs(x) < 1e4:
        mantissa, exponent = f"{x:.6e}".split("e")
        return f"{mantissa.rstrip('0').rstrip('.')}e{int(exponent)}"
    return f"{x:.6g}"


@dataclass(frozen=True)
class Range:
    """The plausible range of a physical key, in the unit the key takes.

    A value outside it is almost always a unit slip (``sno_flux = 5.25`` for 5.25e6 cm^-2
    s^-1, ``8B = 12`` for a 12 % fractional error), so it is refused with the unit and the
    range. ``low_open``/``high_open`` exclude an end; ``None`` leaves a side unbounded.
    ``note`` names the reference value (``"SNO: 5.25e6"``).
    """

    low: float | None
    high: float | None
    unit: str = ""
    low_open: bool = False
    high_open: bool = False
    note: str = ""

    def __call__(self, value) -> bool:
        values = value if isinstance(value, tuple) else (value,)
        return all(self._inside(v) for v in values)

    def _inside(self, v) -> bool:
        if self.low is not None and (v < self.low or (self.low_open and v == self.low)):
            return False
        return not (self.high is not None
                    and (v > self.high or (self.high_open and v == self.high)))

    @property
    def unit_text(self) -> str:
        return f" {self.unit}" if self.unit else ", dimensionless"

    def text(self) -> str:
        """``in [5.25e5, 5.25e7] cm^-2 s^-1``, ``> 0 mu_B``..."""
        lo, hi = self.low, self.high
        if lo is not None and hi is not None:
            span = (f"in {'(' if self.low_open else '['}{number_text(lo)}, {number_text(hi)}"
                    f"{')' if self.high_open else ']'}")
        elif lo is not None:
            span = f"{'>' if self.low_open else '>='} {number_text(lo)}"
        elif hi is not None:
            span = f"{'<' if self.high_open else '<='} {number_text(hi)}"
        else:
            span = "any value"
        return span + self.unit_text + (f" ({self.note})" if self.note else "")


@dataclass(frozen=True)
class Spec:
    """How one configuration key is checked: its kind, a range check and a hint.

    ``valid`` is the :class:`Range` of a physical key (its unit and plausible values), or
    None for a key that is not a physical quantity (names, choices, list lengths).
    """

    kind: str  # "float", "int", "str", "list", "floats", "table", "float_or_auto"
    check: Callable[[Any], bool] = lambda v: True
    hint: str = ""
    valid: Range | None = None
    length: int | None = None

    @property
    def expected(self) -> str:
        """What a valid value is: the hint, with the unit and range of a physical key."""
        if self.valid is None:
            return self.hint
        return f"{self.hint} {self.valid.text()}".strip()


def config_key(kind: str, check: Callable[[Any], bool] | Range | None = None, hint: str = "",
               optional: bool = False, length: int | None = None):
    """A dataclass field carrying its :class:`Spec`; ``optional`` keys default to None.

    ``kind`` is one of "float", "int", "str", "list" (of strings), "floats" (list of
    numbers), "table" (of component = fractional sigma) or "float_or_auto"; ``check`` a
    :class:`Range` for a physical quantity (its unit and plausible values, each element of a
    list), or another test of the coerced value; ``hint`` what a valid value is (the error
    message's fix; a range adds its unit and ends); ``length`` the number of elements of a
    "floats" list. Experiment kinds declare their config sections with it.
    """
    if isinstance(check, Range):
        spec = Spec(kind, check, hint, check, length)
    else:
        spec = Spec(kind, check or (lambda v: True), hint, None, length)
    if optional:
        return field(default=None, metadata={"spec": spec})
    return field(metadata={"spec": spec})


#: A fractional (relative) 1-sigma: 0.12 is 12 %.
FRACTION = Range(0.0, 1.0, "", note="a fraction: 0.12 = 12 %")
#: The plausible magnetic moments of any input, in mu_B: laboratory limits lie near 1e-11,
#: an electron's moment is 1; 3 for 3e-8 is a unit slip.
MU_RANGE = Range(0.0, 1e-4, "mu_B", low_open=True)
#: Measured Delta m^2_21 (de Salas et al. 2021), eV^2; the range is a factor of ten each way.
DM2_21_EV2 = 7.50e-5


#: The fewest points per grid axis (library, config and command line).
MIN_GRID = 2
#: The most points per grid axis a configuration may ask for.
MAX_GRID = 100001


@dataclass(frozen=True)
class TargetSection:
    """[target]: the detector element and how its nuclei are modelled (docs/design.md §2).

    ``molar_mass`` must also fit the element (its natural isotopes' masses, see
    :func:`cevns_scan.targets.make_target`), as ``z`` must match it.
    """

    name: str = config_key("str", lambda v: v.strip() != "",
                     "a chemical symbol such as 'Ge' or 'Ar', or a label with z and molar_mass")
    z: int | None = config_key("int", lambda v: 1 <= v <= 120, "an integer proton number 1-120",
                         optional=True)
    molar_mass: float | None = config_key("float", Range(1.0, 300.0, "g/mol"), "a molar mass",
                                    optional=True)
    isotopes: str | None = config_key("str", lambda v: v in CHOICES["isotopes"],
                                "'effective' or 'natural'", optional=True)


@dataclass(frozen=True)
class PhysicsSection:
    """[physics]: preset of physics choices and the weak couplings."""

    preset: str = config_key("str", lambda v: v in PRESETS, "'paper' or 'modern'")
    sin2_theta_w: float = config_key(
        "float", Range(0.1, 0.4, note="PDG low-energy value 0.23863"), "sin^2 theta_W")
    couplings: str | None = config_key("str", lambda v: v in CHOICES["couplings"],
                                 "'tree' or 'radiative'", optional=True)


@dataclass(frozen=True)
class FluxesSection:
    """[fluxes]: solar model, components, 8B shape and flux uncertainties."""

    model: str = config_key("str", hint="a model of data/solar_fluxes.csv")
    sigma_model: str = config_key("str", hint="a model of data/solar_fluxes.csv with uncertainties")
    components: tuple[str, ...] = config_key(
        "list", lambda v: len(v) > 0 and len(set(v)) == len(v)
        and all(c in FLUX_COMPONENTS for c in v), "distinct names from "
        + ", ".join(FLUX_COMPONENTS))
    spectrum_8B: str = config_key("str", lambda v: v in ("winter2006", "bahcall1996"),
                            "'winter2006' or 'bahcall1996'")
    sigma: tuple[tuple[str, float], ...] = config_key("table", FRACTION,
                                                hint="component = fractional 1-sigma")

    def sigma_overrides(self) -> dict[str, float]:
        """``[fluxes.sigma]`` as a dict: component -> fractional 1-sigma."""
        return dict(self.sigma)


def _mixing(value: str) -> Range:
    return Range(0.0, 1.0, note=f"de Salas et al. 2021: {value}")


@dataclass(frozen=True)
class OscillationSection:
    """[oscillation]: flavour-probability model and its parameters (eqs. 8-11; MSW)."""

    sin2_theta12: float = config_key("float", _mixing("0.318"), "sin^2 theta_12")
    sin2_theta23: float = config_key("float", _mixing("0.574"), "sin^2 theta_23")
    sin2_theta13: float = config_key("float", _mixing("0.02200"), "sin^2 theta_13")
    dm2_21_ev2: float = config_key(
        "float", Range(DM2_21_EV2 / 10, DM2_21_EV2 * 10, "eV^2",
                       note="within a factor of ten of the measured 7.5e-5 eV^2"),
        "a mass splitting Delta m^2_21")
    model: str | None = config_key("str", lambda v: v in CHOICES["oscillation"],
                             "'constant' or 'msw'", optional=True)


@dataclass(frozen=True)
class FitSection:
    """[fit]: the confidence level of contours and limits."""

    cl: float = config_key("float", Range(0.0, 1.0, low_open=True, high_open=True,
                                          note="0.9 = 90 %"), "a confidence level")


_MU_MAX_HINT = "'auto' or an axis maximum"


@dataclass(frozen=True)
class ScanSection:
    """[scan]: grids, planes and chunking of the 2-D scans."""

    grid: int = config_key("int", lambda v: MIN_GRID <= v <= MAX_GRID,
                           f"an integer >= {MIN_GRID} points per axis (at most {MAX_GRID})")
    planes: tuple[str, ...] = config_key("list", lambda v: len(v) > 0,
                                   "a non-empty list such as ['e-mu', 'e-tau']")
    mu_max_e: float | str = config_key("float_or_auto", MU_RANGE, _MU_MAX_HINT)
    mu_max_mu: float | str = config_key("float_or_auto", MU_RANGE, _MU_MAX_HINT)
    mu_max_tau: float | str = config_key("float_or_auto", MU_RANGE, _MU_MAX_HINT)
    auto_margin: float = config_key("float", Range(1.0, 10.0), "a factor on the crossing")
    chunk_points: int = config_key("int", lambda v: v >= 1, "an integer >= 1")
    neyman_chunk_points: int = config_key("int", lambda v: v >= 1, "an integer >= 1")

    def mu_max(self, flavour: str) -> float | str:
        """The configured axis maximum of ``flavour`` (mu_B) or ``'auto'``."""
        return getattr(self, f"mu_max_{flavour}")


@dataclass(frozen=True)
class NumericsSection:
    """[numerics]: quadrature of the recoil-bin integrals."""

    gl_order: int = config_key("int", lambda v: 2 <= v <= 64, "an integer 2-64")
    max_ratio: float = config_key("float", Range(1.0, 2.0, low_open=True),
                                  "a ratio T_hi / T_lo of recoil sub-intervals")


#: The core sections (physics model, scans, numerics), in file order; experiment kinds add
#: theirs (:attr:`~cevns_scan.experiments.protocols.ExperimentKind.config_sections`).
CORE_SECTIONS: dict[str, type] = {
    "target": TargetSection, "physics": PhysicsSection, "fluxes": FluxesSection,
    "oscillation": OscillationSection, "fit": FitSection, "scan": ScanSection,
    "numerics": NumericsSection,
}


def sections() -> dict[str, type]:
    """Every section of the schema: the core ones, then each registered experiment kind's."""
    from .experiments.registry import kinds

    out = dict(CORE_SECTIONS)
    for k in kinds().values():
        for name, cls in k.config_sections.items():
            if name in out:
                raise InputError(f"experiment kind {k.name!r} declares config section "
                                 f"[{name}], which exists already; rename it")
            out[name] = cls
    return out


def moved_keys() -> dict[tuple[str, str], tuple[str, str]]:
    """(old section, key) -> (section, key) of keys that moved into a kind's section."""
    from .experiments.registry import kinds

    out = {}
    for k in kinds().values():
        out.update(k.config_moved)
    return out


def _specs(section: str, schema: dict[str, type] | None = None) -> dict[str, tuple[Spec, bool]]:
    """key -> (Spec, optional) of one section."""
    cls = (schema or sections())[section]
    return {f.name: (f.metadata["spec"], f.default is None) for f in dataclasses.fields(cls)}


@dataclass(frozen=True)
class Config:
    """A validated configuration: typed sections plus where it came from.

    The core sections are attributes (``cfg.scan.grid``); an experiment kind's section is
    read the same way (``cfg.xenonnt.sigma_ac``) or as ``cfg.section("xenonnt")``. ``notes``
    are remarks about the file (keys given at their old place).
    """

    target: TargetSection
    physics: PhysicsSection
    fluxes: FluxesSection
    oscillation: OscillationSection
    fit: FitSection
    scan: ScanSection
    numerics: NumericsSection
    extra: tuple[tuple[str, Any], ...] = ()
    source: str = "default config"
    notes: tuple[str, ...] = ()

    def __getattr__(self, name):
        if name.startswith("__") or name == "extra":
            raise AttributeError(name)
        for section, value in self.extra:
            if section == name:
                return value
        raise AttributeError(f"config has no section {name!r}")

    def section(self, name: str):
        """The section ``name`` (core or an experiment kind's)."""
        return getattr(self, name)

    def section_names(self) -> tuple[str, ...]:
        """Core sections, then the experiment kinds', in file order."""
        return (*CORE_SECTIONS, *(name for name, _ in self.extra))

    def to_dict(self) -> dict:
        """``section -> key -> value`` with plain JSON types (optional keys left out if unset)."""
        out = {}
        for name in self.section_names():
            sec = {}
            section = self.section(name)
            for f in dataclasses.fields(section):
                value = getattr(section, f.name)
                if value is None:
                    continue
                if f.metadata["spec"].kind == "table":
                    value = dict(value)
                elif isinstance(value, tuple):
                    value = list(value)
                sec[f.name] = value
            out[name] = sec
        return out

    def to_json(self) -> str:
        """Canonical JSON text (sorted keys): what run.json records and what the hash covers."""
        return json.dumps(self.to_dict(), sort_keys=True, separators=(",", ":"))

    def digest(self) -> str:
        """SHA-256 of :meth:`to_json`."""
        return hashlib.sha256(self.to_json().encode()).hexdigest()

    @property
    def choices(self) -> dict[str, str]:
        """The physics choices in force: ``preset`` and, for each key of :data:`CHOICES`, the
        value given in its section or else the preset's (docs/design.md §2)."""
        out = {"preset": self.physics.preset}
        for choice, (section, key) in CHOICE_KEYS.items():
            value = getattr(getattr(self, section), key)
            out[choice] = value if value is not None else PRESETS[self.physics.preset][choice]
        return out

    def with_overrides(self, overrides: dict[str, dict[str, Any]], source: str) -> Config:
        """A new validated config with ``overrides`` (``section -> key -> value``) applied."""
        return validate(overrides, source, base=self.to_dict())

    def replace(self, **sections: dict[str, Any]) -> Config:
        """A new validated config with some keys changed:
        ``cfg.replace(scan={"grid": 101}, fit={"cl": 0.95})``."""
        for name, keys in sections.items():
            if not isinstance(keys, dict):
                raise InputError(f"replace({name}=...) takes a dict of keys, e.g. "
                                 f"replace({name}={{'key': value}})")
        return validate(sections, f"{self.source} with replace()", base=self.to_dict())


def _closest(name: str, candidates) -> str:
    match = difflib.get_close_matches(name, list(candidates), n=1, cutoff=0.4)
    return f"; did you mean {match[0]!r}?" if match else f"; valid keys: {', '.join(candidates)}"


def _coerce(source: str, where: str, spec: Spec, value: Any) -> Any:
    """Check one value's type and range; return it in its canonical Python type."""
    bad = f"{source}: key {where} = {value!r}"
    kind, hint = spec.kind, spec.expected
    if kind == "float_or_auto" and value == "auto":
        return "auto"
    if kind in ("float", "float_or_auto"):
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise InputError(f"{bad} is not a number; use {hint}")
        value = float(value)
        if not math.isfinite(value):
            raise InputError(f"{bad} is not finite; use {hint}")
    elif kind == "int":
        if isinstance(value, bool) or not isinstance(value, int):
            raise InputError(f"{bad} is not an integer; use {hint}")
    elif kind == "str":
        if not isinstance(value, str):
            raise InputError(f"{bad} is not a string; use {hint}")
    elif kind == "floats":
        if not isinstance(value, list | tuple) or not all(
                isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v)
                for v in value):
            raise InputError(f"{bad} is not a list of numbers; use {hint}")
        value = tuple(float(v) for v in value)
        if spec.length is not None and len(value) != spec.length:
            raise InputError(f"{bad} has {len(value)} values, not {spec.length}; use {hint}")
    elif kind == "list":
        if not isinstance(value, list | tuple) or not all(isinstance(v, str) for v in value):
            raise InputError(f"{bad} is not a list of strings; use {hint}")
        value = tuple(value)
    if not spec.check(value):
        raise InputError(f"{bad} is out of range; use {hint}")
    return value


def _check_sigma_table(source: str, table: Any) -> tuple[tuple[str, float], ...]:
    if not isinstance(table, dict):
        raise InputError(f"{source}: [fluxes.sigma] must be a table of component = fractional "
                         "1-sigma, e.g. 8B = 0.12")
    out = {}
    for comp, value in table.items():
        where = f"[fluxes.sigma] {comp}"
        if comp not in FLUX_COMPONENTS:
            raise InputError(f"{source}: unknown key {where}{_closest(comp, FLUX_COMPONENTS)}")
        if (isinstance(value, bool) or not isinstance(value, int | float)
                or not math.isfinite(value)):
            raise InputError(f"{source}: key {where} = {value!r} is not a number; "
                             f"use a fractional 1-sigma {FRACTION.text()}")
        if value < 0:
            raise InputError(f"{source}: key {where} = {value!r} is negative; "
                             f"use a fractional 1-sigma {FRACTION.text()}")
        if not FRACTION(value):
            raise InputError(f"{source}: key {where} = {value!r} is out of range; use a "
                             f"fractional 1-sigma {FRACTION.text()}")
        out[comp] = float(value)
    return tuple(sorted(out.items()))


def default_data() -> dict:
    """The packaged default configuration as a plain nested dict: the core sections
    (``data/default.toml``) and every experiment kind's defaults."""
    from .experiments.registry import kinds

    with open(data_file("default.toml"), "rb") as fh:
        data = tomllib.load(fh)
    for k in kinds().values():
        data.update(tomllib.loads(k.config_defaults))
    return data


def _move_keys(user: dict, source: str) -> tuple[dict, list[str]]:
    """``user`` with keys given at an old place moved to their section, and the notes."""
    moves = moved_keys()
    out = {sec: dict(keys) if isinstance(keys, dict) else keys for sec, keys in user.items()}
    notes = []
    for (old_sec, old_key), (new_sec, new_key) in moves.items():
        keys = out.get(old_sec)
        if not isinstance(keys, dict) or old_key not in keys:
            continue
        value = keys.pop(old_key)
        if not keys and old_sec not in CORE_SECTIONS:
            del out[old_sec]
        target = out.setdefault(new_sec, {})
        if isinstance(target, dict) and new_key in target:
            raise InputError(f"{source}: key [{old_sec}] {old_key} and its new place [{new_sec}] "
                             f"{new_key} are both given; keep [{new_sec}] {new_key}")
        if isinstance(target, dict):
            target[new_key] = value
        notes.append(f"{source}: key [{old_sec}] {old_key} has moved to [{new_sec}] {new_key}; "
                     "the old place is read in this release only")
    return out, notes


def validate(user: dict, source: str, base: dict | None = None) -> Config:
    """Merge ``user`` over ``base`` (default: the packaged config) and validate every key.

    Raises
    ------
    InputError
        One line naming ``source`` and the offending key, with what would fix it.
    """
    schema = sections()
    user, notes = _move_keys(user, source)
    data = copy.deepcopy(base if base is not None else default_data())
    for section, keys in user.items():
        if section not in schema:
            raise InputError(f"{source}: unknown section [{section}]{_closest(section, schema)}")
        if not isinstance(keys, dict):
            raise InputError(f"{source}: [{section}] must be a table of keys, not a value")
        specs = _specs(section, schema)
        for key, value in keys.items():
            if key not in specs:
                old = [k for (s, k) in moved_keys() if s == section]
                raise InputError(
                    f"{source}: unknown key [{section}] {key!r}{_closest(key, [*specs, *old])}")
            data.setdefault(section, {})[key] = value
    values_of = {}
    for section in schema:
        values = {}
        for key, (spec, optional) in _specs(section, schema).items():
            raw = data.get(section, {}).get(key)
            if raw is None:
                if not optional:
                    raise InputError(f"{source}: key [{section}] {key} is missing")
                continue
            if spec.kind == "table":
                values[key] = _check_sigma_table(source, raw)
            else:
                values[key] = _coerce(source, f"[{section}] {key}", spec, raw)
        values_of[section] = schema[section](**values)
    core = {name: values_of[name] for name in CORE_SECTIONS}
    extra = tuple((name, values_of[name]) for name in schema if name not in CORE_SECTIONS)
    cfg = Config(**core, extra=extra, source=source, notes=tuple(notes))
    _check_consistency(cfg)
    return cfg


def _check_consistency(cfg: Config) -> None:
    """Cross-key checks: target definition, flux models, planes, MSW angles, and each
    experiment kind's own (its optional ``check_config(config)``)."""
    from .experiments.registry import kinds
    from .model import flux_models, make_target

    source, tgt = cfg.source, cfg.target
    try:
        make_target(tgt.name, tgt.z, tgt.molar_mass, cfg.choices["isotopes"])
    except InputError as exc:
        raise InputError(f"{source}: key [target] {exc}") from None
    osc = cfg.oscillation
    if cfg.choices["oscillation"] == "msw" and not 0.0 < osc.sin2_theta12 < 1.0:
        raise InputError(f"{source}: key [oscillation] sin2_theta12 = {osc.sin2_theta12!r} must "
                         "be in (0, 1) for model = 'msw'; use e.g. 0.318")
    models = flux_models()
    for key in ("model", "sigma_model"):
        value = getattr(cfg.fluxes, key)
        if value not in models:
            raise InputError(f"{source}: key [fluxes] {key} = {value!r} is not in "
                             f"data/solar_fluxes.csv{_closest(value, models)}")
    for plane in cfg.scan.planes:
        parse_plane(plane, f"{source}: key [scan] planes")
    for k in kinds().values():
        check = getattr(k, "check_config", None)
        if check is not None:
            check(cfg)


def parse_plane(text: str, where: str) -> tuple[str, str]:
    """'e-mu' (or 'e_mu', the spelling of the outputs) -> ('e', 'mu'): two distinct flavours."""
    parts = str(text).replace("_", "-").split("-")
    if len(parts) != 2 or not all(p in FLAVOURS for p in parts) or parts[0] == parts[1]:
        raise InputError(
            f"{where}: plane {text!r} is not two distinct flavours of e, mu, tau joined by '-' "
            "or '_'; use e-mu, e-tau or mu-tau")
    return parts[0], parts[1]


def _read_toml(path: Path) -> dict:
    """A TOML file as a dict; one-line errors for a missing, unreadable or non-TOML file."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise InputError(f"{path}: config file not found; check the path") from None
    except IsADirectoryError:
        raise InputError(f"{path}: is a folder, not a TOML config file") from None
    except OSError as exc:
        raise InputError(f"{path}: cannot be read ({exc.strerror})") from None
    if raw.startswith(b"\xef\xbb\xbf"):  # a UTF-8 byte-order mark (Windows editors)
        raw = raw[3:]
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InputError(f"{path}: is not a UTF-8 text file (byte {exc.start} cannot be "
                         "decoded); a config is a TOML text file") from None
    if "\x00" in text:
        raise InputError(f"{path}: is a binary file, not a TOML text file")
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise InputError(f"{path}: not valid TOML ({exc})") from None


def load_config(path: str | Path | None = None, overrides: dict | None = None) -> Config:
    """The packaged default, or a user's TOML file merged over it, validated.

    ``overrides`` (``{"section": {"key": value}}``) are applied last, e.g.
    ``load_config(overrides={"scan": {"grid": 101}})``.
    """
    if path is None:
        cfg = validate({}, "default config")
    else:
        path = Path(path)
        cfg = validate(_read_toml(path), str(path))
    if overrides:
        if not isinstance(overrides, dict):
            raise InputError("config overrides must be a dict of sections, e.g. "
                             "{'scan': {'grid': 101}}")
        cfg = validate(overrides, f"{cfg.source} with overrides", base=cfg.to_dict())
    return cfg


def config_from_json(text: str, source: str) -> Config:
    """Rebuild a config saved by :meth:`Config.to_json` (checkpoints, run.json)."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputError(f"{source}: stored config is not valid JSON ({exc.msg})") from None
    return validate(data, source)
