# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True
# cython: initializedcheck=False
"""Direct kernels compiled with -m flags for AVX2; loaded only on CPUs that have it."""

include "_direct.pxi"
