"""XENONnT solar-8B CEvNS release: the shipped converted file against the raw release, bad inputs.

Reference numbers come from the raw release files read here with h5py/csv/PyYAML, from the
shared README beside the repository, or from the publications; never from the importer.
"""

import csv
import hashlib
import json
import re
import sys
from pathlib import Path

import numpy as np
import pytest

from cevns_scan.errors import InputError
from cevns_scan.experiments.xenonnt import release as xr
from cevns_scan.tables import data_file

SHARED = Path(__file__).resolve().parents[2] / "shared" / "xenonnt"
RELEASE = SHARED / "cevns_data_release"
RUNS = ("sr0", "sr1", "sr2")
ANCHORS = (-3, -2, -1, 0, 1, 2, 3)
OBSERVABLES = ("cs2", "s2_shadow_s2_time_shadow_quantile", "s1_bdt_score", "s2_bdt_score")
H5_NAMES = ("cs2", "s2_shadow_s2_time_shadow", "s1_bdt_score", "s2_bdt_score")


# ------------------------------------------------------------------ helpers, independent of xr


def rg_rel(run, t_ly, t_qy):
    return f"templates/{run}/rg/template_XENONnT_{run}_rg_cevns_tly_{t_ly:.1f}_tqy_{t_qy:.1f}.h5"


def mono_rel(run, e_kev, t_ly, t_qy):
    return (f"templates/{run}/mono/template_XENONnT_{run}_mono_{e_kev:.3f}_cevns_"
            f"tly_{t_ly:.1f}_tqy_{t_qy:.1f}.h5")


def bg_rel(run, kind):
    return f"templates/{run}/{kind}/template_XENONnT_{run}_{kind}_cevns.h5"


def raw_template(rel):
    h5py = pytest.importorskip("h5py")
    with h5py.File(RELEASE / rel, "r") as f:
        return f["templates/template"][()]


def raw_events(run):
    with open(RELEASE / "data" / f"{run}.csv", newline="") as f:
        rows = list(csv.reader(f))
    assert rows[0][1:] == list(OBSERVABLES)
    return np.array([[float(x) for x in row[1:]] for row in rows[1:] if row], dtype=float)


def raw_yaml_edges(run):
    yaml = pytest.importorskip("yaml")
    binning = yaml.safe_load((RELEASE / "binning" / f"{run}.yaml").read_text())
    return [np.array(binning[name], dtype=float) for name in OBSERVABLES]


def shared_readme():
    return (SHARED / "README.md").read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def shipped():
    return xr.load_release_file(data_file("xenonnt_8b.npz"))


@pytest.fixture(scope="module")
def release():
    if not RELEASE.is_dir():
        pytest.skip(f"the XENONnT release is not at {RELEASE} (a fresh clone has no ../shared)")
    return RELEASE


# ------------------------------------------------------------------ the shipped file


def test_shipped_file_layout_and_provenance(shipped):
    assert shipped.runs == RUNS
    assert shipped.observables == OBSERVABLES
    shapes = {"bin_edges": (3, 4, 4), "exposure_t_y": (3,), "observed": (3, 81), "ac": (3, 81),
              "er": (3, 81), "rg": (3, 7, 7, 81), "mono": (3, 7, 7, 46, 81),
              "t_ly_anchors": (7,), "t_qy_anchors": (7,), "mono_energy_kev": (46,)}
    for name, shape in shapes.items():
        assert getattr(shipped, name).shape == shape, name
    assert all(getattr(shipped, n).dtype == np.float64 for n in shapes if n != "observed")
    np.testing.assert_array_equal(shipped.t_ly_anchors, ANCHORS)
    np.testing.assert_array_equal(shipped.t_qy_anchors, ANCHORS)
    assert [f"{e:.3f}" for e in shipped.mono_energy_kev] == [f"{0.5 + 0.1 * k:.3f}"
                                                              for k in range(46)]
    prov = shipped.provenance
    assert prov.doi == "10.5281/zenodo.20576156"
    assert prov.commit == "60d230dd7a5646fd4aa2368c5fdfba575ee0cb88"
    assert prov.license == "CC-BY-4.0"
    assert "arXiv:2604.06002" in prov.attribution and "format conversion only" in prov.attribution
    assert re.fullmatch(r"[0-9a-f]{64}", prov.inputs_sha256)
    assert shipped.format_version == 1
    assert not shipped.mono.flags.writeable
    assert data_file("xenonnt_8b.npz").stat().st_size < 8 * 2**20


