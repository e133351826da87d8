// SPDX-License-Identifier: GPL-2.0
/*
 * The snapshots of the mm_cid state that the fork, exit, affinity and
 * deferred work checks compare (glue/op.c takes one at a call's entry and
 * one at its return), and what makes them consistent: each CPU's switch
 * sequence (mmcid_track, which glue/switch.c's hooks write) and the calls
 * of each mm in flight.
 */
#include <linux/atomic.h>
#include <linux/hash.h>
#include <linux/mm_types.h>
#include <linux/cpumask.h>
#include <linux/percpu.h>
#include <linux/sched.h>
#include <linux/smp.h>
#include <linux/spinlock.h>
#include <linux/string.h>

#include "glue.h"
#include <mmcid_rs_layout.h>

/*
 * Checked forks, exits and deferred works per mm (hashed, so a collision
 * only makes the check more careful): how many began or ended, how many
 * are in flight. Affinity changes are counted apart (aff_*): a fork or
 * exit sees one that changed its mm in nr_cpus_allowed or update_deferred
 * (op.rs, raced_affinity), and the many that change nothing (a thread
 * narrowing its mask) need not make it not decided. An affinity check
 * counts both kinds.
 */
#define MMCID_OP_BUCKETS_BITS	6
static atomic_long_t op_seq[1 << MMCID_OP_BUCKETS_BITS];
static atomic_t op_in_flight[1 << MMCID_OP_BUCKETS_BITS];
static atomic_long_t aff_seq[1 << MMCID_OP_BUCKETS_BITS];
static atomic_t aff_in_flight[1 << MMCID_OP_BUCKETS_BITS];

static unsigned int op_bucket(struct mm_struct *mm)
{
	return hash_ptr(mm, MMCID_OP_BUCKETS_BITS);
}

void mmcid_snap_op_begin(struct mm_struct *mm, bool aff)
{
	unsigned int b = op_bucket(mm);

	atomic_inc(aff ? &aff_in_flight[b] : &op_in_flight[b]);
	atomic_long_inc(aff ? &aff_seq[b] : &op_seq[b]);
}

void mmcid_snap_op_end(struct mm_struct *mm, bool aff)
{
	unsigned int b = op_bucket(mm);

	atomic_long_inc(aff ? &aff_seq[b] : &op_seq[b]);
	atomic_dec(aff ? &aff_in_flight[b] : &op_in_flight[b]);
}

/*
 * The switch sequence of each possible CPU, read before and after
 * everything else of a snapshot: a CPU whose value is even and unchanged
 * ran no mm_cid_switch_to() while the snapshot was read.
 */
static void snap_seq_begin(struct mmcid_op_snap *s)
{
	int cpu;

	for_each_possible_cpu(cpu) {
		if (cpu >= MMCID_MAX_CPUS)
			break;
		s->cpus[cpu].seq = READ_ONCE(per_cpu_ptr(&mmcid_track, cpu)->seq);
	}
	smp_rmb();	/* pairs with the switch hooks' smp_wmb() */
}

/*
 * A CPU is stable for @mm when no context switch that may write @mm's
 * state ran on it while the snapshot was read: its sequence is unchanged,
 * and even, or odd for a switch whose prev and next are both of other mms
 * (mm_cid_switch_to() writes prev->mm's and next->mm's CIDs, bitmap and
 * this CPU's slot, and the tasks' own CIDs; nothing of any other mm).
 * Such a CPU's @curr is prev or next: no user of @mm either way.  Odd and
 * unchanged for a switch of @mm, it was inside that one switch throughout:
 * its prev and next go with it (op.rs leaves them and the slot out).
 */
static void snap_seq_end(struct mmcid_op_snap *s, struct mm_struct *mm)
{
	u64 elsewhere = 0;
	int cpu;

	smp_rmb();	/* the snapshot before the switches' tasks and mms */
	for_each_possible_cpu(cpu) {
		struct mmcid_cpu_track *k = per_cpu_ptr(&mmcid_track, cpu);
		struct mmcid_cpu_snap *c = &s->cpus[cpu];

		if (cpu >= MMCID_MAX_CPUS)
			break;
		c->prev = 0;
		c->next = 0;
		if (!(c->seq & 1))
			continue;
		if (READ_ONCE(k->mm[0]) != mm && READ_ONCE(k->mm[1]) != mm) {
			elsewhere |= BIT_ULL(cpu);
			continue;
		}
		c->prev = (unsigned long)READ_ONCE(k->prev);
		c->next = (unsigned long)READ_ONCE(k->next);
	}
	smp_rmb();	/* those before the sequences again */
	for_each_possible_cpu(cpu) {
		struct mmcid_cpu_snap *c = &s->cpus[cpu];

		if (cpu >= MMCID_MAX_CPUS)
			break;
		if (READ_ONCE(per_cpu_ptr(&mmcid_track, cpu)->seq) != c->seq)
			c->stable = MMCID_CPU_CHANGED;
		else if (!(c->seq & 1) || (elsewhere & BIT_ULL(cpu)))
			c->stable = MMCID_CPU_STABLE;
		else
			c->stable = MMCID_CPU_IN_SWITCH;
	}
}

/* No possible CPU was inside a context switch while @s was read. */
static bool snap_stable(const struct mmcid_op_snap *s)
{
	int cpu;

	for_each_possible_cpu(cpu) {
		if (cpu >= MMCID_MAX_CPUS)
			break;
		if (s->cpus[cpu].stable != MMCID_CPU_STABLE)
			return false;
	}
	return true;
}

