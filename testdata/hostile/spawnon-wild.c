// spawnon-wild hands proc_spawn_on wild pointers, a bad nice value, and, on a
// machine that is no node of a cluster, nodes that do not exist, 100,000 times
// in a row. Each call gets its errno at once (EFAULT 21, EINVAL 28, ENXIO 60);
// none spawns anything, waits, or harms the machine.
// isle-test: status 0
// isle-test: stdout wild path: 21
// isle-test: stdout wild argv: 21
// isle-test: stdout wild pid: 21
// isle-test: stdout bad nice: 28
// isle-test: stdout no such node: 60
// isle-test: stdout 100000 calls: all 60
#include <stdint.h>
#include <stdio.h>
#include "isle_proc.h"

int main(void) {
	setvbuf(stdout, 0, _IOLBF, 0);
	const char *wild = (const char *)0xfffffff0u;
	uint32_t pid;
	printf("wild path: %d\n", isle_proc_spawn_on(2, wild, 64, "x", 2, 0, &pid));
	printf("wild argv: %d\n", isle_proc_spawn_on(2, "/p.wasm", 7, wild, 64, 0, &pid));
	printf("wild pid: %d\n", isle_proc_spawn_on(2, "/p.wasm", 7, "x", 2, 0, (uint32_t *)wild));
	printf("bad nice: %d\n", isle_proc_spawn_on(2, "/p.wasm", 7, "x", 2, 99, &pid));
	printf("no such node: %d\n", isle_proc_spawn_on(0xffffffffu, "/p.wasm", 7, "x", 2, 0, &pid));
	int other = 0;
	for (uint32_t i = 0; i < 100000; i++) {
		int err = isle_proc_spawn_on(2 + i, "/p.wasm", 7, "x", 2, 0, &pid);
		if (err != 60) other++;
	}
	if (other) printf("100000 calls: %d not ENXIO\n", other);
	else printf("100000 calls: all 60\n");
	return 0;
}
