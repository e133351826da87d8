// SPDX-License-Identifier: GPL-2.0
/*
 * mm_cid under the BPF CI fork pattern: threads pinned to distinct CPUs
 * read their mm_cid from rseq while the main thread creates threads past
 * max_cids and joins them again, so that the mm switches to per CPU mode
 * and back, many times.  The test asserts what user space is promised
 * (every CID is below the number of possible CPUs, no two threads running
 * at the same moment see the same CID) and, from the mmcid_rs module's
 * report, that the C code and the Rust model agreed on every transition.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "rseq_cid.h"

#define REPORT "/sys/kernel/debug/mmcid_rs/report"
#define RESET "/sys/kernel/debug/mmcid_rs/reset"
#define STATUS "/sys/kernel/debug/mmcid_rs/status"
#define VERDICT "/sys/kernel/debug/mmcid_rs/verdict"
#define VARIANT "/sys/module/mmcid_rs/parameters/variant"
#define MAX_SAMPLERS 256

/*
 * MMCID_RS_FAKE_CID=N makes every thread see CID N instead of its own: a
 * known-bad kernel for showing that the duplicate (N below the number of
 * CPUs) and range (N at or above it) assertions fail.
 */
static long fake_cid = -1;

static uint32_t my_cid(void)
{
	if (fake_cid >= 0)
		return fake_cid;
	return rseq_mm_cid();
}

/* What each sampler publishes: seq is odd while it reads its CID. */
struct slot {
	uint64_t seq;
	uint32_t cid;
	int cpu;
} __attribute__((aligned(64)));

struct pattern {
	int nr_cpus;		/* possible CPUs */
	int nr_threads;		/* per round */
	bool together;		/* threads wait for each other at start */
	pthread_barrier_t start;	/* all of a round's threads exist */
	struct slot slots[MAX_SAMPLERS];
	int stop;		/* spinners stop sampling */
	int created, hold;	/* threads of the round created; wait for hold */
	/* results */
	long samples, compared, discarded;
	long out_of_range, duplicates;
	uint32_t bad_cid, dup_cid;
	/* CIDs at or above the possible CPUs right after a failed execve() */
	long unset_after_execve;
	uint32_t execve_cid;
};

/*
 * num_possible_cpus(), the bound on CIDs: the weight of the possible mask,
 * a list of ranges that may have holes ("0-3,8-11").
 */
static int possible_cpus(void)
{
	FILE *f = fopen("/sys/devices/system/cpu/possible", "r");
	int lo, hi, n = 0, c;

	if (!f)
		return -1;
	while (fscanf(f, "%d", &lo) == 1) {
		hi = lo;
		c = fgetc(f);
		if (c == '-' && fscanf(f, "%d", &hi) == 1)
			c = fgetc(f);
		n += hi - lo + 1;
		if (c != ',')
			break;
	}
	fclose(f);
	return n ? n : -1;
}

static void pin(int cpu)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	sched_setaffinity(0, sizeof(set), &set);
}

static long nivcsw(void)
{
	struct rusage ru;

	getrusage(RUSAGE_THREAD, &ru);
	return ru.ru_nivcsw;
}

/*
 * Compare my CID with the one sampler @b saw while I held mine: b's read
 * must start after my first read (a cycle that begins after I read its
 * seq) and be published before my second read.
 */
static void compare(struct pattern *p, int b)
{
	struct slot *s = &p->slots[b];
	uint64_t start, e1, e2;
	uint32_t c1, c2, v;
	long sw = nivcsw(), spins = 0;

	c1 = my_cid();
	start = __atomic_load_n(&s->seq, __ATOMIC_ACQUIRE);
	start = (start | 1) + 1;	/* end of the first cycle begun after now */
	do {
		e1 = __atomic_load_n(&s->seq, __ATOMIC_ACQUIRE);
		if (++spins > 20000) {
			/* b is not running (or gone): nothing to compare */
			__atomic_fetch_add(&p->discarded, 1, __ATOMIC_RELAXED);
			return;
		}
	} while (e1 < start || (e1 & 1));
	v = __atomic_load_n(&s->cid, __ATOMIC_ACQUIRE);
	e2 = __atomic_load_n(&s->seq, __ATOMIC_ACQUIRE);
	c2 = my_cid();
	if (e1 != e2 || c1 != c2 || nivcsw() != sw) {
		__atomic_fetch_add(&p->discarded, 1, __ATOMIC_RELAXED);
		return;
	}
	__atomic_fetch_add(&p->compared, 1, __ATOMIC_RELAXED);
	if (v == c1) {
		__atomic_fetch_add(&p->duplicates, 1, __ATOMIC_RELAXED);
		p->dup_cid = v;
	}
}

struct thread_arg {
	struct pattern *p;
	int idx;
	unsigned int seed;
};

/* Publish my CID in my slot once. */
static void sample(struct pattern *p, struct slot *s)
{
	uint32_t cid;

	__atomic_fetch_add(&s->seq, 1, __ATOMIC_ACQ_REL);
	cid = my_cid();
	__atomic_store_n(&s->cid, cid, __ATOMIC_RELEASE);
	__atomic_fetch_add(&s->seq, 1, __ATOMIC_ACQ_REL);
	__atomic_fetch_add(&p->samples, 1, __ATOMIC_RELAXED);
	if (cid >= (uint32_t)p->nr_cpus) {
		__atomic_fetch_add(&p->out_of_range, 1, __ATOMIC_RELAXED);
		p->bad_cid = cid;
	}
}

static void *leaf_thread(void *arg)
{
	return arg;
}

/*
 * One thread of a round: migrate, yield, sleep (the churn of the BPF CI
 * test), and in between publish its CID and compare it with the next
 * thread's.  A third of them first create a thread of their own: a fork by
 * a user that is not the oldest, whose fixup walk (when this fork passes
 * max_cids) meets users on both sides of current in mm_cid::user_list.
 */
static void *round_thread(void *arg)
{
	struct thread_arg *a = arg;
	struct pattern *p = a->p;
	struct slot *s = &p->slots[a->idx];
	struct timespec ts = { 0, 20000 };
	int online = sysconf(_SC_NPROCESSORS_ONLN);
	pthread_t leaf;
	int i, j;

	/*
	 * Of 200 threads started one after the other, the first wait until
	 * there are twice as many as CPUs: on 16 CPUs they used to exit
	 * before max_cids was passed, and the mm never left per task mode.
	 */
	while (!p->together && __atomic_load_n(&p->created, __ATOMIC_ACQUIRE) < p->hold)
		sched_yield();
	if (a->seed % 3 == 0 && !pthread_create(&leaf, NULL, leaf_thread, NULL))
		pthread_join(leaf, NULL);
	/*
	 * One thread per CPU: every thread of the round is a user now, past
	 * max_cids whatever the number of CPUs (on 16 vCPUs the first threads
	 * used to exit before the last one was created). 200 threads pass it
	 * anyway and, started together, would all exit together.
	 */
	if (p->together)
		pthread_barrier_wait(&p->start);

	for (i = 0; i < 4; i++) {
		pin(rand_r(&a->seed) % online);
		for (j = 0; j < 64; j++)
			sample(p, s);
		compare(p, (a->idx + 1) % p->nr_threads);
		if (i & 1)
			sched_yield();
		else
			nanosleep(&ts, NULL);
	}
	if (a->seed % 16 == 0 && fork() == 0) {
		/* A child process of a multithreaded parent, which execs. */
		execl("/bin/true", "true", (char *)NULL);
		_exit(0);
	}
	return NULL;
}

/* Print the module's human-readable table. */
static void print_status(void)
{
	char line[256];
	FILE *f = fopen(STATUS, "r");

	if (!f)
		return;
	while (fgets(line, sizeof(line), f))
		ksft_print_msg("%s", line);
	fclose(f);
}

static long read_report(const char *key)
{
	char k[64];
	long v, found = -1;
	FILE *f = fopen(REPORT, "r");

	if (!f)
		return -1;
	while (fscanf(f, "%63s %ld", k, &v) == 2)
		if (!strcmp(k, key))
			found = v;
	fclose(f);
	return found;
}

/*
 * How many transitions C and Rust disagreed on (switches, forks, exits and
 * the rest, and broken invariants): the module's verdict says it, in
 * "mmcid_rs: FAIL: C and Rust (<variant>) disagree on N transitions", and
 * is the one definition of it (module/report_text.rs, show_verdict()); 0
 * when the verdict says anything else, -1 when it cannot be read.
 */
static long disagreements(void)
{
	char line[512];
	long n = 0;
	FILE *f = fopen(VERDICT, "r");

	if (!f)
		return -1;
	if (!fgets(line, sizeof(line), f) ||
	    sscanf(line, "mmcid_rs: FAIL: C and Rust (%*[^)]) disagree on %ld transitions", &n) != 1)
		n = 0;
	fclose(f);
	return n;
}

/*
 * Each kind of "not decided" as a share of the checks it belongs to, at
 * most @permille: the bounds are a few times what 7.3 shows under this
 * pattern on 4 and 8 vCPUs (docs/check-ops.md, "Bounds"), so that a bug
 * hiding in an allowance makes the test fail instead of passing quietly.
 * MMCID_RS_UNDECIDED_PERMILLE overrides every bound (0 shows the check
 * failing); MMCID_RS_UNDECIDED_SCALE=N multiplies each by N, for a debug
 * kernel, whose slower forks and exits overlap more switches and calls
 * (docs/debug.md).
 */
static const struct undecided_bound {
	const char *key, *of, *of2;
	long permille;
} undecided_bounds[] = {
	{ "raced_max_cids", "checked_switches", NULL, 10 },
	{ "raced_fork_exit", "checked_fork_exit", NULL, 250 },
	{ "raced_affinity", "checked_fork_exit", NULL, 50 },
	{ "raced_affinity_call", "agreed_affinity", "raced_affinity_call", 250 },
	{ "op_too_many_users", "checked_fork_exit", NULL, 10 },
	{ "accounting_not_consistent", "checked_fork_exit", NULL, 300 },
	{ "op_switched", "op_compared", "op_switched", 100 },
	{ "undecided", "checked_switches", "checked_fork_exit", 50 },
};

