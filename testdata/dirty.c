// dirty checks that its memory starts zeroed (its static buffer and memory
// it grows into), then dirties all of it, for the test of pooled memories.
#include <stdio.h>
#include <string.h>

static unsigned char bss[1 << 20];

int main(void) {
	for (size_t i = 0; i < sizeof bss; i++)
		if (bss[i]) {
			printf("dirty bss at %zu\n", i);
			return 1;
		}
	// Grow the memory by 128 pages (8 MiB) directly: malloc may hand out
	// bytes libc used before, which need not be zero.
	size_t old = __builtin_wasm_memory_grow(0, 128);
	if (old == (size_t)-1) {
		printf("cannot grow\n");
		return 1;
	}
	unsigned char *grown = (unsigned char *)(old * 65536);
	for (size_t i = 0; i < (8u << 20); i++)
		if (grown[i]) {
			printf("dirty grown memory at %zu\n", i);
			return 1;
		}
	memset(bss, 0xAA, sizeof bss);
	memset(grown, 0x55, 8 << 20);
	printf("clean\n");
	return 0;
}
