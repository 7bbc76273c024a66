"""Every physical configuration key has a plausible range in its unit (issue 18, item 2).

A value outside it (``sno_flux = 5.25`` for 5.25e6 cm^-2 s^-1, ``8B = 12`` for 12 %) is a unit
slip: refused with one line naming the key, the value, the unit and the range, whether it
comes from a TOML file, ``Config.replace``, ``load_config(overrides=...)`` or the command
line. The README's table states the same ranges.
"""

from __future__ import annotations

import dataclasses
import math
import re
from pathlib import Path

import pytest

from cevns_scan.config import Range, load_config, number_text, sections, validate
from cevns_scan.errors import InputError

README = Path(__file__).resolve().parents[1] / "README.md"

#: Keys that are physical quantities: every one must declare a Range (unit and plausible values).
PHYSICAL = {
    ("target", "molar_mass"), ("physics", "sin2_theta_w"), ("fluxes", "sigma"),
    ("oscillation", "sin2_theta12"), ("oscillation", "sin2_theta23"),
    ("oscillation", "sin2_theta13"), ("oscillation", "dm2_21_ev2"), ("fit", "cl"),
    ("scan", "mu_max_e"), ("scan", "mu_max_mu"), ("scan", "mu_max_tau"),
    ("scan", "auto_margin"), ("numerics", "max_ratio"),
    ("spectrum", "quenching_k"), ("spectrum", "background_value"), ("asimov", "background"),
    ("asimov", "exposure_kg_day"), ("asimov", "tee_min_kev"), ("asimov", "bin_width_kev"),
    ("xenonnt", "sno_flux"), ("xenonnt", "sno_flux_sigma"), ("xenonnt", "sigma_efficiency"),
    ("xenonnt", "efficiency_min"), ("xenonnt", "efficiency_max"), ("xenonnt", "sigma_ac"),
    ("xenonnt", "sigma_er"), ("xenonnt", "sigma_neutron"),
}


def _ranges() -> dict[tuple[str, str], Range]:
    out = {}
    for name, cls in sections().items():
        for f in dataclasses.fields(cls):
            spec = f.metadata["spec"]
            if spec.valid is not None:
                out[(name, f.name)] = spec.valid
    return out


def test_every_physical_key_declares_a_range_with_its_unit():
    ranges = _ranges()
    assert PHYSICAL <= set(ranges), f"without a range: {sorted(PHYSICAL - set(ranges))}"
    units = {key: r.unit for key, r in ranges.items()}
    assert units[("xenonnt", "sno_flux")] == "cm^-2 s^-1"
    assert units[("oscillation", "dm2_21_ev2")] == "eV^2"
    assert units[("target", "molar_mass")] == "g/mol"
    assert units[("scan", "mu_max_e")] == "mu_B"
    assert units[("asimov", "background")] == "events/(keV_ee kg day)"


def test_the_paper_defaults_lie_inside_their_ranges():
    cfg = load_config()
    for (section, key), rng in _ranges().items():
        value = getattr(cfg.section(section), key)
        if value is None or value == "auto":
            continue
        values = [v for _, v in value] if section == "fluxes" else value
        assert rng(tuple(values) if isinstance(values, list) else values), (section, key, value)


def _outside(rng: Range) -> float:
    """A value just beyond the range: 10 x the upper end (or below a positive lower end)."""
    if rng.high is not None:
        return 10.0 * rng.high if rng.high > 0 else 1.0
    return rng.low / 10.0


@pytest.mark.parametrize("key", sorted(PHYSICAL - {("fluxes", "sigma")}))
def test_a_value_outside_names_key_value_unit_and_range(key):
    section, name = key
    rng = _ranges()[key]
    value = _outside(rng)
    if section == "xenonnt" and name == "sigma_ac":
        value = [0.05, 0.05, value]
    with pytest.raises(InputError) as err:
        validate({section: {name: value}}, "my.toml")
    msg = str(err.value)
    assert msg.startswith(f"my.toml: key [{section}] {name} = ")
    assert "\n" not in msg
    assert "is out of range" in msg
    lo = "(" if rng.low_open else "["
    hi = ")" if rng.high_open else "]"
    assert f"{lo}{number_text(rng.low)}, {number_text(rng.high)}{hi}" in msg
    assert (rng.unit in msg) if rng.unit else ("dimensionless" in msg)


