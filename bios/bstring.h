/* The few string functions the BIOS has (lib.c); the host's in unit tests. */
#ifndef BIOS_BSTRING_H
#define BIOS_BSTRING_H
#include <stddef.h>
#ifdef BIOS_FIRMWARE
void *memcpy(void *dst, const void *src, size_t n);
void *memmove(void *dst, const void *src, size_t n);
void *memset(void *dst, int c, size_t n);
int memcmp(const void *a, const void *b, size_t n);
size_t strlen(const char *s);
int strncmp(const char *a, const char *b, size_t n);
#else
#include <string.h>
#endif
#endif
