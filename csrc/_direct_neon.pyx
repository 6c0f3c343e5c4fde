# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True
# cython: initializedcheck=False
"""Direct kernels for AArch64 with NEON vectors (128-bit, FMA): the row-pair loops'
vector extensions, where the baseline module is plain C."""

include "_direct.pxi"
