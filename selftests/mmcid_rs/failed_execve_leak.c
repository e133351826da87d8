// SPDX-License-Identifier: GPL-2.0
/*
 * A CID that 7.3 leaks on a failed execve() (docs/failed-execve-leak.md).
 *
 * With pcpu_thrs 1 (num_possible_cpus() <= 3) the last user of an mm in
 * per CPU mode leaves it in TRANSIT mode ("Ignore mode change") with the
 * other CPUs still owning their CIDs.  If that last user exits while
 * another thread is inside a failed execve() (between
 * sched_mm_cid_before_execve() and sched_mm_cid_after_execve()), the
 * execve() thread comes back as the first user, and sched_mm_cid_fork()
 * stores its new CID in its CPU's slot ("Required for execve") without
 * dropping the CID that CPU owned: the bit stays set, owned by nobody,
 * for the life of the mm.  Each round below tries that interleaving:
 *
 *   main, pinned to CPU B: makes T and U on CPU A (3 users past max_cids
 *   2: per CPU mode), runs on B (B owns a CID), joins U, then
 *   execveat()s a file whose first bytes are not printable: every binfmt
 *   refuses it and execve() fails with ENOEXEC after sched_exec(),
 *   prepare_binprm()'s read of the first page and each load_binary(), a
 *   window of microseconds (7.3 calls no request_module() there);
 *   T, told that main is about to exec, waits a few hundred microseconds
 *   and exits: the last user while main is in the window.
 *
 * Once num_possible_cpus() - 1 CIDs leaked, two running threads of the mm
 * cannot both get one: mm_get_cid() spins in the scheduler with the
 * runqueue lock held, and the machine hangs.  So this program hangs a
 * 7.3 kernel; run it in a guest.
 *
 * A kernel that bounds that wait (patches/bounded-cid-wait) does not hang:
 * the thread whose allocation gave up runs with MM_CID_UNSET, and reads
 * an rseq mm_cid at or above the possible CPUs.  Each thread reads its
 * mm_cid after a schedule-in (main after its sleep, U and T on CPU A),
 * never right after the execve(), where 7.3 itself returns MM_CID_UNSET
 * in per CPU mode until the next switch (docs/failed-execve-unset.md).
 *
 * Usage: failed_execve_leak [-c] [ROUNDS]   (default 200; exit 0 when
 * done, 3 when the mmcid_rs module named a broken CID accounting, 4 when
 * the machine does not have the shape the race needs, 5 when a thread
 * read an mm_cid at or above the possible CPUs).  -c goes on past the
 * module's findings, for a kernel that does not hang.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdbool.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "rseq_cid.h"

static int cpu_a, cpu_b, possible;
static int go;
/* The first mm_cid at or above the possible CPUs a thread read, and who. */
static uint32_t bad_cid;
static const char *bad_who;

