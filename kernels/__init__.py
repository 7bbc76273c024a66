"""Numba-compiled numerical kernels of cevns-scan.

Pure functions of plain floats and arrays in one unit system (MeV, cm, s; keV only at the
edges and then named ``*_kev``). No I/O, no state beyond the constants in
:mod:`kernels.constants`.
"""
