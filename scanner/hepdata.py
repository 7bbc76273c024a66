"""A HEPData submission of a results folder (``cevns-scan export-hepdata RESULTS --out DIR``).

Tables, written with ``hepdata_lib`` (the ``hepdata`` extra) and checked with
``hepdata-validator`` before anything is kept:

* ``1-dof limits``: each moment alone (the others zero), the observed upper limit, and, where
  the folder has expected limits, the expected median with its +-1 sigma and +-2 sigma bands
  as asymmetric uncertainties (the HEPData form of a "Brazil" plot);
* ``2-dof limits <plane>``: the extent of each plane's region along its axes;
* ``contour <plane>`` (one table per polyline): the observed region's boundary, and
  ``expected contour <plane>`` the expected (median) one where present;
* ``Delta chi2 <plane>``: the map of -2 ln L minus its minimum on the scan grid.

Every moment is in units of mu_B. Every table's description names the dataset with its
citation (run.json) and the threshold used; the submission's comment names the method paper
and the cevns-scan version. The folder follows the output policy of :mod:`cevns_scan.outputs`
(new, empty or an earlier export with ``force``): besides ``submission.yaml`` and the tables
(each with cevns-scan's provenance mark as a first YAML comment line) it holds cevns-scan's
``run.json``; the archive HEPData takes is the YAML files alone (:data:`UPLOAD`; an archive
cannot carry the mark the output policy needs to replace it later).
"""

from __future__ import annotations

import contextlib
import gc
import io
import json
import warnings
from pathlib import Path

import numpy as np

from .errors import InputError, PathError

#: The paper whose method the tables follow.
METHOD_CITATION = ("M. Demirci, M. F. Basli, M. F. Mustamin, 'Probing Neutrino Magnetic Moment "
                   "with CEvNS' (BSM-2023); limits computed with cevns-scan")
#: HEPData names of the flavours' moments.
MOMENT_NAMES = {"e": r"$\mu_{\nu_e}$", "mu": r"$\mu_{\nu_\mu}$", "tau": r"$\mu_{\nu_\tau}$"}
UNITS = r"$\mu_B$"
_INSTALL = "pip install 'cevns-scan[hepdata]'"


