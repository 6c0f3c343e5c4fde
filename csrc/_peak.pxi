# The machine's multiply-add peak for this ISA build: the bench's yardstick
# ("% of FMA peak", fastconv/bench/_limits.py). Included by _direct.pxi, so every
# per-ISA module measures the rate its own vectors reach.
#
# Twelve independent accumulator vectors, each updated acc = acc * m + c once per
# iteration: an FMA's latency (4-5 cycles) times the FMAs issued per cycle (2 on
# most x86 and ARM cores) is 8-10 chains in flight; 12 keeps the FMA units busy with
# no chain waiting on itself, and with the two constants fits the 16 vector
# registers of SSE/AVX2. m < 1 keeps the values finite and away from denormals.
# Compilers without vector extensions (MSVC) run the same chains over arrays.

cdef extern from *:
    """
    #include "_portable.h"
    #ifndef FC_VEC_BYTES
    #define FC_VEC_BYTES 16
    #endif
    #define FC_PEAK_CHAINS 12

    #if FC_HAVE_VEC
    typedef float fc_peak_vf __attribute__((vector_size(FC_VEC_BYTES)));
    typedef double fc_peak_vd __attribute__((vector_size(FC_VEC_BYTES)));
    #define FC_PEAK_LOOP(V, T, iters, seed, out) do { \\
        V m = (V){0} + (T)0.9990234375, c = (V){0} + (T)(seed); \\
        V a0 = c, a1 = c + 1, a2 = c + 2, a3 = c + 3, a4 = c + 4, a5 = c + 5; \\
        V a6 = c + 6, a7 = c + 7, a8 = c + 8, a9 = c + 9, a10 = c + 10, a11 = c + 11; \\
        for (long long it = 0; it < (iters); it++) { \\
            a0 = a0 * m + c; a1 = a1 * m + c; a2 = a2 * m + c; a3 = a3 * m + c; \\
            a4 = a4 * m + c; a5 = a5 * m + c; a6 = a6 * m + c; a7 = a7 * m + c; \\
            a8 = a8 * m + c; a9 = a9 * m + c; a10 = a10 * m + c; a11 = a11 * m + c; \\
        } \\
        V s = ((a0 + a1) + (a2 + a3)) + ((a4 + a5) + (a6 + a7)) + ((a8 + a9) + (a10 + a11)); \\
        T r = 0; \\
        for (size_t l = 0; l < sizeof(V) / sizeof(T); l++) r += s[l]; \\
        *(out) = (double)r; \\
    } while (0)
    #define FC_PEAK_LANES(T) (FC_VEC_BYTES / sizeof(T))
    #else
    #define FC_PEAK_LANES(T) (FC_VEC_BYTES / sizeof(T))
    #endif

    /* Flops of one call: two per lane per chain per iteration. */
    static double fc_peak_flops(long long iters, int dbl) {
        return 2.0 * FC_PEAK_CHAINS * (double)iters
            * (double)(dbl ? FC_PEAK_LANES(double) : FC_PEAK_LANES(float));
    }

    static void fc_peak_run(long long iters, int dbl, double seed, double *out) {
    #if FC_HAVE_VEC
        if (dbl) FC_PEAK_LOOP(fc_peak_vd, double, iters, seed, out);
        else FC_PEAK_LOOP(fc_peak_vf, float, iters, seed, out);
    #else
        /* the same chains as arrays, one row of lanes per accumulator */
        enum { LF = FC_VEC_BYTES / sizeof(float), LD = FC_VEC_BYTES / sizeof(double) };
        double r = 0;
        if (dbl) {
            double a[FC_PEAK_CHAINS][LD];
            for (int i = 0; i < FC_PEAK_CHAINS; i++)
                for (int l = 0; l < LD; l++) a[i][l] = seed + i;
            for (long long it = 0; it < iters; it++)
                for (int i = 0; i < FC_PEAK_CHAINS; i++)
                    for (int l = 0; l < LD; l++) a[i][l] = FC_FMA(a[i][l], 0.9990234375, seed);
            for (int i = 0; i < FC_PEAK_CHAINS; i++)
                for (int l = 0; l < LD; l++) r += a[i][l];
        } else {
            float a[FC_PEAK_CHAINS][LF];
            for (int i = 0; i < FC_PEAK_CHAINS; i++)
                for (int l = 0; l < LF; l++) a[i][l] = (float)seed + i;
            for (long long it = 0; it < iters; it++)
                for (int i = 0; i < FC_PEAK_CHAINS; i++)
                    for (int l = 0; l < LF; l++)
                        a[i][l] = FC_FMAF(a[i][l], 0.9990234375f, (float)seed);
            for (int i = 0; i < FC_PEAK_CHAINS; i++)
                for (int l = 0; l < LF; l++) r += a[i][l];
        }
        *out = r;
    #endif
    }
    """
    double fc_peak_flops(long long iters, int dbl) noexcept nogil
    void fc_peak_run(long long iters, int dbl, double seed, double* out) noexcept nogil


ctypedef struct _Peak:
    long long iters
    int dbl
    double* sums


cdef void _peak_task(void* ctx, Py_ssize_t task, int slot) noexcept nogil:
    cdef _Peak* p = <_Peak*>ctx
    # a different seed per task: the compiler cannot share one chain's work
    fc_peak_run(p.iters, p.dbl, 1.0 + 0.125 * task, &p.sums[task])


def fma_peak_run(int nthreads, long long iters, bint double, int tasks=0):
    """Run the multiply-add chains as ``tasks`` tasks on ``nthreads`` threads of the pool.

    Parameters
    ----------
    nthreads : int
        Threads of the pool.
    iters : int
        Iterations of the twelve chains per task.
    double : bool
        float64 lanes (else float32).
    tasks : int, optional
        Tasks, claimed from a counter as the kernels' tiles are (default
        ``nthreads``: one each, the peak of idle cores). More tasks than threads
        measure the share of the cores a kernel gets while other jobs run: one
        descheduled thread then delays the call by one task, not by its half.

    Returns
    -------
    flops : float
        The floating-point operations done, over every thread (the caller times
        the call).
    checksum : float
        The sum of the final accumulators (finite; it keeps the loop alive).
    """
    if tasks == 0:
        tasks = nthreads
    if nthreads < 1 or iters < 0 or tasks < 1:
        raise ValueError("fma_peak_run: nthreads >= 1, iters >= 0 and tasks >= 1")
    cdef _Peak p
    cdef double* sums = <double*>malloc(tasks * sizeof(double))
    if sums == NULL:
        raise MemoryError()
    p.iters = iters
    p.dbl = double
    p.sums = sums
    cdef double total = 0
    cdef int i
    try:
        with nogil:
            _parallel(tasks, nthreads, _peak_task, &p)
        for i in range(tasks):
            total += sums[i]
    finally:
        free(sums)
    return fc_peak_flops(iters, double) * tasks, total
