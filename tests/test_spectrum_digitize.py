"""scanner/experiments/spectrum/digitize.py: WebPlotDigitizer exports of a binned spectrum ->
dataset, in Python and through ``cevns-scan dataset from-digitized``.

Synthetic digitisations of a CDEX-10-like figure (20 bins of 0.1 keV_ee from 0.16 keV_ee, points
at the bin centres) are written in tmp_path from a known truth and read back.
"""

import re

import numpy as np
import pytest
from helpers import assert_one_line_error

from cevns_scan.errors import InputError
from cevns_scan.experiments.spectrum.datasets import COLUMNS, dataset_from_table
from cevns_scan.experiments.spectrum.digitize import (
    DEFAULT_MAX_SHIFT,
    BinGrid,
    dataset_from_digitized,
    digitize,
    looks_like_header,
    parse_export,
    strip_bom,
)
from cevns_scan.tables import parse_table

W = 0.1
FIRST = 0.16
N = 20
EDGES = [f"{FIRST + W * k:.2f}" for k in range(N + 1)]  # '0.16', '0.26', ..., '2.16'


def truth(seed=0):
    """Bin centres (keV_ee), rates and sigmas (events/(keV_ee kg day), 3 decimals)."""
    rng = np.random.default_rng(seed)
    centres = np.round(FIRST + W * (np.arange(N) + 0.5), 10)
    rates = np.round(1.5 + 2.0 * rng.random(N), 3)
    sigmas = np.round(0.1 + 0.3 * rng.random(N), 3)
    return centres, rates, sigmas


def rows(xs, ys, sep=",", decimal="."):
    """Text rows as WebPlotDigitizer writes them (full-precision numbers)."""
    out = []
    for x, y in zip(xs, ys, strict=True):
        cells = [repr(float(x)), f"{y:.3f}"]
        out.append(sep.join(c.replace(".", decimal) for c in cells))
    return "\n".join(out) + "\n"


def write_pair(tmp_path, sigma_x=0.004, seed=1, *, points_x=None, upper_x=None, head=""):
    """p.csv and u.csv: jittered digitisations of the truth; returns the jitters."""
    centres, rates, sigmas = truth()
    rng = np.random.default_rng(seed)
    px = centres + rng.normal(0.0, sigma_x, N) if points_x is None else points_x
    ux = centres + rng.normal(0.0, sigma_x, N) if upper_x is None else upper_x
    (tmp_path / "p.csv").write_text(head + rows(px, rates))
    (tmp_path / "u.csv").write_text(head + rows(ux, rates + sigmas))
    return px - centres, ux - centres


def data_lines(csv_text):
    """The numeric rows of a dataset CSV as lists of strings."""
    body = [ln for ln in csv_text.splitlines() if ln and not ln.startswith("#")]
    assert body[0] == ",".join(COLUMNS)
    return [ln.split(",") for ln in body[1:]]


def assert_truth(ds):
    """The dataset holds exactly the true bins, rates and sigmas."""
    _, rates, sigmas = truth()
    lines = data_lines(ds.to_csv())
    assert [ln[0] for ln in lines] == EDGES[:-1]
    assert [ln[1] for ln in lines] == EDGES[1:]
    np.testing.assert_array_equal(ds.rate, rates)
    np.testing.assert_array_equal(ds.sigma, sigmas)


def p(tmp_path):
    return str(tmp_path / "p.csv")


def u(tmp_path):
    return str(tmp_path / "u.csv")


# ---------------------------------------------------------------------------------------------
# snapping to the bin grid
# ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("sigma_x", [0.004, 1e-4])
@pytest.mark.parametrize("first_edge", [None, 0.16])
def test_jittered_digitisation_gives_the_true_bins(tmp_path, sigma_x, first_edge):
    dp, du = write_pair(tmp_path, sigma_x)
    res = digitize(p(tmp_path), u(tmp_path), W, "geng2023", first_edge=first_edge)
    assert_truth(res.dataset)
    text = res.dataset.to_csv()
    assert "0.16,0.26," in text and "2.06,2.16," in text
    assert "0.15999999999999998" not in text and "0.26000000000000001" not in text
    # the largest |x - bin centre| over points and upper ends is reported, with its line
    jitter = np.abs(np.concatenate([dp, du]))
    assert res.max_shift_kev == pytest.approx(jitter.max(), abs=1e-12)
    worst = int(np.argmax(jitter))
    where = f"{'p' if worst < N else 'u'}.csv line {worst % N + 1} "
    assert where in res.max_shift_at
    assert res.grid.inferred is (first_edge is None)
    assert res.grid.first_edge == 0.16 and res.max_shift_limit == DEFAULT_MAX_SHIFT
    assert f"{jitter.max():.3g} keV_ee" in res.summary()
    assert "# digitized: 20 bins of 0.1 keV_ee from 0.16 keV_ee" in text


