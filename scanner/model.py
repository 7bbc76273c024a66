"""The physics model: a neutrino source seen by a target, with the weak couplings.

Built from a validated :class:`~cevns_scan.config.Config` by :func:`build_model`. The numbers
feed the kernels; nothing here integrates. The model is a **source**
(:mod:`cevns_scan.sources`: the Sun by default, a pion decay-at-rest beam for an experiment at
a spallation source) times a **target** (:mod:`cevns_scan.targets`: an element, its natural
isotopes or a compound). Detector physics (quenching, resolution, efficiency, binning) belongs
to each experiment's response, so experiments with different detectors share one model.

Three physics choices (docs/design.md §2), each with the paper's option first:

* flavour probabilities of the Sun: ``"constant"`` (eqs. 8-11) or ``"msw"`` (day-time
  adiabatic MSW, :mod:`cevns_scan.msw`);
* target nuclei: ``"effective"`` (one nucleus of the molar mass per element, eq. 12) or
  ``"natural"`` (the stable isotopes, :mod:`cevns_scan.nuclides`);
* weak couplings: ``"tree"`` (eq. 3) or ``"radiative"`` (:mod:`cevns_scan.couplings`).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from .couplings import weak_couplings
from .kernels.cross_sections import weak_charge
from .kernels.rates import Nucleus
from .sources import FluxComponent, Source
from .sources.solar import (  # noqa: F401 - names of the solar source, kept importable here
    Oscillation,
    SolarSource,
    build_solar_source,
    flavour_probabilities,
    flux_models,
    model_fluxes,
)
from .targets import Nuclide, Target, make_target  # noqa: F401 - kept importable here

#: Proton number and standard atomic weight (g/mol) of the paper's two targets; any element of
#: data/elements.csv works as a target (:func:`make_target`), these agree with that table.
KNOWN_TARGETS = {"Ge": (32, 72.630), "Xe": (54, 131.293)}

#: Attributes of the solar source that a model also answers (``model.probabilities``...).
_SOURCE_ATTRIBUTES = ("probabilities", "oscillation", "flavour_model", "flux_model",
                      "sigma_model", "flux_averaged_probabilities")


@dataclass(frozen=True)
class Model:
    """Everything the rate kernels need, in their units: a target seen by a source.

    ``couplings`` is ``"tree"`` or ``"radiative"``; ``gl_order`` and ``max_ratio`` set the
    Gauss-Legendre quadrature of recoil-bin integrals; :attr:`choices` records the physics
    choices. The solar source's attributes (``probabilities``, ``oscillation``,
    ``flavour_model``, ``flux_model``, ``sigma_model``) are readable on the model too.
    """

    target: Target
    source: Source
    sin2_theta_w: float
    gl_order: int
    max_ratio: float
    couplings: str = "tree"
    preset: str = "paper"

    def __repr__(self) -> str:
        return (f"Model(target {self.target.name} ({self.target.isotopes}), source "
                f"{self.source.name}: {', '.join(self.component_names)}; preset {self.preset}, "
                f"couplings {self.couplings})")

    def __getattr__(self, name):
        if name in _SOURCE_ATTRIBUTES:
            return getattr(self.source, name)
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")

    @property
    def components(self) -> tuple[FluxComponent, ...]:
        """The source's flux components (index j of every template)."""
        return self.source.components

    @property
    def component_names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.components)

    @property
    def choices(self) -> dict[str, str]:
        """The physics choices this model uses: preset, oscillation, isotopes, couplings."""
        flavours = getattr(self.source, "flavour_model", self.source.name)
        return {"preset": self.preset, "oscillation": flavours,
                "isotopes": self.target.isotopes, "couplings": self.couplings}

    @property
    def nucleon_couplings(self) -> tuple[float, float]:
        """(g_V^p, g_V^n) of the weak charge g_V^p Z + g_V^n N (eq. 3, or radiative)."""
        return weak_couplings(self.couplings, self.sin2_theta_w)

    def charge_of(self, n_neutrons: float, z: int | None = None) -> float:
        """Weak charge Q_W = g_V^p Z + g_V^n N of a nucleus with N neutrons (and Z protons:
        default the target's)."""
        z = self.target.z if z is None else z
        if self.couplings == "tree":
            return weak_charge(float(z), n_neutrons, self.sin2_theta_w)
        g_p, g_n = self.nucleon_couplings
        return g_p * float(z) + g_n * n_neutrons

    @property
    def weak_charge(self) -> float:
        """Weak charge of the effective nucleus (N = molar mass - Z) of a one-element target."""
        return self.charge_of(self.target.n_neutrons)

    @property
    def nucleus(self) -> Nucleus:
        """The effective nucleus of a one-element target as the rate kernels take it."""
        tgt = self.target
        return Nucleus(tgt.m_n_mev, self.weak_charge, float(tgt.z), tgt.r0_fm)

    @property
    def nuclei(self) -> tuple[tuple[float, Nucleus], ...]:
        """``(nuclei per kg, Nucleus)`` for every nuclide the rates sum over.

        Per kg of target, nuclide i contributes x_i N_T nuclei, with x_i its number per
        formula unit (an element: its abundance) and N_T = 1000 N_A / (molar mass of a
        formula unit) (eq. 12); an effective element is one nuclide with x = 1, exactly
        :attr:`nucleus`. Each nuclide has its own Z, N, mass and Helm radius.
        """
        tgt = self.target
        if tgt.isotopes != "natural" and not tgt.is_compound:
            return ((tgt.nuclei_per_kg, self.nucleus),)
        return tuple((iso.fraction * tgt.nuclei_per_kg,
                      Nucleus(iso.m_n_mev, self.charge_of(iso.n_neutrons, iso.z), float(iso.z),
                              iso.r0_fm))
                     for iso in tgt.nuclides)

    def with_target(self, target: Target | str) -> Model:
        """The same model for another target: a :class:`Target`, or an element's name or a
        formula (then with this model's isotope choice)."""
        if isinstance(target, str):
            target = make_target(target, isotopes=self.target.isotopes)
        return dataclasses.replace(self, target=target)

    def with_source(self, source: Source) -> Model:
        """The same target and couplings seen by another source."""
        return dataclasses.replace(self, source=source)

    def with_components(self, names) -> Model:
        """The same model with the source restricted to the named components (in order)."""
        return dataclasses.replace(self, source=self.source.with_components(names))


def build_model(config) -> Model:
    """The :class:`Model` described by a validated :class:`~cevns_scan.config.Config`:
    the configured target seen by the Sun (``[fluxes]``, ``[oscillation]``).

    The physics choices are ``config.choices`` (preset, then the per-key overrides).
    """
    tgt = config.target
    choices = config.choices
    target = make_target(tgt.name, tgt.z, tgt.molar_mass, choices["isotopes"])
    return Model(target, build_solar_source(config), config.physics.sin2_theta_w,
                 config.numerics.gl_order, config.numerics.max_ratio, choices["couplings"],
                 choices["preset"])
