/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Interface between the C glue of mmcid_rs (glue/) and its Rust side
 * (mmcid_rs.rs, module/): what crosses between them and nothing else (what
 * only C files share is glue/glue.h's).  scripts/bindgen.sh generates the
 * Rust side's copy from it (module/bindings_generated.rs) and the layout
 * asserts both sides are built with (include/mmcid_rs_layout.h).
 */
#ifndef _MMCID_RS_H
#define _MMCID_RS_H

#include <linux/types.h>

struct task_struct;
struct seq_file;

/* One task as mm_cid_switch_to() sees it. */
struct mmcid_task_snap {
	__u64 task;		/* task_struct address, an identity only */
	__u64 mm;		/* its mm, an identity only; 0 for none */
	__u32 cid;		/* t->mm_cid.cid */
	__u32 active;		/* t->mm_cid.active */
	__s32 pid;		/* t->tgid */
	__s32 tid;		/* t->pid */
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

/*
 * The most CPUs the model describes: CPU masks and the CID bitmap are 64
 * bits wide there (CIDs are below num_possible_cpus()). The module refuses
 * to load when nr_cpu_ids is larger.
 */
#define MMCID_MAX_CPUS		64

/* Both ends of one context switch: before and after mm_cid_switch_to(). */
struct mmcid_switch_snap {
	__u32 cpu;
	__u32 nr_possible;
	__u64 possible;		/* cpu_possible_mask */
	struct mmcid_task_snap prev;
	struct mmcid_task_snap next;
	struct mmcid_mm_snap mm;
};

#define MMCID_STALL_TASKS	16
/*
 * Users one fork or exit snapshot holds: it is taken with interrupts off
 * under mm_cid::lock, into storage reserved at load. An op of an mm with
 * more users is counted as such and not compared. With current and the
 * task, 256 tasks: the model numbers them in a byte.
 */
#define MMCID_OP_USERS		254

/* One task on mm_cid::user_list, read under mm_cid::lock. */
struct mmcid_user_snap {
	__u64 task;		/* task_struct address, an identity only */
	__u32 cid;		/* t->mm_cid.cid */
	__u32 active;		/* t->mm_cid.active */
	__u32 cpu;		/* task_cpu(t) */
	__s32 tid;		/* t->pid */
	__u64 switches;		/* t->nvcsw + t->nivcsw */
};

/*
 * One possible CPU as a fork or exit sees it. @seq is the CPU's switch
 * sequence, odd from its sched_switch tracepoint to its
 * finish_task_switch(), i.e. while mm_cid_switch_to() may run there.
 */
/* mmcid_cpu_snap::curr of an offline CPU: it runs no task. */
#define MMCID_CURR_OFFLINE	1

/* mmcid_cpu_snap::stable: what the CPU's switches did while it was read. */
enum mmcid_cpu_stable {
	MMCID_CPU_CHANGED,	/* a switch began or ended: unknown */
	MMCID_CPU_STABLE,	/* no switch of the mm ran */
	MMCID_CPU_IN_SWITCH,	/* inside one switch of the mm throughout */
};

struct mmcid_cpu_snap {
	__u64 curr;		/* task it last switched to; 0: none seen since load */
	__u64 seq;
	__u32 pcpu_cid;		/* per_cpu_ptr(mm->mm_cid.pcpu, cpu)->cid */
	__u32 stable;		/* enum mmcid_cpu_stable */
	__u64 prev;		/* MMCID_CPU_IN_SWITCH: the switch's prev ... */
	__u64 next;		/* ... and next task; 0 otherwise */
};

/*
 * The state around sched_mm_cid_fork(@t) or sched_mm_cid_exit(@t), read
 * under mm_cid::lock at the function's entry and after its return: the
 * mm, every user and every CPU's slot, so that the fixup walk's effect on
 * each of them is compared with the model's walk. The same around an
 * affinity change of @t (set_cpus_allowed_common(), which inlines
 * mm_update_cpus_allowed()) and around mm_cid_work_fn(), whose @t and
 * @cur are the kworker.
 */
struct mmcid_op_snap {
	__u32 cpu;		/* current's CPU */
	__u32 nr_possible;
	__u64 possible;		/* cpu_possible_mask; @cpus is indexed by CPU */
	struct mmcid_task_snap cur;	/* current */
	struct mmcid_task_snap t;	/* the task forked or exiting */
	struct mmcid_mm_snap mm;	/* pcpu_cid of @cpu */
	__u32 pcpu_thrs;
	__u32 nr_cpus_allowed;
	__u64 switches;		/* current's nvcsw + nivcsw */
	__u32 update_deferred;
	__u32 nr_users;		/* on user_list; the first MMCID_OP_USERS are kept */
	__u64 op_seq;		/* checked forks and exits of this mm begun or ended */
	__u32 ops_in_flight;	/* of this mm, this one included */
	__u32 t_cpu;		/* task_cpu(@t) */
	__u64 missed;		/* checked calls the probes missed since load */
	__u64 cpus_allowed;	/* the first 64 bits of mm_cpus_allowed(mm) */
	__u64 t_cpus_mask;	/* the first 64 bits of @t->cpus_mask */
	__u32 t_in_execve;	/* @t->in_execve: called from execve() */
	__u32 mutex_locked;	/* mm_cid::mutex held: another call mid-way */
	struct mmcid_cpu_snap cpus[MMCID_MAX_CPUS];
	struct mmcid_user_snap users[MMCID_OP_USERS];
};

/*
 * A CPU that has been inside a context switch to a task of @mm for longer
 * than the stall_ms parameter: the watchdog's view, read without locks.
 */
struct mmcid_stall_snap {
	__u32 cpu;		/* the CPU in the context switch */
	__u32 nr_possible;
	__u64 possible;		/* cpu_possible_mask */
	__u64 spin_ns;		/* since its sched_switch tracepoint */
	struct mmcid_task_snap next;	/* the task it switches to */
	__u64 mm;
	__u32 mode;
	__u32 max_cids;
	__u32 users;
	__u32 pcpu_thrs;
	__u64 cidmask;
	__u32 pcpu_cid[MMCID_MAX_CPUS];	/* each possible CPU's pcpu->cid */
	__u32 nr_tasks;		/* threads of @next, kept up to MMCID_STALL_TASKS */
	__u32 task_cpu[MMCID_STALL_TASKS];
	struct mmcid_task_snap tasks[MMCID_STALL_TASKS];
	__u64 fork_ns;		/* how long a fork in @mm has been in sched_mm_cid_fork(), 0: none */
	__u32 fork_cpu;		/* the CPU of the forking task */
	__u32 pad;
	struct mmcid_task_snap fork_parent;
	struct mmcid_task_snap fork_child;
};

/*
 * C glue, called from Rust at load and unload. mmcid_rs_hooks_register():
 * @pid is the pid parameter (0: every process).
 */
int mmcid_rs_hooks_register(int pid);
void mmcid_rs_hooks_unregister(void);
/*
 * The variant parameter, which module! cannot declare (a string), and its
 * buffer: every name of model/variant.rs must fit, NUL included.
 */
#define MMCID_RS_VARIANT_LEN	32
const char *mmcid_rs_param_variant(void);
void mmcid_rs_watchdog_start(unsigned int stall_ms);
void mmcid_rs_watchdog_stop(void);
/* Timers armed and timers that stopped, since load. */
unsigned long mmcid_rs_watchdog_starts(void);
unsigned long mmcid_rs_watchdog_stops(void);

/*
 * Print one line with printk_deferred(), which the scheduler uses where it
 * holds a runqueue lock: the line is in the log buffer at once, and on the
 * console even if every CPU then hangs (panic flushes it).
 */
void mmcid_rs_print_deferred(const char *msg, unsigned int len);

/*
 * The debugfs files (glue/debugfs.c), made in C so that an open file pins
 * the module (file_operations.owner), created at load and removed first at
 * unload.
 */
int mmcid_rs_debugfs_create(void);
void mmcid_rs_debugfs_remove(void);

/* The read-only debugfs files: each is one text of the Rust side. */
enum mmcid_rs_file {
	MMCID_RS_FILE_STATUS,		/* status: the table */
	MMCID_RS_FILE_REPORT,		/* report: key value lines */
	MMCID_RS_FILE_LIVE_LOCK,	/* live_lock: the watchdog's report */
	MMCID_RS_FILE_VERDICT,		/* verdict: the one-line verdict */
};

/*
 * Rust side, from a seq_file show callback (process context, may sleep):
 * print @file's text into @m; 0 or a negative errno.
 */
int mmcid_rs_show(struct seq_file *m, enum mmcid_rs_file file);
/*
 * Rust side, for a write of @len bytes (at most 8) to reset, copied to
 * @buf: 0 if it was a reset command ("1" or "1\n"), else -EINVAL.
 */
int mmcid_rs_reset(const char *buf, unsigned int len);

/* The trace events of glue/mmcid_rs_trace.h, one per kind of finding. */
enum mmcid_rs_event {
	MMCID_RS_MISMATCH,		/* mmcid_rs:mismatch, a context switch */
	MMCID_RS_OP_MISMATCH,		/* mmcid_rs:op_mismatch, a fork or exit */
	MMCID_RS_FIXUP_VIOLATION,	/* mmcid_rs:fixup_violation */
	MMCID_RS_LIVE_LOCK,		/* mmcid_rs:live_lock */
};

/* Most bytes of text one event carries. */
#define MMCID_RS_TRACE_TEXT	768

/* Is @ev's event on? The text is formatted only then. */
bool mmcid_rs_trace_enabled(enum mmcid_rs_event ev);
/* Emit @ev with @len bytes of @text, in any context. */
void mmcid_rs_trace(enum mmcid_rs_event ev, unsigned int cpu, __u64 mm, int pid,
		    const char *text, unsigned int len);

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
 * Rust side, called after sched_mm_cid_fork() or sched_mm_cid_exit()
 * returned, with the snapshots from their entry and return, preemption
 * disabled (kretprobe handler): must not sleep, allocate or print.
 */
void mmcid_rs_check_fork(const struct mmcid_op_snap *pre,
			 const struct mmcid_op_snap *post);
void mmcid_rs_check_exit(const struct mmcid_op_snap *pre,
			 const struct mmcid_op_snap *post);
/*
 * The same for an affinity change (runqueue lock held, interrupts off) and
 * for the deferred work mm_cid_work_fn() (preemption disabled).
 */
void mmcid_rs_check_affinity(const struct mmcid_op_snap *pre,
			     const struct mmcid_op_snap *post);
void mmcid_rs_check_work(const struct mmcid_op_snap *pre,
			 const struct mmcid_op_snap *post);

/*
 * Rust side, called once per load from the watchdog's timer (softirq, no
 * runqueue lock held) when a CPU has stayed in a context
 * switch for longer than stall_ms: formats and prints the live lock.
 */
void mmcid_rs_live_lock(const struct mmcid_stall_snap *s);

#endif /* _MMCID_RS_H */
