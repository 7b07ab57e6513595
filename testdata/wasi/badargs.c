// badargs.c: bad pointers, lengths and flags give WASI errnos (EFAULT,
// EINVAL, ENAMETOOLONG, EBADF, ENOTDIR), never a trap. Calls the imports
// directly, past wasi-libc. The preopen "/d" (fd 3) holds "f" (5 bytes).
#include <stdint.h>
#include <stdio.h>

#define IMPORT(name) __attribute__((import_module("wasi_snapshot_preview1"), import_name(#name)))
IMPORT(path_open) int32_t path_open(int32_t, int32_t, int32_t, int32_t, int32_t, int64_t, int64_t, int32_t, int32_t);
IMPORT(fd_read) int32_t fd_read(int32_t, int32_t, int32_t, int32_t);
IMPORT(fd_write) int32_t fd_write(int32_t, int32_t, int32_t, int32_t);
IMPORT(fd_seek) int32_t fd_seek(int32_t, int64_t, int32_t, int32_t);
IMPORT(fd_readdir) int32_t fd_readdir(int32_t, int32_t, int32_t, int64_t, int32_t);
IMPORT(fd_filestat_get) int32_t fd_filestat_get(int32_t, int32_t);
IMPORT(fd_filestat_set_times) int32_t fd_filestat_set_times(int32_t, int64_t, int64_t, int32_t);
IMPORT(path_filestat_get) int32_t path_filestat_get(int32_t, int32_t, int32_t, int32_t, int32_t);
IMPORT(path_readlink) int32_t path_readlink(int32_t, int32_t, int32_t, int32_t, int32_t, int32_t);
IMPORT(fd_prestat_dir_name) int32_t fd_prestat_dir_name(int32_t, int32_t, int32_t);
IMPORT(fd_renumber) int32_t fd_renumber(int32_t, int32_t);
IMPORT(fd_close) int32_t fd_close(int32_t);

#define P(x) ((int32_t)(uintptr_t)(x))
static const int32_t OOB = 0x7ffffff0; // past the end of memory
static char name[] = "f";
static uint32_t fdout;
static char buf[256];
static uint32_t iov[2];
static uint32_t n;

int main(void) {
	printf("path_open path out of memory: %d\n", path_open(3, 1, OOB, 8, 0, 2, 0, 0, P(&fdout)));
	printf("path_open result out of memory: %d\n", path_open(3, 1, P(name), 1, 0, 2, 0, 0, OOB));
	printf("path_open bad oflags: %d\n", path_open(3, 1, P(name), 1, 0x100, 2, 0, 0, P(&fdout)));
	printf("path_open path too long: %d\n", path_open(3, 1, P(buf), 5000, 0, 2, 0, 0, P(&fdout)));
	printf("path_open on a file fd: %d\n", path_open(0, 1, P(name), 1, 0, 2, 0, 0, P(&fdout)));
	printf("path_open closed fd: %d\n", path_open(77, 1, P(name), 1, 0, 2, 0, 0, P(&fdout)));
	printf("path_open ok: %d\n", path_open(3, 1, P(name), 1, 0, 2 | 4, 0, 0, P(&fdout)));
	int32_t fd = fdout;
	iov[0] = P(buf);
	iov[1] = sizeof buf;
	printf("fd_read iovecs out of memory: %d\n", fd_read(fd, OOB, 1, P(&n)));
	iov[0] = OOB;
	printf("fd_read buffer out of memory: %d\n", fd_read(fd, P(iov), 1, P(&n)));
	iov[0] = P(buf);
	printf("fd_read nread out of memory: %d\n", fd_read(fd, P(iov), 1, OOB));
	printf("fd_read ok: %d n=%u\n", fd_read(fd, P(iov), 1, P(&n)), n);
	printf("fd_write on a read-only fd: %d\n", fd_write(fd, P(iov), 1, P(&n)));
	printf("fd_seek bad whence: %d\n", fd_seek(fd, 0, 7, P(&n)));
	printf("fd_seek negative: %d\n", fd_seek(fd, -100, 0, P(buf)));
	printf("fd_readdir on a file: %d\n", fd_readdir(fd, P(buf), sizeof buf, 0, P(&n)));
	printf("fd_readdir buffer out of memory: %d\n", fd_readdir(3, OOB, 100, 0, P(&n)));
	printf("fd_filestat_get out of memory: %d\n", fd_filestat_get(fd, OOB));
	printf("set_times ATIM and ATIM_NOW: %d\n", fd_filestat_set_times(fd, 0, 0, 3));
	printf("path_filestat_get out of memory: %d\n", path_filestat_get(3, 1, P(name), 1, OOB));
	printf("path_readlink on a file: %d\n", path_readlink(3, P(name), 1, P(buf), sizeof buf, P(&n)));
	printf("prestat_dir_name too short: %d\n", fd_prestat_dir_name(3, P(buf), 1));
	printf("fd_renumber to a closed fd: %d\n", fd_renumber(fd, 99));
	printf("fd_close: %d\n", fd_close(fd));
	printf("fd_read closed: %d\n", fd_read(fd, P(iov), 1, P(&n)));
	return 0;
}
