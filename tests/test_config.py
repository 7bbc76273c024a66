"""scanner/config.py: defaults, presets and choices, overrides, validation messages, and the
plausible range of every physical key (a value outside it is a unit slip), as the README and
the default TOML state them."""

import dataclasses
import re
from pathlib import Path

import pytest
from helpers import assert_one_line_error, user_config
from scipy import constants as sc

import cevns_scan as cs
from cevns_scan.config import (
    PRESETS,
    Range,
    config_from_json,
    load_config,
    number_text,
    sections,
    validate,
)
from cevns_scan.errors import InputError
from cevns_scan.model import build_model


def test_default_is_the_paper():
    cfg = load_config()
    assert cfg.target.name == "Ge"
    assert cfg.physics.sin2_theta_w == 0.23863
    assert cfg.spectrum.quenching_k == 0.162
    assert cfg.fluxes.model == "BS05-OP"
    assert cfg.fit.cl == 0.9
    assert cfg.scan.planes == ("e-mu", "e-tau")


def test_override_and_round_trip(tmp_path):
    p = tmp_path / "c.toml"
    p.write_text("[scan]\ngrid = 11\n[fluxes.sigma]\n8B = 0.05\n")
    cfg = load_config(p)
    assert cfg.scan.grid == 11 and cfg.fluxes.sigma_overrides() == {"8B": 0.05}
    assert cfg.asimov.background == 2.0  # untouched keys keep their defaults
    again = config_from_json(cfg.to_json(), "json")
    assert again.digest() == cfg.digest()
    assert cfg.digest() != load_config().digest()


@pytest.mark.parametrize(("user", "match"), [
    ({"scan": {"gird": 11}}, r"unknown key \[scan\] 'gird'; did you mean 'grid'"),
    ({"scna": {}}, r"unknown section \[scna\]; did you mean 'scan'"),
    ({"fit": {"cl": 1.0}}, r"\[fit\] cl = 1.0 is out of range"),
    ({"scan": {"grid": 1}}, r"\[scan\] grid = 1 is out of range"),
    ({"scan": {"grid": True}}, r"not an integer"),
    ({"fluxes": {"sigma": {"8B": -0.1}}}, r"\[fluxes.sigma\] 8B = -0.1 is negative"),
    ({"fluxes": {"model": "BS06"}}, r"not in data/solar_fluxes.csv"),
    ({"target": {"name": "Xx"}}, r"give z and molar_mass"),
    ({"scan": {"mu_max_e": -1e-9}}, r"mu_max_e = -1e-09 is out of range"),
    ({"scan": {"planes": ["e-e"]}}, r"plane 'e-e'"),
])
def test_invalid(user, match):
    with pytest.raises(InputError, match=match) as err:
        validate(user, "my.toml")
    assert str(err.value).startswith("my.toml: ")


def test_other_element_by_z_and_molar_mass():
    cfg = validate({"target": {"name": "Ar", "z": 18, "molar_mass": 39.948}}, "x")
    from cevns_scan.model import build_model

    assert build_model(cfg).target.n_neutrons == pytest.approx(21.948)


# -- physics presets and choices ------------------------------------------------------------------

S12, S23, S13, DM21 = 0.318, 0.574, 0.02200, 7.50e-5


@pytest.fixture(scope="module")
def paper():
    return build_model(load_config())


def test_default_is_the_paper_preset(paper):
    paper_choices = {"preset": "paper", "oscillation": "constant", "isotopes": "effective",
                     "couplings": "tree"}
    assert load_config().choices == paper_choices
    assert paper.choices == paper_choices
    # one nuclide, the effective nucleus, with N_T = 1000 N_A / 72.630 per kg
    ((n_kg, nuc),) = paper.nuclei
    assert n_kg == 1000.0 * sc.Avogadro / 72.630
    assert nuc == paper.nucleus
    assert paper.oscillation.dm2_21_ev2 == DM21


@pytest.mark.parametrize(("user", "expected"), [
    ({"physics": {"preset": "modern"}},
     {"preset": "modern", "oscillation": "msw", "isotopes": "natural", "couplings": "radiative"}),
    ({"physics": {"preset": "modern"}, "oscillation": {"model": "constant"}},
     {"preset": "modern", "oscillation": "constant", "isotopes": "natural",
      "couplings": "radiative"}),
    ({"target": {"isotopes": "natural"}},
     {"preset": "paper", "oscillation": "constant", "isotopes": "natural", "couplings": "tree"}),
    ({"physics": {"couplings": "radiative"}},
     {"preset": "paper", "oscillation": "constant", "isotopes": "effective",
      "couplings": "radiative"}),
])
def test_choice_keys_override_the_preset(user, expected):
    cfg = user_config(user)
    assert cfg.choices == expected
    assert build_model(cfg).choices == expected
    # the config round-trips through its JSON (run.json, checkpoints) with its choices
    from cevns_scan.config import config_from_json

    assert config_from_json(cfg.to_json(), "run.json").choices == expected


