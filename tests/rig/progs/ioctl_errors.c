/* SPDX-License-Identifier: GPL-2.0 */
/*
 * ioctl_errors: feed bad (and a few good) inputs to /dev/kvm and check the
 * exact result the reference (distro Linux 6.1 kvm + kvm_amd) gives.
 *
 * Every expectation below was measured on the reference in the rig; our
 * kvm.ko must give the same.  Output is TAP-like:
 *   ok N - description
 *   not ok N - description (got X, want Y)
 *   # info lines
 *   # N passed, M failed
 * Exit status 1 if any check failed, 2 on a fatal setup error or a hang.
 *
 * Facts measured on the reference that shaped the expectations (see the
 * checks for the full list):
 *  - unknown ioctl: /dev/kvm EINVAL, VM fd ENOTTY, vCPU fd EINVAL;
 *  - KVM_RUN on a VM that never had a memslot: ENOSPC (the MMU page budget
 *    is sized from the memslots, 0 until one is created or deleted); with a
 *    memslot but the fetch outside it: exit INTERNAL_ERROR, suberror
 *    EMULATION;
 *  - a port-I/O exit leaves RIP at the instruction; the next KVM_RUN (even
 *    with immediate_exit=1) completes it and moves RIP on;
 *  - immediate_exit=1: EINTR and exit_reason left as it was;
 *  - KVM_CREATE_VCPU truncates its argument to 32 bits.
 *
 * Build: gcc -static -O2 -Wall -Wextra -I include/uapi -o ioctl_errors \
 *            tests/rig/progs/ioctl_errors.c
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "kvm-abi.h"

/* Items our ABI header does not carry (yet); values from the public KVM API docs. */
#ifndef KVM_CAP_MULTI_ADDRESS_SPACE
#define KVM_CAP_MULTI_ADDRESS_SPACE 118
#endif

#define PAGE 4096UL

/* ------------------------------------------------------------------ */
/* reporting                                                            */

static int n_test, n_pass, n_fail;

static const char *errname(int e)
{
	switch (e) {
	case 0: return "0";
	case EPERM: return "EPERM";
	case ENOENT: return "ENOENT";
	case EINTR: return "EINTR";
	case EIO: return "EIO";
	case ENXIO: return "ENXIO";
	case E2BIG: return "E2BIG";
	case EBADF: return "EBADF";
	case EAGAIN: return "EAGAIN";
	case ENOMEM: return "ENOMEM";
	case EACCES: return "EACCES";
	case EFAULT: return "EFAULT";
	case EBUSY: return "EBUSY";
	case EEXIST: return "EEXIST";
	case ENODEV: return "ENODEV";
	case EINVAL: return "EINVAL";
	case ENOSPC: return "ENOSPC";
	case ENOTTY: return "ENOTTY";
	case ERANGE: return "ERANGE";
	case ENOSYS: return "ENOSYS";
	case EOPNOTSUPP: return "EOPNOTSUPP";
	case 524: return "ENOTSUPP(524)";
	default: break;
	}
	static char buf[32];
	snprintf(buf, sizeof buf, "errno %d", e);
	return buf;
}

