"""The configuration section of the counting experiment: ``[counting]``.

Declared with :func:`cevns_scan.config.config_key`, so that a config file's ``[counting]`` keys
are checked like the core ones (one-line errors, did-you-mean on a misspelt key).
"""

from __future__ import annotations

from dataclasses import dataclass

from cevns_scan.config import config_key


@dataclass(frozen=True)
class CountingSection:
    """[counting]: how the background enters, and the quadrature of the window (eq. C1)."""

    background: str = config_key("str", lambda v: v in ("constrained", "fixed"),
                                 "'constrained' or 'fixed'")
    nodes: int = config_key("int", lambda v: 4 <= v <= 1000, "an integer 4-1000")


#: The packaged defaults (TOML text with comments), merged into the default config.
DEFAULTS = """
[counting]                  # the worked example's counting experiment (--data FILE.count.toml)
background = "constrained"  # "constrained": Gaussian constraint of the file's background_sigma,
                            # profiled; "fixed": the background at the file's value
nodes = 48                  # Gauss-Legendre nodes of the window integral (eq. C1)
"""
