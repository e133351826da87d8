// SPDX-License-Identifier: GPL-2.0
/*
 * The trace events of glue/mmcid_rs_trace.h, for the Rust side, which
 * cannot expand the tracepoint macros: whether one is on, and emitting it.
 */
#define CREATE_TRACE_POINTS
#include "mmcid_rs_trace.h"

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
