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
#include <linux/kprobes.h>
#include <linux/mm_types.h>
#include <linux/module.h>
#include <linux/mutex.h>
#include <linux/percpu.h>
#include <linux/sched.h>
#include <linux/smp.h>
#include <linux/string.h>
#include <linux/tracepoint.h>

#include <mmcid_rs.h>

/* The pre-switch snapshot of each CPU, waiting for its finish_task_switch(). */
struct mmcid_pending {
	struct mmcid_switch_snap pre;
	struct task_struct *prev;
	struct mm_struct *mm;
	bool valid;
	bool watched;	/* the watchdog marked the switch's beginning */
};

static DEFINE_PER_CPU(struct mmcid_pending, mmcid_pending);
static struct tracepoint *tp_sched_switch;
static bool probes_registered;
/* pid=, read-only once loaded: kept here so the switch path makes no call. */
static int filter_pid;

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
	snap_task(&s->prev, prev);
	snap_task(&s->next, next);
	snap_mm(&s->mm, mm, cpu);
}

/*
 * The mm whose state mm_cid_switch_to(prev, next) changes, or NULL when it
 * changes none or two: mm_cid_schedin() acts on an active @next (@in),
 * mm_cid_schedout() on a @prev holding a CID in transit.
 */
static struct mm_struct *switch_mm_of(struct task_struct *prev,
				      struct task_struct *next, bool in)
{
	bool out = prev->mm && (READ_ONCE(prev->mm_cid.cid) & MM_CID_TRANSIT);

	if (in && out && prev->mm != next->mm)
		return NULL;
	if (in)
		return next->mm;
	return out ? prev->mm : NULL;
}

/*
 * A switch that concerns the process of pid= (any, without it): mark it for
 * the watchdog if @ours (the filter holds for the watchdog too: it watches
 * what is checked), and snapshot the state mm_cid_switch_to() changes.
 */
static noinline void switch_begin(struct mmcid_pending *p,
				  struct task_struct *prev,
				  struct task_struct *next, bool ours)
{
	bool in = next->mm && READ_ONCE(next->mm_cid.active);
	struct mm_struct *mm;

	p->watched = in && ours && mmcid_watch_switch_begin(next);
	mm = switch_mm_of(prev, next, in);
	if (!mm)
		return;
	snap_switch(&p->pre, prev, next, mm, smp_processor_id());
	p->prev = prev;
	p->mm = mm;
	p->valid = true;
}

/* TP_PROTO(bool preempt, struct task_struct *prev, struct task_struct *next,
 *	    unsigned int prev_state), runqueue lock held. A switch that is
 * filtered out costs two tests and two stores here.
 */
static void probe_sched_switch(void *data, bool preempt,
			       struct task_struct *prev,
			       struct task_struct *next,
			       unsigned int prev_state)
{
	struct mmcid_pending *p = this_cpu_ptr(&mmcid_pending);
	int pid = filter_pid;
	bool ours = !pid || next->tgid == pid;

	p->valid = false;
	p->watched = false;
	if (ours || prev->tgid == pid)
		switch_begin(p, prev, next, ours);
}

/*
 * The check of a switch whose pre-state was taken. Out of line: its
 * snapshot on the stack is zeroed on entry (CONFIG_INIT_STACK_ALL_ZERO),
 * which a switch that is not checked should not pay for.
 */
