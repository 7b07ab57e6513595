// openclose opens and closes /d/x (creating it) forever; a parent kills it
// in the middle of the loop.
#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>

int main(void) {
	for (;;) {
		int fd = open("/d/x", O_CREAT | O_RDWR, 0644);
		if (fd < 0) {
			perror("open");
			return 1;
		}
		close(fd);
	}
}