def test_presets_table():
    assert PRESETS["paper"] == {"oscillation": "constant", "isotopes": "effective",
                                "couplings": "tree"}
    assert PRESETS["modern"] == {"oscillation": "msw", "isotopes": "natural",
                                 "couplings": "radiative"}


@pytest.mark.parametrize(("user", "match"), [
    ({"physics": {"preset": "new"}}, r"\[physics\] preset = 'new' is out of range; use 'paper'"),
    ({"oscillation": {"model": "vacuum"}}, r"\[oscillation\] model = 'vacuum' .* 'msw'"),
    ({"target": {"isotopes": "enriched"}}, r"\[target\] isotopes = 'enriched' .* 'natural'"),
    ({"physics": {"couplings": "loop"}}, r"\[physics\] couplings = 'loop' .* 'radiative'"),
    ({"oscillation": {"dm2_21_ev2": -7.5e-5}}, r"\[oscillation\] dm2_21_ev2 = -7.5e-05 .* eV"),
    ({"oscillation": {"model": "msw", "sin2_theta12": 0.0}},
     r"\[oscillation\] sin2_theta12 = 0.0 must be in \(0, 1\) for model = 'msw'"),
    ({"target": {"name": "Xe", "z": 18}},
     r"\[target\] z = 18 contradicts name = 'Xe' \(Xe has Z = 54"),
    ({"target": {"name": "Xx"}}, r"\[target\] name = 'Xx' is not an element .* z and molar_mass"),
    ({"target": {"name": "Ge", "isotopes": "natural", "molar_mass": 72.6}},
     r"\[target\] molar_mass applies to isotopes = 'effective' only"),
    ({"target": {"name": "HPGe", "z": 43, "molar_mass": 98.0, "isotopes": "natural"}},
     r"isotopes = 'natural' needs a tabulated element"),
])
def test_invalid_choices_are_one_line_naming_the_key(user, match):
    with pytest.raises(InputError, match=match) as err:
        user_config(user)
    assert str(err.value).startswith("my.toml: ") and "\n" not in str(err.value)


#: Keys that are physical quantities: every one must declare a Range (unit and plausible values).
# -- every physical key has a plausible range in its unit (a value outside is a unit slip) --------

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


def _outside(rng: Range) -> float:
    """A value just beyond the range: 10 x the upper end (or below a positive lower end)."""
    if rng.high is not None:
        return 10.0 * rng.high if rng.high > 0 else 1.0
    return rng.low / 10.0


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


# -- the README and the default TOML state the same ranges ----------------------------------------

README = Path(__file__).resolve().parents[1] / "README.md"


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


def test_a_config_with_a_byte_order_mark_is_read(tmp_path):
    path = tmp_path / "c.toml"
    path.write_bytes(b"\xef\xbb\xbf[scan]\ngrid = 11\n")
    assert cs.load_config(path).scan.grid == 11


def test_fixed_background_needs_a_value(in_tmp, cli):
    (in_tmp / "c.toml").write_text('[fit]\nbackground = "fixed"\n')
    assert_one_line_error(cli("reproduce", "--config", "c.toml", "--out", "r", "--grid", "11"),
                          "c.toml", "background_value")
    assert not (in_tmp / "r").exists()


def test_config_replace_and_overrides():
    cfg = cs.load_config()
    new = cfg.replace(scan={"grid": 101}, fit={"cl": 0.95})
    assert (new.scan.grid, new.fit.cl, cfg.scan.grid, cfg.fit.cl) == (101, 0.95, 201, 0.9)
    assert new.to_dict()["spectrum"] == cfg.to_dict()["spectrum"]
    assert cs.load_config(overrides={"scan": {"grid": 101}, "fit": {"cl": 0.95}}) \
        .digest() == new.digest()
    with pytest.raises(InputError, match=r"unknown key \[scan\] 'gird'; did you mean 'grid'"):
        cfg.replace(scan={"gird": 11})
    with pytest.raises(InputError, match=r"replace\(scan=\.\.\.\) takes a dict of keys"):
        cfg.replace(scan=11)
