"""Configuration sections of the CDEX-like spectrum: the detector ([spectrum]) and the
built-in Asimov dataset ([asimov])."""

from __future__ import annotations

from dataclasses import dataclass

from ...config import Range, config_key

#: Flat backgrounds of keV_ee spectra: germanium detectors near threshold see 1-1e3 events/(keV_ee
#: kg day); a value per tonne-year or per kg-year is a unit slip.
_RATE = Range(0.0, 1e5, "events/(keV_ee kg day)")


@dataclass(frozen=True)
class SpectrumSection:
    """[spectrum]: quenching and binned-rate form of the keV_ee response, background of eq. 18."""

    quenching_k: float = config_key(
        "float", Range(0.05, 0.5, note="Lindhard: 0.133 Z^(2/3) A^(-1/2) = 0.157 for Ge; the "
                       "paper's 0.162"), "a Lindhard k")
    bin_rate: str = config_key("str", lambda v: v in ("integrated", "centre"),
                               "'integrated' or 'centre'")
    background: str = config_key("str", lambda v: v in ("free", "fixed"), "'free' or 'fixed'")
    background_value: float | None = config_key("float", _RATE, "a flat background rate",
                                                optional=True)


@dataclass(frozen=True)
class AsimovSection:
    """[asimov]: the built-in cdex10-asimov dataset (expected sensitivity)."""

    background: float = config_key("float", _RATE, "a flat background rate")
    exposure_kg_day: float = config_key("float", Range(0.01, 1e9, "kg day",
                                                       note="CDEX-10: 205.4"), "an exposure")
    tee_min_kev: float = config_key("float", Range(0.001, 100.0, "keV_ee",
                                                   note="CDEX-10: 0.16 = 160 eV_ee"),
                                    "a first bin edge")
    bin_width_kev: float = config_key("float", Range(0.001, 20.0, "keV_ee", note="0.1 = 100 eV_ee"),
                                      "a bin width")
    n_bins: int = config_key("int", lambda v: 1 <= v <= 10000, "an integer 1-10000")


#: The sections' packaged defaults: the paper's setup.
DEFAULTS = """
[spectrum]                  # the CDEX-like keV_ee spectrum (data cdex10-asimov or a dataset CSV)
quenching_k = 0.162         # Lindhard k, eq. 15, dimensionless, 0.05-0.5 (the paper's value,
                            # measured for germanium)
bin_rate = "integrated"     # "integrated": bin average of dR/dT_nr over [T_nr(a), T_nr(b)];
                            # "centre": the paper's eq. 17 at the bin centre
background = "free"         # flat background B of eq. 18: "free" (profiled) or "fixed"
# background_value = 2.0    # events/(keV_ee kg day), in [0, 1e5]; required when
                            # background = "fixed"

[asimov]                    # the built-in cdex10-asimov dataset (expected sensitivity)
background = 2.0            # flat background b0, events/(keV_ee kg day), in [0, 1e5]
exposure_kg_day = 205.4     # kg day, in [0.01, 1e9]; CDEX-10 (Geng et al. 2023)
tee_min_kev = 0.16          # first bin edge, keV_ee (160 eV_ee threshold), in [0.001, 100]
bin_width_kev = 0.1         # keV_ee (100 eV_ee), in [0.001, 20]
n_bins = 20                 # 1-10000
"""

#: Keys that lived in core sections before 0.3.0.
MOVED = {("physics", "quenching_k"): ("spectrum", "quenching_k"),
         ("physics", "bin_rate"): ("spectrum", "bin_rate"),
         ("fit", "background"): ("spectrum", "background"),
         ("fit", "background_value"): ("spectrum", "background_value")}
