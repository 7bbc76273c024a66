"""Configuration section [xenonnt]: the nuisance constraints of the XENONnT likelihood."""

from __future__ import annotations

from dataclasses import dataclass

from ...config import Range, config_key

#: The SNO combined-analysis 8B flux (PRC 88, 025501 (2013)), cm^-2 s^-1.
SNO_FLUX = 5.25e6
#: A relative 1-sigma of a rate parameter: 0.25 is 25 %.
_RELATIVE = Range(0.0, 1.0, low_open=True, note="a fraction: 0.25 = 25 %")


@dataclass(frozen=True)
class XenonntSection:
    """[xenonnt]: nuisance constraints of the XENONnT solar-8B likelihood (``--data xenonnt-8b``).

    The release gives no widths; the defaults are those the collaboration published for its
    2024 model (SR0+SR1); SR2's accidental-coincidence width is not published (SR1's is used).
    """

    flux_8B: str = config_key("str", lambda v: v in ("sno", "free"),
                              "'sno' (Gaussian constraint from SNO) or 'free'")
    sno_flux: float = config_key(
        "float", Range(SNO_FLUX / 10, SNO_FLUX * 10, "cm^-2 s^-1",
                       note="SNO: 5.25e6 = 5.25 x 10^6; within a factor of ten of it"),
        "an 8B flux")
    sno_flux_sigma: float = config_key(
        "float", Range(SNO_FLUX / 1000, SNO_FLUX, "cm^-2 s^-1", note="SNO: 0.20e6"),
        "a 1-sigma of the 8B flux")
    sigma_efficiency: float = config_key("float", _RELATIVE, "a relative 1-sigma")
    efficiency_min: float = config_key("float", Range(0.0, 1.0, high_open=True),
                                       "a lower bound of the efficiency multiplier")
    efficiency_max: float = config_key("float", Range(1.0, 10.0, low_open=True),
                                       "an upper bound of the efficiency multiplier")
    sigma_ac: tuple[float, ...] = config_key("floats", _RELATIVE,
                                             "three relative 1-sigma (SR0, SR1, SR2), each",
                                             length=3)
    sigma_er: float = config_key("float", _RELATIVE, "a relative 1-sigma")
    sigma_neutron: float = config_key("float", _RELATIVE, "a relative 1-sigma")


#: The section's packaged defaults.
DEFAULTS = """
[xenonnt]                   # the XENONnT solar-8B CEvNS release (data xenonnt-8b); the release
                            # has no widths: these are the collaboration's 2024 (SR0+SR1) ones
flux_8B = "sno"             # "sno": Gaussian constraint of the 8B flux from SNO; "free": none
sno_flux = 5.25e6           # cm^-2 s^-1 (5.25 x 10^6), SNO combined analysis, PRC 88, 025501
                            # (2013); within a factor of ten of it: 5.25e5-5.25e7
sno_flux_sigma = 0.20e6     # cm^-2 s^-1 (0.20 x 10^6)
sigma_efficiency = 0.25     # relative 1-sigma of the signal efficiency (0.25 = 25 %)
efficiency_min = 0.5        # its fit range, multipliers of the efficiency: [0, 1) and (1, 10]
efficiency_max = 1.5
sigma_ac = [0.0904, 0.0576, 0.0576]  # relative, accidental coincidences SR0, SR1; SR2
                                     # unpublished: SR1's
sigma_er = 1.0              # relative, electronic recoils (one rate for all runs)
sigma_neutron = 0.58        # relative, radiogenic neutrons (one rate for all runs)
                            # (every relative 1-sigma lies in (0, 1]: 0.25 = 25 %)
"""
