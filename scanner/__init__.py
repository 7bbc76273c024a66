"""cevns-scan: neutrino magnetic-moment limits from solar-neutrino CEvNS.

Public surface (everything else is internal):

- :func:`scanner.config.load_config` - the validated configuration (packaged default = the paper)
- :func:`scanner.model.build_model` - target, fluxes, oscillation and quenching from a config
- :func:`scanner.rates.differential_rates`, :func:`scanner.templates.binned_templates`
- :func:`scanner.fit.chi2_at`, :mod:`scanner.scan`, :mod:`scanner.contours`
- the command line, ``cevns-scan`` (:mod:`scanner.cli`)
"""

__version__ = "0.1.0"