@pytest.mark.parametrize(("user", "pattern"), [
    ({"xenonnt": {"sno_flux": 5.25}},
     r"\[xenonnt\] sno_flux = 5\.25 is out of range; use an 8B flux in \[5\.25e5, 5\.25e7\] "
     r"cm\^-2 s\^-1 \(SNO: 5\.25e6"),
    ({"fluxes": {"sigma": {"8B": 12}}},
     r"\[fluxes\.sigma\] 8B = 12 is out of range; use a fractional 1-sigma in \[0, 1\], "
     r"dimensionless \(a fraction: 0\.12 = 12 %\)"),
    ({"spectrum": {"quenching_k": 16.2}}, r"quenching_k = 16\.2 is out of range.*\[0\.05, 0\.5\]"),
    ({"oscillation": {"dm2_21_ev2": 7.5}}, r"dm2_21_ev2 = 7\.5 .*\[7\.5e-6, 7\.5e-4\] eV\^2"),
    ({"scan": {"mu_max_e": 3}}, r"mu_max_e = 3 is out of range.*\(0, 1e-4\] mu_B"),
    ({"fit": {"cl": 90}}, r"\[fit\] cl = 90 is out of range.*\(0, 1\), dimensionless \(0\.9 = 90"),
    ({"xenonnt": {"sigma_ac": [0.09, 0.06]}}, r"sigma_ac = \[0\.09, 0\.06\] has 2 values, not 3"),
])
def test_the_issues_unit_slips(user, pattern):
    with pytest.raises(InputError, match=pattern):
        validate(user, "my.toml")


def test_python_paths_check_the_same_ranges(tmp_path):
    cfg = load_config()
    with pytest.raises(InputError, match=r"with replace\(\): key \[xenonnt\] sno_flux = 5\.25"):
        cfg.replace(xenonnt={"sno_flux": 5.25})
    with pytest.raises(InputError, match=r"with overrides: key \[fluxes\.sigma\] 8B = 12"):
        load_config(overrides={"fluxes": {"sigma": {"8B": 12}}})
    with pytest.raises(InputError, match=r"with overrides: key \[target\] molar_mass = 7\.263"):
        load_config(overrides={"target": {"molar_mass": 7.263}})
    path = tmp_path / "c.toml"
    path.write_text("[scan]\ngrid = 11\n")
    with pytest.raises(InputError, match=r"c\.toml with overrides: key \[oscillation\] dm2_21_ev2"):
        load_config(path, overrides={"oscillation": {"dm2_21_ev2": 7.5}})
    # values inside their range pass every way, and keep the other keys
    ok = cfg.replace(xenonnt={"sno_flux": 5.0e6}, fluxes={"sigma": {"8B": 0.12}})
    assert ok.xenonnt.sno_flux == 5.0e6 and ok.fluxes.sigma_overrides() == {"8B": 0.12}
    assert ok.scan.grid == cfg.scan.grid
    assert load_config(path, overrides={"fit": {"cl": 0.95}}).scan.grid == 11


def test_range_ends_are_inclusive_or_exclusive_as_declared():
    assert validate({"fluxes": {"sigma": {"8B": 1.0}}}, "x").fluxes.sigma_overrides()["8B"] == 1.0
    assert validate({"xenonnt": {"sigma_er": 1.0}}, "x").xenonnt.sigma_er == 1.0
    with pytest.raises(InputError, match=r"sigma_er = 0\.0 is out of range; .*\(0, 1\]"):
        validate({"xenonnt": {"sigma_er": 0.0}}, "x")
    with pytest.raises(InputError, match=r"efficiency_min = 1\.0 is out of range; .*\[0, 1\)"):
        validate({"xenonnt": {"efficiency_min": 1.0}}, "x")
    sno = 5.25e6  # a factor of ten each way is still accepted
    assert validate({"xenonnt": {"sno_flux": sno / 10}}, "x").xenonnt.sno_flux == sno / 10
    assert validate({"xenonnt": {"sno_flux": sno * 10}}, "x").xenonnt.sno_flux == sno * 10


# -- molar mass and the element -------------------------------------------------------------------

def _isotope_masses(symbol: str) -> list[float]:
    """Atomic masses of an element's natural isotopes, read from data/isotopes.csv here."""
    from importlib.resources import files

    text = files("cevns_scan.data").joinpath("isotopes.csv").read_text()
    rows = [line.split(",") for line in text.splitlines()
            if line and not line.startswith("#") and not line.startswith("symbol")]
    return [float(r[3]) for r in rows if r[0] == symbol]


