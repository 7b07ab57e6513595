// spawnone says "TAG spawning", spawns the module argv[2] (with argv[2] as
// its only argument), says "TAG spawned", waits for it and says
// "TAG exited S". argv[1] is TAG.
#include <stdio.h>
#include <string.h>
#include "isle_proc.h"

int main(int argc, char **argv) {
	if (argc < 3)
		return 2;
	const char *tag = argv[1], *path = argv[2];
	printf("%s spawning\n", tag);
	fflush(stdout);
	uint32_t pid, status;
	uint64_t cpu;
	int e = isle_proc_spawn(path, strlen(path), path, strlen(path) + 1, 0, &pid);
	if (e != 0) {
		printf("%s spawn: errno %d\n", tag, e);
		return 1;
	}
	printf("%s spawned\n", tag);
	fflush(stdout);
	if ((e = isle_proc_wait(pid, &status, &cpu)) != 0) {
		printf("%s wait: errno %d\n", tag, e);
		return 1;
	}
	printf("%s exited %u\n", tag, status);
	return 0;
}