def test_half_pixel_jitter_of_the_old_reader_is_accepted(tmp_path):
    # [x - w/2, x + w/2] bins overlapped for any jitter; the grid makes them touch exactly
    centres, _, _ = truth()
    shifts = np.where(np.arange(N) % 2 == 0, 1e-4, -1e-4)
    write_pair(tmp_path, points_x=centres + shifts, upper_x=centres)
    ds = dataset_from_digitized(p(tmp_path), u(tmp_path), W, "g")
    np.testing.assert_array_equal(ds.tee_lo[1:], ds.tee_hi[:-1])
    assert_truth(ds)


def test_shift_above_the_limit_names_line_and_x(tmp_path):
    centres, _, _ = truth()
    px = centres.copy()
    px[3] += 0.03  # 0.3 bin widths from the centre 0.51 of [0.46, 0.56]
    write_pair(tmp_path, points_x=px, upper_x=centres)
    msg = (r"p\.csv line 4: x = 0\.54 keV_ee is \+0\.03 keV_ee \(\+0\.30 bin widths\) from the "
           r"centre of bin \[0\.46, 0\.56\] keV_ee, beyond the limit of 0\.25 bin widths")
    for first_edge in (0.16, None):  # the inferred grid is not pulled off by one point
        with pytest.raises(InputError, match=msg):
            digitize(p(tmp_path), u(tmp_path), W, "g", first_edge=first_edge)
    # a looser limit accepts it and reports the shift
    res = digitize(p(tmp_path), u(tmp_path), W, "g", first_edge=0.16, max_shift=0.35)
    assert res.max_shift_kev == pytest.approx(0.03, abs=1e-12)
    assert "p.csv line 4 (x = 0.54)" in res.max_shift_at
    assert_truth(res.dataset)


def test_upper_end_shift_is_checked_too(tmp_path):
    centres, _, _ = truth()
    ux = centres.copy()
    ux[10] -= 0.04
    write_pair(tmp_path, points_x=centres, upper_x=ux)
    with pytest.raises(InputError, match=r"u\.csv line 11: x = 1\.17 keV_ee is -0\.04 keV_ee"):
        digitize(p(tmp_path), u(tmp_path), W, "g")


def test_inferred_grid_with_edges_on_whole_multiples(tmp_path):
    # edges at 0.2, 0.3, ...: (x - w/2) mod w straddles 0 and w, which a plain median gets wrong
    rng = np.random.default_rng(5)
    centres = 0.25 + W * np.arange(6)
    rates = np.full(6, 2.0)
    (tmp_path / "p.csv").write_text(rows(centres + rng.normal(0, 0.004, 6), rates))
    (tmp_path / "u.csv").write_text(rows(centres, rates + 0.25))
    ds = dataset_from_digitized(p(tmp_path), u(tmp_path), W, "g")
    lines = data_lines(ds.to_csv())
    assert [ln[0] for ln in lines] == ["0.2", "0.3", "0.4", "0.5", "0.6", "0.7"]
    assert lines[-1][1] == "0.8"
    np.testing.assert_array_equal(ds.sigma, 0.25)


def test_given_first_edge_with_finer_decimals(tmp_path):
    centres = 0.165 + W * (np.arange(4) + 0.5)
    (tmp_path / "p.csv").write_text(rows(centres + 0.002, [2.0] * 4))
    (tmp_path / "u.csv").write_text(rows(centres - 0.001, [2.5] * 4))
    ds = dataset_from_digitized(p(tmp_path), u(tmp_path), W, "g", first_edge=0.165)
    assert [ln[:2] for ln in data_lines(ds.to_csv())] == [
        ["0.165", "0.265"], ["0.265", "0.365"], ["0.365", "0.465"], ["0.465", "0.565"]]


