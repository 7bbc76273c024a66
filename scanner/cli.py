"""The ``cevns-scan`` command line: parse arguments, call the library, print.

Every bad input ends with one line on stderr (``cevns-scan: error: ...``) and exit code 2;
``--debug`` (before the command) shows the traceback instead. An interrupted scan exits with
128 + the signal number. Library errors about a named parameter
(:class:`~cevns_scan.errors.ParameterError`) are worded as the option that set it.
"""

from __future__ import annotations

import argparse
import math
import re
import shlex
import signal
import sys
import threading
import time
from pathlib import Path

from . import __version__
from .errors import InputError, ParameterError, ScanInterrupted

PROG = "cevns-scan"

#: Library parameter name -> the option that sets it.
OPTIONS = {"jobs": "--jobs", "grid": "--grid", "backend": "--backend",
           "scheduler": "--scheduler", "shard": "--shard", "plane": "--plane", "cl": "--cl",
           "out": "--out"}


class _Parser(argparse.ArgumentParser):
    """argparse with one-line errors (raised, so that main() prints them uniformly).

    Negative numbers in exponent form (``--mu -1e-9``) are read as values, not options, so
    that the value check can name them.
    """

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._negative_number_matcher = re.compile(r"^-(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$")

    def error(self, message):
        raise InputError(f"{self.prog}: {message} (see {self.prog} --help)")


def _positive_int(name):
    def parse(text):
        try:
            value = int(text)
        except ValueError:
            raise InputError(f"{name} {text!r} is not an integer") from None
        if value < 1:
            raise InputError(f"{name} {value} must be >= 1")
        return value
    return parse


def _float(name, minimum=None, strict=False):
    def parse(text):
        try:
            value = float(text)
        except ValueError:
            raise InputError(f"{name} {text!r} is not a number") from None
        if not math.isfinite(value):
            raise InputError(f"{name} {text!r} must be finite")
        if minimum is not None and (value < minimum or (strict and value == minimum)):
            raise InputError(f"{name} {value:g} must be {'>' if strict else '>='} {minimum:g}")
        return value
    return parse


def _mu_max(text):
    from .config import FLAVOURS

    if "=" not in text:
        raise InputError(f"--mu-max {text!r}: use FLAVOUR=VALUE, e.g. --mu-max e=2e-9")
    fl, value = text.split("=", 1)
    if fl not in FLAVOURS:
        raise InputError(f"--mu-max {text!r}: flavour {fl!r} is not one of e, mu, tau")
    return fl, _float("--mu-max", 0.0, strict=True)(value)


def _add_force(p, what):
    if what == "folder":
        text = ("replace an earlier cevns-scan result in --out (only the files cevns-scan wrote "
                "there; other files are kept)")
    else:
        text = "replace an existing output file"
    p.add_argument("--force", action="store_true", help=text)


