"""The XENONnT modelling choices that ``cevns-scan systematics`` varies (the kind's hook).

Each is a choice the release does not fix and the user cannot see in the limits: the signal
efficiency's constraint, the light- and charge-yield shifts, the flavour probabilities, the
8B spectrum, hep CEvNS, SR2's accidental-coincidence width (unpublished: SR1's is used), and
the 8B flux constraint.
"""

from __future__ import annotations

import dataclasses

from ..protocols import Variation


def _pinned(**values: float):
    """A transform holding likelihood parameters at ``values`` in every fit."""

    def transform(experiment):
        return dataclasses.replace(experiment, likelihood=experiment.likelihood.pin(**values))

    return transform


def variations(config) -> tuple[Variation, ...]:
    """The variations of the XENONnT likelihood and model, relative to ``config``."""
    sigma_ac = list(config.xenonnt.sigma_ac)
    return (
        Variation("efficiency fixed", "signal efficiency held at 1 (no constraint of width "
                  f"{config.xenonnt.sigma_efficiency:g} fitted)", {},
                  _pinned(efficiency=1.0)),
        Variation("yields fixed", "light- and charge-yield shifts t_ly = t_qy = 0 (not "
                  "profiled)", {}, _pinned(t_ly=0.0, t_qy=0.0)),
        Variation("MSW probabilities", "day-time adiabatic MSW flavour probabilities instead "
                  "of the paper's constants", {"oscillation": {"model": "msw"}}),
        Variation("Bahcall 8B spectrum", "8B spectrum of Bahcall et al. 1996 instead of Winter "
                  "et al. 2006", {"fluxes": {"spectrum_8B": "bahcall1996"}}),
        Variation("hep off", "hep CEvNS switched off (fixed at the model's flux otherwise)", {},
                  _pinned(hep=0.0)),
        Variation("SR2 AC width = SR0's", f"SR2 accidental-coincidence width {sigma_ac[0]:g} "
                  f"(SR0's) instead of {sigma_ac[2]:g} (SR1's; SR2's is unpublished)",
                  {"xenonnt": {"sigma_ac": [*sigma_ac[:2], sigma_ac[0]]}}),
        Variation("8B flux free", "no SNO constraint on the 8B flux",
                  {"xenonnt": {"flux_8B": "free"}}),
    )
