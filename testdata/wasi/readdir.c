// readdir.c: a directory too large for one fd_readdir buffer is listed
// whole, across calls resumed by cookie, and rewinddir starts again; poll
// on a file is ready at once beside a clock.
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int main(void) {
	mkdir("/d/many", 0755);
	char name[128];
	for (int i = 0; i < 300; i++) {
		snprintf(name, sizeof name, "/d/many/a-rather-long-file-name-to-fill-buffers-%03d", i);
		close(open(name, O_CREAT | O_WRONLY, 0644));
	}
	DIR *d = opendir("/d/many");
	int n = 0, sum = 0;
	struct dirent *e;
	while ((e = readdir(d)) != NULL) {
		n++;
		int k;
		if (sscanf(e->d_name, "a-rather-long-file-name-to-fill-buffers-%d", &k) == 1)
			sum += k;
	}
	printf("entries %d, sum of numbers %d\n", n, sum);
	rewinddir(d);
	n = 0;
	while (readdir(d))
		n++;
	printf("after rewinddir %d\n", n);
	closedir(d);

	int fd = open("/d/many/a-rather-long-file-name-to-fill-buffers-000", O_RDWR);
	struct pollfd p[2] = {{fd, POLLIN, 0}, {fd, POLLOUT, 0}};
	int r = poll(p, 2, 1000);
	printf("poll %d: in %d out %d\n", r, (p[0].revents & POLLIN) != 0, (p[1].revents & POLLOUT) != 0);
	close(fd);
	struct pollfd bad = {99, POLLIN, 0};
	r = poll(&bad, 1, 0);
	printf("poll bad fd %d: nval %d\n", r, (bad.revents & POLLNVAL) != 0);
	return 0;
}
