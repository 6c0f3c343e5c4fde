/* fastconv's work-sharing thread pool (see fc_pool.h for the contract).
 *
 * One mutex guards the queue of open jobs and the workers' sleep; the hot path of a
 * call (claiming tasks) is a single atomic add per task. A job lives on its caller's
 * stack: workers reach it only through the queue, under the mutex, and the caller
 * unlinks it and waits for the workers that joined before it returns.
 */
#if defined(__linux__) && !defined(_GNU_SOURCE)
#  define _GNU_SOURCE   /* sched_getcpu, pthread_setaffinity_np */
#endif
#if !defined(_WIN32) && !defined(_POSIX_C_SOURCE)
#  define _POSIX_C_SOURCE 200809L   /* clock_gettime, pthread_atfork under -std=c11 */
#endif
#include "fc_pool.h"

#include <limits.h>
#include <stdlib.h>

#ifdef _WIN32
#  ifndef WIN32_LEAN_AND_MEAN
#    define WIN32_LEAN_AND_MEAN
#  endif
#  include <windows.h>
#  include <process.h>
typedef SRWLOCK fc_mutex;
typedef CONDITION_VARIABLE fc_cond;
#  define fc_mutex_init(m) InitializeSRWLock(m)
#  define fc_lock(m) AcquireSRWLockExclusive(m)
#  define fc_unlock(m) ReleaseSRWLockExclusive(m)
#  define fc_cond_init(c) InitializeConditionVariable(c)
#  define fc_wait(c, m) SleepConditionVariableSRW((c), (m), INFINITE, 0)
#  define fc_signal(c) WakeConditionVariable(c)
#  define fc_broadcast(c) WakeAllConditionVariable(c)
#else
#  include <pthread.h>
#  include <time.h>
#  include <unistd.h>
#  if defined(__linux__)
#    include <sched.h>
#    define FC_CAN_MOVE 1
#  endif
typedef pthread_mutex_t fc_mutex;
typedef pthread_cond_t fc_cond;
#  define fc_mutex_init(m) pthread_mutex_init((m), NULL)
#  define fc_lock(m) pthread_mutex_lock(m)
#  define fc_unlock(m) pthread_mutex_unlock(m)
#  define fc_cond_init(c) pthread_cond_init((c), NULL)
#  define fc_wait(c, m) pthread_cond_wait((c), (m))
#  define fc_signal(c) pthread_cond_signal(c)
#  define fc_broadcast(c) pthread_cond_broadcast(c)
#endif

/* Atomics on plain integers: C11 <stdatomic.h> is missing from older MSVC. */
#if defined(_MSC_VER) && !defined(__clang__)
#  include <intrin.h>
#  define fc_fetch_add64(p, v) _InterlockedExchangeAdd64((volatile long long *)(p), (v))
#  define fc_load32(p) _InterlockedOr((volatile long *)(p), 0)
#  define fc_load64(p) _InterlockedOr64((volatile long long *)(p), 0)
#else
#  define fc_fetch_add64(p, v) __atomic_fetch_add((p), (v), __ATOMIC_ACQ_REL)
#  define fc_load32(p) __atomic_load_n((p), __ATOMIC_ACQUIRE)
#  define fc_load64(p) __atomic_load_n((p), __ATOMIC_ACQUIRE)
#endif

/* A hint to the core that this is a spin loop (lets the sibling hyperthread run). */
#if defined(__x86_64__) || defined(__i386__) || defined(_M_X64) || defined(_M_IX86)
#  include <immintrin.h>
#  define fc_relax() _mm_pause()
#elif defined(_MSC_VER) && (defined(_M_ARM64) || defined(_M_ARM))
#  define fc_relax() __yield()
#elif defined(__aarch64__) || defined(__arm__)
#  define fc_relax() __asm__ __volatile__("yield")
#else
#  define fc_relax() ((void)0)
#endif

#define FC_MAX_WORKERS 256

typedef struct fc_job {
    fc_task_fn fn;
    void *ctx;
    long long ntasks;
    long long next;          /* the next task to claim (atomic) */
    int max_slots;           /* nthreads: slot 0 is the caller's */
    int slots;               /* slots handed out so far (under the mutex) */
    int active;              /* workers inside the job (changed under the mutex) */
    int closed;              /* no more joins: the caller found no task left */
    int caller_cpu;          /* the CPU the caller posted the job from (-1: unknown) */
    struct fc_job *next_job; /* the queue of jobs that want workers */
} fc_job;

