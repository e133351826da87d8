// SPDX-License-Identifier: GPL-2.0
/*
 * Live lock watchdog of mmcid_rs. mm_get_cid() is inlined into __schedule(),
 * so a CPU spinning in it is seen from outside: it passed the sched_switch
 * tracepoint and has not reached finish_task_switch(). glue/switch.c's
 * hooks mark both; a pinned timer on every CPU looks at the marks of all CPUs (at
 * most MMCID_MAX_CPUS: the module loads on no more), and the first CPU
 * still taking interrupts that has seen one CPU in the same switch for
 * stall_ms names it.
 *
 * The timers run only around the checked calls that change the mode: it
 * changes only inside sched_mm_cid_fork(), sched_mm_cid_exit() and the
 * deferred work mm_cid_work_fn() (an affinity change updates max_cids and
 * queues that work, mm_update_cpus_allowed()), under mm_cid::mutex, so a
 * switch can start to wait for a CID only while one of them is in flight. The first one to begin
 * arms the timers of all CPUs with add_timer_on(); a timer stops when none
 * has been in flight for two stall_ms and it saw no CPU inside a switch.
 * An idle system, or one whose checked process does not fork, has none.
 *
 * The timer takes no lock: the CPU it names holds its runqueue lock and
 * other CPUs may wait for it. What it reads it reads with
 * get_kernel_nofault() or under RCU, and it keeps the snapshot only if the
 * mark it started from is unchanged afterwards.
 */
#include <linux/atomic.h>
#include <linux/cpumask.h>
#include <linux/jiffies.h>
#include <linux/mm_types.h>
#include <linux/percpu.h>
#include <linux/rcupdate.h>
#include <linux/sched.h>
#include <linux/sched/clock.h>
#include <linux/sched/signal.h>
#include <linux/smp.h>
#include <linux/timer.h>
#include <linux/uaccess.h>

#include "glue.h"

/*
 * A context switch in progress: written by its CPU, read by the timers.
 * No clock is read on the switch path (under TCG a local_clock() per
 * switch cost more than both hooks together): the timers time it.
 */
struct mmcid_inflight {
	struct task_struct *next;
	unsigned long gen;	/* odd from sched_switch to finish_task_switch() */
};

static DEFINE_PER_CPU(struct mmcid_inflight, mmcid_inflight);

/* What one CPU's timer saw of each CPU's switch; only that timer writes it. */
struct mmcid_seen {
	struct {
		unsigned long gen;	/* the odd gen first seen ... */
		u64 since;		/* ... at this local_clock() */
	} cpu[MMCID_MAX_CPUS];
};

static DEFINE_PER_CPU(struct mmcid_seen, mmcid_seen);

/* sched_mm_cid_fork() calls in progress; more at once are not watched. */
#define MMCID_FORK_SLOTS 8

struct mmcid_fork_slot {
	struct task_struct *parent;
	struct task_struct *child;
	struct mm_struct *mm;
	u64 since;		/* 0: free */
};

static struct mmcid_fork_slot fork_slots[MMCID_FORK_SLOTS];
static atomic_t fork_used[MMCID_FORK_SLOTS];

/* Each CPU's timer; armed is 1 from the moment somebody arms it to its stop. */
struct mmcid_wd {
	struct timer_list timer;
	atomic_t armed;
};

static DEFINE_PER_CPU(struct mmcid_wd, mmcid_wd);
static atomic_long_t timer_starts, timer_stops;	/* for the status */
static atomic_t ops_inflight;	/* checked forks and exits */
static u64 last_op_end;		/* local_clock() when the last one ended */
static u64 stall_ns;
static unsigned long period;	/* jiffies */
static atomic_t reported;
static bool running;

/*
 * sched_switch, runqueue lock held: this CPU now switches to @next. False
 * if the watchdog is off (stall_ms=0) and nothing was marked.
 */
