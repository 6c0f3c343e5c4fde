/* fastconv's work-sharing thread pool: one per process, shared by every kernel module.
 *
 * fc_parallel_for(ntasks, nthreads, fn, ctx) calls fn(ctx, task, slot) once for every
 * task in [0, ntasks). The calling thread works too (slot 0); up to nthreads - 1 pool
 * workers join it, each with its own slot in [1, nthreads), so a kernel can give every
 * slot its own scratch buffer. Tasks are claimed one at a time from a counter, not
 * split per thread in advance: the call ends when every task is done, and a worker
 * the OS has not scheduled yet delays nothing (it finds the job closed when it wakes).
 *
 * Idle workers spin for a few tens of microseconds after a call ends (a call in a loop
 * finds them awake), then sleep on a condition variable: no core stays busy after a
 * call. A job announced as short (fc_parallel_for_work) wakes no sleeping worker; a
 * worker woken on its caller's CPU moves to another before it joins (Linux). A
 * forked child starts with no workers and makes its own on first use. Several
 * threads may call at once; each call is a job, and idle workers join the oldest job
 * that still has free slots. Nothing here touches Python.
 */
#ifndef FC_POOL_H
#define FC_POOL_H

#include <stddef.h>

typedef void (*fc_task_fn)(void *ctx, ptrdiff_t task, int slot);

typedef struct {
    int version;
    /* Run every task; returns the number of threads that worked on them. */
    int (*parallel_for)(ptrdiff_t ntasks, int nthreads, fc_task_fn fn, void *ctx);
    /* The same for a job of about work_us microseconds on one thread (< 0: unknown):
     * a job shorter than the pool's wake threshold takes only workers that are still
     * awake (spinning after a previous call), and wakes no sleeping one. */
    int (*parallel_for_work)(ptrdiff_t ntasks, int nthreads, fc_task_fn fn, void *ctx,
                             double work_us);
} fc_pool_api;

#define FC_POOL_API_VERSION 2

int fc_parallel_for(ptrdiff_t ntasks, int nthreads, fc_task_fn fn, void *ctx);
int fc_parallel_for_work(ptrdiff_t ntasks, int nthreads, fc_task_fn fn, void *ctx,
                         double work_us);
/* Workers started so far in this process (0 in a fresh fork child). */
int fc_pool_workers(void);
/* How long an idle worker spins before it sleeps, in microseconds; returns the old. */
int fc_pool_set_spin_us(int us);
/* How long a worker done with its tasks waits for the call to end (its spin then
 * counts from there), in microseconds; returns the old (a negative us only reads it). */
int fc_pool_set_close_wait_us(int us);
/* The shortest job (microseconds on one thread) that wakes sleeping workers; returns
 * the old value (a negative us only reads it). */
double fc_pool_set_wake_us(double us);
/* Whether a worker woken on its caller's CPU moves to another before joining (Linux;
 * elsewhere a no-op); returns the old setting (a negative `on` only reads it). */
int fc_pool_set_move_off(int on);
/* Workers moved so far; and the move itself, for tests: the calling thread leaves
 * its CPU (*from) for another it may run on (*to) and may run anywhere it could
 * before; returns 1 if it moved (0: Linux only, and at least two CPUs allowed). */
long long fc_pool_moves(void);
int fc_pool_move_self(int *from, int *to);
/* A monotonic clock in microseconds (the pool's own, for its spins and for tests). */
double fc_now_us(void);

#endif