SAMPLES = [("ac", "sr0", None), ("ac", "sr2", None), ("er", "sr1", None), ("er", "sr2", None),
           ("rg", "sr0", (-3, 3)), ("rg", "sr1", (0, 0)), ("rg", "sr2", (2, -1)),
           ("mono", "sr0", (0.5, 0, 0)), ("mono", "sr1", (1.0, -3, 2)),
           ("mono", "sr2", (5.0, 3, -3)), ("mono", "sr2", (2.3, 1, 0)),
           ("mono", "sr0", (4.4, -1, 3))]


@pytest.mark.parametrize(("kind", "run", "where"), SAMPLES)
def test_templates_equal_raw_hdf5(shipped, release, kind, run, where):
    r = RUNS.index(run)
    if kind in ("ac", "er"):
        raw, got = raw_template(bg_rel(run, kind)), getattr(shipped, kind)[r]
    elif kind == "rg":
        t_ly, t_qy = where
        raw = raw_template(rg_rel(run, t_ly, t_qy))
        got = shipped.rg[r, ANCHORS.index(t_ly), ANCHORS.index(t_qy)]
    else:
        e_kev, t_ly, t_qy = where
        raw = raw_template(mono_rel(run, e_kev, t_ly, t_qy))
        got = shipped.mono[r, ANCHORS.index(t_ly), ANCHORS.index(t_qy), round(e_kev * 10) - 5]
    assert raw.shape == (3, 3, 3, 3)
    np.testing.assert_array_equal(got, raw.reshape(81))  # exact, C order
    assert got[((2 * 3 + 0) * 3 + 1) * 3 + 2] == raw[2, 0, 1, 2]


@pytest.mark.parametrize("run", RUNS)
def test_bin_edges_equal_hdf5_and_yaml(shipped, release, run):
    h5py = pytest.importorskip("h5py")
    r = RUNS.index(run)
    with h5py.File(release / bg_rel(run, "ac"), "r") as f:
        h5_edges = [f[f"bins/{k}"][()] for k in range(4)]
    for k, (h5, yml) in enumerate(zip(h5_edges, raw_yaml_edges(run), strict=True)):
        np.testing.assert_array_equal(shipped.bin_edges[r, k], h5)
        np.testing.assert_allclose(shipped.bin_edges[r, k], yml, rtol=0, atol=1e-11)


@pytest.mark.parametrize("run", RUNS)
def test_observed_counts_equal_histogram_of_events(shipped, release, run):
    r = RUNS.index(run)
    events = raw_events(run)
    hist, _ = np.histogramdd(events, bins=raw_yaml_edges(run))
    np.testing.assert_array_equal(shipped.observed[r], hist.reshape(81))
    np.testing.assert_array_equal(shipped.events[r], events)
    assert hist.sum() == len(events)  # no event outside the binning


def test_event_counts_and_exposures_match_shared_readme(shipped, release):
    text = shared_readme()
    counts = re.search(r"the selected events: (\d+), (\d+) and (\d+)", text).groups()
    assert shipped.observed.sum(axis=1).tolist() == [int(c) for c in counts]
    exposures = re.search(r"SR0 (\d+\.\d+), SR1 (\d+\.\d+), SR2 (\d+\.\d+)", text).groups()
    np.testing.assert_array_equal(shipped.exposure_t_y, [float(x) for x in exposures])


def test_sr0_sr1_agree_with_2024_publication(shipped):
    """PRL 133, 191002 (2024): 37 events observed in SR0+SR1, 26.4 (+1.4 -1.3) background."""
    assert shipped.observed[:2].sum() == 37
    per_run = (shipped.ac.sum(1) + shipped.er.sum(1) + shipped.rg[:, 3, 3].sum(1))
    background = float(np.sum(per_run[:2] * shipped.exposure_t_y[:2]))
    assert 26.4 - 1.3 <= background <= 26.4 + 1.4


def test_inputs_sha256_covers_every_file_read(shipped, release):
    files = sorted(p.relative_to(release).as_posix() for p in release.rglob("*")
                   if p.is_file() and p.name not in ("README.md", ".gitignore")
                   and p.relative_to(release).parts[0] != "limits")
    lines = "".join(f"{hashlib.sha256((release / f).read_bytes()).hexdigest()}  {f}\n"
                    for f in files)
    assert shipped.provenance.n_input_files == len(files) == 2 + 3 * (2 + 2 + 49 + 46 * 49)
    assert shipped.provenance.inputs_sha256 == hashlib.sha256(lines.encode()).hexdigest()