/*
 * Is @n of @of above @permille, beyond chance?  A share of a few hundred
 * checks moves by several points from one run to the next: @n must exceed
 * the bound's expectation by three standard deviations of a binomial
 * count (with thousands of checks, the bound itself), so that a correct
 * kernel does not fail on a small sample, at any size.
 */
static bool over_bound(long n, long of, long permille)
{
	double q = permille / 1000.0, e = of * q, d = n - e;

	return d > 0 && d * d > 9 * e * (1 - q);
}

/* The kinds of "not decided" above their bound; each printed. */
static int undecided_over_bounds(void)
{
	const char *env = getenv("MMCID_RS_UNDECIDED_PERMILLE");
	const char *scale_env = getenv("MMCID_RS_UNDECIDED_SCALE");
	long scale = scale_env ? atol(scale_env) : 1;
	int i, over = 0;

	for (i = 0; i < (int)ARRAY_SIZE(undecided_bounds); i++) {
		const struct undecided_bound *b = &undecided_bounds[i];
		long n = read_report(b->key);
		long of = read_report(b->of) + (b->of2 ? read_report(b->of2) : 0);
		long bound = env ? atol(env) : b->permille * scale;

		if (n < 0 || of < 0) {
			ksft_print_msg("not decided: %s or %s missing from the report\n", b->key, b->of);
			over++;
			continue;
		}
		if (of == 0) {
			/* None of that kind ran: nothing can be undecided. */
			if (n > 0)
				over++;
			continue;
		}
		ksft_print_msg("not decided: %s %ld of %ld (%ld.%ld%%, bound %ld.%ld%%)\n",
			       b->key, n, of, n * 1000 / of / 10, n * 1000 / of % 10,
			       bound / 10, bound % 10);
		if (over_bound(n, of, bound)) {
			ksft_print_msg("not decided: %s above its bound\n", b->key);
			over++;
		}
	}
	return over;
}

/* Zero the module's counters: the report is then this test's. */
static int reset_report(void)
{
	FILE *f = fopen(RESET, "w");

	if (!f)
		return -1;
	if (fprintf(f, "1\n") != 2) {
		fclose(f);
		return -1;
	}
	return fclose(f);
}

/*
 * Rounds of the pattern for @seconds; the number of rounds, or -1 when a
 * thread could not be created.  Each round creates p->nr_threads threads,
 * which with the main thread push the users past max_cids (switch to per
 * CPU mode), and joins them, which brings the users back to one (switch
 * to per task mode).  Each thread narrows its affinity to one CPU at a
 * time (pin()).
 */
/*
 * How long past its time a test may go on for what it asserts: twice as
 * long again on up to 4 online CPUs, and that once more for each further
 * 4, within the harness's 120 s.  Under single-threaded TCG (make run)
 * one host core runs every vCPU in turn, so a round of threads on each
 * CPU takes as much longer; and on 16 CPUs a switch back to per task mode
 * is most often an exit that other exits of the mm overlap (not decided),
 * so deciding one takes more rounds.
 */
static int grace(int seconds)
{
	long online = sysconf(_SC_NPROCESSORS_ONLN);
	int g = 2 * seconds * (online > 4 ? (online + 3) / 4 : 1);

	return g < 110 - seconds ? g : 110 - seconds;
}

static bool all_checked(const char *const *need)
{
	for (; need && *need; need++)
		if (read_report(*need) <= 0)
			return false;
	return true;
}

/*
 * A path counts as tested once this many checks in agreement took it
 * (module/reach.rs, TESTED).  The steps that drive a rare path go on past
 * their number while its count since the load is below that, until
 * @deadline: make run's workload steered until the verdict can say the
 * path was tested, and never failed for it.  Without the module's report
 * nothing is steered.
 */
#define TESTED 100

static bool below_tested(const char *const *paths, time_t deadline)
{
	long v;

	if (time(NULL) >= deadline)
		return false;
	for (; paths && *paths; paths++) {
		v = read_report(*paths);
		if (v >= 0 && v < TESTED)
			return true;
	}
	return false;
}

/*
 * Rounds for @seconds, and on until each report key of @need (a NULL
 * terminated list, or NULL) is above 0, for at most grace() more:
 * on many CPUs under emulation a round takes long, and a test that ran
 * out of time before the paths it asserts would fail a correct kernel.
 */
static long run_rounds(struct pattern *p, int seconds, const char *const *need)
{
	struct thread_arg args[MAX_SAMPLERS];
	pthread_t th[MAX_SAMPLERS];
	time_t end = time(NULL) + seconds;
	long rounds = 0;
	int i, n;

	/*
	 * Past @seconds, go on while a needed path is unchecked or no pair of
	 * CIDs was compared: under TCG on a loaded host most compare() tries
	 * are discarded (1 in 50 or fewer compares), and a run of rounds may
	 * compare none.
	 */
	while (time(NULL) < end ||
	       ((!all_checked(need) || !__atomic_load_n(&p->compared, __ATOMIC_RELAXED)) &&
		time(NULL) < end + grace(seconds))) {
		if (p->together && pthread_barrier_init(&p->start, NULL, p->nr_threads))
			return -1;
		__atomic_store_n(&p->created, 0, __ATOMIC_RELEASE);
		p->hold = 2 * sysconf(_SC_NPROCESSORS_ONLN) + 2;
		if (p->hold > p->nr_threads)
			p->hold = p->nr_threads;
		for (n = 0; n < p->nr_threads; n++) {
			args[n] = (struct thread_arg){ p, n, (unsigned int)(rounds * 64 + n + 1) };
			if (pthread_create(&th[n], NULL, round_thread, &args[n]))
				break;
			__atomic_store_n(&p->created, n + 1, __ATOMIC_RELEASE);
		}
		/* A thread short of its hold would wait forever. */
		__atomic_store_n(&p->created, p->nr_threads, __ATOMIC_RELEASE);
		/* A round short of threads would wait at the barrier forever. */
		if (n < p->nr_threads && p->together)
			return -1;
		for (i = 0; i < n; i++)
			pthread_join(th[i], NULL);
		if (p->together)
			pthread_barrier_destroy(&p->start);
		while (waitpid(-1, NULL, WNOHANG) > 0)
			;
		if (n < p->nr_threads)
			return -1;
		rounds++;
	}
	while (waitpid(-1, NULL, 0) > 0)
		;
	return rounds;
}

/*
 * The affinity path: set_cpus_allowed_common() calls
 * mm_update_cpus_allowed(), which widens the mm's mask (it never narrows)
 * and may queue mm_cid_work_fn() to switch back to per task mode.  Its
 * fixture comes first, so that the fork pattern's one_per_cpu case stays
 * last (make run's verdict reads the report it leaves).
 */

/* The widening case's findings, in memory shared with its worker. */
struct widen {
	struct pattern p;
	int done;		/* the worker's second thread finished */
	int before_same;	/* main and T1 shared CPU0's CID before */
	int cpus;		/* CPUs T1 sampled after the widening */
	int distinct;		/* distinct CIDs T1 saw on them */
	uint32_t seen[MAX_SAMPLERS];
};

/*
 * T1 of the widening worker: starts on CPU0 beside main (per CPU mode:
 * both use CPU0's CID), widens to every online CPU, lets the deferred work
 * run, then visits each online CPU and reads its CID there.  In per CPU
 * mode each CPU hands it that CPU's CID, all different; in per task mode
 * it keeps its own.  At each CPU but main's it compares its CID with
 * main's, which spins on CPU0.
 */
static void *widen_thread(void *arg)
{
	struct widen *w = arg;
	struct pattern *p = &w->p;
	struct timespec settle = { 0, 200 * 1000 * 1000 };
	int online = sysconf(_SC_NPROCESSORS_ONLN);
	uint32_t mine, mains;
	cpu_set_t all;
	int c, i, j;

	while (!__atomic_load_n(&p->slots[0].seq, __ATOMIC_ACQUIRE))
		sched_yield();
	/* Main runs on CPU0 too: one of us at a time, each with CPU0's CID. */
	mine = my_cid();
	mains = __atomic_load_n(&p->slots[0].cid, __ATOMIC_ACQUIRE);
	w->before_same = mine == mains;

	CPU_ZERO(&all);
	for (c = 0; c < online; c++)
		CPU_SET(c, &all);
	sched_setaffinity(0, sizeof(all), &all);
	nanosleep(&settle, NULL);

	for (i = 0; i < online && i < MAX_SAMPLERS; i++) {
		c = (i + 1) % online;	/* main's CPU0 last */
		pin(c);
		for (j = 0; j < 64; j++)
			sample(p, &p->slots[1]);
		w->seen[w->cpus++] = my_cid();
		/*
		 * Most tries are discarded under single-threaded TCG, which
		 * runs one vCPU at a time: try often.
		 */
		for (j = 0; j < 64 && c != 0; j++)
			compare(p, 0);
	}
	for (i = 0; i < w->cpus; i++) {
		for (j = 0; j < i && w->seen[j] != w->seen[i]; j++)
			;
		w->distinct += j == i;
	}
	__atomic_store_n(&w->done, 1, __ATOMIC_RELEASE);
	return NULL;
}

/*
 * The widening worker: a process created while its parent is pinned to
 * CPU0, so that mm_init_cid() gives its mm a mask of CPU0 alone; T1 makes
 * two users, past max_cids 1: per CPU mode.  Main publishes its CID until
 * T1 is done, with a pause after each sample, in which T1's compare()
 * finds its slot still.
 */
static void widen_worker(struct widen *w)
{
	pthread_t t1;
	int i;

	if (pthread_create(&t1, NULL, widen_thread, w))
		_exit(1);
	while (!__atomic_load_n(&w->done, __ATOMIC_ACQUIRE)) {
		sample(&w->p, &w->p.slots[0]);
		for (i = 0; i < 2000; i++)
			__atomic_load_n(&w->done, __ATOMIC_RELAXED);
	}
	pthread_join(t1, NULL);
	_exit(0);
}

