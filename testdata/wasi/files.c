// files.c: files, directories and errno values under the preopen "/d".
// Its expected output is files.out; run with the preopen empty.
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static void check(const char *what, int r) {
	if (r < 0)
		printf("%s: errno %s\n", what, strerror(errno));
	else
		printf("%s: ok\n", what);
}

static int cmp(const void *a, const void *b) { return strcmp(*(char **)a, *(char **)b); }

static void list(const char *dir) {
	DIR *d = opendir(dir);
	if (!d) {
		printf("opendir %s: %s\n", dir, strerror(errno));
		return;
	}
	char *names[64];
	int n = 0;
	struct dirent *e;
	while ((e = readdir(d)) != NULL && n < 64)
		names[n++] = strdup(e->d_name);
	closedir(d);
	qsort(names, n, sizeof names[0], cmp);
	printf("ls %s:", dir);
	for (int i = 0; i < n; i++) {
		printf(" %s", names[i]);
		free(names[i]);
	}
	printf("\n");
}

int main(void) {
	// Create, write, read back.
	int fd = open("/d/a.txt", O_CREAT | O_WRONLY | O_TRUNC, 0644);
	check("create a.txt", fd);
	check("write", write(fd, "hello, world\n", 13));
	check("close", close(fd));
	check("close again", close(fd));

	char buf[64] = {0};
	fd = open("/d/a.txt", O_RDONLY);
	ssize_t n = read(fd, buf, sizeof buf - 1);
	printf("read %zd: %s", n, buf);
	check("write on read-only fd", write(fd, "x", 1));
	printf("seek end: %lld\n", (long long)lseek(fd, 0, SEEK_END));
	printf("seek 7: %lld\n", (long long)lseek(fd, 7, SEEK_SET));
	memset(buf, 0, sizeof buf);
	n = read(fd, buf, 5);
	printf("read %zd: %s\n", n, buf);
	memset(buf, 0, sizeof buf);
	n = pread(fd, buf, 5, 0);
	printf("pread %zd: %s\n", n, buf);
	printf("tell: %lld\n", (long long)lseek(fd, 0, SEEK_CUR));
	close(fd);

	// O_EXCL, O_APPEND, pwrite, ftruncate, fstat.
	check("create exclusive existing", open("/d/a.txt", O_CREAT | O_EXCL | O_WRONLY, 0644));
	fd = open("/d/a.txt", O_WRONLY | O_APPEND);
	check("append", write(fd, "more\n", 5));
	close(fd);
	fd = open("/d/a.txt", O_RDWR);
	check("pwrite", pwrite(fd, "HELLO", 5, 0));
	struct stat st;
	check("fstat", fstat(fd, &st));
	printf("size %lld regular %d\n", (long long)st.st_size, S_ISREG(st.st_mode));
	check("ftruncate", ftruncate(fd, 5));
	fstat(fd, &st);
	printf("size %lld\n", (long long)st.st_size);
	check("fsync", fsync(fd));
	check("fdatasync", fdatasync(fd));
	close(fd);

	// Errors on missing files and wrong kinds.
	check("open missing", open("/d/missing", O_RDONLY));
	check("mkdir sub", mkdir("/d/sub", 0755));
	check("mkdir sub again", mkdir("/d/sub", 0755));
	check("open dir for writing", open("/d/sub", O_WRONLY));
	check("open file as directory", open("/d/a.txt", O_RDONLY | O_DIRECTORY));
	check("mkdir under a file", mkdir("/d/a.txt/x", 0755));
	check("unlink a directory", unlink("/d/sub"));
	check("rmdir a file", rmdir("/d/a.txt"));
	fd = open("/d/sub/f", O_CREAT | O_WRONLY, 0644);
	close(fd);
	check("rmdir non-empty", rmdir("/d/sub"));
	check("stat", stat("/d/sub", &st));
	printf("dir %d\n", S_ISDIR(st.st_mode));

	// Rename, links, symlinks.
	check("rename", rename("/d/sub/f", "/d/sub/g"));
	check("rename missing", rename("/d/sub/f", "/d/sub/h"));
	check("link", link("/d/sub/g", "/d/sub/h"));
	stat("/d/sub/g", &st);
	printf("nlink %d\n", (int)st.st_nlink);
	check("symlink", symlink("g", "/d/sub/s"));
	char target[64] = {0};
	n = readlink("/d/sub/s", target, sizeof target);
	printf("readlink %zd: %s\n", n, target);
	check("lstat", lstat("/d/sub/s", &st));
	printf("symlink %d\n", S_ISLNK(st.st_mode));
	check("open symlink nofollow", open("/d/sub/s", O_RDONLY | O_NOFOLLOW));
	fd = open("/d/sub/s", O_RDONLY);
	check("open symlink", fd);
	close(fd);
	list("/d");
	list("/d/sub");

	// Times.
	struct timespec ts[2] = {{1000000000, 0}, {1500000000, 5}};
	check("utimensat", utimensat(AT_FDCWD, "/d/a.txt", ts, 0));
	stat("/d/a.txt", &st);
	printf("mtime %lld.%09ld\n", (long long)st.st_mtim.tv_sec, st.st_mtim.tv_nsec);
	fd = open("/d/a.txt", O_RDWR);
	struct timespec ts2[2] = {{0, UTIME_OMIT}, {1600000000, 0}};
	check("futimens", futimens(fd, ts2));
	fstat(fd, &st);
	printf("mtime %lld\n", (long long)st.st_mtim.tv_sec);
	close(fd);

	// Clean up.
	check("unlink", unlink("/d/sub/g"));
	check("unlink", unlink("/d/sub/h"));
	check("unlink", unlink("/d/sub/s"));
	check("rmdir", rmdir("/d/sub"));
	check("unlink", unlink("/d/a.txt"));
	list("/d");
	return 0;
}
