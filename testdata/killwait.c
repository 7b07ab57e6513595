// killwait spawns the module argv[1] with the arguments argv[2…] (argv[2]
// is the child's argv[0]), reads a line from stdin (the test's signal that
// the child is waiting), kills the child, waits for it and says
// "killed: status S".
#include <stdio.h>
#include <string.h>
#include "isle_proc.h"

int main(int argc, char **argv) {
	if (argc < 3)
		return 2;
	char args[1024];
	size_t len = 0;
	for (int i = 2; i < argc; i++) {
		size_t k = strlen(argv[i]) + 1;
		if (len + k > sizeof args)
			return 2;
		memcpy(args + len, argv[i], k);
		len += k;
	}
	uint32_t pid, status;
	uint64_t cpu;
	int e = isle_proc_spawn(argv[1], strlen(argv[1]), args, len, 0, &pid);
	if (e != 0) {
		printf("spawn: errno %d\n", e);
		return 1;
	}
	char line[64];
	if (!fgets(line, sizeof line, stdin)) {
		printf("stdin closed\n");
		return 1;
	}
	if ((e = isle_proc_kill(pid)) != 0) {
		printf("kill: errno %d\n", e);
		return 1;
	}
	if ((e = isle_proc_wait(pid, &status, &cpu)) != 0) {
		printf("wait: errno %d\n", e);
		return 1;
	}
	printf("killed: status %u\n", status);
	fflush(stdout);
	return 0;
}
