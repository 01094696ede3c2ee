// Linux and glibc APIs that Swift's Glibc module does not import: epoll, eventfd, iovec,
// accept4, and the allocator's tuning (mallopt, malloc_trim).
// Part of the C library itself, so there is nothing to link and no pkg-config entry.
#pragma once
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/uio.h>
#include <malloc.h>

// accept4 is declared by glibc only under _GNU_SOURCE, which the already-built Glibc module
// was not compiled with: declare it here under its own name, bound to the libc symbol.
// (void * and unsigned int * so this header needs no socket types of its own.)
extern int clinux_accept4(int fd, void *address, unsigned int *length, int flags) __asm__("accept4");
