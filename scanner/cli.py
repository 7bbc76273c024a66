"""The ``cevns-scan`` command line: parse arguments, call the library, print.

Every bad input ends with one line on stderr (``cevns-scan: error: ...``) and exit code 2;
``--debug`` (before the command) shows the traceback instead. An interrupted scan exits with
128 + the signal number. Library errors about a named parameter
(:class:`~cevns_scan.errors.ParameterError`) are worded as the option that set it, and the
parameters that library messages name in their fixes (``pass force=True``) as options too
(``add --force``): the library speaks Python, this module the command line.
"""

from __future__ import annotations

import argparse
import difflib
import errno
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

#: Library parameter name -> the option that sets it (:func:`option_names`): these, under the
#: running command's own options found by their argparse ``dest`` (``bin_width`` ->
#: ``--bin-width``), which win where one name means two options (``points``: ``--belt-points``
#: of ``reproduce``, ``--points`` of ``rates``). ``""``: a positional argument (the message
#: starts with the path).
OPTIONS = {"folder": "", "force": "--force", "resume": "--resume",
           "jobs": "--jobs", "grid": "--grid", "backend": "--backend", "toys": "--toys",
           "inner": "--inner-toys",
           "scheduler": "--scheduler", "shard": "--shard", "plane": "--plane", "cl": "--cl",
           "out": "--out", "seed": "--seed",
           "connect_timeout": "--connect-timeout", "points": "--belt-points",
           "gof_toys": "--gof-toys", "significance_toys": "--significance-toys",
           "n_toys": "--expected"}


class _Parser(argparse.ArgumentParser):
    """argparse with one-line errors (raised, so that main() prints them uniformly).

    Negative numbers in exponent form (``--mu -1e-9``) and comma lists that start with one
    (``--energies -1,5``) are read as values, not options, so that the value check can name
    them.
    """

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        number = r"(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?"
        self._negative_number_matcher = re.compile(rf"^-{number}(,\s*-?{number})*$")

    def error(self, message):
        raise InputError(f"{self.prog}: {message} (see {self.prog} --help)")

    def _get_value(self, action, arg_string):
        """argparse's conversion, except that an :class:`InputError` of a type function
        (``positive_int``, ...) keeps its own message: being a ValueError, argparse would
        reword it as "invalid value"."""
        try:
            return super()._get_value(action, arg_string)
        except argparse.ArgumentError as exc:
            if isinstance(exc.__context__, InputError):
                raise exc.__context__ from None
            raise


def _integer(name: str, text: str) -> int:
    """The integer ``text`` given to option ``name``, or a one-line error naming the option."""
    try:
        return int(text)
    except ValueError:
        raise InputError(f"{name} {text!r} is not an integer") from None


def positive_int(name, minimum: int = 1, what: str = ""):
    """argparse type: an integer >= ``minimum``, errors naming the option ``name``.

    The minimum is the library's (``MIN_GRID``, ``MIN_TOYS``), so that an option states the
    same one as the parameter it sets; ``what`` says what the number counts.
    """
    def parse(text):
        value = _integer(name, text)
        if value < minimum:
            raise InputError(f"{name} {value} must be >= {minimum}{' ' + what if what else ''}")
        return value
    return parse


def _grid_type():
    from .config import MIN_GRID

    return positive_int("--grid", MIN_GRID, "points per axis")


def _toys_type(name: str):
    from .neyman import MIN_TOYS

    return positive_int(name, MIN_TOYS, "pseudo-experiments")


def float_option(name, minimum=None, strict=False):
    """argparse type: a finite number (>= or > ``minimum``), errors naming the option."""
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
    from .config import FLAVOURS, MU_RANGE

    if "=" not in text:
        raise InputError(f"--mu-max {text!r}: use FLAVOUR=VALUE, e.g. --mu-max e=2e-9")
    fl, value = text.split("=", 1)
    if fl not in FLAVOURS:
        raise InputError(f"--mu-max {text!r}: flavour {fl!r} is not one of e, mu, tau")
    value = float_option("--mu-max", 0.0, strict=True)(value)
    if not MU_RANGE(value):
        raise InputError(f"--mu-max {text!r}: out of range; give an axis maximum "
                         f"{MU_RANGE.text()} (e.g. 3e-8, not 3)")
    return fl, value


def _expected_toys(text):
    value = _integer("--expected", text)
    from .neyman import MIN_TOYS

    if value < MIN_TOYS and value != 0:
        raise InputError(f"--expected {value} must be >= {MIN_TOYS} pseudo-experiments, or 0 "
                         "(or no value) for the Asimov expectation")
    return value


def _seed(text):
    from .neyman import MAX_SEED

    value = _integer("--seed", text)
    if not 0 <= value <= MAX_SEED:
        raise InputError(f"--seed {value} must be an integer from 0 to 2**63 - 1 ({MAX_SEED})")
    return value


def _jobs(text):
    value = _integer("--jobs", text)
    if value < 1 and value != -1:
        raise InputError(f"--jobs {value} must be >= 1, or -1 for all cores")
    return value


def add_force(p, what):
    """``--force`` of a command writing a "folder" or a "file"."""
    if what == "folder":
        text = ("replace an earlier cevns-scan result in --out (only the files cevns-scan wrote "
                "there; other files are kept)")
    else:
        text = "replace an existing output file"
    p.add_argument("--force", action="store_true", help=text)


def _add_overlay(p):
    p.add_argument("--overlay", action="append", default=[], metavar="LABEL[@X-Y]=FILE.csv",
                   help="comparison region for Fig. 3: a polygon CSV with columns x,y in mu_B; "
                        "@X-Y puts it on one plane only (e.g. COHERENT@e-mu=coh.csv); "
                        "repeatable")
    p.add_argument("--no-caveat", action="store_true",
                   help="leave the dataset caveat off Fig. 3 (for a journal figure)")


def _add_no_figures(p):
    p.add_argument("--no-figures", action="store_true",
                   help="write the numbers only, no PNG/PDF (draw them later with "
                        "cevns-scan plot DIR)")


