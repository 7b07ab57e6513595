// path_filestat_get and path_open, which isle serves on the core when the
// host resolves the path from its dentry cache (docs/wasi.md, "Calls served on the core").
// "many DIR": 200 rounds of stat and lstat of names under DIR (a file, a
// file in a subdirectory, a symlink, a missing name) and a path
// through a file, and checks every answer; "one PATH": one stat of PATH, printing its errno
// (0 if it succeeded) and its size.
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int check(const char *dir, const char *name, int link, int want, long size) {
	char path[256];
	snprintf(path, sizeof path, "%s/%s", dir, name);
	struct stat st;
	int r = link ? lstat(path, &st) : stat(path, &st);
	int got = r == 0 ? 0 : errno;
	if (got != want || (r == 0 && size >= 0 && st.st_size != size)) {
		printf("%s %s: errno %d size %ld, want errno %d size %ld\n", link ? "lstat" : "stat", name, got,
			r == 0 ? (long)st.st_size : -1L, want, size);
		return 1;
	}
	return 0;
}

static int many(const char *dir) {
	for (int i = 0; i < 200; i++) {
		if (check(dir, "f", 0, 0, 5) || check(dir, "sub/g", 0, 0, 2) || check(dir, "sub", 0, 0, -1) ||
			check(dir, "in", 1, 0, 1) || check(dir, "missing", 0, ENOENT, 0))
			return 1;
	}
	// A path through a file: Linux's cached lookup gives up (EAGAIN), so
	// the worker answers.
	if (check(dir, "f/x", 0, ENOTDIR, 0) || check(dir, "f/x", 1, ENOTDIR, 0)) return 1;
	printf("many ok\n");
	return 0;
}

// "open DIR": 200 opens, reads and closes of DIR/f, which isle makes on the
// core; a call on each file that only the worker makes (fsync) shows that
// the worker took the file over, and a missing name is ENOENT.
static int opens(const char *dir) {
	char path[256], buf[16];
	snprintf(path, sizeof path, "%s/f", dir);
	for (int i = 0; i < 200; i++) {
		int fd = open(path, O_RDONLY);
		if (fd < 0) { perror("open"); return 1; }
		if (read(fd, buf, sizeof buf) != 5 || memcmp(buf, "hello", 5) != 0) { printf("read %d wrong\n", i); return 1; }
		if (i % 50 == 0 && fsync(fd) != 0) { perror("fsync"); return 1; }
		if (close(fd) != 0) { perror("close"); return 1; }
	}
	snprintf(path, sizeof path, "%s/missing", dir);
	for (int i = 0; i < 3; i++) {
		if (open(path, O_RDONLY) >= 0 || errno != ENOENT) { printf("open of a missing name: errno %d\n", errno); return 1; }
	}
	printf("open ok\n");
	return 0;
}

static int one(const char *path) {
	struct stat st;
	int r = stat(path, &st);
	printf("%d %ld\n", r == 0 ? 0 : errno, r == 0 ? (long)st.st_size : -1L);
	return 0;
}

int main(int argc, char **argv) {
	if (argc == 3 && strcmp(argv[1], "many") == 0) return many(argv[2]);
	if (argc == 3 && strcmp(argv[1], "open") == 0) return opens(argv[2]);
	if (argc == 3 && strcmp(argv[1], "one") == 0) return one(argv[2]);
	fprintf(stderr, "usage: pathstat many DIR | open DIR | one PATH\n");
	return 2;
}
