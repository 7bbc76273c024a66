"""Experiments fitted together: nuisance parameters shared by name, independent ones added.

Every likelihood declares the names of the nuisances it can share (``shared``, e.g.
``"flux_8B"`` for the solar experiments, ``"flux_sns"`` for two detectors at one spallation
source), as iminuit shares parameters by name. :func:`combine` groups the experiments that
share a name and fits each group with one parameter for it:

* a likelihood that is an exact quadratic in the shared parameter at fixed mu (it offers
  ``quadratic_nodes(name)``: itself at the parameter's values 0, 1, 2) joins one that can
  profile with an external quadratic penalty on it (``penalised_plane`` and
  ``penalised_statistic``):

      -2 ln L(mu) = min over f, nuisances [ chi2_A(mu; f) + D_B(mu; f, nuisances) ],   (J1)

  with chi2_A(mu; f) = q0 + q1 f + q2 f^2 read off three evaluations (exact); this is the
  CDEX-like pull chi2 of eq. 18 with the XENONnT Poisson likelihood, one 8B flux;
* two likelihoods that can merge into one model (``merge(other, names)`` returns the joint
  likelihood, or None) are merged, e.g. two binned Poisson models in one compiled profile.

Groups without shared names are independent: their -2 ln L add up (:class:`SumLikelihood`;
its toys merge the parts into one compiled model with nothing shared, the same statistic,
so that a toy's global fit over the plane is one compiled fit).
A group whose likelihoods offer no way to share is refused with a one-line error naming them.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import InputError
from .binned_poisson import quadratic_in_flux
from .parts import Parts


@dataclass(frozen=True)
class SharedQuadraticLikelihood(Parts):
    """(J1): ``provider`` is quadratic in the shared parameter ``name``; ``absorber`` profiles
    it with the provider's quadratic as a penalty (the parameter constrained once, there)."""

    name: str
    provider: object
    absorber: object

    @property
    def parts(self) -> tuple:
        return (self.provider, self.absorber)

    @property
    def shared(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(n for lik in (self.provider, self.absorber)
                                   for n in lik.shared if n != self.name))

    def plane(self, flavour_x: str, flavour_y: str):
        nodes = self.provider.quadratic_nodes(self.name)
        return self.absorber.penalised_plane(flavour_x, flavour_y, self.name,
                                             [g.plane(flavour_x, flavour_y) for g in nodes])

    def statistic(self, mu) -> float:
        nodes = self.provider.quadratic_nodes(self.name)
        q = quadratic_in_flux(*(g.statistic(mu) for g in nodes))
        return self.absorber.penalised_statistic(mu, self.name, q)

    def toys(self, flavour_x: str, flavour_y: str):
        raise InputError("the Neyman construction of experiments sharing a parameter through "
                         f"a quadratic penalty ({self.name}) is not available; run it on each "
                         "experiment alone")

    def describe(self) -> dict:
        return {"likelihood": f"joint fit, {self.name} shared (one parameter, constrained once "
                              "in the second likelihood; the first drops its own constraint and "
                              "enters as an exact quadratic penalty)",
                "shared": [self.name],
                "parts": [self.provider.describe(), self.absorber.describe()]}


@dataclass(frozen=True)
class SumPlane:
    """The sum of independent experiments' plane statistics (no shared nuisances)."""

    parts: tuple

    def evaluate(self, mu_x: np.ndarray, mu_y: np.ndarray, out: np.ndarray) -> None:
        buf = np.empty_like(out)
        self.parts[0].evaluate(mu_x, mu_y, out)
        for part in self.parts[1:]:
            part.evaluate(mu_x, mu_y, buf)
            out += buf


@dataclass(frozen=True)
class SumLikelihood(Parts):
    """Independent experiments (or groups): -2 ln L adds up."""

    parts: tuple

    @property
    def shared(self) -> tuple[str, ...]:
        return ()

    def plane(self, flavour_x: str, flavour_y: str) -> SumPlane:
        return SumPlane(tuple(p.plane(flavour_x, flavour_y) for p in self.parts))

    def statistic(self, mu) -> float:
        return float(sum(p.statistic(mu) for p in self.parts))

    def toys(self, flavour_x: str, flavour_y: str):
        """Toys of the independent parts merged into one compiled model (same statistic; a
        toy's global fit over the plane must be one fit of all parts together)."""
        merged = _merge_independent(list(self.parts))
        if len(merged) != 1:
            raise InputError("the Neyman construction of these experiments together is not "
                             "available (their likelihoods cannot be merged into one compiled "
                             "fit: e.g. a Gaussian pull chi2 with a Poisson likelihood); run it "
                             "on the binned Poisson experiments, or on each alone")
        return merged[0].toys(flavour_x, flavour_y)

    def describe(self) -> dict:
        return {"likelihood": "sum of independent experiments (no shared nuisance parameters)",
                "parts": [p.describe() for p in self.parts]}


@dataclass(frozen=True)
class QuadraticSumPlane:
    """Providers' node maps -> the sum of their quadratics in f, minimised with the constraint."""

    nodes: tuple  # per provider, its three plane statistics at f = 0, 1, 2
    sigma: float

    def evaluate(self, mu_x: np.ndarray, mu_y: np.ndarray, out: np.ndarray) -> None:
        q = [np.zeros((mu_x.size, mu_y.size)) for _ in range(3)]
        for planes in self.nodes:
            c = []
            for g in planes:
                m = np.empty((mu_x.size, mu_y.size))
                g.evaluate(mu_x, mu_y, m)
                c.append(m)
            for a, b in zip(q, quadratic_in_flux(*c), strict=True):
                a += b
        out[...] = minimum_of_quadratic(*q, self.sigma)


