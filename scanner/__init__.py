"""cevns-scan: neutrino magnetic-moment limits from coherent elastic neutrino-nucleus scattering.

The public surface (imported lazily, so ``import cevns_scan`` is cheap):

- :func:`load_config`, :class:`Config` - the validated configuration (default: the paper's;
  ``load_config(overrides={...})``, ``cfg.replace(scan={"grid": 101})``)
- :class:`Analysis` - physics model + experiments; ``Analysis.from_config(cfg, data=...)``,
  ``.scan(plane)`` -> :class:`PlaneResult`, ``.neyman(plane)`` -> :class:`NeymanResult`,
  ``.run()`` -> :class:`AnalysisResult`
- :func:`load_results` -> :class:`SavedResult` - a results folder read back (also one merged
  from the shards of a cluster job)
- :class:`PlaneGrid`, :class:`GoodnessOfFit`, :class:`LimitCheck` - what the results hold
- :func:`build_model`, :class:`Model`, :func:`make_target` - a neutrino source seen by a target
- :func:`differential_rates` - rates dR/dT_nr (eq. 12)
- :func:`figure2_tables`, :func:`figure2`, :func:`figure3`, :func:`save_figure` - the figures
- :func:`experiment_kinds`, :func:`register_kind` - the registry of experiment kinds
- :class:`InputError`, :class:`ParameterError` - bad input, one line each;
  :class:`CevnsScanWarning` - caveats of a result, issued with :func:`warnings.warn`
- :func:`modelling_sensitivity` - the 1-d.o.f. limits with each modelling choice varied

The CDEX-like spectrum's ``load_dataset`` and ``binned_templates`` live in
:mod:`cevns_scan.experiments.spectrum`; the top-level names still work in this release and
warn (DeprecationWarning).
"""

import warnings
from importlib import import_module
from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("cevns-scan")
except PackageNotFoundError:  # pragma: no cover - running from an uninstalled tree
    __version__ = "0+unknown"

#: Public name -> the module that defines it.
_PUBLIC = {
    "load_config": "config", "Config": "config",
    "Analysis": "analysis",
    "PlaneResult": "results", "AnalysisResult": "results", "NeymanResult": "neyman",
    "GoodnessOfFit": "results", "LimitCheck": "limits", "PlaneGrid": "grid",
    "load_results": "saved_results", "SavedResult": "saved_results",
    "build_model": "model", "Model": "model", "make_target": "targets",
    "differential_rates": "rates", "figure2_tables": "rates",
    "figure2": "plots", "figure3": "plots", "save_figure": "plots",
    "experiment_kinds": "experiments.registry", "register_kind": "experiments.registry",
    "InputError": "errors", "ParameterError": "errors", "CevnsScanWarning": "errors",
    "modelling_sensitivity": "systematics",
}
#: Names the registry functions have in their module.
_RENAMED = {"experiment_kinds": "kinds", "register_kind": "register"}
#: Names of 0.2.0 kept for one release: name -> (module, where it lives now).
_DEPRECATED = {
    "load_dataset": "experiments.spectrum.datasets",
    "binned_templates": "experiments.spectrum.response",
}

__all__ = ["__version__", *_PUBLIC]


def __getattr__(name):
    if name in _PUBLIC:
        module = import_module(f".{_PUBLIC[name]}", __name__)
        return getattr(module, _RENAMED.get(name, name))
    if name in _DEPRECATED:
        where = f"cevns_scan.{_DEPRECATED[name]}"
        warnings.warn(f"cevns_scan.{name} moved to {where}.{name}; the top-level name goes "
                      "away in the next release", DeprecationWarning, stacklevel=2)
        return getattr(import_module(where), name)
    raise AttributeError(f"module 'cevns_scan' has no attribute {name!r}")


def __dir__():
    return sorted(__all__)