static void report(int ok, const char *got, const char *want, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static void report(int ok, const char *got, const char *want, const char *fmt, ...)
{
	va_list ap;

	n_test++;
	printf("%sok %d - ", ok ? "" : "not ", n_test);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	if (!ok)
		printf(" (got %s, want %s)", got, want);
	printf("\n");
	fflush(stdout);
	if (ok)
		n_pass++;
	else
		n_fail++;
}

static void info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void info(const char *fmt, ...)
{
	va_list ap;

	printf("# ");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	fflush(stdout);
}

/* A result in kernel convention: >= 0 value, < 0 minus errno. */
static const char *res_str(long r, char *buf, size_t n)
{
	if (r >= 0)
		snprintf(buf, n, "%ld", r);
	else
		snprintf(buf, n, "-1/%s", errname((int)-r));
	return buf;
}

/* want >= 0: the call must return exactly want; want < 0: fail with -want. */
#define CHECK_RES(r, want, ...)                                              \
	do {                                                                 \
		long r_ = (r), w_ = (want);                                  \
		char g_[48], x_[48];                                         \
		report(r_ == w_, res_str(r_, g_, sizeof g_),                 \
		       res_str(w_, x_, sizeof x_), __VA_ARGS__);             \
	} while (0)

#define CHECK_U64(v, want, ...)                                              \
	do {                                                                 \
		unsigned long long v_ = (v), w_ = (want);                    \
		char g_[40], x_[40];                                         \
		snprintf(g_, sizeof g_, "%#llx", v_);                        \
		snprintf(x_, sizeof x_, "%#llx", w_);                        \
		report(v_ == w_, g_, x_, __VA_ARGS__);                       \
	} while (0)

#define CHECK_TRUE(c, gotfmt, ...)                                           \
	do {                                                                 \
		report(!!(c), gotfmt, #c, __VA_ARGS__);                      \
	} while (0)

static void fatal(const char *what)
{
	printf("Bail out! %s: %s\n", what, strerror(errno));
	printf("# %d passed, %d failed\n", n_pass, n_fail);
	fflush(stdout);
	exit(2);
}

static long xioctl(int fd, unsigned long req, unsigned long arg)
{
	long r = ioctl(fd, req, arg);

	return r < 0 ? -errno : r;
}

#define IOP(fd, req, ptr) xioctl((fd), (req), (unsigned long)(uintptr_t)(ptr))

/* ------------------------------------------------------------------ */
/* helpers                                                              */

static int kvm_fd = -1;
static long run_size;

static int create_vm(void)
{
	long fd = xioctl(kvm_fd, KVM_CREATE_VM, 0);

	if (fd < 0) {
		errno = (int)-fd;
		fatal("KVM_CREATE_VM");
	}
	return (int)fd;
}

static int create_vcpu(int vm, unsigned long id)
{
	long fd = xioctl(vm, KVM_CREATE_VCPU, id);

	if (fd < 0) {
		errno = (int)-fd;
		fatal("KVM_CREATE_VCPU");
	}
	return (int)fd;
}

static struct kvm_run *map_run(int vcpu)
{
	void *p = mmap(NULL, run_size, PROT_READ | PROT_WRITE, MAP_SHARED, vcpu, 0);

	if (p == MAP_FAILED)
		fatal("mmap(vcpu)");
	return p;
}

static void *alloc_mem(size_t size)
{
	void *p = mmap(NULL, size, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);

	if (p == MAP_FAILED)
		fatal("mmap(anon)");
	return p;
}

static long set_region(int vm, uint32_t slot, uint32_t flags, uint64_t gpa,
		       uint64_t size, uint64_t uaddr)
{
	struct kvm_userspace_memory_region r = {
		.slot = slot, .flags = flags, .guest_phys_addr = gpa,
		.memory_size = size, .userspace_addr = uaddr,
	};

	return IOP(vm, KVM_SET_USER_MEMORY_REGION, &r);
}

static long run_vcpu(int vcpu)
{
	return xioctl(vcpu, KVM_RUN, 0);
}

/* Real mode, CS base 0 selector 0, RIP 0, flags 2; optionally IDT limit. */
static void real_mode_at0(int vcpu, int idt_limit)
{
	struct kvm_sregs s;
	struct kvm_regs r;

	if (IOP(vcpu, KVM_GET_SREGS, &s) < 0)
		fatal("KVM_GET_SREGS");
	s.cs.base = 0;
	s.cs.selector = 0;
	if (idt_limit >= 0) {
		s.idt.base = 0;
		s.idt.limit = (uint16_t)idt_limit;
	}
	if (IOP(vcpu, KVM_SET_SREGS, &s) < 0)
		fatal("KVM_SET_SREGS");
	memset(&r, 0, sizeof r);
	r.rip = 0;
	r.rflags = 2;
	r.rsp = 0xff0;
	if (IOP(vcpu, KVM_SET_REGS, &r) < 0)
		fatal("KVM_SET_REGS");
}

struct guest {
	int vm, vcpu;
	struct kvm_run *run;
	uint8_t *mem;
	size_t memsz;
};

/* A VM with memsz bytes of RAM at gpa 0 holding code, one vCPU in real mode at 0. */
static void guest_setup(struct guest *g, const void *code, size_t len, size_t memsz)
{
	g->vm = create_vm();
	g->memsz = memsz;
	g->mem = alloc_mem(memsz);
	memcpy(g->mem, code, len);
	if (set_region(g->vm, 0, 0, 0, memsz, (uintptr_t)g->mem) < 0)
		fatal("KVM_SET_USER_MEMORY_REGION");
	g->vcpu = create_vcpu(g->vm, 0);
	g->run = map_run(g->vcpu);
	real_mode_at0(g->vcpu, -1);
}

static void guest_free(struct guest *g)
{
	munmap(g->run, run_size);
	close(g->vcpu);
	close(g->vm);
	munmap(g->mem, g->memsz);
}

static uint64_t get_rip(int vcpu)
{
	struct kvm_regs r;

	if (IOP(vcpu, KVM_GET_REGS, &r) < 0)
		fatal("KVM_GET_REGS");
	return r.rip;
}

static uint64_t io_data(struct kvm_run *run, unsigned size)
{
	uint8_t *p = (uint8_t *)run + run->io.data_offset;
	uint64_t v = 0;

	memcpy(&v, p, size);
	return v;
}

static void print_internal(struct kvm_run *run)
{
	char buf[512];
	int n = 0;

	n += snprintf(buf + n, sizeof buf - n, "internal.suberror=%u ndata=%u data=",
		      run->internal.suberror, run->internal.ndata);
	for (unsigned i = 0; i < run->internal.ndata && i < 16 && n < 400; i++)
		n += snprintf(buf + n, sizeof buf - n, "%s%#llx", i ? "," : "",
			      (unsigned long long)run->internal.data[i]);
	info("%s", buf);
}

static const char *exit_name(uint32_t r)
{
	static char buf[24];

	switch (r) {
	case KVM_EXIT_UNKNOWN: return "UNKNOWN(0)";
	case KVM_EXIT_EXCEPTION: return "EXCEPTION(1)";
	case KVM_EXIT_IO: return "IO(2)";
	case KVM_EXIT_HLT: return "HLT(5)";
	case KVM_EXIT_MMIO: return "MMIO(6)";
	case KVM_EXIT_SHUTDOWN: return "SHUTDOWN(8)";
	case KVM_EXIT_FAIL_ENTRY: return "FAIL_ENTRY(9)";
	case KVM_EXIT_INTR: return "INTR(10)";
	case KVM_EXIT_INTERNAL_ERROR: return "INTERNAL_ERROR(17)";
	case KVM_EXIT_SYSTEM_EVENT: return "SYSTEM_EVENT(24)";
	default:
		snprintf(buf, sizeof buf, "%u", r);
		return buf;
	}
}

#define CHECK_EXIT(run, want, ...)                                           \
	do {                                                                 \
		uint32_t e_ = (run)->exit_reason;                            \
		char g_[32], x_[32];                                         \
		snprintf(g_, sizeof g_, "%s", exit_name(e_));                \
		snprintf(x_, sizeof x_, "%s", exit_name(want));              \
		report(e_ == (uint32_t)(want), g_, x_, __VA_ARGS__);         \
	} while (0)

/* Runs fn in a forked child; returns the wait status. */
static int in_child(void (*fn)(void *), void *arg)
{
	int st;
	pid_t pid;

	fflush(stdout);
	pid = fork();
	if (pid < 0)
		fatal("fork");
	if (pid == 0) {
		alarm(20);
		fn(arg);
		_exit(0);
	}
	if (waitpid(pid, &st, 0) < 0)
		fatal("waitpid");
	return st;
}

/* ------------------------------------------------------------------ */
/* the last-resort hang guard                                           */

static volatile const char *current_section = "start";

static void on_alarm(int sig)
{
	char buf[160];
	int n;

	(void)sig;
	n = snprintf(buf, sizeof buf, "Bail out! hung in section '%s' (alarm)\n",
		     current_section);
	if (write(1, buf, n) < 0)
		_exit(3);
	_exit(2);
}

#define SECTION(name)                                                        \
	do {                                                                 \
		current_section = (name);                                    \
		alarm(60);                                                   \
		info("--- %s", (name));                                      \
	} while (0)

/* ------------------------------------------------------------------ */
/* tests                                                                */

static long cap(int fd, long c)
{
	return xioctl(fd, KVM_CHECK_EXTENSION, c);
}

static long cap_readonly, cap_nr_memslots, cap_max_vcpu_id, cap_immediate_exit,
	cap_multi_as;

static void test_system(void)
{
	SECTION("/dev/kvm");
	CHECK_RES(xioctl(kvm_fd, KVM_GET_API_VERSION, 0), 12, "KVM_GET_API_VERSION == 12");
	CHECK_RES(xioctl(kvm_fd, _IO(KVMIO, 0x7f), 0), -EINVAL,
		  "unknown ioctl _IO(KVMIO,0x7f) on /dev/kvm");
	CHECK_RES(xioctl(kvm_fd, _IO(0x55, 0x01), 0), -EINVAL,
		  "foreign-type ioctl _IO(0x55,1) on /dev/kvm");
	CHECK_RES(xioctl(kvm_fd, KVM_RUN, 0), -EINVAL, "KVM_RUN on /dev/kvm");
	CHECK_RES(cap(kvm_fd, 0x7fffffff), 0, "KVM_CHECK_EXTENSION(0x7fffffff) == 0");
	CHECK_RES(cap(kvm_fd, -1L), 0, "KVM_CHECK_EXTENSION(-1) == 0");
	CHECK_RES(cap(kvm_fd, 100000), 0, "KVM_CHECK_EXTENSION(100000) == 0");
	CHECK_RES(cap(kvm_fd, KVM_CAP_USER_MEMORY), 1, "KVM_CAP_USER_MEMORY == 1");
	CHECK_RES(xioctl(kvm_fd, KVM_CREATE_VM, 1), -EINVAL, "KVM_CREATE_VM type 1");
	CHECK_RES(xioctl(kvm_fd, KVM_CREATE_VM, 0x80000000UL), -EINVAL,
		  "KVM_CREATE_VM type 0x80000000");
	CHECK_RES(xioctl(kvm_fd, KVM_CREATE_VM, -1UL), -EINVAL, "KVM_CREATE_VM type -1");

	run_size = xioctl(kvm_fd, KVM_GET_VCPU_MMAP_SIZE, 0);
	info("KVM_GET_VCPU_MMAP_SIZE = %ld", run_size);
	CHECK_TRUE(run_size >= (long)PAGE && run_size % PAGE == 0, "smaller/unaligned",
		   "KVM_GET_VCPU_MMAP_SIZE >= 4096 and page multiple");
	CHECK_RES(run_size, 3 * PAGE, "KVM_GET_VCPU_MMAP_SIZE == 3 pages (run, pio, coalesced mmio)");
	if (run_size < (long)PAGE)
		fatal("mmap size");

	cap_readonly = cap(kvm_fd, KVM_CAP_READONLY_MEM);
	cap_nr_memslots = cap(kvm_fd, KVM_CAP_NR_MEMSLOTS);
	cap_max_vcpu_id = cap(kvm_fd, KVM_CAP_MAX_VCPU_ID);
	cap_immediate_exit = cap(kvm_fd, KVM_CAP_IMMEDIATE_EXIT);
	cap_multi_as = cap(kvm_fd, KVM_CAP_MULTI_ADDRESS_SPACE);
	info("caps: READONLY_MEM=%ld NR_MEMSLOTS=%ld NR_VCPUS=%ld MAX_VCPUS=%ld "
	     "MAX_VCPU_ID=%ld IMMEDIATE_EXIT=%ld MULTI_ADDRESS_SPACE=%ld COALESCED_MMIO=%ld",
	     cap_readonly, cap_nr_memslots, cap(kvm_fd, KVM_CAP_NR_VCPUS),
	     cap(kvm_fd, KVM_CAP_MAX_VCPUS), cap_max_vcpu_id, cap_immediate_exit,
	     cap_multi_as, cap(kvm_fd, KVM_CAP_COALESCED_MMIO));
	CHECK_TRUE(cap_nr_memslots >= 32, "small", "KVM_CAP_NR_MEMSLOTS >= 32");
	CHECK_TRUE(cap_max_vcpu_id >= 1, "0", "KVM_CAP_MAX_VCPU_ID >= 1");

	/* mmap of /dev/kvm itself */
	void *p = mmap(NULL, PAGE, PROT_READ, MAP_SHARED, kvm_fd, 0);
	CHECK_RES(p == MAP_FAILED ? -errno : 0, -ENODEV, "mmap(/dev/kvm)");
	if (p != MAP_FAILED)
		munmap(p, PAGE);
}

static void test_vm_vcpu_unknown(void)
{
	SECTION("unknown ioctls on VM and vCPU fds");
	int vm = create_vm();

	CHECK_RES(xioctl(vm, _IO(KVMIO, 0x7f), 0), -ENOTTY, "unknown ioctl _IO(KVMIO,0x7f) on VM fd");
	CHECK_RES(xioctl(vm, _IO(0x55, 0x01), 0), -ENOTTY, "foreign-type ioctl on VM fd");
	CHECK_RES(xioctl(vm, KVM_GET_VCPU_MMAP_SIZE, 0), -ENOTTY,
		  "KVM_GET_VCPU_MMAP_SIZE (a /dev/kvm ioctl) on VM fd");
	CHECK_RES(xioctl(vm, KVM_RUN, 0), -ENOTTY, "KVM_RUN on VM fd");
	CHECK_RES(xioctl(vm, KVM_GET_API_VERSION, 0), -ENOTTY, "KVM_GET_API_VERSION on VM fd");
	CHECK_RES(cap(vm, 0x7fffffff), 0, "KVM_CHECK_EXTENSION(huge) on VM fd == 0");
	CHECK_RES(cap(vm, KVM_CAP_USER_MEMORY), 1, "KVM_CHECK_EXTENSION(USER_MEMORY) on VM fd == 1");

	int vcpu = create_vcpu(vm, 0);
	CHECK_RES(xioctl(vcpu, _IO(KVMIO, 0x7f), 0), -EINVAL, "unknown ioctl _IO(KVMIO,0x7f) on vCPU fd");
	CHECK_RES(xioctl(vcpu, _IO(0x55, 0x01), 0), -EINVAL, "foreign-type ioctl on vCPU fd");
	CHECK_RES(xioctl(vcpu, KVM_CREATE_VCPU, 1), -EINVAL, "KVM_CREATE_VCPU on vCPU fd");
	CHECK_RES(xioctl(vcpu, KVM_GET_API_VERSION, 0), -EINVAL, "KVM_GET_API_VERSION on vCPU fd");
	CHECK_RES(cap(vcpu, KVM_CAP_USER_MEMORY), -EINVAL, "KVM_CHECK_EXTENSION on vCPU fd");
	CHECK_RES(xioctl(vcpu, KVM_RUN, 1), -EINVAL, "KVM_RUN with a nonzero argument");

	void *p = mmap(NULL, PAGE, PROT_READ, MAP_SHARED, vm, 0);
	CHECK_RES(p == MAP_FAILED ? -errno : 0, -ENODEV, "mmap(VM fd)");
	if (p != MAP_FAILED)
		munmap(p, PAGE);
	close(vcpu);
	close(vm);
}

static void test_memory_regions(void)
{
	SECTION("KVM_SET_USER_MEMORY_REGION");
	int vm = create_vm();
	size_t msz = 16 * PAGE;
	uint8_t *m = alloc_mem(msz);
	uint64_t u = (uintptr_t)m;

	CHECK_RES(set_region(vm, 0, 0, 0x800, PAGE, u), -EINVAL, "gpa not page aligned");
	CHECK_RES(set_region(vm, 0, 0, 0, PAGE + 0x800, u), -EINVAL, "size not page aligned");
	CHECK_RES(set_region(vm, 0, 0, 0, 0x800, u), -EINVAL, "size < 1 page");
	CHECK_RES(set_region(vm, 0, 0, 0, PAGE, u + 0x10), -EINVAL, "userspace_addr not page aligned");
	CHECK_RES(set_region(vm, 0, 1u << 2, 0, PAGE, u), -EINVAL, "unknown flag bit 2");
	CHECK_RES(set_region(vm, 0, 1u << 31, 0, PAGE, u), -EINVAL, "unknown flag bit 31");

	long r = set_region(vm, 5, KVM_MEM_READONLY, 0x100000, PAGE, u);
	info("KVM_MEM_READONLY (cap %ld) -> %ld", cap_readonly, r);
	if (cap_readonly == 0)
		CHECK_RES(r, -EINVAL, "KVM_MEM_READONLY without KVM_CAP_READONLY_MEM");
	else
		CHECK_RES(r, 0, "KVM_MEM_READONLY with KVM_CAP_READONLY_MEM");
	if (r == 0)
		set_region(vm, 5, KVM_MEM_READONLY, 0x100000, 0, u);

	CHECK_RES(set_region(vm, (uint32_t)cap_nr_memslots, 0, 0, PAGE, u), -EINVAL,
		  "slot id == KVM_CAP_NR_MEMSLOTS (%ld)", cap_nr_memslots);
	CHECK_RES(set_region(vm, 0xffff, 0, 0, PAGE, u), -EINVAL, "slot id 0xffff");
	CHECK_RES(set_region(vm, (uint32_t)cap_nr_memslots - 1, 0, 0x200000, PAGE, u), 0,
		  "slot id KVM_CAP_NR_MEMSLOTS-1 works");
	CHECK_RES(set_region(vm, (uint32_t)cap_nr_memslots - 1, 0, 0x200000, 0, u), 0,
		  "delete slot KVM_CAP_NR_MEMSLOTS-1");

	/* address spaces: KVM_CAP_MULTI_ADDRESS_SPACE gives their number (0 = only as 0) */
	long nas = cap_multi_as > 0 ? cap_multi_as : 1;
	r = set_region(vm, 0 | (1u << 16), 0, 0, PAGE, u);
	if (nas > 1) {
		CHECK_RES(r, 0, "address space 1 accepted (KVM_CAP_MULTI_ADDRESS_SPACE=%ld)", nas);
		if (r == 0)
			set_region(vm, 0 | (1u << 16), 0, 0, 0, u);
	} else {
		CHECK_RES(r, -EINVAL, "address space 1 rejected (single address space)");
	}
	CHECK_RES(set_region(vm, 0 | ((uint32_t)nas << 16), 0, 0, PAGE, u), -EINVAL,
		  "address space id == KVM_CAP_MULTI_ADDRESS_SPACE");
	CHECK_RES(set_region(vm, 0xffff0000u, 0, 0, PAGE, u), -EINVAL, "address space id 0xffff");

	CHECK_RES(set_region(vm, 0, 0, 0xfffffffffffff000ULL, 2 * PAGE, u), -EINVAL,
		  "gpa + size wraps around");
	CHECK_RES(set_region(vm, 0, 0, 1ULL << 52, PAGE, u), -EINVAL,
		  "gpa beyond the 52-bit physical address space");
	CHECK_RES(set_region(vm, 0, 0, 0, 1ULL << 44, u), -EINVAL, "size 16 TiB");
	CHECK_RES(set_region(vm, 0, 0, 0, PAGE, 0xffff888000000000ULL), -EINVAL,
		  "userspace_addr in kernel space");
	/*
	 * The limit is access_ok()'s TASK_SIZE_MAX, which is 2^47 - 4096 with
	 * 4-level paging and 2^56 - 4096 with 5-level (the rig's L1 has LA57):
	 * pick addresses that are on the same side of it either way.
	 */
	CHECK_RES(set_region(vm, 0, 0, 0, 2 * PAGE, 0x00fffffffffff000ULL), -EINVAL,
		  "userspace_addr range crossing 2^56");
	CHECK_RES(set_region(vm, 0, 0, 0, PAGE, 0x0100000000000000ULL), -EINVAL,
		  "userspace_addr at 2^56");
	CHECK_RES(set_region(vm, 0, 0, 0, PAGE, 0x00007fffffffe000ULL), 0,
		  "userspace_addr high unmapped user page accepted at set time");
	CHECK_RES(set_region(vm, 0, 0, 0, 0, 0x00007fffffffe000ULL), 0, "delete it");
	r = set_region(vm, 0, 0, 0, 2 * PAGE, 0x00007ffffffff000ULL);
	info("userspace_addr 2^47-4096 + 2 pages -> %ld (access_ok: depends on LA57)", r);
	if (r == 0)
		set_region(vm, 0, 0, 0, 0, 0);

	/* slot 0: gpa 0, 2 pages */
	CHECK_RES(set_region(vm, 0, 0, 0, 2 * PAGE, u), 0, "create slot 0 [0,2p)");
	CHECK_RES(set_region(vm, 0, 0, 0, 2 * PAGE, u), 0, "set slot 0 again unchanged");
	CHECK_RES(set_region(vm, 1, 0, PAGE, PAGE, u + 4 * PAGE), -EEXIST,
		  "slot 1 overlapping slot 0 (inside)");
	CHECK_RES(set_region(vm, 1, 0, 0, 8 * PAGE, u + 4 * PAGE), -EEXIST,
		  "slot 1 covering slot 0");
	CHECK_RES(set_region(vm, 1, 0, 2 * PAGE, PAGE, u + 4 * PAGE), 0,
		  "slot 1 adjacent to slot 0 [2p,3p)");
	CHECK_RES(set_region(vm, 2, 0, 0x10000, PAGE, u), 0,
		  "slot 2 aliasing slot 0's host memory at another gpa");
	CHECK_RES(set_region(vm, 0, 0, 0, 3 * PAGE, u), -EINVAL, "grow slot 0");
	CHECK_RES(set_region(vm, 0, 0, 0, PAGE, u), -EINVAL, "shrink slot 0");
	CHECK_RES(set_region(vm, 0, 0, 0, 2 * PAGE, u + 8 * PAGE), -EINVAL,
		  "change userspace_addr of slot 0");
	CHECK_RES(set_region(vm, 0, KVM_MEM_LOG_DIRTY_PAGES, 0, 2 * PAGE, u), 0,
		  "set LOG_DIRTY_PAGES on slot 0");
	CHECK_RES(set_region(vm, 0, 0, 0, 2 * PAGE, u), 0, "clear LOG_DIRTY_PAGES on slot 0");
	CHECK_RES(set_region(vm, 0, 0, 0x20000, 2 * PAGE, u), 0, "move slot 0 to 0x20000");
	CHECK_RES(set_region(vm, 0, 0, 0x10000 - PAGE, 2 * PAGE, u), -EEXIST,
		  "move slot 0 onto slot 2");
	CHECK_RES(set_region(vm, 0, 0, 0x20000, 0, u), 0, "delete slot 0 (size 0)");
	CHECK_RES(set_region(vm, 0, 0, 0, 2 * PAGE, u), 0, "re-add slot 0");
	CHECK_RES(set_region(vm, 0, 0, 0, 0, 0), 0, "delete slot 0 with gpa/uaddr 0 in the request");
	CHECK_RES(set_region(vm, 7, 0, 0, 0, 0), -EINVAL, "delete a slot that never existed");
	CHECK_RES(set_region(vm, 0, 0, 0, 0, 0), -EINVAL, "delete slot 0 twice");
	CHECK_RES(set_region(vm, 7, 0, 0x800, 0, 0), -EINVAL,
		  "delete non-existent slot with unaligned gpa");
	CHECK_RES(set_region(vm, (uint32_t)cap_nr_memslots, 0, 0, 0, 0), -EINVAL,
		  "delete slot id == KVM_CAP_NR_MEMSLOTS");

	CHECK_RES(IOP(vm, KVM_SET_USER_MEMORY_REGION, (void *)8), -EFAULT,
		  "KVM_SET_USER_MEMORY_REGION with a bad pointer");

	/* KVM_GET_DIRTY_LOG */
	uint64_t bitmap[4] = { 0 };
	struct kvm_dirty_log dl = { .slot = 3 };
	dl.dirty_bitmap = bitmap;
	CHECK_RES(set_region(vm, 3, 0, 0x40000, 4 * PAGE, u), 0, "slot 3 without dirty logging");
	CHECK_RES(IOP(vm, KVM_GET_DIRTY_LOG, &dl), -ENOENT,
		  "KVM_GET_DIRTY_LOG on a slot without LOG_DIRTY_PAGES");
	CHECK_RES(set_region(vm, 3, KVM_MEM_LOG_DIRTY_PAGES, 0x40000, 4 * PAGE, u), 0,
		  "enable dirty logging on slot 3");
	CHECK_RES(IOP(vm, KVM_GET_DIRTY_LOG, &dl), 0, "KVM_GET_DIRTY_LOG on slot 3");
	dl.dirty_bitmap = (void *)8;
	CHECK_RES(IOP(vm, KVM_GET_DIRTY_LOG, &dl), -EFAULT, "KVM_GET_DIRTY_LOG, bad bitmap pointer");
	dl.dirty_bitmap = bitmap;
	dl.slot = 9;
	CHECK_RES(IOP(vm, KVM_GET_DIRTY_LOG, &dl), -ENOENT, "KVM_GET_DIRTY_LOG on an empty slot id");
	dl.slot = (uint32_t)cap_nr_memslots;
	CHECK_RES(IOP(vm, KVM_GET_DIRTY_LOG, &dl), -EINVAL,
		  "KVM_GET_DIRTY_LOG slot id == KVM_CAP_NR_MEMSLOTS");
	dl.slot = 3u | (2u << 16);
	CHECK_RES(IOP(vm, KVM_GET_DIRTY_LOG, &dl), -EINVAL, "KVM_GET_DIRTY_LOG address space 2");
	CHECK_RES(IOP(vm, KVM_GET_DIRTY_LOG, (void *)8), -EFAULT, "KVM_GET_DIRTY_LOG bad pointer");
	CHECK_RES(set_region(vm, 3, 0, 0, 0, 0), 0, "delete slot 3");
	close(vm);
	munmap(m, msz);
}

static void test_vcpu_create(void)
{
	SECTION("KVM_CREATE_VCPU");
	int vm = create_vm();
	long v0 = xioctl(vm, KVM_CREATE_VCPU, 0);

	CHECK_TRUE(v0 >= 0, "error", "create vCPU 0");
	CHECK_RES(xioctl(vm, KVM_CREATE_VCPU, 0), -EEXIST, "duplicate vCPU id 0");
	CHECK_RES(xioctl(vm, KVM_CREATE_VCPU, cap_max_vcpu_id), -EINVAL,
		  "vCPU id == KVM_CAP_MAX_VCPU_ID (%ld)", cap_max_vcpu_id);
	CHECK_RES(xioctl(vm, KVM_CREATE_VCPU, -1UL), -EINVAL, "vCPU id -1");
	CHECK_RES(xioctl(vm, KVM_CREATE_VCPU, 0x7fffffffUL), -EINVAL, "vCPU id 0x7fffffff");
	long v1 = xioctl(vm, KVM_CREATE_VCPU, 1);
	long v2 = xioctl(vm, KVM_CREATE_VCPU, 2);
	CHECK_TRUE(v1 >= 0, "error", "create vCPU 1");
	CHECK_TRUE(v2 >= 0, "error", "create vCPU 2");
	CHECK_RES(xioctl(vm, KVM_CREATE_VCPU, 2), -EEXIST, "duplicate vCPU id 2");
	long vmax = xioctl(vm, KVM_CREATE_VCPU, cap_max_vcpu_id - 1);
	CHECK_TRUE(vmax >= 0, "error", "create vCPU id KVM_CAP_MAX_VCPU_ID-1");
	/* The id argument is truncated to 32 bits by the reference. */
	long vt = xioctl(vm, KVM_CREATE_VCPU, (1UL << 32) | 3);
	CHECK_TRUE(vt >= 0, "error", "vCPU id (1<<32)|3 is taken as id 3 (arg truncated to u32)");
	CHECK_RES(xioctl(vm, KVM_CREATE_VCPU, 3), -EEXIST, "then vCPU id 3 already exists");
	long vt2 = xioctl(vm, KVM_CREATE_VCPU, (1UL << 32) | 0);
	CHECK_RES(vt2, -EEXIST, "vCPU id (1<<32)|0 collides with vCPU 0");

	if (v0 >= 0) close((int)v0);
	if (v1 >= 0) close((int)v1);
	if (v2 >= 0) close((int)v2);
	if (vmax >= 0) close((int)vmax);
	if (vt >= 0) close((int)vt);
	if (vt2 >= 0) close((int)vt2);
	close(vm);
}

static int mm_vcpu;
static long mm_off;

static void child_touch(void *arg)
{
	(void)arg;
	volatile uint8_t *p = mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, mm_vcpu, mm_off);

	if (p == MAP_FAILED)
		_exit(100);
	(void)p[0];
	_exit(0);
}

static void test_mmap(void)
{
	SECTION("mmap of the vCPU fd");
	int vm = create_vm();
	int vcpu = create_vcpu(vm, 0);
	void *p;

	p = mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, vcpu, 0);
	CHECK_TRUE(p != MAP_FAILED, "MAP_FAILED", "mmap(vcpu, 1 page, offset 0)");
	if (p != MAP_FAILED)
		munmap(p, PAGE);

	p = mmap(NULL, run_size, PROT_READ | PROT_WRITE, MAP_SHARED, vcpu, 0);
	CHECK_TRUE(p != MAP_FAILED, "MAP_FAILED", "mmap(vcpu, full size)");
	if (p != MAP_FAILED) {
		volatile uint8_t *b = p;
		uint8_t sum = 0;
		for (long off = 0; off < run_size; off += PAGE)
			sum += b[off];
		(void)sum;
		CHECK_TRUE(1, "", "touch every page of the full vCPU mapping");
		munmap(p, run_size);
	}

	p = mmap(NULL, PAGE, PROT_READ, MAP_PRIVATE, vcpu, 0);
	CHECK_TRUE(p != MAP_FAILED, "MAP_FAILED", "mmap(vcpu) MAP_PRIVATE read-only page 0");
	if (p != MAP_FAILED)
		munmap(p, PAGE);

	/* Offset past the mapping size: mmap succeeds, a touch gives SIGBUS. */
	p = mmap(NULL, PAGE, PROT_READ, MAP_SHARED, vcpu, run_size);
	CHECK_RES(p == MAP_FAILED ? -errno : 0, 0, "mmap(vcpu, offset = mmap size) succeeds");
	if (p != MAP_FAILED)
		munmap(p, PAGE);
	mm_vcpu = vcpu;
	mm_off = run_size;
	int st = in_child(child_touch, NULL);
	CHECK_TRUE(WIFSIGNALED(st) && WTERMSIG(st) == SIGBUS, "no SIGBUS",
		   "touch at offset = mmap size -> SIGBUS (status %#x)", st);
	mm_off = 64 * PAGE;	/* the dirty-ring page offset, ring not enabled */
	st = in_child(child_touch, NULL);
	CHECK_TRUE(WIFSIGNALED(st) && WTERMSIG(st) == SIGBUS, "no SIGBUS",
		   "touch at offset 64 pages -> SIGBUS (status %#x)", st);
	mm_off = 1000 * PAGE;
	st = in_child(child_touch, NULL);
	CHECK_TRUE(WIFSIGNALED(st) && WTERMSIG(st) == SIGBUS, "no SIGBUS",
		   "touch at offset 1000 pages -> SIGBUS (status %#x)", st);

	/* A mapping larger than the vCPU area: the tail pages SIGBUS. */
	p = mmap(NULL, run_size + PAGE, PROT_READ, MAP_SHARED, vcpu, 0);
	CHECK_RES(p == MAP_FAILED ? -errno : 0, 0, "mmap(vcpu, mmap size + 1 page) succeeds");
	if (p != MAP_FAILED)
		munmap(p, run_size + PAGE);

	close(vcpu);
	close(vm);
}

