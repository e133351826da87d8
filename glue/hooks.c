// SPDX-License-Identifier: GPL-2.0
/*
 * C glue of mmcid_rs: attaches to the scheduler where Rust cannot reach and
 * snapshots the mm_cid state around mm_cid_switch_to().
 *
 * The sched_switch tracepoint runs in __schedule() with the runqueue lock
 * held, before context_switch() calls mm_cid_switch_to(); the entry of
 * finish_task_switch() runs after it, on the new task's stack, still under
 * the same runqueue lock. sched_switch is not exported to modules and is
 * found with for_each_kernel_tracepoint(); finish_task_switch() is a local
 * symbol that GCC may rename (finish_task_switch.isra.0), so the forms a
 * local clone can take are tried in turn, as ftrace filters. An ftrace_ops
 * there costs less than a kprobe, which would sit on the same ftrace call
 * site but save all registers for its handler.
 */
#include <linux/ftrace.h>
#include <linux/hash.h>
#include <linux/kprobes.h>
#include <linux/mm_types.h>
#include <linux/cpumask.h>
#include <linux/module.h>
#include <linux/percpu.h>
#include <linux/printk.h>
#include <linux/sched.h>
#include <linux/smp.h>
#include <linux/string.h>
#include <linux/vmalloc.h>
#include <linux/tracepoint.h>

#include <mmcid_rs.h>
#include <mmcid_rs_layout.h>

/*
 * The pre-switch snapshots of each CPU, waiting for its finish_task_switch():
 * one per mm whose state mm_cid_switch_to() changes (two when prev drops a
 * CID in transit of one mm and next takes one of another).
 */
struct mmcid_pending {
	struct mmcid_switch_snap pre[2];
	struct task_struct *prev;
	struct mm_struct *mm[2];
	int nr;		/* snapshots taken; 0: nothing to check */
	bool watched;	/* the watchdog marked the switch's beginning */
};

static DEFINE_PER_CPU(struct mmcid_pending, mmcid_pending);

/*
 * Each CPU's switches, for the fork and exit checks: @seq is odd from the
 * sched_switch tracepoint to finish_task_switch() (mm_cid_switch_to() runs
 * in between), @curr is rq->curr as the tracepoint saw it; @prev, @next
 * and their mms @mm are those of the switch @seq last went odd for,
 * written before it.
 */
struct mmcid_cpu_track {
	unsigned long seq;
	struct task_struct *curr;
	struct task_struct *prev, *next;
	struct mm_struct *mm[2];
};

static DEFINE_PER_CPU(struct mmcid_cpu_track, mmcid_track);
static struct tracepoint *tp_sched_switch;
static bool probes_registered;
/* pid=, read-only once loaded: kept here so the switch path makes no call. */
static int filter_pid;
/*
 * The mm of pid= (the last one a checked call of that tgid had), so that
 * the deferred work, which runs in a kworker, is filtered as the rest. An
 * identity only: never dereferenced.
 */
static struct mm_struct *filter_mm;

static void snap_task(struct mmcid_task_snap *s, struct task_struct *t)
{
	s->task = (unsigned long)t;
	s->mm = (unsigned long)t->mm;
	s->cid = READ_ONCE(t->mm_cid.cid);
	s->active = READ_ONCE(t->mm_cid.active);
	s->pid = t->tgid;
	s->tid = t->pid;
}

static void snap_mm(struct mmcid_mm_snap *s, struct mm_struct *mm, int cpu)
{
	s->mm = (unsigned long)mm;
	s->mode = READ_ONCE(mm->mm_cid.mode);
	s->max_cids = READ_ONCE(mm->mm_cid.max_cids);
	s->users = READ_ONCE(mm->mm_cid.users);
	s->pcpu_cid = READ_ONCE(per_cpu_ptr(mm->mm_cid.pcpu, cpu)->cid);
	s->cidmask = READ_ONCE(mm_cidmask(mm)[0]);
}

