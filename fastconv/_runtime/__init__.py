"""The runtime wing: what every path shares with the machine, knowing nothing of
convolution.

``threads`` the thread count, ``pool`` the worker pool for independent pieces,
``memory`` the recycled large buffers, ``isa`` the choice of a compiled build per
CPU, ``openmp`` libgomp's idle spin, ``numba_threads`` Numba's thread count,
``timing`` the best-of wall clock. It imports nothing from the wings above it.
"""