static noinline void check_pending(struct mmcid_pending *p)
{
	struct mmcid_switch_snap post;

	p->valid = false;
	snap_switch(&post, p->prev, current, p->mm, smp_processor_id());
	mmcid_rs_check_switch(&p->pre, &post);
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

	if (p->watched) {
		p->watched = false;
		mmcid_watch_switch_end();
	}
	if (p->valid)
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

static void snap_op(struct mmcid_op_snap *s, struct task_struct *t)
{
	struct mm_struct *mm = t->mm;
	int cpu = raw_smp_processor_id();

	s->cpu = cpu;
	s->nr_possible = num_possible_cpus();
	snap_task(&s->cur, current);
	snap_task(&s->t, t);
	snap_mm(&s->mm, mm, cpu);
	s->pcpu_thrs = READ_ONCE(mm->mm_cid.pcpu_thrs);
	s->nr_cpus_allowed = READ_ONCE(mm->mm_cid.nr_cpus_allowed);
	s->switches = READ_ONCE(current->nvcsw) + READ_ONCE(current->nivcsw);
}

/* Per checked call: the task, the snapshot at entry and the watchdog's part. */
struct mmcid_op_call {
	struct task_struct *t;
	struct mmcid_op_snap pre;
	int slot;	/* mmcid_watch_fork_begin()'s, or -1 */
	bool watched;	/* counted by mmcid_watch_op_begin() */
};

static struct kretprobe krp_fork;

static int op_entry(struct kretprobe_instance *ri, struct pt_regs *regs)
{
	struct mmcid_op_call *c = (struct mmcid_op_call *)ri->data;
	struct task_struct *t = (struct task_struct *)regs_get_kernel_argument(regs, 0);
	int pid = filter_pid;

	if (!t->mm || t->mm != current->mm)
		return 1;	/* not ours, or a failed fork's cleanup */
	if (pid && t->tgid != pid)
		return 1;	/* filtered out, for the watchdog too */
	c->t = t;
	snap_op(&c->pre, t);
	c->watched = mmcid_watch_op_begin();
	c->slot = get_kretprobe(ri) == &krp_fork ? mmcid_watch_fork_begin(t) : -1;
	return 0;
}

static DEFINE_PER_CPU(struct mmcid_fixup_snap, mmcid_fixup);

/*
 * After a fork or exit of @mm that changed the mode, so ran a fixup walk:
 * snapshot the mode, each CPU's CID and each user's CID while holding
 * mm_cid::mutex, which every change of the mode and of the user list
 * holds. Never waits: a taken mutex is reported as a race.
 */
static void snap_fixup(struct mm_struct *mm, bool exit)
{
	struct mmcid_fixup_snap *s = this_cpu_ptr(&mmcid_fixup);
	struct task_struct *t;
	unsigned int n = 0;
	int cpu;

	memset(s, 0, sizeof(*s));
	s->mm = (unsigned long)mm;
	s->exit = exit;
	s->nr_possible = num_possible_cpus();
	if (!mutex_trylock(&mm->mm_cid.mutex)) {
		s->raced = 1;
		mmcid_rs_check_fixup(s);
		return;
	}
	s->mode = READ_ONCE(mm->mm_cid.mode);
	for_each_possible_cpu(cpu) {
		if (cpu < MMCID_STALL_CPUS)
			s->pcpu_cid[cpu] = READ_ONCE(per_cpu_ptr(mm->mm_cid.pcpu, cpu)->cid);
	}
	hlist_for_each_entry(t, &mm->mm_cid.user_list, mm_cid.node) {
		if (n < MMCID_FIXUP_USERS)
			snap_task(&s->users[n], t);
		n++;
	}
	mutex_unlock(&mm->mm_cid.mutex);
	s->nr_users = n;
	mmcid_rs_check_fixup(s);
}

static int op_ret(struct kretprobe_instance *ri, struct pt_regs *regs)
{
	struct mmcid_op_call *c = (struct mmcid_op_call *)ri->data;
	bool fork = get_kretprobe(ri) == &krp_fork;
	struct mmcid_op_snap post;

	mmcid_watch_fork_end(c->slot);
	if (c->watched)
		mmcid_watch_op_end();
	snap_op(&post, c->t);
	if (fork)
		mmcid_rs_check_fork(&c->pre, &post);
	else
		mmcid_rs_check_exit(&c->pre, &post);
	if ((c->pre.mm.mode ^ post.mm.mode) & MM_CID_ONCPU)
		snap_fixup(c->t->mm, !fork);
	return 0;
}

static struct kretprobe krp_fork = {
	.kp.symbol_name = "sched_mm_cid_fork",
	.entry_handler = op_entry,
	.handler = op_ret,
	.data_size = sizeof(struct mmcid_op_call),
	.maxactive = 64,
};

static struct kretprobe krp_exit = {
	.kp.symbol_name = "sched_mm_cid_exit",
	.entry_handler = op_entry,
	.handler = op_ret,
	.data_size = sizeof(struct mmcid_op_call),
	.maxactive = 64,
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

unsigned int mmcid_switch_snap_size(void)
{
	return sizeof(struct mmcid_switch_snap);
}

unsigned int mmcid_op_snap_size(void)
{
	return sizeof(struct mmcid_op_snap);
}

unsigned int mmcid_fixup_snap_size(void)
{
	return sizeof(struct mmcid_fixup_snap);
}

int mmcid_hooks_register(void)
{
	int ret;

	filter_pid = mmcid_param_pid();
	for_each_kernel_tracepoint(find_tp, NULL);
	if (!tp_sched_switch) {
		pr_err("mmcid_rs: tracepoint sched_switch not found\n");
		return -ENOENT;
	}
	ret = register_kretprobe(&krp_fork);
	if (ret) {
		pr_err("mmcid_rs: cannot probe sched_mm_cid_fork: %d\n", ret);
		return ret;
	}
	ret = register_kretprobe(&krp_exit);
	if (ret) {
		pr_err("mmcid_rs: cannot probe sched_mm_cid_exit: %d\n", ret);
		goto out_fork;
	}
	ret = register_finish_probe();
	if (ret)
		goto out_exit;
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
out_exit:
	unregister_kretprobe(&krp_exit);
out_fork:
	unregister_kretprobe(&krp_fork);
	tp_sched_switch = NULL;
	return ret;
}

void mmcid_hooks_unregister(void)
{
	if (tp_sched_switch)
		tracepoint_probe_unregister(tp_sched_switch, probe_sched_switch, NULL);
	/* No tracepoint probe may still run into the module once it is gone. */
	tracepoint_synchronize_unregister();
	tp_sched_switch = NULL;
	if (probes_registered) {
		/* These wait for handlers that are running. */
		unregister_finish_probe();
		unregister_kretprobe(&krp_exit);
		unregister_kretprobe(&krp_fork);
	}
	probes_registered = false;
}