static void snap_switch(struct mmcid_switch_snap *s, struct task_struct *prev,
			struct task_struct *next, struct mm_struct *mm, int cpu)
{
	s->cpu = cpu;
	s->nr_possible = num_possible_cpus();
	s->possible = mmcid_rs_possible_mask();
	snap_task(&s->prev, prev);
	snap_task(&s->next, next);
	snap_mm(&s->mm, mm, cpu);
}

/*
 * Does the switch out of @prev (with an mm) need a snapshot of its mm?
 * mm_cid_schedout() acts on a CID in transit.  It does nothing with a CPU
 * owned one, but one in an mm whose mode reads per task is checked too:
 * the walk back to per task mode takes it first (invariants::walk_passed()).
 * That costs a read of the mode, only for a prev with a CPU owned CID.
 */
static bool switch_out_checked(struct task_struct *prev)
{
	unsigned int cid = READ_ONCE(prev->mm_cid.cid);

	if (cid & MM_CID_TRANSIT)
		return true;
	return (cid & (MM_CID_ONCPU | MM_CID_UNSET)) == MM_CID_ONCPU &&
	       !READ_ONCE(prev->mm->mm_cid.mode);
}

/*
 * A switch that concerns the process of pid= (any, without it): mark it for
 * the watchdog if @ours (the filter holds for the watchdog too: it watches
 * what is checked), and snapshot each mm whose state mm_cid_switch_to()
 * changes: mm_cid_schedin() acts on an active @next, mm_cid_schedout() on a
 * @prev holding a CID in transit (see switch_out_checked()).
 */
static noinline void switch_begin(struct mmcid_pending *p,
				  struct task_struct *prev,
				  struct task_struct *next, bool ours)
{
	bool active = next->mm && READ_ONCE(next->mm_cid.active);
	/*
	 * A task of an mm that is no user of it (between execve()'s
	 * sched_mm_cid_before_execve() and _after_execve(), after exit's
	 * sched_mm_cid_exit()) is rare and checked too: mm_cid_schedin()
	 * must leave it alone.  Only a user can spin.
	 */
	bool in = next->mm;
	bool out = prev->mm && switch_out_checked(prev);
	int cpu = smp_processor_id();

	p->watched = active && ours && mmcid_rs_watch_switch_begin(next);
	p->prev = prev;
	if (out)
		p->mm[p->nr++] = prev->mm;
	if (in && !(out && prev->mm == next->mm))
		p->mm[p->nr++] = next->mm;
	if (p->nr > 0)
		snap_switch(&p->pre[0], prev, next, p->mm[0], cpu);
	if (p->nr > 1)
		snap_switch(&p->pre[1], prev, next, p->mm[1], cpu);
}

/* TP_PROTO(bool preempt, struct task_struct *prev, struct task_struct *next,
 *	    unsigned int prev_state), runqueue lock held. A switch that is
 * filtered out costs two tests and four stores here.
 */
static void probe_sched_switch(void *data, bool preempt,
			       struct task_struct *prev,
			       struct task_struct *next,
			       unsigned int prev_state)
{
	struct mmcid_pending *p = this_cpu_ptr(&mmcid_pending);
	struct mmcid_cpu_track *k = this_cpu_ptr(&mmcid_track);
	int pid = filter_pid;
	bool ours = !pid || next->tgid == pid;

	p->nr = 0;
	p->watched = false;
	if (ours || prev->tgid == pid)
		switch_begin(p, prev, next, ours);
	/*
	 * The mms the switch may write (mm_cid_schedout() touches prev->mm's
	 * state only, mm_cid_schedin() next->mm's), after the last even
	 * value and before the new odd one: a snapshot that reads them
	 * between two equal odd values reads this switch's (snap_seq_end()).
	 */
	smp_wmb();
	WRITE_ONCE(k->prev, prev);
	WRITE_ONCE(k->next, next);
	WRITE_ONCE(k->mm[0], prev->mm);
	WRITE_ONCE(k->mm[1], next->mm);
	smp_wmb();
	/*
	 * A new odd value, then what the switch changes: from here to
	 * finish_task_switch(), mm_cid_switch_to() writes.  switch_begin()
	 * only read, so it stays outside, and a CPU is odd no longer than
	 * the C's writes need.
	 */
	WRITE_ONCE(k->seq, (k->seq | 1) + 2);
	smp_wmb();	/* pairs with snap_cpus() */
	WRITE_ONCE(k->curr, next);
}