def _add_analysis_options(p, default_out=None, grid=True):
    p.add_argument("--config", help="TOML file overriding the packaged default configuration")
    p.add_argument("--data", default=None,
                   help="dataset CSV (Tee_lo_keV,Tee_hi_keV,rate,sigma) or 'cdex10-asimov' "
                        "(default)")
    if grid:
        p.add_argument("--grid", type=_positive_int("--grid"),
                       help="points per axis (default from config: 201)")
    p.add_argument("--mu-max", action="append", type=_mu_max, default=[], metavar="FL=VALUE",
                   help="axis maximum in mu_B for flavour e, mu or tau (default: automatic)")
    p.add_argument("--cl", type=_float("--cl", 0.0, strict=True),
                   help="confidence level (default 0.9)")
    p.add_argument("--jobs", type=_positive_int("--jobs"), default=1, help="joblib workers")
    p.add_argument("--backend", default="threading",
                   help="threading (default: the kernels release the GIL), loky or dask")
    p.add_argument("--scheduler", help="dask scheduler address (with --backend dask)")
    p.add_argument("--quiet", action="store_true", help="no progress output")
    if default_out is not None:
        p.add_argument("--out", default=default_out, help=f"output folder (default {default_out})")
        _add_force(p, "folder")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog=PROG, description="Neutrino magnetic-moment limits from solar-neutrino "
                     "CEvNS (Demirci, Basli & Mustamin, BSM-2023, and beyond).")
    parser.add_argument("--version", action="version", version=f"{PROG} {__version__}")
    parser.add_argument("--debug", action="store_true", help="show tracebacks")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    p = sub.add_parser("reproduce", help="the paper's analysis: every result file and figure")
    _add_analysis_options(p, default_out="results/paper")
    p.add_argument("--overlay", action="append", default=[], metavar="LABEL=FILE.csv",
                   help="comparison region for Fig. 3 (polygon CSV with columns x,y in mu_B)")
    p.add_argument("--plane", action="append", default=[], metavar="X-Y",
                   help="plane to scan, repeatable (default from config: e-mu and e-tau)")

    p = sub.add_parser("rates", help="differential rates dR/dT_nr (Fig. 2 table)")
    p.add_argument("--config")
    p.add_argument("--target", help="Ge or Xe (default: the config's [target], Ge)")
    p.add_argument("--flux", default="8B", help="8B, all, or a comma list of components")
    p.add_argument("--mu", nargs="+", type=_float("--mu"), default=[1e-9, 8e-10, 4e-10],
                   help="magnetic moments in mu_B (same for every flavour)")
    p.add_argument("--tnr-min", type=_float("--tnr-min", 0.0, strict=True), default=0.1)
    p.add_argument("--tnr-max", type=_float("--tnr-max", 0.0, strict=True), default=10.0)
    p.add_argument("--points", type=_positive_int("--points"), default=200)
    p.add_argument("--out", help="CSV file (default: stdout)")
    _add_force(p, "file")

    p = sub.add_parser("figure2", help="draw Fig. 2 (Ge and Xe rates) as PNG and PDF")
    p.add_argument("--config")
    p.add_argument("--out", required=True, help="output folder")
    _add_force(p, "folder")

    p = sub.add_parser("scan", help="one shard of a batch scan, checkpointed")
    _add_analysis_options(p)
    p.add_argument("--plane", required=True, help="e-mu, e-tau or another pair X-Y")
    p.add_argument("--shard", default="1/1", help="K/N: this job's slice of the grid")
    p.add_argument("--out", required=True, help="checkpoint folder (shared by all shards)")
    p.add_argument("--resume", action="store_true", help="skip chunks already finished")

    p = sub.add_parser("merge", help="merge the shards of a scan folder into results")
    p.add_argument("dir", help="checkpoint folder of `cevns-scan scan`")
    p.add_argument("--out", required=True, help="results folder")
    _add_force(p, "folder")
    p.add_argument("--overlay", action="append", default=[], metavar="LABEL=FILE.csv")

    p = sub.add_parser("plot", help="redraw the figures of a results folder from its saved maps")
    p.add_argument("dir")
    p.add_argument("--overlay", action="append", default=[], metavar="LABEL=FILE.csv")

    p = sub.add_parser("dataset", help="dataset tools")
    dsub = p.add_subparsers(dest="dataset_command", metavar="ACTION")
    d = dsub.add_parser("from-digitized",
                        help="WebPlotDigitizer exports (points, upper error-bar ends) -> dataset")
    d.add_argument("--points", required=True)
    d.add_argument("--upper", required=True)
    d.add_argument("--bin-width", type=_float("--bin-width", 0.0, strict=True), required=True)
    d.add_argument("--label", default="digitized")
    d.add_argument("--out", required=True)
    _add_force(d, "file")

    p = sub.add_parser("bench", help="timing benchmark (table, JSON, scaling plot)")
    p.add_argument("--json", help="write the results as JSON here")
    p.add_argument("--quick", action="store_true", help="small sizes (seconds, for smoke tests)")
    p.add_argument("--plot", help="scaling plot PNG (default: beside --json, or bench_scaling.png)")
    p.add_argument("--max-workers", type=_positive_int("--max-workers"),
                   help="largest worker count (default: all cores)")
    _add_force(p, "file")
    return parser


# -- helpers -------------------------------------------------------------------------------------

def _config(args):
    from .config import load_config

    cfg = load_config(getattr(args, "config", None))
    overrides: dict = {}
    if getattr(args, "grid", None) is not None:
        overrides.setdefault("scan", {})["grid"] = args.grid
    for fl, value in getattr(args, "mu_max", []) or []:
        overrides.setdefault("scan", {})[f"mu_max_{fl}"] = value
    if getattr(args, "cl", None) is not None:
        overrides.setdefault("fit", {})["cl"] = args.cl
    if getattr(args, "command", None) == "reproduce" and args.plane:
        overrides.setdefault("scan", {})["planes"] = args.plane
    if overrides:
        cfg = cfg.with_overrides(overrides, "command line")
    return cfg


def _progress(args):
    """A progress factory for the library (None when --quiet)."""
    from .progress import Progress

    if args.quiet:
        return None
    return lambda total, desc: Progress(total, desc)