/* The variant the module checks against, or "" when it cannot be read. */
static void module_variant(char *buf, int len)
{
	FILE *f = fopen(VARIANT, "r");

	buf[0] = 0;
	if (f) {
		if (!fgets(buf, len, f))
			buf[0] = 0;
		fclose(f);
	}
	buf[strcspn(buf, "\n")] = 0;
}

/*
 * A run-time XFAIL: the harness's XFAIL_ADD() marks a case before it runs,
 * but whether 7.3's behaviour is expected depends on the kernel, which the
 * module's variant names (and the module's check confirms).
 */
#define XFAIL_NOW(statement, fmt, ...) do { \
	snprintf(_metadata->results->reason, \
		 sizeof(_metadata->results->reason), fmt, ##__VA_ARGS__); \
	ksft_print_msg("XFAIL %s\n", _metadata->results->reason); \
	_metadata->exit_code = KSFT_XFAIL; \
	statement; \
} while (0)

/* Why a fixture cannot run here, or NULL: both need root, rseq and the module. */
static const char *cannot_run(void)
{
	if (geteuid())
		return "must run as root (reads debugfs)";
	if (!__rseq_size)
		return "rseq is not registered by libc (glibc >= 2.35 does)";
	if (access(REPORT, R_OK))
		return "mmcid_rs module not loaded (" REPORT " missing)";
	return NULL;
}

FIXTURE(affinity) {
	struct widen *w;
	int seconds, online, possible;
};

FIXTURE_VARIANT(affinity) {
	bool widen;
};

/*
 * Threads narrow their affinity to one CPU at a time while the mm
 * switches to per CPU mode and back (the fork pattern): the mm's mask
 * stays, and each change is checked in both modes.
 */
FIXTURE_VARIANT_ADD(affinity, narrow) {
	.widen = false,
};

/*
 * An mm that entered per CPU mode pinned to CPU0 is widened to every
 * online CPU.  7.3 keeps it in per CPU mode (mm_update_cpus_allowed()
 * caps the new threshold by the users): an expected failure there;
 * patches/affinity-switchback switches it back through the deferred work.
 */
FIXTURE_VARIANT_ADD(affinity, widen) {
	.widen = true,
};

FIXTURE_SETUP(affinity)
{
	const char *why = cannot_run();

	if (why)
		SKIP(return, "%s", why);
	self->online = sysconf(_SC_NPROCESSORS_ONLN);
	if (self->online < 3)
		SKIP(return, "needs 3 or more online CPUs");
	self->possible = possible_cpus();
	ASSERT_GT(self->possible, 0);
	self->w = mmap(NULL, sizeof(*self->w), PROT_READ | PROT_WRITE,
		       MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, self->w);
	memset(self->w, 0, sizeof(*self->w));
	self->w->p.nr_cpus = self->possible;
	self->seconds = getenv("MMCID_RS_SECONDS") ? atoi(getenv("MMCID_RS_SECONDS")) : 5;
	ASSERT_GT(self->seconds, 0) TH_LOG("MMCID_RS_SECONDS must be 1 to 100");
	ASSERT_LE(self->seconds, 100) TH_LOG("MMCID_RS_SECONDS must be 1 to 100");
	if (getenv("MMCID_RS_FAKE_CID"))
		fake_cid = atol(getenv("MMCID_RS_FAKE_CID"));
}

FIXTURE_TEARDOWN(affinity)
{
	if (self->w)
		munmap(self->w, sizeof(*self->w));
}

/*
 * The threshold the widened mm gets with the fix: T(n) = max(min(n - n/4,
 * N/2), 1) for n allowed of N possible CPUs. The switch back needs users
 * (2) below it, so N >= 6 (run-vng.sh --cpus 4 --possible 8: 8 possible).
 */
static int fixed_threshold(int n, int possible)
{
	int t = n - n / 4;

	if (t > possible / 2)
		t = possible / 2;
	return t > 1 ? t : 1;
}

/* What the narrowing asserts was checked, for run_rounds(). */
static const char *const narrow_needs[] = { "fork_to_cpu", "exit_to_task", "affinity_same", NULL };

TEST_F_TIMEOUT(affinity, affinity_change_keeps_promises_and_c_agrees_with_rust, 120)
{
	struct widen *w = self->w;
	struct pattern *p = &w->p;
	long mism, rounds = 0;
	char model[64];
	bool stayed;

	if (variant->widen && fixed_threshold(self->online, self->possible) <= 2)
		SKIP(return, "widening to %d of %d possible CPUs cannot switch back with 2 users (needs 6 or more possible CPUs: boot 8 vCPUs with maxcpus=4)",
		     self->online, self->possible);
	ASSERT_EQ(0, reset_report());
	if (!variant->widen) {
		/*
		 * Twice the CPUs: past max_cids also with the +25% allowance
		 * of 8 possible CPUs.
		 */
		p->nr_threads = 2 * self->online;
		if (p->nr_threads > MAX_SAMPLERS)
			p->nr_threads = MAX_SAMPLERS;
		p->together = true;
		rounds = run_rounds(p, self->seconds, narrow_needs);
		ASSERT_LT(0, rounds) TH_LOG("could not create the round's threads");
	} else {
		cpu_set_t old;
		pid_t pid;
		int st;

		ASSERT_EQ(0, sched_getaffinity(0, sizeof(old), &old));
		pin(0);
		pid = fork();
		ASSERT_LE(0, pid);
		if (pid == 0)
			widen_worker(w);
		ASSERT_EQ(0, sched_setaffinity(0, sizeof(old), &old));
		ASSERT_EQ(pid, waitpid(pid, &st, 0));
		ASSERT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 0);
		rounds = 1;
	}

	mism = disagreements();
	print_status();
	ksft_print_msg("%ld rounds; rseq: %ld samples, %ld pairs compared (%ld discarded); module: affinity changes: same weight %ld, per task mode %ld, stay per CPU %ld, switch back %ld; deferred work: idle %ld, to per task %ld; to per CPU %ld, back %ld; %ld mismatches\n",
		       rounds, p->samples, p->compared, p->discarded,
		       read_report("affinity_same"), read_report("affinity_task_mode"),
		       read_report("affinity_stay_cpu"), read_report("affinity_switch_back"),
		       read_report("work_idle"), read_report("work_to_task"),
		       read_report("fork_to_cpu"), read_report("exit_to_task"), mism);

	EXPECT_EQ(0, p->out_of_range) TH_LOG("CID %u >= %d possible CPUs", p->bad_cid, p->nr_cpus);
	EXPECT_EQ(0, p->duplicates) TH_LOG("CID %u seen by two running threads", p->dup_cid);
	EXPECT_GT(p->compared, 0);
	EXPECT_EQ(0, mism) TH_LOG("C and Rust disagree: see the trace events mmcid_rs:*");
	EXPECT_EQ(0, read_report("live_locks"));
	EXPECT_EQ(0, undecided_over_bounds()) TH_LOG("too much not decided: a bug may hide in an allowance");
	/* Both mode directions checked while affinity changes ran or met them. */
	EXPECT_GT(read_report("fork_to_cpu"), 0) TH_LOG("no switch to per CPU mode was checked");
	if (!variant->widen) {
		EXPECT_GT(read_report("exit_to_task"), 0) TH_LOG("no switch back to per task mode was checked");
		EXPECT_GT(read_report("affinity_same"), 0) TH_LOG("no narrowing was checked");
		return;
	}

	/* The widening: did the mm leave per CPU mode? */
	ksft_print_msg("widen: before, main and T1 %s CPU0's CID; after, T1 saw %d distinct CIDs on %d CPUs: %u %u %u %u\n",
		       w->before_same ? "shared" : "did not share", w->distinct, w->cpus,
		       w->seen[0], w->seen[1], w->seen[2], w->seen[3]);
	ASSERT_TRUE(w->before_same) TH_LOG("the pinned mm did not enter per CPU mode");
	ASSERT_TRUE(w->distinct <= 2 || w->distinct >= 3) TH_LOG("cannot tell the mode");
	stayed = w->distinct >= 3;
	EXPECT_GT(read_report("affinity_stay_cpu") + read_report("affinity_switch_back"), 0)
		TH_LOG("no widening in per CPU mode was checked");
	module_variant(model, sizeof(model));
	if (!stayed) {
		EXPECT_GT(read_report("affinity_switch_back"), 0) TH_LOG("the switch back was not checked on the affinity path");
		EXPECT_GT(read_report("work_to_task"), 0) TH_LOG("the deferred work's switch back was not checked");
		return;
	}
	EXPECT_NE(0, strcmp(model, "affinity-switchback")) TH_LOG("per CPU mode kept after the widening, which variant %s switches back", model);
	if (_metadata->exit_code == KSFT_PASS)
		XFAIL_NOW(return, "7.3 keeps per CPU mode after a widening (mm_update_cpus_allowed(): pcpu_thrs <= users); the module agrees with %s", model);
}

/*
 * Every other caller of sched_mm_cid_fork() and sched_mm_cid_exit(), while
 * threads of the mm run and sample their CIDs: a process fork (the first
 * user of the mm dup_mm() made), vfork() and clone(CLONE_VM) without
 * CLONE_THREAD (a second process in the mm), execve() from a multithreaded
 * process (de_thread(), sched_mm_cid_before_execve() and _after_execve())
 * and a failed execve() while other threads run (_after_execve() back into
 * an mm with users).  Once in per task mode, once in per CPU mode.
 */

/*
 * MMCID_RS_CID_CHILD=1: this program was exec'd or forked as a lone
 * thread of a new mm, whose CID must be 0 (the lowest, and the mm has one
 * user).  Exit 0 if it is, 1 if not, 2 without rseq.
 */
#define CID_CHILD "MMCID_RS_CID_CHILD=1"