static void test_bad_pointers(void)
{
	SECTION("bad user pointers");
	int vm = create_vm();
	int vcpu = create_vcpu(vm, 0);
	void *bad = (void *)16;
	void *kern = (void *)0xffff888000000000ULL;

	CHECK_RES(IOP(vcpu, KVM_GET_REGS, bad), -EFAULT, "KVM_GET_REGS(bad ptr)");
	CHECK_RES(IOP(vcpu, KVM_SET_REGS, bad), -EFAULT, "KVM_SET_REGS(bad ptr)");
	CHECK_RES(IOP(vcpu, KVM_GET_SREGS, bad), -EFAULT, "KVM_GET_SREGS(bad ptr)");
	CHECK_RES(IOP(vcpu, KVM_SET_SREGS, bad), -EFAULT, "KVM_SET_SREGS(bad ptr)");
	CHECK_RES(IOP(vcpu, KVM_GET_REGS, kern), -EFAULT, "KVM_GET_REGS(kernel ptr)");
	CHECK_RES(IOP(vcpu, KVM_SET_SREGS, kern), -EFAULT, "KVM_SET_SREGS(kernel ptr)");
	CHECK_RES(IOP(vcpu, KVM_GET_FPU, bad), -EFAULT, "KVM_GET_FPU(bad ptr)");
	CHECK_RES(IOP(vcpu, KVM_SET_FPU, bad), -EFAULT, "KVM_SET_FPU(bad ptr)");
	CHECK_RES(IOP(vcpu, KVM_GET_MP_STATE, bad), -EFAULT, "KVM_GET_MP_STATE(bad ptr)");
	CHECK_RES(IOP(vcpu, KVM_GET_VCPU_EVENTS, bad), -EFAULT, "KVM_GET_VCPU_EVENTS(bad ptr)");
	CHECK_RES(IOP(vcpu, KVM_INTERRUPT, bad), -EFAULT, "KVM_INTERRUPT(bad ptr)");

	/* a page that is mapped read-only: GET must fault, SET must work */
	void *ro = mmap(NULL, PAGE, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (ro == MAP_FAILED)
		fatal("mmap ro");
	CHECK_RES(IOP(vcpu, KVM_GET_REGS, ro), -EFAULT, "KVM_GET_REGS into a read-only page");
	munmap(ro, PAGE);

	/* struct straddling into an unmapped page */
	uint8_t *two = alloc_mem(2 * PAGE);
	munmap(two + PAGE, PAGE);
	CHECK_RES(IOP(vcpu, KVM_GET_SREGS, two + PAGE - 16), -EFAULT,
		  "KVM_GET_SREGS straddling into an unmapped page");
	munmap(two, PAGE);

	/* Invalid values */
	struct kvm_sregs s;
	struct kvm_interrupt irq = { .irq = 256 };
	CHECK_RES(IOP(vcpu, KVM_INTERRUPT, &irq), -EINVAL, "KVM_INTERRUPT irq 256");
	irq.irq = 0x20;
	CHECK_RES(IOP(vcpu, KVM_INTERRUPT, &irq), 0, "KVM_INTERRUPT irq 0x20 (no irqchip)");
	struct kvm_mp_state mp = { .mp_state = 1000 };
	CHECK_RES(IOP(vcpu, KVM_SET_MP_STATE, &mp), -EINVAL, "KVM_SET_MP_STATE 1000");

	if (IOP(vcpu, KVM_GET_SREGS, &s) < 0)
		fatal("GET_SREGS");
	struct kvm_sregs t = s;
	t.efer |= 1ULL << 10;	/* LMA without LME/PG */
	CHECK_RES(IOP(vcpu, KVM_SET_SREGS, &t), -EINVAL, "KVM_SET_SREGS EFER.LMA without paging");
	t = s;
	t.cs.l = 1;
	CHECK_RES(IOP(vcpu, KVM_SET_SREGS, &t), -EINVAL, "KVM_SET_SREGS CS.L outside long mode");
	t = s;
	t.cr4 |= 1ULL << 63;
	CHECK_RES(IOP(vcpu, KVM_SET_SREGS, &t), -EINVAL, "KVM_SET_SREGS CR4 reserved bit 63");
	t = s;
	t.efer |= 1ULL << 9;	/* reserved EFER bit */
	long r = IOP(vcpu, KVM_SET_SREGS, &t);
	info("KVM_SET_SREGS with reserved EFER bit 9 -> %ld", r);
	CHECK_RES(IOP(vcpu, KVM_SET_SREGS, &s), 0, "KVM_SET_SREGS of what GET_SREGS gave");

	close(vcpu);
	close(vm);
}

/*
 * One fresh VM + vCPU 0; slots: 0 none ever, 1 a page at gpa 0 (filled with
 * HLT), 2 a page created then deleted.  csbase ~0 keeps the reset state
 * (CS.base 0xffff0000, RIP 0xfff0: fetch at gpa 0xfffffff0).
 */
static long run_probe(int slots, uint64_t csbase, uint64_t rip, struct kvm_run *out)
{
	int vm = create_vm();
	void *mem = alloc_mem(PAGE);
	long r;

	memset(mem, 0xf4, PAGE);
	if (slots >= 1)
		set_region(vm, 0, 0, 0, PAGE, (uintptr_t)mem);
	if (slots == 2)
		set_region(vm, 0, 0, 0, 0, (uintptr_t)mem);
	int vcpu = create_vcpu(vm, 0);
	struct kvm_run *run = map_run(vcpu);
	if (csbase != ~0ULL) {
		struct kvm_sregs s;
		struct kvm_regs rg;
		IOP(vcpu, KVM_GET_SREGS, &s);
		s.cs.base = csbase;
		s.cs.selector = (uint16_t)(csbase >> 4);
		IOP(vcpu, KVM_SET_SREGS, &s);
		IOP(vcpu, KVM_GET_REGS, &rg);
		rg.rip = rip;
		IOP(vcpu, KVM_SET_REGS, &rg);
	}
	run->exit_reason = 0xdead;
	r = run_vcpu(vcpu);
	memcpy(out, run, sizeof *out);
	munmap(run, run_size);
	close(vcpu);
	close(vm);
	munmap(mem, PAGE);
	return r;
}

static void test_run_nomem(void)
{
	struct kvm_run out;
	long r;

	SECTION("KVM_RUN with no memory");
	/*
	 * The reference sizes its MMU page budget from the memslots when one
	 * is created or deleted; before any memslot was ever set it is 0, and
	 * KVM_RUN fails with ENOSPC before the guest runs.
	 */
	r = run_probe(0, ~0ULL, 0, &out);
	info("no memslot ever, reset state -> %ld exit_reason=%#x", r, out.exit_reason);
	CHECK_RES(r, -ENOSPC, "KVM_RUN on a VM that never had a memslot -> ENOSPC");
	r = run_probe(0, 0, 0, &out);
	CHECK_RES(r, -ENOSPC, "same with real mode CS.base 0 RIP 0 -> ENOSPC");

	static const struct { const char *what; int slots; uint64_t csbase, rip; } pr[] = {
		{ "slot created then deleted, reset state (fetch at 0xfffffff0)", 2, ~0ULL, 0 },
		{ "slot created then deleted, fetch at gpa 0", 2, 0, 0 },
		{ "RAM at gpa 0 only, reset state (fetch at 0xfffffff0)", 1, ~0ULL, 0 },
		{ "RAM at gpa 0 only, fetch at gpa 0x2000", 1, 0, 0x2000 },
	};
	for (unsigned i = 0; i < sizeof pr / sizeof pr[0]; i++) {
		r = run_probe(pr[i].slots, pr[i].csbase, pr[i].rip, &out);
		CHECK_RES(r, 0, "%s: KVM_RUN returns 0", pr[i].what);
		CHECK_EXIT(&out, KVM_EXIT_INTERNAL_ERROR, "%s: exit", pr[i].what);
		if (out.exit_reason == KVM_EXIT_INTERNAL_ERROR) {
			print_internal(&out);
			CHECK_U64(out.internal.suberror, KVM_INTERNAL_ERROR_EMULATION,
				  "%s: suberror EMULATION", pr[i].what);
		}
	}

	int vm, vcpu;
	struct kvm_run *run;
	SECTION("KVM_RUN with an unmapped memslot");
	/* a slot whose host memory is not mapped: accepted at set time, fails at run time */
	vm = create_vm();
	void *hole = alloc_mem(4 * PAGE);
	munmap(hole, 4 * PAGE);
	CHECK_RES(set_region(vm, 0, 0, 0, 4 * PAGE, (uintptr_t)hole), 0,
		  "slot backed by unmapped host memory accepted");
	vcpu = create_vcpu(vm, 0);
	run = map_run(vcpu);
	real_mode_at0(vcpu, -1);
	run->exit_reason = 0xdead;
	r = run_vcpu(vcpu);
	info("KVM_RUN, unmapped backing -> %ld exit_reason=%u", r, run->exit_reason);
	CHECK_RES(r, -EFAULT, "KVM_RUN fetching from unmapped backing memory");
	munmap(run, run_size);
	close(vcpu);
	close(vm);
}

static const uint8_t code_out[] = { 0xb0, 0x42, 0xe6, 0x10, 0xf4 };
static const uint8_t code_in[] = { 0xe4, 0x11, 0xe6, 0x12, 0xf4 };
static const uint8_t code_wide[] = {
	0xba, 0x20, 0x00,			/* mov dx,0x20 */
	0xb8, 0x34, 0x12,			/* mov ax,0x1234 */
	0xef,					/* out dx,ax */
	0x66, 0xb8, 0x78, 0x56, 0x34, 0x12,	/* mov eax,0x12345678 */
	0x66, 0xef,				/* out dx,eax */
	0x66, 0xed,				/* in eax,dx */
	0x66, 0xef,				/* out dx,eax */
	0xf4,
};
static const uint8_t code_outs[] = {
	0xbe, 0x00, 0x01,	/* mov si,0x100 */
	0xb9, 0x03, 0x00,	/* mov cx,3 */
	0xba, 0x14, 0x00,	/* mov dx,0x14 */
	0xfc,			/* cld */
	0xf3, 0x6e,		/* rep outsb */
	0xf4,
};
static const uint8_t code_mmio[] = {
	0xc6, 0x06, 0x00, 0x20, 0x77,	/* mov byte [0x2000],0x77 */
	0xa0, 0x00, 0x20,		/* mov al,[0x2000] */
	0xe6, 0x13,			/* out 0x13,al */
	0xf4,
};
static const uint8_t code_spin[] = { 0xeb, 0xfe };	/* jmp $ */
static const uint8_t code_int3[] = { 0xcc, 0xf4 };

static void check_io(struct kvm_run *run, int dir, int size, int port, unsigned count,
		     const char *what)
{
	CHECK_EXIT(run, KVM_EXIT_IO, "%s: exit IO", what);
	if (run->exit_reason != KVM_EXIT_IO)
		return;
	CHECK_U64(run->io.direction, dir, "%s: direction", what);
	CHECK_U64(run->io.size, size, "%s: size", what);
	CHECK_U64(run->io.port, port, "%s: port", what);
	CHECK_U64(run->io.count, count, "%s: count", what);
	CHECK_U64(run->io.data_offset, KVM_PIO_PAGE_OFFSET * PAGE, "%s: data_offset", what);
}

static void test_tiny_guests(void)
{
	struct guest g;
	long r;

	SECTION("guest: out imm8");
	guest_setup(&g, code_out, sizeof code_out, PAGE);
	r = run_vcpu(g.vcpu);
	CHECK_RES(r, 0, "KVM_RUN -> 0");
	check_io(g.run, KVM_EXIT_IO_OUT, 1, 0x10, 1, "out 0x10,al");
	if (g.run->exit_reason == KVM_EXIT_IO)
		CHECK_U64(io_data(g.run, 1), 0x42, "out 0x10,al: data 0x42");
	/* The reference advances RIP past an exiting OUT only when the next
	 * KVM_RUN completes it. */
	CHECK_U64(get_rip(g.vcpu), 2, "RIP at the OUT exit still points at the OUT");
	r = run_vcpu(g.vcpu);
	CHECK_RES(r, 0, "KVM_RUN -> 0");
	CHECK_EXIT(g.run, KVM_EXIT_HLT, "then HLT exit");
	CHECK_U64(get_rip(g.vcpu), 5, "RIP after HLT exit points past the HLT");
	struct kvm_mp_state mp;
	if (IOP(g.vcpu, KVM_GET_MP_STATE, &mp) == 0)
		info("mp_state after HLT exit (no irqchip) = %u", mp.mp_state);
	r = run_vcpu(g.vcpu);
	info("KVM_RUN after HLT -> %ld exit=%s rip=%#llx", r, exit_name(g.run->exit_reason),
	     (unsigned long long)get_rip(g.vcpu));
	guest_free(&g);

	SECTION("guest: in imm8");
	guest_setup(&g, code_in, sizeof code_in, PAGE);
	r = run_vcpu(g.vcpu);
	CHECK_RES(r, 0, "KVM_RUN -> 0");
	check_io(g.run, KVM_EXIT_IO_IN, 1, 0x11, 1, "in al,0x11");
	if (g.run->exit_reason == KVM_EXIT_IO)
		((uint8_t *)g.run)[g.run->io.data_offset] = 0x5a;
	r = run_vcpu(g.vcpu);
	CHECK_RES(r, 0, "KVM_RUN -> 0");
	check_io(g.run, KVM_EXIT_IO_OUT, 1, 0x12, 1, "out 0x12,al");
	if (g.run->exit_reason == KVM_EXIT_IO)
		CHECK_U64(io_data(g.run, 1), 0x5a, "OUT carries the IN data 0x5a");
	r = run_vcpu(g.vcpu);
	CHECK_EXIT(g.run, KVM_EXIT_HLT, "then HLT exit");
	guest_free(&g);

	SECTION("guest: 16/32-bit port I/O");
	guest_setup(&g, code_wide, sizeof code_wide, PAGE);
	r = run_vcpu(g.vcpu);
	check_io(g.run, KVM_EXIT_IO_OUT, 2, 0x20, 1, "out dx,ax");
	if (g.run->exit_reason == KVM_EXIT_IO)
		CHECK_U64(io_data(g.run, 2), 0x1234, "out dx,ax: data");
	r = run_vcpu(g.vcpu);
	check_io(g.run, KVM_EXIT_IO_OUT, 4, 0x20, 1, "out dx,eax");
	if (g.run->exit_reason == KVM_EXIT_IO)
		CHECK_U64(io_data(g.run, 4), 0x12345678, "out dx,eax: data");
	r = run_vcpu(g.vcpu);
	check_io(g.run, KVM_EXIT_IO_IN, 4, 0x20, 1, "in eax,dx");
	if (g.run->exit_reason == KVM_EXIT_IO) {
		uint32_t v = 0xcafef00d;
		memcpy((uint8_t *)g.run + g.run->io.data_offset, &v, 4);
	}
	r = run_vcpu(g.vcpu);
	check_io(g.run, KVM_EXIT_IO_OUT, 4, 0x20, 1, "out dx,eax after in");
	if (g.run->exit_reason == KVM_EXIT_IO)
		CHECK_U64(io_data(g.run, 4), 0xcafef00d, "in eax,dx delivered all 4 bytes");
	r = run_vcpu(g.vcpu);
	CHECK_EXIT(g.run, KVM_EXIT_HLT, "then HLT exit");
	guest_free(&g);

	SECTION("guest: rep outsb");
	guest_setup(&g, code_outs, sizeof code_outs, PAGE);
	memcpy(g.mem + 0x100, "abc", 3);
	char got[16] = { 0 };
	unsigned n = 0, exits = 0, first_count = 0;
	for (int i = 0; i < 8; i++) {
		r = run_vcpu(g.vcpu);
		if (r != 0 || g.run->exit_reason != KVM_EXIT_IO)
			break;
		if (exits == 0) {
			check_io(g.run, KVM_EXIT_IO_OUT, 1, 0x14, g.run->io.count, "rep outsb");
			first_count = g.run->io.count;
		}
		exits++;
		for (unsigned k = 0; k < g.run->io.count && n < 15; k++)
			got[n++] = ((char *)g.run)[g.run->io.data_offset + k];
	}
	info("rep outsb of 3 bytes: %u IO exits, first count %u", exits, first_count);
	CHECK_TRUE(n == 3 && memcmp(got, "abc", 3) == 0, got, "rep outsb delivers 'abc'");
	CHECK_EXIT(g.run, KVM_EXIT_HLT, "rep outsb: then HLT exit");
	guest_free(&g);

	SECTION("guest: MMIO");
	guest_setup(&g, code_mmio, sizeof code_mmio, PAGE);
	r = run_vcpu(g.vcpu);
	CHECK_RES(r, 0, "KVM_RUN -> 0");
	CHECK_EXIT(g.run, KVM_EXIT_MMIO, "store to gpa without memslot -> MMIO exit");
	if (g.run->exit_reason == KVM_EXIT_MMIO) {
		CHECK_U64(g.run->mmio.phys_addr, 0x2000, "mmio write: phys_addr");
		CHECK_U64(g.run->mmio.len, 1, "mmio write: len");
		CHECK_U64(g.run->mmio.is_write, 1, "mmio write: is_write");
		CHECK_U64(g.run->mmio.data[0], 0x77, "mmio write: data");
	}
	r = run_vcpu(g.vcpu);
	CHECK_EXIT(g.run, KVM_EXIT_MMIO, "load from gpa without memslot -> MMIO exit");
	if (g.run->exit_reason == KVM_EXIT_MMIO) {
		CHECK_U64(g.run->mmio.phys_addr, 0x2000, "mmio read: phys_addr");
		CHECK_U64(g.run->mmio.len, 1, "mmio read: len");
		CHECK_U64(g.run->mmio.is_write, 0, "mmio read: is_write");
		g.run->mmio.data[0] = 0x99;
	}
	r = run_vcpu(g.vcpu);
	check_io(g.run, KVM_EXIT_IO_OUT, 1, 0x13, 1, "out 0x13,al after mmio read");
	if (g.run->exit_reason == KVM_EXIT_IO)
		CHECK_U64(io_data(g.run, 1), 0x99, "mmio read data reached the guest");
	r = run_vcpu(g.vcpu);
	CHECK_EXIT(g.run, KVM_EXIT_HLT, "then HLT exit");
	guest_free(&g);

	SECTION("guest: triple fault");
	guest_setup(&g, code_int3, sizeof code_int3, PAGE);
	real_mode_at0(g.vcpu, 0);
	r = run_vcpu(g.vcpu);
	CHECK_RES(r, 0, "KVM_RUN -> 0");
	CHECK_EXIT(g.run, KVM_EXIT_SHUTDOWN, "int3 with real-mode IDT limit 0 -> SHUTDOWN");
	guest_free(&g);
}

static volatile sig_atomic_t got_usr1;

static void on_usr1(int sig)
{
	(void)sig;
	got_usr1++;
}

static void test_signals(void)
{
	struct guest g;
	long r;

	SECTION("immediate_exit");
	guest_setup(&g, code_out, sizeof code_out, PAGE);
	if (cap_immediate_exit <= 0) {
		info("KVM_CAP_IMMEDIATE_EXIT not advertised: skipping");
	} else {
		g.run->immediate_exit = 1;
		g.run->exit_reason = 0xdead;
		r = run_vcpu(g.vcpu);
		info("immediate_exit=1 -> %ld exit_reason=%#x", r, g.run->exit_reason);
		CHECK_RES(r, -EINTR, "KVM_RUN with immediate_exit=1 -> EINTR");
		/* the reference leaves exit_reason as it was */
		CHECK_U64(g.run->exit_reason, 0xdead, "immediate_exit=1 leaves exit_reason untouched");
		CHECK_U64(get_rip(g.vcpu), 0, "immediate_exit: guest did not run");
		g.run->immediate_exit = 0;
		r = run_vcpu(g.vcpu);
		check_io(g.run, KVM_EXIT_IO_OUT, 1, 0x10, 1, "after immediate_exit cleared: out");
		/* immediate exit while an IN is pending completion: the IN completes first? */
		g.run->immediate_exit = 1;
		r = run_vcpu(g.vcpu);
		CHECK_RES(r, -EINTR, "immediate_exit=1 after an OUT exit -> EINTR");
		CHECK_U64(get_rip(g.vcpu), 4,
			  "immediate_exit still completes the pending OUT (RIP past it)");
		g.run->immediate_exit = 0;
		r = run_vcpu(g.vcpu);
		CHECK_EXIT(g.run, KVM_EXIT_HLT, "then HLT exit");
	}
	guest_free(&g);

	SECTION("signal during KVM_RUN");
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_usr1;
	sigemptyset(&sa.sa_mask);
	sa.sa_flags = 0;	/* no SA_RESTART */
	sigaction(SIGUSR1, &sa, NULL);

	guest_setup(&g, code_spin, sizeof code_spin, PAGE);
	timer_t tid;
	struct sigevent sev;
	memset(&sev, 0, sizeof sev);
	sev.sigev_notify = SIGEV_SIGNAL;
	sev.sigev_signo = SIGUSR1;
	if (timer_create(CLOCK_MONOTONIC, &sev, &tid) < 0)
		fatal("timer_create");
	struct itimerspec its = {
		.it_value = { .tv_sec = 0, .tv_nsec = 50 * 1000 * 1000 },
		.it_interval = { .tv_sec = 0, .tv_nsec = 100 * 1000 * 1000 },
	};
	got_usr1 = 0;
	timer_settime(tid, 0, &its, NULL);
	g.run->exit_reason = 0xdead;
	r = run_vcpu(g.vcpu);
	struct itimerspec off = { 0 };
	timer_settime(tid, 0, &off, NULL);
	timer_delete(tid);
	CHECK_RES(r, -EINTR, "spinning guest + SIGUSR1 -> KVM_RUN EINTR");
	CHECK_EXIT(g.run, KVM_EXIT_INTR, "signal -> exit reason INTR");
	CHECK_TRUE(got_usr1 > 0, "0", "the SIGUSR1 handler ran");
	uint64_t rip = get_rip(g.vcpu);
	CHECK_U64(rip, 0, "spinning guest's RIP stays at the jmp");
	if (cap_immediate_exit > 0) {
		g.run->immediate_exit = 1;
		CHECK_RES(run_vcpu(g.vcpu), -EINTR, "re-enter with immediate_exit after signal");
		g.run->immediate_exit = 0;
	}
	guest_free(&g);
}

static void child_vcpu_ioctl(void *arg)
{
	int *fds = arg;
	struct kvm_regs r;
	long e1 = IOP(fds[1], KVM_GET_REGS, &r);
	long e2 = xioctl(fds[1], KVM_RUN, 0);
	long e3 = set_region(fds[0], 3, 0, 0x100000, PAGE, 0x10000000);
	long e4 = xioctl(fds[0], KVM_CREATE_VCPU, 5);
	long e5 = xioctl(kvm_fd, KVM_GET_API_VERSION, 0);

	/* encode the four results in the exit status: 1 bit each */
	_exit((e1 == -EIO) | (e2 == -EIO) << 1 | (e3 == -EIO) << 2 | (e4 == -EIO) << 3 |
	      (e5 == 12) << 4);
}

static void test_lifetimes(void)
{
	struct guest g;
	long r;

	SECTION("vCPU keeps the VM alive");
	guest_setup(&g, code_out, sizeof code_out, PAGE);
	close(g.vm);
	r = run_vcpu(g.vcpu);
	CHECK_RES(r, 0, "KVM_RUN after the VM fd was closed");
	check_io(g.run, KVM_EXIT_IO_OUT, 1, 0x10, 1, "VM fd closed: out");
	r = run_vcpu(g.vcpu);
	CHECK_EXIT(g.run, KVM_EXIT_HLT, "VM fd closed: then HLT");
	close(g.vcpu);
	/* the kvm_run mapping outlives the vCPU fd */
	volatile struct kvm_run *vr = g.run;
	CHECK_U64(vr->exit_reason, KVM_EXIT_HLT, "kvm_run mapping readable after all fds closed");
	vr->immediate_exit = 0;
	CHECK_TRUE(1, "", "kvm_run mapping writable after all fds closed");
	munmap(g.run, run_size);
	munmap(g.mem, g.memsz);

	SECTION("close orders");
	guest_setup(&g, code_out, sizeof code_out, PAGE);
	munmap(g.run, run_size);
	close(g.vcpu);
	r = set_region(g.vm, 1, 0, 0x100000, PAGE, (uintptr_t)g.mem);
	CHECK_RES(r, 0, "VM still usable after its vCPU fd was closed");
	CHECK_RES(xioctl(g.vm, KVM_CREATE_VCPU, 0), -EEXIST,
		  "closed vCPU 0 still exists (id cannot be reused)");
	close(g.vm);
	munmap(g.mem, g.memsz);

	/* memory unmapped under a live slot */
	guest_setup(&g, code_out, sizeof code_out, PAGE);
	munmap(g.mem, g.memsz);
	r = run_vcpu(g.vcpu);
	info("KVM_RUN after munmap of the slot's memory -> %ld exit=%s", r,
	     exit_name(g.run->exit_reason));
	CHECK_RES(r, -EFAULT, "KVM_RUN after the slot's memory was munmapped -> EFAULT");
	munmap(g.run, run_size);
	close(g.vcpu);
	close(g.vm);

	SECTION("fds used from another process");
	guest_setup(&g, code_out, sizeof code_out, PAGE);
	int fds[2] = { g.vm, g.vcpu };
	int st = in_child(child_vcpu_ioctl, fds);
	int code = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
	info("child status %#x", st);
	CHECK_TRUE(code >= 0 && (code & 1), "not EIO", "vCPU KVM_GET_REGS from a forked child -> EIO");
	CHECK_TRUE(code >= 0 && (code & 2), "not EIO", "vCPU KVM_RUN from a forked child -> EIO");
	CHECK_TRUE(code >= 0 && (code & 4), "not EIO",
		   "VM SET_USER_MEMORY_REGION from a forked child -> EIO");
	CHECK_TRUE(code >= 0 && (code & 8), "not EIO", "VM CREATE_VCPU from a forked child -> EIO");
	CHECK_TRUE(code >= 0 && (code & 16), "fail", "/dev/kvm works in a forked child");
	r = run_vcpu(g.vcpu);
	check_io(g.run, KVM_EXIT_IO_OUT, 1, 0x10, 1, "parent still runs the vCPU");
	guest_free(&g);

	SECTION("after everything");
	int vm = create_vm();
	CHECK_TRUE(vm >= 0, "fail", "/dev/kvm still creates VMs");
	close(vm);
}

/*
 * The in-kernel PIT's lost-tick policy switch.  Measured on the reference:
 * the capability is 1; KVM_REINJECT_CONTROL copies its argument first
 * (EFAULT for a bad pointer even with no PIT), then wants a PIT (ENXIO),
 * and ignores the reserved bytes; a second KVM_CREATE_PIT2 is EEXIST.
 */
static void test_pit_reinject(void)
{
	struct kvm_reinject_control rc;
	struct kvm_pit_config pc;
	int vm;

	SECTION("KVM_CREATE_PIT2 and KVM_REINJECT_CONTROL");
	if (cap(kvm_fd, KVM_CAP_IRQCHIP) <= 0) {
		info("no KVM_CAP_IRQCHIP: no in-kernel PIT to check");
		return;
	}
	CHECK_RES(cap(kvm_fd, KVM_CAP_REINJECT_CONTROL), 1, "KVM_CAP_REINJECT_CONTROL == 1");
	vm = create_vm();
	CHECK_RES(cap(vm, KVM_CAP_REINJECT_CONTROL), 1,
		  "KVM_CHECK_EXTENSION(REINJECT_CONTROL) on VM fd == 1");
	memset(&rc, 0, sizeof rc);
	memset(&pc, 0, sizeof pc);
	CHECK_RES(IOP(vm, KVM_CREATE_IRQCHIP, 0), 0, "KVM_CREATE_IRQCHIP");
	CHECK_RES(IOP(vm, KVM_REINJECT_CONTROL, NULL), -EFAULT,
		  "KVM_REINJECT_CONTROL with a NULL argument");
	CHECK_RES(IOP(vm, KVM_REINJECT_CONTROL, &rc), -ENXIO, "KVM_REINJECT_CONTROL without a PIT");
	CHECK_RES(IOP(vm, KVM_CREATE_PIT2, &pc), 0, "KVM_CREATE_PIT2");
	CHECK_RES(IOP(vm, KVM_CREATE_PIT2, &pc), -EEXIST, "KVM_CREATE_PIT2 again");
	CHECK_RES(IOP(vm, KVM_REINJECT_CONTROL, &rc), 0, "KVM_REINJECT_CONTROL pit_reinject=0");
	rc.pit_reinject = 1;
	CHECK_RES(IOP(vm, KVM_REINJECT_CONTROL, &rc), 0, "KVM_REINJECT_CONTROL pit_reinject=1");
	memset(rc.reserved, 0xff, sizeof rc.reserved);
	CHECK_RES(IOP(vm, KVM_REINJECT_CONTROL, &rc), 0,
		  "KVM_REINJECT_CONTROL ignores the reserved bytes");
	close(vm);

	/*
	 * Upstream 6.1 makes a PIT without an in-kernel irqchip (later
	 * kernels refuse with ENOENT): its state and policy ioctls work, the
	 * irqchip ioctls still want KVM_CREATE_IRQCHIP, which may follow.
	 */
	struct kvm_pit_state2 ps;
	struct kvm_irq_level irq = { .irq = 0, .level = 1 };

	vm = create_vm();
	memset(&rc, 0, sizeof rc);
	CHECK_RES(IOP(vm, KVM_CREATE_PIT2, &pc), 0, "KVM_CREATE_PIT2 before KVM_CREATE_IRQCHIP");
	CHECK_RES(IOP(vm, KVM_CREATE_PIT2, &pc), -EEXIST, "KVM_CREATE_PIT2 again, no irqchip");
	CHECK_RES(IOP(vm, KVM_GET_PIT2, &ps), 0, "KVM_GET_PIT2 with a PIT and no irqchip");
	CHECK_RES(IOP(vm, KVM_SET_PIT2, &ps), 0, "KVM_SET_PIT2 with a PIT and no irqchip");
	CHECK_RES(IOP(vm, KVM_REINJECT_CONTROL, &rc), 0, "KVM_REINJECT_CONTROL with a PIT and no irqchip");
	CHECK_RES(IOP(vm, KVM_IRQ_LINE, &irq), -ENXIO, "KVM_IRQ_LINE with a PIT and no irqchip");
	CHECK_RES(IOP(vm, KVM_CREATE_IRQCHIP, 0), 0, "KVM_CREATE_IRQCHIP after KVM_CREATE_PIT2");
	CHECK_RES(IOP(vm, KVM_IRQ_LINE, &irq), 0, "KVM_IRQ_LINE once the irqchip exists");
	CHECK_RES(IOP(vm, KVM_CREATE_IRQCHIP, 0), -EEXIST, "KVM_CREATE_IRQCHIP again");
	close(vm);
}

int main(void)
{
	struct sigaction sa;

	setvbuf(stdout, NULL, _IOLBF, 0);
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_alarm;
	sigaction(SIGALRM, &sa, NULL);
	alarm(60);

	kvm_fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (kvm_fd < 0)
		fatal("open /dev/kvm");

	test_system();
	test_vm_vcpu_unknown();
	test_memory_regions();
	test_vcpu_create();
	test_mmap();
	test_bad_pointers();
	test_run_nomem();
	test_tiny_guests();
	test_signals();
	test_lifetimes();
	test_pit_reinject();

	alarm(0);
	printf("# %d passed, %d failed\n", n_pass, n_fail);
	return n_fail ? 1 : 0;
}
