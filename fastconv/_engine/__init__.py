"""The engine wing: one primitive and its paths.

Every public call reduces to ``out = sum w[a, b] * x_ext[i+oy+a, j+ox+b]``, the
'valid' correlation of the (virtually) boundary-extended input. ``dispatch`` runs
it by method (the cost model in ``plan``, measured by ``tune``), behind the
exactness ``gates``; the paths are ``direct`` (with ``complex``), ``separable``
and ``fft``; ``boundary`` holds the boundary codes and windows; ``nd``, ``oned``
and ``batch`` build the N-d, 1-D and many-image problems on it; ``fft_axes`` is
scipy's N-d transform with broadcasting. ``kernels`` says which compiled loops run.
The engine knows nothing of scipy's or numpy's argument rules (``_api``).
"""
