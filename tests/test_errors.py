"""scanner/errors.py: the one-line error types, and library messages that speak Python.

The library names its parameters (``grid``, ``force``, ``first_edge``); only the command line
(scanner/cli.py, and the argparse-facing ``commands.py`` of the experiment kinds) names
options. The command line words both a :class:`ParameterError`'s name and the parameters
that a message's fix names (``pass force=True``) as its options.
"""

from __future__ import annotations

import ast
import re
import warnings
from pathlib import Path

import pytest
from helpers import FolderState, assert_one_line_error

import cevns_scan
import cevns_scan.kernels
from cevns_scan.errors import CevnsScanWarning, InputError, ParameterError, PathError

#: A command-line option in a text: ``--grid``, ``--mu-max`` (not ``---`` rules, not ``a--b``).
FLAG = re.compile(r"(?<![\w-])--[a-z][a-z0-9-]*")
#: The modules that speak to argparse: the command line, and each kind's dataset commands.
COMMAND_LINE = ("cli.py", "commands.py")


def _docstrings(tree: ast.AST) -> set[int]:
    """ids of the docstring constants (documentation, not messages)."""
    out = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
            first = node.body[0] if node.body else None
            if (isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant)
                    and isinstance(first.value.value, str)):
                out.add(id(first.value))
    return out


def _texts(tree: ast.AST):
    """(line, text) of every string a module can print or raise: its string constants, each
    f-string as one text with ``{...}`` standing for the values (so ``f"--{role}-dataset"``
    counts), docstrings left out."""
    docs = _docstrings(tree)
    inside_fstrings = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.JoinedStr):
            parts = []
            for value in node.values:
                inside_fstrings.add(id(value))
                if isinstance(value, ast.Constant):
                    parts.append(str(value.value))
                else:
                    parts.append("x")  # a value: letters, as a name would read
            yield node.lineno, "".join(parts)
    for node in ast.walk(tree):
        if (isinstance(node, ast.Constant) and isinstance(node.value, str)
                and id(node) not in docs and id(node) not in inside_fstrings):
            yield node.lineno, node.value


def library_modules() -> list[Path]:
    """Every module of the installed package and its kernels, but the command line's."""
    roots = {Path(cevns_scan.__file__).parent, Path(cevns_scan.kernels.__file__).parent}
    return sorted(p for root in roots for p in root.rglob("*.py") if p.name not in COMMAND_LINE)


def test_the_scan_finds_flags_however_they_are_written():
    """The scan itself: a flag in a plain string, an f-string, a flag built from a value and a
    concatenation are found; a docstring, a TOML comment rule and a dash range are not."""
    source = '''
"""Module docstring naming --data is documentation."""
A = "add --force to replace it"
B = f"choose one with --{role}-dataset NAME"
C = ("or use a new " "--out folder")
D = "------ a rule ------"
E = "0.1--0.5 keV"
def f():
    """Function docstring: ``--grid``."""
    raise InputError(f"{path}: check --bin-width")
'''
    found = sorted(m for _, text in _texts(ast.parse(source)) for m in FLAG.findall(text))
    assert found == ["--bin-width", "--force", "--out", "--x-dataset"]


def test_no_library_message_names_a_command_line_option():
    """Library errors speak the library's language: no string a library module can raise or
    print names an option (``--force``); it names the Python parameter (``force=True``)."""
    modules = library_modules()
    assert len(modules) > 60 and any(p.name == "outputs.py" for p in modules)
    hits = [f"{path.relative_to(path.parents[1])}:{line}: {flag} in {text[:70]!r}"
            for path in modules
            for line, text in _texts(ast.parse(path.read_text(encoding="utf-8")))
            for flag in FLAG.findall(text)]
    assert not hits, "library messages naming command-line options:\n" + "\n".join(hits)


def test_input_errors_are_value_errors_of_one_line():
    err = InputError("a\n  message   over\tlines")
    assert isinstance(err, ValueError) and str(err) == "a message over lines"
    with pytest.raises(ValueError, match=r"^grid = 1 must be >= 2$"):
        raise ParameterError("grid", 1, "must be >= 2")


def test_parameter_errors_name_the_python_parameter_and_word_as_an_option():
    err = ParameterError("shard", "1/0", "is not K/N")
    assert str(err) == "shard = '1/0' is not K/N"
    assert err.as_option("--shard") == "--shard '1/0' is not K/N"
    assert ParameterError("jobs", 0, "must be >= 1").as_option("--jobs") == "--jobs 0 must be >= 1"


