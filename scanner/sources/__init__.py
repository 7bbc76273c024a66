"""Neutrino sources other than the Sun, as the rate kernels take them.

:mod:`.pion_dar` -- pion decay at rest (the SNS beam of the COHERENT experiments): a prompt
nu_mu line and the delayed nu_e and anti-nu_mu Michel spectra, with their arrival-time
profiles and the fluence per proton on target.
"""
