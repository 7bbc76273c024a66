"""Configuration section [xenonnt]: the nuisance constraints of the XENONnT likelihood."""

from __future__ import annotations

from dataclasses import dataclass

from ...config import config_key


@dataclass(frozen=True)
class XenonntSection:
    """[xenonnt]: nuisance constraints of the XENONnT solar-8B likelihood (``--data xenonnt-8b``).

    The release gives no widths; the defaults are those the collaboration published for its
    2024 model (SR0+SR1); SR2's accidental-coincidence width is not published (SR1's is used).
    """

    flux_8B: str = config_key("str", lambda v: v in ("sno", "free"),
                              "'sno' (Gaussian constraint from SNO) or 'free'")
    sno_flux: float = config_key("float", lambda v: v > 0, "a flux > 0 in cm^-2 s^-1")
    sno_flux_sigma: float = config_key("float", lambda v: v > 0, "a 1-sigma > 0 in cm^-2 s^-1")
    sigma_efficiency: float = config_key("float", lambda v: v > 0, "a relative 1-sigma > 0")
    efficiency_min: float = config_key("float", lambda v: v >= 0, "a multiplier >= 0")
    efficiency_max: float = config_key("float", lambda v: v > 0, "a multiplier > 0")
    sigma_ac: tuple[float, ...] = config_key("floats",
                                             lambda v: len(v) == 3 and all(x > 0 for x in v),
                                             "three relative 1-sigma > 0 (SR0, SR1, SR2)")
    sigma_er: float = config_key("float", lambda v: v > 0, "a relative 1-sigma > 0")
    sigma_neutron: float = config_key("float", lambda v: v > 0, "a relative 1-sigma > 0")


#: The section's packaged defaults.
DEFAULTS = """
[xenonnt]                   # the XENONnT solar-8B CEvNS release (--data xenonnt-8b); the release
                            # has no widths: these are the collaboration's 2024 (SR0+SR1) ones
flux_8B = "sno"             # "sno": Gaussian constraint of the 8B flux from SNO; "free": none
sno_flux = 5.25e6           # cm^-2 s^-1, SNO combined analysis, PRC 88, 025501 (2013)
sno_flux_sigma = 0.20e6     # cm^-2 s^-1
sigma_efficiency = 0.25     # relative 1-sigma of the signal efficiency
efficiency_min = 0.5        # its fit range
efficiency_max = 1.5
sigma_ac = [0.0904, 0.0576, 0.0576]  # accidental coincidences SR0, SR1; SR2 unpublished: SR1's
sigma_er = 1.0              # electronic recoils (one rate for all runs)
sigma_neutron = 0.58        # radiogenic neutrons (one rate for all runs)
"""
