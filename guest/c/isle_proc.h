// isle_proc.h: the process part of isle's host ABI (import module "isle"),
// for C programs built with clang --target=wasm32-wasi. Each call returns 0
// or a WASI errno (ENOENT, EACCES, ENOEXEC for a module that does not load,
// ECHILD for a pid that is not the caller's child, EFAULT, EINVAL; EAGAIN
// from a spawn past the machine's limit on a SIP tree's live descendants,
// --max-procs; ENOMEM from one whose initial memory does not fit in the
// machine's memory budget). A SIP's children end with it (killed) when it ends.
#ifndef ISLE_PROC_H
#define ISLE_PROC_H

#include <stddef.h>
#include <stdint.h>

// Spawn a child SIP from the module file at path (under one of the
// directories given to isle with --dir, by its guest name). argv holds
// argv_len bytes of NUL-terminated strings, argv[0] first. nice is -20 (most
// CPU) … 19 (least), as Linux weighs it.
__attribute__((import_module("isle"), import_name("proc_spawn")))
int isle_proc_spawn(const char *path, size_t path_len, const char *argv, size_t argv_len,
                    int nice, uint32_t *pid);

// Wait for a child to end and reap it: its exit status (134 after a trap,
// 137 after a kill) and the CPU time it received, in nanoseconds.
__attribute__((import_module("isle"), import_name("proc_wait")))
int isle_proc_wait(uint32_t pid, uint32_t *status, uint64_t *cputime_ns);

// Kill a child; it ends within one time slice, with status 137.
__attribute__((import_module("isle"), import_name("proc_kill")))
int isle_proc_kill(uint32_t pid);

#endif
