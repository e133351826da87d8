/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Interface between the C glue of mmcid_rs (glue/) and its Rust side
 * (mmcid_rs.rs). The Rust side declares the same functions by hand; keep
 * both in sync.
 */
#ifndef _MMCID_RS_H
#define _MMCID_RS_H

/* C glue, called from Rust at load and unload. */
int mmcid_hooks_register(void);
void mmcid_hooks_unregister(void);

/*
 * Rust side, called from the sched_switch probe with the runqueue lock
 * held and interrupts off: must not sleep, allocate or print.
 */
void mmcid_rs_on_switch(unsigned int cpu);

#endif /* _MMCID_RS_H */