/* Each possible CPU's slot and current task. */
static void snap_cpus(struct mmcid_op_snap *s, struct mm_struct *mm)
{
	int cpu;

	for_each_possible_cpu(cpu) {
		if (cpu >= MMCID_MAX_CPUS)
			break;
		/* An offline CPU is known to run no task of @mm. */
		s->cpus[cpu].curr = cpu_online(cpu) ?
			(unsigned long)READ_ONCE(per_cpu_ptr(&mmcid_track, cpu)->curr) :
			MMCID_CURR_OFFLINE;
		s->cpus[cpu].pcpu_cid = READ_ONCE(per_cpu_ptr(mm->mm_cid.pcpu, cpu)->cid);
	}
}

/*
 * How often snap_op() reads an mm while a CPU was inside a context switch:
 * each read is at most MMCID_OP_USERS users and MMCID_MAX_CPUS slots,
 * under mm_cid::lock with interrupts off.
 */
#define SNAP_TRIES 4

/*
 * What snap_op() reads under mm_cid::lock: all but the mutex, which no
 * new holder takes while the lock is held.
 */
static void snap_mm_state(struct mmcid_op_snap *s, struct task_struct *t,
			  struct mm_struct *mm, bool aff, unsigned int b, int cpu)
{
	struct task_struct *u;
	unsigned int n = 0;

	snap_seq_begin(s);
	s->op_seq = atomic_long_read(&op_seq[b]);
	s->ops_in_flight = atomic_read(&op_in_flight[b]);
	if (aff) {
		s->op_seq += atomic_long_read(&aff_seq[b]);
		s->ops_in_flight += atomic_read(&aff_in_flight[b]);
	}
	mmcid_snap_task(&s->cur, current);
	mmcid_snap_task(&s->t, t);
	s->t_cpu = task_cpu(t);
	mmcid_snap_mm(&s->mm, mm, cpu);
	s->pcpu_thrs = READ_ONCE(mm->mm_cid.pcpu_thrs);
	s->nr_cpus_allowed = READ_ONCE(mm->mm_cid.nr_cpus_allowed);
	s->update_deferred = READ_ONCE(mm->mm_cid.update_deferred);
	s->cpus_allowed = cpumask_bits(mm_cpus_allowed(mm))[0];
	s->t_cpus_mask = cpumask_bits(&t->cpus_mask)[0];
	s->t_in_execve = t->in_execve;
	hlist_for_each_entry(u, &mm->mm_cid.user_list, mm_cid.node) {
		if (n < MMCID_OP_USERS) {
			struct mmcid_user_snap *us = &s->users[n];

			us->task = (unsigned long)u;
			us->cid = READ_ONCE(u->mm_cid.cid);
			us->active = READ_ONCE(u->mm_cid.active);
			us->cpu = task_cpu(u);
			us->tid = u->pid;
			us->switches = READ_ONCE(u->nvcsw) + READ_ONCE(u->nivcsw);
		}
		n++;
	}
	s->nr_users = n;
	snap_cpus(s, mm);
	snap_seq_end(s, mm);
}

/*
 * Everything a fork or exit of @t reads or changes, under mm_cid::lock, so
 * that no other fork, exit or affinity change moves the users, the mode or
 * max_cids meanwhile (a walk of another fork or exit still may: see
 * ops_in_flight). A raw spinlock with interrupts off, as the C takes it: it
 * nests inside no lock here, and nothing in it sleeps.
 */
void mmcid_snap_op(struct mmcid_op_snap *s, struct task_struct *t,
		   struct mm_struct *mm, bool aff, unsigned long missed)
{
	unsigned int b = op_bucket(mm);
	unsigned long flags;
	int cpu = raw_smp_processor_id();
	int try;

	/*
	 * The header only: the rest is 10 KiB, and every entry read is
	 * written below: each possible CPU's (snap_seq_begin(), snap_cpus(),
	 * snap_seq_end()) and the first nr_users users (the Rust side reads
	 * no others).  Other CPUs' entries stay as the zeroed allocation left
	 * them, as the possible mask does not change.
	 */
	memset(s, 0, offsetof(struct mmcid_op_snap, cpus));
	s->cpu = cpu;
	s->nr_possible = num_possible_cpus();
	s->possible = mmcid_rs_possible_mask();
	s->switches = READ_ONCE(current->nvcsw) + READ_ONCE(current->nivcsw);
	s->missed = missed;
	raw_spin_lock_irqsave(&mm->mm_cid.lock, flags);
	/*
	 * Every CID write of a fork, exit or deferred work is made holding
	 * mm_cid::mutex, and a new holder takes mm_cid::lock (held here)
	 * before its first: unlocked now, no other call is mid-way, and what
	 * the last one wrote is visible (its unlock is a release).
	 */
	s->mutex_locked = mutex_is_locked(&mm->mm_cid.mutex);
	smp_rmb();	/* the mutex before the state it protects */
	/*
	 * A CPU inside a context switch may be moving a CID between its slot
	 * and a task of @mm: read everything again while one was, a bounded
	 * number of times (the switch writes no longer than its window).
	 */
	for (try = 1; ; try++) {
		snap_mm_state(s, t, mm, aff, b, cpu);
		if (try == SNAP_TRIES || snap_stable(s))
			break;
	}
	raw_spin_unlock_irqrestore(&mm->mm_cid.lock, flags);
}