bool mmcid_rs_watch_switch_begin(struct task_struct *next)
{
	struct mmcid_inflight *f = this_cpu_ptr(&mmcid_inflight);

	if (!READ_ONCE(running))
		return false;
	WRITE_ONCE(f->next, next);
	smp_wmb();	/* next before gen; pairs with stall_of */
	WRITE_ONCE(f->gen, (f->gen | 1) + 2);	/* a new odd value */
	return true;
}

/*
 * finish_task_switch(), runqueue lock still held: the switch that
 * mmcid_rs_watch_switch_begin() marked on this CPU is done.
 */
void mmcid_rs_watch_switch_end(void)
{
	struct mmcid_inflight *f = this_cpu_ptr(&mmcid_inflight);

	WRITE_ONCE(f->gen, f->gen + 1);
}

/* Entry of a checked sched_mm_cid_fork(@t) by current: the slot to end, or -1. */
int mmcid_rs_watch_fork_begin(struct task_struct *t)
{
	int i;

	if (!READ_ONCE(running))
		return -1;
	for (i = 0; i < MMCID_FORK_SLOTS; i++) {
		struct mmcid_fork_slot *s = &fork_slots[i];

		if (atomic_cmpxchg(&fork_used[i], 0, 1))
			continue;
		WRITE_ONCE(s->parent, current);
		WRITE_ONCE(s->child, t);
		WRITE_ONCE(s->mm, t->mm);
		smp_wmb();	/* fields before since; pairs with fork_of */
		WRITE_ONCE(s->since, local_clock());
		return i;
	}
	return -1;
}

void mmcid_rs_watch_fork_end(int slot)
{
	if (slot < 0)
		return;
	WRITE_ONCE(fork_slots[slot].since, 0);
	atomic_set_release(&fork_used[slot], 0);
}

/*
 * Entry of a checked sched_mm_cid_fork() or sched_mm_cid_exit(): arm the
 * timers that are not; false if the watchdog is off. Pairs with the stop
 * in watchdog_fn(): either the timer sees this op in flight, or this sees
 * the timer stopped.
 */
bool mmcid_rs_watch_op_begin(void)
{
	int cpu;

	if (!READ_ONCE(running))
		return false;
	atomic_inc(&ops_inflight);
	smp_mb__after_atomic();	/* the count before armed; pairs with watchdog_fn */
	for_each_online_cpu(cpu) {
		struct mmcid_wd *w = per_cpu_ptr(&mmcid_wd, cpu);

		if (cpu >= MMCID_MAX_CPUS)
			break;
		if (atomic_read(&w->armed) || atomic_cmpxchg(&w->armed, 0, 1))
			continue;
		add_timer_on(&w->timer, cpu);
		atomic_long_inc(&timer_starts);
	}
	return true;
}

/* Return of an op that mmcid_rs_watch_op_begin() counted. */
void mmcid_rs_watch_op_end(void)
{
	WRITE_ONCE(last_op_end, local_clock());
	smp_mb__before_atomic();	/* the time before the count */
	atomic_dec(&ops_inflight);
}

static bool read_task(struct mmcid_task_snap *s, struct task_struct *t)
{
	struct mm_struct *mm;

	s->task = (unsigned long)t;
	if (get_kernel_nofault(mm, &t->mm))
		return false;
	s->mm = (unsigned long)mm;
	return !get_kernel_nofault(s->cid, &t->mm_cid.cid) &&
	       !get_kernel_nofault(s->active, &t->mm_cid.active) &&
	       !get_kernel_nofault(s->pid, &t->tgid) &&
	       !get_kernel_nofault(s->tid, &t->pid);
}

