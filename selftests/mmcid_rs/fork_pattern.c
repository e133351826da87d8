// SPDX-License-Identifier: GPL-2.0
/*
 * The BPF CI fork pattern, as a plain program: per round, NR_CPUS-1
 * threads churn their affinity over the CPUs while the main thread
 * creates more threads past max_cids (task to CPU mode switch), then all
 * exit and are joined (CPU to task mode switch). NR_CPUS is the number
 * of CPUs the program may run on, so "taskset -c 0-3" leaves the others
 * out of it.
 *
 * Usage: fork_pattern [seconds [progress-every-n-rounds]]
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

static int nr_cpus;
static int cpus[CPU_SETSIZE];	/* the CPUs this program may run on */

static void *churn(void *arg)
{
	unsigned int seed = (unsigned long)arg;
	struct timespec ts = { 0, 20000 };
	cpu_set_t set;
	int i;

	for (i = 0; i < 20; i++) {
		CPU_ZERO(&set);
		CPU_SET(cpus[rand_r(&seed) % nr_cpus], &set);
		sched_setaffinity(0, sizeof(set), &set);
		if (i & 1)
			sched_yield();
		else
			nanosleep(&ts, NULL);
	}
	return NULL;
}

static double elapsed(const struct timespec *t0)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (t.tv_sec - t0->tv_sec) + (t.tv_nsec - t0->tv_nsec) / 1e9;
}

int main(int argc, char **argv)
{
	int seconds = argc > 1 ? atoi(argv[1]) : 5;
	long every = argc > 2 ? atol(argv[2]) : 0;
	time_t end = time(NULL) + seconds;
	struct timespec t0;
	cpu_set_t allowed;
	long rounds = 0;
	int i;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	if (sched_getaffinity(0, sizeof(allowed), &allowed)) {
		perror("fork_pattern: sched_getaffinity");
		return 4;
	}
	for (i = 0; i < CPU_SETSIZE; i++)
		if (CPU_ISSET(i, &allowed))
			cpus[nr_cpus++] = i;
	if (nr_cpus < 2) {
		fprintf(stderr, "fork_pattern: needs 2 or more CPUs\n");
		return 4;
	}
	while (time(NULL) < end) {
		int n = nr_cpus + 1;
		pthread_t th[64];

		/* nr_cpus - 1 churners, then two more: users > max_cids */
		for (i = 0; i < n && i < 64; i++)
			if (pthread_create(&th[i], NULL, churn, (void *)(long)(rounds * 64 + i)))
				return 1;
		for (i = 0; i < n && i < 64; i++)
			pthread_join(th[i], NULL);
		rounds++;
		if (every && rounds % every == 0) {
			printf("fork_pattern: %ld rounds at %.3f s\n", rounds, elapsed(&t0));
			fflush(stdout);
		}
	}
	printf("fork_pattern: %ld rounds in %d s\n", rounds, seconds);
	return 0;
}
