"""Detector targets: an element, its natural isotopes, or a compound by chemical formula.

A :class:`Target` is what the rates sum over (eq. 12 summed over nuclei): its
:attr:`~Target.nuclides`, each with its own Z, N, mass, Helm radius and number per formula
unit, and the number of formula units per kg, 1000 N_A / (molar mass of a formula unit).

* An element (``"Ge"``, ``"argon"``) with ``isotopes = "effective"`` is the paper's single
  effective nucleus: A = the standard atomic weight (or a given molar mass), N = A - Z,
  m_N = A u (docs/design.md §2).
* ``isotopes = "natural"`` sums the element's stable isotopes with their abundances and AME
  masses (``data/isotopes.csv``).
* A compound by formula (``"CsI"``, ``"NaI"``, ``"CaWO4"``, ``"C3F8"``): each element of the
  formula contributes its count of nuclei per formula unit, as one effective nucleus or as its
  natural isotopes. Per kg of CsI there are 1000 N_A / (m_Cs + m_I) caesium and as many
  iodine nuclei.

Detector physics (quenching, resolution, efficiency) is not here: it belongs to an
experiment's response.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .errors import InputError
from .kernels.constants import AMU_MEV, N_AVOGADRO
from .kernels.form_factor import helm_radius_fm

#: How nuclei of an element are modelled; the first is the paper's.
ISOTOPE_CHOICES = ("effective", "natural")

#: One element of a chemical formula: a symbol and an optional count.
_FORMULA_PART = re.compile(r"([A-Z][a-z]?)(\d*)")


@dataclass(frozen=True)
class Nuclide:
    """One kind of nucleus of a target and how many there are per formula unit.

    Attributes
    ----------
    a_mass : float
        Mass number A for the Helm radius (the molar mass for an effective nucleus).
    n_neutrons : float
        Neutron number N (A - Z; not an integer for an effective nucleus).
    mass_u : float
        Nuclear mass in u: the isotope's atomic mass (an effective nucleus: the molar mass),
        as the paper's m_N = A u (electron masses, 2.4e-4 relative for Ge, are not removed).
    fraction : float
        Nuclei of this kind per formula unit: the isotopic abundance for an element (in
        [0, 1]), count x abundance for a compound (1 for each of Cs and I in CsI).
    z : int
        Proton number (0 when the nuclide was built without it; :class:`Target` fills it).
    element : str
        Chemical symbol of its element (may be empty for a custom target label).
    """

    a_mass: float
    n_neutrons: float
    mass_u: float
    fraction: float
    z: int = 0
    element: str = ""

    @property
    def m_n_mev(self) -> float:
        """Nuclear mass in MeV."""
        return self.mass_u * AMU_MEV

    @property
    def r0_fm(self) -> float:
        """Helm radius in fm (Lewin-Smith, from :attr:`a_mass`)."""
        return helm_radius_fm(self.a_mass)


@dataclass(frozen=True)
class Target:
    """The detector material: an element or a compound, and the nuclei the rates sum over.

    ``z`` and ``molar_mass`` are those of a single element (``z`` is None for a compound);
    ``molar_mass`` is always the molar mass of one formula unit in g/mol. ``parts`` lists the
    formula's (symbol, Z, atomic weight, count) for a compound (empty for an element).
    ``nuclei_per_kg`` = 1000 N_A / molar mass counts formula units per kg (for an element:
    its nuclei of all isotopes, eq. 12). ``a_mass``, ``n_neutrons``, ``m_n_mev``, ``r0_fm``
    are those of a single element's effective nucleus.
    """

    name: str
    z: int | None
    molar_mass: float
    isotopes: str = "effective"
    natural: tuple[Nuclide, ...] = ()
    parts: tuple[tuple[str, int, float, int], ...] = ()

    @property
    def is_compound(self) -> bool:
        """True for a chemical formula of more than one nucleus per formula unit."""
        return bool(self.parts)

    def _element_only(self, what: str):
        if self.is_compound:
            raise InputError(f"target {self.name} is a compound; {what} is defined for a single "
                             "element only (see Target.nuclides for its nuclei)")

    @property
    def a_mass(self) -> float:
        self._element_only("the effective mass number")
        return self.molar_mass

    @property
    def n_neutrons(self) -> float:
        self._element_only("the effective neutron number")
        return self.molar_mass - self.z

    @property
    def m_n_mev(self) -> float:
        """Nuclear mass of the effective nucleus in MeV."""
        self._element_only("the effective nuclear mass")
        return self.molar_mass * AMU_MEV

    @property
    def nuclei_per_kg(self) -> float:
        """Formula units per kg of target: 1000 N_A / molar mass (eq. 12 for an element)."""
        return 1000.0 * N_AVOGADRO / self.molar_mass

    @property
    def r0_fm(self) -> float:
        """Helm radius of the effective nucleus in fm."""
        return helm_radius_fm(self.a_mass)

    @property
    def symbol(self) -> str | None:
        """Chemical symbol of the element with this Z (data/elements.csv), or None."""
        from .nuclides import element_by_z

        if self.z is None:
            return None
        el = element_by_z(self.z)
        return el.symbol if el is not None else None

    @property
    def elements(self) -> tuple[str, ...]:
        """Chemical symbols of the target's elements (``('Cs', 'I')`` for CsI)."""
        if self.is_compound:
            return tuple(p[0] for p in self.parts)
        return (self.symbol or self.name,)

    @property
    def nuclides(self) -> tuple[Nuclide, ...]:
        """What the rates sum over: natural isotopes, or one effective nucleus per element."""
        if self.isotopes == "natural":
            return self.natural
        if self.is_compound:
            return tuple(Nuclide(w, w - z, w, float(count), z, sym)
                         for sym, z, w, count in self.parts)
        return (Nuclide(self.molar_mass, self.n_neutrons, self.molar_mass, 1.0, self.z,
                        self.symbol or ""),)


