"""Configuration: defaults, overrides, validation messages."""

import pytest

from cevns_scan.config import config_from_json, load_config, validate
from cevns_scan.errors import InputError


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
