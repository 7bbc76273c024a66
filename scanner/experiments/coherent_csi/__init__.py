"""COHERENT CsI[Na], full dataset (PRL 129, 081801 (2022), arXiv:2110.07730).

* :mod:`.release` -- reads and checks the paper's ancillary files;
* :mod:`.response` -- our CEvNS expectation in (PE, t_rec) bins per pi-DAR component, Cs and I
  as separate nuclei, with the release's quenching and efficiency models;
* :mod:`.likelihood` -- binned Poisson likelihood with the anti-coincident steady state, the
  neutron backgrounds and the systematic nuisances, on the compiled profiler.

Validation (tests/test_coherent_csi.py): our SM prediction is 355 events in 8-60 PE,
0-6 us (the paper: about 341); the SM fit gives 310 (+33 -32) CEvNS events against the
published 306 +- 20 (see :mod:`.likelihood` for the width).
"""
