# SPDX-License-Identifier: GPL-2.0
#
# mmcid-rs.  `make` builds the module against KDIR (default: the kernel
# tree that scripts/build-kernel.sh built and cached).  The README's two
# commands are `make run` (the whole job from nothing, ending in a verdict)
# and `make test` (every test, ending in "N passed, N failed").

KDIR ?= $(shell $(CURDIR)/scripts/build-kernel.sh --print-dir 2>/dev/null)

.PHONY: all module clippy rustfmt rustfmtcheck run test test-debug test-kcsan reproduce mutants coverage clean help

all: module

module:
	@$(CURDIR)/scripts/check-kdir.sh "$(KDIR)"
	$(MAKE) -C $(KDIR) M=$(CURDIR) modules

# Rebuild the Rust object with the kernel's clippy lints.
clippy:
	@$(CURDIR)/scripts/check-kdir.sh "$(KDIR)"
	rm -f $(CURDIR)/mmcid_rs.o
	$(MAKE) -C $(KDIR) M=$(CURDIR) CLIPPY=1 modules

RUST_SOURCES := mmcid_rs.rs $(wildcard model/*.rs module/*.rs explorer/src/*.rs explorer/tests/*.rs)

rustfmt:
	rustfmt --config-path $(CURDIR)/.rustfmt.toml $(RUST_SOURCES)

rustfmtcheck:
	rustfmt --check --config-path $(CURDIR)/.rustfmt.toml $(RUST_SOURCES)

# RUN_ARGS go to the script (e.g. RUN_ARGS="--variant affinity-switchback --force").
run:
	@$(CURDIR)/scripts/run.sh $(RUN_ARGS)

test:
	@$(CURDIR)/scripts/test.sh

# The module on a kernel with lockdep, KFENCE, UBSAN, debugobjects and
# kmemleak (docs/debug.md); test-kcsan: under KCSAN.  TEST_DEBUG_ARGS go to
# the script (e.g. TEST_DEBUG_ARGS="--only cycles --record").
test-debug:
	@$(CURDIR)/scripts/test-debug.sh $(TEST_DEBUG_ARGS)

test-kcsan:
	@$(CURDIR)/scripts/test-debug.sh --flavour kcsan $(TEST_DEBUG_ARGS)

# Boot 7.3 with the live lock fix reverted under the fork pattern.
reproduce:
	@$(CURDIR)/scripts/reproduce.sh --boots 10

# Build and boot every patches/mutants/ kernel; MUTANTS_ARGS go to the
# script (e.g. MUTANTS_ARGS="--only 03 --cpus 4").
mutants:
	@$(CURDIR)/scripts/mutants.sh $(MUTANTS_ARGS)

# make run on the gcov flavour: lines and branches of the mm_cid code it
# reaches, beside the model's paths (docs/coverage.md); COVERAGE_ARGS go to
# the script (e.g. COVERAGE_ARGS="--before a46d026 --write-doc").
coverage:
	@$(CURDIR)/scripts/coverage.sh $(COVERAGE_ARGS)

clean:
	@if [ -n "$(KDIR)" ]; then $(MAKE) -C $(KDIR) M=$(CURDIR) clean; fi
	rm -rf $(CURDIR)/target

help:
	@echo "make [KDIR=...]   build mmcid-rs.ko"
	@echo "make run          deps, kernel, module, VM: load, report, unload, verdict"
	@echo "make test         all tests; ends with 'N passed, N failed'"
	@echo "make test-debug   the module under lockdep, KFENCE, UBSAN, kmemleak (docs/debug.md)"
	@echo "make test-kcsan   the module under KCSAN; races sorted module / mm_cid / kernel"
	@echo "make reproduce    hang a kernel without the fix (10 boots), pass on 7.3"
	@echo "make mutants      boot each patches/mutants/ kernel, table in docs/mutants.md"
	@echo "                  (MUTANTS_ARGS=\"--only NN --cpus 4 ...\", see scripts/mutants.sh --help)"
	@echo "make coverage     make run on a gcov kernel: what of the mm_cid code it reaches"
	@echo "make clippy       module with CLIPPY=1"
	@echo "make rustfmtcheck check formatting of all Rust sources"
