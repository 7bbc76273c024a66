"""scanner/provenance.py: the mark every file cevns-scan writes carries, in every format."""

import numpy as np

from cevns_scan.cli import main

DIGITIZED = ["dataset", "from-digitized", "--points", "p.csv", "--upper", "u.csv",
             "--bin-width", "0.1"]


def test_the_marks_of_every_kind_are_recognised(in_tmp):
    """The mark is in the content, not the name: a foreign file of each kind carries none."""
    import io

    from matplotlib.figure import Figure

    from cevns_scan.outputs import csv_bytes, json_bytes, npz_bytes
    from cevns_scan.provenance import carries_mark, figure_metadata

    fig = Figure()
    fig.subplots().plot([0, 1])
    files = {"a.csv": csv_bytes(["x"], [np.zeros(2)]), "a.json": json_bytes({"x": 1}),
             "a.npz": npz_bytes(x=np.zeros(2))}
    for fmt in ("png", "pdf"):
        for marked in (True, False):
            buf = io.BytesIO()
            fig.savefig(buf, format=fmt, metadata=figure_metadata(fmt) if marked else None)
            files[f"{'a' if marked else 'b'}.{fmt}"] = buf.getvalue()
    buf = io.BytesIO()
    np.savez(buf, x=np.zeros(2))
    files.update({"b.npz": buf.getvalue(), "b.csv": b"x\n0.0\n", "b.json": b'{"x": 1}\n',
                  "c.json": b'{"x": "_written_by cevns-scan"}\n', "c.csv": b"# data\n1\n",
                  "d.csv": b"", "e.csv": b"\x89PNG\r\n\x1a\n\x00\x00"})
    for name, data in files.items():
        (in_tmp / name).write_bytes(data)
        assert carries_mark(in_tmp / name) == name.startswith("a"), name
    (in_tmp / "dir").mkdir()
    assert not carries_mark(in_tmp / "dir") and not carries_mark(in_tmp / "missing.csv")
    # the shipped XENONnT file (written by cevns-scan before marks existed) is recognised
    from cevns_scan.tables import data_file

    assert carries_mark(data_file("xenonnt_8b.npz"))


def test_marked_files_still_read(in_tmp):
    """The readers of cevns-scan's own files skip or ignore the mark."""
    from cevns_scan.experiments.spectrum.datasets import load_dataset
    from cevns_scan.outputs import load_npz, npz_bytes

    (in_tmp / "p.csv").write_text("0.21,2.0\n0.31,1.5\n")
    (in_tmp / "u.csv").write_text("0.21,2.5\n0.31,1.9\n")
    assert main([*DIGITIZED, "--label", "x", "--out", "d.csv"]) == 0
    text = (in_tmp / "d.csv").read_text()
    assert text.startswith("# written by cevns-scan ")
    ds = load_dataset(in_tmp / "d.csv")
    assert ds.label == "x" and ds.rate.tolist() == [2.0, 1.5]
    assert "written" not in " ".join(ds.metadata)
    (in_tmp / "m.npz").write_bytes(npz_bytes(chi2=np.ones(3)))
    assert load_npz(in_tmp / "m.npz", "")["chi2"].tolist() == [1.0, 1.0, 1.0]