def _add_execution_options(p):
    p.add_argument("--jobs", type=_jobs, default=None, metavar="N",
                   help="joblib workers; -1 or unset: all cores")
    p.add_argument("--backend", default="threading",
                   help="threading (default: the kernels release the GIL), loky (processes) or "
                        "dask (a dask.distributed cluster)")
    p.add_argument("--scheduler", metavar="ADDRESS",
                   help="dask scheduler address, e.g. tcp://host:8786 (with --backend dask; "
                        "default: a local cluster of --jobs processes)")
    p.add_argument("--connect-timeout", type=float_option("--connect-timeout", 0.0, strict=True),
                   default=30.0, metavar="SECONDS",
                   help="seconds the --scheduler has to answer as a dask scheduler (default 30)")
    p.add_argument("--quiet", action="store_true", help="no progress output")


def _add_analysis_options(p, default_out=None, grid=True):
    p.add_argument("--config", metavar="FILE.toml",
                   help="TOML file overriding the packaged default configuration (the paper's)")
    p.add_argument("--data", action="append", default=None, metavar="SPEC",
                   help=f"an experiment's data, by kind: {_data_help()}; KIND:SPEC names the "
                        f"kind; default {_default_data()}; repeat to fit experiments together, "
                        "nuisances shared by name")
    if grid:
        p.add_argument("--grid", type=_grid_type(), metavar="N",
                       help="points per axis, >= 2 (default from config: 201)")
    p.add_argument("--mu-max", action="append", type=_mu_max, default=[], metavar="FL=VALUE",
                   help="axis maximum in mu_B for flavour e, mu or tau, repeatable (default: "
                        "1.3 x the exact on-axis crossing)")
    p.add_argument("--cl", type=float_option("--cl", 0.0, strict=True), metavar="CL",
                   help="confidence level in (0, 1) (default from config: 0.9)")
    _add_execution_options(p)
    if default_out is not None:
        p.add_argument("--out", default=default_out, metavar="DIR",
                       help=f"results folder (default: {default_out})")
        add_force(p, "folder")


def _add_toy_options(p, default: int):
    if default:
        help_toys = f"pseudo-experiments per grid point, >= 10 (default {default})"
    else:
        help_toys = ("also run the toy-MC Neyman construction with N >= 10 pseudo-experiments "
                     "per grid point (default: Wilks only)")
    p.add_argument("--toys", type=_toys_type("--toys"), default=default or None, metavar="N",
                   help=help_toys)
    p.add_argument("--seed", type=_seed, default=0,
                   help="random seed, 0 to 2**63 - 1; each grid point's toys come from (seed, "
                        "point index) (default 0)")


