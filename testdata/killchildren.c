// killchildren spawns the module argv[1] (as argv[1] with no arguments) argv[2]
// times, each time letting it run a few turns, killing it and waiting for
// it; then it opens and closes /d/done (so that every request its children
// left with the file-system worker has been served) and says "rounds N".
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "isle_proc.h"

int main(int argc, char **argv) {
	if (argc < 3)
		return 2;
	const char *path = argv[1];
	int rounds = atoi(argv[2]);
	for (int i = 0; i < rounds; i++) {
		uint32_t pid, status;
		uint64_t cpu;
		int e = isle_proc_spawn(path, strlen(path), path, strlen(path) + 1, 0, &pid);
		if (e != 0) {
			printf("spawn: errno %d\n", e);
			return 1;
		}
		for (int k = 0; k < 1 + i % 4; k++)
			sched_yield();
		if ((e = isle_proc_kill(pid)) != 0 || (e = isle_proc_wait(pid, &status, &cpu)) != 0) {
			printf("kill or wait: errno %d\n", e);
			return 1;
		}
	}
	int fd = open("/d/done", O_CREAT | O_RDWR, 0644);
	if (fd < 0) {
		perror("/d/done");
		return 1;
	}
	close(fd);
	printf("rounds %d\n", rounds);
	return 0;
}