static fc_mutex pool_lock;
static fc_cond pool_wake;      /* idle workers sleep here */
static fc_cond pool_left;      /* callers wait here for their last workers to leave */
static fc_job *queue_head, *queue_tail;
static int n_workers;          /* started in this process */
static int n_sleeping;
static long long queue_len;    /* read without the mutex by spinning workers (atomic) */
/* 45, not 30: between two N-d calls in a Python loop the caller spends 30-45 us
 * returning and setting up (its caches cold after the call); with 30 the worker was
 * often asleep by the next call (64^3 x 3^3 in a loop, 2 threads, medians: 178-215 us
 * at 30, 150-179 at 45 with the wait for the call's end below; best calls alike). */
static int spin_us = 45;
/* Jobs closed so far (atomic): a worker that leaves a job still running (its caller on
 * a last task) spins until the count moves, then spin_us more, so its spin counts from
 * the call's end, not from its own last task, which can be a whole task earlier: with
 * a caller in a loop the worker was often asleep before the next call, and arrived
 * late to it (64^3 x 3^3 in a loop, 2 threads: median 215 us, a one-thread call's
 * time). It waits for the close at most close_wait_us, a task or two. */
static long long closes;
static int close_wait_us = 200;
/* A sleeping worker is woken only for jobs of at least this many microseconds on one
 * thread. Waking one costs the caller a syscall (9-13 us on the 2-vCPU VMs here) and
 * the worker arrives 9-18 us later, on these VMs mostly on the caller's own CPU, which
 * the two then share until the load balancer moves one (0.1-0.2 ms). A 384^2 3x3
 * float32 call (~55 us) after 0.3 ms of other work took 111 us on 2 threads woken, 94
 * on one; 1024^2 (~400 us) 381 against 603. */
static double wake_min_us = 80.0;
/* A worker woken on the CPU its job's caller runs on moves off it before joining. */
static int move_off = 1;

#ifdef _WIN32
static INIT_ONCE pool_once = INIT_ONCE_STATIC_INIT;
static BOOL CALLBACK pool_init_once(PINIT_ONCE o, PVOID p, PVOID *c)
{
    (void)o; (void)p; (void)c;
    fc_mutex_init(&pool_lock);
    fc_cond_init(&pool_wake);
    fc_cond_init(&pool_left);
    return TRUE;
}
static void pool_init(void) { InitOnceExecuteOnce(&pool_once, pool_init_once, NULL, NULL); }

double fc_now_us(void)
{
    static LARGE_INTEGER f;
    LARGE_INTEGER t;
    if (f.QuadPart == 0) QueryPerformanceFrequency(&f);
    QueryPerformanceCounter(&t);
    return (double)t.QuadPart * 1e6 / (double)f.QuadPart;
}
#else
static pthread_once_t pool_once = PTHREAD_ONCE_INIT;

/* fork: the child has none of the parent's workers, and the mutex may have been
 * held by one of them. Hold it across the fork so the queue is consistent, then give
 * the child a fresh, empty pool: its first parallel call starts its own workers. */
static void fork_prepare(void) { fc_lock(&pool_lock); }
static void fork_parent(void) { fc_unlock(&pool_lock); }
static void fork_child(void)
{
    fc_mutex_init(&pool_lock);
    fc_cond_init(&pool_wake);
    fc_cond_init(&pool_left);
    queue_head = queue_tail = NULL;
    n_workers = n_sleeping = 0;
    queue_len = 0;
}

static void pool_init_once(void)
{
    fc_mutex_init(&pool_lock);
    fc_cond_init(&pool_wake);
    fc_cond_init(&pool_left);
    pthread_atfork(fork_prepare, fork_parent, fork_child);
}
static void pool_init(void) { pthread_once(&pool_once, pool_init_once); }

double fc_now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e6 + ts.tv_nsec * 1e-3;
}
#endif

#ifdef FC_CAN_MOVE
static int current_cpu(void) { return sched_getcpu(); }

/* Leave CPU `cpu` for the next one this thread may run on (by number, so on most
 * machines one of the same socket), then allow every CPU it was allowed before again
 * (the move is done: the scheduler keeps it where it is until it balances its load).
 * A worker woken right after its caller woke from a sleep lands, on the 2-vCPU VMs
 * here, on the caller's CPU in 97 of 100 trials, and stays there for ~3 ms (until the
 * periodic load balance), the two sharing one CPU: a 64^3 x 3^3 call then took 1.3x
 * its time on one thread. (Clearing only `cpu` would let the kernel pick any allowed
 * CPU, round robin, another socket's as well.) */