def _print_limits(limits: dict, file=None) -> None:
    file = file if file is not None else sys.stdout
    print(f"limits at {100 * limits['cl']:g} % CL, dataset {limits['dataset']} (mu_B):", file=file)
    for plane, lims in limits["two_dof"].items():
        print(f"  2 d.o.f., plane {plane}: "
              + ", ".join(f"{k} < {v:.3e}" for k, v in lims.items()), file=file)
    print("  1 d.o.f. (others zero): "
          + ", ".join(f"{k} < {v:.3e}" for k, v in limits["one_dof"].items()), file=file)


def _finish(result, out, argv, args, extra, started):
    """Write a results folder, print warnings, limits and where it went."""
    from .plots import load_overlay

    overlays = [load_overlay(s) for s in getattr(args, "overlay", [])]
    limits = result.write(out, argv, force=args.force, overlays=overlays, extra=extra)
    for msg in limits["edge_warnings"]:
        print(msg, file=sys.stderr)
    _print_limits(limits)
    if result.analysis.dataset.description:
        print(f"note: {result.analysis.dataset.description}")
    print(f"wrote {out}/" + (f" in {time.perf_counter() - started:.1f} s" if started else ""))


# -- commands ------------------------------------------------------------------------------------

def cmd_rates(args, argv) -> int:
    import numpy as np

    from .model import KNOWN_TARGETS, build_model, make_target
    from .outputs import check_output_file, csv_bytes, write_output_file
    from .rates import differential_rates

    if args.tnr_max <= args.tnr_min:
        raise InputError(f"--tnr-max {args.tnr_max:g} must exceed --tnr-min {args.tnr_min:g} (keV)")
    for m in args.mu:
        if m < 0:
            raise InputError(f"--mu {m:g}: a magnetic moment must be >= 0 (mu_B)")
    cfg = _config(args)
    model = build_model(cfg)
    if args.target is not None and args.target != cfg.target.name:
        if args.target not in KNOWN_TARGETS:
            raise InputError(f"--target {args.target!r} is not one of {', '.join(KNOWN_TARGETS)}; "
                             "for another element set [target] z and molar_mass in --config")
        model = model.with_target(make_target(args.target))
    if args.flux != "all":
        model = model.with_components([c.strip() for c in args.flux.split(",") if c.strip()])
    if args.out is not None:
        check_output_file(args.out, force=args.force)
    t = np.geomspace(args.tnr_min, args.tnr_max, args.points)
    sm, _ = differential_rates(model, t)
    cols = {"T_nr_keV": t, "SM": sm.sum(axis=0)}
    for m in args.mu:
        _, mm = differential_rates(model, t, (m, m, m))
        cols[f"total_mu_{m:g}"] = cols["SM"] + mm.sum(axis=0)
    comment = [f"{model.target.name}, fluxes {','.join(model.component_names)} "
               f"({model.flux_model}); events/(kg day keV_nr); total_mu_X = SM + magnetic "
               "moment with mu_e = mu_mu = mu_tau = X mu_B"]
    if args.out is not None:
        write_output_file(args.out, csv_bytes(list(cols), list(cols.values()), comment),
                          force=args.force)
    else:
        print(f"# {comment[0]}")
        print(",".join(cols))
        for row in zip(*cols.values(), strict=True):
            print(",".join(f"{v:.10g}" for v in row))
    return 0


def cmd_figure2(args, argv) -> int:
    from .outputs import check_results_dir, results_dir, write_json
    from .plots import figure2, save_figure
    from .rates import figure2_tables
    from .results import package_versions

    out = check_results_dir(args.out, force=args.force)
    cfg = _config(args)
    tables = figure2_tables(cfg)
    with results_dir(out, force=args.force) as tmp:
        save_figure(figure2(tables), tmp, "fig2_rates")
        write_json(tmp / "run.json", {"command": [PROG, *argv], "versions": package_versions(),
                                      "config": cfg.to_dict()})
    print(f"wrote {out / 'fig2_rates.png'} and .pdf")
    return 0


def cmd_reproduce(args, argv) -> int:
    from .analysis import Analysis
    from .outputs import check_results_dir
    from .plots import load_overlay
    from .scan import check_backend

    started = time.perf_counter()
    check_backend(args.backend, args.scheduler)
    out = check_results_dir(args.out, force=args.force)
    cfg = _config(args)
    for spec in args.overlay:
        load_overlay(spec)
    t0 = time.perf_counter()
    analysis = Analysis.from_config(cfg, args.data)
    prepare_s = time.perf_counter() - t0
    result = analysis.run(jobs=args.jobs, backend=args.backend, scheduler=args.scheduler,
                          progress=_progress(args))
    result.timings["prepare_s"] = prepare_s
    _finish(result, out, argv, args, {"jobs": args.jobs, "backend": args.backend}, started)
    return 0


