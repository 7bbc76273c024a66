"""Neutrino sources: flux components with energy spectra, flavour content and time profiles.

The physics model is a source seen by a target (:class:`~cevns_scan.model.Model`). A source
gives

* its **flux components** (:class:`FluxComponent`): a normalisation, a unit-area piecewise-
  linear spectrum and/or monochromatic lines, and a fractional 1-sigma of the normalisation;
* the **exposure unit** of that normalisation: rates come out per kg of target and per
  ``exposure_seconds`` seconds of a flux in cm^-2 s^-1 (86400 for a steady source such as the
  Sun: events per kg day), or per unit fluence (1, with the normalisation a fluence in cm^-2,
  for a pulsed beam whose experiment knows its protons on target and distance);
* the **flavour content at the detector**: per component, how the magnetic-moment part splits
  over (e, mu, tau) — constant weights (:meth:`Source.flavour_weights`), or energy dependent
  (:meth:`Source.split_flavours`, e.g. MSW probabilities inside the E_nu integral);
* where it has one, a **time profile** (:meth:`Source.time_fractions`).

Implementations: :mod:`.solar` (the Sun: BS05(OP) and later models, constant or MSW
probabilities) and :mod:`.pion_dar` (pion decay at rest: prompt nu_mu, delayed nu_e and
anti-nu_mu). A reactor source fits the same shape (one component, constant weights).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, runtime_checkable

import numpy as np

from ..kernels.rates import Spectrum


@dataclass(frozen=True)
class FluxComponent:
    """One flux component of a source.

    ``flux`` is its normalisation in the source's exposure unit (cm^-2 s^-1 for the Sun,
    a fluence in cm^-2 for a beam), ``frac_sigma`` its fractional 1-sigma. The continuous
    shape (``e_mev``, ``density`` in MeV^-1 with unit area, ``moments`` its tail-moment table)
    and the lines (``line_e_mev``, ``line_branching``, summing to 1) may each be empty.
    """

    name: str
    flux: float
    frac_sigma: float
    e_mev: np.ndarray
    density: np.ndarray
    moments: np.ndarray
    line_e_mev: np.ndarray
    line_branching: np.ndarray

    @property
    def spectrum(self) -> Spectrum:
        """The component as the rate kernels take it."""
        return Spectrum(self.e_mev, self.density, self.moments, self.line_e_mev,
                        self.line_branching)

    @property
    def e_max_mev(self) -> float:
        """The highest neutrino energy of the component (MeV)."""
        ends = [self.e_mev[-1]] if self.e_mev.size else []
        return float(max([*ends, *self.line_e_mev.tolist()]))


@runtime_checkable
class Source(Protocol):
    """A neutrino source as the rate code sees it (see the module docstring)."""

    #: Short name, e.g. ``"solar"``, ``"pion-dar"``.
    name: str
    #: The flux components, in a fixed order (index j of every template).
    components: tuple[FluxComponent, ...]
    #: Seconds of a flux in cm^-2 s^-1 that make one unit of exposure (86400: per day; 1:
    #: ``flux`` is already a fluence).
    exposure_seconds: float

    def flavour_weights(self, component: FluxComponent):
        """(w_e, w_mu, w_tau) of the component's magnetic-moment part, or None when they
        depend on the neutrino energy (then :meth:`split_flavours` is used)."""

    def split_flavours(self, model, component: FluxComponent, evaluate, mm_all,
                       factor: float = 1.0) -> np.ndarray:
        """(..., 3) per-flavour magnetic-moment parts of an energy-dependent component.

        ``evaluate(spectrum, nucleus)`` returns the kernels' (SM, MM) for any spectrum of the
        component; ``mm_all`` is the whole component's MM part (summed over nuclides)."""

    def time_fractions(self, component: FluxComponent, t_lo_us, t_hi_us):
        """Fraction of the component's neutrinos arriving in each time bin, or None (steady)."""

    def with_components(self, names) -> Source:
        """The same source restricted to the named components (in source order)."""

    def describe(self) -> dict:
        """What run.json records about the source."""


def constant_split(mm_all: np.ndarray, weights) -> np.ndarray:
    """(..., 3) magnetic-moment parts of a component with constant flavour weights."""
    return mm_all[..., None] * np.asarray(weights)[None, :]