def _sub(sub, name, help_text, example):
    return sub.add_parser(name, help=help_text, description=help_text,
                          epilog=f"example: {example}",
                          formatter_class=argparse.RawDescriptionHelpFormatter)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog=PROG, description="Neutrino magnetic-moment limits from solar-neutrino "
                     "CEvNS (Demirci, Basli & Mustamin, BSM-2023, and beyond).",
                     epilog=f"example: {PROG} reproduce --out results/paper; "
                            f"{PROG} COMMAND --help for a command's options")
    parser.add_argument("--version", action="version", version=f"{PROG} {__version__}")
    parser.add_argument("--debug", action="store_true",
                        help="show tracebacks (give it before the command)")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

    p = _sub(sub, "reproduce", "the paper's analysis: every result file and figure",
             f"{PROG} reproduce --grid 401 --out results/paper --force")
    _add_analysis_options(p, default_out="results/paper")
    _add_overlay(p)
    p.add_argument("--plane", action="append", default=[], metavar="X-Y",
                   help="plane to scan, repeatable (default from config: e-mu and e-tau)")
    _add_toy_options(p, default=0)
    p.add_argument("--belt", action="store_true",
                   help="with --toys: a plane whose data constrain one direction (the paper's "
                        "physics) gets the Neyman construction as a one-dimensional belt in "
                        "s = sum_l w_l mu_l^2, --belt-points points with --toys toys each "
                        "(e.g. --toys 10000): precise limits with their Monte Carlo errors; "
                        "a plane with two directions keeps the 2-D map")
    p.add_argument("--belt-points", type=positive_int("--belt-points"), default=41,
                   metavar="N", help="points of the belt, from 0 to the axis maximum "
                                     "(default 41)")
    p.add_argument("--gof-toys", type=_toys_type("--gof-toys"), metavar="N",
                   help="also a goodness-of-fit p-value from N pseudo-experiments of the best "
                        "fit (saturated model), the one to quote for Poisson bins with few "
                        "events (e.g. 1000)")
    p.add_argument("--significance-toys", type=positive_int("--significance-toys"), default=0,
                   metavar="N", help="also compute each SM measurement's significance from N "
                                     "pseudo-experiments of the null (seeded by --seed)")
    p.add_argument("--expected", type=_expected_toys, nargs="?", const=0, default=None,
                   metavar="N", help="also the expected limits without a signal: the median "
                                     "and 68/95 %% bands of each 1 d.o.f. limit from N "
                                     "background-only pseudo-experiments (seeded by --seed), "
                                     "or, without N, the Asimov median with asymptotic bands; "
                                     "the expected contours go on Fig. 3")
    _add_no_figures(p)

    p = _sub(sub, "rates", "differential rates dR/dT_nr in events/(kg day keV_nr) (Fig. 2)",
             f"{PROG} rates --target Xe --flux 8B,hep --mu 1e-9 --points 50 --out xe.csv")
    p.add_argument("--config", metavar="FILE.toml", help="TOML configuration (default: paper's)")
    p.add_argument("--target", metavar="SYMBOL",
                   help="any element symbol, e.g. Ge, Xe, Ar, Na (default: the config's "
                        "[target], Ge)")
    p.add_argument("--flux", default="8B", metavar="LIST",
                   help="8B (default), all, or a comma list of pp, pep, hep, 7Be, 8B, 13N, 15O, "
                        "17F")
    p.add_argument("--mu", nargs="+", type=float_option("--mu"), default=[1e-9, 8e-10, 4e-10],
                   metavar="MU", help="magnetic moments in mu_B, the same for every flavour "
                                      "(default: 1e-9 8e-10 4e-10)")
    p.add_argument("--tnr-min", type=float_option("--tnr-min", 0.0, strict=True), default=0.1,
                   metavar="KEV", help="lowest recoil in keV_nr (default 0.1)")
    p.add_argument("--tnr-max", type=float_option("--tnr-max", 0.0, strict=True), default=10.0,
                   metavar="KEV", help="highest recoil in keV_nr (default 10)")
    p.add_argument("--points", type=positive_int("--points"), default=200, metavar="N",
                   help="log-spaced recoil energies (default 200)")
    p.add_argument("--out", metavar="FILE.csv", help="CSV file (default: print to stdout)")
    add_force(p, "file")

    p = _sub(sub, "probabilities", "flavour probabilities P_ee, P_emu, P_etau at Earth (CSV)",
             f"{PROG} probabilities --component 8B --energies 1,5,10,15 --model msw")
    p.add_argument("--config", metavar="FILE.toml", help="TOML configuration (default: paper's)")
    p.add_argument("--component", default="8B", metavar="NAME",
                   help="flux component: pp, pep, hep, 7Be, 8B, 13N, 15O, 17F (default 8B)")
    p.add_argument("--energies", metavar="E1,E2,...",
                   help="neutrino energies in MeV, comma separated (default: 50 points over the "
                        "component's spectrum)")
    p.add_argument("--model", choices=("msw", "constant"),
                   help="msw (day-time adiabatic MSW) or constant (eqs. 8-11); default: the "
                        "config's [oscillation] model or preset")
    p.add_argument("--out", metavar="FILE.csv", help="CSV file (default: print to stdout)")
    p.add_argument("--plot", metavar="FILE.png",
                   help="also draw the MSW P(E) of pp, 7Be and 8B (and --component) against "
                        "the paper's constant P_ee, as PNG; the table is then MSW too, unless "
                        "--model says otherwise")
    add_force(p, "file")

    p = _sub(sub, "figure2", "draw Fig. 2 (8B rates of the configured target and Xe) as PNG and "
             "PDF",
             f"{PROG} figure2 --out figs")
    p.add_argument("--config", metavar="FILE.toml", help="TOML configuration (default: paper's)")
    p.add_argument("--out", required=True, metavar="DIR", help="output folder")
    add_force(p, "folder")

    p = _sub(sub, "scan", "one shard of a batch scan of one plane, checkpointed",
             f"{PROG} scan --plane e-mu --grid 4001 --shard 3/16 --out scans/run1 --resume")
    _add_analysis_options(p)
    p.add_argument("--plane", required=True, metavar="X-Y", help="e-mu, e-tau or mu-tau")
    p.add_argument("--shard", default="1/1", metavar="K/N",
                   help="this job's slice of the grid's chunks (default 1/1: all)")
    p.add_argument("--out", required=True, metavar="DIR",
                   help="checkpoint folder (shared by all shards and planes)")
    p.add_argument("--resume", action="store_true", help="skip chunks already finished")

    p = _sub(sub, "neyman", "one shard of a toy-MC Neyman scan of one plane, checkpointed",
             f"{PROG} neyman --plane e-mu --grid 51 --toys 1000 --seed 1 --shard 2/8 "
             "--out scans/neyman --resume")
    _add_analysis_options(p)
    p.add_argument("--plane", required=True, metavar="X-Y", help="e-mu, e-tau or mu-tau")
    p.add_argument("--shard", default="1/1", metavar="K/N",
                   help="this job's slice of the grid's chunks (default 1/1: all)")
    p.add_argument("--out", required=True, metavar="DIR",
                   help="checkpoint folder (shared by all shards; `merge` makes the results)")
    p.add_argument("--resume", action="store_true", help="skip chunks already finished")
    _add_toy_options(p, default=1000)

    p = _sub(sub, "coverage", "how often Wilks' and the Neyman regions cover true points "
             "(toy MC)", f"{PROG} coverage --plane e-mu --at e=1e-8,mu=0 --toys 400")
    p.add_argument("--config", metavar="FILE.toml",
                   help="TOML file overriding the packaged default configuration (the paper's)")
    p.add_argument("--data", default=None, metavar="SPEC",
                   help=f"an experiment's data ({_data_help()}); default {_default_data()}")
    p.add_argument("--cl", type=float_option("--cl", 0.0, strict=True), metavar="CL",
                   help="confidence level in (0, 1) (default from config: 0.9)")
    p.add_argument("--plane", default="e-mu", metavar="X-Y", help="e-mu (default), e-tau, mu-tau")
    p.add_argument("--at", action="append", default=[], metavar="X=VALUE,Y=VALUE",
                   help="a true point in mu_B, e.g. e=1e-8,mu=0; repeatable (default: the "
                        "origin and 0.5, 1 x the exact 2-d.o.f. on-axis crossing)")
    p.add_argument("--toys", type=_toys_type("--toys"), default=400, metavar="N",
                   help="pseudo-experiments per true point, >= 10 (default 400)")
    p.add_argument("--inner-toys", type=_toys_type("--inner-toys"), default=1000,
                   metavar="N", help="toys of each pseudo-experiment's own Neyman critical "
                                     "value, >= 10 (default 1000)")
    p.add_argument("--seed", type=_seed, default=0,
                   help="random seed, 0 to 2**63 - 1 (default 0)")
    p.add_argument("--jobs", type=_jobs, default=None, metavar="N",
                   help="threads; -1 or unset: all cores")
    p.add_argument("--json", metavar="FILE.json", help="also write the table as JSON")
    add_force(p, "file")

    p = _sub(sub, "systematics", "how each modelling choice of the experiments moves each "
             "1 d.o.f. limit (refits; a table)",
             f"{PROG} systematics --data xenonnt-8b --out systematics.csv --json systematics.json")
    p.add_argument("--config", metavar="FILE.toml",
                   help="TOML file overriding the packaged default configuration (the paper's)")
    p.add_argument("--data", action="append", default=None, metavar="SPEC",
                   help=f"an experiment's data ({_data_help()}); default {_default_data()}; "
                        "repeat to fit experiments together")
    p.add_argument("--cl", type=float_option("--cl", 0.0, strict=True), metavar="CL",
                   help="confidence level in (0, 1) (default from config: 0.9)")
    p.add_argument("--out", metavar="FILE.csv", help="also write the table as CSV")
    p.add_argument("--json", metavar="FILE.json", help="also write the table as JSON")
    p.add_argument("--quiet", action="store_true", help="no progress lines")
    add_force(p, "file")

    p = _sub(sub, "export-hepdata", "a HEPData submission of a results folder (contours, "
             "limits with expected bands, Delta chi2 maps), validated",
             f"{PROG} export-hepdata results/paper --out hepdata/paper")
    p.add_argument("dir", metavar="RESULTS_DIR", help="a folder written by reproduce or merge")
    p.add_argument("--out", required=True, metavar="DIR",
                   help="the submission folder (submission.yaml and one YAML file a table)")
    add_force(p, "folder")

    p = _sub(sub, "merge", "merge the shards of a scan folder into a results folder",
             f"{PROG} merge scans/run1 --out results/run1")
    p.add_argument("dir", metavar="SCAN_DIR", help="checkpoint folder of `cevns-scan scan`")
    p.add_argument("--out", required=True, metavar="DIR", help="results folder")
    add_force(p, "folder")
    p.add_argument("--cl", type=float_option("--cl", 0.0, strict=True), metavar="CL",
                   help="confidence level (default: the scan's config, 0.9)")
    _add_overlay(p)
    _add_no_figures(p)

    p = _sub(sub, "plot", "redraw the figures of a results folder from its saved maps",
             f"{PROG} plot results/paper --cl 0.95 --overlay COHERENT@e-mu=coh.csv")
    p.add_argument("dir", metavar="RESULTS_DIR", help="a folder written by reproduce or merge")
    p.add_argument("--cl", type=float_option("--cl", 0.0, strict=True), metavar="CL",
                   help="draw the contours at this confidence level (default: the maps' own)")
    _add_overlay(p)

    p = _sub(sub, "dataset", "dataset tools of the experiment kinds",
             f"{PROG} dataset ACTION --help")
    dsub = p.add_subparsers(dest="dataset_command", metavar="ACTION", parser_class=_Parser)
    for kind, command in _dataset_commands():
        d = _sub(dsub, command.name, f"{command.help} ({kind.name})", command.example)
        command.add_arguments(d)

    p = _sub(sub, "bench", "timing benchmark (table, JSON, scaling plot)",
             f"{PROG} bench --json bench.json")
    p.add_argument("--json", metavar="FILE.json", help="write the results as JSON here")
    p.add_argument("--quick", action="store_true", help="small sizes (seconds, for smoke tests)")
    p.add_argument("--plot", metavar="FILE.png",
                   help="scaling plot (default: beside --json, or bench_scaling.png)")
    p.add_argument("--max-workers", type=positive_int("--max-workers"), metavar="N",
                   help="largest worker count (default: all cores)")
    p.add_argument("--data", action="append", default=None, metavar="SPEC",
                   help="also time these data (each alone and, repeated, all together): "
                        "profile per grid point and Neyman toys per second")
    add_force(p, "file")
    return parser