def cmd_scan(args, argv) -> int:
    from .analysis import Analysis
    from .checkpoint import parse_shard, run_shard
    from .config import parse_plane
    from .outputs import check_scan_dir
    from .scan import check_backend

    check_backend(args.backend, args.scheduler)
    shard = parse_shard(args.shard)
    root = check_scan_dir(args.out)
    cfg = _config(args)
    parse_plane(args.plane, "--plane")
    analysis = Analysis.from_config(cfg, args.data)
    resume = shlex.join([PROG, *argv] + ([] if args.resume else ["--resume"]))
    rep = run_shard(analysis, args.plane, root, shard=shard, resume=args.resume, jobs=args.jobs,
                    backend=args.backend, scheduler=args.scheduler, progress=_progress(args),
                    command=[PROG, *argv], resume_command=resume)
    if not args.quiet:
        print(f"shard {rep.shard} of plane {rep.plane_dir.name}: {rep.computed} chunk(s) "
              f"computed, {rep.already} already there, in {rep.seconds:.1f} s; when every shard "
              f"is done: {PROG} merge {root} --out RESULTS", file=sys.stderr)
    return 0


def cmd_merge(args, argv) -> int:
    from .checkpoint import merge_scan
    from .outputs import check_results_dir
    from .plots import load_overlay

    root = Path(args.dir)
    out_abs, root_abs = Path(args.out or ".").resolve(), root.resolve()
    if out_abs == root_abs or root_abs in out_abs.parents or out_abs in root_abs.parents:
        raise InputError(f"--out {args.out}: is the scan folder {root}, inside it or around it; "
                         "write the merged results to a separate folder")
    out = check_results_dir(args.out, force=args.force)
    for spec in args.overlay:
        load_overlay(spec)
    result = merge_scan(root)
    _finish(result, out, argv, args, {"merged_from": str(root)}, None)
    return 0


def cmd_plot(args, argv) -> int:
    from .replot import replot

    replot(Path(args.dir), args.overlay)
    print(f"redrew figures in {args.dir}/")
    return 0


def cmd_dataset(args, argv) -> int:
    if args.dataset_command != "from-digitized":
        raise InputError("dataset: use `cevns-scan dataset from-digitized --points P.csv "
                         "--upper U.csv --bin-width W --out D.csv`")
    from .datasets import dataset_from_digitized
    from .outputs import check_output_file, write_output_file

    out = check_output_file(args.out, force=args.force)
    ds = dataset_from_digitized(args.points, args.upper, args.bin_width, args.label)
    write_output_file(out, ds.to_csv().encode(), force=args.force)
    print(f"wrote {out}: {ds.rate.size} bins {ds.tee_lo[0]:g}-{ds.tee_hi[-1]:g} keV_ee")
    return 0


def cmd_bench(args, argv) -> int:
    from .bench import run_bench

    return run_bench(args)


COMMANDS = {"reproduce": cmd_reproduce, "scan": cmd_scan, "merge": cmd_merge,
            "rates": cmd_rates, "figure2": cmd_figure2, "plot": cmd_plot,
            "dataset": cmd_dataset, "bench": cmd_bench}


class _Terminated(BaseException):
    """SIGTERM outside a scan: unwinds like Ctrl-C so temporary outputs are removed."""


def _on_sigterm(signum, frame):
    raise _Terminated()


def _error_text(exc: InputError) -> str:
    if isinstance(exc, ParameterError) and exc.name in OPTIONS:
        return exc.as_option(OPTIONS[exc.name])
    return str(exc)


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    debug = False
    old_term = None
    if threading.current_thread() is threading.main_thread():
        old_term = signal.signal(signal.SIGTERM, _on_sigterm)
    try:
        args = build_parser().parse_args(argv)
        debug = args.debug
        if args.command is None:
            raise InputError(f"{PROG}: give a command ({', '.join(COMMANDS)}); "
                             f"see {PROG} --help")
        return COMMANDS[args.command](args, argv)
    except InputError as exc:
        if debug:
            raise
        print(f"{PROG}: error: {_error_text(exc)}", file=sys.stderr)
        return 2
    except ScanInterrupted as exc:
        if debug:
            raise
        print(f"{PROG}: {exc}", file=sys.stderr)
        return 128 + exc.signum
    except (KeyboardInterrupt, _Terminated) as exc:
        if debug:
            raise
        sig = signal.SIGTERM if isinstance(exc, _Terminated) else signal.SIGINT
        print(f"{PROG}: interrupted by {sig.name} before finishing; no partial output was left",
              file=sys.stderr)
        return 128 + sig
    finally:
        if old_term is not None:
            signal.signal(signal.SIGTERM, old_term)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