def _hepdata_lib():
    """hepdata_lib, imported quietly (its validator imports a deprecated jsonschema API)."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            import hepdata_lib
            from hepdata_validator.full_submission_validator import FullSubmissionValidator
    except ImportError as exc:
        raise InputError(f"export-hepdata needs hepdata_lib ({exc.name} is not installed); "
                         f"{_INSTALL}") from None
    return hepdata_lib, FullSubmissionValidator


def _read_json(folder: Path, name: str) -> dict:
    path = folder / name
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputError(f"{path}: missing; export-hepdata reads a folder written by "
                         "cevns-scan reproduce or merge") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InputError(f"{path}: unreadable ({exc}); rerun reproduce or merge") from None


def dataset_citation(run: dict) -> str:
    """The datasets of a run.json with their provenance: label, source, citation or DOI,
    licence, and the caveat of synthetic data."""
    parts = []
    for ds in run.get("datasets") or [run.get("dataset", {})]:
        meta = ds.get("metadata", {}) or {}
        text = f"dataset {ds.get('label', '?')} (source {ds.get('source', '?')}"
        if meta.get("citation"):
            text += f"; {meta['citation']}"
        elif meta.get("doi"):
            text += f"; doi:{meta['doi']}"
        if meta.get("license"):
            text += f"; licence {meta['license']}"
        text += ")"
        if ds.get("note"):
            text += f": {ds['note']}"
        parts.append(text)
    return "; ".join(parts)


def _moment(flavour_key: str) -> str:
    return MOMENT_NAMES.get(flavour_key.removeprefix("mu_"), flavour_key)


def _value(x):
    """A table value: text as is, a finite number as float, anything else '-' (HEPData's
    missing value)."""
    if isinstance(x, str):
        return x
    x = float(x)
    return x if np.isfinite(x) else "-"


def _var(lib, name, values, *, independent, units=UNITS, digits=7):
    v = lib.Variable(name, is_independent=independent, is_binned=False, units=units)
    v.values = [_value(x) for x in values]
    v.digits = digits
    return v


#: Licences of input data that their derived tables keep (else HEPData's default, CC0).
LICENCES = {"CC-BY-4.0": {"name": "CC-BY-4.0",
                          "url": "https://creativecommons.org/licenses/by/4.0/",
                          "description": "Derived from data released under CC-BY-4.0: "
                                         "attribute the data's authors (see the comment)."}}


def data_licence(run: dict) -> dict | None:
    """The licence the tables inherit from their input data (None: HEPData's default)."""
    for ds in run.get("datasets") or [run.get("dataset", {})]:
        lic = (ds.get("metadata", {}) or {}).get("license")
        if lic in LICENCES:
            return LICENCES[lic]
    return None


def _table(lib, name: str, description: str, location: str, observables=()):
    t = lib.Table(name)
    t.description = description
    t.location = location
    t.keywords["observables"] = list(observables) or ["magnetic moment"]
    t.keywords["reactions"] = ["NU NUCLEUS --> NU NUCLEUS"]
    return t


def limit_tables(lib, limits: dict, context: str) -> list:
    """The 1-d.o.f. table (observed, and expected with bands where present) and the 2-d.o.f.
    tables."""
    cl = float(limits["cl"])
    one = limits["one_dof"]
    names = list(one)
    t = _table(lib, "1-dof limits", f"{100 * cl:g} % CL upper limits on each neutrino "
               "magnetic moment alone (the other two zero), Wilks threshold chi2.ppf(cl, 1). "
               + context, "limits.json one_dof; expected: fig_expected_limits",
               ["upper limit"])
    t.add_variable(_var(lib, "moment", [_moment(n) for n in names], independent=True,
                        units=""))
    obs = _var(lib, f"observed {100 * cl:g} % CL upper limit", [one[n] for n in names],
               independent=False)
    t.add_variable(obs)
    exp = limits.get("one_dof_expected")
    if exp:
        how = limits.get("one_dof_expected_meaning", "")
        med = _var(lib, f"expected {100 * cl:g} % CL upper limit (median)",
                   [exp[n]["median"] for n in names], independent=False)
        for label, key in (("1 sigma", "band_68"), ("2 sigma", "band_95")):
            u = lib.Uncertainty(label, is_symmetric=False)
            u.values = [(exp[n][key][0] - exp[n]["median"], exp[n][key][1] - exp[n]["median"])
                        for n in names]
            med.add_uncertainty(u)
        t.add_variable(med)
        t.description += f" Expected: {how}"
    out = [t]
    for plane, lims in limits.get("two_dof", {}).items():
        t2 = _table(lib, f"2-dof limits {plane}", f"{100 * cl:g} % CL limits of plane "
                    f"{plane}: the extent of the 2-d.o.f. allowed region along each axis (the "
                    "third moment zero), threshold chi2.ppf(cl, 2). " + context,
                    f"limits.json two_dof {plane}", ["upper limit"])
        t2.add_variable(_var(lib, "moment", [_moment(n) for n in lims], independent=True,
                             units=""))
        t2.add_variable(_var(lib, f"{100 * cl:g} % CL upper limit", list(lims.values()),
                             independent=False))
        out.append(t2)
    return out


def contour_tables(lib, contours: dict, context: str) -> list:
    """One table per polyline of each plane's observed (and expected) region."""
    out = []
    cl, delta = contours.get("cl"), contours.get("delta_chi2")
    kinds = [("contour", contours.get("planes", {}), "observed allowed region"),
             ("expected contour", contours.get("expected", {}),
              "expected (median) allowed region of the Asimov data")]
    for prefix, planes, what in kinds:
        for plane, rec in planes.items():
            fx, fy = plane.split("_", 1)
            lines = rec.get("lines", [])
            for k, line in enumerate(lines):
                line = np.asarray(line, dtype=float)
                suffix = f" ({k + 1} of {len(lines)})" if len(lines) > 1 else ""
                t = _table(lib, f"{prefix} {plane}{suffix}",
                           f"Boundary of the {what} of plane {plane} at {100 * cl:g} % CL "
                           f"(Delta chi2 = {delta:.4f}, the third moment zero), as a polyline. "
                           + context, f"contours.json; Fig. 3 ({plane})", ["contour"])
                t.add_variable(_var(lib, MOMENT_NAMES.get(fx, fx), line[:, 0],
                                    independent=True))
                t.add_variable(_var(lib, MOMENT_NAMES.get(fy, fy), line[:, 1],
                                    independent=False))
                out.append(t)
    return out


def map_tables(lib, folder: Path, context: str) -> list:
    """The Delta chi2 map of each plane on its grid (flattened, mu_y fastest)."""
    from .outputs import load_npz

    out = []
    for path in sorted(folder.glob("chi2_*.npz")):
        z = load_npz(path, "not a readable chi2 map; rerun reproduce or merge")
        fx, fy = (str(f) for f in z["flavours"])
        plane = f"{fx}_{fy}"
        gx, gy = np.meshgrid(z["mu_x"], z["mu_y"], indexing="ij")
        t = _table(lib, f"Delta chi2 {plane}",
                   f"-2 ln L (chi2 of eq. 18 for a Gaussian likelihood) minus its global "
                   f"minimum {float(z['chi2_min']):.6g} on the scan grid of plane {plane} (the "
                   "third moment zero), nuisance parameters profiled. " + context,
                   f"{path.name}", ["Delta chi2"])
        t.add_variable(_var(lib, MOMENT_NAMES.get(fx, fx), gx.ravel(), independent=True))
        t.add_variable(_var(lib, MOMENT_NAMES.get(fy, fy), gy.ravel(), independent=True))
        t.add_variable(_var(lib, r"$\Delta\chi^2$", (z["chi2"] - z["chi2_min"]).ravel(),
                            independent=False, units="", digits=6))
        out.append(t)
    return out


def _submission_header(comment: str, version: str, licence: dict | None = None) -> dict:
    """The first document of submission.yaml (as hepdata_lib's Submission writes it)."""
    lib, _ = _hepdata_lib()
    return {"data_license": licence or lib.Submission.get_license(), "comment": comment,
            "additional_resources": [{"description": f"Created with hepdata_lib "
                                                     f"{lib.__version__} by cevns-scan "
                                                     f"{version}",
                                      "location": "https://doi.org/10.5281/zenodo.1217998"}]}


def validate_submission(folder: Path) -> list[str]:
    """Messages of hepdata-validator on the submission in ``folder`` ([] when valid)."""
    _, validator_class = _hepdata_lib()
    validator = validator_class(autoload_remote_schemas=False)
    with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
        warnings.simplefilter("ignore", DeprecationWarning)
        warnings.simplefilter("ignore", ResourceWarning)  # the validator leaves files open
        ok = validator.validate(directory=str(folder))
        messages = validator.get_messages()
        gc.collect()  # close them here, while their warnings are ignored
    if ok:
        return []
    return [f"{Path(f).name}: {m.message}" for f, ms in messages.items() for m in ms]


def _safe_name(name: str) -> str:
    """hepdata_lib's file name of a table (lower case, spaces to underscores)."""
    return name.lower().replace(" ", "_")


#: How to make the archive HEPData takes from the folder (the YAML files only).
UPLOAD = "cd DIR && tar czf ../submission.tar.gz *.yaml  (then upload submission.tar.gz)"


def export_hepdata(results, out, *, force: bool = False, argv=()) -> dict:
    """Write the HEPData submission of the results folder ``results`` into ``out``.

    Returns ``{"tables": [names], "folder": out}``. Raises
    :class:`~cevns_scan.errors.InputError` for a folder that is not a cevns-scan result, a
    missing hepdata_lib, or an ``out`` the output policy refuses; nothing is written then.
    """
    import yaml

    from . import __version__
    from .outputs import check_results_dir, previous_result_files, results_dir, write_json
    from .provenance import mark_text

    results = Path(results)
    if not results.is_dir() or previous_result_files(results) is None:
        raise InputError(f"{results}: not a cevns-scan results folder (no cevns-scan run.json); "
                         "give a folder written by reproduce or merge")
    lib, _ = _hepdata_lib()
    out = check_results_dir(out, force=force)
    if out.resolve() == results.resolve():
        raise PathError("out", out, "is the results folder itself; write the submission to "
                        "a separate folder")
    run = _read_json(results, "run.json")
    limits = _read_json(results, "limits.json")
    contours = _read_json(results, "contours.json")
    context = f"Data: {dataset_citation(run)}. Method: {METHOD_CITATION}."
    tables = (limit_tables(lib, limits, context) + contour_tables(lib, contours, context)
              + map_tables(lib, results, context))
    files = [_safe_name(t.name) + ".yaml" for t in tables]
    if len(set(files)) != len(files):  # a bug, not bad input
        raise RuntimeError("two HEPData tables share a file name")
    comment = (f"Neutrino magnetic-moment limits from CEvNS, {context} cevns-scan "
               f"{__version__}; inputs sha256 {run.get('input_sha256', '?')}.")
    with results_dir(out, force=force) as tmp:
        header = _submission_header(comment, __version__, data_licence(run))
        with open(tmp / "submission.yaml", "w", encoding="utf-8") as fh:
            yaml.dump(header, fh, default_flow_style=False, explicit_start=True)
        with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
            warnings.simplefilter("ignore", DeprecationWarning)
            for t in tables:
                t.write_output(str(tmp))
        for name in ["submission.yaml", *files]:  # the provenance mark, a YAML comment line
            path = tmp / name
            path.write_bytes(mark_text(path.read_bytes()))
        problems = validate_submission(tmp)
        if problems:
            raise RuntimeError("the HEPData submission does not validate: "
                               + "; ".join(problems[:5]))  # a bug, not bad input
        write_json(tmp / "run.json", {"command": ["cevns-scan", *argv],
                                      "exported_from": str(results),
                                      "source_input_sha256": run.get("input_sha256"),
                                      "tables": [t.name for t in tables],
                                      "hepdata_files": ["submission.yaml", *files],
                                      "upload": UPLOAD, "hepdata_lib": lib.__version__})
    return {"tables": [t.name for t in tables], "folder": out}