/*
 * The check of a switch whose pre-state was taken. Out of line: its
 * snapshot on the stack is zeroed on entry (CONFIG_INIT_STACK_ALL_ZERO),
 * which a switch that is not checked should not pay for.
 */
static noinline void check_pending(struct mmcid_pending *p)
{
	struct mmcid_switch_snap post;
	int i, n = p->nr;

	p->nr = 0;
	for (i = 0; i < n; i++) {
		snap_switch(&post, p->prev, current, p->mm[i], smp_processor_id());
		mmcid_rs_check_switch(&p->pre[i], &post);
	}
}

/*
 * Entry of finish_task_switch(), from its ftrace call site: current is the
 * task switched to. Runs with the runqueue lock held and interrupts off,
 * so it needs neither the registers of a kprobe nor ftrace's recursion
 * guard: nothing it calls is traced by this ftrace_ops.
 */
static void ft_finish_task_switch(unsigned long ip, unsigned long parent_ip,
				  struct ftrace_ops *op, struct ftrace_regs *fregs)
{
	struct mmcid_pending *p = this_cpu_ptr(&mmcid_pending);
	struct mmcid_cpu_track *k = this_cpu_ptr(&mmcid_track);

	/*
	 * An even value (+2 when the tracepoint was missed: loaded
	 * meanwhile) as soon as mm_cid_switch_to() is done: the check
	 * below only reads.
	 */
	smp_wmb();	/* pairs with snap_cpus() */
	WRITE_ONCE(k->seq, k->seq + ((k->seq & 1) ? 1 : 2));
	if (p->watched) {
		p->watched = false;
		mmcid_rs_watch_switch_end();
	}
	if (p->nr)
		check_pending(p);
}

/*
 * No FTRACE_OPS_FL_RECURSION: that flag asks ftrace to wrap the callback in
 * ftrace_ops_assist_func(), a recursion and preemption guard it does not
 * need; without it the ops' trampoline calls it directly.
 */
static struct ftrace_ops finish_ops = {
	.func = ft_finish_task_switch,
};

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
/* Affinity changes not checked because their task's mm changed. */
static atomic_long_t aff_missed;

static unsigned int op_bucket(struct mm_struct *mm)
{
	return hash_ptr(mm, MMCID_OP_BUCKETS_BITS);
}

static struct kretprobe krp_fork, krp_exit, krp_affinity, krp_work;

/*
 * The entry snapshots of the calls in flight. A kretprobe instance carries
 * at most KRETPROBE_MAX_DATA_SIZE (4 KiB), a snapshot with every user is
 * larger: they are in a pool allocated at load, one per instance of both
 * probes, so that an instance always finds one. A call that did not is
 * still counted in flight (other calls of its mm see the overlap) and
 * counted as missed.
 */
#define MMCID_OP_MAXACTIVE	64
#define MMCID_AFF_MAXACTIVE	16
#define MMCID_WORK_MAXACTIVE	4
#define MMCID_OP_PRE		(2 * MMCID_OP_MAXACTIVE + MMCID_AFF_MAXACTIVE + \
				 MMCID_WORK_MAXACTIVE)
static struct mmcid_op_snap *op_pre;
static DECLARE_BITMAP(op_pre_busy, MMCID_OP_PRE);
static atomic_long_t op_pre_missed;

