// badflags.c: an undefined bit in any flags argument is EINVAL (28), as in
// wasmtime, before the call does anything; the defined bits still work.
// The preopen "/d" (fd 3) holds "f".
#include <stdio.h>
#include <string.h>
#include <wasi/api.h>

int main(void) {
	__wasi_fd_t fd;
	__wasi_filestat_t st;
	printf("path_open dirflags 2: %d\n", __wasi_path_open(3, 2, "f", 0, __WASI_RIGHTS_FD_READ, 0, 0, &fd));
	printf("path_open oflags 16: %d\n", __wasi_path_open(3, 0, "f", 16, __WASI_RIGHTS_FD_READ, 0, 0, &fd));
	printf("path_open fdflags 32: %d\n", __wasi_path_open(3, 0, "f", 0, __WASI_RIGHTS_FD_READ, 0, 32, &fd));
	printf("path_filestat_get flags 2: %d\n", __wasi_path_filestat_get(3, 2, "f", &st));
	printf("path_filestat_set_times flags 1<<31: %d\n", __wasi_path_filestat_set_times(3, 1u << 31, "f", 0, 0, 0));
	printf("path_link old_flags 4: %d\n", __wasi_path_link(3, 4, "f", 3, "g"));
	printf("path_open: %d\n", __wasi_path_open(3, __WASI_LOOKUPFLAGS_SYMLINK_FOLLOW, "f", 0, __WASI_RIGHTS_FD_READ, 0, 0, &fd));
	printf("fd_fdstat_set_flags 32: %d\n", __wasi_fd_fdstat_set_flags(fd, 32));
	printf("fd_fdstat_set_flags NONBLOCK: %d\n", __wasi_fd_fdstat_set_flags(fd, __WASI_FDFLAGS_NONBLOCK));
	printf("path_filestat_get: %d\n", __wasi_path_filestat_get(3, __WASI_LOOKUPFLAGS_SYMLINK_FOLLOW, "f", &st));
	printf("path_link: %d\n", __wasi_path_link(3, 0, "f", 3, "g"));
	return 0;
}