def _data_help() -> str:
    from .experiments import registry

    return registry.data_help().replace("%", "%%")


def _default_data() -> str:
    from .experiments import registry

    return registry.default_spec()


def _dataset_commands():
    from .experiments import registry

    return registry.dataset_commands()


def _subparsers(parser) -> dict:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return dict(action.choices)
    return {}


def _unknown_option(argv: list[str], parser) -> None:
    """Raise for the first ``--option`` that the command does not know, naming the closest.

    Options before the command are the program's own (``--debug``, ``--version``).
    """
    chain, sub, first = [PROG], parser, len(argv)
    top = [o for a in parser._actions for o in a.option_strings]
    for i, tok in enumerate(argv):
        subs = _subparsers(sub)
        if tok in subs:
            chain.append(tok)
            sub = subs[tok]
            first = min(first, i)
    known = [o for a in sub._actions for o in a.option_strings]
    for i, tok in enumerate(argv):
        name = tok.split("=", 1)[0]
        if not tok.startswith("--") or name in known or (i < first and name in top):
            continue
        where = " ".join(chain)
        if name in top:
            raise InputError(f"{name} is an option of {PROG} itself: give it before the command, "
                             f"e.g. {PROG} {name} {' '.join(chain[1:])} ...")
        match = difflib.get_close_matches(name, [o for o in known if o.startswith("--")], n=1,
                                          cutoff=0.5)
        hint = f"; did you mean {match[0]}?" if match else ""
        raise InputError(f"{where}: unrecognized option {name!r}{hint} (see {where} --help)")


def _unknown_command(argv: list[str], parser) -> None:
    """Raise for a command (or ``dataset`` action) that does not exist, naming the closest."""
    chain, sub = [PROG], parser
    for tok in argv:
        if tok.startswith("-"):
            continue
        subs = _subparsers(sub)
        if not subs:
            return
        if tok not in subs:
            where = " ".join(chain)
            match = difflib.get_close_matches(tok, list(subs), n=1, cutoff=0.5)
            hint = f"; did you mean {match[0]!r}?" if match else ""
            what = "command" if len(chain) == 1 else "action"
            raise InputError(f"{where}: unknown {what} {tok!r}{hint} ({what}s: "
                             f"{', '.join(subs)}; see {where} --help)")
        chain.append(tok)
        sub = subs[tok]


def parse_args(argv: list[str]):
    """Parse ``argv``; an unknown command or option names the closest one and the help."""
    parser = build_parser()
    _unknown_command(argv, parser)
    _unknown_option(argv, parser)
    return parser.parse_args(argv)


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


