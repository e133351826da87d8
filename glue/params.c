// SPDX-License-Identifier: GPL-2.0
/*
 * The one module parameter of mmcid_rs that the Rust module! macro of 7.3
 * cannot declare: a string. Rust reads and validates it at load time; the
 * names it accepts are model/variant.rs's, which a bad name lists.
 */
#include <linux/moduleparam.h>

#include <mmcid_rs.h>

static char variant[MMCID_RS_VARIANT_LEN] = "v7.3";
module_param_string(variant, variant, sizeof(variant), 0444);
MODULE_PARM_DESC(variant, "model variant to check the C code against (default v7.3; a wrong name lists them)");

const char *mmcid_rs_param_variant(void)
{
	return variant;
}