def test_bin_grid_edges_have_no_float_noise():
    grid = BinGrid(0.16, 0.1)
    assert [repr(grid.edge(k)) for k in (0, 1, 2, 7, 20)] == [
        "0.16", "0.26", "0.36", "0.86", "2.16"]
    assert 0.16 + 7 * 0.1 != 0.86  # what plain float arithmetic would have written
    np.testing.assert_array_equal(grid.index(np.array([0.2, 0.259, 0.261, 2.1])), [0, 0, 1, 19])
    np.testing.assert_allclose(grid.shift(np.array([0.213, 0.305])), [0.003, -0.005],
                               atol=1e-12)


def test_wrong_bin_width_is_refused_for_inferred_grids(tmp_path):
    write_pair(tmp_path, 0.004)
    for width in (0.05, 0.2):
        with pytest.raises(InputError, match=r"p\.csv: the points are 0\.\d+ keV_ee apart "
                                             r"\(median\), not the bin width .*"
                                             r"\(bin_width=\.\.\.\)"):
            digitize(p(tmp_path), u(tmp_path), width, "g")


def test_misplaced_first_edge_is_refused(tmp_path):
    write_pair(tmp_path, 1e-4)
    # grid centres 0.16, 0.26, ...: every point is half a bin off
    with pytest.raises(InputError, match=r"p\.csv line 1: x = 0\.21\d* keV_ee is [+-]0\.05"):
        digitize(p(tmp_path), u(tmp_path), W, "g", first_edge=0.11)
    with pytest.raises(InputError, match=r"p\.csv line 1: x = 0\.21\d* keV_ee lies below the "
                                         r"first bin edge 0\.26 keV_ee; lower the first bin edge "
                                         r"\(first_edge=\.\.\.\)"):
        digitize(p(tmp_path), u(tmp_path), W, "g", first_edge=0.26)


def test_two_points_in_one_bin_are_refused(tmp_path):
    centres, _, _ = truth()
    px = centres.copy()
    px[6] = centres[5] + 0.01  # line 7 lands in bin [0.66, 0.76] with line 6
    write_pair(tmp_path, points_x=px, upper_x=centres)
    with pytest.raises(InputError, match=r"p\.csv line 7: x = 0\.72 keV_ee falls in bin "
                                         r"\[0\.66, 0\.76\] keV_ee with line 6 \(x = 0\.71\); "
                                         r"keep one point per bin"):
        digitize(p(tmp_path), u(tmp_path), W, "g", first_edge=0.16)


def test_unordered_rows_give_the_same_dataset(tmp_path):
    write_pair(tmp_path, 0.004)
    ordered = dataset_from_digitized(p(tmp_path), u(tmp_path), W, "g")
    for name in ("p.csv", "u.csv"):
        lines = (tmp_path / name).read_text().splitlines()
        order = np.random.default_rng(3).permutation(len(lines))
        (tmp_path / name).write_text("\n".join(lines[i] for i in order) + "\n")
    shuffled = dataset_from_digitized(p(tmp_path), u(tmp_path), W, "g")
    assert shuffled.to_csv() == ordered.to_csv()
    assert_truth(shuffled)


# ---------------------------------------------------------------------------------------------
# matching points with upper error-bar ends
# ---------------------------------------------------------------------------------------------

def test_missing_upper_end_names_bin_and_point(tmp_path):
    centres, rates, sigmas = truth()
    write_pair(tmp_path, 1e-4)
    # drop the upper end of bin 4 ([0.56, 0.66]); one sits in bin 20 instead: not a neighbour
    ux = np.append(np.delete(centres, 4), centres[-1] + W)
    uy = np.append(np.delete(rates + sigmas, 4), 3.0)
    (tmp_path / "u.csv").write_text(rows(ux, uy))
    with pytest.raises(InputError, match=r"p\.csv line 5: no upper error-bar end in bin "
                                         r"\[0\.56, 0\.66\] keV_ee \(point x = 0\.61\d*\); "
                                         r"digitise it in .*u\.csv"):
        digitize(p(tmp_path), u(tmp_path), W, "g")


def test_upper_end_without_a_point_is_refused(tmp_path):
    centres, rates, sigmas = truth()
    write_pair(tmp_path, 1e-4)
    (tmp_path / "u.csv").write_text(rows(np.append(centres, 2.21), np.append(rates + sigmas, 2)))
    with pytest.raises(InputError, match=r"u\.csv line 21: upper end x = 2\.21 keV_ee is in bin "
                                         r"\[2\.16, 2\.26\] keV_ee, which has no point"):
        digitize(p(tmp_path), u(tmp_path), W, "g")