static void lone_thread_exit(void)
{
	int online = sysconf(_SC_NPROCESSORS_ONLN);
	cpu_set_t all;
	int c;

	if (!__rseq_size)
		_exit(2);
	/*
	 * Widen to every online CPU: an mm of one user in per task mode whose
	 * mask grows (the watcher's CPU is outside the test's affinity), the
	 * widening mm_update_cpus_allowed() makes in per task mode.
	 */
	CPU_ZERO(&all);
	for (c = 0; c < online && c < CPU_SETSIZE; c++)
		CPU_SET(c, &all);
	sched_setaffinity(0, sizeof(all), &all);
	_exit(my_cid() == 0 ? 0 : 1);
}

__attribute__((constructor)) static void cid_child(void)
{
	const char *e = getenv("MMCID_RS_CID_CHILD");

	if (e && !strcmp(e, "1"))
		lone_thread_exit();
}

static char *const cid_child_argv[] = { "mmcid_rs_test", NULL };
static char *const cid_child_envp[] = { CID_CHILD, NULL };

/*
 * A spinner samples and compares until told to stop, switched out only
 * when the scheduler says: a spinner that yielded would be switched out
 * and in across most forks and exits, whose walks then leave it out.
 */
static void *spin_thread(void *arg)
{
	struct thread_arg *a = arg;
	struct pattern *p = a->p;
	int j;

	while (!__atomic_load_n(&p->stop, __ATOMIC_ACQUIRE)) {
		for (j = 0; j < 64; j++)
			sample(p, &p->slots[a->idx]);
		compare(p, (a->idx + 1) % p->nr_threads);
	}
	return NULL;
}

static void *idle_thread(void *arg)
{
	for (;;)
		sched_yield();
	return arg;
}

/* A user that sleeps: it makes no context switch a check must leave out. */
static void *sleep_thread(void *arg)
{
	for (;;)
		pause();
	return arg;
}

/*
 * The clone(CLONE_VM) child has the parent's TLS, so no rseq area of its
 * own from libc: it registers this one, reads its CID a while and exits
 * 0 if it was always below the possible CPUs.  Only syscalls here.
 */
static struct rseq_abi clone_rseq;
#define RSEQ_SIG 0x53053053

static int clone_vm_child(void *arg)
{
	uint32_t cid, worst = 0;
	int i;

	if (syscall(__NR_rseq, &clone_rseq, sizeof(clone_rseq), 0, RSEQ_SIG))
		return 2;
	for (i = 0; i < 100; i++) {
		cid = __atomic_load_n(&clone_rseq.mm_cid, __ATOMIC_ACQUIRE);
		worst = cid > worst ? cid : worst;
		syscall(__NR_sched_yield);
	}
	return worst < (uint32_t)(long)arg ? 0 : 1;
}

/* The exit status of child @pid, or -1. */
static int reap(pid_t pid)
{
	int st;

	if (pid < 0 || waitpid(pid, &st, __WALL) != pid || !WIFEXITED(st))
		return -1;
	return WEXITSTATUS(st);
}

/* Affinity changes of an execve() stopped in its window, a round. */
#define EXEC_FLIPS 24

/*
 * An execve() stopped by ptrace at PTRACE_EVENT_EXEC, which exec_binprm()
 * reports after exec_mmap() and before bprm_execve() calls
 * sched_mm_cid_after_execve(): the child's mm is the new one, with no
 * user yet.  Its affinity changed EXEC_FLIPS times there, between
 * @allowed and every online CPU (the watcher's too: wider, so the child
 * never has to move), is mm_update_cpus_allowed()'s first return.  The
 * new program asserts its CID is 0.  The child's exit status, or -1.
 */
static int exec_stopped(const cpu_set_t *allowed)
{
	int online = sysconf(_SC_NPROCESSORS_ONLN);
	int st, i, c;
	cpu_set_t all;
	pid_t pid;

	CPU_ZERO(&all);
	for (c = 0; c < online && c < CPU_SETSIZE; c++)
		CPU_SET(c, &all);
	pid = fork();
	if (pid == 0) {
		if (ptrace(PTRACE_TRACEME, 0, NULL, NULL))
			_exit(3);
		raise(SIGSTOP);
		execve("/proc/self/exe", cid_child_argv, cid_child_envp);
		_exit(127);
	}
	if (pid < 0 || waitpid(pid, &st, 0) != pid || !WIFSTOPPED(st))
		return -1;
	if (ptrace(PTRACE_SETOPTIONS, pid, NULL, (void *)PTRACE_O_TRACEEXEC) ||
	    ptrace(PTRACE_CONT, pid, NULL, NULL) ||
	    waitpid(pid, &st, 0) != pid || st >> 8 != (SIGTRAP | (PTRACE_EVENT_EXEC << 8))) {
		kill(pid, SIGKILL);
		reap(pid);
		return -1;
	}
	for (i = 0; i < EXEC_FLIPS; i++)
		sched_setaffinity(pid, sizeof(all), (i & 1) ? allowed : &all);
	if (ptrace(PTRACE_DETACH, pid, NULL, NULL)) {
		kill(pid, SIGKILL);
		reap(pid);
		return -1;
	}
	return reap(pid);
}

/* The lowest CPU of @set, or -1. */
static int first_cpu(const cpu_set_t *set)
{
	int c;

	for (c = 0; c < CPU_SETSIZE; c++)
		if (CPU_ISSET(c, set))
			return c;
	return -1;
}

/* Affinity ladders a round of the callers: each path 100 times in make run. */
#define LADDERS 12

/*
 * The child of an affinity ladder, forked while its parent was pinned to
 * the first allowed CPU, so that its mm's mask is that CPU alone: @users
 * users (2 or 3) pass max_cids 1, per CPU mode; one user (a lone ladder)
 * stays in per task mode.  Main then widens
 * itself one allowed CPU at a time, each step a widening of the mm (in
 * per CPU mode past mm_update_cpus_allowed()'s "Adjust the threshold"),
 * with users equal to the new threshold or one above (docs/kselftest.md).
 * Exit 0 when main's CID stayed below the possible CPUs.
 */
static void ladder_child(const cpu_set_t *allowed, int users, int possible)
{
	cpu_set_t set;
	pthread_t t;
	int c, i;

	for (i = 1; i < users; i++)
		if (pthread_create(&t, NULL, sleep_thread, NULL))
			_exit(3);
	CPU_ZERO(&set);
	for (c = first_cpu(allowed); c >= 0 && c < CPU_SETSIZE; c++) {
		if (!CPU_ISSET(c, allowed))
			continue;
		CPU_SET(c, &set);
		if (sched_setaffinity(0, sizeof(set), &set) || my_cid() >= (uint32_t)possible)
			_exit(1);
	}
	_exit(0);
}

/* Last-user children a round of the callers: each path 100 times in make run. */
#define LAST_USERS 20

static void *return_thread(void *arg)
{
	return arg;
}

/* The lowest CPU of @set above @cpu, or -1. */
static int next_cpu(const cpu_set_t *set, int cpu)
{
	while (++cpu < CPU_SETSIZE)
		if (CPU_ISSET(cpu, set))
			return cpu;
	return -1;
}

/*
 * The child of a last-user step, forked while its parent was pinned to
 * the first allowed CPU (c0), so that its mm's mask is c0 alone: a
 * second thread passes max_cids 1 (per CPU mode, pcpu_thrs 1) and its
 * exit leaves main the last user in per CPU mode (1 is not below 1).
 * Main widens to c0 and c1 (pcpu_thrs stays 1) and moves to c1, which
 * then owns a CID beside c0's.  A failed execve() there is
 * sched_mm_cid_exit() of the last user in per CPU mode (the CPU's CID
 * handed to the task, then dropped; the mode flips to TRANSIT with no
 * user left, "ignore mode change") and a first user again after it (a
 * task owned CID).  Back on c0, which still owns its CID,
 * mm_cid_from_task() drops the CPU's CID for the task's own
 * (docs/kselftest.md).  Exit 0 when main's CID stayed below the
 * possible CPUs.
 */
static void last_user_child(const cpu_set_t *allowed, int bad_fd, int possible)
{
	int c0 = first_cpu(allowed), c1 = next_cpu(allowed, c0);
	cpu_set_t set;
	pthread_t t;

	if (pthread_create(&t, NULL, return_thread, NULL) || pthread_join(t, NULL))
		_exit(3);
	CPU_ZERO(&set);
	CPU_SET(c0, &set);
	CPU_SET(c1, &set);
	if (sched_setaffinity(0, sizeof(set), &set))
		_exit(3);
	pin(c1);
	if (my_cid() >= (uint32_t)possible)
		_exit(1);
	if (syscall(__NR_execveat, bad_fd, "", cid_child_argv, cid_child_envp,
		    AT_EMPTY_PATH) != -1 || errno != ENOEXEC)
		_exit(4);
	pin(c0);
	_exit(my_cid() >= (uint32_t)possible);
}

/*
 * A child forked while this thread is pinned to the first allowed CPU, so
 * that its mm's mask is that CPU alone: an affinity ladder of @users
 * users, or with @users 0 a last-user child.  Reaped: 0 when it passed.
 */
static int pinned_child(const cpu_set_t *allowed, int users, int bad_fd, int possible)
{
	pid_t pid;

	pin(first_cpu(allowed));
	pid = fork();
	if (pid == 0) {
		if (users)
			ladder_child(allowed, users, possible);
		last_user_child(allowed, bad_fd, possible);
	}
	sched_setaffinity(0, sizeof(*allowed), allowed);
	return reap(pid);
}

/* Lone ladders and compaction children a round: each path 100 times in make run. */
#define LONE_LADDERS 6
#define FAILED_EXECS 16
#define COMPACTIONS 10
#define COMPACT_THREADS 4
/* Walk-skip children a test, before its spinners start. */
#define WALK_SKIPS 60
#define WALK_SKIPS_MAIN_EXITS 20
#define WALK_SKIP_THREADS 16

/*
 * max_cids of @users users on @allowed of @possible CPUs:
 * min(users, allowed) + 25%, at most @possible (__mm_update_max_cids()).
 */
