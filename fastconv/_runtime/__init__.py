"""The runtime wing: what every path shares with the machine, knowing nothing of
convolution.

``threads`` the thread count, ``_fcpool`` the compiled work-sharing pool every
kernel's threads come from (csrc/fc_pool.c), ``threadpoolctl_hook`` its controller
for threadpoolctl, ``pool`` the Python worker pool for independent pieces,
``memory`` the recycled large buffers, ``isa`` the choice of a compiled build per
CPU, ``numba_threads`` Numba's thread count, ``timing`` the best-of wall clock,
``switch`` the process-wide named choices (kernel backend, FFT library, nn road). It imports nothing from the wings above it.
"""
