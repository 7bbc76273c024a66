"""Shared fixtures: a temporary working folder, the CLI run in-process, the default analysis."""

from __future__ import annotations

import pytest


@pytest.fixture
def in_tmp(tmp_path, monkeypatch):
    """Run the test inside its own empty temporary folder."""
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.fixture
def cli(capsys):
    """``cli(*argv)`` runs ``cevns-scan ARGV`` in this process: (exit code, stdout, stderr)."""
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