#: Attributes of parsed arguments that name input files or folders, and their options.
_INPUT_OPTIONS = (("config", "--config"), ("data", "--data"), ("overlay", "--overlay"),
                  ("dir", "folder"))


def input_paths(args) -> list[tuple[str, str]]:
    """The command's input paths as (option, path) pairs, each checked for its length: the
    generic options, and a dataset subcommand's own (its ``inputs``)."""
    from .outputs import _short, check_path_length

    options = list(_INPUT_OPTIONS)
    if getattr(args, "command", None) == "dataset":
        for _, command in _dataset_commands():
            if command.name == getattr(args, "dataset_command", None):
                options += list(command.inputs)
    out = []
    for attr, option in options:
        values = getattr(args, attr, None)
        for value in values if isinstance(values, list) else [values]:
            if not isinstance(value, str) or value == "":
                continue
            if attr == "overlay":
                if "=" not in value:
                    continue  # load_overlay words that error
                value = value.split("=", 1)[1]
            check_path_length(value, f"{option} {_short(value)}")
            out.append((option, value))
    return out


def _progress(args):
    """A progress factory for the library (None when --quiet)."""
    from .progress import Progress

    if args.quiet:
        return None
    return lambda total, desc: Progress(total, desc)


def _overlays(args):
    from .plots import load_overlay

    return [load_overlay(s) for s in getattr(args, "overlay", [])]


def _warnings_to_stderr(command):
    """Run ``command`` printing each :class:`~cevns_scan.errors.CevnsScanWarning` that the
    library issues as one line on stderr (``warning: ...``), every time it is issued."""
    import functools
    import warnings

    from .errors import CevnsScanWarning

    @functools.wraps(command)
    def run(*args, **kwargs):
        with warnings.catch_warnings():
            warnings.simplefilter("always", CevnsScanWarning)
            shown = warnings.showwarning

            def show(message, category, filename, lineno, file=None, line=None):
                if issubclass(category, CevnsScanWarning):
                    print(f"warning: {message}", file=sys.stderr)
                else:
                    shown(message, category, filename, lineno, file, line)

            warnings.showwarning = show
            return command(*args, **kwargs)
    return run


def _finish(result, out, argv, args, extra, started, warn: bool = False):
    """Write a results folder, print limits and where it went; ``warn``: also issue the
    result's warnings (a merge; an analysis run has issued them already)."""
    from .errors import warn as issue
    from .plots import check_overlays

    overlays = _overlays(args)
    check_overlays(overlays, result.planes)
    result.write(out, argv, force=args.force, overlays=overlays, extra=extra,
                 caveat=not args.no_caveat, figures=not args.no_figures)
    if warn:
        issue(list(dict.fromkeys(result.warnings())))
    print("\n".join(result.summary_lines()))
    if not result.goodness_toys and any(r.gof is not None and not r.gof.asymptotic
                                        for r in result.planes):
        print("note: the chi2 distribution does not hold for these data, so no p-value is "
              "printed; --gof-toys N gives one from pseudo-experiments")
    if result.analysis.dataset.description:
        print(f"note: {result.analysis.dataset.description}")
    print(f"wrote {out}/" + (f" in {time.perf_counter() - started:.1f} s" if started else ""))


# -- commands ------------------------------------------------------------------------------------

def cmd_rates(args, argv) -> int:
    import numpy as np

    from .config import FLUX_COMPONENTS
    from .model import build_model, make_target
    from .outputs import check_output_file
    from .rates import differential_rates

    if args.tnr_max <= args.tnr_min:
        raise InputError(f"--tnr-max {args.tnr_max:g} must exceed --tnr-min {args.tnr_min:g} (keV)")
    from .config import MU_RANGE, number_text

    for m in args.mu:
        if m < 0:
            raise InputError(f"--mu {m:g}: a magnetic moment must be >= 0 (mu_B)")
        if m > MU_RANGE.high:
            raise InputError(f"--mu {m:g}: out of range; give a magnetic moment in "
                             f"[0, {number_text(MU_RANGE.high)}] mu_B (e.g. 1e-9, not 1)")
    if args.out is not None:
        check_output_file(args.out, force=args.force, inputs=input_paths(args))
    cfg = _config(args)
    flux = None if args.flux == "all" else [c.strip() for c in args.flux.split(",") if c.strip()]
    unknown = [c for c in flux or () if c not in FLUX_COMPONENTS]
    if unknown:
        raise InputError(f"--flux: unknown flux component(s) {', '.join(unknown)}; use names "
                         f"from {', '.join(FLUX_COMPONENTS)}, or all")
    new_target = args.target is not None and args.target != cfg.target.name
    if new_target:  # checked before anything is computed
        try:
            make_target(args.target)
        except InputError as exc:
            raise InputError(f"--target {args.target!r}: {exc}") from None
    model = build_model(cfg)
    if new_target:
        model = model.with_target(args.target)
    if flux is not None:
        model = model.with_components(flux)
    t = np.geomspace(args.tnr_min, args.tnr_max, args.points)
    sm, _ = differential_rates(model, t)
    cols = {"T_nr_keV": t, "SM": sm.sum(axis=0)}
    for m in args.mu:
        _, mm = differential_rates(model, t, (m, m, m))
        cols[f"total_mu_{m:g}"] = cols["SM"] + mm.sum(axis=0)
    comment = (f"{model.target.name}, fluxes {','.join(model.component_names)} "
               f"({model.flux_model}); events/(kg day keV_nr); total_mu_X = SM + magnetic "
               "moment with mu_e = mu_mu = mu_tau = X mu_B")
    _emit_table(cols, comment, args, digits=10)
    return 0


def _emit_table(cols: dict, comment: str, args, digits: int) -> None:
    """A table of columns: to ``--out`` as CSV (exact floats), else printed (``digits``)."""
    from .outputs import csv_bytes, write_output_file

    if args.out is not None:
        write_output_file(args.out, csv_bytes(list(cols), list(cols.values()), [comment]),
                          force=args.force, inputs=input_paths(args))
        return
    print(f"# {comment}")
    print(",".join(cols))
    for row in zip(*cols.values(), strict=True):
        print(",".join(f"{v:.{digits}g}" for v in row))


