// SPDX-License-Identifier: GPL-2.0
/*
 * Module parameters of mmcid_rs that the Rust module! macro of 7.3 cannot
 * declare (it has no string parameters). Rust reads and validates them at
 * load time.
 */
#include <linux/moduleparam.h>

#include <mmcid_rs.h>

static char variant[16] = "v7.3";
module_param_string(variant, variant, sizeof(variant), 0444);
MODULE_PARM_DESC(variant, "model variant to check the C code against: v7.3, pre-fix, no-transit, unguarded-drop, transit-unset");

static int pid;
module_param(pid, int, 0444);
MODULE_PARM_DESC(pid, "check and watch only the process with this tgid (0: all)");

const char *mmcid_param_variant(void)
{
	return variant;
}

int mmcid_param_pid(void)
{
	return pid;
}

static unsigned int stall_ms = 50;
module_param(stall_ms, uint, 0444);
MODULE_PARM_DESC(stall_ms, "name a live lock when a CPU stays this long in a context switch (0: off, at most 10000)");

unsigned int mmcid_param_stall_ms(void)
{
	return stall_ms;
}
