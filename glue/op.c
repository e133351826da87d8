// SPDX-License-Identifier: GPL-2.0
/*
 * The probes of the mm_cid calls other than the context switch: a
 * kretprobe on sched_mm_cid_fork(), sched_mm_cid_exit(), the affinity
 * path (set_cpus_allowed_common()) and the deferred work
 * (mm_cid_work_fn()).  Each takes a snapshot at the call's entry and one
 * at its return (glue/snapshot.c) and hands both to the Rust check.
 */
#include <linux/atomic.h>
#include <linux/bitmap.h>
#include <linux/kprobes.h>
#include <linux/mm_types.h>
#include <linux/percpu.h>
#include <linux/printk.h>
#include <linux/sched.h>
#include <linux/vmalloc.h>

#include "glue.h"

/*
 * The mm of pid= (the last one a checked call of that tgid had), so that
 * the deferred work, which runs in a kworker, is filtered as the rest. An
 * identity only: never dereferenced.
 */
static struct mm_struct *filter_mm;

/* Affinity changes not checked because their task's mm changed. */
static atomic_long_t aff_missed;

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
 * The return snapshot of each CPU: too large for the stack of a probe, and
 * for the per-CPU area a module's static variables get, so allocated at
 * load.
 */
static struct mmcid_op_snap __percpu *mmcid_op_post;

static bool op_registered;

static void op_free(void)
{
	vfree(op_pre);
	op_pre = NULL;
	free_percpu(mmcid_op_post);
	mmcid_op_post = NULL;
}

/*
 * The probes' misses so far, for a snapshot: the kretprobes' (no free
 * instance, or a kprobe missed) and the entry snapshots the pool had no
 * room for; an affinity check's (@aff) counts the affinity probe's and the
 * affinity changes not checked too.
 */
static unsigned long op_missed(bool aff)
{
	unsigned long missed;

	/*
	 * kprobes bumps its miss counters with plain increments on any CPU;
	 * only a change between two snapshots matters here.
	 */
	missed = data_race(krp_fork.nmissed + krp_exit.nmissed +
			   krp_fork.kp.nmissed + krp_exit.kp.nmissed +
			   krp_work.nmissed + krp_work.kp.nmissed) +
		 atomic_long_read(&op_pre_missed);
	if (aff) {
		/* As above: plain increments, only a change matters. */
		missed += data_race(krp_affinity.nmissed + krp_affinity.kp.nmissed) +
			  atomic_long_read(&aff_missed);
	}
	return missed;
}

/* Per checked call: the task, its entry snapshot and the watchdog's part. */
struct mmcid_op_call {
	struct task_struct *t;
	struct mm_struct *mm;
	int pre;	/* index in op_pre, or -1: none was free */
	int slot;	/* mmcid_rs_watch_fork_begin()'s, or -1 */
	bool watched;	/* counted by mmcid_rs_watch_op_begin() */
};

/*
 * Count a checked call of @mm in flight (an affinity change if @aff) and
 * snapshot it at its entry.
 */
static void op_begin(struct mmcid_op_call *c, struct task_struct *t,
		     struct mm_struct *mm, bool aff)
{
	mmcid_snap_op_begin(mm, aff);
	c->t = t;
	c->mm = mm;
	c->pre = op_pre_get();
	if (c->pre >= 0)
		mmcid_snap_op(&op_pre[c->pre], t, mm, aff, op_missed(aff));
	c->watched = false;
	c->slot = -1;
}

static int op_entry(struct kretprobe_instance *ri, struct pt_regs *regs)
{
	struct mmcid_op_call *c = (struct mmcid_op_call *)ri->data;
	struct task_struct *t = (struct task_struct *)regs_get_kernel_argument(regs, 0);
	int pid = mmcid_filter_pid;

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
	op_begin(c, t, t->mm, false);
	c->watched = mmcid_rs_watch_op_begin();
	c->slot = get_kretprobe(ri) == &krp_fork ? mmcid_rs_watch_fork_begin(t) : -1;
	return 0;
}

/* Runs with preemption disabled, as every kretprobe handler. */
static int op_ret(struct kretprobe_instance *ri, struct pt_regs *regs)
{
	struct mmcid_op_call *c = (struct mmcid_op_call *)ri->data;
	struct mmcid_op_snap *post = this_cpu_ptr(mmcid_op_post);

	mmcid_rs_watch_fork_end(c->slot);
	if (c->watched)
		mmcid_rs_watch_op_end();
	if (c->pre >= 0)
		mmcid_snap_op(post, c->t, c->mm, false, op_missed(false));
	mmcid_snap_op_end(c->mm, false);
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

static int affinity_entry(struct kretprobe_instance *ri, struct pt_regs *regs)
{
	struct mmcid_op_call *c = (struct mmcid_op_call *)ri->data;
	struct task_struct *p = (struct task_struct *)regs_get_kernel_argument(regs, 0);
	struct mm_struct *mm = READ_ONCE(p->mm);
	int pid = mmcid_filter_pid;

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

	if (mmcid_filter_pid && mm != READ_ONCE(filter_mm))
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
	bool check = c->pre >= 0;

	if (c->watched)
		mmcid_rs_watch_op_end();
	if (check && !work && READ_ONCE(c->t->mm) != c->mm) {
		atomic_long_inc(&aff_missed);
		check = false;
	}
	if (check)
		mmcid_snap_op(post, c->t, c->mm, !work, op_missed(!work));
	mmcid_snap_op_end(c->mm, !work);
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

/*
 * The four probes and what they need: the entry snapshots' pool and the
 * return snapshots, then fork, exit, affinity and the deferred work; on
 * failure nothing is left.
 */
int mmcid_op_register(void)
{
	int ret;

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
	op_registered = true;
	return 0;

out_affinity:
	unregister_kretprobe(&krp_affinity);
out_exit:
	unregister_kretprobe(&krp_exit);
out_fork:
	unregister_kretprobe(&krp_fork);
out_post:
	op_free();
	return ret;
}

/* Waits for handlers that are running, then frees what they used. */
void mmcid_op_unregister(void)
{
	if (op_registered) {
		unregister_kretprobe(&krp_work);
		unregister_kretprobe(&krp_affinity);
		unregister_kretprobe(&krp_exit);
		unregister_kretprobe(&krp_fork);
	}
	op_registered = false;
	filter_mm = NULL;
	op_free();
}
