// spawnlines: for each line read from stdin, spawns the module argv[1],
// waits for it and prints "exited S"; exits 0 at the end of stdin, 1 on an
// error (printed).
#include <stdio.h>
#include <string.h>
#include "isle_proc.h"

int main(int argc, char **argv) {
	if (argc < 2)
		return 1;
	const char *path = argv[1];
	char line[64];
	while (fgets(line, sizeof line, stdin)) {
		uint32_t pid, status;
		uint64_t cpu;
		int e = isle_proc_spawn(path, strlen(path), path, strlen(path) + 1, 0, &pid);
		if (e == 0)
			e = isle_proc_wait(pid, &status, &cpu);
		if (e != 0) {
			printf("errno %d\n", e);
			return 1;
		}
		printf("exited %u\n", status);
		fflush(stdout);
	}
	return 0;
}