static bool read_mm(struct mmcid_stall_snap *s, struct mm_struct *mm)
{
	struct mm_cid_pcpu __percpu *pcpu;
	int cpu;

	s->mm = (unsigned long)mm;
	if (get_kernel_nofault(s->mode, &mm->mm_cid.mode) ||
	    get_kernel_nofault(s->max_cids, &mm->mm_cid.max_cids) ||
	    get_kernel_nofault(s->users, &mm->mm_cid.users) ||
	    get_kernel_nofault(s->pcpu_thrs, &mm->mm_cid.pcpu_thrs) ||
	    get_kernel_nofault(s->cidmask, (u64 *)mm_cidmask(mm)) ||
	    get_kernel_nofault(pcpu, &mm->mm_cid.pcpu))
		return false;
	for (cpu = 0; cpu < MMCID_MAX_CPUS && cpu < nr_cpu_ids; cpu++) {
		if (!cpu_possible(cpu))
			continue;
		if (get_kernel_nofault(s->pcpu_cid[cpu], &per_cpu_ptr(pcpu, cpu)->cid))
			return false;
	}
	return true;
}

/* The threads of @next, under RCU: @next was alive when RCU was entered. */
static void read_threads(struct mmcid_stall_snap *s, struct task_struct *next)
{
	struct task_struct *t;
	unsigned int n = 0;

	for_each_thread(next, t) {
		if (n < MMCID_STALL_TASKS && read_task(&s->tasks[n], t))
			s->task_cpu[n++] = task_cpu(t);
	}
	s->nr_tasks = n;
}

/* A fork in @mm that has not left sched_mm_cid_fork(), if any. */
static void fork_of(struct mmcid_stall_snap *s, struct mm_struct *mm, u64 now)
{
	int i;

	for (i = 0; i < MMCID_FORK_SLOTS; i++) {
		struct mmcid_fork_slot *f = &fork_slots[i];
		u64 since = READ_ONCE(f->since);

		smp_rmb();	/* since before the fields; pairs with fork_begin */
		if (!since || READ_ONCE(f->mm) != mm)
			continue;
		if (!read_task(&s->fork_parent, READ_ONCE(f->parent)) ||
		    !read_task(&s->fork_child, READ_ONCE(f->child)))
			continue;
		s->fork_cpu = task_cpu(READ_ONCE(f->parent));
		smp_rmb();	/* the fields before since again */
		if (READ_ONCE(f->since) != since)
			continue;
		s->fork_ns = now - since;
		return;
	}
}

/*
 * Snapshot CPU @cpu's switch if this timer has seen it in the same switch
 * for stall_ns, and it is still the same switch after the reads.
 */
static bool stall_of(struct mmcid_stall_snap *s, int cpu, u64 now,
		     struct mmcid_seen *seen)
{
	struct mmcid_inflight *f = per_cpu_ptr(&mmcid_inflight, cpu);
	unsigned long gen = READ_ONCE(f->gen);
	struct task_struct *next;
	struct mm_struct *mm;

	if (!(gen & 1)) {
		seen->cpu[cpu].gen = 0;
		return false;
	}
	if (seen->cpu[cpu].gen != gen) {
		seen->cpu[cpu].gen = gen;
		seen->cpu[cpu].since = now;
		return false;
	}
	if ((s64)(now - seen->cpu[cpu].since) < (s64)stall_ns)
		return false;
	smp_rmb();	/* gen before next; pairs with switch_begin */
	next = READ_ONCE(f->next);
	memset(s, 0, sizeof(*s));
	s->cpu = cpu;
	s->nr_possible = num_possible_cpus();
	s->possible = mmcid_rs_possible_mask();
	s->spin_ns = now - seen->cpu[cpu].since;
	/* Still in the switch, so @next lives until rcu_read_unlock(). */
	if (READ_ONCE(f->gen) != gen || !read_task(&s->next, next))
		return false;
	mm = (struct mm_struct *)(unsigned long)s->next.mm;
	if (!mm || !read_mm(s, mm))
		return false;
	read_threads(s, next);
	fork_of(s, mm, now);
	smp_rmb();	/* the reads before gen again */
	return READ_ONCE(f->gen) == gen;
}

