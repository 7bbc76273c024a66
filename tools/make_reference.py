"""Write tests/reference/reproduce_v0.2.0.json: digests of the pinned reference runs.

Run from the repository root with the version whose numbers are to be pinned installed:
``python tools/make_reference.py``. See tests/reference_digests.py for what is digested.
"""

import json
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from reference_digests import CASES, digest_folder  # noqa: E402


def main() -> None:
    out = {}
    for name, (args, config) in CASES.items():
        with tempfile.TemporaryDirectory() as tmp:
            cmd = [sys.executable, "-m", "cevns_scan", "reproduce", "--out", "out", "--quiet",
                   "--no-figures", "--jobs", "1", *args]
            if config is not None:
                Path(tmp, "config.toml").write_text(config)
                cmd += ["--config", "config.toml"]
            subprocess.run(cmd, cwd=tmp, check=True)
            out[name] = digest_folder(Path(tmp) / "out")
        print(name, "done", file=sys.stderr)
    path = ROOT / "tests" / "reference" / "reproduce_v0.2.0.json"
    path.write_text(json.dumps(out, indent=1, sort_keys=True) + "\n")
    print(f"wrote {path}", file=sys.stderr)


if __name__ == "__main__":
    main()
