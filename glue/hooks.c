// SPDX-License-Identifier: GPL-2.0
/*
 * C glue of mmcid_rs: attaches to the scheduler tracepoints that Rust
 * cannot reach. sched_switch is not exported to modules, so it is looked up
 * with for_each_kernel_tracepoint().
 */
#include <linux/module.h>
#include <linux/sched.h>
#include <linux/smp.h>
#include <linux/string.h>
#include <linux/tracepoint.h>

#include <mmcid_rs.h>

static struct tracepoint *tp_sched_switch;

static void find_tp(struct tracepoint *tp, void *priv)
{
	if (!strcmp(tp->name, "sched_switch"))
		tp_sched_switch = tp;
}

/* TP_PROTO(bool preempt, struct task_struct *prev, struct task_struct *next,
 *	    unsigned int prev_state), runqueue lock held.
 */
static void probe_sched_switch(void *data, bool preempt,
			       struct task_struct *prev,
			       struct task_struct *next,
			       unsigned int prev_state)
{
	mmcid_rs_on_switch(smp_processor_id());
}

int mmcid_hooks_register(void)
{
	int ret;

	for_each_kernel_tracepoint(find_tp, NULL);
	if (!tp_sched_switch) {
		pr_err("mmcid_rs: tracepoint sched_switch not found\n");
		return -ENOENT;
	}
	ret = tracepoint_probe_register(tp_sched_switch, probe_sched_switch, NULL);
	if (ret)
		pr_err("mmcid_rs: cannot attach to sched_switch: %d\n", ret);
	return ret;
}

void mmcid_hooks_unregister(void)
{
	if (!tp_sched_switch)
		return;
	tracepoint_probe_unregister(tp_sched_switch, probe_sched_switch, NULL);
	/* No probe may still run into the module once it is gone. */
	tracepoint_synchronize_unregister();
	tp_sched_switch = NULL;
}
