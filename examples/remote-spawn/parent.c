// parent spawns a program on another node of the cluster (proc_spawn_on),
// reads from that node's preopened directory, and waits for its exit status,
// which comes back over the link. With -k it kills the child first.
//
//	clang --target=wasm32-wasi -O2 -I guest/c -o parent.wasm examples/remote-spawn/parent.c
//	isle node --id 1 ... -- parent.wasm 2 /progs/worker.wasm ARGS...
//
// Node 0, or the parent's own node, spawns here. Prints "spawned pid P",
// then "wait: status S" (134 after a trap, 137 after a kill), or the errno
// of the call that failed ("spawn: errno E", "wait: errno E"): ENXIO (60)
// no such node, EHOSTUNREACH (23) a node down or its link lost,
// ECONNREFUSED (14) a node that runs no machine, ENOENT (44) no such
// program there.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "isle_proc.h"

int main(int argc, char **argv) {
	setvbuf(stdout, NULL, _IONBF, 0);
	int kill = argc > 1 && strcmp(argv[1], "-k") == 0;
	if (kill) {
		argc--;
		argv++;
	}
	if (argc < 3) {
		fprintf(stderr, "usage: parent [-k] NODE PROGRAM.wasm [ARGS...]\n");
		return 2;
	}
	uint32_t node = (uint32_t)strtoul(argv[1], NULL, 10);
	const char *prog = argv[2];
	// argv of the child: its name, then the rest.
	char args[4096];
	size_t len = 0;
	const char *base = strrchr(prog, '/') ? strrchr(prog, '/') + 1 : prog;
	for (int i = 2; i < argc; i++) {
		const char *a = i == 2 ? base : argv[i];
		size_t n = strlen(a) + 1;
		if (len + n > sizeof args) {
			fprintf(stderr, "parent: arguments too long\n");
			return 2;
		}
		memcpy(args + len, a, n);
		len += n;
	}
	uint32_t pid;
	int err = isle_proc_spawn_on(node, prog, strlen(prog), args, len, 0, &pid);
	if (err) {
		printf("spawn: errno %d\n", err);
		return 1;
	}
	printf("spawned pid %u\n", pid);
	if (kill && (err = isle_proc_kill(pid))) {
		printf("kill: errno %d\n", err);
		return 1;
	}
	uint32_t status;
	uint64_t cpu;
	if ((err = isle_proc_wait(pid, &status, &cpu))) {
		printf("wait: errno %d\n", err);
		return 1;
	}
	printf("wait: status %u\n", status);
	return 0;
}
