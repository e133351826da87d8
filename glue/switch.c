// SPDX-License-Identifier: GPL-2.0
/*
 * The context switch hooks of mmcid_rs: they snapshot the mm_cid state
 * around mm_cid_switch_to() for the Rust check, and register every hook of
 * the module at load (the other calls' probes are glue/op.c's).
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
#include <linux/mm_types.h>
#include <linux/module.h>
#include <linux/percpu.h>
#include <linux/printk.h>
#include <linux/sched.h>
#include <linux/smp.h>
#include <linux/string.h>
#include <linux/tracepoint.h>

#include "glue.h"

/*
 * The pre-switch snapshots of each CPU, waiting for its finish_task_switch():
 * one per mm whose state mm_cid_switch_to() changes (two when prev drops a
 * CID in transit of one mm and next takes one of another).
 */
struct mmcid_pending {
	struct mmcid_switch_snap pre[2];
	struct mmcid_switch_snap post;	/* here, not on the stack: see check_pending() */
	struct task_struct *prev;
	struct mm_struct *mm[2];
	int nr;		/* snapshots taken; 0: nothing to check */
	bool watched;	/* the watchdog marked the switch's beginning */
};

static DEFINE_PER_CPU(struct mmcid_pending, mmcid_pending);

DEFINE_PER_CPU(struct mmcid_cpu_track, mmcid_track);
static struct tracepoint *tp_sched_switch;
static bool probes_registered;
int mmcid_filter_pid;

static void snap_switch(struct mmcid_switch_snap *s, struct task_struct *prev,
			struct task_struct *next, struct mm_struct *mm, int cpu)
{
	s->cpu = cpu;
	s->nr_possible = num_possible_cpus();
	s->possible = mmcid_rs_possible_mask();
	mmcid_snap_task(&s->prev, prev);
	mmcid_snap_task(&s->next, next);
	mmcid_snap_mm(&s->mm, mm, cpu);
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
	int pid = mmcid_filter_pid;
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
 * The check of a switch whose pre-state was taken.  The post-state goes to
 * the CPU's pending slot beside the pre-state: on the stack, it would be
 * zeroed on every check (CONFIG_INIT_STACK_ALL_ZERO), which under TCG is a
 * rep stosb of a byte at a time.
 */
static void check_pending(struct mmcid_pending *p)
{
	int i, n = p->nr;

	p->nr = 0;
	for (i = 0; i < n; i++) {
		snap_switch(&p->post, p->prev, current, p->mm[i], smp_processor_id());
		mmcid_rs_check_switch(&p->pre[i], &p->post);
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

int mmcid_rs_hooks_register(int pid)
{
	int ret;

	mmcid_filter_pid = pid;
	for_each_kernel_tracepoint(find_tp, NULL);
	if (!tp_sched_switch) {
		pr_err("mmcid_rs: tracepoint sched_switch not found\n");
		return -ENOENT;
	}
	ret = mmcid_op_register();
	if (ret)
		goto out_tp;
	ret = register_finish_probe();
	if (ret)
		goto out_op;
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
out_op:
	mmcid_op_unregister();
out_tp:
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
	if (probes_registered)
		/* Waits until no CPU runs the callback any more. */
		unregister_finish_probe();
	probes_registered = false;
	mmcid_op_unregister();
}
