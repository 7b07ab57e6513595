// badenv.c: args_get and environ_get with pointers outside memory are EFAULT
// (21), as in wazero, also when the list is empty; good pointers work. The
// imports are called directly, past wasi-libc.
#include <stdint.h>
#include <stdio.h>
#include <wasi/api.h>

#define OOB ((uint8_t *)0x7ffffff0)

int main(void) {
	__wasi_size_t argc, argsz, envc, envsz;
	__wasi_args_sizes_get(&argc, &argsz);
	__wasi_environ_sizes_get(&envc, &envsz);
	static uint8_t *ptrs[16];
	static uint8_t buf[256];
	printf("%u args, %u env\n", argc, envc);
	printf("args_get pointers out of memory: %d\n", __wasi_args_get((uint8_t **)OOB, buf));
	printf("args_get strings out of memory: %d\n", __wasi_args_get(ptrs, OOB));
	printf("environ_get pointers out of memory: %d\n", __wasi_environ_get((uint8_t **)OOB, buf));
	printf("environ_get strings out of memory: %d\n", __wasi_environ_get(ptrs, OOB));
	printf("environ_get strings one byte past the end of memory: %d\n",
	       __wasi_environ_get(ptrs, (uint8_t *)(__builtin_wasm_memory_size(0) * 65536 - envsz + 1)));
	printf("environ_get: %d", __wasi_environ_get(ptrs, buf));
	for (__wasi_size_t i = 0; i < envc; i++)
		printf(" %s", (char *)ptrs[i]);
	printf("\n");
	return 0;
}
