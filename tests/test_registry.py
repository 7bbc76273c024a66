"""scanner/experiments/registry.py: kinds found through entry points, --data recognition."""

from types import MappingProxyType

import pytest

from cevns_scan.errors import InputError
from cevns_scan.experiments import registry


def test_builtin_kinds_come_from_entry_points():
    from importlib.metadata import entry_points

    names = {ep.name for ep in entry_points(group=registry.ENTRY_POINT_GROUP)}
    assert {"spectrum", "xenonnt", "coherent_ar", "coherent_csi"} <= names
    assert set(registry.kinds()) >= names
    assert registry.default_spec() == "cdex10-asimov"
    assert set(registry.builtin_names()) >= {"cdex10-asimov", "xenonnt-8b"}


@pytest.mark.parametrize("spec", ["cdex10-asimov", "xenonnt-8b"])
def test_declared_shares_are_the_likelihoods(spec):
    from cevns_scan import Analysis

    kind, _ = registry.recognise(spec)
    lik = Analysis.from_config(data=spec).experiments[0].likelihood
    assert tuple(kind.shares) == tuple(lik.shared) == ("flux_8B",)


def test_recognition_and_its_errors(tmp_path):
    assert registry.recognise("points.csv")[0].name == "spectrum"
    assert registry.recognise("x.npz")[0].name == "xenonnt"
    kind, rest = registry.recognise("spectrum:my data.dat")
    assert (kind.name, rest) == ("spectrum", "my data.dat")
    with pytest.raises(InputError, match="did you mean 'cdex10-asimov'"):
        registry.recognise("cdex10-asimv")
    with pytest.raises(InputError, match="no experiment kind 'spectrumm' is registered; "
                                         "did you mean 'spectrum'"):
        registry.kind("spectrumm")


class _Fake:
    """A minimal kind that claims every *.fake file (and *.csv, to provoke ambiguity)."""

    name = "fake"
    summary = "a test kind"
    data_help = "a .fake file"
    builtin = ()
    default_data = None
    config_sections = MappingProxyType({})
    config_defaults = ""
    config_moved = MappingProxyType({})
    output_files = ()
    dataset_commands = ()

    def recognises(self, spec):
        return spec.endswith((".fake", ".csv"))

    load = build = manifest = from_manifest = write_outputs = warnings = None


def test_register_in_process_and_ambiguity():
    fake = registry.register(_Fake())
    try:
        assert registry.kind("fake") is fake
        assert registry.recognise("a.fake")[0] is fake
        with pytest.raises(InputError, match=r"several experiment kinds \(spectrum, fake\); "
                                             r"write KIND:a.csv"):
            registry.recognise("a.csv")
        assert registry.recognise("spectrum:a.csv")[0].name == "spectrum"
        with pytest.raises(InputError, match="already installed"):
            registry.register(type("Spectrum", (_Fake,), {"name": "spectrum"})())
    finally:
        registry.unregister("fake")
    assert "fake" not in registry.kinds()


def test_a_kind_lacking_attributes_is_refused():
    bad = type("Bad", (), {"name": "bad"})()
    with pytest.raises(InputError, match="lacks summary, data_help"):
        registry.register(bad)