static int max_cids_of(int users, int allowed, int possible)
{
	int opt = users < allowed ? users : allowed;

	opt += opt / 4;
	return opt < possible ? opt : possible;
}

struct compact_thread {
	int go;			/* 1: exit now; 2: converge, then exit */
	int bound;		/* with 2: the new max_cids */
	uint32_t cid;		/* read once the thread runs, and last */
	int have;
	int sleeps;		/* schedule-ins it took to converge */
};

/* How long a compaction thread may sleep for its converge. */
#define COMPACT_MS 1000

/* Is CLOCK_MONOTONIC before @end? */
static bool before(const struct timespec *end)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return now.tv_sec < end->tv_sec ||
	       (now.tv_sec == end->tv_sec && now.tv_nsec < end->tv_nsec);
}

static void *compact_thread(void *arg)
{
	struct compact_thread *c = arg;
	struct timespec ts = { 0, 100000 }, end = { 0 };
	int go, i;

	c->cid = my_cid();
	__atomic_store_n(&c->have, 1, __ATOMIC_RELEASE);
	while (!(go = __atomic_load_n(&c->go, __ATOMIC_ACQUIRE)))
		sched_yield();
	/*
	 * Sleep: each wakeup is a schedule-in, where the converge runs, but
	 * only on a CPU whose slot of this mm holds a task's CID:
	 * mm_cid_from_task() takes the converge branch when
	 * cid_on_task(tcid | cpu_cid), and a CPU the mm never ran on has
	 * MM_CID_UNSET there (the task keeps its CID, and its slot gets it).
	 * On many CPUs a thread may wake on a new one each time, so it stays
	 * on the CPU it runs on, whose slot its own schedule-in filled.  The
	 * converge is a try ("Otherwise keep the provided"): at least three
	 * sleeps, and on while the CID is at or above the bound, for at most
	 * COMPACT_MS.
	 */
	if (go == 2) {
		pin(sched_getcpu());
		clock_gettime(CLOCK_MONOTONIC, &end);
		end.tv_sec += COMPACT_MS / 1000;
	}
	c->cid = my_cid();
	for (i = 0; go == 2 && (i < 3 || (c->cid >= (uint32_t)c->bound && before(&end))); i++) {
		nanosleep(&ts, NULL);
		c->cid = my_cid();
		c->sleeps = i + 1;
	}
	return NULL;
}

/*
 * The child of a compaction step: main and COMPACT_THREADS threads, users
 * within max_cids (per task mode), each with its own CID; the two threads
 * with the lowest CIDs exit, and max_cids shrinks below the CIDs the
 * others hold.  Their next schedule-in converges them into the lower CIDs
 * now free (mm_cid_from_task() -> mm_cid_converge(), the path that finds
 * one), some at the boundary cid == max_cids.  Exit 0 when the remaining
 * threads' last CIDs are below the new max_cids.
 */
static void compaction_child(int allowed, int possible)
{
	struct compact_thread c[COMPACT_THREADS] = { 0 };
	pthread_t t[COMPACT_THREADS];
	int i, j, low[2] = { -1, -1 }, bound;

	for (i = 0; i < COMPACT_THREADS; i++)
		if (pthread_create(&t[i], NULL, compact_thread, &c[i]))
			_exit(3);
	for (i = 0; i < COMPACT_THREADS; i++)
		while (!__atomic_load_n(&c[i].have, __ATOMIC_ACQUIRE))
			sched_yield();
	/* The two lowest CIDs go first. */
	for (j = 0; j < 2; j++) {
		for (i = 0; i < COMPACT_THREADS; i++)
			if (i != low[0] && (low[j] < 0 || c[i].cid < c[low[j]].cid))
				low[j] = i;
		__atomic_store_n(&c[low[j]].go, 1, __ATOMIC_RELEASE);
		pthread_join(t[low[j]], NULL);
	}
	bound = max_cids_of(COMPACT_THREADS - 1, allowed, possible);
	for (i = 0; i < COMPACT_THREADS; i++) {
		if (i == low[0] || i == low[1])
			continue;
		c[i].bound = bound;
		__atomic_store_n(&c[i].go, 2, __ATOMIC_RELEASE);
		pthread_join(t[i], NULL);
		if (c[i].cid >= (uint32_t)bound) {
			ksft_print_msg("compaction child: a thread kept CID %u over %d sleeps (%d ms), max_cids of %d users on %d of %d CPUs is %d\n",
				       c[i].cid, c[i].sleeps, COMPACT_MS, COMPACT_THREADS - 1,
				       allowed, possible, bound);
			fflush(stdout);
			_exit(1);
		}
		if (c[i].sleeps > 3) {
			ksft_print_msg("compaction child: CID %u below max_cids %d after %d sleeps\n",
				       c[i].cid, bound, c[i].sleeps);
			fflush(stdout);
		}
	}
	_exit(0);
}

/* Whether a compaction child's users fit max_cids on @allowed of @possible CPUs. */
static bool compactions_fit(int allowed, int possible)
{
	return COMPACT_THREADS + 1 <= max_cids_of(COMPACT_THREADS + 1, allowed, possible);
}

/* A compaction child, reaped: 0 when it passed. */
static int compaction(int allowed, int possible)
{
	pid_t pid = fork();

	if (pid == 0)
		compaction_child(allowed, possible);
	return reap(pid);
}

/* The threshold per CPU mode gets (mm_cid_calc_pcpu_thrs()). */
static int pcpu_thrs_of(int users, int allowed, int possible)
{
	int opt = users < allowed ? users : allowed, thrs = opt - opt / 4;

	if (thrs > possible / 2)
		thrs = possible / 2;
	return thrs > 1 ? thrs : 1;
}

/* Users a walk-skip child needs: the first count past max_cids. */
static int walk_skip_users(int allowed, int possible)
{
	int users = 1;

	while (users <= max_cids_of(users, allowed, possible))
		users++;
	return users;
}

struct skip_thread {
	int fd[2];	/* a pipe: EOF on fd[0] says exit */
	pid_t tid;
	/* The finisher, in a child whose main exits: main and the possible CPUs. */
	pthread_t main;
	int possible;
};

/* Sleep until this thread was switched out (a short sleep may end before it switches). */
static void switch_once(void)
{
	struct timespec ts = { 0, 100000 };
	struct rusage ru;
	long switches = -1;
	int i;

	for (i = 0; i < 100; i++) {
		getrusage(RUSAGE_THREAD, &ru);
		if (switches < 0)
			switches = ru.ru_nvcsw;
		else if (ru.ru_nvcsw != switches)
			break;
		nanosleep(&ts, NULL);
	}
}

/*
 * A sleeping thread of a walk-skip or walk-behind child, which exits at
 * EOF on its pipe.  The finisher instead waits in pthread_join() for main,
 * which the kernel wakes from main's exit_mm(), after its
 * sched_mm_cid_exit(); then it ends the process: exit 0 when its own CID
 * after a schedule-in is below the possible CPUs.
 */
