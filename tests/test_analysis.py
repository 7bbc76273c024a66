"""scanner/analysis.py: the Analysis as a notebook user drives it (``cl=`` on the scans)."""


import numpy as np
import pytest
from helpers import quiet
from scipy import stats

import cevns_scan as cs
from cevns_scan.errors import ParameterError


@pytest.fixture(scope="module")
def res41(default_analysis):
    return default_analysis.scan("e-mu", grid=41)


def test_cl_on_scan_neyman_and_run(default_analysis, res41):
    from cevns_scan.limits import axis_interval

    res95 = default_analysis.scan("e-mu", grid=41, cl=0.95)
    at95 = cs.Analysis.from_config(default_analysis.config.replace(fit={"cl": 0.95}))
    same = at95.scan("e-mu", grid=41)
    assert res95.cl == 0.95 and default_analysis.cl == 0.9  # the analysis itself is unchanged
    assert res95.delta_chi2 == pytest.approx(stats.chi2.ppf(0.95, 2), rel=1e-12)
    np.testing.assert_array_equal(res95.chi2, same.chi2)  # auto axes follow the CL
    assert res95.limits == same.limits and res95.resolved
    exact = axis_interval(default_analysis, "e", stats.chi2.ppf(0.95, 2), res95.chi2_min)[1]
    cell = res95.mu_x[1] - res95.mu_x[0]
    assert abs(res95.limits["mu_e"] - exact) < cell and exact > res41.limits["mu_e"]
    full = default_analysis.run(planes=["e-mu"], grid=41, cl=0.95)
    assert full.cl == 0.95 and full.plane("e-mu").limits == res95.limits
    assert full.one_dof_intervals == default_analysis.one_dof_intervals(0.95)
    assert full.analysis.config.fit.cl == 0.95
    ney = quiet(lambda: default_analysis.neyman("e-mu", grid=5, toys=20, seed=3, cl=0.68))
    at68 = cs.Analysis.from_config(default_analysis.config.replace(fit={"cl": 0.68}))
    ref = quiet(lambda: at68.neyman("e-mu", grid=5, toys=20, seed=3))
    assert ney.cl == 0.68 and ney.wilks.cl == 0.68
    np.testing.assert_array_equal(ney.tcrit, ref.tcrit)
    for call in (lambda: default_analysis.scan("e-mu", grid=5, cl=1.5),
                 lambda: default_analysis.run(grid=5, cl=0.0),
                 lambda: default_analysis.neyman("e-mu", grid=5, toys=20, cl=90)):
        with pytest.raises(ParameterError, match=r"^cl = .* must be a confidence level in "
                                                 r"\(0, 1\)"):
            call()
