/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The thin layer between kvm.ko's portable code (guest page-table walker,
 * instruction emulator, interrupt controller logic) and its environment.
 * In the kernel it maps to kernel headers; in the unit tests (tests/unit)
 * to the C library.  Portable files include only this.
 */
#ifndef KVM_PORTABLE_H
#define KVM_PORTABLE_H

#ifdef __KERNEL__
#include <linux/types.h>
#include <linux/string.h>
#include <linux/kernel.h>
#else
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
typedef uint8_t u8;
typedef uint16_t u16;
typedef uint32_t u32;
typedef uint64_t u64;
typedef int8_t s8;
typedef int16_t s16;
typedef int32_t s32;
typedef int64_t s64;
#endif

#endif /* KVM_PORTABLE_H */