static void *skip_thread(void *arg)
{
	struct skip_thread *t = arg;
	char c;

	__atomic_store_n(&t->tid, gettid(), __ATOMIC_RELEASE);
	if (t->possible) {
		pthread_join(t->main, NULL);
		switch_once();
		_exit(my_cid() >= (uint32_t)t->possible);
	}
	while (read(t->fd[0], &c, 1) < 0 && errno == EINTR)
		;
	return NULL;
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/*
 * The child of a walk-skip step: the branch of
 * mm_cid_fixup_cpus_to_tasks() that finds a CPU owning no CID with an
 * active user running on it without one, which it must leave alone
 * (MM_CID_UNSET, de3ab9bd3133).  Main creates sleeping threads until its
 * own clone() takes the users past max_cids: that fork switches the mm to
 * per CPU mode with main running, so main's CID goes in transit and its
 * CPU's slot gets a copy, no CPU owned CID (mm_cid_transit_to_cpu()).
 * Main's failed execve() drops that CID and comes back without one (per
 * CPU mode assigns lazily); main then spins, with no context switch,
 * while its threads exit one by one (an exit that overlaps another is not
 * decided), and the exit that takes the users below the threshold walks
 * back to per task mode past main's CPU.  Exit 0 when main's CID after
 * its next schedule-in is below the possible CPUs (until then 7.3 shows
 * it MM_CID_UNSET: docs/failed-execve-unset.md).
 *
 * With @main_exits, main stops letting threads go when the users are at
 * the threshold and exits itself, still without a context switch: its
 * sched_mm_cid_exit() switches the mm back on a CPU whose slot owns no
 * CID (mm_drop_cid_on_cpu() has nothing to drop: drop_on_cpu_none,
 * 1e83ccd5921a) and walks back from there.  The last thread, waiting for
 * main, then ends the process with the exit status.
 */
static void walk_skip_child(int bad_fd, int allowed, int possible, bool main_exits)
{
	int n = walk_skip_users(allowed, possible) - 1, i, go = n;
	struct skip_thread t[WALK_SKIP_THREADS] = { 0 };
	pthread_t pt[WALK_SKIP_THREADS];
	double end;

	if (n > WALK_SKIP_THREADS)
		_exit(3);
	for (i = 0; i < n; i++)
		if (pipe(t[i].fd))
			_exit(3);
	if (main_exits) {
		/* Main and n - go threads stay: the threshold's count of users. */
		go = n + 1 - pcpu_thrs_of(n + 1, allowed, possible);
		t[n - 1].main = pthread_self();
		t[n - 1].possible = possible;
	}
	for (i = 0; i < n; i++) {
		if (pthread_create(&pt[i], NULL, skip_thread, &t[i]))
			_exit(3);
		/* All but the last asleep before the next clone(). */
		while (i < n - 1 && !__atomic_load_n(&t[i].tid, __ATOMIC_ACQUIRE))
			;
	}
	/* Right after the switching clone(), before any context switch. */
	if (syscall(__NR_execveat, bad_fd, "", cid_child_argv, cid_child_envp,
		    AT_EMPTY_PATH) != -1 || errno != ENOEXEC)
		_exit(4);
	end = now() + 2;
	for (i = 0; i < go && now() < end; ) {
		pid_t tid = __atomic_load_n(&t[i].tid, __ATOMIC_ACQUIRE);

		if (t[i].fd[1] >= 0 && tid) {
			close(t[i].fd[1]);
			t[i].fd[1] = -1;
		}
		if (t[i].fd[1] < 0 && syscall(__NR_tgkill, getpid(), tid, 0) && errno == ESRCH)
			i++;
	}
	/*
	 * The thread's own exit, no context switch before do_exit():
	 * pthread_exit() would first unwind, loading libgcc_s on first use.
	 */
	if (main_exits)
		syscall(SYS_exit, 0);
	switch_once();
	_exit(my_cid() >= (uint32_t)possible);
}

/* The paths the walk-skip children drive, main spinning or exiting: steered to TESTED. */
static const char *const walk_skip_paths[] = { "path_fixup_cpu_curr_unset", NULL };
static const char *const main_exits_paths[] = { "path_drop_on_cpu_none", NULL };

/*
 * Whether walk-skip and walk-behind children fit @allowed of @possible
 * CPUs: their threads, and per CPU mode that can switch back (pcpu_thrs > 1).
 */
static bool walks_fit(int allowed, int possible)
{
	int users = walk_skip_users(allowed, possible);

	return users <= WALK_SKIP_THREADS + 1 && pcpu_thrs_of(users, allowed, possible) > 1;
}

/* A walk-skip child, reaped: 0 when it passed. */
static int walk_skip(int bad_fd, int allowed, int possible, bool main_exits)
{
	pid_t pid = fork();

	if (pid == 0)
		walk_skip_child(bad_fd, allowed, possible, main_exits);
	return reap(pid);
}

/*
 * WALK_SKIPS walk-skip children, then WALK_SKIPS_MAIN_EXITS whose main
 * exits, on quiet CPUs (a spinner would preempt main), when per CPU mode
 * can switch back (pcpu_thrs > 1), each kind on while its path is below
 * TESTED, until @deadline; the first child that failed, or 0.
 */
static int walk_skips(int bad_fd, int allowed, int possible, time_t deadline)
{
	int i, rc = 0;

	if (!walks_fit(allowed, possible))
		return 0;
	for (i = 0; !rc && (i < WALK_SKIPS || below_tested(walk_skip_paths, deadline)); i++)
		rc = walk_skip(bad_fd, allowed, possible, false);
	for (i = 0; !rc && (i < WALK_SKIPS_MAIN_EXITS || below_tested(main_exits_paths, deadline)); i++)
		rc = walk_skip(bad_fd, allowed, possible, true);
	return rc;
}

/* Walk-behind children a test, and the walks back each makes. */
#define WALK_BEHINDS 12
#define WALK_AHEADS 3
#define WALK_BEHIND_ROUNDS 8
/* The processes of another mm a walk-ahead child yields to, one a CPU: main's and two. */
#define MAX_RIVALS 3

/* The highest CPU of @set, or -1. */
static int last_cpu(const cpu_set_t *set)
{
	int cpu, last = -1;

	for (cpu = 0; cpu < CPU_SETSIZE; cpu++)
		if (CPU_ISSET(cpu, set))
			last = cpu;
	return last;
}

/*
 * A skip_thread that first leaves for @cpus; or, with @yield_on a CPU,
 * one that yields there to a process of another mm until @stop.
 */
struct behind_thread {
	struct skip_thread t;
	const cpu_set_t *cpus;
	int yield_on;
	int stop;
};

static void *behind_thread(void *arg)
{
	struct behind_thread *b = arg;

	if (b->yield_on < 0) {
		sched_setaffinity(0, sizeof(*b->cpus), b->cpus);
		return skip_thread(&b->t);
	}
	pin(b->yield_on);
	__atomic_store_n(&b->t.tid, gettid(), __ATOMIC_RELEASE);
	while (!__atomic_load_n(&b->stop, __ATOMIC_ACQUIRE))
		sched_yield();
	return NULL;
}

/* A process of another mm that yields on @cpu until its parent dies. */
static pid_t rival_on(int cpu)
{
	pid_t pid = fork();

	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		pin(cpu);
		for (;;)
			sched_yield();
	}
	return pid;
}

/*
 * The child of a walk-behind step: context switches of a user on a CPU
 * that the walk back to per task mode has not reached yet.  Main runs on
 * the highest allowed CPU, which mm_cid_fixup_cpus_to_tasks() walks last
 * of them, and yields to a process of another mm pinned there, so each
 * yield switches it out and in; its threads sleep on the other CPUs.  A
 * round: main creates threads until the users pass max_cids (per CPU
 * mode, main's CPU owns a CID from main's next schedule-in), then lets
 * them exit one by one, yielding all along; the exit that takes the users
 * below the threshold walks back from another CPU.  A switch of main
 * before the walk reaches its CPU takes the CPU's CID in transit
 * (mm_cid_from_task(), from_task_take_cpu), and a switch out before that
 * sees the walk still behind (mutant 26 ends the transition first).
 *
 * With @ahead, the walk the other way: the round's threads yield instead
 * of sleeping, spread over the two lowest other CPUs, each of which also
 * runs a process of another mm that yields, so that they switch out and
 * in all along (more yielders on many CPUs starve main under emulation).  When the round's last clone() switches the mm to per CPU mode,
 * mm_cid_fixup_tasks_to_cpus() walks the users one by one (newest first,
 * hlist_add_head() in sched_mm_cid_add_user()), and a switch-in of a
 * thread the walk has not reached yet finds its own task owned CID and a
 * CPU owning none: the CPU takes the task's CID (mm_cid_from_cpu(),
 * from_cpu_take_task).
 *
 * Exit 0 when main's CID stayed below the possible CPUs.
 */
static void walk_behind_child(const cpu_set_t *allowed, int possible, bool ahead)
{
	int n = walk_skip_users(CPU_COUNT(allowed), possible) - 1, r, i;
	struct behind_thread t[WALK_SKIP_THREADS];
	pthread_t pt[WALK_SKIP_THREADS];
	int last = last_cpu(allowed), cpu, nr_rivals = 0;
	cpu_set_t others = *allowed, yields;
	pid_t rival[MAX_RIVALS];
	int rc = 0;

	if (n > WALK_SKIP_THREADS)
		_exit(3);
	CPU_CLR(last, &others);
	CPU_ZERO(&yields);
	for (cpu = first_cpu(&others); ahead && cpu >= 0 && CPU_COUNT(&yields) < MAX_RIVALS - 1;
	     cpu = next_cpu(&others, cpu))
		CPU_SET(cpu, &yields);
	pin(last);
	/* Main's rival; with @ahead, one on each yielding CPU too. */
	CPU_SET(last, &yields);
	for (cpu = first_cpu(&yields); cpu >= 0; cpu = next_cpu(&yields, cpu))
		if ((rival[nr_rivals++] = rival_on(cpu)) < 0)
			_exit(3);
	CPU_CLR(last, &yields);
	for (r = 0; r < WALK_BEHIND_ROUNDS && !rc; r++) {
		cpu = -1;
		for (i = 0; i < n; i++) {
			if (ahead && (cpu = next_cpu(&yields, cpu)) < 0)
				cpu = first_cpu(&yields);
			t[i] = (struct behind_thread){
				.cpus = &others,
				.yield_on = ahead ? cpu : -1,
			};
			if (pipe(t[i].t.fd) || pthread_create(&pt[i], NULL, behind_thread, &t[i]))
				_exit(3);
		}
		for (i = 0; i < n; i++) {
			pid_t tid;

			while (!(tid = __atomic_load_n(&t[i].t.tid, __ATOMIC_ACQUIRE)))
				sched_yield();
			__atomic_store_n(&t[i].stop, 1, __ATOMIC_RELEASE);
			close(t[i].t.fd[1]);
			while (!syscall(__NR_tgkill, getpid(), tid, 0) || errno != ESRCH)
				sched_yield();
			pthread_join(pt[i], NULL);
			close(t[i].t.fd[0]);
		}
		if (my_cid() >= (uint32_t)possible)
			rc = 1;
	}
	for (i = 0; i < nr_rivals; i++) {
		kill(rival[i], SIGKILL);
		reap(rival[i]);
	}
	_exit(rc);
}

/* The paths the walk-behind and walk-ahead children drive: steered to TESTED. */
static const char *const walk_behind_paths[] = { "path_from_task_take_cpu", NULL };
static const char *const walk_ahead_paths[] = { "path_from_cpu_take_task", NULL };

/* A walk-behind (or, with @ahead, walk-ahead) child, reaped: 0 when it passed. */
static int walk_behind(const cpu_set_t *allowed, int possible, bool ahead)
{
	pid_t pid = fork();

	if (pid == 0)
		walk_behind_child(allowed, possible, ahead);
	return reap(pid);
}

/*
 * WALK_BEHINDS walk-behind children, then WALK_AHEADS walk-ahead ones,
 * when per CPU mode can switch back (pcpu_thrs > 1) and main has a CPU of
 * its own, each kind on while its path is below TESTED, until @deadline;
 * the first child that failed, or 0.
 */
static int walk_behinds(const cpu_set_t *allowed, int possible, time_t deadline)
{
	int i, rc = 0;

	if (CPU_COUNT(allowed) < 2 || !walks_fit(CPU_COUNT(allowed), possible))
		return 0;
	for (i = 0; !rc && (i < WALK_BEHINDS || below_tested(walk_behind_paths, deadline)); i++)
		rc = walk_behind(allowed, possible, false);
	for (i = 0; !rc && (i < WALK_AHEADS || below_tested(walk_ahead_paths, deadline)); i++)
		rc = walk_behind(allowed, possible, true);
	return rc;
}

