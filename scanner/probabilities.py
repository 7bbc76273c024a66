"""Flavour probabilities at Earth per solar component: tables and a figure (docs/design.md §2).

:func:`probability_table` gives P_ee, P_eμ, P_eτ at chosen neutrino energies for one flux
component, with the configured flavour model (``"constant"``: eqs. 8-11; ``"msw"``: day-time
adiabatic MSW, :mod:`cevns_scan.msw`, eqs. M1-M5) or an explicit one. :func:`draw_probabilities`
draws P(E) per component on a given matplotlib Axes (the figure physicists expect beside
Fig. 2); it saves nothing.

>>> from cevns_scan.probabilities import probability_table
>>> tab = probability_table("8B", [1, 5, 10, 15], model="msw")
>>> sorted(tab)
['E_nu_MeV', 'P_ee', 'P_emu', 'P_etau']
"""

from __future__ import annotations

import numpy as np

from .config import CHOICES, load_config
from .errors import InputError
from .sources.solar import Oscillation, make_flux_components

#: Columns of :func:`probability_table`, in order.
COLUMNS = ("E_nu_MeV", "P_ee", "P_emu", "P_etau")
#: Components drawn by default: the three that span the energy range.
DEFAULT_COMPONENTS = ("pp", "7Be", "8B")
#: Flavour keys of :func:`draw_probabilities` -> (row of the probabilities, label).
FLAVOUR_ROWS = {"ee": (0, r"P_{ee}"), "emu": (1, r"P_{e\mu}"), "etau": (2, r"P_{e\tau}")}
#: Marker of each probability of a line component (7Be, pep), which is drawn as points.
LINE_MARKERS = {"ee": "o", "emu": "s", "etau": "^"}


def oscillation_of(config=None, model: str | None = None) -> Oscillation:
    """The flavour model of ``config`` (default: the packaged one), or ``model`` if given.

    Parameters
    ----------
    config : cevns_scan.config.Config, optional
        Mixing angles, Δm²21 and the oscillation choice (preset or ``[oscillation] model``).
    model : {"constant", "msw"}, optional
        Overrides the configured choice.

    Raises
    ------
    InputError
        For a model other than ``"constant"`` or ``"msw"``.
    """
    config = config if config is not None else load_config()
    chosen = model if model is not None else config.choices["oscillation"]
    if chosen not in CHOICES["oscillation"]:
        raise InputError(f"flavour model {chosen!r} is not known; use "
                         f"{' or '.join(repr(c) for c in CHOICES['oscillation'])}")
    osc = config.oscillation
    return Oscillation(chosen, osc.sin2_theta12, osc.sin2_theta23, osc.sin2_theta13,
                       osc.dm2_21_ev2)


def probability_table(component: str, energies_mev, config=None,
                      model: str | None = None) -> dict[str, np.ndarray]:
    """P_ee, P_eμ, P_eτ of one solar component at the given neutrino energies.

    Parameters
    ----------
    component : str
        Flux component: pp, pep, hep, 7Be, 8B, 13N, 15O or 17F (sets the MSW production zones).
    energies_mev : array_like
        Neutrino energies in MeV, each finite and > 0.
    config : cevns_scan.config.Config, optional
        Default: the packaged configuration (the paper's; its preset chooses "constant").
    model : {"constant", "msw"}, optional
        Overrides the configured flavour model.

    Returns
    -------
    dict of str to ndarray
        ``E_nu_MeV`` (MeV) and the dimensionless ``P_ee``, ``P_emu``, ``P_etau``, one value
        per energy; the three probabilities sum to 1.

    Raises
    ------
    InputError
        An unknown component or model, or an energy that is not a positive finite number.
    """
    osc = oscillation_of(config, model)
    e = np.atleast_1d(np.asarray(energies_mev, dtype=float))
    if e.ndim != 1 or e.size == 0:
        raise InputError("energies must be a non-empty list of neutrino energies in MeV")
    probs = osc.probabilities(component, e)
    return dict(zip(COLUMNS, (e, *probs), strict=True))


