/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Interface between the C glue of mmcid_rs (glue/) and its Rust side
 * (mmcid_rs.rs, module/). The Rust side mirrors these types with
 * #[repr(C)] in module/ffi.rs and checks their sizes at load time.
 */
#ifndef _MMCID_RS_H
#define _MMCID_RS_H

#include <linux/types.h>

/* One task as mm_cid_switch_to() sees it. */
struct mmcid_task_snap {
	__u64 task;		/* task_struct address, an identity only */
	__u64 mm;		/* its mm, an identity only; 0 for none */
	__u32 cid;		/* t->mm_cid.cid */
	__u32 active;		/* t->mm_cid.active */
	__s32 pid;
	__u32 pad;
};

/* The mm_cid state of one mm that a context switch on @cpu reads. */
struct mmcid_mm_snap {
	__u64 mm;
	__u32 mode;
	__u32 max_cids;
	__u32 users;
	__u32 pcpu_cid;		/* per_cpu_ptr(mm->mm_cid.pcpu, cpu)->cid */
	__u64 cidmask;		/* the first 64 bits of mm_cidmask() */
};

/* Both ends of one context switch: before and after mm_cid_switch_to(). */
struct mmcid_switch_snap {
	__u32 cpu;
	__u32 nr_possible;
	struct mmcid_task_snap prev;
	struct mmcid_task_snap next;
	struct mmcid_mm_snap mm;
};

/* The state around sched_mm_cid_fork(@t) or sched_mm_cid_exit(@t). */
struct mmcid_op_snap {
	__u32 cpu;		/* current's CPU */
	__u32 nr_possible;
	struct mmcid_task_snap cur;	/* current */
	struct mmcid_task_snap t;	/* the task forked or exiting */
	struct mmcid_mm_snap mm;	/* pcpu_cid of @cpu */
	__u32 pcpu_thrs;
	__u32 nr_cpus_allowed;
	__u64 switches;		/* current's nvcsw + nivcsw */
};

/* C glue, called from Rust at load and unload. */
int mmcid_hooks_register(void);
void mmcid_hooks_unregister(void);
const char *mmcid_param_variant(void);
int mmcid_param_pid(void);
unsigned int mmcid_switch_snap_size(void);
unsigned int mmcid_op_snap_size(void);

/*
 * Rust side, called with the runqueue lock held and interrupts off: must
 * not sleep, allocate or print.
 *
 * mmcid_rs_check_switch(): @pre was taken in the sched_switch tracepoint,
 * @post at the entry of finish_task_switch(), on the same CPU, with the
 * same runqueue lock held throughout.
 */
void mmcid_rs_check_switch(const struct mmcid_switch_snap *pre,
			   const struct mmcid_switch_snap *post);

/*
 * Rust side, called in process context after sched_mm_cid_fork() or
 * sched_mm_cid_exit() returned, with the snapshot from their entry: may
 * not sleep either (kretprobe handler).
 */
void mmcid_rs_check_fork(const struct mmcid_op_snap *pre,
			 const struct mmcid_op_snap *post);
void mmcid_rs_check_exit(const struct mmcid_op_snap *pre,
			 const struct mmcid_op_snap *post);

#endif /* _MMCID_RS_H */
