// readonly.c: under a read-only preopen "/r" (holding "f.txt" and "dir"),
// reads work and every change is refused with EACCES.
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static void check(const char *what, int r) {
	printf("%s: %s\n", what, r < 0 ? strerror(errno) : "ok");
}

int main(void) {
	char buf[32] = {0};
	int fd = open("/r/f.txt", O_RDONLY);
	check("open for reading", fd);
	printf("read %zd: %s", read(fd, buf, sizeof buf - 1), buf);
	check("ftruncate", ftruncate(fd, 0));
	close(fd);
	check("open for writing", open("/r/f.txt", O_WRONLY));
	check("open for appending", open("/r/f.txt", O_WRONLY | O_APPEND));
	check("open with O_TRUNC", open("/r/f.txt", O_RDONLY | O_TRUNC));
	check("create", open("/r/new.txt", O_CREAT | O_WRONLY, 0644));
	check("mkdir", mkdir("/r/newdir", 0755));
	check("unlink", unlink("/r/f.txt"));
	check("rmdir", rmdir("/r/dir"));
	check("rename", rename("/r/f.txt", "/r/g.txt"));
	check("link", link("/r/f.txt", "/r/g.txt"));
	check("symlink", symlink("f.txt", "/r/s"));
	struct timespec ts[2] = {{1, 0}, {1, 0}};
	check("utimensat", utimensat(AT_FDCWD, "/r/f.txt", ts, 0));
	fd = open("/r/dir", O_RDONLY | O_DIRECTORY);
	check("open dir", fd);
	check("create under an opened dir", openat(fd, "x", O_CREAT | O_WRONLY, 0644));
	close(fd);
	struct stat st;
	check("stat", stat("/r/f.txt", &st));
	DIR *d = opendir("/r");
	int n = 0;
	while (readdir(d))
		n++;
	closedir(d);
	printf("entries %d\n", n);
	return 0;
}
