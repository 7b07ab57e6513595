// openmany opens argv[1] files under /d (default 500) and returns from main
// without closing them: wasi-libc's _start then ends without proc_exit, so
// the machine's exit hook releases the files while the machine stops.
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>

int main(int argc, char **argv) {
	int n = argc > 1 ? atoi(argv[1]) : 500;
	char name[64];
	for (int i = 0; i < n; i++) {
		snprintf(name, sizeof name, "/d/f%d", i);
		if (open(name, O_CREAT | O_RDWR, 0644) < 0) {
			perror(name);
			return 1;
		}
	}
	return 0;
}
