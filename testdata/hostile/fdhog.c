// fdhog: opens files in the first preopened directory until an open fails,
// says how many it opened and the errno's name, holds them until its stdin
// ends (at once when there is none), and exits with exit(0), whose
// proc_exit closes its files before it ends.
//
// What isle must do: stop it at its own quota (EMFILE, at 1,024 files) or
// at the machine's budget (ENFILE), never with EIO, and keep a reserve of
// host descriptors so that an honest SIP beside it can still spawn (and,
// below the budget, open files). Six of them used to exhaust the host's
// limit: they got EIO and every other SIP's proc_spawn failed with ENOENT.
// isle-test: stdout then EMFILE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <wasi/api.h>

static const char *name(int e) {
	switch (e) {
	case EMFILE: return "EMFILE";
	case ENFILE: return "ENFILE";
	case EIO: return "EIO";
	case ENOSPC: return "ENOSPC";
	case ENOMEM: return "ENOMEM";
	}
	return strerror(e);
}

int main(int argc, char **argv) {
	char dir[256];
	__wasi_prestat_t ps;
	if (__wasi_fd_prestat_get(3, &ps) != 0 || ps.u.dir.pr_name_len >= sizeof dir ||
	    __wasi_fd_prestat_dir_name(3, (uint8_t *)dir, ps.u.dir.pr_name_len) != 0) {
		printf("fdhog: no directory\n");
		return 0;
	}
	dir[ps.u.dir.pr_name_len] = 0;
	const char *tag = argc > 1 ? argv[1] : "0";
	char path[400];
	int n = 0;
	for (;; n++) {
		snprintf(path, sizeof path, "%s/fdhog-%s-%d", dir, tag, n);
		if (open(path, O_CREAT | O_RDWR, 0644) < 0)
			break;
	}
	printf("fdhog %s: opened %d, then %s\n", tag, n, name(errno));
	fflush(stdout);
	char buf[64];
	while (read(0, buf, sizeof buf) > 0) {
	}
	exit(0);
}
