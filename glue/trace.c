// SPDX-License-Identifier: GPL-2.0
/*
 * The Rust side's output to the kernel: the trace events of
 * glue/mmcid_rs_trace.h, which Rust cannot expand the tracepoint macros
 * of (whether one is on, and emitting it), and the deferred print.
 */
#define CREATE_TRACE_POINTS
#include "mmcid_rs_trace.h"

#include <linux/printk.h>

#include <mmcid_rs.h>

bool mmcid_rs_trace_enabled(enum mmcid_rs_event ev)
{
	switch (ev) {
	case MMCID_RS_MISMATCH:
		return trace_mismatch_enabled();
	case MMCID_RS_OP_MISMATCH:
		return trace_op_mismatch_enabled();
	case MMCID_RS_FIXUP_VIOLATION:
		return trace_fixup_violation_enabled();
	case MMCID_RS_LIVE_LOCK:
		return trace_live_lock_enabled();
	}
	return false;
}

void mmcid_rs_trace(enum mmcid_rs_event ev, unsigned int cpu, __u64 mm, int pid,
		    const char *text, unsigned int len)
{
	switch (ev) {
	case MMCID_RS_MISMATCH:
		trace_mismatch(cpu, mm, pid, text, len);
		break;
	case MMCID_RS_OP_MISMATCH:
		trace_op_mismatch(cpu, mm, pid, text, len);
		break;
	case MMCID_RS_FIXUP_VIOLATION:
		trace_fixup_violation(cpu, mm, pid, text, len);
		break;
	case MMCID_RS_LIVE_LOCK:
		trace_live_lock(cpu, mm, pid, text, len);
		break;
	}
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