def _find_element(name: str):
    """The tabulated element named ``name`` (symbol or English name), or None."""
    from .nuclides import element

    try:
        return element(name)
    except InputError:
        return None


def _unknown_element(name: str, need: str) -> InputError:
    from .nuclides import _suggestions, untabulated

    missing = untabulated(name)
    if missing is not None:
        return InputError(f"name = {name!r}: element {missing}")
    hint = _suggestions(name, 2)
    close = f" (did you mean {' or '.join(hint)}?)" if hint else ""
    return InputError(f"name = {name!r} is not an element of data/elements.csv nor a chemical "
                      f"formula of its elements{close}; {need}")


def _natural_nuclides(el, count: int = 1) -> tuple[Nuclide, ...]:
    """The stable isotopes of element ``el``, ``count`` atoms per formula unit."""
    from .nuclides import isotope_mixture

    mix = isotope_mixture(el.symbol)
    return tuple(Nuclide(float(n + el.z), float(n), float(m), float(count * x), el.z, el.symbol)
                 for n, m, x in zip(*mix, strict=True))


def parse_formula(text: str) -> tuple[tuple[str, int], ...] | None:
    """``'CaWO4'`` -> (('Ca', 1), ('W', 1), ('O', 4)); None if ``text`` is not a formula.

    A formula is a sequence of chemical symbols (capital letter, optional small letter), each
    with an optional count >= 1; a repeated symbol adds up.
    """
    text = text.strip()
    if not text or _FORMULA_PART.sub("", text) != "":
        return None
    counts: dict[str, int] = {}
    for sym, num in _FORMULA_PART.findall(text):
        n = int(num) if num else 1
        if n < 1:
            return None
        counts[sym] = counts.get(sym, 0) + n
    return tuple(counts.items())


def _compound(name: str, formula, isotopes: str) -> Target:
    """The target of a chemical formula of several nuclei per formula unit."""
    from .nuclides import element

    parts, natural = [], []
    for sym, count in formula:
        try:
            el = element(sym)
        except InputError as exc:
            raise InputError(f"name = {name!r}: element {sym} of the formula: {exc}") from None
        parts.append((el.symbol, el.z, el.atomic_weight, count))
        if isotopes == "natural":
            natural.extend(_natural_nuclides(el, count))
    molar = sum(w * count for _, _, w, count in parts)
    return Target(name, None, float(molar), isotopes, tuple(natural), tuple(parts))


