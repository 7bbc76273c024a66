"""COHERENT CENNS-10 liquid argon, Analysis A (PRL 126, 012002 (2021), arXiv:2003.10630).

* :mod:`.release` -- reads and checks the Zenodo release folder (doi:10.5281/zenodo.3903810);
* :mod:`.response` -- our CEvNS expectation in the release's 12 x 8 x 10 bins, per pi-DAR
  component, SM and magnetic moment per flavour;
* :mod:`.likelihood` -- the collaboration's binned likelihood on the compiled profiler.

Validation (tests/test_coherent_ar.py): our SM prediction is 125.4 events (the collaboration
predicts 128 +- 17); the SM fit gives 139 (+41 -40) CEvNS events with our template and 161
(+44 -43) with the collaboration's PDF, against the published 159 +- 43. The 13 % difference
of our fit is the energy-time correlation of the computed expectation (prompt nu_mu give
recoils below about 20 keV_ee only), which the release's PDF, a product of an energy-F90 and
a time distribution, leaves out.
"""
