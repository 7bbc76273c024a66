"""``cevns-scan dataset make-counting``: write a ``.count.toml`` file from numbers.

A kind contributes ``dataset`` subcommands as :class:`~cevns_scan.experiments.protocols.
DatasetCommand` objects: options on an argparse parser, and a function that does the work.
"""

from __future__ import annotations

from cevns_scan.experiments.protocols import DatasetCommand

EXAMPLE = ("cevns-scan dataset make-counting --observed 44 --background 30 --background-sigma 5 "
           "--exposure-kg-day 36525 --window 1 10 --out mine.count.toml")


def add_arguments(d) -> None:
    """The options of ``dataset make-counting``."""
    from cevns_scan.cli import add_force, float_option

    d.add_argument("--observed", type=int, required=True, metavar="N",
                   help="events counted in the window")
    d.add_argument("--background", type=float_option("--background", 0.0), required=True,
                   metavar="EVENTS", help="expected background events in the window")
    d.add_argument("--background-sigma", type=float_option("--background-sigma", 0.0,
                                                           strict=True),
                   required=True, metavar="EVENTS", help="1-sigma of the background, events")
    d.add_argument("--exposure-kg-day", type=float_option("--exposure-kg-day", 0.0, strict=True),
                   required=True, metavar="KG_DAY", help="argon exposure x efficiency, kg day")
    d.add_argument("--window", type=float_option("--window", 0.0, strict=True), nargs=2,
                   required=True, metavar=("LOW", "HIGH"), help="recoil window in keV_nr")
    d.add_argument("--label", default="", help="dataset label (default: the file name)")
    d.add_argument("--description", default="",
                   help="what figures must say about the data (e.g. 'made-up numbers')")
    d.add_argument("--out", required=True, metavar="FILE.count.toml", help="file to write")
    add_force(d, "file")


def run(args) -> int:
    """Validate the numbers as a data file would be, then write it (``--out``)."""
    from cevns_scan.errors import InputError
    from cevns_scan.outputs import check_output_file, write_output_file

    from .data import SUFFIX, CountingData, parse_text

    if not args.out.lower().endswith(SUFFIX):
        raise InputError(f"--out {args.out}: a counting file's name ends in {SUFFIX}")
    out = check_output_file(args.out, force=args.force)
    data = CountingData(args.label, args.observed, args.background, args.background_sigma,
                        args.exposure_kg_day, tuple(args.window), "", args.description)
    text = data.to_toml()
    parse_text(text, f"--out {args.out}", "unused")  # the same checks as reading it back
    write_output_file(out, text.encode(), force=args.force)
    print(f"wrote {out}: {args.observed} events, background {args.background:g} +- "
          f"{args.background_sigma:g}, {args.window[0]:g}-{args.window[1]:g} keV_nr")
    return 0


MAKE_COUNTING = DatasetCommand("make-counting", "numbers of one counting window -> a "
                               ".count.toml file", EXAMPLE, add_arguments, run)
