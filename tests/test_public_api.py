"""The public names of ``cevns_scan`` (scanner/__init__.py): what ``dir`` lists, and every name
the README uses."""

import re
from pathlib import Path

import pytest

import cevns_scan as cs

README = Path(__file__).resolve().parents[1] / "README.md"


def test_dir_lists_the_public_api_and_only_it():
    names = dir(cs)
    assert names == sorted(cs.__all__)
    for name in names:
        assert getattr(cs, name) is not None
    assert not [n for n in names if n.startswith("_") and n != "__version__"]
    # no module-level helpers or imported modules leak into it
    for leaked in ("warnings", "import_module", "version", "PackageNotFoundError"):
        assert leaked not in names


def test_every_name_the_readme_uses_is_importable():
    if not README.is_file():
        pytest.skip("README.md is not beside the tests (not a repository checkout)")
    text = README.read_text(encoding="utf-8")
    used = set(re.findall(r"\bcs\.([A-Za-z_]\w*)", text))
    assert {"Analysis", "load_config", "load_results", "CevnsScanWarning"} <= used
    classes = {"NeymanResult", "PlaneResult", "AnalysisResult", "SavedResult", "Analysis",
               "Model", "PlaneGrid", "CevnsScanWarning"}
    assert classes <= set(re.findall(r"`(?:cs\.)?([A-Z]\w+)", text)) | used
    for name in used | classes:
        assert hasattr(cs, name), name
    assert cs.NeymanResult.__name__ == "NeymanResult"
