"""cevns-scan: neutrino magnetic-moment limits from solar-neutrino CEvNS."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("cevns-scan")
except PackageNotFoundError:  # pragma: no cover - running from an uninstalled tree
    __version__ = "0+unknown"