/* One of each caller; the first child that failed, or 0. */
static int callers_once(struct pattern *p, int bad_fd, char *stack, size_t stack_size,
			const cpu_set_t *allowed, const char **what)
{
	pthread_t t[3];
	uint32_t cid;
	pid_t pid;
	int i;

	/* A process fork: the child is the first user of a new mm. */
	*what = "fork(): the child's CID is not 0";
	pid = fork();
	if (pid == 0)
		lone_thread_exit();
	if (reap(pid))
		return 1;
	/* vfork(), then exit: a second process of the mm leaves it. */
	*what = "vfork() and _exit()";
	pid = vfork();
	if (pid == 0)
		_exit(0);
	if (reap(pid))
		return 1;
	/* vfork(), then execve(): it leaves the mm for a new one. */
	*what = "vfork() and execve(): the new program's CID is not 0";
	pid = vfork();
	if (pid == 0) {
		execve("/proc/self/exe", cid_child_argv, cid_child_envp);
		_exit(127);
	}
	if (reap(pid))
		return 1;
	/* clone(CLONE_VM) without CLONE_THREAD. */
	*what = "clone(CLONE_VM): a CID at or above the possible CPUs";
	pid = clone(clone_vm_child, stack + stack_size, CLONE_VM | SIGCHLD,
		    (void *)(long)p->nr_cpus);
	if (reap(pid))
		return 1;
	/* execve() of a process with three threads running. */
	*what = "execve() from 4 threads: the new program's CID is not 0";
	pid = fork();
	if (pid == 0) {
		for (i = 0; i < 3; i++)
			if (pthread_create(&t[i], NULL, idle_thread, NULL))
				_exit(3);
		execve("/proc/self/exe", cid_child_argv, cid_child_envp);
		_exit(127);
	}
	if (reap(pid))
		return 1;
	*what = "execve() stopped at PTRACE_EVENT_EXEC: the new program's CID is not 0";
	if (exec_stopped(allowed))
		return 1;
	/*
	 * Affinity ladders, LADDERS a round, a third with 2 users and the
	 * rest with 3: equal to the threshold of each widened mask, or one
	 * above (the rarer).
	 */
	*what = "an affinity ladder: a CID at or above the possible CPUs";
	for (i = 0; i < LADDERS; i++)
		if (pinned_child(allowed, i % 3 ? 3 : 2, bad_fd, p->nr_cpus))
			return 1;
	/*
	 * Lone ladders: one user widening one CPU at a time, each step a
	 * widening in per task mode (mm_update_cpus_allowed()'s return
	 * before "Adjust the threshold").
	 */
	for (i = 0; i < LONE_LADDERS; i++)
		if (pinned_child(allowed, 1, bad_fd, p->nr_cpus))
			return 1;
	/* Compaction children: their users stay within max_cids. */
	*what = "a compaction child: a CID at or above the new max_cids after converging";
	for (i = 0; i < COMPACTIONS && compactions_fit(CPU_COUNT(allowed), p->nr_cpus); i++)
		if (compaction(CPU_COUNT(allowed), p->nr_cpus))
			return 1;
	/* Last-user children, LAST_USERS a round; they need two allowed CPUs. */
	*what = "a last-user child: a CID at or above the possible CPUs, or no ENOEXEC";
	for (i = 0; i < LAST_USERS && CPU_COUNT(allowed) > 1; i++)
		if (pinned_child(allowed, 0, bad_fd, p->nr_cpus))
			return 1;
	/*
	 * Failed execve() calls while the spinners run: not a program, so
	 * exec_binprm() fails (ENOEXEC) after sched_mm_cid_before_execve().
	 * The CID the thread is back in user space with, read before anything
	 * else: 7.3 leaves MM_CID_UNSET in per CPU mode until the next switch
	 * (docs/failed-execve-unset.md), which the spinners often bring
	 * first: FAILED_EXECS a round.
	 */
	*what = "execveat() of a file that is no program did not fail with ENOEXEC";
	for (i = 0; i < FAILED_EXECS; i++) {
		if (syscall(__NR_execveat, bad_fd, "", cid_child_argv, cid_child_envp,
			    AT_EMPTY_PATH) != -1 || errno != ENOEXEC)
			return 1;
		cid = my_cid();
		if (cid >= (uint32_t)p->nr_cpus) {
			p->unset_after_execve++;
			p->execve_cid = cid;
		}
	}
	return 0;
}

/* The paths the callers' steps drive that the rounds may leave below TESTED. */
static const char *const ladder_paths[] = { "path_affinity_thrs_near", "path_affinity_thrs_eq", NULL };
static const char *const lone_ladder_paths[] = { "path_affinity_task_mode", NULL };
static const char *const last_user_paths[] = { "path_from_task_drop_cpu", NULL };
static const char *const exec_stopped_paths[] = { "path_affinity_no_users", NULL };
static const char *const compact_paths[] = { "path_converge_moved", "path_from_task_max_eq", NULL };

/*
 * After the rounds, which on many CPUs under emulation are few: one more
 * of each step whose path is below TESTED, in turn, until none is or
 * @deadline, with the spinners stopped (a walk-skip child needs quiet
 * CPUs).  The first step that failed, or 0.
 */
static int steer_callers(int bad_fd, const cpu_set_t *allowed, int possible,
			 time_t deadline, const char **what)
{
	bool walks = walks_fit(CPU_COUNT(allowed), possible), more = true;
	int i, rc = 0;

	if (CPU_COUNT(allowed) < 2)
		return 0;
	for (i = 0; more && !rc; i++) {
		more = false;
		if (below_tested(ladder_paths, deadline)) {
			*what = "an affinity ladder: a CID at or above the possible CPUs";
			rc = pinned_child(allowed, i % 3 ? 3 : 2, bad_fd, possible);
			more = true;
		}
		if (!rc && below_tested(lone_ladder_paths, deadline)) {
			*what = "a lone ladder: a CID at or above the possible CPUs";
			rc = pinned_child(allowed, 1, bad_fd, possible);
			more = true;
		}
		if (!rc && below_tested(last_user_paths, deadline)) {
			*what = "a last-user child: a CID at or above the possible CPUs, or no ENOEXEC";
			rc = pinned_child(allowed, 0, bad_fd, possible);
			more = true;
		}
		if (!rc && below_tested(exec_stopped_paths, deadline)) {
			*what = "execve() stopped at PTRACE_EVENT_EXEC: the new program's CID is not 0";
			rc = exec_stopped(allowed);
			more = true;
		}
		if (!rc && compactions_fit(CPU_COUNT(allowed), possible) &&
		    below_tested(compact_paths, deadline)) {
			*what = "a compaction child: a CID at or above the new max_cids after converging";
			rc = compaction(CPU_COUNT(allowed), possible);
			more = true;
		}
		if (!rc && walks && below_tested(main_exits_paths, deadline)) {
			*what = "a walk-skip child: a CID at or above the possible CPUs, or no ENOEXEC";
			rc = walk_skip(bad_fd, CPU_COUNT(allowed), possible, true);
			more = true;
		}
		if (!rc && walks && below_tested(walk_ahead_paths, deadline)) {
			*what = "a walk-ahead child: a CID at or above the possible CPUs";
			rc = walk_behind(allowed, possible, true);
			more = true;
		}
	}
	return rc;
}

FIXTURE(callers) {
	struct pattern p;
	int seconds, online, bad_fd;
	char *stack;
	cpu_set_t allowed;
};

/*
 * With main, as many users as allowed CPUs (A) stays within max_cids, at
 * least A (per task mode); A + A/4 + 2 passes it, at most A + A/4 (per CPU
 * mode), with few CPUs running two spinners.
 */
FIXTURE_VARIANT(callers) {
	bool per_cpu;
};

FIXTURE_VARIANT_ADD(callers, per_task_mode) {
	.per_cpu = false,
};

FIXTURE_VARIANT_ADD(callers, per_cpu_mode) {
	.per_cpu = true,
};

#define CLONE_STACK (64 * 1024)