def test_shipped_license_is_the_release_license(release):
    assert data_file("LICENSE-xenonnt-cevns-release.txt").read_bytes() == (
        release / "LICENSE").read_bytes()


def test_write_load_round_trip(shipped, tmp_path):
    path = xr.write_release_file(shipped, tmp_path / "copy.npz")
    again = xr.load_release_file(path)
    for name in ("bin_edges", "exposure_t_y", "observed", "ac", "er", "rg", "mono"):
        np.testing.assert_array_equal(getattr(again, name), getattr(shipped, name))
    assert again.provenance == shipped.provenance
    assert [p.name for p in tmp_path.iterdir()] == ["copy.npz"]  # no temporary left


# ------------------------------------------------------------------ fake releases (no ../shared)

FAKE_EDGES = [[90.0, 170.16177368164062, 249.88973999023438, 500.0],
              [0.0, 1 / 3, 2 / 3, 1.0],
              [0.0, 0.28230122040303945, 0.4985350929997924, 1.0],
              [0.8069558, 0.8833061584120925, 0.9237314564974191, 1.0]]
FAKE_EVENTS = "0,130.4,0.72,0.23,0.93\n1,243.1,0.69,0.28,0.89\n"
NOTEBOOK = {"cells": [{"cell_type": "markdown", "source": ["livetimes are exposures"]},
                      {"cell_type": "code", "source": ["%matplotlib inline\n"]},
                      {"cell_type": "code", "source": ['livetimes = {\n', '    "sr0": 1.5,\n',
                                                       '    "sr1": 2.5,\n', '    "sr2": 3.5,\n',
                                                       '}\n']}],
            "nbformat": 4, "nbformat_minor": 5, "metadata": {}}


def write_h5(path, values, edges=FAKE_EDGES, shape=(3, 3, 3, 3)):
    h5py = pytest.importorskip("h5py")
    path.parent.mkdir(parents=True, exist_ok=True)
    with h5py.File(path, "w") as f:
        f.create_dataset("templates/template", data=np.broadcast_to(values, shape))
        for k, e in enumerate(edges):
            f.create_dataset(f"bins/{k}", data=np.asarray(e, dtype=float))
            f[f"bins/{k}"].attrs["name"] = H5_NAMES[k]


def write_text_files(root):
    root.mkdir()
    (root / "LICENSE").write_text("Attribution 4.0 International\n\n(legal code)\n")
    (root / "plot.ipynb").write_text(json.dumps(NOTEBOOK))
    for sub in ("binning", "data"):
        (root / sub).mkdir()
    for run in RUNS:
        yaml_text = "".join(f"{name}:\n" + "".join(f"- {e:.12f}\n" for e in edges)
                            for name, edges in zip(OBSERVABLES, FAKE_EDGES, strict=True))
        (root / "binning" / f"{run}.yaml").write_text(yaml_text)
        (root / "data" / f"{run}.csv").write_text("," + ",".join(OBSERVABLES) + "\n"
                                                  + FAKE_EVENTS)


@pytest.fixture(scope="module")
def fake_templates(tmp_path_factory):
    """Every template folder of the real grid, as symlinks to two tiny valid files (built once)."""
    pytest.importorskip("yaml")
    base = tmp_path_factory.mktemp("fake_templates")
    rate, efficiency = base / "rate.h5", base / "efficiency.h5"
    write_h5(rate, 0.02)
    write_h5(efficiency, 0.01)
    for run in RUNS:
        links = [(bg_rel(run, "ac"), rate), (bg_rel(run, "er"), rate)]
        links += [(rg_rel(run, a, b), rate) for a in ANCHORS for b in ANCHORS]
        links += [(mono_rel(run, 0.5 + 0.1 * k, a, b), efficiency) for a in ANCHORS
                  for b in ANCHORS for k in range(46)]
        for sub in ("ac", "er", "rg", "mono"):
            (base / "templates" / run / sub).mkdir(parents=True)
        for rel, target in links:
            (base / rel).symlink_to(target)
    return base / "templates"


@pytest.fixture
def fake(tmp_path, fake_templates):
    """A complete fake release whose template folders link to the shared fake templates."""
    root = tmp_path / "release"
    write_text_files(root)
    for run in RUNS:
        for sub in ("ac", "er", "rg", "mono"):
            (root / "templates" / run).mkdir(parents=True, exist_ok=True)
            (root / "templates" / run / sub).symlink_to(fake_templates / run / sub)
    return root


