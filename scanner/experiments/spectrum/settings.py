"""Configuration sections of the CDEX-like spectrum: the detector ([spectrum]) and the
built-in Asimov dataset ([asimov])."""

from __future__ import annotations

from dataclasses import dataclass

from ...config import config_key

_RATE_HINT = "a rate >= 0 in events/(keV_ee kg day)"


@dataclass(frozen=True)
class SpectrumSection:
    """[spectrum]: quenching and binned-rate form of the keV_ee response, background of eq. 18."""

    quenching_k: float = config_key("float", lambda v: v > 0, "a number > 0 (Lindhard k)")
    bin_rate: str = config_key("str", lambda v: v in ("integrated", "centre"),
                               "'integrated' or 'centre'")
    background: str = config_key("str", lambda v: v in ("free", "fixed"), "'free' or 'fixed'")
    background_value: float | None = config_key("float", lambda v: v >= 0, _RATE_HINT,
                                                optional=True)


@dataclass(frozen=True)
class AsimovSection:
    """[asimov]: the built-in cdex10-asimov dataset (expected sensitivity)."""

    background: float = config_key("float", lambda v: v >= 0, _RATE_HINT)
    exposure_kg_day: float = config_key("float", lambda v: v > 0, "an exposure > 0 in kg day")
    tee_min_kev: float = config_key("float", lambda v: v > 0, "an energy > 0 in keV_ee")
    bin_width_kev: float = config_key("float", lambda v: v > 0, "a width > 0 in keV_ee")
    n_bins: int = config_key("int", lambda v: 1 <= v <= 10000, "an integer 1-10000")


#: The sections' packaged defaults: the paper's setup.
DEFAULTS = """
[spectrum]                  # the CDEX-like keV_ee spectrum (--data cdex10-asimov or a dataset CSV)
quenching_k = 0.162         # Lindhard k, eq. 15 (the paper's value, measured for germanium)
bin_rate = "integrated"     # "integrated": bin average of dR/dT_nr over [T_nr(a), T_nr(b)];
                            # "centre": the paper's eq. 17 at the bin centre
background = "free"         # flat background B of eq. 18: "free" (profiled) or "fixed"
# background_value = 2.0    # events/(keV_ee kg day); required when background = "fixed"

[asimov]                    # the built-in cdex10-asimov dataset (expected sensitivity)
background = 2.0            # flat background b0, events/(keV_ee kg day)
exposure_kg_day = 205.4     # CDEX-10 (Geng et al. 2023)
tee_min_kev = 0.16          # first bin edge, keV_ee (160 eV_ee threshold)
bin_width_kev = 0.1
n_bins = 20
"""

#: Keys that lived in core sections before 0.3.0.
MOVED = {("physics", "quenching_k"): ("spectrum", "quenching_k"),
         ("physics", "bin_rate"): ("spectrum", "bin_rate"),
         ("fit", "background"): ("spectrum", "background"),
         ("fit", "background_value"): ("spectrum", "background_value")}