def _energies(text: str | None):
    if text is None:
        return None
    values = []
    for part in text.split(","):
        value = float_option("--energies")(part.strip())
        if value <= 0:
            raise InputError(f"--energies {value:g}: a neutrino energy must be > 0 (MeV)")
        values.append(value)
    return values


def cmd_probabilities(args, argv) -> int:
    from .outputs import check_distinct_outputs, check_output_file, write_output_file
    from .probabilities import component_energies, probability_table

    for name, path in (("out", args.out), ("plot", args.plot)):
        if path is not None:
            check_output_file(path, force=args.force, name=name, inputs=input_paths(args))
    check_distinct_outputs([("out", args.out), ("plot", args.plot)])
    cfg = _config(args)
    energies = _energies(args.energies)
    if energies is None:
        energies = component_energies(args.component, cfg, points=50)
    # the table is of the model drawn (MSW) unless --model names another
    model = args.model or ("msw" if args.plot is not None else cfg.choices["oscillation"])
    tab = probability_table(args.component, energies, cfg, model=model)
    _emit_table(tab, f"flavour probabilities at Earth of {args.component} neutrinos, "
                f"{model} model; E in MeV", args, digits=8)
    if args.plot is not None:
        import io

        from matplotlib.figure import Figure

        from .probabilities import DEFAULT_COMPONENTS, draw_probabilities
        from .provenance import figure_metadata

        fig = Figure(figsize=(6, 4.2), layout="constrained")
        ax = fig.subplots()
        comps = tuple(dict.fromkeys((*DEFAULT_COMPONENTS, args.component)))
        draw_probabilities(ax, cfg, comps, model="msw", flavours=("ee", "emu", "etau"))
        ax.axhline(probability_table("8B", [1.0], cfg, model="constant")["P_ee"][0], color="0.4",
                   lw=1, ls="-.", zorder=1, label=r"$P_{ee}$, eqs. 8-11 (paper)")
        ax.set_title("day-time adiabatic MSW, BS05(OP) production zones", fontsize=9)
        ax.legend(fontsize=7, ncol=2)
        buf = io.BytesIO()
        fig.savefig(buf, format="png", dpi=150, metadata=figure_metadata("png"))
        write_output_file(args.plot, buf.getvalue(), force=args.force, name="plot",
                          inputs=input_paths(args))
    return 0


def cmd_figure2(args, argv) -> int:
    from .outputs import check_results_dir, results_dir, write_json
    from .plots import figure2, save_figure
    from .rates import figure2_tables
    from .results import package_versions

    out = check_results_dir(args.out, force=args.force, inputs=input_paths(args))
    cfg = _config(args)
    tables = figure2_tables(cfg)
    with results_dir(out, force=args.force) as tmp:
        save_figure(figure2(tables), tmp, "fig2_rates")
        write_json(tmp / "run.json", {"command": [PROG, *argv], "versions": package_versions(),
                                      "config": cfg.to_dict()})
    print(f"wrote {out / 'fig2_rates.png'} and .pdf")
    return 0


def _every_run_writes(figures: bool) -> list[str]:
    """Files that every ``reproduce`` writes, whatever its data: a file of the user's with
    one of these names in ``--out`` is refused before the scan (the others when the folder is
    written), so that the refusal is not preceded by the scan's warnings."""
    names = ["run.json", "limits.json", "contours.json"]
    if figures:
        names += [f"{stem}.{ext}" for stem in ("fig2_rates", "fig3_contours")
                  for ext in ("png", "pdf")]
    return names


@_warnings_to_stderr
def cmd_reproduce(args, argv) -> int:
    from .analysis import Analysis
    from .neyman import CHANNELS
    from .outputs import check_replaceable, check_results_dir
    from .plots import check_overlay_planes
    from .scan import check_backend, check_results_grid, probe_scheduler

    started = time.perf_counter()
    if args.belt and not args.toys:
        raise InputError("--belt needs --toys N (pseudo-experiments per belt point, e.g. "
                         "--toys 10000)")
    check_backend(args.backend, args.scheduler)
    out = check_results_dir(args.out, force=args.force, inputs=input_paths(args))
    check_replaceable(out, _every_run_writes(not args.no_figures))  # not only when it writes
    cfg = _config(args)
    toys = args.toys or 0
    check_results_grid(cfg.scan.grid, len(cfg.scan.planes), len(CHANNELS) if toys else 1,
                       toys)
    check_overlay_planes(_overlays(args), cfg.scan.planes)
    if args.scheduler:
        probe_scheduler(args.scheduler, args.connect_timeout)
    t0 = time.perf_counter()
    analysis = Analysis.from_config(cfg, args.data)
    prepare_s = time.perf_counter() - t0
    result = analysis.run(jobs=args.jobs, backend=args.backend, scheduler=args.scheduler,
                          progress=_progress(args), toys=args.toys or 0, seed=args.seed,
                          belt=args.belt, belt_points=args.belt_points,
                          gof_toys=args.gof_toys or 0,
                          significance_toys=args.significance_toys,
                          expected=args.expected)
    result.timings["prepare_s"] = prepare_s
    _finish(result, out, argv, args, {"jobs": args.jobs, "backend": args.backend}, started)
    return 0


