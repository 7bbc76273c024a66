"""cevns-scan: neutrino magnetic-moment limits from solar-neutrino CEvNS.

The public surface (imported lazily, so ``import cevns_scan`` is cheap):

- :func:`load_config`, :class:`Config` - the validated configuration (default: the paper's)
- :class:`Analysis` - physics model + experiments; ``Analysis.from_config(cfg, data=...)``,
  ``.scan(plane)`` -> :class:`PlaneResult`, ``.run()`` -> :class:`AnalysisResult`
- :func:`build_model`, :func:`differential_rates` - rates dR/dT_nr (eq. 12)
- :func:`binned_templates` - keV_ee-binned SM and magnetic-moment templates
- :func:`figure2_tables`, :func:`figure2`, :func:`figure3`, :func:`save_figure` - the figures
- :func:`load_dataset` - a dataset CSV
- :class:`InputError`, :class:`ParameterError` - bad input, one line each
"""

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
    "PlaneResult": "results", "AnalysisResult": "results",
    "build_model": "model",
    "differential_rates": "rates", "figure2_tables": "rates",
    "binned_templates": "experiments.quenched",
    "figure2": "plots", "figure3": "plots", "save_figure": "plots",
    "load_dataset": "datasets",
    "InputError": "errors", "ParameterError": "errors",
}

__all__ = ["__version__", *_PUBLIC]


def __getattr__(name):
    if name in _PUBLIC:
        return getattr(import_module(f".{_PUBLIC[name]}", __name__), name)
    raise AttributeError(f"module 'cevns_scan' has no attribute {name!r}")
