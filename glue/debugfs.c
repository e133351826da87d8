// SPDX-License-Identifier: GPL-2.0
/*
 * The debugfs files of mmcid_rs (/sys/kernel/debug/mmcid_rs/): created here
 * rather than with the kernel crate's debugfs, whose file_operations in 7.3
 * leave .owner NULL. debugfs's proxy keeps a pointer to the real
 * file_operations and reads it again at the last close; only .owner makes
 * an open file pin the module (fops_get() in full_proxy_open_regular()),
 * so that rmmod is refused until it is closed instead of leaving the
 * close to read freed module memory. What the files show and what reset
 * accepts is the Rust side's.
 */
#include <linux/debugfs.h>
#include <linux/err.h>
#include <linux/fs.h>
#include <linux/module.h>
#include <linux/seq_file.h>
#include <linux/uaccess.h>

#include <mmcid_rs.h>

static struct dentry *mmcid_dir;

static int show(struct seq_file *m, void *v)
{
	return mmcid_rs_show(m, (enum mmcid_rs_file)(uintptr_t)m->private);
}

static int show_open(struct inode *inode, struct file *file)
{
	return single_open(file, show, inode->i_private);
}

static const struct file_operations show_fops = {
	.owner = THIS_MODULE,
	.open = show_open,
	.read = seq_read,
	.llseek = seq_lseek,
	.release = single_release,
};

/* "1\n" is the longest command; a longer write is refused unread. */
#define MMCID_RS_RESET_MAX	8

static ssize_t reset_write(struct file *file, const char __user *ubuf,
			   size_t len, loff_t *ppos)
{
	char buf[MMCID_RS_RESET_MAX];
	int ret;

	if (len == 0 || len > sizeof(buf))
		return -EINVAL;
	if (copy_from_user(buf, ubuf, len))
		return -EFAULT;
	ret = mmcid_rs_reset(buf, len);
	return ret ? ret : len;
}

static const struct file_operations reset_fops = {
	.owner = THIS_MODULE,
	.open = nonseekable_open,
	.write = reset_write,
};

int mmcid_rs_debugfs_create(void)
{
	struct dentry *dir = debugfs_create_dir("mmcid_rs", NULL);

	if (IS_ERR(dir))
		return PTR_ERR(dir);
	debugfs_create_file("status", 0400, dir,
			    (void *)(uintptr_t)MMCID_RS_FILE_STATUS, &show_fops);
	debugfs_create_file("report", 0400, dir,
			    (void *)(uintptr_t)MMCID_RS_FILE_REPORT, &show_fops);
	debugfs_create_file("live_lock", 0400, dir,
			    (void *)(uintptr_t)MMCID_RS_FILE_LIVE_LOCK, &show_fops);
	debugfs_create_file("verdict", 0400, dir,
			    (void *)(uintptr_t)MMCID_RS_FILE_VERDICT, &show_fops);
	debugfs_create_file("reset", 0200, dir, NULL, &reset_fops);
	mmcid_dir = dir;
	return 0;
}

/* Waits for the reads and writes in progress; later ones get -EIO. */
void mmcid_rs_debugfs_remove(void)
{
	debugfs_remove(mmcid_dir);
	mmcid_dir = NULL;
}