def cmd_scan(args, argv) -> int:
    from .analysis import Analysis
    from .checkpoint import check_shard_fits, merge_memory, parse_shard, run_shard
    from .config import parse_plane
    from .outputs import check_scan_dir
    from .scan import available_memory, check_backend, probe_scheduler, size_text

    check_backend(args.backend, args.scheduler)
    shard = parse_shard(args.shard)
    root = check_scan_dir(args.out)
    cfg = _config(args)
    parse_plane(args.plane, "--plane")
    toys = getattr(args, "toys", 0) or 0
    check_shard_fits(cfg.scan.grid, cfg.scan.neyman_chunk_points if toys
                     else cfg.scan.chunk_points, shard, root, toys=toys, jobs=args.jobs)
    if args.scheduler:
        probe_scheduler(args.scheduler, args.connect_timeout)
    analysis = Analysis.from_config(cfg, args.data)
    resume = shlex.join([PROG, *argv] + ([] if args.resume else ["--resume"]))
    rep = run_shard(analysis, args.plane, root, shard=shard, resume=args.resume, jobs=args.jobs,
                    backend=args.backend, scheduler=args.scheduler, progress=_progress(args),
                    command=[PROG, *argv], resume_command=resume, toys=toys,
                    seed=getattr(args, "seed", 0), connect_timeout=args.connect_timeout)
    if rep.note:
        print(f"note: {rep.note}", file=sys.stderr)
    need, have = merge_memory(cfg.scan.grid, 1, toys), available_memory()
    if have is not None and need > have and not args.quiet:
        print(f"note: merging this plane needs about {size_text(need)} of memory, more than "
              f"the {size_text(have)} available here; merge on a larger machine",
              file=sys.stderr)
    if not args.quiet:
        print(f"shard {rep.shard} of plane {rep.plane_dir.name}: {rep.computed} chunk(s) "
              f"computed, {rep.already} already there, in {rep.seconds:.1f} s; when every shard "
              f"is done: {PROG} merge {root} --out RESULTS", file=sys.stderr)
    return 0


@_warnings_to_stderr
def cmd_merge(args, argv) -> int:
    from .checkpoint import merge_scan
    from .outputs import check_results_dir

    root = Path(args.dir)
    out_abs, root_abs = Path(args.out or ".").resolve(), root.resolve()
    if out_abs == root_abs or root_abs in out_abs.parents or out_abs in root_abs.parents:
        raise InputError(f"--out {args.out}: is the scan folder {root}, inside it or around it; "
                         "write the merged results to a separate folder")
    out = check_results_dir(args.out, force=args.force, inputs=input_paths(args))
    _overlays(args)
    result = merge_scan(root, args.cl)
    _finish(result, out, argv, args, {"merged_from": str(root)}, None, warn=True)
    return 0


def cmd_plot(args, argv) -> int:
    from .replot import replot

    replot(Path(args.dir), args.overlay, args.cl, caveat=not args.no_caveat)
    print(f"redrew figures in {args.dir}/")
    return 0


def cmd_dataset(args, argv) -> int:
    commands = {command.name: command for _, command in _dataset_commands()}
    if args.dataset_command not in commands:
        raise InputError(f"dataset: give an action, one of {', '.join(commands)}; see "
                         "cevns-scan dataset --help")
    return commands[args.dataset_command].run(args)


def cmd_bench(args, argv) -> int:
    from .bench import run_bench

    return run_bench(args)


def _true_point(text: str, fx: str, fy: str) -> tuple[float, float]:
    values = {}
    for part in text.split(","):
        if "=" not in part:
            raise InputError(f"--at {text!r}: use {fx}=VALUE,{fy}=VALUE in mu_B")
        fl, value = part.split("=", 1)
        if fl.strip() not in (fx, fy):
            raise InputError(f"--at {text!r}: flavour {fl.strip()!r} is not {fx} or {fy} of "
                             "the plane")
        values[fl.strip()] = float_option("--at", 0.0)(value)
    return values.get(fx, 0.0), values.get(fy, 0.0)


@_warnings_to_stderr
def cmd_coverage(args, argv) -> int:
    from .analysis import Analysis
    from .config import parse_plane
    from .limits import axis_crossing, check_moment, check_true_point, threshold, toy_count_problem
    from .neyman import coverage
    from .outputs import check_output_file, json_bytes, write_output_file

    if args.json is not None:
        check_output_file(args.json, force=args.force, name="json", inputs=input_paths(args))
    fx, fy = parse_plane(args.plane, "--plane")
    points = [_true_point(text, fx, fy) for text in args.at]
    for text, point in zip(args.at, points, strict=True):  # unit slips before any compiling
        try:
            for fl, value in zip((fx, fy), point, strict=True):
                check_moment(f"mu_{fl}", value)
        except InputError as exc:
            raise InputError(f"--at {text!r}: {exc}") from None
    analysis = Analysis.from_config(_config(args), args.data)
    for text, point in zip(args.at, points, strict=True):
        try:
            check_true_point(analysis, (fx, fy), point, analysis.cl)
        except InputError as exc:
            raise InputError(f"--at {text!r}: {exc}") from None
    if not points:
        thr = threshold(analysis.cl, 2)
        cx, cy = axis_crossing(analysis, fx, thr), axis_crossing(analysis, fy, thr)
        points = [(0.0, 0.0), (0.5 * cx, 0.0), (cx, 0.0), (0.0, cy)]
    rows = coverage(analysis, args.plane, points, toys=args.toys, inner=args.inner_toys,
                    seed=args.seed, jobs=args.jobs)
    cl = 100 * analysis.cl
    print(f"coverage of the {cl:g} % CL regions, plane {fx}-{fy}, dataset {analysis.label} "
          f"({args.toys} toys per point, {args.inner_toys} inner toys):")
    print(f"  {'mu_' + fx:>12}  {'mu_' + fy:>12}  {'Wilks':>16}  {'Neyman':>16}")
    for r in rows:
        e_w, e_n = r.error(r.wilks, r.n), r.error(r.neyman, r.n)
        print(f"  {r.mu_x:12.4g}  {r.mu_y:12.4g}  {100 * r.wilks:7.1f} +- {100 * e_w:4.1f} %"
              f"  {100 * r.neyman:7.1f} +- {100 * e_n:4.1f} %")
    if rows:
        print(f"  (with {args.inner_toys} inner toys a pivotal statistic covers "
              f"{100 * rows[0].neyman_expected:.2f} %, not {cl:g} %: t_c is an order statistic "
              "of the inner toys)")
    few = toy_count_problem(args.inner_toys, analysis.cl, "inner toys")
    if few:
        print(f"warning: {few}", file=sys.stderr)
    if args.json is not None:
        rec = {"command": [PROG, *argv], "cl": analysis.cl, "plane": args.plane,
               "dataset": analysis.label, "seed": args.seed,
               "points": [r.to_dict() for r in rows]}
        write_output_file(args.json, json_bytes(rec), force=args.force, name="json",
                          inputs=input_paths(args))
    return 0


