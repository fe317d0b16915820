# Front door of the project.
#
#   make            build kernel/kvm.ko, kvm-run + unit tests (CMake, build/),
#                   our BIOS (build/bios/bios.bin), the guest payloads
#                   (build/guest) and the rig's test programs (build/rig-progs)
#   make test       deps + build + unit tests + rig tests; one summary line
#   make demo       deps + build + boot a greeting guest on our kvm.ko
#   make deps       install the Debian packages we need (scripts/deps.sh)
#   make bench      exit-cost benchmarks in the rig, ratios ours/reference
#                   (scripts/bench.sh; not part of make test; BENCH_ARGS
#                   go to rig.py, e.g. BENCH_ARGS="--modargs irqchip=0")
#   make image      a bootable disk image, build/disk.img (scripts/mkimage;
#                   needs root for one loop mount)
#   make rig        build, then the rig alone: make rig RIG_ARGS="--kvm=both --scenario payloads"
#   make clean
#
# KDIR: kernel build tree for kvm.ko; default /lib/modules/$(uname -r)/build,
# else the newest /lib/modules/*/build.

SHELL := /bin/bash
ROOT := $(CURDIR)
BUILD := $(ROOT)/build
JOBS ?= $(shell nproc 2>/dev/null || echo 2)

KDIR ?= $(shell d=/lib/modules/$$(uname -r)/build; \
	if [ -e $$d/Makefile ]; then echo $$d; \
	else ls -d /lib/modules/*/build 2>/dev/null | sort -V | tail -n 1; fi)

RIG_PROG_SRCS := $(wildcard tests/rig/progs/*.c)
RIG_PROGS := $(patsubst tests/rig/progs/%.c,$(BUILD)/rig-progs/%,$(RIG_PROG_SRCS))

.PHONY: all module userspace bios guests rig-progs deps test unit rig bench demo image clean help

all: module bios userspace guests rig-progs

# Skipped only while kernel/Makefile does not exist; after that a failed
# build is a failed build.
module:
	@if [ -f kernel/Makefile ]; then \
		if [ -z "$(KDIR)" ]; then echo "make: no kernel build tree (run make deps)" >&2; exit 1; fi; \
		echo "  MODULE  kernel/kvm.ko (KDIR=$(KDIR))"; \
		$(MAKE) -C kernel KDIR=$(KDIR); \
	else \
		echo "  SKIP    kernel/kvm.ko: kernel/Makefile does not exist yet"; \
	fi

userspace:
	@if [ -f CMakeLists.txt ]; then \
		cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null && \
		cmake --build $(BUILD) -j$(JOBS); \
	else \
		echo "  SKIP    kvm-run/unit-tests: CMakeLists.txt does not exist yet"; \
	fi

bios:
	@$(MAKE) --no-print-directory -C bios O=$(BUILD)/bios

guests:
	@if [ -f tests/guest/Makefile ]; then \
		$(MAKE) -C tests/guest O=$(BUILD)/guest; \
	else \
		echo "  SKIP    guest payloads: tests/guest/Makefile does not exist yet"; \
	fi

rig-progs: $(RIG_PROGS)

$(BUILD)/rig-progs/%: tests/rig/progs/%.c include/uapi/kvm-abi.h $(wildcard tests/rig/progs/*.h)
	@mkdir -p $(@D)
	@echo "  CC      $@"
	@gcc -static -O2 -Wall -I include/uapi -o $@ $<

deps:
	@scripts/deps.sh

# Each step is a separate make so KDIR etc. are re-evaluated after deps
# installed the headers on a fresh machine.
test:
	@scripts/deps.sh
	@$(MAKE) --no-print-directory all
	@scripts/test.sh

unit:
	@scripts/test.sh --unit-only

rig:
	@$(MAKE) --no-print-directory all
	@tests/rig/rig.py $(RIG_ARGS)

image:
	@scripts/deps.sh
	@scripts/mkimage -o $(BUILD)/disk.img $(IMAGE_ARGS)

bench:
	@scripts/deps.sh
	@$(MAKE) --no-print-directory all
	@scripts/bench.sh $(BENCH_ARGS)

demo:
	@scripts/deps.sh
	@$(MAKE) --no-print-directory all
	@scripts/demo.sh

clean:
	@if [ -f kernel/Makefile ] && [ -n "$(KDIR)" ]; then $(MAKE) -C kernel KDIR=$(KDIR) clean; fi
	rm -rf $(BUILD)

help:
	@sed -n '1,/^$$/p' Makefile
