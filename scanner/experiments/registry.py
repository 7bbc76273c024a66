"""The registry of experiment kinds: found through the entry-point group ``cevns_scan.experiments``.

Built-in kinds and kinds from other installed packages are found the same way: a package
declares, in its packaging metadata,

.. code-block:: toml

    [project.entry-points."cevns_scan.experiments"]
    counting = "counting_experiment:KIND"

and the object there satisfies :class:`~cevns_scan.experiments.protocols.ExperimentKind`.
:func:`register` adds a kind in-process (tests, notebooks). A ``--data`` text is given to the
kind that recognises it; ``KIND:SPEC`` names the kind explicitly.
"""

from __future__ import annotations

import difflib
import functools
from importlib.metadata import entry_points

from ..errors import InputError
from .protocols import ExperimentKind

#: The entry-point group of experiment kinds.
ENTRY_POINT_GROUP = "cevns_scan.experiments"

#: Attributes every kind must have (checked when it is registered).
_REQUIRED = ("name", "summary", "data_help", "builtin", "default_data", "config_sections",
             "config_defaults", "config_moved", "output_files", "dataset_commands",
             "recognises", "load", "build", "manifest", "from_manifest", "write_outputs",
             "warnings")

_extra: dict[str, ExperimentKind] = {}


def _check(kind, origin: str) -> ExperimentKind:
    missing = [a for a in _REQUIRED if not hasattr(kind, a)]
    if missing:
        raise InputError(f"experiment kind from {origin} lacks {', '.join(missing)}; see "
                         "docs/experiments.md for what a kind declares")
    return kind


@functools.cache
def _installed() -> dict[str, ExperimentKind]:
    found: dict[str, ExperimentKind] = {}
    for ep in sorted(entry_points(group=ENTRY_POINT_GROUP), key=lambda e: e.name):
        try:
            kind = ep.load()
        except Exception as exc:  # a broken third-party package must say which it is
            raise InputError(f"experiment kind {ep.name!r} ({ep.value}) cannot be loaded: "
                             f"{type(exc).__name__}: {exc}") from None
        kind = _check(kind, f"entry point {ep.name} = {ep.value}")
        if kind.name in found:
            raise InputError(f"two installed experiment kinds are named {kind.name!r} "
                             f"({ep.value} and another); uninstall one")
        found[kind.name] = kind
    if not found:
        raise InputError("no experiment kinds are registered: cevns-scan is not installed "
                         "(its entry points are missing); install it with pip install .")
    return found


def kinds() -> dict[str, ExperimentKind]:
    """Every registered kind by name: installed ones, then those added by :func:`register`."""
    return {**_installed(), **_extra}


def register(kind) -> ExperimentKind:
    """Add a kind in this process (without packaging metadata); returns it.

    Re-registering a name replaces the earlier in-process kind; an installed kind's name is
    refused.
    """
    kind = _check(kind, repr(kind))
    if kind.name in _installed():
        raise InputError(f"experiment kind {kind.name!r} is already installed; choose another "
                         "name")
    _extra[kind.name] = kind
    return kind


def unregister(name: str) -> None:
    """Remove a kind added by :func:`register` (installed kinds stay)."""
    _extra.pop(name, None)


def kind(name: str) -> ExperimentKind:
    """The kind called ``name``."""
    found = kinds()
    if name not in found:
        match = difflib.get_close_matches(name, list(found), n=1, cutoff=0.5)
        hint = f"; did you mean {match[0]!r}?" if match else ""
        raise InputError(f"no experiment kind {name!r} is registered{hint} (registered: "
                         f"{', '.join(found)})")
    return found[name]


def builtin_names() -> list[str]:
    """Every built-in dataset name of every kind."""
    return [b for k in kinds().values() for b in k.builtin]


def default_spec() -> str:
    """The dataset of an analysis given no data (the one kind that declares one)."""
    for k in kinds().values():
        if k.default_data:
            return k.default_data
    raise InputError("no registered experiment kind provides a default dataset; name one")


def recognise(spec: str) -> tuple[ExperimentKind, str]:
    """(kind, spec) for a ``--data`` text: ``KIND:SPEC`` or whichever kind recognises it.

    Raises a one-line error with a did-you-mean over the built-in names when no kind does,
    and names the candidates when several do.
    """
    found = kinds()
    head, sep, rest = spec.partition(":")
    if sep and head in found:
        return found[head], rest
    claims = [k for k in found.values() if k.recognises(spec)]
    if len(claims) == 1:
        return claims[0], spec
    if len(claims) > 1:
        names = ", ".join(k.name for k in claims)
        raise InputError(f"data {spec!r} is recognised by several experiment kinds ({names}); "
                         f"write KIND:{spec} with one of them")
    match = difflib.get_close_matches(spec, builtin_names(), n=1, cutoff=0.6)
    hint = f"; did you mean {match[0]!r}?" if match else ""
    raise InputError(f"data {spec!r} is no file, folder or built-in dataset that an experiment "
                     f"kind recognises{hint} ({data_help()})")


def load(spec):
    """The loaded data of one spec: a text is recognised and loaded; data pass through."""
    if not isinstance(spec, str):
        if not hasattr(spec, "kind"):
            raise InputError(f"data {spec!r} is neither a dataset name, a path nor loaded data "
                             "of an experiment kind")
        kind(spec.kind)  # known?
        return spec
    k, rest = recognise(spec)
    return k.load(rest)


def kind_of(data) -> ExperimentKind:
    """The kind that loaded ``data``."""
    return kind(data.kind)


def data_help() -> str:
    """What ``--data`` accepts, from every kind: 'KIND: help; ...'."""
    return "; ".join(f"{k.name}: {k.data_help}" for k in kinds().values())


def from_manifest(record: dict, where: str):
    """The data a checkpoint manifest recorded (its kind rebuilds and checks them)."""
    name = record.get("kind")
    if name is None:
        raise InputError(f"{where}: a data record without its experiment kind (made by an "
                         "older cevns-scan); rerun the scan with this version")
    return kind(name).from_manifest(record, where)


def shared_names() -> dict[str, tuple[str, ...]]:
    """Kind name -> the nuisance names it declares it can share (``shares``, default none)."""
    return {name: tuple(getattr(k, "shares", ())) for name, k in kinds().items()}


def dataset_commands():
    """(kind, command) of every ``cevns-scan dataset`` subcommand, in kind order."""
    out = []
    for k in kinds().values():
        for cmd in k.dataset_commands:
            out.append((k, cmd))
    return out
