// SPDX-License-Identifier: GPL-2.0
/*
 * Context switch rate: two threads of one process, pinned to one CPU,
 * bounce a byte through two pipes.  Prints round trips per second.
 *
 * Usage: pingpong [seconds]
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

static int ping[2], pong[2];

static void pin(void)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(0, &set);
	sched_setaffinity(0, sizeof(set), &set);
}

static void *echo(void *arg __attribute__((unused)))
{
	char c;

	pin();
	while (read(ping[0], &c, 1) == 1)
		if (write(pong[1], &c, 1) != 1)
			break;
	return NULL;
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	double seconds = argc > 1 ? atof(argv[1]) : 1, t0, t;
	long n = 0;
	pthread_t th;
	char c = 0;

	if (pipe(ping) || pipe(pong))
		return 1;
	pin();
	if (pthread_create(&th, NULL, echo, NULL))
		return 1;
	t0 = now();
	do {
		if (write(ping[1], &c, 1) != 1 || read(pong[0], &c, 1) != 1)
			return 1;
		n++;
		t = now();
	} while (t - t0 < seconds);
	printf("%.0f\n", n / (t - t0));
	return 0;
}
