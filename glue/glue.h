/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What the C files of glue/ share and Rust does not see (the contract with
 * Rust is include/mmcid_rs.h): the switch hooks (switch.c), the fork, exit,
 * affinity and deferred work probes (op.c), the snapshots both take
 * (snapshot.c) and the watchdog (watchdog.c).  Each file includes this one
 * and calls only what it declares; none calls back into a file that calls
 * it.
 */
#ifndef MMCID_RS_GLUE_H
#define MMCID_RS_GLUE_H

#include <linux/cpumask.h>
#include <linux/mm_types.h>
#include <linux/percpu.h>
#include <linux/sched.h>

#include <mmcid_rs.h>

/* cpu_possible_mask as far as MMCID_MAX_CPUS. */
static inline u64 mmcid_rs_possible_mask(void)
{
	return cpumask_bits(cpu_possible_mask)[0];
}

/*
 * Each CPU's switches, for the fork and exit checks: @seq is odd from the
 * sched_switch tracepoint to finish_task_switch() (mm_cid_switch_to() runs
 * in between), @curr is rq->curr as the tracepoint saw it; @prev, @next
 * and their mms @mm are those of the switch @seq last went odd for,
 * written before it.  Written by switch.c's hooks, read by snapshot.c.
 */
struct mmcid_cpu_track {
	unsigned long seq;
	struct task_struct *curr;
	struct task_struct *prev, *next;
	struct mm_struct *mm[2];
};

DECLARE_PER_CPU(struct mmcid_cpu_track, mmcid_track);

/* pid=, read-only once loaded (switch.c): the switch path makes no call. */
extern int mmcid_filter_pid;

/* snapshot.c: a task's and an mm's mm_cid state, inline on the switch path. */
static inline void mmcid_snap_task(struct mmcid_task_snap *s, struct task_struct *t)
{
	s->task = (unsigned long)t;
	s->mm = (unsigned long)t->mm;
	s->cid = READ_ONCE(t->mm_cid.cid);
	s->active = READ_ONCE(t->mm_cid.active);
	s->pid = t->tgid;
	s->tid = t->pid;
}

static inline void mmcid_snap_mm(struct mmcid_mm_snap *s, struct mm_struct *mm, int cpu)
{
	s->mm = (unsigned long)mm;
	s->mode = READ_ONCE(mm->mm_cid.mode);
	s->max_cids = READ_ONCE(mm->mm_cid.max_cids);
	s->users = READ_ONCE(mm->mm_cid.users);
	s->pcpu_cid = READ_ONCE(per_cpu_ptr(mm->mm_cid.pcpu, cpu)->cid);
	s->cidmask = READ_ONCE(mm_cidmask(mm)[0]);
}

/*
 * snapshot.c: a checked call of @mm (an affinity change if @aff) begins or
 * ends, for the snapshots of the other calls of its mm; and the snapshot
 * of a fork, exit, affinity change or deferred work of @t, @missed the
 * probes' misses so far.
 */
void mmcid_snap_op_begin(struct mm_struct *mm, bool aff);
void mmcid_snap_op_end(struct mm_struct *mm, bool aff);
void mmcid_snap_op(struct mmcid_op_snap *s, struct task_struct *t,
		   struct mm_struct *mm, bool aff, unsigned long missed);

/* op.c: the four probes, registered in one go and unregistered. */
int mmcid_op_register(void);
void mmcid_op_unregister(void);

/* watchdog.c: told by the hooks where each CPU is. */
bool mmcid_rs_watch_switch_begin(struct task_struct *next);
void mmcid_rs_watch_switch_end(void);
int mmcid_rs_watch_fork_begin(struct task_struct *t);
void mmcid_rs_watch_fork_end(int slot);
bool mmcid_rs_watch_op_begin(void);
void mmcid_rs_watch_op_end(void);

#endif /* MMCID_RS_GLUE_H */
