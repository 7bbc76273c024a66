"""The README's Python example runs as written, and its quick start is what CI runs."""

import re
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[1] / "README.md"


def _python_blocks(text: str) -> list[str]:
    return re.findall(r"```python\n(.*?)```", text, flags=re.S)


@pytest.mark.slow  # end to end: scans, a Neyman construction, a belt, XENONnT
def test_readme_python_example_runs(in_tmp, capsys):
    if not README.is_file():
        pytest.skip("README.md is not beside the tests (not a repository checkout)")
    blocks = _python_blocks(README.read_text(encoding="utf-8"))
    assert blocks, "the README has no python example"
    namespace: dict = {}
    exec(compile(blocks[0], "README.md", "exec"), namespace)
    res, full = namespace["res"], namespace["full"]
    assert set(res.limits) == {"mu_e", "mu_mu"} and res.limits["mu_e"] > 0
    assert res.gof.dof == 18 and res.gof.p_value > 0.99  # Asimov data: chi2_min = 0
    assert (in_tmp / "e_mu.png").stat().st_size > 1000
    assert (in_tmp / "results" / "api-example" / "limits.json").is_file()
    assert set(full.one_dof) == {"mu_e", "mu_mu", "mu_tau"}
    sm, mm = namespace["sm"], namespace["mm"]
    assert sm.shape == mm.shape == (8, 2)
    ney = namespace["ney"]
    assert 0 < ney.limits["mu_e"] < ney.wilks.limits["mu_e"]
    assert res.rank == 1 and res.rank_aware.limits["mu_e"] < res.limits["mu_e"]
    belt = namespace["belt"]
    assert 0 < belt.mc_error["mu_e"] < 0.1 * belt.limits["mu_e"] < ney.wilks.limits["mu_e"]
    lo, hi = namespace["xe"].one_dof_intervals()["mu_e"]
    assert lo == 0.0 and 1e-9 < hi < 3e-9


def test_quick_start_is_the_ci_command():
    if not README.is_file():
        pytest.skip("README.md is not beside the tests (not a repository checkout)")
    lines = README.read_text(encoding="utf-8").splitlines()
    start = lines.index("```bash")
    quick = lines[start + 1:start + 3]
    assert quick[0] == "pip install . && cevns-scan reproduce"
    ci = (README.parent / ".ci" / "run").read_text()
    assert quick[1] in ci