static int move_off_cpu(int cpu)
{
    cpu_set_t old, set;
    pthread_t self = pthread_self();
    int next, i;
    if (cpu < 0 || cpu >= CPU_SETSIZE
            || pthread_getaffinity_np(self, sizeof old, &old) != 0
            || !CPU_ISSET(cpu, &old) || CPU_COUNT(&old) < 2)
        return 0;
    for (i = 1, next = -1; i < CPU_SETSIZE && next < 0; i++)
        if (CPU_ISSET((cpu + i) % CPU_SETSIZE, &old)) next = (cpu + i) % CPU_SETSIZE;
    if (next < 0)
        return 0;
    CPU_ZERO(&set);
    CPU_SET(next, &set);
    if (pthread_setaffinity_np(self, sizeof set, &set) != 0)
        return 0;
    pthread_setaffinity_np(self, sizeof old, &old);
    return 1;
}
#else
static int current_cpu(void) { return -1; }
static int move_off_cpu(int cpu) { (void)cpu; return 0; }
#endif
static long long n_moves;      /* workers moved off their caller's CPU (diagnostics) */

int fc_pool_move_self(int *from, int *to)
{
    int moved;
    *from = current_cpu();
    moved = move_off_cpu(*from);
    *to = current_cpu();
    return moved;
}

long long fc_pool_moves(void)
{
    long long n;
    pool_init();
    fc_lock(&pool_lock);
    n = n_moves;
    fc_unlock(&pool_lock);
    return n;
}

static void run_tasks(fc_job *job, int slot)
{
    long long t;
    while ((t = fc_fetch_add64(&job->next, 1)) < job->ntasks)
        job->fn(job->ctx, (ptrdiff_t)t, slot);
}

static void unlink_job(fc_job *job)
{
    fc_job **p = &queue_head, *prev = NULL;
    while (*p && *p != job) {
        prev = *p;
        p = &(*p)->next_job;
    }
    if (*p == NULL) return;
    *p = job->next_job;
    if (queue_tail == job) queue_tail = prev;
    job->next_job = NULL;
    fc_fetch_add64(&queue_len, -1);
}

/* Under the mutex: the oldest job with a free slot and tasks left, claimed. */
static fc_job *join_job(int *slot)
{
    fc_job *job;
    while ((job = queue_head) != NULL) {
        if (fc_load64(&job->next) >= job->ntasks || job->slots >= job->max_slots) {
            unlink_job(job);      /* nothing left to share: stop offering it */
            continue;
        }
        *slot = job->slots++;
        job->active++;
        if (job->slots >= job->max_slots) unlink_job(job);
        return job;
    }
    return NULL;
}

#ifdef _WIN32
static unsigned __stdcall worker_main(void *arg)
#else
static void *worker_main(void *arg)
#endif
{
    long long left_open = -1;   /* `closes` when this worker left a job still running */
    (void)arg;
    fc_lock(&pool_lock);
    for (;;) {
        int slot;
        fc_job *job;
        job = join_job(&slot);
        if (job == NULL) {
            /* Spin a little outside the mutex: a call in a loop posts its next job
             * within microseconds, and waking a sleeping worker costs a syscall on
             * the caller's side and a scheduler round trip on ours. */
            double now, until, wait_end;
            fc_unlock(&pool_lock);
            now = fc_now_us();
            until = now + spin_us;
            wait_end = now + close_wait_us;
            while (fc_load64(&queue_len) == 0) {
                int i;
                for (i = 0; i < 64; i++) fc_relax();
                now = fc_now_us();
                if (left_open >= 0) {
                    if (fc_load64(&closes) != left_open) {
                        until = now + spin_us;      /* a call ended: its loop may go on */
                        left_open = -1;
                    } else if (now < wait_end) {
                        continue;
                    } else {
                        left_open = -1;
                    }
                }
                if (now > until) break;
            }
            left_open = -1;
            fc_lock(&pool_lock);
            if (queue_head != NULL) continue;
            n_sleeping++;
            fc_wait(&pool_wake, &pool_lock);
            n_sleeping--;
#ifdef FC_CAN_MOVE
            if (move_off && queue_head != NULL && queue_head->caller_cpu >= 0
                    && current_cpu() == queue_head->caller_cpu) {
                /* the job outlives this unlocked stretch only if it is still queued:
                 * its CPU is copied first, and join_job looks again */
                int cpu = queue_head->caller_cpu, moved;
                fc_unlock(&pool_lock);
                moved = move_off_cpu(cpu);
                fc_lock(&pool_lock);
                n_moves += moved;
            }
#endif
            continue;
        }
        fc_unlock(&pool_lock);
        run_tasks(job, slot);
        fc_lock(&pool_lock);
        left_open = job->closed ? -1 : closes;
        if (--job->active == 0 && job->closed) fc_broadcast(&pool_left);
    }
    return 0;   /* workers live as long as the process */
}

