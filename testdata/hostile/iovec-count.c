// iovec-count hands fd_write, fd_read and fd_pwrite iovec counts of 2^32-1
// (and IOV_MAX+1) with a small iovec array (it needs a writable preopen
// /tmp): isle must answer EINVAL at once, as readv(2) does past IOV_MAX,
// without walking the count (unbounded, that walked 4 GiB of guest memory
// for 14-18 s, holding the core). It prints one line per call and exits.
// isle-test: status 0
// isle-test: stdout fd_write 2^32-1 iovecs: 28
// isle-test: stdout fd_write 1025 iovecs: 28
// isle-test: stdout fd_read 2^32-1 iovecs: 28
// isle-test: stdout fd_pwrite 2^32-1 iovecs: 28
// isle-test: stdout fd_write 1024 iovecs: 0, 1 written
// isle-test: stdout fd_write array past memory: 21
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <wasi/api.h>

static __wasi_ciovec_t iovs[1025];

static void show(const char *name, __wasi_errno_t e) { printf("%s: %d\n", name, e); }

int main(void) {
	static char byte = 'x';
	__wasi_size_t n = 0;
	show("fd_write 2^32-1 iovecs", __wasi_fd_write(1, iovs, 0xFFFFFFFFu, &n));
	show("fd_write 1025 iovecs", __wasi_fd_write(1, iovs, 1025, &n));
	show("fd_read 2^32-1 iovecs", __wasi_fd_read(0, (__wasi_iovec_t *)iovs, 0xFFFFFFFFu, &n));
	int fd = open("/tmp/f", O_RDWR | O_CREAT, 0644);
	show("fd_pwrite 2^32-1 iovecs", __wasi_fd_pwrite(fd, iovs, 0xFFFFFFFFu, 0, &n));
	// 1024 empty iovecs and one byte: allowed.
	iovs[1023].buf = (const uint8_t *)&byte;
	iovs[1023].buf_len = 1;
	__wasi_errno_t e = __wasi_fd_write(2, iovs, 1024, &n);
	printf("fd_write 1024 iovecs: %d, %u written\n", e, n);
	// An array that ends past memory is EFAULT, checked before any iovec.
	show("fd_write array past memory", __wasi_fd_write(1, (const __wasi_ciovec_t *)0xFFFFFFF8u, 2, &n));
	return 0;
}