static int op_pre_get(void)
{
	int i;

	for (i = 0; i < MMCID_OP_PRE; i++)
		if (!test_and_set_bit_lock(i, op_pre_busy))
			return i;
	atomic_long_inc(&op_pre_missed);
	return -1;
}

static void op_pre_put(int i)
{
	if (i >= 0)
		clear_bit_unlock(i, op_pre_busy);
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
	snap_task(&s->cur, current);
	snap_task(&s->t, t);
	s->t_cpu = task_cpu(t);
	snap_mm(&s->mm, mm, cpu);
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
static void snap_op(struct mmcid_op_snap *s, struct task_struct *t,
		    struct mm_struct *mm, bool aff)
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
	/*
	 * kprobes bumps its miss counters with plain increments on any CPU;
	 * only a change between two snapshots matters here.
	 */
	s->missed = data_race(krp_fork.nmissed + krp_exit.nmissed +
			      krp_fork.kp.nmissed + krp_exit.kp.nmissed +
			      krp_work.nmissed + krp_work.kp.nmissed) +
		    atomic_long_read(&op_pre_missed);
	if (aff) {
		/* As above: plain increments, only a change matters. */
		s->missed += data_race(krp_affinity.nmissed + krp_affinity.kp.nmissed) +
			     atomic_long_read(&aff_missed);
	}
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


/* Per checked call: the task, its entry snapshot and the watchdog's part. */
struct mmcid_op_call {
	struct task_struct *t;
	struct mm_struct *mm;
	int pre;	/* index in op_pre, or -1: none was free */
	int slot;	/* mmcid_rs_watch_fork_begin()'s, or -1 */
	bool watched;	/* counted by mmcid_rs_watch_op_begin() */
};

static int op_entry(struct kretprobe_instance *ri, struct pt_regs *regs)
{
	struct mmcid_op_call *c = (struct mmcid_op_call *)ri->data;
	struct task_struct *t = (struct task_struct *)regs_get_kernel_argument(regs, 0);
	int pid = filter_pid;
	unsigned int b;

	/*
	 * An exit is current's (do_exit(), sched_mm_cid_before_execve());
	 * a fork is of current's mm (a thread, vfork(), clone(CLONE_VM),
	 * sched_mm_cid_after_execve()) or of the new mm of a process fork.
	 */
	if (!t->mm)
		return 1;
	if (pid && t->tgid != pid)
		return 1;	/* filtered out, for the watchdog too */
	if (pid)
		WRITE_ONCE(filter_mm, t->mm);
	b = op_bucket(t->mm);
	atomic_inc(&op_in_flight[b]);
	atomic_long_inc(&op_seq[b]);
	c->t = t;
	c->mm = t->mm;
	c->pre = op_pre_get();
	if (c->pre >= 0)
		snap_op(&op_pre[c->pre], t, t->mm, false);
	c->watched = mmcid_rs_watch_op_begin();
	c->slot = get_kretprobe(ri) == &krp_fork ? mmcid_rs_watch_fork_begin(t) : -1;
	return 0;
}

/*
 * The return snapshot of each CPU: too large for the stack of a probe, and
 * for the per-CPU area a module's static variables get, so allocated at
 * load.
 */
static struct mmcid_op_snap __percpu *mmcid_op_post;

/* Runs with preemption disabled, as every kretprobe handler. */
static int op_ret(struct kretprobe_instance *ri, struct pt_regs *regs)
{
	struct mmcid_op_call *c = (struct mmcid_op_call *)ri->data;
	struct mmcid_op_snap *post = this_cpu_ptr(mmcid_op_post);
	unsigned int b = op_bucket(c->mm);

	mmcid_rs_watch_fork_end(c->slot);
	if (c->watched)
		mmcid_rs_watch_op_end();
	if (c->pre >= 0)
		snap_op(post, c->t, c->mm, false);
	atomic_long_inc(&op_seq[b]);
	atomic_dec(&op_in_flight[b]);
	if (c->pre < 0)
		return 0;
	if (get_kretprobe(ri) == &krp_fork)
		mmcid_rs_check_fork(&op_pre[c->pre], post);
	else
		mmcid_rs_check_exit(&op_pre[c->pre], post);
	op_pre_put(c->pre);
	return 0;
}

static struct kretprobe krp_fork = {
	.kp.symbol_name = "sched_mm_cid_fork",
	.entry_handler = op_entry,
	.handler = op_ret,
	.data_size = sizeof(struct mmcid_op_call),
	.maxactive = MMCID_OP_MAXACTIVE,
};

static struct kretprobe krp_exit = {
	.kp.symbol_name = "sched_mm_cid_exit",
	.entry_handler = op_entry,
	.handler = op_ret,
	.data_size = sizeof(struct mmcid_op_call),
	.maxactive = MMCID_OP_MAXACTIVE,
};

/*
 * The affinity path: set_cpus_allowed_common(p, ctx) inlines
 * mm_update_cpus_allowed(p->mm, ctx->new_mask) after copying the mask into
 * p->cpus_mask; the caller holds p's pi_lock and runqueue lock. GCC splits
 * it: the global symbol tests for SCA_MIGRATE_* and jumps to a local
 * .part.0 that does the rest, which init_idle() calls directly too. The
 * new mask is read back from p->cpus_mask at the return, so that the
 * private struct affinity_context is not needed.
 */
static const char *const affinity_names[] = {
	"set_cpus_allowed_common.part.0",
	"set_cpus_allowed_common",
};

/*
 * Count a checked call of @mm in flight (an affinity change if @aff) and
 * snapshot it at its entry.
 */
static void op_begin(struct mmcid_op_call *c, struct task_struct *t,
		     struct mm_struct *mm, bool aff)
{
	unsigned int b = op_bucket(mm);

	atomic_inc(aff ? &aff_in_flight[b] : &op_in_flight[b]);
	atomic_long_inc(aff ? &aff_seq[b] : &op_seq[b]);
	c->t = t;
	c->mm = mm;
	c->pre = op_pre_get();
	if (c->pre >= 0)
		snap_op(&op_pre[c->pre], t, mm, aff);
	c->watched = false;
	c->slot = -1;
}

static int affinity_entry(struct kretprobe_instance *ri, struct pt_regs *regs)
{
	struct mmcid_op_call *c = (struct mmcid_op_call *)ri->data;
	struct task_struct *p = (struct task_struct *)regs_get_kernel_argument(regs, 0);
	struct mm_struct *mm = READ_ONCE(p->mm);
	int pid = filter_pid;

	/*
	 * mm_update_cpus_allowed() returns at once for a task without an mm.
	 * An mm without users (one that execve() made, before
	 * sched_mm_cid_after_execve(); one whose last user exited) is
	 * checked: its first return must change nothing.  The caller holds
	 * p's runqueue lock, so p cannot switch out for the last time and
	 * drop its mm meanwhile.
	 */
	if (!mm)
		return 1;
	if (pid && p->tgid != pid)
		return 1;
	if (pid)
		WRITE_ONCE(filter_mm, mm);
	op_begin(c, p, mm, true);
	return 0;
}

/*
 * mm_cid_work_fn(work) runs in a kworker; the mm embeds the work and
 * mm_destroy_cid() cancels it synchronously, so the mm outlives the call,
 * return handler included. It may change the mode and walk the CPUs: the
 * watchdog watches it as it watches forks and exits.
 */
static int work_entry(struct kretprobe_instance *ri, struct pt_regs *regs)
{
	struct mmcid_op_call *c = (struct mmcid_op_call *)ri->data;
	struct work_struct *w = (struct work_struct *)regs_get_kernel_argument(regs, 0);
	struct mm_struct *mm = container_of(w, struct mm_struct, mm_cid.work);

	if (filter_pid && mm != READ_ONCE(filter_mm))
		return 1;
	op_begin(c, current, mm, false);
	c->watched = mmcid_rs_watch_op_begin();
	return 0;
}

/*
 * The return of an affinity change or of the deferred work: the return
 * snapshot, then the check. An affinity change of a task whose mm changed
 * meanwhile (it exec()ed or exited on its CPU) is not checked: the old mm
 * may be gone, so it is not read again; it counts as missed, which makes
 * the affinity changes it overlapped not decided (forks and exits see its
 * effect on nr_cpus_allowed).
 */
static int op_ret_other(struct kretprobe_instance *ri, struct pt_regs *regs)
{
	struct mmcid_op_call *c = (struct mmcid_op_call *)ri->data;
	struct mmcid_op_snap *post = this_cpu_ptr(mmcid_op_post);
	bool work = get_kretprobe(ri) == &krp_work;
	unsigned int b = op_bucket(c->mm);
	bool check = c->pre >= 0;

	if (c->watched)
		mmcid_rs_watch_op_end();
	if (check && !work && READ_ONCE(c->t->mm) != c->mm) {
		atomic_long_inc(&aff_missed);
		check = false;
	}
	if (check)
		snap_op(post, c->t, c->mm, !work);
	atomic_long_inc(work ? &op_seq[b] : &aff_seq[b]);
	atomic_dec(work ? &op_in_flight[b] : &aff_in_flight[b]);
	if (check) {
		if (work)
			mmcid_rs_check_work(&op_pre[c->pre], post);
		else
			mmcid_rs_check_affinity(&op_pre[c->pre], post);
	}
	op_pre_put(c->pre);
	return 0;
}

static struct kretprobe krp_affinity = {
	.entry_handler = affinity_entry,
	.handler = op_ret_other,
	.data_size = sizeof(struct mmcid_op_call),
	.maxactive = MMCID_AFF_MAXACTIVE,
};

static struct kretprobe krp_work = {
	.kp.symbol_name = "mm_cid_work_fn",
	.entry_handler = work_entry,
	.handler = op_ret_other,
	.data_size = sizeof(struct mmcid_op_call),
	.maxactive = MMCID_WORK_MAXACTIVE,
};

static int register_affinity_probe(void)
{
	int i, ret = -ENOENT;

	for (i = 0; i < ARRAY_SIZE(affinity_names); i++) {
		krp_affinity.kp.symbol_name = affinity_names[i];
		ret = register_kretprobe(&krp_affinity);
		if (!ret)
			return 0;
	}
	pr_err("mmcid_rs: cannot probe set_cpus_allowed_common (tried %zu names): %d\n",
	       ARRAY_SIZE(affinity_names), ret);
	return ret;
}

static const char *const finish_names[] = {
	"finish_task_switch",
	"finish_task_switch.isra.0",
	"finish_task_switch.isra.1",
	"finish_task_switch.constprop.0",
	"finish_task_switch.part.0",
};

static int register_finish_probe(void)
{
	char name[40];
	int i, ret = -ENOENT;

	for (i = 0; i < ARRAY_SIZE(finish_names); i++) {
		strscpy(name, finish_names[i]);
		ret = ftrace_set_filter(&finish_ops, name, strlen(name), 1);
		if (!ret)
			break;
	}
	if (ret) {
		pr_err("mmcid_rs: cannot trace finish_task_switch (tried %zu names; CONFIG_DYNAMIC_FTRACE?): %d\n",
		       ARRAY_SIZE(finish_names), ret);
		return ret;
	}
	ret = register_ftrace_function(&finish_ops);
	if (ret) {
		pr_err("mmcid_rs: cannot attach to %s: %d\n", name, ret);
		ftrace_free_filter(&finish_ops);
	}
	return ret;
}

static void unregister_finish_probe(void)
{
	/* Waits until no CPU runs the callback any more. */
	unregister_ftrace_function(&finish_ops);
	ftrace_free_filter(&finish_ops);
}

static void find_tp(struct tracepoint *tp, void *priv)
{
	if (!strcmp(tp->name, "sched_switch"))
		tp_sched_switch = tp;
}

/*
 * printk_deferred() without its export: LOGLEVEL_SCHED is how it asks
 * vprintk_emit() to leave the console to irq_work, so that nothing here
 * takes a console lock under the runqueue lock.
 */
static __printf(1, 2) void printk_sched(const char *fmt, ...)
{
	va_list args;

	va_start(args, fmt);
	vprintk_emit(0, LOGLEVEL_SCHED, NULL, fmt, args);
	va_end(args);
}

void mmcid_rs_print_deferred(const char *msg, unsigned int len)
{
	printk_sched(KERN_ERR "mmcid_rs: %.*s\n", (int)len, msg);
}

u64 mmcid_rs_possible_mask(void)
{
	return cpumask_bits(cpu_possible_mask)[0];
}

int mmcid_rs_hooks_register(int pid)
{
	int ret;

	filter_pid = pid;
	for_each_kernel_tracepoint(find_tp, NULL);
	if (!tp_sched_switch) {
		pr_err("mmcid_rs: tracepoint sched_switch not found\n");
		return -ENOENT;
	}
	mmcid_op_post = alloc_percpu(struct mmcid_op_snap);
	op_pre = vcalloc(MMCID_OP_PRE, sizeof(*op_pre));
	if (!mmcid_op_post || !op_pre) {
		ret = -ENOMEM;
		goto out_post;
	}
	ret = register_kretprobe(&krp_fork);
	if (ret) {
		pr_err("mmcid_rs: cannot probe sched_mm_cid_fork: %d\n", ret);
		goto out_post;
	}
	ret = register_kretprobe(&krp_exit);
	if (ret) {
		pr_err("mmcid_rs: cannot probe sched_mm_cid_exit: %d\n", ret);
		goto out_fork;
	}
	ret = register_affinity_probe();
	if (ret)
		goto out_exit;
	ret = register_kretprobe(&krp_work);
	if (ret) {
		pr_err("mmcid_rs: cannot probe mm_cid_work_fn: %d\n", ret);
		goto out_affinity;
	}
	ret = register_finish_probe();
	if (ret)
		goto out_work;
	probes_registered = true;
	ret = tracepoint_probe_register(tp_sched_switch, probe_sched_switch, NULL);
	if (ret) {
		pr_err("mmcid_rs: cannot attach to sched_switch: %d\n", ret);
		goto out_kp;
	}
	return 0;

out_kp:
	unregister_finish_probe();
	probes_registered = false;
out_work:
	unregister_kretprobe(&krp_work);
out_affinity:
	unregister_kretprobe(&krp_affinity);
out_exit:
	unregister_kretprobe(&krp_exit);
out_fork:
	unregister_kretprobe(&krp_fork);
out_post:
	vfree(op_pre);
	op_pre = NULL;
	free_percpu(mmcid_op_post);
	mmcid_op_post = NULL;
	tp_sched_switch = NULL;
	return ret;
}

void mmcid_rs_hooks_unregister(void)
{
	if (tp_sched_switch)
		tracepoint_probe_unregister(tp_sched_switch, probe_sched_switch, NULL);
	/* No tracepoint probe may still run into the module once it is gone. */
	tracepoint_synchronize_unregister();
	tp_sched_switch = NULL;
	if (probes_registered) {
		/* These wait for handlers that are running. */
		unregister_finish_probe();
		unregister_kretprobe(&krp_work);
		unregister_kretprobe(&krp_affinity);
		unregister_kretprobe(&krp_exit);
		unregister_kretprobe(&krp_fork);
	}
	filter_mm = NULL;
	probes_registered = false;
	vfree(op_pre);
	op_pre = NULL;
	free_percpu(mmcid_op_post);
	mmcid_op_post = NULL;
}