def test_upper_end_below_the_point_is_refused(tmp_path):
    centres, rates, sigmas = truth()
    (tmp_path / "p.csv").write_text(rows(centres, rates))
    uy = rates + sigmas
    uy[2] = rates[2] - 0.1
    (tmp_path / "u.csv").write_text(rows(centres[::-1], uy[::-1]))
    with pytest.raises(InputError, match=rf"u\.csv line 18: upper end y = {uy[2]:g} is not "
                                         rf"above the point y = {rates[2]:g} \(.*p\.csv line 3\) "
                                         r"in bin \[0\.36, 0\.46\] keV_ee"):
        digitize(p(tmp_path), u(tmp_path), W, "g")


# ---------------------------------------------------------------------------------------------
# reading the exports: first rows, headers, BOM, separators, line numbers
# ---------------------------------------------------------------------------------------------

def test_bom_first_line_keeps_the_lowest_point(tmp_path):
    write_pair(tmp_path, 0.004)
    for name in ("p.csv", "u.csv"):
        (tmp_path / name).write_bytes(b"\xef\xbb\xbf" + (tmp_path / name).read_bytes())
    ds = dataset_from_digitized(p(tmp_path), u(tmp_path), W, "g")
    assert ds.rate.size == N and ds.tee_lo[0] == 0.16
    assert_truth(ds)


def test_strip_bom():
    assert strip_bom("\ufeffx,y\n") == "x,y\n"
    assert strip_bom("x,y\n") == "x,y\n"
    assert strip_bom("") == ""


@pytest.mark.parametrize(("first", "msg"), [
    ("0.2o1,2.28", r"p\.csv line 1: column 1 holds '0\.2o1', not a number"),
    ("0.21,", r"p\.csv line 1: x = 0\.21 has no y value \(column 2 is empty\)"),
    ("0.21,2.28x", r"p\.csv line 1: column 2 holds '2\.28x', not a number"),
    ("nan,2.28", r"p\.csv line 1: column 1 holds 'nan', not a number"),
    ("1e999,2.28", r"p\.csv line 1: column 1 holds '1e999', not a finite number"),
    ("0.21 2.28", r"p\.csv line 1: column 1 holds '0\.21 2\.28', not a number"),
])
def test_bad_first_row_is_an_error_not_a_header(tmp_path, first, msg):
    write_pair(tmp_path, 1e-4)
    text = (tmp_path / "p.csv").read_text().splitlines()
    (tmp_path / "p.csv").write_text("\n".join([first, *text[1:]]) + "\n")
    with pytest.raises(InputError, match=msg):
        digitize(p(tmp_path), u(tmp_path), W, "g")


@pytest.mark.parametrize("head", ["x,y\n", "X,Y\n", "\ufeffx,y\n", "Energy (keV),Rate\n",
                                  "Default Dataset,\nX,Y\n", "Dataset,\n"])
def test_real_headers_are_accepted(tmp_path, head):
    write_pair(tmp_path, 0.004, head=head)
    ds = dataset_from_digitized(p(tmp_path), u(tmp_path), W, "g")
    assert ds.rate.size == N
    assert_truth(ds)


def test_header_rule():
    assert looks_like_header(["x", "y"]) and looks_like_header(["Default Dataset"])
    assert looks_like_header(["points", "", "upper"]) and looks_like_header(["X", "Y", "X", "Y"])
    assert not looks_like_header(["0.2o1", "2.28"])  # a number among the cells
    assert not looks_like_header(["0.21"])
    assert not looks_like_header(["nan", "inf"])  # parse as floats: data, refused as such
    assert not looks_like_header(["--", "*"])  # no letters


