// prestat prints the preopened directories the way WASI programs find them:
// from fd 3 up until fd_prestat_get returns EBADF.
#include <stdio.h>
#include <wasi/api.h>

int main(void) {
	for (__wasi_fd_t fd = 3;; fd++) {
		__wasi_prestat_t st;
		__wasi_errno_t err = __wasi_fd_prestat_get(fd, &st);
		if (err == __WASI_ERRNO_BADF) {
			printf("fd %u: EBADF\n", fd);
			return 0;
		}
		if (err != 0) {
			printf("fd %u: errno %u\n", fd, err);
			return 1;
		}
		char name[256];
		if (st.u.dir.pr_name_len >= sizeof name)
			return 2;
		err = __wasi_fd_prestat_dir_name(fd, (uint8_t *)name, st.u.dir.pr_name_len);
		if (err != 0)
			return 3;
		name[st.u.dir.pr_name_len] = 0;
		__wasi_fdstat_t fs;
		if (__wasi_fd_fdstat_get(fd, &fs) != 0)
			return 4;
		printf("fd %u: %s (filetype %u)\n", fd, name, fs.fs_filetype);
	}
}
