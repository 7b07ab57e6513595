// Writes behind (docs/wasi.md, "Writes behind"): a write of a regular file
// is posted to the file-system worker and the program goes on at once.
// Everything it does next must see the write as made: reads on the same
// fd and on another fd of the file, lseek(SEEK_END), fstat, a read past
// the old end, a truncate, a rename and a reopen; O_APPEND writes from two
// fds keep their order; a write that fails is reported by the next call on
// the fd (fsync), once. Usage: behind DIR rw|append|efbig|spin.
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define PAGES 512 /* 2 MiB: more than the write-behind buffer holds */
#define PAGE 4096

static char path[512], path2[512];
static char page[PAGE], got[PAGE];

static void fail(const char *what) {
	printf("FAIL %s: %s\n", what, strerror(errno));
	exit(1);
}

static void fill(int i) {
	memset(page, 'a' + i % 26, PAGE);
	page[7] = 'X'; /* the pwrite below */
}

static void check(int fd, int i, const char *what) {
	fill(i);
	if (pread(fd, got, PAGE, (off_t)i * PAGE) != PAGE || memcmp(got, page, PAGE) != 0) {
		printf("FAIL %s page %d: %.8s\n", what, i, got);
		exit(1);
	}
}

static void rw(void) {
	int fd = open(path, O_CREAT | O_RDWR | O_TRUNC, 0644);
	int fd2 = open(path, O_RDONLY);
	if (fd < 0 || fd2 < 0) fail("open");
	/* Each write read back at once, by the other fd, then by this one. */
	for (int i = 0; i < PAGES; i++) {
		memset(page, 'a' + i % 26, PAGE);
		if (write(fd, page, PAGE) != PAGE) fail("write");
		if (pwrite(fd, "X", 1, (off_t)i * PAGE + 7) != 1) fail("pwrite");
		check(fd2, i, "read at once, other fd");
		if (lseek(fd, (off_t)i * PAGE, SEEK_SET) != (off_t)i * PAGE || read(fd, got, PAGE) != PAGE || got[7] != 'X')
			fail("read at once");
	}
	if (lseek(fd, 0, SEEK_END) != PAGES * PAGE) fail("SEEK_END");
	struct stat st;
	if (fstat(fd, &st) != 0 || st.st_size != PAGES * PAGE) fail("fstat");
	for (int i = 0; i < PAGES; i++) {
		check(fd, i, "same fd");
		check(fd2, i, "other fd");
	}
	/* Past the end: a hole, then what was written. */
	if (pwrite(fd, "tail", 4, (off_t)PAGES * PAGE + 100) != 4) fail("pwrite past the end");
	ssize_t n = pread(fd2, got, PAGE, (off_t)PAGES * PAGE);
	if (n != 104 || got[0] != 0 || got[99] != 0 || memcmp(got + 100, "tail", 4) != 0) {
		printf("FAIL read past the old end: %zd\n", n);
		exit(1);
	}
	if (lseek(fd2, 0, SEEK_END) != PAGES * PAGE + 104) fail("SEEK_END of the other fd");
	/* Write, then truncate: the truncate comes after the write. */
	if (pwrite(fd, "zz", 2, 20) != 2 || ftruncate(fd, 21) != 0) fail("truncate");
	if (fstat(fd2, &st) != 0 || st.st_size != 21) fail("fstat after truncate");
	if (pread(fd2, got, PAGE, 0) != 21 || got[20] != 'z') fail("read after truncate");
	/* Write, rename, open by the new name. */
	if (pwrite(fd, "renamed", 7, 0) != 7 || rename(path, path2) != 0) fail("rename");
	int fd3 = open(path2, O_RDONLY);
	if (fd3 < 0 || read(fd3, got, 7) != 7 || memcmp(got, "renamed", 7) != 0) fail("read renamed");
	if (close(fd) != 0 || close(fd2) != 0 || close(fd3) != 0) fail("close");
	printf("rw ok\n");
}

static void appends(void) {
	int a = open(path, O_CREAT | O_WRONLY | O_APPEND | O_TRUNC, 0644);
	int b = open(path, O_WRONLY | O_APPEND);
	if (a < 0 || b < 0) fail("open");
	for (int i = 0; i < 100; i++)
		if (write(a, "1", 1) != 1 || write(b, "2", 1) != 1) fail("append");
	int r = open(path, O_RDONLY);
	if (r < 0 || read(r, got, PAGE) != 200) fail("read");
	for (int i = 0; i < 200; i++)
		if (got[i] != (i % 2 ? '2' : '1')) {
			printf("FAIL append order at %d: %.8s\n", i, got + i);
			exit(1);
		}
	printf("append ok\n");
}

static void efbig(void) {
	int fd = open(path, O_CREAT | O_RDWR | O_TRUNC, 0644);
	if (fd < 0) fail("open");
	/* Past ext4's largest file: the host answers EFBIG, to the worker. */
	ssize_t n = pwrite(fd, "x", 1, (off_t)1 << 50);
	printf("pwrite: %zd\n", n);
	int r = fsync(fd);
	printf("fsync: %d %s\n", r, r ? strerror(errno) : "");
	r = fsync(fd);
	printf("fsync again: %d\n", r);
	if (pwrite(fd, "ok", 2, 0) != 2 || pread(fd, got, 2, 0) != 2 || memcmp(got, "ok", 2) != 0) fail("after");
	printf("close: %d\n", close(fd));
}

/* Writes one page over and over until killed. */
static void spin(void) {
	int fd = open(path, O_CREAT | O_RDWR | O_TRUNC, 0644);
	if (fd < 0) fail("open");
	memset(page, 's', PAGE);
	if (pwrite(fd, page, PAGE, 0) != PAGE) fail("pwrite");
	printf("spinning\n");
	fflush(stdout);
	for (;;)
		if (pwrite(fd, page, PAGE, 0) != PAGE) fail("pwrite");
}

int main(int argc, char **argv) {
	if (argc < 3) return 2;
	snprintf(path, sizeof path, "%s/f", argv[1]);
	snprintf(path2, sizeof path2, "%s/g", argv[1]);
	if (!strcmp(argv[2], "rw")) rw();
	else if (!strcmp(argv[2], "append")) appends();
	else if (!strcmp(argv[2], "efbig")) efbig();
	else if (!strcmp(argv[2], "spin")) spin();
	else return 2;
	return 0;
}
