/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Trace events of mmcid_rs: one per finding, emitted where the module
 * counts it. Read them with `trace-cmd record -e 'mmcid_rs:*'`, perf or
 * /sys/kernel/tracing/events/mmcid_rs/. The text is what the module's
 * formatter says of the finding (both snapshots and the model's
 * prediction), cut at MMCID_RS_TRACE_TEXT bytes; live_lock carries the
 * watchdog's whole report, its lines joined by " | ".
 */
#undef TRACE_SYSTEM
#define TRACE_SYSTEM mmcid_rs

#if !defined(_MMCID_RS_TRACE_H) || defined(TRACE_HEADER_MULTI_READ)
#define _MMCID_RS_TRACE_H

#include <linux/tracepoint.h>

DECLARE_EVENT_CLASS(mmcid_rs_finding,

	TP_PROTO(unsigned int cpu, u64 mm, int pid, const char *text, unsigned int len),

	TP_ARGS(cpu, mm, pid, text, len),

	TP_STRUCT__entry(
		__field(unsigned int, cpu)
		__field(u64, mm)
		__field(int, pid)
		__string_len(text, text, len)
	),

	TP_fast_assign(
		__entry->cpu = cpu;
		__entry->mm = mm;
		__entry->pid = pid;
		__assign_str(text);
	),

	TP_printk("cpu=%u mm=%llx pid=%d %s",
		  __entry->cpu, __entry->mm, __entry->pid, __get_str(text))
);

/* A context switch the model does not explain. */
DEFINE_EVENT(mmcid_rs_finding, mismatch,
	TP_PROTO(unsigned int cpu, u64 mm, int pid, const char *text, unsigned int len),
	TP_ARGS(cpu, mm, pid, text, len));

/* A fork or exit (its fixup walk included) the model does not explain. */
DEFINE_EVENT(mmcid_rs_finding, op_mismatch,
	TP_PROTO(unsigned int cpu, u64 mm, int pid, const char *text, unsigned int len),
	TP_ARGS(cpu, mm, pid, text, len));

/*
 * A snapshot of a fork or exit that breaks the CID accounting or a mode
 * invariant (model/invariants.rs), whatever the model predicted.
 */
DEFINE_EVENT(mmcid_rs_finding, fixup_violation,
	TP_PROTO(unsigned int cpu, u64 mm, int pid, const char *text, unsigned int len),
	TP_ARGS(cpu, mm, pid, text, len));

/* A CPU the watchdog found stuck in a context switch for stall_ms. */
DEFINE_EVENT(mmcid_rs_finding, live_lock,
	TP_PROTO(unsigned int cpu, u64 mm, int pid, const char *text, unsigned int len),
	TP_ARGS(cpu, mm, pid, text, len));

#endif /* _MMCID_RS_TRACE_H */

#undef TRACE_INCLUDE_PATH
#define TRACE_INCLUDE_PATH .
#undef TRACE_INCLUDE_FILE
#define TRACE_INCLUDE_FILE mmcid_rs_trace
#include <trace/define_trace.h>