FIXTURE_SETUP(callers)
{
	static const char not_a_program[] = "mmcid_rs: not a program\n";
	const char *why = cannot_run();

	self->stack = MAP_FAILED;
	self->bad_fd = -1;
	if (why)
		SKIP(return, "%s", why);
	memset(&self->p, 0, sizeof(self->p));
	self->online = sysconf(_SC_NPROCESSORS_ONLN);
	self->p.nr_cpus = possible_cpus();
	ASSERT_GT(self->p.nr_cpus, 0);
	ASSERT_EQ(0, sched_getaffinity(0, sizeof(self->allowed), &self->allowed));
	self->p.nr_threads = CPU_COUNT(&self->allowed) - 1;
	if (variant->per_cpu)
		self->p.nr_threads += CPU_COUNT(&self->allowed) / 4 + 2;
	ASSERT_GT(self->p.nr_threads, 0);
	if (self->p.nr_threads > MAX_SAMPLERS)
		self->p.nr_threads = MAX_SAMPLERS;
	self->seconds = getenv("MMCID_RS_SECONDS") ? atoi(getenv("MMCID_RS_SECONDS")) : 5;
	ASSERT_GT(self->seconds, 0) TH_LOG("MMCID_RS_SECONDS must be 1 to 100");
	ASSERT_LE(self->seconds, 100) TH_LOG("MMCID_RS_SECONDS must be 1 to 100");
	self->stack = mmap(NULL, CLONE_STACK, PROT_READ | PROT_WRITE,
			   MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
	ASSERT_NE(MAP_FAILED, self->stack);
	self->bad_fd = memfd_create("mmcid_rs_not_a_program", MFD_CLOEXEC);
	ASSERT_LE(0, self->bad_fd);
	ASSERT_EQ((ssize_t)sizeof(not_a_program) - 1,
		  write(self->bad_fd, not_a_program, sizeof(not_a_program) - 1));
}

FIXTURE_TEARDOWN(callers)
{
	if (self->stack != MAP_FAILED)
		munmap(self->stack, CLONE_STACK);
	if (self->bad_fd >= 0)
		close(self->bad_fd);
}

/* What the callers fixture asserts was checked, as in run_rounds(). */
static const char *const callers_needs[] = {
	"caller_process_fork", "caller_shared_mm_fork", "caller_before_execve",
	"caller_after_execve", "caller_after_failed_execve", "caller_exit", NULL
};

TEST_F_TIMEOUT(callers, every_caller_keeps_promises_and_c_agrees_with_rust, 120)
{
	struct pattern *p = &self->p;
	struct thread_arg args[MAX_SAMPLERS];
	pthread_t th[MAX_SAMPLERS];
	time_t start = time(NULL), end, limit;
	const char *what = "";
	long rounds = 0, mism;
	int i, n, failed = 0;

	ASSERT_EQ(0, reset_report());
	what = "a walk-skip child: a CID at or above the possible CPUs, or no ENOEXEC";
	failed = walk_skips(self->bad_fd, CPU_COUNT(&self->allowed), p->nr_cpus,
			    start + self->seconds / 2);
	if (!failed) {
		what = "a walk-behind child: a CID at or above the possible CPUs";
		failed = walk_behinds(&self->allowed, p->nr_cpus, start + self->seconds / 2);
	}
	/*
	 * The rounds get their seconds after the children, whose time comes
	 * out of the grace (all of it within 110 s), and run at least once.
	 */
	ksft_print_msg("walk-skip and walk-behind children: %ld s\n", (long)(time(NULL) - start));
	limit = start + self->seconds + grace(self->seconds);
	end = time(NULL) + self->seconds;
	if (end > limit)
		end = limit;
	for (n = 0; n < p->nr_threads; n++) {
		args[n] = (struct thread_arg){ p, n, (unsigned int)n + 1 };
		if (pthread_create(&th[n], NULL, spin_thread, &args[n]))
			break;
	}
	while (n == p->nr_threads && !failed &&
	       (!rounds || time(NULL) < end ||
		(!all_checked(callers_needs) && time(NULL) < limit))) {
		failed = callers_once(p, self->bad_fd, self->stack, CLONE_STACK, &self->allowed, &what);
		rounds++;
	}
	__atomic_store_n(&p->stop, 1, __ATOMIC_RELEASE);
	for (i = 0; i < n; i++)
		pthread_join(th[i], NULL);
	ASSERT_EQ(p->nr_threads, n) TH_LOG("could not create the spinners");
	if (!failed) {
		/* Its own seconds, within the harness's 120 s. */
		time_t t = time(NULL), until = t + self->seconds < start + 110 ? t + self->seconds : start + 110;

		failed = steer_callers(self->bad_fd, &self->allowed, p->nr_cpus, until, &what);
		ksft_print_msg("steps steered after the rounds: %ld s\n", (long)(time(NULL) - t));
	}

	mism = disagreements();
	print_status();
	ksft_print_msg("%ld rounds of every caller beside %d spinners; rseq: %ld samples, %ld pairs compared (%ld discarded); %ld mismatches\n",
		       rounds, p->nr_threads, p->samples, p->compared, p->discarded, mism);

	EXPECT_EQ(0, failed) TH_LOG("%s", what);
	EXPECT_EQ(0, p->out_of_range) TH_LOG("CID %u >= %d possible CPUs", p->bad_cid, p->nr_cpus);
	EXPECT_EQ(0, p->duplicates) TH_LOG("CID %u seen by two running threads", p->dup_cid);
	EXPECT_EQ(0, mism) TH_LOG("C and Rust disagree: see the trace events mmcid_rs:*");
	EXPECT_EQ(0, read_report("live_locks"));
	/* Each caller checked and in agreement. */
	EXPECT_GT(read_report("caller_process_fork"), 0);
	EXPECT_GT(read_report("caller_shared_mm_fork"), 0);
	EXPECT_GT(read_report("caller_before_execve"), 0);
	EXPECT_GT(read_report("caller_after_execve"), 0);
	EXPECT_GT(read_report("caller_after_failed_execve"), 0);
	EXPECT_GT(read_report("caller_exit"), 0);
	/* The walk-skip children's walk back past a running task without a CID. */
	if (walks_fit(CPU_COUNT(&self->allowed), p->nr_cpus))
		EXPECT_GT(read_report("path_fixup_cpu_curr_unset"), 0);
	/* The last-user children's switch-in (mutant 17's precondition). */
	if (CPU_COUNT(&self->allowed) > 1)
		EXPECT_GT(read_report("path_from_task_drop_cpu"), 0);
	/* The compaction children's converge into a lower CID. */
	if (compactions_fit(CPU_COUNT(&self->allowed), p->nr_cpus))
		EXPECT_GT(read_report("path_converge_moved"), 0);
	EXPECT_EQ(0, undecided_over_bounds()) TH_LOG("too much not decided: a bug may hide in an allowance");
	/*
	 * rseq promises a CID below the possible CPUs; 7.3 breaks it after a
	 * failed execve() in per CPU mode, and the model, whichever variant,
	 * mirrors that (the module agrees): a known bug, an expected failure
	 * here.  A kernel that fixes it passes.
	 */
	ksft_print_msg("%ld failed execve() calls: %ld back in user space with a CID at or above %d possible CPUs (%#x)\n",
		       rounds * FAILED_EXECS, p->unset_after_execve, p->nr_cpus, p->execve_cid);
	if (p->unset_after_execve && _metadata->exit_code == KSFT_PASS)
		XFAIL_NOW(return, "7.3 returns from a failed execve() in per CPU mode with mm_cid %#x until the next switch (docs/failed-execve-unset.md); the module agrees",
			  p->execve_cid);
}

FIXTURE(mmcid) {
	struct pattern p;
	int seconds;
};

/* Threads created per round; 0: one per online CPU. */
FIXTURE_VARIANT(mmcid) {
	int threads;
};

/*
 * An mm with 201 users: every CPU's CID taken by many threads in turn, and
 * forks and exits whose snapshots hold 200 users.
 */
FIXTURE_VARIANT_ADD(mmcid, two_hundred_threads) {
	.threads = 200,
};

/*
 * The BPF CI pattern: one user more than CPUs, then back to one. Last, so
 * that the module's report afterwards (make run's verdict) is this one's.
 */
FIXTURE_VARIANT_ADD(mmcid, one_per_cpu) {
	.threads = 0,
};

FIXTURE_SETUP(mmcid)
{
	int online = sysconf(_SC_NPROCESSORS_ONLN);
	const char *why = cannot_run();

	if (why)
		SKIP(return, "%s", why);
	if (online < 2)
		SKIP(return, "needs 2 or more online CPUs");
	memset(&self->p, 0, sizeof(self->p));
	self->p.nr_cpus = possible_cpus();
	ASSERT_GT(self->p.nr_cpus, 0);
	/* With main, one more user than CPUs: past max_cids every round. */
	self->p.nr_threads = variant->threads ? variant->threads : online;
	self->p.together = !variant->threads;
	if (self->p.nr_threads > MAX_SAMPLERS)
		self->p.nr_threads = MAX_SAMPLERS;
	self->seconds = getenv("MMCID_RS_SECONDS") ? atoi(getenv("MMCID_RS_SECONDS")) : 5;
	ASSERT_GT(self->seconds, 0) TH_LOG("MMCID_RS_SECONDS must be 1 to 100");
	ASSERT_LE(self->seconds, 100) TH_LOG("MMCID_RS_SECONDS must be 1 to 100");
	if (getenv("MMCID_RS_FAKE_CID")) {
		fake_cid = atol(getenv("MMCID_RS_FAKE_CID"));
		ksft_print_msg("MMCID_RS_FAKE_CID: every thread sees CID %ld\n", fake_cid);
	}
}

FIXTURE_TEARDOWN(mmcid)
{
}

/* What the fork pattern asserts was checked, for run_rounds(). */
static const char *const pattern_needs[] = { "fork_to_cpu", "exit_to_task", NULL };

/* MMCID_RS_SECONDS may ask for up to 100 s; settings allows 240. */
TEST_F_TIMEOUT(mmcid, fork_pattern_keeps_promises_and_c_agrees_with_rust, 120)
{
	struct pattern *p = &self->p;
	long rounds, mism, agreed, ops, to_cpu, to_task;

	ASSERT_EQ(0, reset_report());
	rounds = run_rounds(p, self->seconds, pattern_needs);
	ASSERT_LT(0, rounds) TH_LOG("could not create the round's threads");

	agreed = read_report("agreed");
	ops = read_report("agreed_fork_exit");
	to_cpu = read_report("fork_to_cpu");
	to_task = read_report("exit_to_task");
	mism = disagreements();
	print_status();
	ksft_print_msg("%ld rounds; rseq: %ld samples, %ld pairs compared (%ld discarded); module: %ld switches and %ld forks/exits agreed, %ld to per CPU, %ld back, %ld mismatches\n",
		       rounds, p->samples, p->compared, p->discarded, agreed, ops,
		       to_cpu, to_task, mism);

	EXPECT_EQ(0, p->out_of_range) TH_LOG("CID %u >= %d possible CPUs", p->bad_cid, p->nr_cpus);
	EXPECT_EQ(0, p->duplicates) TH_LOG("CID %u seen by two running threads", p->dup_cid);
	EXPECT_GT(p->compared, 0);
	EXPECT_EQ(0, mism) TH_LOG("C and Rust disagree: see the trace events mmcid_rs:*");
	EXPECT_GT(agreed, 0);
	EXPECT_GT(to_cpu, 0) TH_LOG("no switch to per CPU mode was checked");
	EXPECT_GT(to_task, 0) TH_LOG("no switch back to per task mode was checked");
	EXPECT_EQ(0, read_report("live_locks")) TH_LOG("the module named a live lock: see /sys/kernel/debug/mmcid_rs/live_lock");
	EXPECT_EQ(0, read_report("unsupported")) TH_LOG("checks the model cannot hold (too many CPUs)");
	EXPECT_EQ(0, undecided_over_bounds()) TH_LOG("too much not decided: a bug may hide in an allowance");
}

TEST_HARNESS_MAIN