def make_target(name: str, z: int | None = None, molar_mass: float | None = None,
                isotopes: str = "effective") -> Target:
    """The target ``name``: an element, a compound by formula, or a label with Z and molar mass.

    Parameters
    ----------
    name : str
        Chemical symbol or English name (``"Ar"``, ``"argon"``; the target is then named by
        its symbol), a chemical formula (``"CsI"``, ``"CaWO4"``, ``"C3F8"``), or any label
        when ``z`` and ``molar_mass`` are given.
    z : int, optional
        Proton number; for an element it must match the table (not for a compound).
    molar_mass : float, optional
        Molar mass in g/mol of an element's effective nucleus; default: the standard atomic
        weight (not for a compound or natural isotopes).
    isotopes : {"effective", "natural"}
        One nucleus per element with A = its molar mass (the paper), or each element's stable
        isotopes with their abundances and atomic masses (data/isotopes.csv).

    Raises
    ------
    InputError
        One line naming the offending value: an unknown element or formula, a z that
        contradicts the element, molar_mass with natural isotopes or a compound.
    """
    from .nuclides import element_by_z

    if isotopes not in ISOTOPE_CHOICES:
        raise InputError(f"isotopes = {isotopes!r} is not known; use 'effective' or 'natural'")
    el = _find_element(name)
    if el is None and z is None:
        formula = parse_formula(name)
        if formula is not None and (len(formula) > 1 or formula[0][1] > 1):
            if molar_mass is not None:
                raise InputError(f"name = {name!r} is a compound; its molar mass comes from "
                                 "data/elements.csv: remove molar_mass")
            return _compound(name, formula, isotopes)
    if el is not None and z is not None and z != el.z:
        raise InputError(f"z = {z} contradicts name = {name!r} ({el.symbol} has Z = "
                         f"{el.z} in data/elements.csv); remove z or correct it")
    label = el.symbol if el is not None else name
    if isotopes == "natural":
        el = el if el is not None else (element_by_z(z) if z is not None else None)
        if el is None:
            raise _unknown_element(name, "isotopes = 'natural' needs a tabulated element: use "
                                   "a chemical symbol such as 'Ar', or give its z")
        if molar_mass is not None:
            raise InputError("molar_mass applies to isotopes = 'effective' only; the "
                             "natural isotopes take their masses from data/isotopes.csv: remove "
                             "molar_mass or use isotopes = 'effective'")
        return Target(label, el.z, el.atomic_weight, "natural", _natural_nuclides(el))
    if el is None and (z is None or molar_mass is None):
        raise _unknown_element(name, "use a chemical symbol such as 'Ar', a formula such as "
                               "'CsI', or give z and molar_mass for another target")
    z = z if z is not None else el.z
    if molar_mass is None:
        molar_mass = el.atomic_weight
    else:
        check_molar_mass(molar_mass, int(z), el if el is not None else element_by_z(z))
    return Target(label, int(z), float(molar_mass))


#: How far (g/mol) a molar mass may lie outside the masses of an element's natural isotopes.
MOLAR_MASS_MARGIN = 2.0
#: For a Z without tabulated isotopes: A between Z (hydrogen) and this many times Z (no bound
#: nucleus lies further from stability, the lightest halo nuclei apart).
MAX_A_PER_Z = 3.0


def molar_mass_range(z: int, el=None) -> tuple[float, float, str]:
    """The plausible molar masses (g/mol) of an effective nucleus of proton number ``z``.

    For a tabulated element: its natural isotopes' atomic masses widened by
    :data:`MOLAR_MASS_MARGIN` (an enriched target lies between its lightest and heaviest
    isotope); otherwise Z to :data:`MAX_A_PER_Z` Z. Returns (low, high, what they come from).
    """
    if el is not None and el.isotopes:
        masses = [iso.mass_u for iso in el.isotopes]
        return (min(masses) - MOLAR_MASS_MARGIN, max(masses) + MOLAR_MASS_MARGIN,
                f"{el.symbol}'s natural isotopes {min(masses):.2f}-{max(masses):.2f} g/mol "
                f"+- {MOLAR_MASS_MARGIN:g}; standard atomic weight {el.atomic_weight:g}")
    return float(z), MAX_A_PER_Z * z, f"Z to {MAX_A_PER_Z:g} Z for Z = {z}"


def check_molar_mass(molar_mass: float, z: int, el=None) -> None:
    """Refuse a molar mass that does not fit the element of proton number ``z`` (g/mol).

    ``molar_mass = 7.263`` for germanium (a slip for 72.63) would make every nucleus ten
    times lighter and the rates per kg ten times larger.
    """
    low, high, why = molar_mass_range(z, el)
    if not low <= molar_mass <= high:
        name = el.symbol if el is not None else f"Z = {z}"
        raise InputError(f"molar_mass = {molar_mass!r} does not fit {name}; use a molar mass in "
                         f"[{low:.2f}, {high:.2f}] g/mol ({why})")
