// killready spawns the module argv[1] (argv[1] its only argument), waits,
// yielding, until /d/ready exists (the child makes it just before it
// blocks), kills the child, waits for it and says "killed: status S".
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include "isle_proc.h"

int main(int argc, char **argv) {
	if (argc < 2)
		return 2;
	uint32_t pid, status;
	uint64_t cpu;
	int e = isle_proc_spawn(argv[1], strlen(argv[1]), argv[1], strlen(argv[1]) + 1, 0, &pid);
	if (e != 0) {
		printf("spawn: errno %d\n", e);
		return 1;
	}
	int fd;
	while ((fd = open("/d/ready", O_RDONLY)) < 0)
		sched_yield();
	close(fd);
	if ((e = isle_proc_kill(pid)) != 0 || (e = isle_proc_wait(pid, &status, &cpu)) != 0) {
		printf("kill or wait: errno %d\n", e);
		return 1;
	}
	printf("killed: status %u\n", status);
	return 0;
}