def test_export_all_with_points_and_upper_side_by_side(tmp_path):
    centres, rates, sigmas = truth()
    rng = np.random.default_rng(7)
    px, ux = (centres + rng.normal(0, 0.004, N) for _ in range(2))
    body = "".join(f"{float(a)!r},{b:.3f},{float(c)!r},{d:.3f}\n"
                   for a, b, c, d in zip(px, rates, ux, rates + sigmas, strict=True))
    (tmp_path / "all.csv").write_text("points,,upper,\nX,Y,X,Y\n" + body)
    sets = parse_export((tmp_path / "all.csv").read_text(), "all.csv")
    assert [s.name for s in sets] == ["points", "upper"]
    assert sets[0].lines[0] == 3 and sets[1].x.size == N
    res = digitize(str(tmp_path / "all.csv"), None, W, "g")
    assert_truth(res.dataset)
    assert "all.csv line" in res.max_shift_at
    # chosen by name, whatever the column order
    (tmp_path / "rev.csv").write_text("upper,,points,\nX,Y,X,Y\n" + "".join(
        f"{float(c)!r},{d:.3f},{float(a)!r},{b:.3f}\n"
        for a, b, c, d in zip(px, rates, ux, rates + sigmas, strict=True)))
    ds = dataset_from_digitized(str(tmp_path / "rev.csv"), None, W, "g",
                                points_dataset="points", upper_dataset="UPPER")
    assert_truth(ds)
    # one name is enough: the other dataset is the remaining one
    ds = dataset_from_digitized(str(tmp_path / "rev.csv"), None, W, "g", points_dataset="2")
    assert_truth(ds)


def test_export_all_with_datasets_of_different_lengths(tmp_path):
    # WebPlotDigitizer leaves the cells of the shorter dataset empty
    centres, rates, sigmas = truth()
    lines = ["points,,upper,", "X,Y,X,Y"]
    for k in range(N):
        upper = f"{float(centres[k])!r},{rates[k] + sigmas[k]:.3f}" if k < N - 1 else ","
        lines.append(f"{float(centres[k])!r},{rates[k]:.3f},{upper}")
    (tmp_path / "all.csv").write_text("\n".join(lines) + "\n")
    sets = parse_export((tmp_path / "all.csv").read_text(), "all.csv")
    assert sets[0].x.size == N and sets[1].x.size == N - 1
    with pytest.raises(InputError, match=r"all\.csv line 22: no upper error-bar end in bin "
                                         r"\[2\.06, 2\.16\] keV_ee"):
        digitize(str(tmp_path / "all.csv"), None, W, "g")


def test_export_all_needs_a_choice_when_ambiguous(tmp_path):
    centres, rates, sigmas = truth()
    body = "".join(f"{float(c)!r},{r:.3f},{float(c)!r},{r + s:.3f},{float(c)!r},{r - s:.3f}\n"
                   for c, r, s in zip(centres, rates, sigmas, strict=True))
    (tmp_path / "all.csv").write_text("points,,upper,,lower,\nX,Y,X,Y,X,Y\n" + body)
    with pytest.raises(InputError, match=r"all\.csv: holds 3 non-empty datasets; without "
                                         r"upper=\.\.\. it needs two"):
        digitize(str(tmp_path / "all.csv"), None, W, "g")
    with pytest.raises(InputError, match=r"all\.csv: holds 3 non-empty datasets \('points', "
                                         r"'upper', 'lower'\); choose one with "
                                         r"points_dataset=\.\.\."):
        digitize(str(tmp_path / "all.csv"), str(tmp_path / "all.csv"), W, "g")
    with pytest.raises(InputError, match=r"all\.csv: no dataset named 'errors' \(it holds "
                                         r"'points', 'upper', 'lower'\)"):
        digitize(str(tmp_path / "all.csv"), str(tmp_path / "all.csv"), W, "g",
                 points_dataset="points", upper_dataset="errors")
    res = digitize(str(tmp_path / "all.csv"), str(tmp_path / "all.csv"), W, "g",
                   points_dataset="points", upper_dataset="upper")
    assert_truth(res.dataset)


@pytest.mark.parametrize(("sep", "head"), [
    ("; ", ""),                      # WebPlotDigitizer's separator under a decimal-comma locale
    (";", "x;y\n"),                  # Excel (European locale) "CSV"
    ("\t", ""),                      # a tab separator
    (";", "Default Dataset;\nX;Y\n"),  # export-all re-saved by Excel
])
def test_semicolons_and_decimal_commas(tmp_path, sep, head):
    centres, rates, sigmas = truth()
    rng = np.random.default_rng(2)
    for name, xs, ys in (("p.csv", centres, rates), ("u.csv", centres, rates + sigmas)):
        xs = xs + rng.normal(0, 0.004, N)
        (tmp_path / name).write_text(head + rows(xs, ys, sep=sep, decimal=","))
    assert "0,2" in (tmp_path / "p.csv").read_text()
    assert_truth(dataset_from_digitized(p(tmp_path), u(tmp_path), W, "g"))