@pytest.mark.parametrize("symbol", ["Ge", "Xe", "Ar"])
def test_molar_mass_must_fit_the_elements_isotopes(symbol):
    masses = _isotope_masses(symbol)
    lo, hi = min(masses) - 2.0, max(masses) + 2.0
    for inside in (lo + 1e-6, hi - 1e-6, max(masses)):  # an enriched heavy isotope is fine
        assert validate({"target": {"name": symbol, "molar_mass": inside}},
                        "x").target.molar_mass == inside
    for outside in (lo - 1e-3, hi + 1e-3, min(masses) / 10):
        with pytest.raises(InputError) as err:
            validate({"target": {"name": symbol, "molar_mass": outside}}, "my.toml")
        msg = str(err.value)
        assert msg.startswith(f"my.toml: key [target] molar_mass = {outside!r} does not fit "
                              f"{symbol}")
        assert f"[{lo:.2f}, {hi:.2f}] g/mol" in msg


def test_molar_mass_of_a_label_with_z_follows_z():
    # z = 32 names germanium even under another label, so germanium's isotopes decide
    with pytest.raises(InputError, match=r"molar_mass = 7\.263 does not fit Ge"):
        validate({"target": {"name": "detector", "z": 32, "molar_mass": 7.263}}, "x")
    # a Z without tabulated isotopes (uranium): A between Z and 3 Z
    cfg = validate({"target": {"name": "U", "z": 92, "molar_mass": 238.029}}, "x")
    assert cfg.target.molar_mass == 238.029
    with pytest.raises(InputError, match=r"\[92\.00, 276\.00\] g/mol"):
        validate({"target": {"name": "U", "z": 92, "molar_mass": 23.8}}, "x")


def test_make_target_checks_the_molar_mass_in_python():
    from cevns_scan import make_target

    assert math.isclose(make_target("Ge", molar_mass=75.92).molar_mass, 75.92)
    with pytest.raises(InputError, match=r"^molar_mass = 7\.263 does not fit Ge"):
        make_target("Ge", molar_mass=7.263)


def test_an_untabulated_element_is_named_not_a_look_alike():
    from cevns_scan import make_target

    with pytest.raises(InputError) as err:
        make_target("U")
    msg = str(err.value)
    assert "uranium" in msg and "z = 92" in msg and "molar_mass = 238.029" in msg
    assert "Cu" not in msg and "copper" not in msg
    # what it says works
    assert make_target("U", z=92, molar_mass=238.029).z == 92


# -- the README states the same ranges ------------------------------------------------------------

def _readme_rows() -> dict[str, str]:
    rows = {}
    for line in README.read_text(encoding="utf-8").splitlines():
        for key in re.findall(r"`\[(\w+)\] (\w+)`", line.split("|")[1] if line.startswith("|")
                              else ""):
            rows[f"[{key[0]}] {key[1]}"] = line
    return rows


def test_readme_table_gives_every_range_and_unit():
    if not README.is_file():
        pytest.skip("README.md is not beside the tests (not a repository checkout)")
    rows = _readme_rows()
    for (section, key), rng in _ranges().items():
        name = f"[{section}] {key}" if section != "fluxes" else "[fluxes.sigma] <component>"
        if section == "fluxes":
            row = next(line for line in README.read_text().splitlines()
                       if "`[fluxes.sigma] <component>`" in line)
        elif name in rows:
            row = rows[name]
        else:  # keys listed together, e.g. `[scan] mu_max_e`, `mu_max_mu`, `mu_max_tau`
            row = next(line for line in README.read_text().splitlines()
                       if line.startswith(f"| `[{section}] ") and f"`{key}`" in line)
        lo = "(" if rng.low_open else "["
        hi = ")" if rng.high_open else "]"
        assert f"{lo}{number_text(rng.low)}, {number_text(rng.high)}{hi}" in row, (name, row)
        assert (rng.unit in row) if rng.unit else ("dimensionless" in row), (name, row)


def test_default_toml_comments_give_units_of_its_physical_keys():
    from importlib.resources import files

    text = files("cevns_scan.data").joinpath("default.toml").read_text()
    for key, unit in (("dm2_21_ev2", "eV^2"), ("sin2_theta12", "dimensionless"),
                      ("sin2_theta_w", "dimensionless"), ("mu_max_e", "mu_B"),
                      ("molar_mass", "g/mol"), ("cl", "0.90 = 90 %")):
        line = next(ln for ln in text.splitlines() if re.match(rf"#? ?{key} = ", ln))
        assert unit in line, line
