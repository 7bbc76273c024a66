"""``cevns-scan dataset from-digitized``: WebPlotDigitizer exports -> a dataset CSV."""

from __future__ import annotations

from ..protocols import DatasetCommand

EXAMPLE = ("cevns-scan dataset from-digitized --points p.csv --upper u.csv --bin-width 0.1 "
           "--first-edge 0.16 --exposure-kg-day 205.4 --out geng2023.csv")


def add_arguments(d) -> None:
    """The options of ``dataset from-digitized``."""
    from ...cli import add_force, float_option

    d.add_argument("--points", required=True, metavar="FILE.csv",
                   help="digitised points: x = bin centre in keV_ee, y = rate in events/(keV_ee "
                        "kg day); may hold the upper ends too (WebPlotDigitizer 'export all')")
    d.add_argument("--upper", metavar="FILE.csv",
                   help="digitised upper ends of the error bars (default: the second dataset "
                        "of --points)")
    d.add_argument("--points-dataset", metavar="NAME",
                   help="which dataset of a multi-dataset --points file holds the points")
    d.add_argument("--upper-dataset", metavar="NAME",
                   help="which dataset holds the upper ends")
    d.add_argument("--bin-width", type=float_option("--bin-width", 0.0, strict=True),
                   required=True, metavar="KEV", help="bin width in keV_ee, e.g. 0.1")
    d.add_argument("--first-edge", type=float_option("--first-edge", 0.0, strict=True),
                   metavar="KEV", help="low edge of the first bin in keV_ee, e.g. 0.16 "
                                       "(default: inferred from the points)")
    d.add_argument("--max-shift", type=float_option("--max-shift", 0.0, strict=True),
                   default=0.25, metavar="FRACTION",
                   help="largest allowed distance of a digitised x from its bin centre, as a "
                        "fraction of the bin width (default 0.25)")
    d.add_argument("--exposure-kg-day", type=float_option("--exposure-kg-day", 0.0, strict=True),
                   metavar="KG_DAY", help="exposure in kg day, recorded as metadata")
    d.add_argument("--source", metavar="TEXT", help="citation of the figure, recorded as metadata")
    d.add_argument("--label", default="digitized", help="dataset label (default: digitized)")
    d.add_argument("--out", required=True, metavar="FILE.csv", help="dataset CSV to write")
    add_force(d, "file")


def run(args) -> int:
    """Digitised points -> dataset CSV (``--out``), with the snapping report."""
    from ...cli import input_paths
    from ...outputs import check_output_file, write_output_file
    from ...provenance import mark_text
    from .digitize import digitize

    inputs = input_paths(args)
    out = check_output_file(args.out, force=args.force, inputs=inputs)
    res = digitize(args.points, args.upper, args.bin_width, args.label,
                   first_edge=args.first_edge, max_shift=args.max_shift,
                   exposure_kg_day=args.exposure_kg_day, source=args.source,
                   points_dataset=args.points_dataset, upper_dataset=args.upper_dataset)
    ds = res.dataset
    write_output_file(out, mark_text(ds.to_csv()).encode(), force=args.force, inputs=inputs)
    print(res.summary())
    print(f"wrote {out}: {ds.rate.size} bins {ds.tee_lo[0]:g}-{ds.tee_hi[-1]:g} keV_ee")
    return 0


FROM_DIGITIZED = DatasetCommand(
    "from-digitized", "WebPlotDigitizer exports (points, upper error-bar ends) -> dataset CSV",
    EXAMPLE, add_arguments, run, inputs=(("points", "--points"), ("upper", "--upper")))
