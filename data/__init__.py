"""Input tables of cevns-scan (installed as the package ``scanner.data``).

The CSV files are copies of ``shared/data`` with their citation headers; see README.md
beside them. ``default.toml`` is the packaged default configuration (the paper's setup).
"""
