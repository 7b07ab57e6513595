// opentrap opens 50 files under /d and then traps, without closing them.
#include <fcntl.h>
#include <stdio.h>

int main(void) {
	char name[64];
	for (int i = 0; i < 50; i++) {
		snprintf(name, sizeof name, "/d/f%d", i);
		if (open(name, O_CREAT | O_RDWR, 0644) < 0) {
			perror(name);
			return 1;
		}
	}
	printf("opened\n");
	fflush(stdout);
	__builtin_trap();
}
