// wildptr hands the system calls pointers outside its memory and lengths
// past its end. Each gets EFAULT (WASI's 21); none harms the machine.
// isle-test: status 0
// isle-test: stdout fd_write: 21
// isle-test: stdout fd_read: 21
// isle-test: stdout clock_time_get: 21
// isle-test: stdout random_get: 21
// isle-test: stdout args_sizes_get: 21
#include <stdint.h>
#include <stdio.h>
#include <wasi/api.h>

int main(void) {
	setvbuf(stdout, 0, _IOLBF, 0);
	void *wild = (void *)0xfffffff0u;
	__wasi_size_t n;
	printf("fd_write: %d\n", __wasi_fd_write(1, (const __wasi_ciovec_t *)wild, 4, &n));
	printf("fd_read: %d\n", __wasi_fd_read(0, (const __wasi_iovec_t *)wild, 4, &n));
	printf("clock_time_get: %d\n", __wasi_clock_time_get(__WASI_CLOCKID_MONOTONIC, 1, (__wasi_timestamp_t *)wild));
	printf("random_get: %d\n", __wasi_random_get((uint8_t *)wild, 64));
	printf("args_sizes_get: %d\n", __wasi_args_sizes_get((__wasi_size_t *)wild, &n));
	return 0;
}