def component_energies(component: str, config=None, points: int = 300) -> np.ndarray:
    """Energies (MeV) spanning a component: log-spaced over its spectrum, or its lines.

    The range is that of the configured spectral table (first node > 0 to the last node with
    non-zero density) for continuous components, the line energies for ⁷Be and pep.
    """
    from .msw import _check_component

    _check_component(component)
    config = config if config is not None else load_config()
    flx = config.fluxes
    comp = make_flux_components(flx.model, flx.sigma_model, (component,), flx.spectrum_8B,
                                {})[0]
    if not comp.e_mev.size:
        return np.sort(comp.line_e_mev)
    live = comp.e_mev[(comp.e_mev > 0.0) & (comp.density > 0.0)]
    return np.geomspace(live[0], live[-1], points)


def draw_probabilities(ax, config=None, components=DEFAULT_COMPONENTS, *,
                       model: str | None = None, flavours=("ee",), points: int = 300) -> list:
    """Draw P(E) of each component on ``ax`` (lines for spectra, markers for the ⁷Be/pep lines).

    Where spectra overlap in energy, a wider spectrum's curve is drawn below and thicker
    than a narrower one's (pp stays visible over 8B); each probability of a line component
    has its own marker (:data:`LINE_MARKERS`).

    Parameters
    ----------
    ax : matplotlib.axes.Axes
        Where to draw; the x axis is set to log scale, E_nu in MeV.
    config : cevns_scan.config.Config, optional
        Default: the packaged configuration.
    components : sequence of str
        Flux components to draw.
    model : {"constant", "msw"}, optional
        Overrides the configured flavour model.
    flavours : sequence of {"ee", "emu", "etau"}
        Which of P_ee, P_eμ, P_eτ to draw (solid, dashed, dotted).
    points : int
        Energies per continuous component.

    Returns
    -------
    list of matplotlib.artist.Artist
        The lines drawn, one per (component, flavour), labelled e.g. ``8B P_ee``.
    """
    unknown = [f for f in flavours if f not in FLAVOUR_ROWS]
    if unknown:
        raise InputError(f"flavour {unknown[0]!r} is not one of {', '.join(FLAVOUR_ROWS)}")
    styles = {"ee": "-", "emu": "--", "etau": ":"}
    tables = {comp: probability_table(comp, component_energies(comp, config, points), config,
                                      model) for comp in components}
    # Curves overlap where spectra do (pp lies under 8B below 0.42 MeV): the wider a
    # spectrum, the lower and thicker its curve, so that every one stays visible.
    spans = {c: float(np.ptp(np.log(t["E_nu_MeV"]))) for c, t in tables.items()
             if t["E_nu_MeV"].size >= 3}
    order = sorted(spans, key=lambda c: -spans[c])
    artists = []
    for k, (comp, tab) in enumerate(tables.items()):
        colour = f"C{k % 10}"
        line = comp not in spans
        rank = len(order) if line else order.index(comp)
        width = 1.3 + 1.0 * (len(order) - 1 - rank) if not line else None
        for flav in flavours:
            row, label = FLAVOUR_ROWS[flav]
            if line:  # 7Be, pep: one marker shape per probability
                (art,) = ax.plot(tab["E_nu_MeV"], tab[COLUMNS[1 + row]], color=colour,
                                 linestyle="none", marker=LINE_MARKERS[flav], ms=6,
                                 zorder=3 + len(order), label=f"{comp} ${label}$")
            else:
                (art,) = ax.plot(tab["E_nu_MeV"], tab[COLUMNS[1 + row]], color=colour,
                                 linestyle=styles[flav], linewidth=width, zorder=2 + rank,
                                 label=f"{comp} ${label}$")
            artists.append(art)
    ax.set_xscale("log")
    ax.set_xlabel(r"$E_\nu$ [MeV]")
    ax.set_ylabel("flavour probability at Earth")
    return artists
