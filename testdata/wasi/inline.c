// Small file calls that isle serves on the core (docs/wasi.md, "Calls
// served on the core"): writes, reads, seeks, tells and fstats, 4 KiB at a time,
// and fstats of a directory.
// "rw DIR": writes DIR/f, reads it back, checks it; "read FILE": reads FILE
// 4 KiB at a time and prints the sum of its bytes and its length.
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define N 256
#define B 4096

static unsigned char buf[B], got[B];

static int rw(const char *dir) {
	char path[256];
	snprintf(path, sizeof path, "%s/f", dir);
	int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0644);
	if (fd < 0) { perror("open"); return 1; }
	for (int i = 0; i < N; i++) {
		memset(buf, i, B);
		if (write(fd, buf, B) != B) { perror("write"); return 1; }
	}
	if (lseek(fd, 0, SEEK_CUR) != (off_t)N * B) { printf("tell after writes wrong\n"); return 1; }
	for (int i = N - 1; i >= 0; i--) {
		if (lseek(fd, (off_t)i * B, SEEK_SET) != (off_t)i * B) { perror("lseek"); return 1; }
		if (read(fd, got, B) != B) { perror("read"); return 1; }
		if (got[0] != (unsigned char)i || got[B - 1] != (unsigned char)i) { printf("block %d wrong\n", i); return 1; }
		if (lseek(fd, 0, SEEK_CUR) != (off_t)(i + 1) * B) { printf("tell wrong at %d\n", i); return 1; }
		struct stat st;
		if (fstat(fd, &st) != 0 || st.st_size != (off_t)N * B || !S_ISREG(st.st_mode)) { printf("fstat wrong at %d\n", i); return 1; }
	}
	for (int i = 0; i < N; i++) {
		if (pread(fd, got, 16, (off_t)i * B + 7) != 16 || got[15] != (unsigned char)i) { printf("pread %d wrong\n", i); return 1; }
		memset(buf, 255 - i, 8);
		if (pwrite(fd, buf, 8, (off_t)i * B) != 8) { perror("pwrite"); return 1; }
	}
	if (lseek(fd, -B, SEEK_END) != (off_t)(N - 1) * B) { perror("seek end"); return 1; }
	if (read(fd, got, 2 * B) != B || got[0] != 0 || got[8] != N - 1) { printf("last block wrong\n"); return 1; }
	if (read(fd, got, B) != 0) { printf("no end of file\n"); return 1; }
	close(fd);
	int afd = open(path, O_WRONLY | O_APPEND);
	if (afd < 0) { perror("open append"); return 1; }
	if (write(afd, "tail", 4) != 4) { perror("append"); return 1; }
	if (lseek(afd, 0, SEEK_CUR) != (off_t)N * B + 4) { printf("offset after append wrong\n"); return 1; }
	close(afd);
	int dfd = open(dir, O_RDONLY | O_DIRECTORY);
	if (dfd < 0) { perror("open dir"); return 1; }
	for (int i = 0; i < 100; i++) {
		struct stat st;
		if (fstat(dfd, &st) != 0 || !S_ISDIR(st.st_mode)) { printf("fstat of the directory wrong\n"); return 1; }
	}
	close(dfd);
	printf("rw ok\n");
	return 0;
}

static int rd(const char *path) {
	int fd = open(path, O_RDONLY);
	if (fd < 0) { perror("open"); return 1; }
	unsigned long sum = 0, len = 0;
	for (;;) {
		ssize_t n = read(fd, got, B);
		if (n < 0) { perror("read"); return 1; }
		if (n == 0) break;
		for (ssize_t i = 0; i < n; i++) sum += got[i];
		len += n;
	}
	close(fd);
	printf("sum %lu len %lu\n", sum, len);
	return 0;
}

int main(int argc, char **argv) {
	if (argc == 3 && strcmp(argv[1], "rw") == 0) return rw(argv[2]);
	if (argc == 3 && strcmp(argv[1], "read") == 0) return rd(argv[2]);
	fprintf(stderr, "usage: inline rw DIR | read FILE\n");
	return 2;
}