/* Under the mutex: make sure `want` workers exist (fewer if the OS refuses). */
static void grow_pool(int want)
{
    if (want > FC_MAX_WORKERS) want = FC_MAX_WORKERS;
    while (n_workers < want) {
#ifdef _WIN32
        uintptr_t h = _beginthreadex(NULL, 0, worker_main, NULL, 0, NULL);
        if (h == 0) break;
        CloseHandle((HANDLE)h);
#else
        pthread_t th;
        pthread_attr_t attr;
        int err;
        pthread_attr_init(&attr);
        pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
        err = pthread_create(&th, &attr, worker_main, NULL);
        pthread_attr_destroy(&attr);
        if (err) break;
#endif
        n_workers++;
    }
}

int fc_parallel_for(ptrdiff_t ntasks, int nthreads, fc_task_fn fn, void *ctx)
{
    return fc_parallel_for_work(ntasks, nthreads, fn, ctx, -1.0);
}

int fc_parallel_for_work(ptrdiff_t ntasks, int nthreads, fc_task_fn fn, void *ctx,
                         double work_us)
{
    fc_job job;
    int helpers, i, worked, wake;
    double until;
    if (ntasks <= 0) return 0;
    if (nthreads > ntasks) nthreads = (int)ntasks;
    if (nthreads <= 1) {
        ptrdiff_t t;
        for (t = 0; t < ntasks; t++) fn(ctx, t, 0);
        return 1;
    }
    pool_init();
    job.fn = fn;
    job.ctx = ctx;
    job.ntasks = ntasks;
    job.next = 0;
    job.max_slots = nthreads;
    job.slots = 1;
    job.active = 0;
    job.closed = 0;
    job.next_job = NULL;
    helpers = nthreads - 1;

    fc_lock(&pool_lock);
    grow_pool(helpers);
    /* Only a worker asleep now can wake to find this job queued (an awake one joins
     * it before it sleeps), and only such a worker looks where the caller runs: calls
     * back to back, their workers spinning, skip the lookup (a system call where the
     * C library has no faster way). */
    job.caller_cpu = n_sleeping > 0 ? current_cpu() : -1;
    if (queue_tail) queue_tail->next_job = &job;
    else queue_head = &job;
    queue_tail = &job;
    fc_fetch_add64(&queue_len, 1);
    /* Wake only as many sleepers as can join, and only for a job long enough to
     * wait for them; spinning workers see the queue whatever its length. */
    wake = work_us < 0 || work_us >= wake_min_us ? n_sleeping : 0;
    if (wake > helpers) wake = helpers;
    fc_unlock(&pool_lock);
    /* Signalled after the unlock: a sleeper woken while the mutex is held wakes only
     * to block on it, and the unlock then costs a second wake-up (a 2-vCPU VM here:
     * 20 us of the caller's time signalling under the mutex, 13 after it). */
    for (i = 0; i < wake; i++) fc_signal(&pool_wake);

    run_tasks(&job, 0);

    fc_lock(&pool_lock);
    unlink_job(&job);
    job.closed = 1;
    fc_fetch_add64(&closes, 1);
    worked = job.slots;
    if (job.active == 0) {
        fc_unlock(&pool_lock);
        return worked;
    }
    fc_unlock(&pool_lock);
    /* The workers still inside are finishing their last task: wait briefly
     * without the mutex, then sleep until the last one leaves. */
    until = fc_now_us() + spin_us;
    while (fc_load32(&job.active) != 0 && fc_now_us() < until)
        for (i = 0; i < 16; i++) fc_relax();
    fc_lock(&pool_lock);
    while (job.active != 0) fc_wait(&pool_left, &pool_lock);
    fc_unlock(&pool_lock);
    return worked;
}

int fc_pool_workers(void)
{
    int n;
    pool_init();
    fc_lock(&pool_lock);
    n = n_workers;
    fc_unlock(&pool_lock);
    return n;
}

/* A setting's old value, and the new one in place unless it is negative (a read). */
static int swap_setting(int *setting, int value)
{
    int old;
    pool_init();
    fc_lock(&pool_lock);
    old = *setting;
    if (value >= 0) *setting = value;
    fc_unlock(&pool_lock);
    return old;
}

int fc_pool_set_spin_us(int us) { return swap_setting(&spin_us, us); }

int fc_pool_set_close_wait_us(int us) { return swap_setting(&close_wait_us, us); }

int fc_pool_set_move_off(int on) { return swap_setting(&move_off, on); }

double fc_pool_set_wake_us(double us)
{
    double old;
    pool_init();
    fc_lock(&pool_lock);
    old = wake_min_us;
    if (us >= 0) wake_min_us = us;
    fc_unlock(&pool_lock);
    return old;
}