def test_decimal_commas_with_comma_separator_are_explained(tmp_path):
    write_pair(tmp_path, 1e-4)
    (tmp_path / "p.csv").write_text("0,21,2,28\n0,31,2,5\n")
    with pytest.raises(InputError, match=r"p\.csv line 1: 4 cells where x,y has 2; with decimal "
                                         r"commas separate the columns with ';'"):
        digitize(p(tmp_path), u(tmp_path), W, "g")


def test_quoted_decimal_commas_and_crlf(tmp_path):
    centres, rates, sigmas = truth()
    for name, ys in (("p.csv", rates), ("u.csv", rates + sigmas)):
        text = "\r\n".join(f'"{float(x)!r}","{y:.3f}"'.replace(".", ",") for x, y in zip(
            centres, ys, strict=True)) + "\r\n"
        (tmp_path / name).write_bytes(text.encode())
    assert_truth(dataset_from_digitized(p(tmp_path), u(tmp_path), W, "g"))


def test_utf16_unicode_text(tmp_path):
    centres, rates, sigmas = truth()
    for name, ys in (("p.csv", rates), ("u.csv", rates + sigmas)):
        text = "x\ty\r\n" + rows(centres, ys, sep="\t").replace("\n", "\r\n")
        (tmp_path / name).write_bytes(text.encode("utf-16"))
    assert_truth(dataset_from_digitized(p(tmp_path), u(tmp_path), W, "g"))


def test_line_numbers_count_blank_comment_and_header_lines(tmp_path):
    centres, rates, _ = truth()
    body = rows(centres, rates).splitlines()
    body[2] = "0.41,2.2x"  # the 3rd data row
    text = "# digitised from Fig. 1\n\nx,y\n" + "\n".join(body[:2]) + "\n\n# x\n" + "\n".join(
        body[2:]) + "\n"
    write_pair(tmp_path, 1e-4)  # u.csv
    (tmp_path / "p.csv").write_text(text)
    # lines: 1 comment, 2 blank, 3 header, 4-5 data, 6 blank, 7 comment, 8 the bad row
    with pytest.raises(InputError, match=r"p\.csv line 8: column 2 holds '2\.2x', not a number"):
        digitize(p(tmp_path), u(tmp_path), W, "g")
    (tmp_path / "p.csv").write_text(text.replace("2.2x", "2.2").replace("\n", "\r\n"))
    sets = parse_export((tmp_path / "p.csv").read_text(), "p.csv")
    assert sets[0].lines[:4] == (4, 5, 8, 9)


def test_a_data_row_wider_than_the_header(tmp_path):
    write_pair(tmp_path, 1e-4, head="x,y\n")
    (tmp_path / "p.csv").write_text("x,y\n0.21,2.5\n0.31,2.4,7\n")
    with pytest.raises(InputError, match=r"p\.csv line 3: 3 cells where the header \(line 1\) "
                                         r"has 2"):
        digitize(p(tmp_path), u(tmp_path), W, "g")


def test_unreadable_files(tmp_path):
    write_pair(tmp_path, 1e-4)
    with pytest.raises(InputError, match=r"upper='.*nope\.csv': no such file; check the path"):
        digitize(p(tmp_path), str(tmp_path / "nope.csv"), W, "g")
    (tmp_path / "p.csv").write_bytes(b"0.21,2.5\n0.31,\xe92.4\n")
    with pytest.raises(InputError, match=r"p\.csv line 2: not UTF-8 text"):
        digitize(p(tmp_path), u(tmp_path), W, "g")
    (tmp_path / "p.csv").write_text("# only a comment\n\nx,y\n")
    with pytest.raises(InputError, match=r"p\.csv: no x,y rows"):
        digitize(p(tmp_path), u(tmp_path), W, "g")


