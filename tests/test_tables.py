"""Table loader: validation with one-line errors naming file and line, exact renormalisation."""

import numpy as np
import pytest

from cevns_scan.errors import InputError
from cevns_scan.tables import load_spectrum, read_table

GOOD = "# citation\nE_nu_MeV,dN_dE_per_MeV\n0,0\n1,1\n2,0\n"


def _write(tmp_path, text, name="s.csv"):
    p = tmp_path / name
    p.write_text(text)
    return p


def test_good_spectrum_renormalised_exactly(tmp_path):
    p = _write(tmp_path, "# c\nE_nu_MeV,dN_dE_per_MeV\n0,0\n1,1.0004\n2,0\n")
    s = load_spectrum(p)
    assert np.sum(0.5 * np.diff(s.e_mev) * (s.density[1:] + s.density[:-1])) == 1.0
    assert s.source == "c"


@pytest.mark.parametrize(("text", "match"), [
    ("# c\nE_nu_MeV,dN_dE_per_MeV\n0,0\n2,1\n1,0\n", r"line 5: E_nu_MeV = 1 does not exceed"),
    ("E_nu_MeV,dN_dE_per_MeV\n0,0\n1,-1\n2,3\n", r"line 3: .*negative"),
    ("E_nu_MeV,dN_dE_per_MeV\n0,0\n1,nan\n2,0\n", r"line 3: .*nan"),
    ("E_nu_MeV,dN_dE_per_MeV\n0,0\n1,abc\n2,0\n", r"line 3: .*'abc', not a number"),
    ("E_nu_MeV,dN_dE_per_MeV\n0,0\n1,2\n2,0\n", r"area 2 .*not 1"),
    ("E_nu_MeV;dN_dE_per_MeV\n0;0\n", r"line 1: .*not comma-separated"),
    ("E_nu_MeV,dN_dE_per_MeV\n0,0,1\n", r"line 2: 3 fields"),
    ("E_nu_MeV,other\n0,0\n", r"line 1: header lacks column\(s\) dN_dE_per_MeV"),
    ("# only a comment\n", r"empty file"),
    ("E_nu_MeV,dN_dE_per_MeV\n", r"no data rows"),
])
def test_malformed_spectrum(tmp_path, text, match):
    p = _write(tmp_path, text)
    with pytest.raises(InputError, match=match) as err:
        load_spectrum(p)
    assert str(p) in str(err.value)
    assert "\n" not in str(err.value)


def test_missing_file(tmp_path):
    with pytest.raises(InputError, match="no such file"):
        read_table(tmp_path / "nope.csv", ("a",))
