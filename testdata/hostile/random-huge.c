// random-huge asks random_get to fill 64 MiB in one call (1 GiB took 16 s of
// crypto/rand on the test VM, all of it on the caller's core, which could
// neither run another SIP nor take a kill meanwhile). isle must fill it in
// slices, yielding the core between them (internal/wasi's TestRandomGetYields
// counts the switches), and fill all of it: the program checks that each
// 64 KiB slice has nonzero bytes.
// isle-test: status 0
// isle-test: stdout random_get 64 MiB: 0, every slice filled
#include <stdio.h>
#include <stdlib.h>
#include <wasi/api.h>

int main(void) {
	size_t n = 64 << 20;
	unsigned char *b = calloc(n, 1);
	__wasi_errno_t e = __wasi_random_get(b, n);
	int filled = 1;
	for (size_t off = 0; off < n; off += 64 << 10) {
		int any = 0;
		for (size_t i = off; i < off + 256; i++)
			any |= b[i];
		filled &= any != 0;
	}
	printf("random_get 64 MiB: %d, %s\n", e, filled ? "every slice filled" : "a slice left zero");
	return 0;
}