def minimum_of_quadratic(q0, q1, q2, sigma: float):
    """min over f of q0 + q1 f + q2 f^2 + ((f - 1) / sigma)^2 (arrays or floats)."""
    w = 1.0 / sigma**2
    a, b, c = q2 + w, q1 - 2.0 * w, q0 + w
    return c - b * b / (4.0 * a)


@dataclass(frozen=True)
class _NodeSum:
    """Several likelihoods at one value of a shared parameter, added."""

    parts: tuple

    def plane(self, flavour_x: str, flavour_y: str) -> SumPlane:
        return SumPlane(tuple(p.plane(flavour_x, flavour_y) for p in self.parts))

    def statistic(self, mu) -> float:
        return float(sum(p.statistic(mu) for p in self.parts))


@dataclass(frozen=True)
class QuadraticSumLikelihood(Parts):
    """Likelihoods each an exact quadratic in the shared parameter ``name`` (eq. 18 of several
    datasets sharing the 8B flux): the quadratics add, one Gaussian constraint of width
    ``sigma`` (fraction of the model's value) is added, and f is minimised exactly."""

    name: str
    parts: tuple
    sigma: float

    @property
    def shared(self) -> tuple[str, ...]:
        return (self.name,)

    def quadratic_nodes(self, name: str):
        """The sum of the parts at the shared parameter's values 0, 1, 2 (without the
        constraint, which a likelihood joining them then applies once)."""
        nodes = [p.quadratic_nodes(name) for p in self.parts]
        return tuple(_NodeSum(tuple(n[i] for n in nodes)) for i in range(3))

    def constraint_sigma(self, name: str) -> float:
        return self.sigma

    def plane(self, flavour_x: str, flavour_y: str) -> QuadraticSumPlane:
        return QuadraticSumPlane(tuple(tuple(g.plane(flavour_x, flavour_y)
                                             for g in p.quadratic_nodes(self.name))
                                       for p in self.parts), self.sigma)

    def statistic(self, mu) -> float:
        q = [0.0, 0.0, 0.0]
        for p in self.parts:
            for i, v in enumerate(quadratic_in_flux(*(g.statistic(mu)
                                                      for g in p.quadratic_nodes(self.name)))):
                q[i] += v
        return float(minimum_of_quadratic(*q, self.sigma))

    def toys(self, flavour_x: str, flavour_y: str):
        raise InputError(f"the Neyman construction of several experiments sharing {self.name} "
                         "is not available; run it on each experiment alone")

    def describe(self) -> dict:
        return {"likelihood": f"joint fit of {len(self.parts)} likelihoods each quadratic in "
                              f"{self.name}: one parameter, one constraint of "
                              f"{self.sigma:g} (fractional)",
                "shared": [self.name], "parts": [p.describe() for p in self.parts]}


def _join(a, b, names: tuple[str, ...]):
    """One likelihood of ``a`` and ``b`` sharing ``names``, or None if neither offers a way."""
    for x, y in ((a, b), (b, a)):
        merge = getattr(x, "merge", None)
        if merge is not None:
            joined = merge(y, names)
            if joined is not None:
                return joined
    if len(names) == 1:
        name = names[0]
        for provider, absorber in ((a, b), (b, a)):
            if (hasattr(provider, "quadratic_nodes") and hasattr(absorber, "penalised_plane")
                    and hasattr(absorber, "penalised_statistic")):
                return SharedQuadraticLikelihood(name, provider, absorber)
        if all(hasattr(x, "quadratic_nodes") and hasattr(x, "constraint_sigma") for x in (a, b)):
            parts = tuple(p for x in (a, b)
                          for p in (x.parts if isinstance(x, QuadraticSumLikelihood) else (x,)))
            return QuadraticSumLikelihood(name, parts, a.constraint_sigma(name))
    return None


def _groups(liks: list) -> list[list]:
    """Connected groups of likelihoods linked by shared parameter names, in input order."""
    parent = list(range(len(liks)))

    def root(i):
        while parent[i] != i:
            i = parent[i]
        return i

    owner: dict[str, int] = {}
    for i, lik in enumerate(liks):
        for name in lik.shared:
            if name in owner:
                parent[root(i)] = root(owner[name])
            else:
                owner[name] = i
    out: dict[int, list] = {}
    for i, lik in enumerate(liks):
        out.setdefault(root(i), []).append(lik)
    return list(out.values())


def _combine_group(group: list):
    joined = group[0]
    for other in group[1:]:
        names = tuple(n for n in joined.shared if n in other.shared)
        result = _join(joined, other, names)
        if result is None:
            raise InputError(
                f"the experiments share {', '.join(names)}, but their likelihoods "
                f"({type(joined).__name__}, {type(other).__name__}) offer no joint fit of "
                "it; fit them separately")
        joined = result
    return joined


def _merge_independent(parts: list) -> list:
    """Independent likelihoods merged into one compiled model where they can be (binned
    Poisson ones, at most one of them morphing), nothing shared; the others stay apart."""
    out: list = []
    for part in parts:
        for k, other in enumerate(out):
            merge = getattr(other, "merge", None)
            joined = merge(part, ()) if merge is not None else None
            if joined is not None:
                out[k] = joined
                break
        else:
            out.append(part)
    return out


def combine(likelihoods):
    """One likelihood of several experiments: shared names joined, independent groups added."""
    liks = list(likelihoods)
    if len(liks) == 1:
        return liks[0]
    parts = [_combine_group(g) for g in _groups(liks)]
    return parts[0] if len(parts) == 1 else SumLikelihood(tuple(parts))