def cmd_export_hepdata(args, argv) -> int:
    from .hepdata import export_hepdata

    rec = export_hepdata(args.dir, args.out, force=args.force, argv=argv)
    from .hepdata import UPLOAD

    print(f"wrote a HEPData submission of {len(rec['tables'])} tables (validated) to "
          f"{rec['folder']}/; to upload: {UPLOAD.replace('DIR', str(rec['folder']))}")
    return 0


def cmd_systematics(args, argv) -> int:
    from .outputs import check_output_file, json_bytes, write_output_file
    from .systematics import modelling_sensitivity

    for name, path in (("out", args.out), ("json", args.json)):
        if path is not None:
            check_output_file(path, force=args.force, name=name)
    say = None if args.quiet else (lambda line: print(f"  done: {line}", file=sys.stderr))
    table = modelling_sensitivity(_config(args), args.data, progress=say)
    print("\n".join(table.lines()))
    if args.out is not None:
        write_output_file(args.out, table.csv_bytes(), force=args.force)
    if args.json is not None:
        write_output_file(args.json, json_bytes({"command": [PROG, *argv], **table.to_dict()}),
                          force=args.force, name="json")
    return 0


COMMANDS = {"reproduce": cmd_reproduce, "scan": cmd_scan, "neyman": cmd_scan,
            "coverage": cmd_coverage, "merge": cmd_merge, "systematics": cmd_systematics,
            "export-hepdata": cmd_export_hepdata,
            "rates": cmd_rates, "probabilities": cmd_probabilities, "figure2": cmd_figure2,
            "plot": cmd_plot,
            "dataset": cmd_dataset, "bench": cmd_bench}


class _Terminated(BaseException):
    """SIGTERM outside a scan: unwinds like Ctrl-C so temporary outputs are removed."""


def _on_sigterm(signum, frame):
    raise _Terminated()


def option_names(args=None) -> dict[str, str]:
    """Library parameter name -> option of the command that ``args`` ran: :data:`OPTIONS`,
    overridden by the command's own options under their argparse ``dest`` (a ``dataset``
    subcommand's too, whichever kind contributed it)."""
    names = dict(OPTIONS)
    command = getattr(args, "command", None)
    if command is None:
        return names
    parser = build_parser()
    for name in (command, getattr(args, "dataset_command", None) if command == "dataset"
                 else None):
        subs = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
        if name is None or not subs or name not in subs[0].choices:
            break
        parser = subs[0].choices[name]
    for action in parser._actions:
        long = [o for o in action.option_strings if o.startswith("--")]
        if long and action.dest not in ("help", "version"):
            names[action.dest] = long[0]
    return names


#: A parameter named in a library message's fix: ``pass force=True``, ``first_edge=...``,
#: ``out='results/x'`` (the convention of :mod:`cevns_scan.errors`).
_REFERENCE = re.compile(r"\b(?P<verb>pass )?(?P<name>[a-z][a-z0-9_]*)="
                        r"(?P<value>True\b|\.\.\.|'[^']*')")


def as_options(text: str, names: dict[str, str]) -> str:
    """``text`` with the parameters it names (:data:`_REFERENCE`) worded as the options in
    ``names``: ``pass force=True`` -> ``add --force``, ``first_edge=...`` -> ``--first-edge``,
    ``json='a.json'`` -> ``--json a.json``; a name without an option is left as it is."""
    def option(m):
        flag = names.get(m["name"])
        if not flag:
            return m[0]
        if m["value"] == "True":
            return f"{'add ' if m['verb'] else ''}{flag}"
        value = "" if m["value"] == "..." else " " + m["value"][1:-1]
        return f"{m['verb'] or ''}{flag}{value}"

    return _REFERENCE.sub(option, text)


def _error_text(exc: InputError, args=None) -> str:
    names = option_names(args)
    if isinstance(exc, ParameterError) and exc.name in names:
        return as_options(exc.as_option(names[exc.name]), names)
    return as_options(str(exc), names)


class _CompileNotice:
    """Say once, on stderr, when numba compiles kernels (a cold cache: the first run only).

    Uses numba's event API: the ``numba:compile`` event fires only when a kernel is really
    compiled, not when it is loaded from the cache.
    """

    def __init__(self):
        self.shown = False
        self.listener = None

    def __enter__(self):
        try:
            from numba.core import event
        except ImportError:  # pragma: no cover - numba without the event API
            return self
        notice = self

        class Listener(event.Listener):
            def on_start(self, ev):
                if not notice.shown:
                    notice.shown = True
                    print(f"{PROG}: compiling the numba kernels (first run only; later runs "
                          "load them from numba's cache)...", file=sys.stderr, flush=True)

            def on_end(self, ev):
                pass

        self.listener = Listener()
        event.register("numba:compile", self.listener)
        return self

    def __exit__(self, *exc):
        if self.listener is not None:
            from numba.core import event

            event.unregister("numba:compile", self.listener)
        return False


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    args = None
    debug = False
    old_term = None
    if threading.current_thread() is threading.main_thread():
        old_term = signal.signal(signal.SIGTERM, _on_sigterm)
    try:
        args = parse_args(argv)
        debug = args.debug
        if args.command is None:
            raise InputError(f"{PROG}: give a command ({', '.join(COMMANDS)}); "
                             f"see {PROG} --help")
        input_paths(args)  # every input path fits the system's limits
        with _CompileNotice():
            return COMMANDS[args.command](args, argv)
    except InputError as exc:
        if debug:
            raise
        print(f"{PROG}: error: {_error_text(exc, args)}", file=sys.stderr)
        return 2
    except OSError as exc:
        if debug or exc.errno != errno.ENAMETOOLONG:
            raise
        print(f"{PROG}: error: {exc.filename or 'a path'}: {exc.strerror}; use a shorter path",
              file=sys.stderr)
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