def test_path_errors_quote_the_path_in_python_and_not_on_the_command_line():
    err = PathError("out", Path("results/paper"), "holds an earlier result; pass force=True")
    assert isinstance(err, ParameterError) and err.name == "out"
    assert str(err) == "out='results/paper': holds an earlier result; pass force=True"
    assert err.as_option("--out") == "--out results/paper: holds an earlier result; pass force=True"
    assert err.as_option("") == "results/paper: holds an earlier result; pass force=True"


def test_the_command_line_words_parameters_of_fixes_as_its_options():
    from cevns_scan.cli import as_options

    names = {"force": "--force", "first_edge": "--first-edge", "json": "--json", "out": "--out",
             "folder": ""}
    assert as_options("file exists; pass force=True to replace it", names) \
        == "file exists; add --force to replace it"
    assert as_options("never replaced, with or without force=True", names) \
        == "never replaced, with or without --force"
    assert as_options("give the first bin edge (first_edge=...)", names) \
        == "give the first bin edge (--first-edge)"
    assert as_options("is also json='a.json'; give", names) == "is also --json a.json; give"
    # names without an option, positional ones and prose are left as they are
    for text in ("pass resume=True", "folder='r': x", "mu_max_e=3e-9", "x = 0.3", "LABEL=F.csv"):
        assert as_options(text, names) == text


def test_the_cli_words_library_fixes_as_options(cli, in_tmp):
    """End to end: the library's ``pass force=True`` reaches the user as ``add --force``, and a
    kind's dataset command's parameters (``bin_width=...``) as its options."""
    assert cli("rates", "--points", "5", "--out", "r.csv")[0] == 0
    assert_one_line_error(cli("rates", "--points", "5", "--out", "r.csv"),
                          "--out r.csv: file exists", "add --force to replace it")
    rows = "".join(f"{0.21 + 0.1 * k:.2f},{2.5 - 0.1 * k:.2f}\n" for k in range(6))
    (in_tmp / "p.csv").write_text(rows)
    (in_tmp / "u.csv").write_text(rows.replace(",2.", ",3."))
    before = FolderState(in_tmp)
    result = cli("dataset", "from-digitized", "--points", "p.csv", "--upper", "u.csv",
                 "--bin-width", "0.2", "--out", "d.csv")
    assert_one_line_error(result, "not the bin width 0.2 keV_ee", "check the bin width "
                          "(--bin-width), or give the first bin edge (--first-edge)",
                          unchanged=before)


def test_the_cli_words_a_bad_cl_as_its_option():
    from cevns_scan.cli import _error_text

    exc = ParameterError("cl", 1.5, "must be a confidence level in (0, 1), e.g. 0.9 for 90 %")
    assert _error_text(exc) == "--cl 1.5 must be a confidence level in (0, 1), e.g. 0.9 for 90 %"


# -- caveats are Python warnings; the command line prints each as a line --------------------------

def test_caveats_are_python_warnings_and_the_cli_prints_them_as_lines(in_tmp, cli,
                                                                      default_analysis):
    with pytest.warns(CevnsScanWarning) as record:
        res = default_analysis.scan("e-mu", grid=5)
    messages = [str(w.message) for w in record]
    assert messages == res.warnings() and not res.resolved
    assert all("is not resolved" in m for m in messages)
    assert issubclass(CevnsScanWarning, UserWarning)
    with pytest.warns(CevnsScanWarning) as record:
        full = default_analysis.run(grid=5)
    messages = [str(w.message) for w in record]
    # once each: 2 planes x 2 limits, each read at 2 d.o.f. and at the plane's rank (rank 1)
    assert messages == list(dict.fromkeys(full.warnings())) and len(messages) == 8
    assert sum("rank-aware" in m for m in messages) == 4
    with warnings.catch_warnings():
        warnings.simplefilter("error", CevnsScanWarning)
        with pytest.raises(CevnsScanWarning):
            default_analysis.scan("e-mu", grid=5)
    code, _, err = cli("reproduce", "--grid", "5", "--out", "r", "--quiet", "--no-figures")
    assert code == 0
    lines = err.strip().splitlines()
    assert lines == [f"warning: {m}" for m in messages]
