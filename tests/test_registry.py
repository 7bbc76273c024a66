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


# -- no generic module names a concrete experiment (issue 15, item 2) ----------------------------

def _kind_folders(package):
    """The folders (and private modules) under experiments/ that belong to one kind or family."""
    exp = package / "experiments"
    shared = {"__init__.py", "registry.py", "protocols.py", "binned_poisson.py", "joint.py",
              "parts.py"}
    return [p for p in exp.iterdir() if p.name != "__pycache__" and p.name not in shared]


def _code_strings(tree):
    import ast

    docs = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
                docs.add(id(body[0].value))
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docs:
            yield node.lineno, node.value


def test_generic_modules_name_no_concrete_experiment():
    """Outside the kinds' own folders no module imports a kind's module, refers to a class a
    kind defines (isinstance, hasattr on its type) or holds a kind's or built-in dataset's name
    as a value. The one allowed exception is the deprecated top-level alias table of
    ``cevns_scan/__init__.py`` (module paths as strings, kept for one release)."""
    import ast
    from pathlib import Path

    import cevns_scan

    package = Path(cevns_scan.__file__).parent
    kind_parts = _kind_folders(package)
    assert {p.name for p in kind_parts} >= {"spectrum", "xenonnt", "coherent_ar", "coherent_csi"}
    kind_files = [f for p in kind_parts for f in ([p] if p.is_file() else p.rglob("*.py"))]
    generic = [f for f in package.rglob("*.py")
               if "kernels" not in f.relative_to(package).parts
               and not any(f == k or k in f.parents for k in kind_parts)]
    assert len(generic) > 20
    trees = {f: ast.parse(f.read_text(encoding="utf-8")) for f in generic}
    generic_classes = {n.name for t in trees.values() for n in ast.walk(t)
                       if isinstance(n, ast.ClassDef)}
    kind_classes = {n.name for f in kind_files for n in ast.walk(ast.parse(f.read_text()))
                    if isinstance(n, ast.ClassDef)} - generic_classes
    assert {"PullChi2", "ArgonLikelihood", "CsILikelihood", "XenonntKind"} <= kind_classes
    module_names = {p.stem for p in kind_parts}
    names = set(registry.kinds()) | set(registry.builtin_names())
    problems = []
    for f, tree in trees.items():
        where = f.relative_to(package)
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom | ast.Import):
                base = (node.module or "") if isinstance(node, ast.ImportFrom) else ""
                for alias in node.names:  # 'from .experiments import xenonnt' too
                    parts = f"{base}.{alias.name}".split(".")
                    if "experiments" in parts and set(parts) & module_names:
                        problems.append(f"{where}:{node.lineno} imports {'.'.join(parts)}")
            elif isinstance(node, ast.Name | ast.Attribute):
                name = node.id if isinstance(node, ast.Name) else node.attr
                if name in kind_classes:
                    problems.append(f"{where}:{node.lineno} refers to {name}")
        if where != Path("__init__.py"):
            problems += [f"{where}:{line} holds {text!r}" for line, text in _code_strings(tree)
                         if text in names]
    assert not problems, "\n".join(problems)
