// dirhog: makes a directory in the first preopened directory, then opens it
// read-only (O_DIRECTORY) again and again until an open fails, says how
// many it opened and the errno's name, closes them all, opens it once
// more, and exits.
//
// What isle must do: read-only opens of a cached directory are made on the
// core (docs/wasi.md, "Calls served on the core"), not by the worker that
// keeps the SIP's quota, and they must still stop at that quota (EMFILE
// after 1,024 files and directories, the preopen and stdio not counted) or
// at the machine's budget (ENFILE; a directory holds two host
// descriptors), never with EIO; once they are closed, the quota and the
// budget are back and the open after them succeeds.
// isle-test: stdout dirhog: opened 1024, then EMFILE
// isle-test: stdout dirhog: again ok
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <wasi/api.h>

static const char *name(int e) {
	switch (e) {
	case EMFILE: return "EMFILE";
	case ENFILE: return "ENFILE";
	case EIO: return "EIO";
	}
	return strerror(e);
}

static int fds[4096];

int main(void) {
	char dir[256];
	__wasi_prestat_t ps;
	if (__wasi_fd_prestat_get(3, &ps) != 0 || ps.u.dir.pr_name_len >= sizeof dir ||
	    __wasi_fd_prestat_dir_name(3, (uint8_t *)dir, ps.u.dir.pr_name_len) != 0) {
		printf("dirhog: no directory\n");
		return 0;
	}
	dir[ps.u.dir.pr_name_len] = 0;
	char path[400];
	snprintf(path, sizeof path, "%s/dirhog", dir);
	if (mkdir(path, 0755) != 0 && errno != EEXIST) { printf("dirhog: mkdir: %s\n", strerror(errno)); return 0; }
	int n = 0;
	while (n < 4096 && (fds[n] = open(path, O_RDONLY | O_DIRECTORY)) >= 0)
		n++;
	printf("dirhog: opened %d, then %s\n", n, n < 4096 ? name(errno) : "nothing");
	for (int i = 0; i < n; i++)
		close(fds[i]);
	int fd = open(path, O_RDONLY | O_DIRECTORY);
	printf("dirhog: again %s\n", fd >= 0 ? "ok" : name(errno));
	if (fd >= 0) close(fd);
	rmdir(path);
	return 0;
}