# ---------------------------------------------------------------------------------------------
# arguments, metadata and the round trip through the dataset reader
# ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("kwargs", "msg"), [
    ({"bin_width": 0.0}, r"^bin_width = 0\.0 must be > 0"),
    ({"max_shift": 0.5}, r"^max_shift = 0\.5 must be > 0 and < 0\.5"),
    ({"first_edge": -0.1}, r"^first_edge = -0\.1 must be > 0"),
    ({"exposure_kg_day": 0.0}, r"^exposure_kg_day = 0\.0 must be > 0 \(kg day\)"),
    ({"source": "  \n "}, r"^source = .* is empty"),
    ({"label": ""}, r"^label = '' is empty"),
])
def test_bad_arguments(tmp_path, kwargs, msg):
    write_pair(tmp_path, 1e-4)
    args = {"bin_width": W, "label": "g", **kwargs}
    width, label = args.pop("bin_width"), args.pop("label")
    with pytest.raises(InputError, match=msg):
        digitize(p(tmp_path), u(tmp_path), width, label, **args)


def test_metadata_options_are_written(tmp_path):
    write_pair(tmp_path, 0.004)
    ds = dataset_from_digitized(p(tmp_path), u(tmp_path), W, "geng2023-digitised",
                                exposure_kg_day=205.4,
                                source="Geng et al. [CDEX], PRD 107, 112002 (2023),\nFig. 1")
    text = ds.to_csv()
    assert "# label: geng2023-digitised\n" in text
    assert "# exposure_kg_day: 205.4\n" in text
    assert "# source: Geng et al. [CDEX], PRD 107, 112002 (2023), Fig. 1\n" in text
    assert re.search(r"# digitized: 20 bins of 0\.1 keV_ee from 0\.16 keV_ee \(grid edge "
                     r"inferred from the points\); largest \|x - bin centre\| \S+ keV_ee", text)
    assert ds.metadata["exposure_kg_day"] == "205.4"
    assert ds.source == p(tmp_path)


def test_round_trip_through_the_dataset_reader(tmp_path):
    write_pair(tmp_path, 0.004)
    ds = dataset_from_digitized(p(tmp_path), u(tmp_path), W, "geng2023", exposure_kg_day=205.4,
                                source="Geng et al. 2023, Fig. 1")
    back = dataset_from_table(parse_table(ds.to_csv(), COLUMNS, ds.source))
    assert back.label == ds.label == "geng2023"
    for name in ("tee_lo", "tee_hi", "rate", "sigma"):
        np.testing.assert_array_equal(getattr(back, name), getattr(ds, name))
    assert back.metadata == ds.metadata
    assert back.digest() == ds.digest()
    assert back.to_csv() == ds.to_csv()


# -- the command ----------------------------------------------------------------------------------

def test_from_digitized_with_jitter_options_and_metadata(in_tmp, cli):
    rng = np.random.default_rng(3)
    centres = 0.21 + 0.1 * np.arange(20)
    rates = rng.uniform(1.5, 3.0, 20)
    sig = rng.uniform(0.1, 0.4, 20)
    jitter = rng.normal(0.0, 0.004, (2, 20))
    (in_tmp / "p.csv").write_text("\ufeff" + "".join(
        f"{x + j:.5f},{y:.4f}\n" for x, j, y in zip(centres, jitter[0], rates, strict=True)))
    (in_tmp / "u.csv").write_text("".join(
        f"{x + j:.5f},{y + s:.4f}\n" for x, j, y, s in zip(centres, jitter[1], rates, sig,
                                                            strict=True)))
    code, out, err = cli("dataset", "from-digitized", "--points", "p.csv", "--upper", "u.csv",
                         "--bin-width", "0.1", "--first-edge", "0.16", "--exposure-kg-day",
                         "205.4", "--source", "Geng et al. 2023 Fig. 1", "--out", "d.csv")
    assert code == 0, err
    assert "largest" in out  # the largest shift is reported
    text = (in_tmp / "d.csv").read_text()
    assert "\n0.16,0.26," in text and "\n2.06,2.16," in text  # no float noise in the edges
    assert "# exposure_kg_day: 205.4" in text and "# source: Geng et al. 2023 Fig. 1" in text


@pytest.mark.parametrize("role", ["--points", "--upper"])
def test_binary_digitisation_file_is_one_line(in_tmp, cli, role):
    (in_tmp / "ok.csv").write_text("0.21,2.0\n0.31,1.5\n")
    (in_tmp / "bin.csv").write_bytes(bytes(range(256)) * 4)
    files = {"--points": "ok.csv", "--upper": "ok.csv", role: "bin.csv"}
    assert_one_line_error(cli("dataset", "from-digitized", "--points", files["--points"], "--upper",
                              files["--upper"], "--bin-width", "0.1", "--out", "d.csv"), "bin.csv")
