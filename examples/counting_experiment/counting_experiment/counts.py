"""The response of a counting experiment: recoil spectra -> expected events in one window.

With dR/dT_nr from the physics model (solar 8B neutrinos on argon, events / (kg day keV_nr)),

    S   = E  int_{T_lo}^{T_hi'} dR_SM/dT dT,                                         (C1)
    M_l = E  int_{T_lo}^{T_hi'} dR_MM,l/dT dT   per mu_B^2 of flavour l,

E the exposure in kg day and T_hi' = min(T_hi, T_max) the window cut at the largest recoil
an 8B neutrino can give (eq. 14 of the paper), where the rate has a kink. The integral is
Gauss-Legendre with ``nodes`` points: below T_max the rate is smooth but for tiny kinks where
E_min(T) crosses a node of the tabulated spectrum, and 48 nodes agree with scipy's quad to
about 1e-9 (tests/test_counting_example.py).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from cevns_scan.errors import InputError
from cevns_scan.kernels.constants import MEV_PER_KEV
from cevns_scan.kernels.kinematics import t_nr_max
from cevns_scan.rates import flavour_differential_rates

#: The target and the flux component of this experiment.
TARGET = "Ar"
COMPONENT = "8B"


@dataclass(frozen=True)
class WindowCounts:
    """Expected events in the window (the experiment's templates).

    ``sm``: SM CEvNS events; ``mm``: (3,) magnetic-moment events per mu_B^2 for flavours
    (e, mu, tau), flavour-weighted; ``t_max_kev_nr``: the largest 8B recoil; ``window_kev_nr``
    the window integrated, cut there.
    """

    sm: float
    mm: np.ndarray
    t_max_kev_nr: float
    window_kev_nr: tuple[float, float]


def largest_recoil_kev(model) -> float:
    """The largest recoil (keV_nr) any neutrino of the model gives on its lightest nucleus."""
    e_max = max(c.e_max_mev for c in model.components)
    m_light = min(nucleus.m_n for _, nucleus in model.nuclei)
    return float(t_nr_max(e_max, m_light)) / MEV_PER_KEV


def window_model(model):
    """The physics model as this experiment sees it: argon, 8B neutrinos only."""
    return model.with_target(TARGET).with_components([COMPONENT])


def window_counts(model, window_kev_nr, exposure_kg_day: float, nodes: int) -> WindowCounts:
    """(C1): SM and per-flavour magnetic-moment events in the window, for ``model`` as it is
    (call :func:`window_model` first)."""
    lo, hi = window_kev_nr
    t_max = largest_recoil_kev(model)
    top = min(hi, t_max)
    if not top > lo:
        raise InputError(f"the window {lo:g}-{hi:g} keV_nr lies above the largest "
                         f"{COMPONENT} recoil on {model.target.name} ({t_max:.3g} keV_nr): no "
                         "signal; lower the window")
    x, w = np.polynomial.legendre.leggauss(nodes)
    half = 0.5 * (top - lo)
    t = lo + half * (x + 1.0)
    sm, mm = flavour_differential_rates(model, t)
    weights = exposure_kg_day * half * w
    return WindowCounts(float(weights @ sm.sum(axis=0)), weights @ mm.sum(axis=0), t_max,
                        (lo, top))


@dataclass(frozen=True)
class Window:
    """The :class:`~cevns_scan.experiments.protocols.Response` of a counting experiment:
    ``window_kev_nr`` (keV_nr), ``exposure_kg_day`` and the quadrature ``nodes``."""

    window_kev_nr: tuple[float, float]
    exposure_kg_day: float
    nodes: int

    def templates(self, model) -> WindowCounts:
        """(C1) for ``model`` (argon and 8B: :func:`window_model`)."""
        return window_counts(model, self.window_kev_nr, self.exposure_kg_day, self.nodes)