def own_folder(root, rel):
    """Make the folder of ``rel`` a real folder of per-file links, so ``rel`` can change."""
    folder = (root / rel).parent
    target = folder.readlink()
    folder.unlink()
    folder.mkdir()
    for path in target.iterdir():
        (folder / path.name).symlink_to(path.resolve())
    return root / rel


def replace(root, rel, values, **kwargs):
    own_folder(root, rel).unlink()
    write_h5(root / rel, values, **kwargs)
    return root / rel


def assert_input_error(root, match, names):
    with pytest.raises(InputError, match=match) as err:
        xr.import_release(root)
    message = str(err.value)
    assert "\n" not in message
    assert str(names) in message
    return message


def test_missing_run(fake):
    import shutil
    for path in (fake / "binning" / "sr2.yaml", fake / "data" / "sr2.csv"):
        path.unlink()
    shutil.rmtree(fake / "templates" / "sr2")
    assert_input_error(fake, r"run sr2 is missing", fake)


def test_missing_anchor_file(fake):
    rel = rg_rel("sr1", 2, -3)
    own_folder(fake, rel).unlink()
    assert_input_error(fake, "is missing from the XENONnT release; re-download", fake / rel)


def test_missing_mono_files_counted(fake):
    own_folder(fake, mono_rel("sr2", 0.7, 3, 3))
    for e in (0.7, 0.8, 0.9):
        (fake / mono_rel("sr2", e, 3, 3)).unlink()
    assert_input_error(fake, "and 2 more", fake / mono_rel("sr2", 0.7, 3, 3))


def test_template_shape_mismatch(fake):
    path = replace(fake, bg_rel("sr0", "ac"), 0.02, shape=(3, 3, 3, 4))
    assert_input_error(fake, r"shape \(3, 3, 3, 4\), expected \(3, 3, 3, 3\)", path)


def test_bin_edges_disagree_with_yaml(fake):
    edges = [list(e) for e in FAKE_EDGES]
    edges[2][1] = 0.3
    path = replace(fake, rg_rel("sr0", -3, -3), 0.02, edges=edges)
    message = assert_input_error(fake, r"bin edges of axis 2 \(s1_bdt_score\)", path)
    assert "binning/sr0.yaml" in message


def test_negative_efficiency(fake):
    values = np.full((3, 3, 3, 3), 0.01)
    values[1, 2, 0, 1] = -1e-3
    path = replace(fake, mono_rel("sr0", 0.5, -3, -3), values)
    assert_input_error(fake, r"holds -0\.001", path)


def test_efficiency_above_one(fake):
    path = replace(fake, mono_rel("sr0", 0.6, -3, -3), 0.02)  # 81 bins x 0.02 = 1.62
    assert_input_error(fake, "exceeds 1", path)


def test_negative_rate(fake):
    path = replace(fake, bg_rel("sr0", "er"), -0.5)
    assert_input_error(fake, r"holds -0\.5", path)


def test_not_hdf5(fake):
    rel = bg_rel("sr0", "ac")
    own_folder(fake, rel).unlink()
    (fake / rel).write_bytes(b"not an HDF5 file")
    assert_input_error(fake, "not a readable HDF5 file", fake / rel)


@pytest.mark.parametrize(("line", "match"), [
    ("2,130.4,abc,0.23,0.93", "is not an integer index and four numbers"),
    ("2,130.4,0.72,0.23", "4 fields where the header has 5"),
    ("2,130.4,nan,0.23,0.93", "non-finite value"),
    ("2,130.4,0.72,0.23,0.5", r"lies outside the binning"),
])
def test_malformed_event_line(fake, line, match):
    path = fake / "data" / "sr1.csv"
    path.write_text(path.read_text() + line + "\n")
    message = assert_input_error(fake, match, path)
    assert f"{path} line 4:" in message


def test_exposures_missing_from_notebook(fake):
    (fake / "plot.ipynb").write_text(json.dumps({"cells": []}))
    assert_input_error(fake, "found 0 assignments", fake / "plot.ipynb")


def test_missing_h5py_says_how_to_install(fake, monkeypatch):
    monkeypatch.setitem(sys.modules, "h5py", None)
    with pytest.raises(InputError, match=re.escape("pip install 'cevns-scan[xenonnt]'")):
        xr.import_release(fake)