/* Whether this timer has a switch in view, whose end it must see. */
static bool watchdog_check(u64 now)
{
	struct mmcid_seen *seen = this_cpu_ptr(&mmcid_seen);
	struct mmcid_stall_snap s;
	bool watching = false;
	int cpu;

	if (atomic_read(&reported))
		return false;
	rcu_read_lock();
	for_each_online_cpu(cpu) {
		if (cpu >= MMCID_MAX_CPUS)
			break;
		if (!stall_of(&s, cpu, now, seen)) {
			watching |= seen->cpu[cpu].gen != 0;
			continue;
		}
		if (!atomic_cmpxchg(&reported, 0, 1))
			mmcid_rs_live_lock(&s);
		break;
	}
	rcu_read_unlock();
	return watching;
}

/* A checked fork or exit is in flight or ended less than 2 stall_ms ago. */
static bool ops_recent(u64 now)
{
	if (atomic_read(&ops_inflight))
		return true;
	smp_rmb();	/* the count before the time; pairs with op_end */
	return (s64)(now - READ_ONCE(last_op_end)) < (s64)(2 * stall_ns);
}

static void watchdog_fn(struct timer_list *t)
{
	struct mmcid_wd *w = container_of(t, struct mmcid_wd, timer);
	u64 now = local_clock();

	if (!watchdog_check(now) && !ops_recent(now)) {
		atomic_set(&w->armed, 0);
		/* A plain store: a full barrier orders it before the count. */
		smp_mb();	/* pairs with op_begin */
		/* An op that began meanwhile re-arms it, or it re-arms itself. */
		if (!ops_recent(now) || atomic_cmpxchg(&w->armed, 0, 1)) {
			atomic_long_inc(&timer_stops);
			return;
		}
	}
	mod_timer(t, jiffies + period);
}

unsigned long mmcid_rs_watchdog_starts(void)
{
	return atomic_long_read(&timer_starts);
}

unsigned long mmcid_rs_watchdog_stops(void)
{
	return atomic_long_read(&timer_stops);
}

/*
 * Set up a timer on every CPU, to fire twice per @stall_ms once armed: a
 * timer first sees a switch at most half a stall_ms after it began, and
 * names it at most half a stall_ms after it has seen it for stall_ms.
 * Fewer wakeups matter under TCG on a small host, where an idle vCPU woken
 * by a timer takes a host CPU from the busy ones. A CPU brought online
 * later is armed by the next checked fork or exit; the timer of one taken
 * offline moves with the other timers and stops as they do.
 */
void mmcid_rs_watchdog_start(unsigned int stall_ms)
{
	int cpu;

	if (!stall_ms)
		return;
	stall_ns = (u64)stall_ms * NSEC_PER_MSEC;
	period = max(msecs_to_jiffies(stall_ms / 2), 1UL);
	atomic_set(&reported, 0);
	atomic_long_set(&timer_starts, 0);
	atomic_long_set(&timer_stops, 0);
	atomic_set(&ops_inflight, 0);
	WRITE_ONCE(last_op_end, local_clock() - 2 * stall_ns);
	for_each_possible_cpu(cpu) {
		struct mmcid_wd *w = per_cpu_ptr(&mmcid_wd, cpu);

		timer_setup(&w->timer, watchdog_fn, TIMER_PINNED);
		atomic_set(&w->armed, 0);
	}
	smp_wmb();	/* the timers before running; pairs with READ_ONCE */
	WRITE_ONCE(running, true);
}

void mmcid_rs_watchdog_stop(void)
{
	int cpu;

	if (!running)
		return;
	WRITE_ONCE(running, false);
	/*
	 * Waits for a callback that is running; add_timer_on() and
	 * mod_timer() by an op or a callback still in flight do nothing
	 * after it.
	 */
	for_each_possible_cpu(cpu)
		timer_shutdown_sync(&per_cpu_ptr(&mmcid_wd, cpu)->timer);
}
