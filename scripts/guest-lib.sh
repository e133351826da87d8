# SPDX-License-Identifier: GPL-2.0
#
# Helpers for the scripts that run inside the guest.  Source it.

# Mount debugfs, and keep the sched_switch static key on so that loading
# and unloading the module does not patch __schedule(): multi-threaded TCG
# once ran a stale int3 there after text_poke_bp() had finished.
guest_setup() {
	mountpoint -q /sys/kernel/debug || mount -t debugfs none /sys/kernel/debug
	mountpoint -q /sys/kernel/tracing || mount -t tracefs none /sys/kernel/tracing
	echo 1 >/sys/kernel/tracing/events/sched/sched_switch/enable
}
