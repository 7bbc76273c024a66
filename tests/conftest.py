"""Shared fixtures: a temporary working folder, the CLI run in-process, the default analysis."""

from __future__ import annotations

import pytest


@pytest.fixture
def in_tmp(tmp_path, monkeypatch):
    """Run the test inside its own empty temporary folder."""
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.fixture
def cli(capsys, tmp_path, monkeypatch):
    """``cli(*argv)`` runs ``cevns-scan ARGV`` in this process: (exit code, stdout, stderr).

    Always inside the test's own empty temporary folder (the one ``in_tmp`` gives), so that
    default output folders such as ``results/paper`` left in the caller's working directory
    (by the README's first command, say) never change what a test sees.
    """
    monkeypatch.chdir(tmp_path)
    from cevns_scan.cli import main

    def run(*argv):
        capsys.readouterr()
        code = main([str(a) for a in argv])
        out, err = capsys.readouterr()
        return code, out, err

    return run


@pytest.fixture(scope="session")
def default_analysis():
    """The paper's analysis on the cdex10-asimov dataset (built once per session)."""
    from cevns_scan.analysis import Analysis

    return Analysis.from_config()



@pytest.fixture(autouse=True)
def _close_pyplot_figures():
    """``result.plot()`` draws on pyplot figures (for notebooks); close them after each test."""
    yield
    import sys

    if "matplotlib.pyplot" in sys.modules:
        sys.modules["matplotlib.pyplot"].close("all")
