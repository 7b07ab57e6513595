// stdinread creates /d/ready, then reads one character from stdin and says
// "read: C" (C as a number, -1 at the end of input).
#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>

int main(void) {
	int fd = open("/d/ready", O_CREAT | O_RDWR, 0644);
	if (fd < 0) {
		perror("/d/ready");
		return 1;
	}
	close(fd);
	printf("read: %d\n", getchar());
	return 0;
}
