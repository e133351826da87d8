/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The calling thread's rseq mm_cid, as glibc registered rseq for it
 * (__rseq_size is 0 when it did not).
 */
#ifndef MMCID_RS_RSEQ_CID_H
#define MMCID_RS_RSEQ_CID_H

#include <stdint.h>
#include <sys/rseq.h>

/* struct rseq as the kernel lays it out; libc headers may predate mm_cid. */
struct rseq_abi {
	uint32_t cpu_id_start;
	uint32_t cpu_id;
	uint64_t rseq_cs;
	uint32_t flags;
	uint32_t node_id;
	uint32_t mm_cid;
} __attribute__((aligned(32)));

static inline struct rseq_abi *rseq_area(void)
{
	return (struct rseq_abi *)((char *)__builtin_thread_pointer() + __rseq_offset);
}

static inline uint32_t rseq_mm_cid(void)
{
	return __atomic_load_n(&rseq_area()->mm_cid, __ATOMIC_ACQUIRE);
}

#endif
