"""Figures: the paper's Fig. 2 (rates) and Fig. 3 (CL allowed regions).

Drawing functions take a matplotlib Axes, draw on it and return what they drew; figure
builders return a :class:`matplotlib.figure.Figure`; saving is a separate step
(:func:`save_figure`). The figures of the results folder use matplotlib's object API (no
pyplot, no display, constrained layout); ``result.plot()`` without an Axes draws on a new
pyplot figure, so that Jupyter shows it (:func:`new_axes`).
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from matplotlib.figure import Figure
from matplotlib.ticker import NullFormatter

FLAVOUR_TEX = {"e": r"\mu_{\nu_e}", "mu": r"\mu_{\nu_\mu}", "tau": r"\mu_{\nu_\tau}"}
FLAVOUR_NAMES = {"e": r"$\mu_e$", "mu": r"$\mu_\mu$", "tau": r"$\mu_\tau$"}
REGION_COLOUR = "#9ecae1"
LINE_COLOUR = "#08519c"
#: Colours and line styles of successive allowed regions on one Axes (several CLs, datasets).
REGION_COLOURS = (LINE_COLOUR, "#d95f02", "#1b9e77", "#7570b3", "#e7298a", "#666666")
REGION_STYLES = ("-", "--", ":", "-.")
#: Artist ids that mark what this module drew (to count regions and keep one best fit).
_REGION_GID = "cevns_scan.region"
_BEST_GID = "cevns_scan.best_fit"


def new_axes(figsize=(5.0, 4.2)):
    """A fresh Axes on a new pyplot figure with constrained layout (``result.plot()``).

    pyplot manages the figure, so Jupyter displays it after the cell and ``plt.show()``
    shows it in a script; ``drawn.figure.savefig(...)`` keeps every label inside.
    """
    import matplotlib.pyplot as plt

    return plt.figure(figsize=figsize, layout="constrained").subplots()


def save_figure(fig: Figure, folder: str | Path, stem: str) -> None:
    """Write ``stem.png`` (150 dpi) and ``stem.pdf`` into ``folder``, each by rename.

    Both carry cevns-scan's provenance mark in their metadata (:mod:`cevns_scan.provenance`).
    """
    from .provenance import figure_metadata

    folder = Path(folder)
    for ext in ("png", "pdf"):
        tmp = folder / f".{stem}.tmp.{ext}"
        fig.savefig(tmp, dpi=150 if ext == "png" else None, format=ext,
                    metadata=figure_metadata(ext))
        tmp.replace(folder / f"{stem}.{ext}")


class Drawn(dict):
    """What a ``plot()`` drew: a dict of artists (``region``, ``lines``, ``best``...) with the
    Axes and Figure as attributes (``drawn.figure.savefig("x.png")``) and a short repr."""

    def __init__(self, ax, **artists):
        super().__init__(**artists)
        self.ax = ax

    @property
    def figure(self):
        return self.ax.figure

    def __repr__(self) -> str:
        return f"<cevns-scan plot: {', '.join(self)} on {self.ax!r}>"


def unique_legend(ax, **kwargs):
    """One legend entry per label on ``ax`` (the first artist of each), however many regions
    were drawn with it; keyword arguments go to :meth:`~matplotlib.axes.Axes.legend`."""
    handles, labels = ax.get_legend_handles_labels()
    first: dict = {}
    for handle, label in zip(handles, labels, strict=True):
        first.setdefault(label, handle)
    return ax.legend(list(first.values()), list(first), **kwargs)


def draw_rates(ax, cols: dict, title: str = "") -> list:
    """Fig. 2 panel: SM and SM + magnetic-moment rates (``cols`` of a figure-2 table).

    Returns the Line2D artists drawn.
    """
    styles = ["--", "-.", ":"]
    t = cols["T_nr_keV"]
    drawn = ax.loglog(t, cols["SM"], "k-", lw=2, label="SM")
    for k, (key, vals) in enumerate((k, v) for k, v in cols.items() if k.startswith("total_mu_")):
        mu = float(key.removeprefix("total_mu_"))
        exp = math.floor(math.log10(mu))
        drawn += ax.loglog(t, vals, styles[k % 3], lw=1.5,
                           label=rf"SM + MM, $\mu_\nu = {mu / 10**exp:g}\times10^{{{exp}}}\,\mu_B$")
    top = max(np.max(v) for k, v in cols.items() if k != "T_nr_keV")
    ax.set_ylim(1e-6 * top, 3 * top)
    nonzero = t[np.any([v > 0 for k, v in cols.items() if k != "T_nr_keV"], axis=0)]
    if nonzero.size:  # the x range follows the target: up to its largest reachable recoil
        ax.set_xlim(t[0], min(t[-1], 1.5 * nonzero[-1]))
        ax.xaxis.set_minor_formatter(NullFormatter())  # less than two decades: no crowding
    ax.set_xlabel(r"$T_{nr}$ [keV$_{nr}$]")
    ax.set_ylabel(r"$dR/dT_{nr}$ [events kg$^{-1}$ day$^{-1}$ keV$_{nr}^{-1}$]")
    if title:
        ax.set_title(title)
    ax.grid(True, which="major", alpha=0.25)
    ax.legend(fontsize=8)
    return drawn


def figure2(tables: dict) -> Figure:
    """Fig. 2: one panel per target of :func:`cevns_scan.rates.figure2_tables`."""
    fig = Figure(figsize=(5.2 * len(tables), 4.2))
    fig.subplots_adjust(left=0.09, right=0.98, bottom=0.12, top=0.92, wspace=0.28)
    axes = fig.subplots(1, len(tables), squeeze=False)[0]
    many = len(tables) > 1
    for ax, (name, cols), tag in zip(axes, tables.items(), "abcdef", strict=False):
        draw_rates(ax, cols, f"{f'({tag}) ' if many else ''}{name}, $^8$B solar neutrinos")
    return fig


def axis_exponent(results) -> int:
    """One power of ten for every axis of a Fig. 3 (the largest axis maximum's)."""
    top = max(max(r.mu_x[-1], r.mu_y[-1]) for r in results)
    return math.floor(math.log10(top)) if top > 0 else 0


def draw_allowed_region(ax, result, *, exponent: int | None = None, overlays=(),
                        best_fit: bool = True, label: str | None = None,
                        fill: bool | None = None, **style) -> Drawn:
    """Draw one plane's CL allowed region (filled), its contour and best fit on ``ax``.

    Parameters
    ----------
    result : cevns_scan.results.PlaneResult
    exponent : int, optional
        Axes in units of 10^exponent mu_B (default: from the plane's own range).
    overlays : sequence of (label, polygon)
        Comparison regions, polygons (N, 2) in mu_B.
    best_fit : bool
        Mark the global best fit (once per position on an Axes): a marker at a point, or, in
        a plane whose data constrain one direction (``result.valley``), the valley of minima
        s = s_hat (a line; the marker at mu = 0 when s_hat = 0).
    label : str, optional
        Legend text of the contour (default: ``90 % CL (2 d.o.f., Wilks)``).
    fill : bool, optional
        Fill the region; default: only the first region drawn on ``ax``, so that regions
        drawn over it (other CLs) stay visible as lines.
    **style
        Line properties of the contour (``color``, ``linestyle``, ``linewidth``, ``alpha``...,
        as :meth:`matplotlib.axes.Axes.plot` takes them); ``color`` also tints the fill.
        Without them the n-th region on ``ax`` takes the n-th of :data:`REGION_COLOURS` and
        :data:`REGION_STYLES`.

    Returns
    -------
    Drawn
        ``region`` (the filled contour set or None), ``lines`` (Line2D list), ``best``
        (Line2D or None), ``overlays`` (patches); ``.ax``, ``.figure``.
    """
    pg = result.grid
    exponent = axis_exponent([result]) if exponent is None else exponent
    s = 10.0**exponent
    n = sum(1 for line in ax.lines if line.get_gid() == _REGION_GID)
    colour = style.pop("color", style.pop("c", None))
    line_style = {"linestyle": style.pop("linestyle", style.pop("ls", REGION_STYLES[n % 4])),
                  "linewidth": style.pop("linewidth", style.pop("lw", 1.8)),
                  "color": colour if colour is not None else REGION_COLOURS[n % 6], **style}
    region = None
    if fill if fill is not None else n == 0:
        shade, alpha = ((REGION_COLOUR, 0.8) if colour is None and n == 0
                        else (line_style["color"], 0.25))
        region = ax.contourf(pg.mu_x / s, pg.mu_y / s, result.chi2.T,
                             levels=[-np.inf, result.level], colors=[shade], alpha=alpha,
                             zorder=0.5)
    lines = []
    for line in result.lines:
        lines += ax.plot(line[:, 0] / s, line[:, 1] / s, **line_style)
    patches = []
    for k, (name, poly) in enumerate(overlays):
        patches += ax.fill(poly[:, 0] / s, poly[:, 1] / s, alpha=0.3, color=f"C{(k + 3) % 10}",
                           label=name)
    (proxy,) = ax.plot([], [], **line_style,
                       label=label or f"{100 * result.cl:g} % CL (2 d.o.f., Wilks)")
    proxy.set_gid(_REGION_GID)
    best = None
    valley = getattr(result, "valley", None)
    if valley is not None and valley.value > 0:
        curve = valley.curve()
        xy = (curve[:, 0] / s, curve[:, 1] / s)
        mark = dict(fmt=":", color="k", lw=1.4,
                    label=r"best fit: valley $\sum_\ell w_\ell \mu_\ell^2 = \hat s$")
    else:
        point = (0.0, 0.0) if valley is not None else result.best  # s_hat = 0: the origin
        xy = ([point[0] / s], [point[1] / s])
        mark = dict(fmt="k+", ms=9, mew=1.6, clip_on=False, label="best fit")
    marked = any(m.get_gid() == _BEST_GID and np.array_equal(m.get_xdata(), xy[0])
                 and np.array_equal(m.get_ydata(), xy[1]) for m in ax.lines)
    if best_fit and not marked:
        (best,) = ax.plot(*xy, mark.pop("fmt"), **mark, zorder=5)
        best.set_gid(_BEST_GID)
    if n == 0:
        ax.set_xlim(0, pg.mu_x[-1] / s)
        ax.set_ylim(0, pg.mu_y[-1] / s)
        # tick labels clear of a best-fit "+" in the corner (the origin)
        ax.tick_params(pad=7)
        ax.set_xlabel(rf"${FLAVOUR_TEX[pg.flavour_x]}$ [$10^{{{exponent}}}\,\mu_B$]")
        ax.set_ylabel(rf"${FLAVOUR_TEX[pg.flavour_y]}$ [$10^{{{exponent}}}\,\mu_B$]")
    unique_legend(ax, fontsize=8, loc="upper right")
    return Drawn(ax, region=region, lines=lines, best=best, overlays=patches)


NEYMAN_COLOUR = "#cb181d"


def draw_neyman_contour(ax, neyman, *, exponent: int | None = None, **style) -> list:
    """Draw the Neyman region's boundary (dashed) on ``ax``; returns the Line2D list.

    ``neyman`` is a :class:`~cevns_scan.neyman.NeymanResult` or a
    :class:`~cevns_scan.belt.BeltResult` (anything with ``lines``, ``label``, ``wilks``).
    ``style``: line properties as :meth:`matplotlib.axes.Axes.plot` takes them (``color``,
    ``linestyle``, ``label``...).
    """
    if exponent is None:
        exponent = (axis_exponent([neyman.wilks]) if neyman.wilks is not None else
                    math.floor(math.log10(max(np.max(line) for line in neyman.lines))))
    s = 10.0**exponent
    label = style.pop("label", neyman.label)
    line_style = {"color": style.pop("color", style.pop("c", NEYMAN_COLOUR)),
                  "linestyle": style.pop("linestyle", style.pop("ls", "--")),
                  "linewidth": style.pop("linewidth", style.pop("lw", 1.8)), **style}
    lines = []
    for line in neyman.lines:
        lines += ax.plot(line[:, 0] / s, line[:, 1] / s, **line_style)
    lines += ax.plot([], [], **line_style, label=label)
    unique_legend(ax, fontsize=8, loc="upper right")
    return lines


def plot_planes(planes, neyman=(), *, axes=None, **style) -> list[Drawn]:
    """Every plane on its own panel, one axis exponent, Neyman boundaries where given.

    ``axes`` (one per plane) default to the panels of a new pyplot figure with constrained
    layout (a notebook shows it); ``style`` as :func:`draw_allowed_region` takes it. Returns
    one :class:`Drawn` per plane (with ``"neyman"`` lines where a Neyman result was drawn).
    """
    planes = list(planes)
    if axes is None:
        import matplotlib.pyplot as plt

        fig = plt.figure(figsize=(4.8 * len(planes), 4.6), layout="constrained")
        axes = fig.subplots(1, len(planes), squeeze=False)[0]
    axes = list(np.ravel(axes))
    if len(axes) != len(planes):
        from .errors import ParameterError

        raise ParameterError("axes", len(axes), f"must be one Axes per plane ({len(planes)})")
    exponent = axis_exponent(planes)
    out = []
    for ax, r in zip(axes, planes, strict=True):
        drawn = draw_allowed_region(ax, r, exponent=exponent, **style)
        for ney in neyman:
            if ney.name == r.name:
                drawn["neyman"] = draw_neyman_contour(ax, ney, exponent=exponent)
        names = ", ".join(FLAVOUR_NAMES[f] for f in (r.grid.flavour_x, r.grid.flavour_y))
        ax.set_title(f"plane ({names})", fontsize=9)
        out.append(drawn)
    return out


def draw_experiment_contours(ax, parts, plane: str, exponent: int) -> list:
    """Each experiment's own region boundary (fitted alone) on the panel of ``plane``.

    ``parts`` holds (label, plane name, polylines in mu_B); each experiment gets its own
    colour and line style, labelled in the legend.
    """
    s = 10.0**exponent
    drawn = []
    labels = list(dict.fromkeys(label for label, _, _ in parts))
    for label, name, lines in parts:
        if name != plane:
            continue
        k = labels.index(label)
        style = dict(color=EXPERIMENT_COLOURS[k % len(EXPERIMENT_COLOURS)],
                     ls=EXPERIMENT_STYLES[k % len(EXPERIMENT_STYLES)], lw=1.5)
        for j, line in enumerate(lines):
            drawn += ax.plot(line[:, 0] / s, line[:, 1] / s, **style,
                             label=f"{label} alone" if j == 0 else None)
    return drawn


#: Colours and line styles of the experiments' own regions on Fig. 3: none blue (the combined
#: region) or dotted (the expected region).
EXPERIMENT_COLOURS = ("#d94801", "#238b45", "#6a51a3", "#8c6d31", "#e7298a")
EXPERIMENT_STYLES = ("--", "-.", (0, (3, 1, 1, 1, 1, 1)), (0, (5, 1)), (0, (3, 1, 1, 1)))


def _text_width_in(text: str, fontsize: float) -> float:
    """Width in inches of ``text`` set in the default font at ``fontsize`` points."""
    from matplotlib.font_manager import FontProperties
    from matplotlib.textpath import TextToPath

    width, _, _ = TextToPath().get_text_width_height_descent(text, FontProperties(size=fontsize),
                                                              ismath=False)
    return width / 72.0


def _wrapped(text: str, width_in: float, fontsize: float) -> str:
    """``text`` broken into lines that fit ``width_in`` inches at ``fontsize`` points (each
    line measured in the font it is drawn with; a single word wider than that stays whole)."""
    lines: list[str] = []
    for word in text.split():
        if lines and _text_width_in(f"{lines[-1]} {word}", fontsize) <= width_in:
            lines[-1] += f" {word}"
        else:
            lines.append(word)
    return "\n".join(lines)


#: Width (inches) of a Fig. 3 panel, and the part of it a title centred on the axes may take
#: (the y label and tick labels take the rest, on the left).
PANEL_WIDTH_IN = 4.8
PANEL_TITLE_IN = 3.9


def figure3(results, dataset: str, note: str = "", overlays=(), neyman=(), parts=(),
            expected=None, *, physics: str = "") -> Figure:
    """Fig. 3: the allowed region of every plane, one panel each, one axis exponent.

    ``dataset`` (its label and target) and ``physics`` (the preset, e.g. ``'paper'``) title
    every panel; ``overlays`` holds (label, polygon, plane): ``plane`` None for every panel or
    ``'e_mu'`` for one; ``note`` (the dataset caveat) is printed above the panels, wrapped to
    the figure's width, if given; ``neyman`` holds :class:`~cevns_scan.neyman.NeymanResult`
    (or :class:`~cevns_scan.belt.BeltResult`) whose boundaries are drawn dashed over the
    Wilks regions of their planes; ``parts`` holds (label, plane, polylines) of each
    experiment of a joint fit scanned alone, drawn as labelled boundaries beside the
    combined region (the paper's comparison figure, every region computed); ``expected``
    maps plane names to the polylines of the expected (median) region, drawn dotted.
    Constrained layout keeps every label and the caveat inside the figure.
    """
    results = list(results)
    width = PANEL_WIDTH_IN * len(results)
    fig = Figure(figsize=(width, 4.6), layout="constrained")
    axes = fig.subplots(1, len(results), squeeze=False)[0]
    exponent = axis_exponent(results)
    many = len(results) > 1
    title = f"allowed region, dataset {dataset}" + (f", {physics} physics" if physics else "")
    for ax, r, tag in zip(axes, results, "abcdef", strict=False):
        mine = [(label, poly) for label, poly, plane in overlays if plane in (None, r.name)]
        draw_allowed_region(ax, r, exponent=exponent, overlays=mine)
        for ney in neyman:
            if ney.name == r.name:
                draw_neyman_contour(ax, ney, exponent=exponent)
        if expected and expected.get(r.name) is not None:
            draw_expected_contour(ax, expected[r.name], exponent=exponent)
        if parts:
            draw_experiment_contours(ax, parts, r.name, exponent)
            _extend_to_parts(ax, r, parts, exponent)
        ax.set_title(_wrapped(f"{f'({tag}) ' if many else ''}{title}", PANEL_TITLE_IN, 9),
                     fontsize=9)
    if parts:
        _legend_below(fig, axes)
    if note:
        fig.suptitle(_wrapped(note, width - 0.3, 8), fontsize=8)
    return fig


def _legend_below(fig, axes) -> None:
    """One legend for every panel, below them: the experiments' own boundaries reach the
    panels' corners, where a legend inside would hide them."""
    first: dict = {}
    for ax in axes:
        if ax.get_legend() is not None:
            ax.get_legend().remove()
        for handle, label in zip(*ax.get_legend_handles_labels(), strict=True):
            first.setdefault(label, handle)
    # as many columns as fit the figure's width: the longest label, its line and the spacing
    column = max(_text_width_in(label, 8) for label in first) + 0.6
    ncols = max(1, min(len(first), int((fig.get_figwidth() - 0.2) // column)))
    fig.legend(list(first.values()), list(first), loc="outside lower center", ncols=ncols,
               fontsize=8, frameon=False)


#: Fig. 3 with experiments' own regions extends its axes to theirs, up to this many times the
#: combined region's extent (a much weaker experiment's boundary then leaves the frame).
PARTS_FRAME_FACTOR = 4.0


def _extend_to_parts(ax, result, parts, exponent: int) -> None:
    """Axes wide enough for the experiments' own boundaries (see PARTS_FRAME_FACTOR)."""
    s = 10.0**exponent
    x_max, y_max = ax.get_xlim()[1], ax.get_ylim()[1]
    lim = [result.limits.get(f"mu_{result.grid.flavour_x}", np.nan),
           result.limits.get(f"mu_{result.grid.flavour_y}", np.nan)]
    for _, name, lines in parts:
        if name != result.name or not lines:
            continue
        pts = np.concatenate(lines)
        x_max = max(x_max, min(1.05 * pts[:, 0].max(), PARTS_FRAME_FACTOR * lim[0]) / s)
        y_max = max(y_max, min(1.05 * pts[:, 1].max(), PARTS_FRAME_FACTOR * lim[1]) / s)
    ax.set_xlim(0, x_max)
    ax.set_ylim(0, y_max)


#: An overlay whose values exceed the axis range of its plane this many times is in wrong units.
OVERLAY_UNITS_FACTOR = 100.0


@dataclass(frozen=True)
class Overlay:
    """A comparison region for Fig. 3: a polygon (N, 2) in mu_B, on one plane or all (None)."""

    label: str
    polygon: np.ndarray
    plane: str | None
    path: str
    sha256: str

    def __iter__(self):  # (label, polygon, plane), as figure3 takes it
        return iter((self.label, self.polygon, self.plane))


def load_overlay(spec: str) -> Overlay:
    """``LABEL[@X-Y]=FILE.csv`` -> :class:`Overlay`, validated."""
    from .config import parse_plane
    from .errors import InputError, ParameterError
    from .tables import read_table

    if "=" not in spec:
        raise ParameterError("overlay", spec, "is not LABEL=FILE.csv or LABEL@e-mu=FILE.csv (a "
                             "polygon with columns x,y in mu_B)")
    label, path = spec.split("=", 1)
    plane = None
    if "@" in label:
        label, where = label.rsplit("@", 1)
        try:
            plane = "_".join(parse_plane(where.strip(), "plane"))
        except InputError:
            raise ParameterError("overlay", spec, f"names plane {where.strip()!r}, which is not "
                                 "two distinct flavours of e, mu, tau joined by '-' or '_'; use "
                                 "e-mu, e-tau or mu-tau") from None
    if not label.strip():
        raise ParameterError("overlay", spec, "has an empty label; give the legend text, e.g. "
                             "COHERENT=coherent.csv")
    table = read_table(path, ("x", "y"))
    poly = np.column_stack([table.numeric("x"), table.numeric("y")])
    if poly.shape[0] < 3 or np.any(poly < 0):
        raise InputError(f"{path}: an overlay polygon needs >= 3 points with x, y >= 0 (mu_B)")
    digest = hashlib.sha256(Path(path).read_bytes()).hexdigest()
    return Overlay(label.strip(), poly, plane, path, digest)


def check_overlay_planes(overlays, planes) -> None:
    """Refuse an overlay for a plane that is not among ``planes`` (``'e-mu'`` or ``'e_mu'``)
    rather than drop it silently; checked before a scan starts."""
    from .config import parse_plane
    from .errors import InputError

    names = ["_".join(parse_plane(p, "plane")) for p in planes]
    for label, _, plane in overlays:
        if plane is not None and plane not in names:
            raise InputError(f"overlay {label!r} is for plane {plane}, which is not among the "
                             f"planes drawn ({', '.join(names)}); scan plane {plane} too or "
                             "put the overlay on one of these")


def check_overlays(overlays, results) -> None:
    """Refuse an overlay for a plane that is not drawn, or whose values are far outside its
    plane's axes (wrong units)."""
    from .errors import InputError

    check_overlay_planes(overlays, [r.name for r in results])
    for label, poly, plane in overlays:
        for r in results:
            if plane not in (None, r.name):
                continue
            span = max(r.mu_x[-1], r.mu_y[-1])
            if poly.max() > OVERLAY_UNITS_FACTOR * span:
                raise InputError(
                    f"overlay {label!r}: its values reach {poly.max():.3g} while plane {r.name} "
                    f"spans up to {span:.3g} mu_B; give the polygon in units of mu_B (e.g. "
                    "2.9e-11, not 2.9)")


EXPECTED_COLOUR = "#252525"
BAND_68_COLOUR = "#31a354"
BAND_95_COLOUR = "#fed976"


def draw_expected_contour(ax, lines, *, exponent: int) -> list:
    """Draw the expected (median) region's boundary, dotted, on ``ax``; returns the lines.

    The axes keep their range: an expected region larger than the observed grid is clipped.
    """
    s = 10.0**exponent
    drawn = []
    for line in lines:
        drawn += ax.plot(line[:, 0] / s, line[:, 1] / s, ":", color=EXPECTED_COLOUR, lw=1.6)
    drawn += ax.plot([], [], ":", color=EXPECTED_COLOUR, label="expected (median, Asimov)")
    unique_legend(ax, fontsize=8, loc="upper right")
    return drawn


def draw_expected_limits(ax, expected) -> dict:
    """The observed 1-d.o.f. limits on their expected bands (Brazil style), one column a
    moment: 95 % band yellow, 68 % band green, median dashed, observed a black dot."""
    names = list(expected.limits)
    top = max(max(e.band_95[1], e.observed if np.isfinite(e.observed) else 0.0)
              for e in expected.limits.values())
    exponent = math.floor(math.log10(top)) if top > 0 else 0
    s = 10.0**exponent
    drawn = {"bands": [], "median": [], "observed": []}
    for k, name in enumerate(names):
        e = expected.limits[name]
        drawn["bands"].append(ax.fill_between([k - 0.3, k + 0.3], e.band_95[0] / s,
                                              e.band_95[1] / s, color=BAND_95_COLOUR,
                                              label=r"expected $\pm2\sigma$" if k == 0 else None))
        drawn["bands"].append(ax.fill_between([k - 0.3, k + 0.3], e.band_68[0] / s,
                                              e.band_68[1] / s, color=BAND_68_COLOUR,
                                              label=r"expected $\pm1\sigma$" if k == 0 else None))
        drawn["median"] += ax.plot([k - 0.3, k + 0.3], [e.median / s] * 2, "k--", lw=1.2,
                                   label="expected median" if k == 0 else None)
        if np.isfinite(e.observed):
            drawn["observed"] += ax.plot([k], [e.observed / s], "ko", ms=6,
                                         label="observed" if k == 0 else None)
    ax.set_xticks(range(len(names)),
                  [rf"${FLAVOUR_TEX[n.removeprefix('mu_')]}$" for n in names])
    ax.set_xlim(-0.6, len(names) - 0.4)
    ax.set_ylim(0, 1.15 * top / s)
    ax.set_ylabel(rf"{100 * expected.cl:g} % CL upper limit (1 d.o.f.) [$10^{{{exponent}}}"
                  r"\,\mu_B$]")
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0.0)
    return drawn


def figure_expected(expected, dataset: str, note: str = "", *, physics: str = "") -> Figure:
    """The observed 1-d.o.f. limits on their expected bands (:func:`draw_expected_limits`).

    The title (``dataset``, and the ``physics`` preset if given) and the caveat ``note`` are
    wrapped to the figure's width, as on Fig. 3.
    """
    width = 6.2
    fig = Figure(figsize=(width, 4.2), layout="constrained")
    ax = fig.subplots()
    draw_expected_limits(ax, expected)
    how = (f"{expected.n_toys} background-only toys" if expected.n_toys
           else "Asimov median, asymptotic bands")
    preset = f", {physics} physics" if physics else ""
    # the legend takes about 2 inches right of the axes, over which the title is centred
    ax.set_title(_wrapped(f"dataset {dataset}{preset}: each moment alone ({how})", width - 2.2,
                          9), fontsize=9)
    if note:
        fig.suptitle(_wrapped(note, width - 0.3, 8), fontsize=8)
    return fig
