// path_filestat_get and path_open, which isle serves on the core when the
// host resolves the path from its dentry cache (docs/wasi.md, "Calls served on the core").
// "many DIR": 200 rounds of stat and lstat of names under DIR (a file, a
// file in a subdirectory, a symlink, a missing name) and a path
// through a file, and checks every answer; "one PATH": one stat of PATH, printing its errno
// (0 if it succeeded) and its size; "dirs DIR": directory opens (below).
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <wasi/api.h>

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

// names lists directory fd (closing it) into out, one name a line, in
// readdir's order; -1 on an error.
static int names(int fd, char *out, size_t size) {
	DIR *d = fdopendir(fd);
	if (!d) return -1;
	size_t n = 0;
	out[0] = 0;
	struct dirent *e;
	while ((e = readdir(d)) != NULL) n += snprintf(out + n, n < size ? size - n : 0, "%s\n", e->d_name);
	closedir(d);
	return n < size ? 0 : -1;
}

// "dirs DIR": 200 opens and closes of directory DIR/sub (with O_DIRECTORY
// and without, as opendir and Go's os.Open make them), which isle makes on
// the core, with a readdir now and then that the worker serves on the
// adopted directory; then the same directory opened on the core (DIR/sub)
// and by the worker (DIR/empty/../sub: a ".." is never resolved on the
// core) must give the same fd_fdstat_get and the same entries; a symlink
// to a directory, a file under O_DIRECTORY and an escape are answered by
// the worker.
static int dirs(const char *dir) {
	char path[256], worker[256], a[512], b[512];
	snprintf(path, sizeof path, "%s/sub", dir);
	for (int i = 0; i < 200; i++) {
		int fd = open(path, i % 2 ? O_RDONLY : O_RDONLY | O_DIRECTORY);
		struct stat st;
		if (fd < 0 || fstat(fd, &st) != 0 || !S_ISDIR(st.st_mode)) { printf("dir open %d: errno %d\n", i, errno); return 1; }
		if (i % 50 == 0) {
			if (names(fd, a, sizeof a) != 0) { printf("readdir %d: errno %d\n", i, errno); return 1; }
		} else if (close(fd) != 0) { perror("close"); return 1; }
	}
	snprintf(worker, sizeof worker, "%s/empty/../sub", dir);
	int fa = open(path, O_RDONLY | O_DIRECTORY), fb = open(worker, O_RDONLY | O_DIRECTORY);
	__wasi_fdstat_t sa, sb;
	if (fa < 0 || fb < 0 || __wasi_fd_fdstat_get(fa, &sa) != 0 || __wasi_fd_fdstat_get(fb, &sb) != 0) { printf("fdstat: errno %d\n", errno); return 1; }
	if (sa.fs_filetype != sb.fs_filetype || sa.fs_flags != sb.fs_flags || sa.fs_rights_base != sb.fs_rights_base ||
		sa.fs_rights_inheriting != sb.fs_rights_inheriting) {
		printf("fdstat on the core: type %d flags %d rights %llx %llx; the worker's: type %d flags %d rights %llx %llx\n",
			sa.fs_filetype, sa.fs_flags, (unsigned long long)sa.fs_rights_base, (unsigned long long)sa.fs_rights_inheriting,
			sb.fs_filetype, sb.fs_flags, (unsigned long long)sb.fs_rights_base, (unsigned long long)sb.fs_rights_inheriting);
		return 1;
	}
	if (names(fa, a, sizeof a) != 0 || names(fb, b, sizeof b) != 0 || strcmp(a, b) != 0) { printf("entries on the core:\n%sthe worker's:\n%s", a, b); return 1; }
	snprintf(path, sizeof path, "%s/dirlink", dir);
	int fl = open(path, O_RDONLY | O_DIRECTORY);
	if (fl < 0 || names(fl, b, sizeof b) != 0 || strcmp(a, b) != 0) { printf("through a symlink: errno %d\n", errno); return 1; }
	snprintf(path, sizeof path, "%s/f", dir);
	if (open(path, O_RDONLY | O_DIRECTORY) >= 0 || errno != ENOTDIR) { printf("a file under O_DIRECTORY: errno %d\n", errno); return 1; }
	snprintf(path, sizeof path, "%s/../etc", dir);
	if (open(path, O_RDONLY | O_DIRECTORY) >= 0 || (errno != EPERM && errno != ENOTCAPABLE)) { printf("an escape: errno %d\n", errno); return 1; }
	printf("dirs ok\n");
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
	if (argc == 3 && strcmp(argv[1], "dirs") == 0) return dirs(argv[2]);
	fprintf(stderr, "usage: pathstat many DIR | open DIR | dirs DIR | one PATH\n");
	return 2;
}