def test_small_grid_import_places_every_file(tmp_path, monkeypatch):
    """A release with a 2 x 2 anchor grid and 2 energies: each value lands where it belongs."""
    pytest.importorskip("yaml")
    monkeypatch.setattr(xr, "ANCHORS", np.array([0.0, 1.0]))
    monkeypatch.setattr(xr, "MONO_ENERGY_TENTHS", (5, 6))
    root = tmp_path / "release"
    write_text_files(root)
    for r, run in enumerate(RUNS):
        write_h5(root / bg_rel(run, "ac"), 0.1 + r)
        write_h5(root / bg_rel(run, "er"), 0.2 + r)
        for i, j in np.ndindex(2, 2):
            write_h5(root / rg_rel(run, i, j), 0.3 + r + 0.01 * (2 * i + j))
            for e in range(2):
                value = 1e-4 * (1 + r + 3 * i + j + 7 * e)
                write_h5(root / mono_rel(run, 0.5 + 0.1 * e, i, j), value)
    got = xr.import_release(root)
    np.testing.assert_array_equal(got.exposure_t_y, [1.5, 2.5, 3.5])
    np.testing.assert_array_equal(got.ac[:, 0], [0.1, 1.1, 2.1])
    np.testing.assert_array_equal(got.er[:, 5], [0.2, 1.2, 2.2])
    assert got.rg[2, 1, 0, 80] == 0.3 + 2 + 0.01 * 2
    assert got.mono[1, 0, 1, 1, 40] == 1e-4 * (1 + 1 + 1 + 7)
    np.testing.assert_array_equal(got.mono_energy_kev, [0.5, 0.6])
    expected = np.zeros(81, dtype=int)
    # FAKE_EVENTS by hand against FAKE_EDGES: bins (0, 2, 0, 2) and (1, 2, 0, 1)
    expected[[((0 * 3 + 2) * 3 + 0) * 3 + 2, ((1 * 3 + 2) * 3 + 0) * 3 + 1]] = 1
    np.testing.assert_array_equal(got.observed, [expected] * 3)
    again = xr.load_release_file(xr.write_release_file(got, tmp_path / "small.npz"))
    np.testing.assert_array_equal(again.mono, got.mono)


# ------------------------------------------------------------------ bad converted files


def shipped_arrays():
    with np.load(data_file("xenonnt_8b.npz"), allow_pickle=False) as npz:
        return {k: npz[k] for k in npz.files}


def assert_load_error(path, match):
    with pytest.raises(InputError, match=match) as err:
        xr.load_release_file(path)
    assert "\n" not in str(err.value) and str(path) in str(err.value)


def test_load_garbage(tmp_path):
    path = tmp_path / "garbage.npz"
    path.write_bytes(b"\x00garbage" * 100)
    assert_load_error(path, "not a readable converted XENONnT release file")


def test_load_truncated(tmp_path):
    path = tmp_path / "truncated.npz"
    path.write_bytes(data_file("xenonnt_8b.npz").read_bytes()[:100_000])
    assert_load_error(path, "not a readable converted XENONnT release file")


def test_load_foreign_npz(tmp_path):
    path = tmp_path / "foreign.npz"
    np.savez(path, a=np.arange(3))
    assert_load_error(path, r"missing arrays \['ac'")


def test_load_pickled_object(tmp_path):
    path = tmp_path / "pickled.npz"
    np.savez(path, **{**shipped_arrays(), "runs": np.array([{"sr0": 1}], dtype=object)})
    assert_load_error(path, "not a readable converted XENONnT release file")


def test_load_single_npy(tmp_path):
    path = tmp_path / "single.npy"
    np.save(path, np.arange(3))
    assert_load_error(path, "not a readable converted XENONnT release file")


@pytest.mark.parametrize(("change", "match"), [
    ({"format_version": np.array(2)}, "version 2"),
    ({"format_name": np.array("something.else")}, "'something.else'"),
    ({"mono": np.zeros((3, 7, 7, 45, 81))}, r"key mono: shape \(3, 7, 7, 45, 81\)"),
    ({"observed": np.zeros((3, 81), dtype=np.int64)}, "key observed: run sr0 counts disagree"),
    ({"ac": -np.ones((3, 81))}, "key ac: holds -1.0"),
])
def test_load_wrong_content(tmp_path, change, match):
    path = tmp_path / "changed.npz"
    np.savez_compressed(path, **{**shipped_arrays(), **change})
    assert_load_error(path, match)


def test_load_missing_file(tmp_path):
    assert_load_error(tmp_path / "nope.npz", "no such file")


def test_write_to_missing_folder(shipped, tmp_path):
    with pytest.raises(InputError, match="cannot be written"):
        xr.write_release_file(shipped, tmp_path / "no" / "such" / "x.npz")
