// child is what proc_spawn_on's tests spawn on another node: it prints
// "child ARG" and exits with ARG as its status, or, given "forever", sleeps
// until it is killed.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

int main(int argc, char **argv) {
	const char *arg = argc > 1 ? argv[1] : "0";
	printf("child %s\n", arg);
	fflush(stdout);
	if (strcmp(arg, "forever") == 0) {
		struct timespec ts = {0, 50 * 1000 * 1000};
		for (;;)
			nanosleep(&ts, NULL);
	}
	return atoi(arg);
}