static void read_cid(const char *who)
{
	uint32_t cid = rseq_mm_cid();
	const char *none = NULL;

	if (cid >= (uint32_t)possible &&
	    __atomic_compare_exchange_n(&bad_who, &none, who, false, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
		bad_cid = cid;
}

static void pin(int cpu)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	if (sched_setaffinity(0, sizeof(set), &set)) {
		perror("sched_setaffinity");
		exit(1);
	}
}

static void spin_us(long us)
{
	struct timespec t0, t;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	do
		clock_gettime(CLOCK_MONOTONIC, &t);
	while ((t.tv_sec - t0.tv_sec) * 1000000 + (t.tv_nsec - t0.tv_nsec) / 1000 < us);
}

/* U: a user on CPU A that leaves before the execve(). */
static void *user_thread(void *arg)
{
	pin(cpu_a);
	read_cid("U");
	return arg;
}

/* T: the last user, exiting while main is in its execve() window. */
static void *last_thread(void *arg)
{
	pin(cpu_a);
	while (!__atomic_load_n(&go, __ATOMIC_ACQUIRE))
		;
	spin_us((long)arg);
	read_cid("T");
	return NULL;
}

/*
 * The mmcid_rs module's count of broken CID accountings, or -1 without
 * the module: with it, the program stops at the first leak it names,
 * before the next one can hang the machine.
 */
static long module_violations(void)
{
	FILE *f = fopen("/sys/kernel/debug/mmcid_rs/report", "r");
	char key[64];
	long v, n = -1;

	if (!f)
		return -1;
	while (fscanf(f, "%63s %ld", key, &v) == 2)
		if (!strcmp(key, "invariant_violations"))
			n = v;
	fclose(f);
	return n;
}

static int possible_cpus(void)
{
	FILE *f = fopen("/sys/devices/system/cpu/possible", "r");
	int lo, hi = -1;

	if (!f)
		return -1;
	if (fscanf(f, "%d-%d", &lo, &hi) < 1)
		hi = -1;
	else if (hi < 0)
		hi = lo;
	fclose(f);
	return hi + 1;
}

int main(int argc, char **argv)
{
	static const char not_a_program[] = "\x01\x02\x03\x04 not a program\n";
	static char *const args[] = { "failed_execve_leak", NULL };
	bool go_on = argc > 1 && !strcmp(argv[1], "-c");
	const char *n = argc > 1 + go_on ? argv[1 + go_on] : "200";
	long rounds = strtol(n, NULL, 10), r, named = 0;
	cpu_set_t allowed;
	pthread_t t, u;
	int fd, failed = 0;

	if (rounds < 1 || rounds > 1000000 || argc > 2 + go_on) {
		fprintf(stderr, "usage: failed_execve_leak [-c] [ROUNDS], ROUNDS 1 to 1000000, not '%s'\n", n);
		return 2;
	}
	possible = possible_cpus();
	if (possible > 3) {
		printf("needs num_possible_cpus() <= 3 (pcpu_thrs 1), this machine has %d\n",
		       possible);
		return 4;
	}
	if (!__rseq_size) {
		printf("needs rseq registered by libc (its mm_cid is what this reads)\n");
		return 4;
	}
	if (sched_getaffinity(0, sizeof(allowed), &allowed) || CPU_COUNT(&allowed) < 2) {
		printf("needs two allowed CPUs\n");
		return 4;
	}
	for (cpu_a = 0; !CPU_ISSET(cpu_a, &allowed); cpu_a++)
		;
	for (cpu_b = cpu_a + 1; !CPU_ISSET(cpu_b, &allowed); cpu_b++)
		;
	fd = memfd_create("failed_execve_leak", MFD_CLOEXEC);
	if (fd < 0 || write(fd, not_a_program, sizeof(not_a_program) - 1) < 0) {
		perror("memfd");
		return 1;
	}
	pin(cpu_b);
	for (r = 0; r < rounds; r++) {
		__atomic_store_n(&go, 0, __ATOMIC_RELEASE);
		if (pthread_create(&u, NULL, user_thread, NULL) ||
		    pthread_create(&t, NULL, last_thread, (void *)(r % 64 * 50L))) {
			perror("pthread_create");
			return 1;
		}
		/* Switch out and in on B: B owns a CID in per CPU mode. */
		usleep(1000);
		read_cid("main");
		pthread_join(u, NULL);
		__atomic_store_n(&go, 1, __ATOMIC_RELEASE);
		if (syscall(__NR_execveat, fd, "", args, args, AT_EMPTY_PATH) != -1 ||
		    errno != ENOEXEC) {
			perror("execveat did not fail with ENOEXEC");
			failed = 1;
		}
		pthread_join(t, NULL);
		/* The next round's first fork is the module's next snapshot. */
		if (!named && module_violations() > 0) {
			named = r + 1;
			printf("round %ld: mmcid_rs names a broken CID accounting (see dmesg)\n", r);
			if (!go_on)
				return 3;
		}
		if (__atomic_load_n(&bad_who, __ATOMIC_ACQUIRE)) {
			printf("round %ld: %s read rseq mm_cid %#x, at or above the %d possible CPUs\n",
			       r, bad_who, bad_cid, possible);
			return 5;
		}
		if ((r + 1) % 20 == 0)
			printf("round %ld\n", r + 1);
		fflush(stdout);
	}
	return failed;
}
